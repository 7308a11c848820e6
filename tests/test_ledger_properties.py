"""Stateful property test: random operations through the API, each answer checked against a pure reference model
(``tests/reference_model.py``); after every step the ledger invariants hold.

- every customer's balance equals the model's; stored available / pending / held equal the fold of the customer's
  ledger entries, lot by lot; nothing is ever negative (stored or as shown);
- points are conserved: issued + returned - spent - reversed - expired - debited = what customers hold;
- every hold resolves at most once, and a hold at or past its deadline no longer counts;
- the month's settlement counters equal the fold of its entries, the operator identity is 0, and every partner's
  statement (``GET /v1/settlements/{period}``) equals the model's own figures for that partner.

Orders carry realistic amounts so that refunds give points back and leave shortfalls; several operations meet on one
order (accrual and redemption, another customer or amount, repeats), refunds meet open holds, captures keep part of
a hold, the clock passes hold deadlines (bursts of more than ten holds on one customer), and two campaigns award on
purchases (two stacked on one café purchase, one of them pending at the shop).

The customer's consent is modelled too (``Policy``, ``SentCode``, ``Tries`` in the model): the store asks for the
customer's code always, the shop without it up to a small ceiling a day (holds included, short holds only), the café
never (short holds only). A till asks for a code where it must, or when told so (the ceiling, a long hold), and sends
the request again with it; and the ``codes`` rule plays tills of all three partners, with both keys of each, asking
codes for one customer, replaying and re-asking, and typing right, wrong, used, replaced, expired, another partner's
and too-small codes, with the clock moving between them. Every answer (status, code, the 403's fields, Retry-After)
is predicted; refusals change neither the books nor the order; every spend without a code sends one message.
``PATHS`` counts what was exercised across examples; ``test_the_paths_were_exercised`` runs after the property test
and fails if the money and consent paths the test exists for never happened.
"""

from __future__ import annotations

import copy
import functools
import itertools
import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import moto.dynamodb.models as moto_dynamodb
import pytest
from hypothesis import HealthCheck, Phase, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.dynamodb.models import DynamoDBBackend, dynamodb_backends
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import Table

from chalicelib import db, runtime
from chalicelib.clock import ManualClock
from chalicelib.db import keys
from chalicelib.db import outbox as outbox_db
from chalicelib.domain.settlement import FIELDS, Figures, entry_deltas, identity, statement
from chalicelib.domain.wallet import Wallet, settled, split_pending_key
from chalicelib.machinery.program import Program
from chalicelib.machinery.wallets import ints, of_item
from chalicelib.notify.inbox import INBOX
from chalicelib.services import auth, dispatcher, jobs, spend_notices
from tests.conftest import Api, Result, make_settings
from tests.reference_model import STATEMENT, Campaign, Earned, Model, Order, Policy, Redeemed, Refunded, SentCode

# 60 examples of 12 steps in make test (about as long as the 80 before the customer's consent was modelled: its
# code flows add requests to a step, 0.75 s of CPU an example instead of 0.55; CI's budget is 30 minutes for
# everything); 300 take about 4 min, make soak's 1,000 about 13 min of CPU. 15 steps before orders became records:
# steps got heavier.
EXAMPLES = int(os.environ.get("LEDGER_EXAMPLES", "60"))
STEPS = int(os.environ.get("LEDGER_STEPS", "12"))
ALLOWED = {
    "accrual": {201, 409},
    "redemption": {201, 403, 409, 422, 429},
    "capture": {200, 409, 422},
    "void": {200, 409},
    "refund": {201, 404, 422},
    "bonus": {201, 422},
    "adjustment": {201, 422},
}
STATUS = {
    "order_conflict": 409,
    "duplicate_order": 409,
    "hold_expired": 409,
    "hold_already_resolved": 409,
    "redemption_cap_exceeded": 422,
    "insufficient_points": 422,
    "refund_exceeds_order": 422,
    "order_not_found": 404,
    "too_many": 422,
}
CODE = {"too_many": "validation_error"}
# The customer's consent: refusals that depend on something outside the request, never bound to the order
CONSENT = {"customer_confirmation_required": 403, "customer_code_invalid": 403, "customer_code_locked": 429}
# The one answer to every wrong code at a till (docs/customer-confirmation.md, "One answer for every wrong code")
WRONG_CODE = "The code is not right, or it was used, has expired or was never issued; ask the customer for a new one."
CONSENT_FIELDS = ("code_free_points_left", "code_free_hold_minutes", "confirmed_points")
SPEND = {  # how a redemption is drawn (the spend and hold rules)
    "p": st.integers(0, 2),
    "c": st.integers(0, 2),
    "how": st.sampled_from(["some", "some", "all", "quoted", "quoted + 1"]),
    "pct": st.integers(1, 110),
    "extra": st.integers(-150, 40_000),
}
REFUND = {  # how a refund is drawn (the refund and refund_spent rules)
    "pick": st.integers(0, 10_000),
    "mode": st.sampled_from(["part", "part", "part", "rest", "rest", "over", "tiny", "unknown"]),
    "pct": st.integers(1, 99),
}
HOLDS = ["an open hold", "an open hold", "a hold met by a refund", "a redemption"]
# What a till does with the customer's codes in the ``codes`` rule: (action, partner, key, n)
CODE_ACTIONS = [
    "ask",
    "ask",
    "right",
    "right",
    "wrong",
    "wrong",
    "another partner's",
    "used",
    "replaced",
    "too many",
    "replay the ask",
    "the ask's Idempotency-Key from the other key",
    "guesses",
    "wait",
    "a day passes",
    "without a code",
    "without a code",
]
ASK_AGAIN = ("replay the ask", "the ask's Idempotency-Key from the other key")

# What the property test exercised, summed over every example of the session (read by the last test below).
PATHS: Counter[str] = Counter()


def _tell(now: datetime) -> None:
    """A dispatcher pass over what the writes put in the outbox, then the spend notices it accepted."""
    while batch := outbox_db.pending(100):
        dispatcher.dispatch(batch, now, attempt_now=False)
    spend_notices.flush(now)


def counted(rule_function: Callable[..., None]) -> Callable[..., None]:
    """Count the rule's runs in PATHS (how the steps were spent)."""

    @functools.wraps(rule_function)
    def run(self: Ledger, **kwargs: Any) -> None:
        PATHS[f"rule {rule_function.__name__}"] += 1
        rule_function(self, **kwargs)

    return run


class _OneBackupPerTable:
    """Stands in for the ``copy`` module inside moto's ``transact_write_items`` while it runs. Before changing
    anything, moto backs up the whole table once per item of the transaction (a ten-item write on a 150-item table
    copies 1,500 items); all those copies are the same backup, so one per table gives the same rollback. This is a
    third of the property test's time, and changes nothing moto does."""

    def __init__(self) -> None:
        self.backups: dict[int, Table] = {}

    def deepcopy(self, x: Any, memo: dict[int, Any] | None = None) -> Any:
        if isinstance(x, Table):
            if id(x) not in self.backups:
                self.backups[id(x)] = copy.deepcopy(x)
            return self.backups[id(x)]
        return copy.deepcopy(x, memo)


