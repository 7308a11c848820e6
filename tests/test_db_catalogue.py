"""The repositories of partners, campaigns, keys, customers, the program and settlement, against moto: they load
domain values and their guards hold without the services."""

from dataclasses import replace

import pytest

from chalicelib import db
from chalicelib.db import api_keys as api_keys_db
from chalicelib.db import campaigns as campaigns_db
from chalicelib.db import customers as customers_db
from chalicelib.db import history as history_db
from chalicelib.db import keys
from chalicelib.db import partners as partners_db
from chalicelib.db import program as program_db
from chalicelib.db import settlement as settlement_db
from chalicelib.domain.campaign_lifecycle import (
    MAX_ACTIVE_PER_PARTNER,
    MAX_OPEN_PER_SPONSOR,
    SnapshotChange,
    new_campaign,
)
from chalicelib.domain.partners import Partner
from chalicelib.domain.schedule import Schedule

NOW = "2026-03-10T09:00:00+00:00"


def _partner(partner_id: str) -> Partner:
    partner = Partner(partner_id, partner_id.title(), "food", 500, 3000, 0, "active", NOW, NOW)
    tx = db.Transaction()
    partners_db.add_new(tx, partner)
    tx.commit(db.connection())
    return partner


def _commit(add, *args, **kwargs) -> None:
    tx = db.Transaction()
    add(tx, *args, **kwargs)
    tx.commit(db.connection())


def test_partners_load_as_domain_values_and_a_new_id_must_be_new(dynamo):
    cafe = _partner("ptn_cafe")
    _partner("ptn_store")
    loaded = partners_db.load("ptn_cafe")
    assert loaded is not None and loaded.name == "Ptn_Cafe" and loaded.earn_rate_bps == 500
    assert loaded.rate_schedule.base == {"earn_rate_bps": 500, "max_redeem_share_bps": 3000}
    assert loaded.active_campaigns == {} and loaded.open_campaigns == {}
    assert [p.partner_id for p in partners_db.load_all()] == ["ptn_cafe", "ptn_store"]
    assert set(partners_db.load_many(["ptn_cafe", "ptn_none"])) == {"ptn_cafe"}
    assert partners_db.any_exist() and partners_db.load("ptn_none") is None
    with pytest.raises(db.TxCancelled):
        _commit(partners_db.add_new, cafe)


def test_a_rate_schedule_is_written_only_over_the_partner_as_it_was_read(dynamo):
    _partner("ptn_cafe")
    schedule = Schedule({"earn_rate_bps": 500, "max_redeem_share_bps": 3000})
    with pytest.raises(db.TxCancelled):
        partners_db.update("ptn_cafe", {"name": "Cafe"}, [], NOW, schedule, read_at="an older write")
    partners_db.update("ptn_cafe", {"name": "Cafe"}, ["category"], "2026-03-11T00:00:00+00:00", schedule, read_at=NOW)
    loaded = partners_db.load("ptn_cafe")
    assert loaded is not None and loaded.name == "Cafe" and loaded.category is None
    with pytest.raises(db.TxCancelled):
        partners_db.update("ptn_none", {"name": "Ghost"}, [], NOW)


def test_a_campaign_round_trips_and_is_listed_for_its_members(dynamo):
    _partner("ptn_cafe")
    rules = {"name": "Promo", "earn_at": ["ptn_cafe", "ptn_store"], "reward": {"type": "fixed", "points": 50}}
    campaign = new_campaign("cmp_1", "ptn_cafe", rules, NOW)
    _commit(campaigns_db.add_new, campaign, campaign.named_partners())
    stored = campaigns_db.load("cmp_1")
    assert stored == replace(campaign, budget_shards=stored.budget_shards if stored else 0)
    assert stored is not None and stored.budget_shards == 8  # no budget: the most shards, fixed at creation
    campaign = stored
    assert campaigns_db.member_campaign_ids("ptn_store") == ["cmp_1"]
    assert campaigns_db.member_campaign_ids("ptn_cafe") == ["cmp_1"]
    assert campaigns_db.load_many(["cmp_1", "cmp_none"]) == {"cmp_1": campaign}
    assert campaigns_db.daily("cmp_1") == []
    with pytest.raises(db.TxCancelled):  # guarded by the status and updated_at it was read with
        _commit(campaigns_db.add_update, campaign.__class__(**{**campaign.__dict__, "updated_at": "x"}), NOW)
    accepted = replace(campaign, accepted_by={"ptn_store": "2026-03-11T00:00:00+00:00"})
    _commit(campaigns_db.add_update, campaign, "2026-03-11T00:00:00+00:00", answers=accepted)
    updated = campaigns_db.load("cmp_1")
    assert updated is not None and updated.accepted_by == {"ptn_store": "2026-03-11T00:00:00+00:00"}
    _commit(campaigns_db.add_member_removals, "cmp_1", ["ptn_store"])
    assert campaigns_db.member_campaign_ids("ptn_store") == []


