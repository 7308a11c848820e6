"""Review: closing a month freezes the whole operator report (every partner's row with its flows, and the issuer x
acceptor matrix) as ONE item. A coalition of 50 partners whose customers spend everywhere has 2,450 flows: the
report passes DynamoDB's 400 KB item limit and the close fails with a 500, every night, for ever (the month is
never closed, its reconciliation never started)."""

from datetime import UTC, datetime

from chalicelib import db
from chalicelib.db import entries as entries_db
from chalicelib.domain.settlement import Figures
from tests.conftest import TRUSTED

N = 50


def test_a_month_of_50_partners_trading_with_each_other_can_be_closed(api, clock):
    ids = []
    for i in range(N):
        r = api.post("/v1/admin/partners", {"name": f"Партнёр номер {i:03d}", **TRUSTED})
        assert r.status == 201, r.json
        ids.append(r["partner_id"])
    # What a month of purchases across the coalition leaves in the counters (each partner accepted points issued by
    # every other one): written as the entries' transactions write them (entries_db.add_figures).
    for acceptor in ids:
        tx = db.Transaction()
        figures = {}
        f = figures[acceptor] = Figures()
        for issuer in ids:
            if issuer != acceptor:
                f.flows[issuer] = 7
                f.counts["accepted_points"] += 7
                f.counts["balance_change"] -= 7
                g = figures.setdefault(issuer, Figures())
                g.counts["issued_points"] += 7
                g.counts["balance_change"] += 7
        entries_db.add_figures(tx, "2026-03", figures)
        tx.commit(db.connection())
    report = api.get("/v1/admin/settlements/2026-03")
    assert report.status == 200 and report["identity"]["holds"], report.json
    print("report bytes:", len(report.raw))
    clock.set(datetime(2026, 3, 31, 22, 0, tzinfo=UTC))  # 01:00 Moscow on April 1st: the scheduled close
    closed = api.post("/v1/admin/settlements/2026-03/close")
    assert closed.status == 200, (closed.status, closed.raw[:300])
