"""The repositories in chalicelib/db against moto: services hand them domain values and get domain values back."""

import pytest

from chalicelib import db
from chalicelib.db import campaign_awards, entries, jobs, keys, replays, wallets
from chalicelib.domain.campaigns import CampaignAward, Rules
from chalicelib.domain.settlement import Figures
from chalicelib.domain.wallet import Change, Hold, Wallet

CID = "cus_aaaaaaaaaaaaaaaa"


def _enrol(customer_id=CID):
    db.CustomerItem(*keys.customer(customer_id), customer_id=customer_id, created_at="t").save()


def _commit(build):
    tx = db.Transaction()
    build(tx)
    tx.commit(db.connection())


def test_a_change_applied_reads_back_as_the_wallet_it_makes(dynamo):
    _enrol()
    change = Change(
        available=30,
        pending=5,
        held=10,
        lots={"2027-01|p": 30},
        spend={"2026-03": 1_000},
        pending_lots={"2026-03-20T09:00:00+00:00|2027-02|p": 5},
        add_holds={"p|o1": Hold(10, "2026-03-10T09:15:00+00:00", {"2027-01|p": 10}, "p", "o1")},
        bonus_days={"2026-03-10|review": 1},
        bonus_limits={"2026-03-10|review": 1},
        last_purchase={"p": "2026-03-10T09:00:00+00:00"},
        campaign_awards={"cmp_a": 1},
        campaign_limits={"cmp_a": 3},
    )
    _commit(lambda tx: wallets.apply(tx, CID, change, "t"))
    expected = change.applied_to(Wallet())
    assert wallets.read(CID) == expected
    assert wallets.load(db.get_many([wallets.read_key(CID)]), CID) == expected
    assert wallets.read("cus_nobody") is None and wallets.load({}, CID) is None
    # every month that received points is in the expiry index, pending ones included
    assert sorted(jobs.expiring_customers("2027-01")) == [CID]
    assert sorted(jobs.expiring_customers("2027-02")) == [CID]


def test_a_limited_counter_stops_at_its_limit(dynamo):
    _enrol()
    once = Change(bonus_days={"2026-03-10|review": 1}, bonus_limits={"2026-03-10|review": 1})
    _commit(lambda tx: wallets.apply(tx, CID, once, "t"))
    with pytest.raises(db.TxCancelled) as cancelled:
        _commit(lambda tx: wallets.apply(tx, CID, once, "t"))
    assert cancelled.value.failed == {wallets.WALLET_TAG}


def test_expiry_markers_go_once_handled_and_the_cursor_remembers_the_month(dynamo):
    for customer_id in ("cus_1", "cus_2", "cus_3"):
        db.ExpiryIndexItem(*keys.expiry_index("2026-01", customer_id), created_at="t").save()
    assert jobs.last_expired_month() is None
    handled = []
    for customer_id in jobs.expiring_customers("2026-01"):
        handled.append(customer_id)
        if len(handled) == 2:
            break  # stopped while handling the second: it stays, the first is gone
    assert set(jobs.expiring_customers("2026-01")) == {"cus_1", "cus_2", "cus_3"} - {handled[0]}
    assert list(jobs.expiring_customers("2026-01")) == []
    jobs.save_expiry_cursor("2026-01", "t")
    assert jobs.last_expired_month() == "2026-01"


def test_replay_records_bind_once_and_errors_are_hidden_from_decisions(dynamo):
    ok = replays.NewRecord("fp", 201, '{"ok":true}', "t", origin="o", customer_id=CID, state={"points": 5})
    failed = replays.NewRecord("fp", 409, '{"code":"x"}', "t", origin="o", implicit=True)
    _commit(lambda tx: replays.put(tx, "IDEM#a", "IDEM", ok, tag="idempotency"))
    _commit(lambda tx: replays.put(tx, "REQ#b", "REQ", failed, tag="request"))
    with pytest.raises(db.TxCancelled) as cancelled:
        _commit(lambda tx: replays.put(tx, "IDEM#a", "IDEM", ok, tag="idempotency"))
    assert cancelled.value.failed == {"idempotency"}
    found = db.get_many([replays.read_key("IDEM#a", "IDEM"), replays.read_key("REQ#b", "REQ")])
    assert replays.load(found, "IDEM#a", "IDEM") == replays.Recorded("fp", 201, '{"ok":true}', "o")
    assert replays.load(found, "REQ#b", "REQ").is_error
    assert replays.load(found, "IDEM#zzz", "IDEM") is None
    assert set(replays.without_errors(found)) == {("IDEM#a", "IDEM")}
    assert db.get_one(db.ReplayItem, "IDEM#a", "IDEM").ttl is None
    assert db.get_one(db.ReplayItem, "REQ#b", "REQ").ttl is not None  # the implicit record expires


