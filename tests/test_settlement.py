"""A scripted month over HTTP; every figure checked against an independent computation."""

import csv
import io
from collections import Counter, defaultdict
from datetime import UTC, datetime

from chalicelib.domain.settlement import Figures, entry_deltas, identity
from tests.conftest import TRUSTED


def ok(r, status=200):
    assert r.status_code == status, r.text
    return r.json()


class Model:
    """The test's own bookkeeping of lots and settlement figures, from what the API answered."""

    def __init__(self):
        self.lots = defaultdict(Counter)  # customer -> "expiry|issuer" -> points
        self.fig = defaultdict(Counter)  # partner -> field -> points
        self.flows = defaultdict(Counter)  # acceptor -> issuer -> net points
        self.consumed = {}  # (acceptor, order) -> [(lot, n)]

    def earn(self, customer, issuer, points):
        self.lots[customer][f"2027-03|{issuer}"] += points
        self.fig[issuer]["issued"] += points

    def award(self, customer, sponsor, points):
        self.lots[customer][f"2027-03|{sponsor}"] += points
        self.fig[sponsor]["promo"] += points

    def spend(self, customer, acceptor, order, points):
        taken, left = [], points
        for lot in sorted(self.lots[customer]):
            n = min(self.lots[customer][lot], left)
            if n:
                taken.append((lot, n))
                self.lots[customer][lot] -= n
                self.flows[acceptor][lot.split("|")[1]] += n
                left -= n
        self.consumed[(acceptor, order)] = taken
        self.fig[acceptor]["accepted"] += points

    def give_back(self, customer, acceptor, order, points):
        for lot, n in self.consumed[(acceptor, order)]:
            back = min(n, points)
            self.lots[customer][lot] += back
            self.flows[acceptor][lot.split("|")[1]] -= back
            points -= back


