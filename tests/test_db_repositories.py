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


@pytest.mark.parametrize(
    "once",
    [
        Change(bonus_days={"2026-03-10|review": 1}, bonus_limits={"2026-03-10|review": 1}),
        Change(campaign_awards={"cmp_a": 2}, campaign_limits={"cmp_a": 3}),
    ],
    ids=["bonus per day", "campaign per customer"],
)
def test_a_limited_counter_stops_at_its_limit(dynamo, once):
    """The write itself holds the cap (a decision made on a stale read cannot pass it): the second write over the
    limit is cancelled and changes nothing."""
    _enrol()
    _commit(lambda tx: wallets.apply(tx, CID, once, "t"))
    with pytest.raises(db.TxCancelled) as cancelled:
        _commit(lambda tx: wallets.apply(tx, CID, once, "t"))
    assert cancelled.value.failed == {wallets.WALLET_TAG}
    assert wallets.read(CID) == once.applied_to(Wallet())


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
    """A campaign item (``used``: what it counted before shards) with 4 budget shards."""
    rules = {"budget_points": budget} if budget is not None else {}
    db.CampaignItem(
        *keys.campaign(campaign_id),
        campaign_id=campaign_id,
        sponsor_partner_id="s",
        rules=rules,
        status=status,
        budget_used=used,
        budget_shards=4,
        created_at="t",
        updated_at="t",
    ).save()


def _shard(campaign_id, shard, used, closed=None):
    db.CampaignShardItem(*keys.campaign_shard(campaign_id, shard), used=used, closed=closed).save()


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
    _campaign("cmp_a", budget=100, used=40)  # 60 left for its 4 shards: 15 each
    _shard("cmp_a", 2, 5)
    _campaign("cmp_b", status="paused")
    _sponsor()
    prefetched = db.get_many([(db.CampaignItem, *keys.campaign("cmp_a")), (db.PartnerItem, *keys.partner("s"))])
    prefetched |= db.get_many([(db.CampaignShardItem, *keys.campaign_shard("cmp_a", 2))])
    states, sponsors = campaign_awards.load_states(prefetched, ["cmp_a", "cmp_b", "cmp_gone"], {"s", "gone"})
    a = states["cmp_a"]
    assert (a.status, a.budget_points, dict(a.rooms), a.complete, a.pick) == ("active", 100, {2: 10}, False, 2)
    assert (states["cmp_b"].status, states["cmp_b"].budget_points) == ("paused", None) and "cmp_gone" not in states
    assert sponsors == {"s"}
    whole = campaign_awards.with_every_shard(prefetched, ["cmp_a"])
    a, _ = campaign_awards.states_of(whole, ["cmp_a"], {"s"})
    assert (dict(a["cmp_a"].rooms), a["cmp_a"].complete, a["cmp_a"].remaining) == (
        {0: 15, 1: 15, 2: 10, 3: 15},
        True,
        55,
    )


def _award(shares, allowances, exhausts=False, campaign_id="cmp_a"):
    rules = Rules.from_snapshot(
        {
            "campaign_id": campaign_id,
            "sponsor_partner_id": "s",
            "earn_at": ["p"],
            "reward": {"type": "fixed", "points": 1},
        }
    )
    points = sum(shares.values())
    return CampaignAward(rules, points, shares, allowances, exhausts, first_for_customer=True, new_customer=False)


SHARES = {0: 25, 1: 25, 2: 25, 3: 25}  # a budget of 100 over 4 shards


def test_an_award_is_guarded_by_its_shard_allowance_and_its_sponsor(dynamo):
    _campaign("cmp_a", budget=100)
    _shard("cmp_a", 1, 15)
    _sponsor()
    _commit(lambda tx: campaign_awards.record(tx, _award({1: 10}, SHARES), "2026-03-10", 5_000))
    shard = db.get_one(db.CampaignShardItem, *keys.campaign_shard("cmp_a", 1))
    assert (int(shard.used), int(shard.awards), int(shard.customers), int(shard.revenue_minor)) == (25, 1, 1, 5_000)
    assert db.get_one(db.CampaignItem, *keys.campaign("cmp_a")).status == "active"  # the item was not written
    day = db.get_one(db.CampaignDayItem, *keys.campaign_day("cmp_a", "2026-03-10", 1))
    assert (int(day.awards), int(day.points_awarded), int(day.revenue_minor)) == (1, 10, 5_000)
    with pytest.raises(db.TxCancelled) as over:  # the shard is full: one more point is over its allowance
        _commit(lambda tx: campaign_awards.record(tx, _award({1: 1}, SHARES), "2026-03-10", 5_000))
    assert over.value.failed == {"campaign:cmp_a"}
    _sponsor(status="suspended")
    with pytest.raises(db.TxCancelled) as suspended:
        _commit(lambda tx: campaign_awards.record(tx, _award({0: 10}, SHARES), "2026-03-10", 5_000))
    assert suspended.value.failed == {"sponsor:s"}


def test_an_award_split_over_shards_commits_only_if_every_shard_still_has_its_room(dynamo):
    _campaign("cmp_a", budget=100)
    _sponsor()
    for k in range(4):
        _shard("cmp_a", k, 20)
    stale = _award({0: 5, 1: 5}, SHARES)  # decided on shards 0 and 1 with 5 left each
    _commit(lambda tx: campaign_awards.record(tx, _award({1: 3}, SHARES), "2026-03-10", 1))  # a racer takes 3 of 1
    with pytest.raises(db.TxCancelled):
        _commit(lambda tx: campaign_awards.record(tx, stale, "2026-03-10", 1))
    assert int(db.get_one(db.CampaignShardItem, *keys.campaign_shard("cmp_a", 0)).used) == 20  # all or nothing
    _commit(lambda tx: campaign_awards.record(tx, _award({0: 5, 1: 2, 2: 5, 3: 5}, SHARES, True), "2026-03-10", 1))
    assert db.get_one(db.CampaignItem, *keys.campaign("cmp_a")).status == "exhausted"
    used = [int(db.get_one(db.CampaignShardItem, *keys.campaign_shard("cmp_a", k)).used) for k in range(4)]
    assert used == [25, 25, 25, 25]


def test_a_closed_shard_refuses_awards_even_with_room(dynamo):
    _campaign("cmp_a", budget=100)
    _sponsor()
    _shard("cmp_a", 0, 0, closed="paused")
    with pytest.raises(db.TxCancelled) as paused:
        _commit(lambda tx: campaign_awards.record(tx, _award({0: 1}, SHARES), "2026-03-10", 1))
    assert paused.value.failed == {"campaign:cmp_a"}
    _campaign("cmp_b")  # no budget: still refused while closed
    db.CampaignShardItem(*keys.campaign_shard("cmp_b", 0), closed="ended").save()
    unbudgeted = _award({0: 1}, None, campaign_id="cmp_b")
    with pytest.raises(db.TxCancelled):
        _commit(lambda tx: campaign_awards.record(tx, unbudgeted, "2026-03-10", 1))


def test_a_used_up_campaign_is_marked_exhausted_and_a_refund_reverses_its_points(dynamo):
    _campaign("cmp_a", budget=100, used=100)
    _commit(lambda tx: campaign_awards.mark_exhausted(tx, "cmp_a"))
    _commit(lambda tx: campaign_awards.reverse(tx, "cmp_a", 7))
    item = db.get_one(db.CampaignItem, *keys.campaign("cmp_a"))
    assert (item.status, int(item.points_reversed)) == ("exhausted", 7)
