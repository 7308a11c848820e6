"""The campaign budget's ceiling, on paper and simulated: many simultaneous awards through the real decision and the
real guarded writes (chalicelib/domain/campaigns.py, chalicelib/db/campaign_awards.py) against the embedded DynamoDB
of ``make run`` (serialized moto behind HTTP: moto itself is not thread-safe in process), then the write rate the
busiest item would have to take at DynamoDB's per-item limit.

    python -m bench.budget_shards                 # 1 shard (a budget under 1,000 points) and 8 shards, 400 awards

DynamoDB serves about 1,000 write units a second per partition; an award's guarded write of one shard item (under
1 KB) inside a transaction costs 2 of them, so one item takes at most about 500 awards a second. With the awards
spread over N items the campaign's ceiling is 500 / (the busiest item's share of the awards): N x 500 when they are
spread evenly."""

from __future__ import annotations

import argparse
import json
import os
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

ITEM_WCU_PER_SECOND = 1_000  # DynamoDB's per-partition write throughput
WCU_PER_AWARD_WRITE = 2  # a transactional write of an item under 1 KB


def _run(budget: int, awards: int, threads: int) -> dict[str, Any]:
    from chalicelib import db
    from chalicelib.db import campaign_awards, keys
    from chalicelib.domain.campaigns import Purchase, Rules, Shopper, decide_awards, shard_count

    campaign_id = f"cmp_bench{budget}"
    rules = {"budget_points": budget}
    shards = shard_count(budget, keys.CAMPAIGN_SHARDS)
    db.CampaignItem(
        *keys.campaign(campaign_id),
        campaign_id=campaign_id,
        sponsor_partner_id="s",
        rules=rules,
        status="active",
        budget_shards=shards,
        created_at="t",
        updated_at="t",
    ).save()
    snapshot = {"campaign_id": campaign_id, "sponsor_partner_id": "s", "earn_at": ["p"]}
    reward = Rules.from_snapshot({**snapshot, **rules, "reward": {"type": "fixed", "points": 1}})
    purchase = Purchase("p", 10_000, 5, 100)
    counted: Counter[int] = Counter()
    retries = Counter[str]()

    def award(_: int) -> None:
        for _attempt in range(50):
            reads = campaign_awards.read_keys([reward])
            found = campaign_awards.fresh(db.get_many(reads), [campaign_id], ["s"])
            states, sponsors = campaign_awards.states_of(found, [campaign_id], ["s"])
            decision = decide_awards([reward], states, sponsors, 10, purchase, Shopper({}, "base", {}), 30)
            if decision.needs_every_shard:
                found = campaign_awards.with_every_shard(found, decision.needs_every_shard)
                states, sponsors = campaign_awards.states_of(found, [campaign_id], ["s"])
                decision = decide_awards([reward], states, sponsors, 10, purchase, Shopper({}, "base", {}), 30)
            tx = db.Transaction()
            for decided in decision.awards:
                campaign_awards.record(tx, decided, "2026-03-10", 10_000)
            try:
                tx.commit(db.connection(), token=os.urandom(8).hex())
            except db.TxCancelled:
                retries["cancelled"] += 1
                continue
            for decided in decision.awards:
                counted.update(decided.shares)
            return
        retries["gave_up"] += 1

    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(award, range(awards)))
    elapsed = time.perf_counter() - started
    wanted = [(db.CampaignShardItem, *k) for k in keys.campaign_shards(campaign_id, shards)]
    used = sum(int(item.used) for item in db.get_many(wanted).values())
    busiest = max(counted.values()) / max(1, sum(counted.values()))
    per_item = ITEM_WCU_PER_SECOND // WCU_PER_AWARD_WRITE
    return {
        "budget": budget,
        "shards": shards,
        "awards": sum(counted.values()),
        "points_used": used,
        "per_shard_writes": [counted.get(k, 0) for k in range(shards)],
        "busiest_share": round(busiest, 3),
        "cancelled_and_decided_again": retries["cancelled"],
        "ceiling_awards_per_second_on_paper": per_item * shards,
        "ceiling_awards_per_second_simulated": int(per_item / busiest),
        "local_seconds": round(elapsed, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--awards", type=int, default=400)
    parser.add_argument("--threads", type=int, default=16)
    args = parser.parse_args()
    from bench import world
    from chalicelib import db, runtime
    from local import servers

    dynamodb = servers.start_dynamodb()
    try:
        settings = world.settings("bench-shards", endpoint=dynamodb.url)
        runtime.configure(settings)
        db.create_table()
        db.PartnerItem(
            *db.keys.partner("s"),
            partner_id="s",
            name="S",
            earn_rate_bps=500,
            max_redeem_share_bps=5000,
            status="active",
            created_at="t",
            updated_at="t",
        ).save()
        # one budget under 1,000 points (one item, as every campaign before shards) and one of 8 shards, each big
        # enough that the awards never run out: the spread, not the exhaustion, is measured
        results = [_run(budget, args.awards, args.threads) for budget in (900, 1_000_000)]
    finally:
        dynamodb.stop()
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