def test_an_entry_feeds_its_counters_under_their_stored_names(dynamo):
    change = Change(available=7, lots={"2027-01|p": 7})
    entry = entries.NewEntry("ent_1", CID, "p", "accrual", "2026-03", "t", change, {"point_value_minor": 100})
    figures = Figures(flows={"p": 7}, expired_by_issuer={"q": 2})
    figures.counts["issued_points"] = 7
    tx = db.Transaction()
    entries.put(tx, entry)
    entries.add_figures(tx, "2026-03", {"p": figures})
    tx.commit(db.connection())
    stored = db.get_one(db.EntryItem, *keys.entry(CID, "ent_1"))
    assert (stored.type, int(stored.available_delta), stored.lots.as_dict()) == ("accrual", 7, {"2027-01|p": 7})
    counter = db.get_raw_many([keys.counter("p", "2026-03", tx.counter_shard)])
    (raw,) = counter.values()
    assert {k: v["N"] for k, v in raw.items() if "N" in v} == {"issued_points": "7", "flow_p": "7", "exp_q": "2"}


def _campaign(campaign_id, budget=None, used=0, status="active"):
    rules = {"budget_points": budget} if budget is not None else {}
    db.CampaignItem(
        *keys.campaign(campaign_id),
        campaign_id=campaign_id,
        sponsor_partner_id="s",
        rules=rules,
        status=status,
        budget_used=used,
        created_at="t",
        updated_at="t",
    ).save()


def _sponsor(status="active"):
    db.PartnerItem(
        *keys.partner("s"),
        partner_id="s",
        name="S",
        earn_rate_bps=500,
        max_redeem_share_bps=5000,
        status=status,
        created_at="t",
        updated_at="t",
    ).save()


def test_campaign_states_come_from_the_batch_and_what_it_lacks_is_read(dynamo):
    _campaign("cmp_a", budget=100, used=40)
    _campaign("cmp_b", status="paused")
    _sponsor()
    prefetched = db.get_many(campaign_awards.read_keys(["cmp_a"], ["s"]))
    states, sponsors = campaign_awards.load_states(prefetched, ["cmp_a", "cmp_b", "cmp_gone"], {"s", "gone"})
    assert {c: (s.status, s.budget_points, s.remaining) for c, s in states.items()} == {
        "cmp_a": ("active", 100, 60),
        "cmp_b": ("paused", None, None),
    }
    assert sponsors == {"s"}


def _award(points, budget, exhausts):
    rules = Rules.from_snapshot(
        {"campaign_id": "cmp_a", "sponsor_partner_id": "s", "earn_at": ["p"], "reward": {"type": "fixed", "points": 1}}
    )
    return CampaignAward(rules, points, budget, exhausts, first_for_customer=True, new_customer=False)


def test_an_award_is_guarded_by_its_budget_and_its_sponsor(dynamo):
    _campaign("cmp_a", budget=100, used=90)
    _sponsor()
    _commit(lambda tx: campaign_awards.record(tx, _award(10, 100, True), "2026-03-10", 5_000))
    item = db.get_one(db.CampaignItem, *keys.campaign("cmp_a"))
    assert (int(item.budget_used), item.status, int(item.customers), int(item.new_customers)) == (
        100,
        "exhausted",
        1,
        0,
    )
    day = db.get_one(db.CampaignDayItem, *keys.campaign_day("cmp_a", "2026-03-10"))
    assert (int(day.awards), int(day.points_awarded), int(day.revenue_minor)) == (1, 10, 5_000)
    _campaign("cmp_a", budget=100, used=95)
    with pytest.raises(db.TxCancelled) as over:
        _commit(lambda tx: campaign_awards.record(tx, _award(10, 100, False), "2026-03-10", 5_000))
    assert over.value.failed == {"campaign:cmp_a"}
    _campaign("cmp_a", budget=100, used=0)
    _sponsor(status="suspended")
    with pytest.raises(db.TxCancelled) as suspended:
        _commit(lambda tx: campaign_awards.record(tx, _award(10, 100, False), "2026-03-10", 5_000))
    assert suspended.value.failed == {"sponsor:s"}


def test_a_used_up_campaign_is_marked_exhausted_and_a_refund_reverses_its_points(dynamo):
    _campaign("cmp_a", budget=100, used=100)
    _commit(lambda tx: campaign_awards.mark_exhausted(tx, "cmp_a"))
    _commit(lambda tx: campaign_awards.reverse(tx, "cmp_a", 7))
    item = db.get_one(db.CampaignItem, *keys.campaign("cmp_a"))
    assert (item.status, int(item.points_reversed)) == ("exhausted", 7)