def test_the_open_campaign_limit_is_guarded_in_the_write(dynamo):
    _partner("ptn_cafe")
    _commit(campaigns_db.add_open_slot, "ptn_cafe", "cmp_0", NOW, {}, set())
    for i in range(1, MAX_OPEN_PER_SPONSOR):
        _commit(campaigns_db.add_open_slot, "ptn_cafe", f"cmp_{i}", NOW, {"cmp_0": NOW}, set())
    full = partners_db.load("ptn_cafe")
    assert full is not None and len(full.open_campaigns) == MAX_OPEN_PER_SPONSOR
    with pytest.raises(db.TxCancelled):
        _commit(campaigns_db.add_open_slot, "ptn_cafe", "cmp_new", NOW, full.open_campaigns, set())
    _commit(campaigns_db.add_open_slot, "ptn_cafe", "cmp_new", NOW, full.open_campaigns, {"cmp_0"})
    after = partners_db.load("ptn_cafe")
    assert after is not None and "cmp_0" not in after.open_campaigns and "cmp_new" in after.open_campaigns


def test_snapshots_are_limited_per_partner_in_the_write(dynamo):
    _partner("ptn_cafe")
    rules = {"campaign_id": "x", "sponsor_partner_id": "ptn_cafe", "name": "n", "earn_at": ["ptn_cafe"]}
    for i in range(MAX_ACTIVE_PER_PARTNER):
        _commit(campaigns_db.add_snapshot_change, SnapshotChange("ptn_cafe", f"cmp_{i:02d}", snapshot=rules))
    with pytest.raises(db.TxCancelled):
        _commit(campaigns_db.add_snapshot_change, SnapshotChange("ptn_cafe", "cmp_new", snapshot=rules))
    _commit(campaigns_db.add_snapshot_change, SnapshotChange("ptn_cafe", "cmp_new", ("cmp_00",), snapshot=rules))
    _commit(campaigns_db.add_snapshot_change, SnapshotChange("ptn_cafe", "cmp_01"))  # paused: removed
    loaded = partners_db.load("ptn_cafe")
    assert loaded is not None and "cmp_new" in loaded.active_campaigns
    assert not {"cmp_00", "cmp_01"} & set(loaded.active_campaigns)


def test_keys_are_stored_by_hash_and_revoked_by_id(dynamo):
    _partner("ptn_cafe")
    _commit(api_keys_db.add_key, "hash1", "key_1", "partner", "ptn_cafe", NOW, new_only=True)
    with pytest.raises(db.TxCancelled):
        _commit(api_keys_db.add_key, "hash1", "key_1", "partner", "ptn_cafe", NOW, new_only=True)
    assert api_keys_db.load("hash1") == api_keys_db.ApiKey("key_1", "partner", "ptn_cafe", "active")
    assert api_keys_db.key_and_partner_active("key_1", "ptn_cafe")
    assert not api_keys_db.key_and_partner_active("key_1", "ptn_store")
    index = api_keys_db.load_index("key_1")
    assert index is not None and index.key_hash == "hash1"
    api_keys_db.revoke(index, NOW)
    assert api_keys_db.load("hash1").status == "revoked"  # type: ignore[union-attr]
    assert not api_keys_db.key_and_partner_active("key_1", "ptn_cafe")


def test_customers_profile_aliases_and_identifiers(dynamo):
    new = customers_db.NewCustomer("cus_1", "+79160000000", None, "Anna", None, "ru", False, NOW, "ptn_cafe")
    tx = db.Transaction()
    customers_db.add_new(tx, new)
    customers_db.add_aliases(tx, "cus_1", NOW, [keys.phone("+79160000000"), None])
    tx.commit(db.connection())
    customer = customers_db.load("cus_1")
    assert customer is not None and customer.name == "Anna" and customer.wallet.available == 0
    assert customers_db.owner_of(keys.phone("+79160000000")) == "cus_1"
    _commit(customers_db.add_identifiers, "cus_1", None, "CARD1")
    with pytest.raises(db.TxCancelled):  # a card once set is never replaced
        _commit(customers_db.add_identifiers, "cus_1", None, "CARD2")
    assert history_db.customer_history("cus_1", None, 5, None) == []


def test_program_and_a_closed_period_are_written_once_over_what_was_read(dynamo):
    assert program_db.load() is None
    first = program_db.save({"currency": "RUB"}, NOW, None)
    with pytest.raises(db.TxCancelled):
        program_db.save({"currency": "EUR"}, NOW, None)
    program_db.save({"currency": "EUR"}, "2026-03-11T00:00:00+00:00", first)
    assert program_db.load() == program_db.StoredProgram({"currency": "EUR"}, "2026-03-11T00:00:00+00:00")
    assert settlement_db.load_closed("2026-02") is None
    assert settlement_db.save_closed("2026-02", '{"a": 1}', NOW)
    assert not settlement_db.save_closed("2026-02", '{"a": 2}', NOW)
    assert settlement_db.load_closed("2026-02") == '{"a": 1}'
    assert settlement_db.read_figures(["ptn_cafe"], "2026-02")["ptn_cafe"].is_zero()