@pytest.fixture(scope="module", autouse=True)
def _moto():
    global _coalition
    original = DynamoDBBackend.transact_write_items

    def transact_write_items(backend: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
        moto_dynamodb.copy = _OneBackupPerTable()  # type: ignore[assignment]
        try:
            return original(backend, transact_items)
        finally:
            moto_dynamodb.copy = copy

    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
    try:
        with mock_aws():
            yield
    finally:
        DynamoDBBackend.transact_write_items = original  # type: ignore[method-assign]
        _coalition = None


TABLE = "props"
# The model has no rate limits: the per-key request rate, the open-holds cap (5 per partner and customer, which a
# burst of a dozen holds passes) and the spend codes sent to one customer (5 at once, then 10 an hour: every spend at
# the store asks for one) are off here; tests/test_limits.py and tests/test_customer_reach.py cover them.
# The per-key allowance of wrong codes (20 at once, then 40 an hour) is off too: the model counts wrong tries per
# partner and customer only (tests/test_consent_codes.py covers the key's allowance).
LIMITS = '{"api_key": null, "open_holds": null, "spend_code": null, "customer_messages": null, "wrong_code": null}'
START = datetime(2026, 1, 20, 10, tzinfo=UTC)
PARTNERS = (("cafe", 0), ("store", 0), ("shop", 3))  # name, pending days; all earn 500 bps, redeem up to 100 %
# The café is trusted (spend_confirmation "never", like tills scanning cards; holds without a code up to 10 hours),
# the store keeps the default policy ("always"), the shop spends without the customer's code up to 100 points a day
# per customer ("above", holds included, code-free holds the default 30 minutes): small enough for the ceiling to be
# met. Each partner also has a second API key (another till).
POLICIES = (Policy("never", hold_minutes=600), Policy("always"), Policy("above", ceiling=100))
# The store sponsors 20 points for purchases at the café (budget 110: the sixth award gets the last 10); the café
# sponsors 30 points at the café and at the shop (pending there for 3 days; budget 250: the ninth award gets 10). At
# the café both stack on one purchase, and the café's award lands in the café's own lot, beside the base points.
CAMPAIGNS = ((1, (0,), 20, 110, 2), (0, (0, 2), 30, 250, 3))  # sponsor, earn_at, points, budget, per customer
# Every customer starts with a purchase at the café (100, 75 and 50 points, and both awards): there is something to
# spend from the first step, and a refund of that purchase after the points were spent meets a shortfall.
WELCOME = (200_000, 150_000, 100_000)


@dataclass(frozen=True)
class Coalition:
    """The table as the setup left it (partners, keys, active campaigns, customers) and the ids it made."""

    table: Any
    keys: tuple[tuple[str, str], ...]  # each partner's two API keys
    partner_ids: tuple[str, ...]
    campaign_ids: tuple[str, ...]
    customers: tuple[str, ...]
    welcome: tuple[tuple[dict[str, Any], bytes], ...]  # each customer's first purchase at the café: body, answer


_coalition: Coalition | None = None


def _moto_tables() -> dict[str, Any]:
    return dynamodb_backends[DEFAULT_ACCOUNT_ID][make_settings(TABLE).region].tables


def _counters(partner_ids: list[str], period: str) -> dict[str, Figures]:
    """Each partner's settlement counters for the month (all shards summed), read straight from moto's table like
    :func:`_partition`: what ``settlement.read_figures`` reads for the statements, at no botocore cost."""
    out = {pid: Figures() for pid in partner_ids}
    for pid in partner_ids:
        for pk, sk in keys.counters(pid, period):
            for raw in _partition(pk):
                if raw["sk"]["S"] != sk:
                    continue
                for name, value in raw.items():
                    if "N" not in value:
                        continue
                    if name in FIELDS:
                        out[pid].counts[name] += int(value["N"])
                    elif name.startswith("flow_"):
                        out[pid].flows[name[5:]] = out[pid].flows.get(name[5:], 0) + int(value["N"])
    return out


def _partition(pk: str) -> list[dict[str, Any]]:
    """Every item of one partition as DynamoDB's wire format, read straight from moto's table: the invariants look
    at all of a customer's entries after every step, and a Query through botocore costs ten times as much."""
    table = _moto_tables()[TABLE]  # looked up each time: a cancelled transaction puts a restored table in its place
    items = table.items.get(DynamoType({"S": pk}), {})
    return [item.to_json()["Attributes"] for item in items.values()]


def _build_coalition(operator: Api) -> Coalition:
    """Three partners (two keys each), two active campaigns and three customers, through the API, once per
    session."""
    partners, keys_, ids = [], [], []
    for (name, pending_days), policy in zip(PARTNERS, POLICIES, strict=True):
        body: dict[str, Any] = {"name": name, "pending_days": pending_days, "max_redeem_share_bps": 10_000}
        if policy.kind != "always":
            body["spend_confirmation"] = policy.kind
        if policy.kind == "above":
            body["spend_confirmation_above_points"] = policy.ceiling
        if policy.hold_minutes != Policy().hold_minutes:
            body["code_free_hold_minutes"] = policy.hold_minutes
        r = operator.post("/v1/admin/partners", body)
        assert r.status == 201, r.json
        second = operator.post(f"/v1/admin/partners/{r['partner_id']}/keys")
        assert second.status == 201, second.json
        partners.append(operator.as_key(r["api_key"]))
        keys_.append((r["api_key"], second["api_key"]))
        ids.append(r["partner_id"])
    campaign_ids = []
    for sponsor, earn_at, points, budget, per_customer in CAMPAIGNS:
        body = {
            "name": f"promo-{sponsor}",
            "earn_at": [ids[p] for p in earn_at],
            "reward": {"type": "fixed", "points": points},
            "budget_points": budget,
            "per_customer_limit": per_customer,
        }
        campaign = partners[sponsor].post("/v1/campaigns", body).json
        for p in earn_at:
            if p != sponsor:
                assert partners[p].post(f"/v1/campaigns/{campaign['campaign_id']}/accept").status == 200
        assert partners[sponsor].post(f"/v1/campaigns/{campaign['campaign_id']}/activate").status == 200
        campaign_ids.append(campaign["campaign_id"])
    customers = [partners[0].post("/v1/customers", {"phone": f"+7916000000{i}"})["customer_id"] for i in range(3)]
    welcome = []
    for i, cid in enumerate(customers):
        body = {"customer_id": cid, "order_id": f"W-{i}", "amount_minor": WELCOME[i]}
        r = partners[0].post("/v1/accruals", body)
        assert r.status == 201, r.json
        welcome.append((body, r.raw))
    return Coalition(
        copy.deepcopy(_moto_tables()[TABLE]),
        tuple(keys_),
        tuple(ids),
        tuple(campaign_ids),
        tuple(customers),
        tuple(welcome),
    )


class Ledger(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        from chalice.test import Client

        from app import app

        self.clock = ManualClock(START)
        self.client = Client(app)
        self.operator = Api(self.client.http, "op")
        self.ids = itertools.count()
        self.partners: list[Api] = []  # each partner's first key
        self.tills: list[tuple[Api, Api]] = []  # each partner's two keys
        self.customers: list[str] = []
        self.issued = 0
        self.resolutions: Counter[str] = Counter()
        self.last_write: tuple[Api, str, dict, dict] | None = None
        self.model: Model | None = None
        self.partner_ids: list[str] = []
        self.known: list[tuple[int, str]] = []  # orders that exist: (partner index, order id)
        self.redemptions: list[tuple[int, str]] = []  # orders with a redemption
        self.rids: dict[tuple[int, str], str] = {}
        # (partner, kind, order) -> the body and answer its natural id is bound to: the first success's (README,
        # "Idempotency"); a repeat replays it, another body is a duplicate_order
        self.natural: dict[tuple[int, str, str], tuple[dict, Result]] = {}
        # (partner, kind, order) -> the refused attempts: each binds only its own body, which replays its error
        self.refused: dict[tuple[int, str, str], list[tuple[dict, Result]]] = {}
        self.checked: dict[str, dict[str, Figures]] = {}  # period -> partner -> figures from entries, last step
        self.names: dict[str, str] = {}
        self.bursts = 0
        self.asked = 0  # spend codes asked for
        self.asks: dict[tuple[int, str], tuple[int, str, dict[str, int] | None, SentCode]] = {}  # last ask
        self.last_ask: dict[str, int] = {}  # customer -> the partner that last asked her a code
        self.asked_by: dict[tuple[int, str], int] = {}  # (partner, customer) -> the key that asked its live code
        self.used: dict[str, tuple[int, str]] = {}  # customer -> the partner that last used a code of hers, the code
        self.shared_keys: set[str] = set()  # Idempotency-Keys of spend-code requests both keys of a partner sent
        self.replaced: dict[tuple[int, str], list[str]] = {}
        PATHS["examples"] += 1

    def teardown(self) -> None:
        """Every period: counters equal the sum of its entries, the identity holds, every partner's statement
        equals the model's."""
        try:
            if self.customers:
                for cid in self.customers:
                    self._balance_is_the_model(cid)
                self._settlement_matches_entries(None)
                for period in sorted(self.m.periods() | set(self.checked)):
                    self._statements_match_the_model(period)
                PATHS["writes catching up on more than 10 over holds"] += self.m.catch_ups
        finally:
            self.client.__exit__(None, None, None)

    @property
    def m(self) -> Model:
        assert self.model is not None
        return self.model

    def fresh(self, prefix: str) -> str:
        return f"{prefix}-{next(self.ids)}"

    def write(self, client: Api, path: str, body: dict, kind: str, key: str | None = None) -> Result:
        headers = {"Idempotency-Key": key or self.fresh("k")}
        r = client.post(path, body, headers=headers)
        assert r.status in ALLOWED[kind], (kind, r.status, r.json)
        if r.status < 300:
            self.last_write = (client, path, body, headers | {"_raw": r.raw})
        return r

    def expect_error(self, r: Result, outcome: str) -> None:
        assert (r.status, r["code"]) == (STATUS[outcome], CODE.get(outcome, outcome)), (r.json, outcome)
        PATHS[f"refused: {outcome}"] += 1
        event(f"refused: {outcome}")

    # --- setup --------------------------------------------------------------------------------------------------

    @initialize(bursty=st.integers(0, 3))
    def coalition(self, bursty: int) -> None:
        """Every example starts from the same coalition: built through the API once, then its table is cloned in
        moto (creating a table and 13 setup calls per example would cost more than the example's own steps)."""
        global _coalition
        self.bursts = 0 if bursty == 1 else -1  # not 0: Hypothesis draws its simplest value more often
        if _coalition is None:
            runtime.configure(make_settings(TABLE, limits=LIMITS), self.clock)
            db.create_table()
            auth.ensure_operator_key("op", "test-pepper", self.clock.now().isoformat())
            _coalition = _build_coalition(self.operator)
        _moto_tables()[TABLE] = copy.deepcopy(_coalition.table)
        # a fresh clock, and no cache from the last example
        runtime.configure(make_settings(TABLE, limits=LIMITS), self.clock)
        self.tills = [(self.operator.as_key(k), self.operator.as_key(k2)) for k, k2 in _coalition.keys]
        self.partners = [first for first, _ in self.tills]
        self.partner_ids = list(_coalition.partner_ids)
        self.names = dict(zip(self.partner_ids, [name for name, _ in PARTNERS], strict=True))
        self.model = Model(
            [(pid, 500, days) for pid, (_, days) in zip(self.partner_ids, PARTNERS, strict=True)],
            self.clock.now(),
            dict(zip(self.partner_ids, POLICIES, strict=True)),
        )
        for (sponsor, earn_at, points, budget, per_customer), cid in zip(
            CAMPAIGNS, _coalition.campaign_ids, strict=True
        ):
            earn = tuple(self.partner_ids[p] for p in earn_at)
            self.m.campaigns.append(Campaign(cid, self.partner_ids[sponsor], earn, points, budget, per_customer))
        self.customers = list(_coalition.customers)
        for cid in self.customers:
            self.m.enrol(cid)
        for body, raw in _coalition.welcome:
            got = self.m.earn(self.partner_ids[0], body["customer_id"], body["order_id"], body["amount_minor"])
            answer = Result(201, raw, {})
            assert isinstance(got, Earned)
            assert (answer["points"], {a["campaign_id"]: a["points"] for a in answer["awards"]}) == (
                got.points,
                got.awards,
            )
            self.issued += answer["points"] + answer["bonus_points"]
            self.natural[(0, "accrual", body["order_id"])] = (body, answer)
            self.known.append((0, body["order_id"]))

    def _spent_from(self, order: Order) -> bool:
        """Whether the customer no longer has all the points the (not fully refunded) accrual earned where they
        landed: a refund now meets a shortfall."""
        c = self.m.customers[order.customer]
        return (
            order.accrued
            and order.refunded < order.amount
            and any(c.lots.get(g.lot, 0) < g.points for g in order.grants if g.bucket not in c.buckets)
        )

    def _pick(self, which: str, pick: int, spent: bool = False) -> tuple[int, str]:
        """An order to act on: of a kind worth acting on, else any order (any redemption when ``spent``)."""

        def orders(test: Callable[[Order], bool], among: list[tuple[int, str]]) -> list[tuple[int, str]]:
            return [k for k in among if test(self.m.orders[(self.partner_ids[k[0]], k[1])])]

        candidates = {
            "any order": self.known,
            "an accrual": orders(lambda o: o.accrued, self.known),
            "a spent accrual": orders(self._spent_from, self.known),
            "a redemption": self.redemptions,
            "an open hold": orders(lambda o: self.m.hold_points(o.partner, o.order_id) > 0, self.redemptions),
            "a captured redemption": orders(
                lambda o: o.spent is not None and o.spent.status == "captured" and o.spent.outstanding > 0,
                self.redemptions,
            ),
            "a hold met by a refund": orders(
                lambda o: o.refunded > 0 and o.spent is not None and o.spent.status in ("held", "refunded"),
                self.redemptions,
            ),
        }[which] or (self.redemptions if spent else self.known)
        # newest first: Hypothesis draws small numbers most often, and the newest orders are the ones in motion
        return candidates[-1 - pick % len(candidates)]

    # --- checks of one answer -----------------------------------------------------------------------------------

    def _bind(self, p: int, kind: str, body: dict, r: Result, got: object) -> None:
        """A success binds the order id to this body and answer; a refusal binds only this body to its error; a
        validation error (that request never executed) binds nothing."""
        if got == "too_many":
            return
        if r.status >= 400:
            self.refused.setdefault((p, kind, body["order_id"]), []).append((body, r))
        else:
            self.natural[(p, kind, body["order_id"])] = (body, r)

    def _refused_again(self, p: int, kind: str, body: dict) -> str | None:
        """A body refused before on this order id gets its error again byte for byte (the model is not asked:
        nothing executes). Returns the refusal's code, or None when the body is new."""
        for first_body, first in self.refused.get((p, kind, body["order_id"]), []):
            if first_body == body:
                path = "/v1/accruals" if kind == "accrual" else "/v1/redemptions"
                again = self.partners[p].post(path, body, headers={"Idempotency-Key": self.fresh("k")})
                assert (again.status, again.raw) == (first.status, first.raw), (again.json, first.json)
                PATHS["refused body again: replayed"] += 1
                return str(first["code"])
        return None

    def _accrual(self, p: int, body: dict, r: Result, got: Earned | str) -> None:
        self._bind(p, "accrual", body, r, got)
        if isinstance(got, str):
            self.expect_error(r, got)
            return
        assert r.status == 201, (r.json, got)
        awards = {a["campaign_id"]: a["points"] for a in r["awards"]}
        assert (r["points"], awards, r["bonus_points"]) == (got.points, got.awards, sum(got.awards.values())), (
            r.json,
            got,
        )
        assert r["status"] == ("pending" if got.pending else "available")
        self.issued += r["points"] + r["bonus_points"]
        if (p, body["order_id"]) not in self.known:
            self.known.append((p, body["order_id"]))
        PATHS["accruals"] += 1
        PATHS["awards"] += len(awards)
        if len(awards) > 1:
            PATHS["stacked awards on one purchase"] += 1

    def _redemption(self, p: int, body: dict, r: Result, redeemed: Redeemed) -> None:
        got = redeemed.outcome
        if got in CONSENT:  # never bound: the same order goes through once the customer gives her code
            self._refused_for_consent(r, redeemed)
            return
        self._bind(p, "redemption", body, r, got)
        if got not in ("captured", "held"):
            self.expect_error(r, got)
            return
        assert (r.status, r["status"], r["points"]) == (201, got, body["points"]), (r.json, got)
        key = (p, body["order_id"])
        self.rids[key] = r["redemption_id"]
        self.redemptions.append(key)
        # a burst's dozen holds are picked only among redemptions: among all orders they would crowd out the rest
        if key not in self.known and not key[1].startswith("H-"):
            self.known.append(key)
        PATHS[f"redemptions {got}"] += 1
        if redeemed.with_code:
            PATHS["redemptions confirmed with the customer's code"] += 1
        else:
            PATHS[f"code-free {got} at '{POLICIES[p].kind}'"] += 1
        if redeemed.pruned:
            PATHS["code-free spends after a day freed the ceiling"] += 1

    def _refused_for_consent(self, r: Result, got: Redeemed) -> None:
        """A 403 or 429 about the customer's code: its fields are the model's, and it tells nothing more (no
        ``attempts_left``; the same answer for every wrong code)."""
        assert (r.status, (r.json or {}).get("code")) == (CONSENT[got.outcome], got.outcome), (r.json, got)
        shown = {k: r[k] for k in CONSENT_FIELDS if k in r.json}
        assert shown == {k: v for k, v in got.extra.items() if k != "retry_after"}, (r.json, got)
        assert "attempts_left" not in r.json, r.json
        if got.outcome == "customer_code_invalid" and "confirmed_points" not in got.extra:
            assert r["detail"] == WRONG_CODE, r.json  # whether or not she holds a live code
        if got.outcome == "customer_code_locked":
            assert {k.lower(): v for k, v in r.headers.items()}["retry-after"] == str(got.extra["retry_after"])
        PATHS[f"refused: {got.outcome}"] += 1
        event(f"refused: {got.outcome}")

    # --- operations: each checks the service's answer against the model's prediction ---------------------------

    @rule(p=st.integers(0, 2), c=st.integers(0, 2), amount=st.integers(1, 400_000))
    @counted
    def earn(self, p: int, c: int, amount: int) -> None:
        body = {"customer_id": self.customers[c], "order_id": self.fresh("O"), "amount_minor": amount}
        r = self.write(self.partners[p], "/v1/accruals", body, "accrual")
        self._accrual(p, body, r, self.m.earn(self.partner_ids[p], body["customer_id"], body["order_id"], amount))

    @rule(**SPEND, capture=st.booleans(), minutes=st.integers(1, 600), accrue=st.booleans())
    @counted
    def spend(self, p: int, c: int, how: str, pct: int, extra: int, capture: bool, minutes: int, accrue: bool) -> None:
        """A redemption; with ``accrue`` the till then posts the purchase's accrual on the same order (same customer,
        same amount): both belong to one order, which a refund later meets as a whole."""
        order_id = self._redeem(p, c, how, pct, extra, capture, minutes)
        if accrue and order_id is not None:
            self._join_accrual(p, order_id, self.customers[c], self.m.orders[(self.partner_ids[p], order_id)].amount)

    def _join_accrual(self, p: int, order_id: str, cid: str, amount: int) -> Earned | str:
        body = {"customer_id": cid, "order_id": order_id, "amount_minor": amount}
        if (code := self._refused_again(p, "accrual", body)) is not None:
            return code
        r = self.write(self.partners[p], "/v1/accruals", body, "accrual")
        got = self.m.earn(self.partner_ids[p], cid, order_id, amount)
        self._accrual(p, body, r, got)
        if not isinstance(got, str):
            PATHS["accrual joined an order"] += 1
        return got

    @rule(**SPEND, minutes=st.sampled_from([5, 30, 31, 60, 600, 601, 60 * 24 * 3]))
    @counted
    def hold(self, p: int, c: int, how: str, pct: int, extra: int, minutes: int) -> None:
        """A held redemption that lives a while: refunds, captures and voids meet it (its own rule, to weigh it).
        Its length is just under or over what a hold without the customer's code may last (30 minutes at the shop,
        600 at the café), or much longer."""
        self._redeem(p, c, how, pct, extra, False, minutes)

    def _redeem(self, p: int, c: int, how: str, pct: int, extra: int, capture: bool, minutes: int) -> str | None:
        """An order of a realistic amount. ``some``: a share of what the customer has (over 100 %: too many), paying
        all of the order or a small part of it (or more than the cap allows); ``all``: everything the customer has
        (so that refunds of what it earned meet a shortfall). ``quoted``: the quote's max_points for the order,
        which the redemption must accept (and one point more, which it must refuse)."""
        cid = self.customers[c]
        available = sum(self.m.customers[cid].lots.values())
        if how in ("some", "all"):
            points = max(1, available if how == "all" else available * pct // 100)
            amount = max(1, points * 100 + extra)
        else:
            amount = max(1, extra + 150)
            body = {"customer_id": cid, "order_amount_minor": amount}
            q = self.partners[p].post("/v1/redemptions/quote", body)
            assert q.status == 200, q.json
            assert (q["available"], q["max_points"]) == self.m.quote(self.partner_ids[p], cid, amount), q.json
            points = q["max_points"] + (how == "quoted + 1")
            if points == 0:
                return None
        order_id = self.fresh("S")
        got = self._spend(p, cid, order_id, amount, points, capture, minutes)
        if how == "quoted":
            assert got in ("captured", "held"), (got, points, amount)
        elif how == "quoted + 1":
            assert got in ("insufficient_points", "redemption_cap_exceeded"), (got, points, amount)
        return order_id if got in ("captured", "held") else None

    def _spend(self, p: int, cid: str, order_id: str, amount: int, points: int, capture: bool, minutes: int) -> str:
        """A till's redemption. Where the partner always asks for the customer's code, the till first asks for one
        to be sent to the customer (POST /v1/customers/{id}/spend-code) and carries it as customer_code; elsewhere
        it tries without, and when told that this spend needs the customer (the day's code-free ceiling, a hold
        longer than a code-free hold may last) it asks for a code and sends the same request again with it (same
        order, same Idempotency-Key: the refusal bound neither)."""
        body = {
            "customer_id": cid,
            "order_id": order_id,
            "order_amount_minor": amount,
            "points": points,
            "capture": capture,
        }
        if not capture:
            body["hold_minutes"] = minutes
        if (refused := self._refused_again(p, "redemption", body)) is not None:
            return refused
        key = self.fresh("k")
        code = self._ask_code(p, cid, self._code_points(points)) if POLICIES[p].kind == "always" else None
        got = self._redeem_once(p, body, code, key)
        if got.outcome == "customer_confirmation_required":
            PATHS["tills asking for the code when told to"] += 1
            got = self._redeem_once(p, body, self._ask_code(p, cid, self._code_points(points)), key)
        if "confirmed_points" in got.extra:  # the cashier named too few points: a new code for the spend's own
            PATHS["tills asking again for a code of enough points"] += 1
            got = self._redeem_once(p, body, self._ask_code(p, cid, points), key)
        return got.outcome

    def _code_points(self, points: int) -> int | None:
        """The points a till names when it asks for a code: the spend's own; one time in three none, so that the
        code confirms what the customer has; now and then one point too few (a cashier's slip)."""
        if self.asked % 3 == 0:
            return None
        return points - 1 if self.asked % 5 == 4 and points > 1 else points

    def _ask_code(self, p: int, cid: str, points: int | None, k: int | None = None, key: str | None = None) -> SentCode:
        """The till asks for a code to be sent to the customer (from key ``k``; by default the partner's two keys
        take turns): one message, with the code the model now expects."""
        k = self.asked % 2 if k is None else k
        self.asked += 1
        before = self.m.live_code(self.partner_ids[p], cid)
        body = None if points is None else {"points": points}
        key = key or self.fresh("k")
        INBOX.clear()
        r = self.tills[p][k].post(f"/v1/customers/{cid}/spend-code", body, headers={"Idempotency-Key": key})
        assert r.status == 202, r.json
        messages = INBOX.entries()
        assert [m.purpose for m in messages] == ["spend_code"], messages
        assert messages[0].code is not None
        sent = self.m.send_code(self.partner_ids[p], cid, messages[0].code, points)
        assert (r["points"], r["expires_at"]) == (sent.points, sent.expires.isoformat()), (r.json, sent)
        self.asks[(p, cid)] = (k, key, body, sent)
        self.last_ask[cid] = p
        self.asked_by[(p, cid)] = k
        PATHS["spend codes asked"] += 1
        PATHS[f"spend codes asked by key {k + 1}"] += 1
        if points is None:
            PATHS["spend codes for what the customer has"] += 1
        if before is not None:
            PATHS["spend codes replacing the partner's live code"] += 1
            self.replaced.setdefault((p, cid), []).append(before.code)
        if sum(self.m.live_code(pid, cid) is not None for pid in self.partner_ids) > 1:
            PATHS["customers holding live codes of several partners"] += 1
        return sent

    def _redeem_once(
        self, p: int, body: dict, code: SentCode | str | None, key: str, k: int = 0, label: str = ""
    ) -> Redeemed:
        """One redemption request (with ``code`` as customer_code, if any) from the partner's key ``k``, checked
        against the model: the answer, and the customer's message about a spend without her code (exactly one)."""
        typed = code.code if isinstance(code, SentCode) else code
        sent = body if typed is None else {**body, "customer_code": typed}
        pid, cid = self.partner_ids[p], body["customer_id"]
        live = self.m.live_code(pid, cid)
        INBOX.clear()
        r = self.write(self.tills[p][k], "/v1/redemptions", sent, "redemption", key)
        minutes = 0 if body["capture"] else body["hold_minutes"]
        needed = POLICIES[p].needs_code(
            body["points"], self.m.code_free_used(pid, cid), None if body["capture"] else minutes
        )
        got = self.m.spend(
            pid, cid, body["order_id"], body["order_amount_minor"], body["points"], body["capture"], minutes, typed
        )
        self._redemption(p, sent, r, got)
        assert INBOX.entries() == [], INBOX.entries()  # the till's request sends nothing: the dispatcher does
        _tell(self.clock.now())
        notices = [m for m in INBOX.entries() if m.purpose == "spend_notice"]
        assert len(notices) == int(got.notice), (got, INBOX.entries())
        if got.notice:
            PATHS["customers told of a spend without their code"] += 1
        if label:
            PATHS[f"code {label}: {got.outcome}"] += 1
        if got.outcome == "customer_confirmation_required":
            why = "a hold too long" if not body["capture"] and minutes > POLICIES[p].hold_minutes else "the policy"
            PATHS[f"refused: customer_confirmation_required ({why}, '{POLICIES[p].kind}')"] += 1
            if why == "the policy" and 0 < POLICIES[p].ceiling - got.extra.get("code_free_points_left", 0):
                PATHS["refused: customer_confirmation_required (the day's code-free points partly used)"] += 1
        if got.with_code:
            assert live is not None
            self.used[cid] = (p, live.code)
            if self.asked_by.get((p, cid)) != k:
                PATHS["redemptions with a code the partner's other key asked for"] += 1
            if not needed:
                PATHS["codes sent where the policy needs none, used"] += 1
        return got

    @precondition(lambda self: self.known)
    @rule(
        pick=st.integers(0, 10_000),
        which=st.sampled_from(["any order", "an accrual", "a redemption"]),
        kind=st.sampled_from(["the other kind", "the other kind", "the same kind"]),
        who=st.sampled_from(["same", "same", "other customer", "other amount"]),
        pct=st.integers(1, 110),
        capture=st.booleans(),
        minutes=st.integers(1, 600),
    )
    @counted
    def join(self, pick: int, which: str, kind: str, who: str, pct: int, capture: bool, minutes: int) -> None:
        """Another operation on an existing order. The other kind (a redemption on a purchase, an accrual on a
        redemption) joins it with the same customer and amount, and is an order_conflict with another customer,
        another amount or after a refund; the same kind again replays the first success byte for byte with the same
        body and is a duplicate_order with another; a refused body replays its error, a corrected one executes."""
        p, order_id = self._pick(which, pick)
        order = self.m.orders[(self.partner_ids[p], order_id)]
        has = {"accrual": order.accrued, "redemption": order.spent is not None}
        op = [k for k in has if has[k] == (kind == "the same kind")]
        op = op[0] if op else ("accrual" if kind == "the same kind" else "redemption")
        path = "/v1/accruals" if op == "accrual" else "/v1/redemptions"
        previous = self.natural.get((p, op, order_id))
        refused = self.refused.get((p, op, order_id))
        if previous is None and refused and who == "same":
            assert self._refused_again(p, op, refused[-1][0]) is not None
            return
        if previous is not None:
            body, first = previous
            if who != "same":
                body = {**body, "customer_id": self.customers[(self.customers.index(body["customer_id"]) + 1) % 3]}
                if self._refused_again(p, op, body) is not None:
                    return
            again = self.partners[p].post(path, body, headers={"Idempotency-Key": self.fresh("k")})
            if who == "same":
                assert (again.status, again.raw) == (first.status, first.raw)
                PATHS["same order, same body: replayed"] += 1
            else:
                self.expect_error(again, "duplicate_order")
            return
        cid, amount = order.customer, order.amount
        if who == "other customer":
            cid = self.customers[(self.customers.index(cid) + 1 + pct % 2) % 3]
        elif who == "other amount":
            amount += 1 + pct
        if op == "accrual":
            self._join_accrual(p, order_id, cid, amount)
        else:
            can = min(self.m.cap(self.partner_ids[p], amount), sum(self.m.customers[cid].lots.values()))
            if self._spend(p, cid, order_id, amount, max(1, can * pct // 100), capture, minutes) in (
                "captured",
                "held",
            ):
                PATHS["redemption joined an order"] += 1

    @precondition(lambda self: self.bursts == 0)  # in a quarter of the examples at most: each costs a dozen writes
    @rule(
        p=st.integers(0, 2),
        c=st.integers(0, 2),
        n=st.integers(11, 12),
        minutes=st.integers(1, 5),
        lapse=st.booleans(),
    )
    @counted
    def hold_burst(self, p: int, c: int, n: int, minutes: int, lapse: bool) -> None:
        """More than ten holds on one customer (funded by an operator credit), all due at the same instant; with
        ``lapse`` the clock moves exactly to it."""
        self.bursts += 1
        cid = self.customers[c]
        self._adjust(cid, 2 * n)
        for _ in range(n):
            self._spend(p, cid, self.fresh("H"), 1_000, 2, False, minutes)
        if lapse:
            self._advance(timedelta(minutes=minutes))

    @rule(
        c=st.integers(0, 2),
        p=st.sampled_from([2, 2, 0]),
        moves=st.lists(
            st.tuples(
                st.integers(1, 70),
                st.sampled_from(["capture", "capture", "hold 5", "hold 30", "hold 31", "hold 601"]),
                st.sampled_from([0, 0, 10, 60, 60 * 23, 60 * 24, 60 * 24 + 10]),
            ),
            min_size=2,
            max_size=4,
        ),
    )
    @counted
    def code_free_day(self, c: int, p: int, moves: list[tuple[int, str, int]]) -> None:
        """One customer's day at a till that may spend without her code (the shop, up to 100 points in any 24
        hours, holds included and short; or the café, no ceiling, holds up to 600 minutes): spends and holds of a
        few dozen points, minutes or hours apart, so that the ceiling is met (the till then asks for her code) and
        freed again a day later (or not yet, at exactly 24 hours). Funded by an operator credit first."""
        cid = self.customers[c]
        if sum(self.m.customers[cid].lots.values()) < 150:
            self._adjust(cid, 150)
        for points, how, minutes in moves:
            if minutes:
                self._advance(timedelta(minutes=minutes))
            capture = how == "capture"
            hold = 0 if capture else int(how.split()[1])
            order_id = self.fresh("D")
            self._spend(p, cid, order_id, points * 100 + 5_000, points, capture, hold)

    @rule(
        c=st.integers(0, 2),
        askers=st.lists(st.tuples(st.integers(0, 2), st.integers(0, 1), st.integers(0, 999)), max_size=2),
        steps=st.lists(
            st.tuples(st.sampled_from(CODE_ACTIONS), st.integers(0, 2), st.integers(0, 1), st.integers(0, 999)),
            min_size=2,
            max_size=5,
        ),
    )
    @counted
    def codes(self, c: int, askers: list[tuple[int, int, int]], steps: list[tuple[str, int, int, int]]) -> None:
        """Tills of the three partners, each with either of its two keys, meet one customer: they ask for codes
        (naming a few points, or none: what she has), replay the ask or send its Idempotency-Key from the other key
        (a new code), and spend or hold with the right code, a wrong guess, a used, replaced, expired or another
        partner's code, or the right one for more points than it confirms; or without a code; the clock moves
        between them. It opens with a few tills asking for codes at once. Each answer is the model's."""
        cid = self.customers[c]
        steps = [("ask", p, k, n) for p, k, n in askers] + steps
        for action, p, k, n in steps:
            if action in ("wait", "a day passes"):  # codes and counts of wrong tries end; the code-free day ends
                self._advance(timedelta(minutes=(5, 11)[k] if action == "wait" else 60 * 24 + 10 * k))
                continue
            if action in ASK_AGAIN:  # about the last ask for this customer, at whichever partner
                p = self.last_ask.get(cid, p)
            if action == "used":  # the cashier who heard a code once types it again
                p = self.used.get(cid, (p, ""))[0]
            pid = self.partner_ids[p]
            shared = (p, cid) in self.asks and self.asks[(p, cid)][1] in self.shared_keys
            if action == "ask" or (action in ASK_AGAIN and ((p, cid) not in self.asks or shared)):
                self._ask_code(p, cid, None if n % 3 == 0 else 1 + n % 60, k)
                continue
            if action == "guesses":  # a hostile till: four or five wrong codes in a row
                for i in range(4 + n % 2):
                    self._codes_spend(p, k, cid, n + i, f"{(n * 7_919 + i) % 10**6:06d}", "guesses")
                continue
            if action == "replay the ask":
                self._replay_ask(p, cid)
                continue
            if action.startswith("the ask's"):
                asker, key, body, first = self.asks[(p, cid)]
                fresh = self._ask_code(p, cid, None if body is None else body["points"], 1 - asker, key)
                self.shared_keys.add(key)
                # its own execution: a new code, never the one the other key's request made (used or not)
                assert fresh.code != first.code
                PATHS["an Idempotency-Key from the other key: a new code"] += 1
                continue
            mine = self.m.codes.get((pid, cid))  # expired or not
            guess = f"{n * 1_013 % 10**6:06d}"  # when there is nothing else to type
            others = [sent.code for (q, who), sent in self.m.codes.items() if who == cid and q != pid]
            typed = {
                "right": mine.code if mine else guess,
                "too many": mine.code if mine else guess,
                "wrong": guess,
                "another partner's": (others or [guess])[-1],
                "used": self.used[cid][1] if cid in self.used else guess,
                "replaced": (self.replaced.get((p, cid)) or [guess])[-1],
                "without a code": None,
            }[action]
            if mine is None and action in ("right", "too many"):
                action = "guessed (no code to type)"
            elif mine is not None and action == "right" and self.m.live_code(pid, cid) is None:
                action = "right, but expired"
            self._codes_spend(p, k, cid, n, typed, action)

    def _codes_spend(self, p: int, k: int, cid: str, n: int, typed: str | None, label: str) -> None:
        """One spend or hold in the ``codes`` rule: with ``typed`` (a wrong code is never the right one by chance),
        of a share of what the right code confirms (one point more for ``too many``), or a few points without a
        code."""
        pid = self.partner_ids[p]
        live = self.m.live_code(pid, cid)
        mine = self.m.codes.get((pid, cid))
        available = sum(self.m.customers[cid].lots.values())
        points = max(1, min(mine.points if mine else available, available) * (1 + n % 100) // 100)
        if label == "too many" and mine is not None:
            points = mine.points + 1
        if typed is None:
            points = 1 + n % 40  # the shop's ceiling is met after a few of these
        if label not in ("right", "too many") and live is not None and typed == live.code:
            typed = f"{(int(typed) + 1) % 10**6:06d}"
        body = {
            "customer_id": cid,
            "order_id": self.fresh("C"),
            "order_amount_minor": points * 100 + 10_000,
            "points": points,
            "capture": n % 2 == 0,
        }
        if n % 2:
            body["hold_minutes"] = (5, 31, 601)[n % 3]
        self._redeem_once(p, body, typed, self.fresh("k"), k, label)

    def _replay_ask(self, p: int, cid: str) -> None:
        """The same spend-code request again (a till that lost the answer): the same answer, and the same code sent
        again only while it still waits to be used."""
        asker, key, body, sent = self.asks[(p, cid)]
        INBOX.clear()
        r = self.tills[p][asker].post(f"/v1/customers/{cid}/spend-code", body, headers={"Idempotency-Key": key})
        assert (r.status, r["points"], r["expires_at"]) == (202, sent.points, sent.expires.isoformat()), r.json
        assert {k.lower(): v for k, v in r.headers.items()}.get("idempotent-replayed") == "true"
        live = self.m.live_code(self.partner_ids[p], cid)
        again = live is not None and live.code == sent.code
        assert [m.code for m in INBOX.entries()] == ([sent.code] if again else []), INBOX.entries()
        PATHS[f"spend-code replays {'delivering the code again' if again else 'delivering nothing'}"] += 1

    @precondition(lambda self: self.redemptions)
    @rule(pick=st.integers(0, 10_000), which=st.sampled_from(HOLDS), part=st.integers(0, 101))
    @counted
    def capture(self, pick: int, which: str, part: int) -> None:
        self._capture(*self._pick(which, pick, spent=True), part)

    def _capture(self, p: int, order_id: str, part: int) -> None:
        """All of the hold (100), part of it, or one point more than it holds (101: a 422 that leaves the hold)."""
        rid = self.rids[(p, order_id)]
        held = self.m.hold_points(self.partner_ids[p], order_id)
        body = {} if part == 100 else {"points": held + 1 if part == 101 else max(1, held * part // 100)}
        order = self.m.orders[(self.partner_ids[p], order_id)]
        was = order.spent.status if order.spent else ""
        refunded = order.refunded
        r = self.write(self.partners[p], f"/v1/redemptions/{rid}/capture", body, "capture")
        outcome, kept = self.m.capture(self.partner_ids[p], order_id, body.get("points"))
        if outcome != "captured":
            self.expect_error(r, outcome)
            if was == "refunded":
                PATHS["capture after a full refund"] += 1
            return
        assert (r.status, r["points"], r["status"]) == (200, kept, "captured"), (r.json, kept)
        self.resolutions[rid] += 1
        PATHS["captures"] += 1
        if "points" in body and kept < held:
            PATHS["captures of part of a hold"] += 1
        if refunded:
            PATHS["captures after a partial refund"] += 1

    @precondition(lambda self: self.redemptions)
    @rule(pick=st.integers(0, 10_000), which=st.sampled_from(HOLDS))
    @counted
    def void(self, pick: int, which: str) -> None:
        self._void(*self._pick(which, pick, spent=True))

    def _void(self, p: int, order_id: str) -> None:
        rid = self.rids[(p, order_id)]
        r = self.write(self.partners[p], f"/v1/redemptions/{rid}/void", {}, "void")
        outcome, released = self.m.void(self.partner_ids[p], order_id)
        if outcome != "voided":
            self.expect_error(r, outcome)
            return
        assert (r.status, r["points"], r["status"]) == (200, released, "voided"), (r.json, released)
        self.resolutions[rid] += 1
        PATHS["voids"] += 1

    @precondition(lambda self: self.redemptions)
    @rule(**REFUND, which=st.sampled_from(["an open hold", "an open hold", "a captured redemption", "a redemption"]))
    @counted
    def refund_spent(self, pick: int, which: str, mode: str, pct: int) -> None:
        """A refund of an order that spent points (its own rule, to weigh it)."""
        self._refund(pick, which, mode, pct, spent=True)

    @precondition(lambda self: self.known)
    @rule(**REFUND, which=st.sampled_from(["any order", "an accrual", "a spent accrual", "a spent accrual"]))
    @counted
    def refund(self, pick: int, which: str, mode: str, pct: int) -> None:
        self._refund(pick, which, mode, pct)

    def _refund(self, pick: int, which: str, mode: str, pct: int, spent: bool = False) -> None:
        self._refund_order(*self._pick(which, pick, spent), mode, pct)

    @rule(
        c=st.integers(0, 2),
        p=st.integers(0, 2),
        pct=st.integers(1, 100),
        extra=st.integers(0, 40_000),
        plan=st.sampled_from(
            [
                "refund, capture",
                "refund, capture part",
                "refund, capture too many",
                "refund, void",
                "refund, refund the rest, capture",
                "capture part, refund, refund the rest",
                "capture, refund",
                "void, refund",
            ]
        ),
        mode=st.sampled_from(["part", "part", "rest", "tiny"]),
        part=st.integers(1, 99),
    )
    @counted
    def refund_meets_hold(self, c: int, p: int, pct: int, extra: int, plan: str, mode: str, part: int) -> None:
        """A new hold (a share of what the customer has, on an order of a realistic amount), then a sequence of
        refunds (part or all of the order) and a capture (all, part, or more than is left) or a void, each step
        checked against the model."""
        order_id = self._redeem(p, c, "some", pct, extra, False, 600)
        if order_id is None:
            return
        for step in plan.split(", "):
            if step == "refund":
                self._refund_order(p, order_id, mode, pct)
            elif step == "refund the rest":
                self._refund_order(p, order_id, "rest", pct)
            elif step == "void":
                self._void(p, order_id)
            else:
                self._capture(p, order_id, {"capture": 100, "capture part": part, "capture too many": 101}[step])

    @rule(
        c=st.integers(0, 2),
        p=st.integers(0, 2),
        q=st.integers(0, 2),
        amount=st.integers(2_000, 400_000),
        pct=st.integers(50, 100),
        capture=st.booleans(),
        mode=st.sampled_from(["part", "rest", "rest"]),
        part=st.integers(1, 99),
    )
    @counted
    def spent_then_refunded(
        self, c: int, p: int, q: int, amount: int, pct: int, capture: bool, mode: str, part: int
    ) -> None:
        """A purchase (base points, and awards where a campaign runs), most or all of the customer's points spent
        at a partner, then the purchase refunded: what the customer already spent of the base and of the awards is
        the shortfall (issued_reversed only for what was taken; the award's sponsor relieved of the whole share,
        the till charged the spent part)."""
        cid = self.customers[c]
        body = {"customer_id": cid, "order_id": self.fresh("O"), "amount_minor": amount}
        r = self.write(self.partners[p], "/v1/accruals", body, "accrual")
        self._accrual(p, body, r, self.m.earn(self.partner_ids[p], cid, body["order_id"], amount))
        self._redeem(q, c, "all" if pct == 100 else "some", pct, 10_000, capture, 600)
        self._refund_order(p, body["order_id"], mode, part)

    def _refund_order(self, p: int, order_id: str, mode: str, pct: int) -> None:
        """Part of what is left, all of it, more than it (422), a few minor units, or an order that does not exist
        (at the same partner)."""
        order = self.m.orders[(self.partner_ids[p], order_id)]
        left = order.amount - order.refunded
        amount = {
            "part": max(1, left * pct // 100),
            "rest": max(1, left),
            "over": left + pct,
            "tiny": 1 + pct % 3,
            "unknown": 1,
        }[mode]
        if mode == "unknown":
            order_id = self.fresh("NOPE")
        hold_before = self.m.hold_points(self.partner_ids[p], order_id)
        body = {"order_id": order_id, "refund_id": self.fresh("R"), "amount_minor": amount}
        r = self.write(self.partners[p], "/v1/refunds", body, "refund")
        got = self.m.refund(self.partner_ids[p], order_id, amount)
        if isinstance(got, str):
            self.expect_error(r, got)
            return
        assert isinstance(got, Refunded)
        assert r.status == 201, (r.json, got)
        answer = (r["points_reversed"], r["points_shortfall"], r["shortfall_minor"], r["points_returned"])
        assert answer == (got.reversed, got.shortfall, got.shortfall * 100, got.returned), (r.json, got)
        assert {a["campaign_id"]: a["points"] for a in r["awards_reversed"]} == got.awards, (r.json, got)
        assert r["customer_id"] == order.customer
        PATHS["refunds"] += 1
        for name, hit in (
            ("refunds returning points", got.returned > 0),
            ("refunds reversing points", got.reversed > 0),
            ("refunds with a shortfall", got.shortfall > 0),
            ("refunds reversing an award", any(got.awards.values())),
            ("refunds with an award shortfall", got.award_shortfall > 0),
            ("refunds meeting an open hold", hold_before > 0),
            ("refunds shrinking a hold", got.from_hold and 0 < got.returned < hold_before),
            ("refunds releasing a whole hold", got.from_hold and got.returned == hold_before > 0),
        ):
            if hit:
                PATHS[name] += 1
                event(name)

    @rule(
        p=st.integers(0, 2),
        c=st.integers(0, 2),
        kind=st.sampled_from(["review", "referral", "adjustment"]),
        points=st.integers(-300, 300).filter(bool),
    )
    @counted
    def gift(self, p: int, c: int, kind: str, points: int) -> None:
        """A partner's bonus for a review or a referral (daily limits), or an operator's credit or debit."""
        if kind == "adjustment":
            self._adjust(self.customers[c], points)
            return
        points = abs(points)
        body = {"customer_id": self.customers[c], "bonus_id": self.fresh("B"), "reason": kind, "points": points}
        r = self.write(self.partners[p], "/v1/bonuses", body, "bonus")
        assert (r.status == 201) == self.m.bonus(self.partner_ids[p], self.customers[c], kind, points)
        if r.status == 201:
            self.issued += points

    def _adjust(self, cid: str, points: int) -> None:
        body = {"customer_id": cid, "adjustment_id": self.fresh("J"), "points": points, "reason": "test"}
        r = self.write(self.operator, "/v1/admin/adjustments", body, "adjustment")
        assert (r.status == 201) == self.m.adjust(cid, points)
        if r.status == 201 and points > 0:
            self.issued += points

    @rule(
        minutes=st.sampled_from([0, 0, 1, 2, 30, 240, 60 * 24, 60 * 24 + 10, 60 * 24 * 3, 60 * 24 * 40, 60 * 24 * 200]),
        job=st.booleans(),
    )
    @counted
    def advance(self, minutes: int, job: bool) -> None:
        """The clock moves (0: to the very instant the next open hold is over; 24 hours, and 24 hours and a slot:
        the code-free ceiling frees up only after the latter), then maybe the daily expiry job."""
        if minutes == 0:
            deadlines = [o.spent.expires for c in self.m.customers.values() for o in c.holds.values() if o.spent]
            if deadlines:
                self._advance(min(d for d in deadlines if d) - self.m.now)
                PATHS["clock moved to a hold deadline"] += 1
        else:
            self._advance(timedelta(minutes=minutes))
        if job:
            jobs.expire_points(self.clock.now(), since="2026-01")
            self.m.released.clear()  # the job may have posted released holds: they are no write's catch-up

    def _advance(self, delta: timedelta) -> None:
        self.clock.advance(delta)
        self.m.advance(delta)

    @precondition(lambda self: self.last_write is not None)
    @rule()
    @counted
    def replay_last_write(self) -> None:
        """A till that lost the response sends the same request again: same bytes back, nothing changes."""
        if self.last_write is None:
            return
        client, path, body, headers = self.last_write
        raw = headers["_raw"]
        INBOX.clear()
        again = client.post(path, body, headers={"Idempotency-Key": headers["Idempotency-Key"]})
        assert (again.status < 300, again.raw) == (True, raw)
        assert INBOX.entries() == []  # a spend without a code was announced once, by the first execution
        PATHS["Idempotency-Key replays"] += 1

    # --- invariants ---------------------------------------------------------------------------------------------

    @invariant()
    def balances_equal_the_model(self) -> None:
        """Every customer's balance is the model's: lot by lot for all of them (``_wallet_equals_the_model``, on the
        wallet as the service settles it for a read), and through ``GET /v1/customers/{id}/balance`` for one of
        them in turn (for all of them at the end of each example)."""
        if self.model is None:
            return
        PATHS["steps"] += 1
        most = self.m.settle()
        if most > 10:
            PATHS["more than 10 holds over at once on one customer"] += 1
            event("more than 10 holds over at once on one customer")
        self._balance_is_the_model(self.customers[PATHS["steps"] % len(self.customers)])

    def _balance_is_the_model(self, cid: str) -> None:
        b = self.partners[0].get(f"/v1/customers/{cid}/balance").json
        assert (b["available"], b["pending"], b["held"]) == self.m.customers[cid].balance(), cid

    @invariant()
    def ledger_and_settlement_hold(self) -> None:
        if not self.customers:
            return
        total_held_by_customers = 0
        flows: Counter[str] = Counter()
        raw = [item for cid in self.customers for item in _partition(keys.customer(cid)[0])]
        profiles = {i["pk"]["S"]: db.CustomerItem.from_raw_data(i) for i in raw if i["sk"]["S"] == keys.PROFILE}
        all_entries = [db.EntryItem.from_raw_data(i) for i in raw if i["sk"]["S"].startswith(keys.ENTRY_PREFIX)]
        for cid in self.customers:
            stored = of_item(profiles[keys.customer(cid)[0]])
            entries = [e for e in all_entries if e.customer_id == cid]
            fold = Counter()
            lot_fold: Counter[str] = Counter()
            for e in entries:
                fold["available"] += int(e.available_delta)
                fold["pending"] += int(e.pending_delta)
                fold["held"] += int(e.held_delta)
                for lot, n in ints(e.lots).items():
                    lot_fold[lot] += n
                delta = int(e.available_delta) + int(e.pending_delta) + int(e.held_delta)
                details = e.details.as_dict() if e.details else {}
                if e.type == "expiry":
                    flows["expired"] -= delta
                elif e.type in ("redemption", "capture"):
                    flows["spent"] -= delta
                elif e.type == "refund":
                    # points released from an open hold were never spent: only captured ones come back as returned
                    flows["returned"] += sum(ints(details.get("returned_lots") or {}).values())
                    flows["reversed"] += int(details["points_taken"])
                elif e.type == "adjustment" and delta < 0:
                    flows["debited"] -= delta
                if e.type in ("capture", "void", "hold_expired"):
                    flows[f"resolved:{e.partner_id}:{e.order_id}"] += 1
            assert (stored.available, stored.pending, stored.held) == (
                fold["available"],
                fold["pending"],
                fold["held"],
            ), cid
            assert {k: v for k, v in stored.lots.items() if v} == {k: v for k, v in lot_fold.items() if v}
            assert (
                min(
                    [
                        stored.available,
                        stored.pending,
                        stored.held,
                        *stored.lots.values(),
                        *stored.pending_lots.values(),
                        0,
                    ]
                )
                == 0
            )
            assert sum(stored.lots.values()) == stored.available
            assert sum(stored.pending_lots.values()) == stored.pending
            assert sum(h.points for h in stored.holds.values()) == stored.held
            shown, _, _ = settled(stored, self.clock.now(), Program().timezone)
            assert min(shown.available, shown.pending, shown.held) >= 0
            assert all(h.expires_at > self.clock.now().isoformat() for h in shown.holds.values())
            self._wallet_equals_the_model(cid, shown)
            total_held_by_customers += stored.total
        assert all(n <= 1 for k, n in flows.items() if k.startswith("resolved:"))
        conserved = (
            self.issued + flows["returned"] - flows["spent"] - flows["reversed"] - flows["expired"] - flows["debited"]
        )
        assert conserved == total_held_by_customers
        assert all(n <= 1 for n in self.resolutions.values())
        # Settlement: the months whose entries changed at this step (and this month) are reconciled against their
        # counters, and each partner's statement made of those counters is the model's.
        by_period = self._figures_from_entries(all_entries)
        changed = {p for p, f in by_period.items() if self.checked.get(p) != f} | {self.m.period()}
        prog = Program()
        for period, counters in self._settlement_matches_entries(changed, by_period).items():
            for pid in self.partner_ids:
                s = statement(counters[pid], prog.point_value_minor, prog.operator_fee_bps)
                got = {name: getattr(s, name) for name in STATEMENT}
                assert got == self.m.statement(pid, period), (period, self.names[pid], got)
        self.checked = by_period

    def _wallet_equals_the_model(self, cid: str, shown: Wallet) -> None:
        """Lot by lot: the wallet as the service shows it now has the model's lots (by expiry month and issuer),
        pending buckets (by due instant and lot) and holds (by partner and order, with their lots)."""
        model = self.m.customers[cid]
        assert {k: v for k, v in shown.lots.items() if v} == {k: v for k, v in model.lots.items() if v}, cid
        buckets = {
            (datetime.fromisoformat(split_pending_key(k)[0]), split_pending_key(k)[1]): v
            for k, v in shown.pending_lots.items()
            if v
        }
        assert buckets == model.buckets, cid
        holds = {
            (h.partner_id, h.order_id): (h.points, {k: v for k, v in h.lots.items() if v}) for h in shown.holds.values()
        }
        want = {key: (o.spent.outstanding, o.spent.lots) for key, o in model.holds.items() if o.spent}
        assert holds == want, cid

    # --- settlement -----------------------------------------------------------------------------------------

    @staticmethod
    def _figures_from_entries(entries: list[db.EntryItem]) -> dict[str, dict[str, Figures]]:
        by_period: dict[str, dict[str, Figures]] = {}
        for e in entries:
            total = int(e.available_delta) + int(e.pending_delta) + int(e.held_delta)
            details = e.details.as_dict() if e.details else {}
            period = by_period.setdefault(e.period, {})
            for pid, f in entry_deltas(e.type, e.partner_id, total, ints(e.lots), details).items():
                period.setdefault(pid, Figures()).add(f)
        return by_period

    def _all_entries(self) -> list[db.EntryItem]:
        return [
            db.EntryItem.from_raw_data(raw)
            for cid in self.customers
            for raw in _partition(keys.customer(cid)[0])
            if raw["sk"]["S"].startswith(keys.ENTRY_PREFIX)
        ]

    def _settlement_matches_entries(
        self, periods: set[str] | None, by_period: dict[str, dict[str, Figures]] | None = None
    ) -> dict[str, dict[str, Figures]]:
        """Counters equal the fold of the period's entries (reconciliation), and the operator identity is 0.
        Returns the counters read, by period."""
        if by_period is None:
            by_period = self._figures_from_entries(self._all_entries())
        partner_ids = [*self.partner_ids, "coalition"]
        read = {}
        for period in sorted(by_period if periods is None else periods):
            expected = by_period.get(period, {})
            counters = read[period] = _counters(partner_ids, period)
            for pid in partner_ids:
                want = expected.get(pid, Figures())
                got = counters[pid]
                assert got.counts == want.counts, (period, pid)
                assert {k: v for k, v in got.flows.items() if v} == {k: v for k, v in want.flows.items() if v}
            assert identity(counters.values())["result"] == 0, period
        return read

    def _statements_match_the_model(self, period: str) -> None:
        """Each partner's own statement for the month (``GET /v1/settlements/{period}``) equals the model's figures,
        field by field. After every step the same comparison is made on the counters (the endpoint's input, read
        directly: the endpoint costs three reads a partner); at the end of each example, through the endpoint."""
        for p, pid in enumerate(self.partner_ids):
            r = self.partners[p].get(f"/v1/settlements/{period}")
            assert r.status == 200, r.json
            got = {name: r[name] for name in STATEMENT}
            assert got == self.m.statement(pid, period), (period, self.names[pid], got)


Ledger.TestCase.settings = settings(
    max_examples=EXAMPLES,
    stateful_step_count=STEPS,
    deadline=None,
    # LEDGER_SHRINK=0 (a mutation check): report the first failure as found; shrinking it takes minutes
    phases=tuple(Phase) if os.environ.get("LEDGER_SHRINK", "1") != "0" else (Phase.generate, Phase.target),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestLedger = Ledger.TestCase


# Paths the property test exists for, and how often each must at least have happened over a run of 300 examples or
# more (LEDGER_EXAMPLES=300, make soak): about a fifth of the fewest seen in runs of 300 examples of 15 steps. Below
# 300 examples (make test's 80, development) the counts are printed, not enforced: Hypothesis switches rules off
# per example (swarm testing), so a hundred examples may miss a path by chance (seen: 6 order_conflict in 135).
MUST = {
    "refunds returning points": 40,
    "refunds with a shortfall": 25,
    "refunds with an award shortfall": 15,
    "refunds meeting an open hold": 40,
    "refunds shrinking a hold": 15,
    "refunds releasing a whole hold": 10,
    "captures of part of a hold": 10,
    "captures after a partial refund": 10,
    "capture after a full refund": 10,
    "more than 10 holds over at once on one customer": 3,
    "writes catching up on more than 10 over holds": 2,
    "stacked awards on one purchase": 20,
    "accrual joined an order": 2,
    "redemption joined an order": 10,
    "refused: order_conflict": 20,
    "refused: duplicate_order": 10,
    "same order, same body: replayed": 10,
    "refused: refund_exceeds_order": 15,
    "refused: hold_expired": 3,
    "refused: hold_already_resolved": 40,
    "Idempotency-Key replays": 60,
    "redemptions confirmed with the customer's code": 40,
    # the customer's consent: estimated from runs of 60 and 80 examples, to be confirmed by `make soak`
    "spend codes asked": 150,
    "spend codes asked by key 2": 50,
    "redemptions with a code the partner's other key asked for": 30,
    "customers holding live codes of several partners": 5,
    "spend codes replacing the partner's live code": 15,
    "an Idempotency-Key from the other key: a new code": 1,
    "code-free captured at 'above'": 10,
    "code-free held at 'above'": 8,
    "code-free held at 'never'": 30,
    "code-free spends after a day freed the ceiling": 3,
    "customers told of a spend without their code": 60,
    "refused: customer_confirmation_required (the policy, 'above')": 2,
    "refused: customer_confirmation_required (the day's code-free points partly used)": 2,
    "refused: customer_confirmation_required (a hold too long, 'above')": 20,
    "refused: customer_confirmation_required (a hold too long, 'never')": 2,
    "tills asking for the code when told to": 30,
    "tills asking again for a code of enough points": 10,
    "code wrong: customer_code_invalid": 8,
    "code another partner's: customer_code_invalid": 2,
    "code used: customer_code_invalid": 2,
    "code replaced: customer_code_invalid": 2,
    "code too many: customer_code_invalid": 1,
    "code guesses: customer_code_locked": 2,
    "codes sent where the policy needs none, used": 1,
}


def test_the_paths_were_exercised() -> None:
    """Runs after the property test (same module, so same process): the money paths it exists for did happen,
    counted over all its examples."""
    if not PATHS["examples"]:
        pytest.skip("the property test did not run in this session")
    print("\nledger property test, paths exercised:", dict(sorted(PATHS.items())))
    if EXAMPLES >= 300:
        missing = {k: (PATHS[k], n) for k, n in MUST.items() if PATHS[k] < n}
        assert not missing, f"paths exercised less than required (seen, required): {missing}"