def test_a_month_across_three_partners(live, clock):
    L, op = live, live.operator_key
    clock.set(datetime(2026, 3, 2, 9, tzinfo=UTC))
    ok(L.request("PUT", "/v1/admin/program", op, {"operator_fee_bps": 100, "effective_from": "2026-03-02"}))
    cafe = ok(L.request("POST", "/v1/admin/partners", op, {"name": "Уют", "earn_rate_bps": 500, **TRUSTED}), 201)
    store = ok(L.request("POST", "/v1/admin/partners", op, {"name": "Стиль", "earn_rate_bps": 300, **TRUSTED}), 201)
    salon = ok(L.request("POST", "/v1/admin/partners", op, {"name": "Шарм", "earn_rate_bps": 1000, **TRUSTED}), 201)
    C, S, B = cafe["partner_id"], store["partner_id"], salon["partner_id"]
    key = {C: cafe["api_key"], S: store["api_key"], B: salon["api_key"]}
    m = Model()

    def post(pid, path, body, status=201):
        return ok(L.request("POST", path, key[pid], body), status)

    anna = post(C, "/v1/customers", {"phone": "+79160000001"})["customer_id"]
    boris = post(C, "/v1/customers", {"phone": "+79160000002"})["customer_id"]

    m.earn(
        anna, C, post(C, "/v1/accruals", {"customer_id": anna, "order_id": "C-1", "amount_minor": 200_000})["points"]
    )
    m.earn(
        boris,
        S,
        post(S, "/v1/accruals", {"customer_id": boris, "order_id": "S-1", "amount_minor": 1_000_000})["points"],
    )

    camp = post(
        C, "/v1/campaigns", {"name": "Из Уюта в Шарм", "earn_at": [B], "reward": {"type": "fixed", "points": 50}}
    )
    post(B, f"/v1/campaigns/{camp['campaign_id']}/accept", {}, 200)
    post(C, f"/v1/campaigns/{camp['campaign_id']}/activate", {}, 200)
    got = post(B, "/v1/accruals", {"customer_id": anna, "order_id": "B-1", "amount_minor": 100_000})
    m.earn(anna, B, got["points"])
    m.award(anna, C, got["bonus_points"])
    assert got["bonus_points"] == 50

    post(S, "/v1/redemptions", {"customer_id": anna, "order_id": "S-2", "order_amount_minor": 1_000_000, "points": 120})
    m.spend(anna, S, "S-2", 120)
    post(C, "/v1/redemptions", {"customer_id": boris, "order_id": "C-2", "order_amount_minor": 300_000, "points": 100})
    m.spend(boris, C, "C-2", 100)

    r = post(S, "/v1/refunds", {"order_id": "S-1", "refund_id": "SR-1", "amount_minor": 500_000})
    assert (r["points_reversed"], r["points_shortfall"]) == (150, 0)
    m.lots[boris][f"2027-03|{S}"] -= 150
    m.fig[S]["reversed"] += 150
    r = post(S, "/v1/refunds", {"order_id": "S-2", "refund_id": "SR-2", "amount_minor": 500_000})
    assert r["points_returned"] == 60
    m.give_back(anna, S, "S-2", 60)
    m.fig[S]["refunded"] += 60
    ok(
        L.request(
            "POST",
            "/v1/admin/adjustments",
            op,
            {"customer_id": anna, "adjustment_id": "ADJ-1", "points": 30, "reason": "goodwill"},
        ),
        201,
    )

    # --- the operator's view of March, still open -------------------------------------------------------------
    report = ok(L.request("GET", "/v1/admin/settlements/2026-03", op))
    assert report["status"] == "open"
    rows = {p["partner_id"]: p for p in report["partners"]}
    for pid in (C, S, B):
        row, f = rows[pid], m.fig[pid]
        expected = {
            "issued_points": f["issued"],
            "issued_reversed_points": f["reversed"],
            "promo_points_funded": f["promo"],
            "accepted_points": f["accepted"],
            "accepted_refunded_points": f["refunded"],
        }
        assert {k: row[k] for k in expected} == expected, pid
        net = (f["accepted"] - f["refunded"]) - (f["issued"] - f["reversed"]) - f["promo"]
        fee = (f["issued"] - f["reversed"] + f["promo"]) * 100 * 100 // 10_000
        assert (row["net_points"], row["operator_fee_minor"], row["net_amount_minor"]) == (net, fee, net * 100 - fee)
        assert {x["issuer_partner_id"]: x["points"] for x in row["flows"]} == {
            k: v for k, v in m.flows[pid].items() if v
        }
    # the matrix sums to each acceptor's net accepted points and to each issuer's points redeemed elsewhere
    by_acceptor, by_issuer = Counter(), Counter()
    for cell in report["matrix"]:
        by_acceptor[cell["acceptor_partner_id"]] += cell["points"]
        by_issuer[cell["issuer_partner_id"]] += cell["points"]
    assert by_acceptor == Counter(
        {p: r["accepted_points"] - r["accepted_refunded_points"] for p, r in rows.items() if r["accepted_points"]}
    )
    assert sum(by_issuer.values()) == report["totals"]["accepted_points"] - report["totals"]["accepted_refunded_points"]
    assert report["coalition"]["adjustment_points"] == 30
    balances = sum(ok(L.request("GET", f"/v1/customers/{c}/balance", key[C]))["available"] for c in (anna, boris))
    ident = report["identity"]
    assert ident["balance_change"] == balances and ident["result"] == 0 and ident["holds"] is True
    assert ok(L.request("GET", "/v1/admin/settlements/2026-03/reconciliation", op))["matches"] is True

    # --- a partner's own view, JSON and CSV ---------------------------------------------------------------------
    mine = ok(L.request("GET", "/v1/settlements/2026-03", key[S]))
    assert mine == {**rows[S], "generated_at": mine["generated_at"]}
    refused = L.request("GET", f"/v1/settlements/2026-03?partner_id={C}", key[S])
    assert refused.status_code == 403
    raw = L.request("GET", "/v1/settlements/2026-03?format=csv&headers=fields", key[S])
    assert raw.headers["Content-Type"].startswith("text/csv") and raw.content.startswith("\ufeff".encode())
    lines = list(csv.reader(io.StringIO(raw.content.decode("utf-8-sig")), delimiter=";"))
    assert len(lines) == 2  # one table: the header and the partner's row (field names: no legend)
    header, values = lines[0], lines[1]
    as_csv = dict(zip(header, values, strict=True))
    assert as_csv["partner_name"] == "Стиль"
    for name in (
        "issued_points",
        "issued_reversed_points",
        "promo_points_funded",
        "accepted_points",
        "accepted_refunded_points",
        "net_points",
        "operator_fee_minor",
        "net_amount_minor",
    ):
        assert int(as_csv[name]) == mine[name], name
    flows = L.request("GET", "/v1/settlements/2026-03?format=csv&table=flows&headers=fields", key[S])
    lines = list(csv.reader(io.StringIO(flows.content.decode("utf-8-sig")), delimiter=";"))
    assert lines[0] == ["issuer_partner_id", "issuer_name", "points_accepted_here"]
    flows_csv = {row[0]: int(row[2]) for row in lines[1:]}
    assert flows_csv == {x["issuer_partner_id"]: x["points"] for x in mine["flows"]}
    operator_csv = L.request("GET", "/v1/admin/settlements/2026-03?format=csv", op).content.decode("utf-8-sig")
    assert "Уют" in operator_csv and "Шарм" in operator_csv

    # --- closing --------------------------------------------------------------------------------------------------
    early = L.request("POST", "/v1/admin/settlements/2026-03/close", op)
    assert early.status_code == 409 and early.json()["code"] == "period_not_ended"
    clock.set(datetime(2026, 3, 31, 21, 30, tzinfo=UTC))  # 00:30 on 1 April in Moscow
    closed = ok(L.request("POST", "/v1/admin/settlements/2026-03/close", op))
    assert closed["status"] == "closed" and closed["identity"]["result"] == 0
    post(C, "/v1/accruals", {"customer_id": anna, "order_id": "C-9", "amount_minor": 100_000})  # an April purchase
    again = ok(L.request("GET", "/v1/admin/settlements/2026-03", op))
    assert again == closed
    assert ok(L.request("POST", "/v1/admin/settlements/2026-03/close", op)) == closed
    assert ok(L.request("GET", "/v1/settlements/2026-03", key[S]))["status"] == "closed"
    april = ok(L.request("GET", "/v1/settlements/2026-04", key[C]))
    assert april["issued_points"] == 50 and april["status"] == "open"


def test_identity_terms_follow_each_entry_type():
    deltas = entry_deltas("capture", "ptn_a", -30, {"2027-01|ptn_b": 10}, {"captured_lots": {"2027-01|ptn_b": 30}})
    assert deltas["ptn_a"].counts["accepted_points"] == 30 and deltas["ptn_a"].flows == {"ptn_b": 30}
    refund = entry_deltas(
        "refund",
        "ptn_a",
        -5,
        {},
        {
            "returned_lots": {"2027-01|ptn_b": 5},
            "reversals": [
                {"kind": "base", "lot": "2027-01|ptn_a", "share": 10, "taken": 10},
                {"kind": "award", "lot": "2027-01|ptn_s", "share": 0, "taken": 0},
            ],
        },
    )
    assert refund["ptn_a"].counts["issued_reversed_points"] == 10 and refund["ptn_a"].flows == {"ptn_b": -5}
    total = Figures()
    for f in entry_deltas("accrual", "ptn_a", 100, {}, {}).values():
        total.add(f)
    assert identity([total])["result"] == 0
