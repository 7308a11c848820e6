"""DynamoDB faults injected at botocore's wire (tests/wire_faults.py), on every write route of the API.

A committed ``TransactWriteItems`` whose answer is lost (botocore's real ``ReadTimeoutError`` /
``ConnectionClosedError``, on the first send only, when botocore's resend meets the applied write, or on every send
botocore makes), throttling answers and ``TransactionConflict`` cancellations, in DynamoDB's own shapes. Each write
route, with and without an Idempotency-Key, answers as it does without faults (never a 500) and has exactly one
effect: the same new items, the same ledger entries, the same messages sent as a fault-free run of the same request.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import pytest

from chalicelib import db
from chalicelib.db import tx as db_tx
from chalicelib.integrations import amocrm as amocrm_client
from chalicelib.machinery import idempotency
from chalicelib.services import amo_sync
from tests import crm_standins
from tests.conftest import Api, Coalition, inbox, last_code, table_snapshot
from tests.test_api_ledger import accrue, enrol

pytest_plugins = ("tests.wire_faults",)  # the ``wire`` fixture

if TYPE_CHECKING:
    from http.server import ThreadingHTTPServer

    from tests.crm_standins import Portal
    from tests.wire_faults import Wire

_AMO: dict[str, str] = {}  # subdomain -> a local amoCRM account started by a setup
_PORTALS: list[ThreadingHTTPServer] = []  # local Bitrix24 portals started by a setup, shut down after each test


@pytest.fixture(autouse=True)
def _portals_down():
    yield
    while _PORTALS:
        server = _PORTALS.pop()
        server.shutdown()
        server.server_close()
    _AMO.clear()
    amo_sync.set_transport(amocrm_client.http_transport)


BOTOCORE_SENDS = 4  # pynamodb's max_retry_attempts=3: botocore sends a call at most four times


@dataclass(frozen=True)
class Call:
    client: Api
    method: str
    path: str
    body: Any = None
    form: str | None = None  # sent as application/x-www-form-urlencoded instead of ``body``


Setup = Callable[[Coalition, int], Call]


def _customer(c: Coalition, n: int) -> str:
    return enrol(c.cafe, phone=f"+7916120{n:04d}", name="Анна")


def _funded(c: Coalition, n: int) -> str:
    cid = _customer(c, n)
    assert accrue(c.cafe, cid, f"F-{n}", 1_000_000).status == 201  # 500 points
    return cid


def _hold(c: Coalition, n: int) -> str:
    cid = _funded(c, n)
    body = {"customer_id": cid, "order_id": f"H-{n}", "order_amount_minor": 100_000, "points": 40, "capture": False}
    held = c.store.post("/v1/redemptions", body)
    assert held.status == 201, held.json
    return str(held["redemption_id"])


def _campaign(c: Coalition, n: int, earn_at: tuple[str, ...] = ("cafe",), active: bool = False) -> str:
    body = {"name": f"Кофе {n}", "earn_at": [c.ids[p] for p in earn_at], "reward": {"type": "fixed", "points": 10}}
    made = c.cafe.post("/v1/campaigns", body)
    assert made.status == 201, made.json
    cid = str(made["campaign_id"])
    if active:
        assert c.cafe.post(f"/v1/campaigns/{cid}/activate").status == 200
    return cid


def _partner(c: Coalition, n: int) -> str:
    made = c.operator.post("/v1/admin/partners", {"name": f"Партнёр {n}"})
    assert made.status == 201
    return str(made["partner_id"])


def _bind(c: Coalition, n: int) -> Call:
    cid = _customer(c, n)
    phone = f"+7916120{n:04d}"
    assert c.store.post("/v1/customers", {"phone": phone, "card": f"CARD-{n:04d}"}).status == 202
    return Call(c.store, "POST", f"/v1/customers/{cid}/identifiers/confirm", {"code": last_code("bind_code", phone)})


def _key(c: Coalition, n: int) -> Call:
    pid = _partner(c, n)
    key = c.operator.post(f"/v1/admin/partners/{pid}/keys")["key_id"]
    return Call(c.operator, "DELETE", f"/v1/admin/partners/{pid}/keys/{key}")


def _webhook(c: Coalition, n: int) -> str:
    made = c.cafe.post("/v1/webhooks", {"url": f"http://127.0.0.1:9/made-{n}", "events": ["*"]})
    assert made.status == 201, made.json
    return str(made["webhook_id"])


def _resend(c: Coalition, n: int) -> Call:
    from chalicelib import runtime
    from chalicelib.notify.webhook_http import Sent
    from chalicelib.services import dispatcher

    hook = _webhook(c, n)
    assert accrue(c.cafe, _customer(c, n), f"W-{n}", 200_000).status == 201
    dispatcher.poll(runtime.get().clock.now(), lambda url, body, headers: Sent(200, 1))
    [delivery] = c.cafe.get(f"/v1/webhooks/{hook}/deliveries")["items"]
    return Call(c.cafe, "POST", f"/v1/webhooks/{hook}/deliveries/{delivery['delivery_id']}/resend")


def _attach(c: Coalition, n: int) -> Call:
    cid = enrol(c.cafe, card=f"CARD-{n:04d}")
    return Call(c.operator, "POST", f"/v1/admin/customers/{cid}/identifiers", {"phone": f"+7916140{n:04d}"})


def _link_cutoff(c: Coalition, n: int) -> Call:
    def before(hours: int) -> dict[str, str]:
        return {"issued_before": f"2026-04-01T{hours:02d}:00:00+03:00"}

    assert c.operator.post("/v1/admin/customer-links/revoke", before(2 * n)).status == 200  # it exists
    return Call(c.operator, "POST", "/v1/admin/customer-links/revoke", before(2 * n + 1))  # and moves later


def _staff_member(c: Coalition, n: int, admin: bool = False) -> Call:
    path = "/v1/admin/staff" if admin else "/v1/staff"
    who = c.operator if admin else c.cafe
    body = {"phone": f"+7916160{n:04d}", "name": f"Кассир {n}", "role": "operator" if admin else "cashier"}
    made = who.post(path, body)
    assert made.status == 201, made.json
    return Call(who, "DELETE", f"{path}/{made['staff_id']}")


def _role_change(removal: Call, role: str = "marketer") -> Call:
    return Call(removal.client, "PATCH", removal.path, {"role": role})


def _program(c: Coalition, n: int) -> Call:
    assert c.operator.call("PUT", "/v1/admin/program", {"operator_fee_bps": 100 + n}).status == 200  # it exists
    return Call(c.operator, "PUT", "/v1/admin/program", {"operator_fee_bps": 150 + n})


def _bitrix24(c: Coalition, n: int) -> tuple[Api, str, Portal]:
    """The cafe (n=0) or the store (n=1) connected to a local Bitrix24 portal of its own."""
    portal, server = crm_standins.serve()
    _PORTALS.append(server)
    client, partner = (c.cafe, "cafe") if n == 0 else (c.store, "store")
    body = {"webhook_url": portal.webhook_url, "application_token": f"apptoken-{partner}-0123456789"}
    assert client.call("PUT", "/v1/integrations/bitrix24", body).status == 200
    return client, c.ids[partner], portal


def _connect_bitrix24(c: Coalition, n: int) -> Call:
    client = c.cafe if n == 0 else c.store
    url = f"http://127.0.0.1:9/rest/1/token{n}/"
    return Call(
        client, "PUT", "/v1/integrations/bitrix24", {"webhook_url": url, "application_token": f"apptoken{n:012d}"}
    )


def _disconnect_bitrix24(c: Coalition, n: int) -> Call:
    client, _, _ = _bitrix24(c, n)
    return Call(client, "DELETE", "/v1/integrations/bitrix24")


def _bitrix24_deal_won(c: Coalition, n: int) -> Call:
    _, partner_id, portal = _bitrix24(c, n)
    deal = portal.add_deal("WON", f"{1000 + n}.50", f"+7916160{n:04d}")
    token = "apptoken-cafe-0123456789" if n == 0 else "apptoken-store-0123456789"
    form = urlencode({"event": "ONCRMDEALUPDATE", "data[FIELDS][ID]": deal, "auth[application_token]": token})
    return Call(c.operator, "POST", f"/v1/integrations/bitrix24/events/{partner_id}", form=form)


def _amocrm_account(c: Coalition, n: int) -> tuple[Api, str, crm_standins.AmoAccount, dict[str, str]]:
    """A local amoCRM account of its own for the cafe (n=0) or the store (n=1), and the body that connects it with a
    one-time code."""
    account, server = crm_standins.serve_amo()
    _PORTALS.append(server)
    client, partner = (c.cafe, "cafe") if n == 0 else (c.store, "store")
    _AMO[partner] = account.url
    amo_sync.set_transport(amocrm_client.http_transport, lambda sub: _AMO[sub])
    body = {
        "subdomain": partner,
        "client_id": crm_standins.AMO_CLIENT_ID,
        "client_secret": crm_standins.AMO_CLIENT_SECRET,
        "redirect_uri": crm_standins.AMO_REDIRECT,
        "code": "auth-code-0001",
    }
    return client, partner, account, body


def _amocrm(c: Coalition, n: int) -> tuple[Api, str, crm_standins.AmoAccount, str]:
    """The cafe (n=0) or the store (n=1) connected to a local amoCRM account of its own; its events path."""
    client, partner, account, body = _amocrm_account(c, n)
    r = client.call("PUT", "/v1/integrations/amocrm", body)
    assert r.status == 200, r.json
    return client, c.ids[partner], account, str(r.json["events_path"])


def _connect_amocrm(c: Coalition, n: int) -> Call:
    """The cafe (n=0) or the store (n=1) connecting a local amoCRM account of its own with a one-time code."""
    client, _, _, body = _amocrm_account(c, n)
    return Call(client, "PUT", "/v1/integrations/amocrm", body)


def _disconnect_amocrm(c: Coalition, n: int) -> Call:
    client, _, _, _ = _amocrm(c, n)
    return Call(client, "DELETE", "/v1/integrations/amocrm")


def _amocrm_lead_won(c: Coalition, n: int) -> Call:
    _, _, account, path = _amocrm(c, n)
    lead = account.add_lead(142, 1000 + n, f"+7916170{n:04d}")
    form = urlencode({"leads[status][0][id]": lead, "leads[status][0][status_id]": 142, "account[subdomain]": "x"})
    return Call(c.operator, "POST", path, form=form)


ROUTES: dict[str, Setup] = {
    "enroll_customer": lambda c, n: Call(c.cafe, "POST", "/v1/customers", {"phone": f"+7916130{n:04d}"}),
    "portal_link": lambda c, n: Call(c.cafe, "POST", f"/v1/customers/{_customer(c, n)}/portal-link", {}),
    "spend_code": lambda c, n: Call(c.store, "POST", f"/v1/customers/{_customer(c, n)}/spend-code"),
    "confirm_identifiers": _bind,
    "create_accrual": lambda c, n: Call(
        c.cafe, "POST", "/v1/accruals", {"customer_id": _customer(c, n), "order_id": f"A-{n}", "amount_minor": 200_000}
    ),
    "create_redemption": lambda c, n: Call(
        c.store,
        "POST",
        "/v1/redemptions",
        {"customer_id": _funded(c, n), "order_id": f"R-{n}", "order_amount_minor": 100_000, "points": 40},
    ),
    "hold": lambda c, n: Call(
        c.store,
        "POST",
        "/v1/redemptions",
        {
            "customer_id": _funded(c, n),
            "order_id": f"R-{n}",
            "order_amount_minor": 100_000,
            "points": 40,
            "capture": False,
        },
    ),
    "capture_redemption": lambda c, n: Call(c.store, "POST", f"/v1/redemptions/{_hold(c, n)}/capture"),
    "void_redemption": lambda c, n: Call(c.store, "POST", f"/v1/redemptions/{_hold(c, n)}/void"),
    "create_bonus": lambda c, n: Call(
        c.cafe,
        "POST",
        "/v1/bonuses",
        {"customer_id": _customer(c, n), "bonus_id": f"B-{n}", "reason": "review", "points": 10},
    ),
    "create_refund": lambda c, n: (
        _funded(c, n),
        Call(c.cafe, "POST", "/v1/refunds", {"order_id": f"F-{n}", "refund_id": f"RF-{n}", "amount_minor": 500_000}),
    )[1],
    "create_campaign": lambda c, n: Call(
        c.cafe,
        "POST",
        "/v1/campaigns",
        {"name": f"Чай {n}", "earn_at": [c.ids["cafe"]], "reward": {"type": "fixed", "points": 10}},
    ),
    "accept_campaign": lambda c, n: Call(c.store, "POST", f"/v1/campaigns/{_campaign(c, n, ('cafe', 'store'))}/accept"),
    "activate_campaign": lambda c, n: Call(c.cafe, "POST", f"/v1/campaigns/{_campaign(c, n)}/activate"),
    "pause_campaign": lambda c, n: Call(c.cafe, "POST", f"/v1/campaigns/{_campaign(c, n, active=True)}/pause"),
    "end_campaign": lambda c, n: Call(c.operator, "POST", f"/v1/campaigns/{_campaign(c, n, active=True)}/end"),
    "decline_campaign": lambda c, n: Call(
        c.store, "POST", f"/v1/campaigns/{_campaign(c, n, ('cafe', 'store'))}/decline"
    ),
    "admin_create_partner": lambda c, n: Call(c.operator, "POST", "/v1/admin/partners", {"name": f"Новый {n}"}),
    "admin_update_partner": lambda c, n: Call(
        c.operator, "PATCH", f"/v1/admin/partners/{_partner(c, n)}", {"earn_rate_bps": 700, "name": f"Иной {n}"}
    ),
    "admin_create_key": lambda c, n: Call(c.operator, "POST", f"/v1/admin/partners/{_partner(c, n)}/keys"),
    "admin_revoke_key": _key,
    "admin_end_customer_links": _link_cutoff,
    "admin_revoke_links": lambda c, n: Call(c.operator, "POST", f"/v1/admin/customers/{_customer(c, n)}/revoke-links"),
    "admin_attach_identifiers": _attach,
    "admin_create_adjustment": lambda c, n: Call(
        c.operator,
        "POST",
        "/v1/admin/adjustments",
        {"customer_id": _customer(c, n), "adjustment_id": f"ADJ-{n}", "points": 10, "reason": "goodwill"},
    ),
    "admin_put_program": _program,
    "invite_staff": lambda c, n: Call(
        c.cafe, "POST", "/v1/staff", {"phone": f"+7916150{n:04d}", "name": f"Кассир {n}", "role": "cashier"}
    ),
    "remove_staff": _staff_member,
    "change_staff_role": lambda c, n: _role_change(_staff_member(c, n)),
    "admin_change_staff_role": lambda c, n: _role_change(_staff_member(c, n, admin=True), "operator_readonly"),
    "admin_invite_staff": lambda c, n: Call(
        c.operator, "POST", "/v1/admin/staff", {"email": f"op{n}@example.com", "name": f"Оп {n}", "role": "operator"}
    ),
    "admin_remove_staff": lambda c, n: _staff_member(c, n, admin=True),
    "admin_close_settlement": lambda c, n: Call(c.operator, "POST", f"/v1/admin/settlements/2026-0{n + 1}/close"),
    "admin_record_payment": lambda c, n: Call(
        c.operator,
        "POST",
        "/v1/admin/settlements/2026-03/payments",
        # one partner each: each payment starts its partner's total, as the fault-free one did
        {"partner_id": _partner(c, n), "amount_minor": -100 - n, "paid_on": "2026-04-01", "reference": f"PP-{n}"},
    ),
    "create_webhook": lambda c, n: Call(
        c.cafe, "POST", "/v1/webhooks", {"url": f"http://127.0.0.1:9/hook-{n}", "events": ["*"]}
    ),
    "rotate_webhook_secret": lambda c, n: Call(
        c.cafe, "POST", f"/v1/webhooks/{_webhook(c, n)}/rotate-secret", {"overlap_hours": 2}
    ),
    "delete_webhook": lambda c, n: Call(c.cafe, "DELETE", f"/v1/webhooks/{_webhook(c, n)}"),
    "resend_delivery": _resend,
    "connect_bitrix24": _connect_bitrix24,
    "disconnect_bitrix24": _disconnect_bitrix24,
    "bitrix24_event": _bitrix24_deal_won,
    "connect_amocrm": _connect_amocrm,
    "disconnect_amocrm": _disconnect_amocrm,
    "amocrm_event": _amocrm_lead_won,
}

# Every write route of the API (tests/test_route_table.py keeps this list whole), but these: a quote writes
# nothing; the sign-in, page and portal forms are covered by tests/test_customer_reach.py and the browser tests.
NOT_HERE = {  # the customer's and the portal's forms: tests/test_customer_sessions.py and the browser tests
    "me_confirm",
    # Starting a reconciliation writes no money; under a lost answer it is not yet exactly-once (a retry may start
    # a second run of the same month): docs/settlement.md, known limits.
    "admin_start_reconciliation",
    "me_open_link",
    "me_unsubscribe",  # a consent flag set whole from a link: tests/test_customer_reminders.py
    "me_release_hold",
    "quote_redemption",
    "me_revoke_links",
    "telegram_webhook",
    "me_send_code",
    "me_check_code",
    "me_spend_code",
    "me_sign_out",
    "me_sign_out_everywhere",
    "me_settings",
    "me_delete",
    "me_telegram_connect",
    "me_telegram_disconnect",
    "portal_login",
    "portal_logout",
    "portal_preview_campaign",
    "portal_edit_campaign",
    "portal_create_campaign",
    "portal_campaign_action",
    # the operator's console: its forms call the services above (tests/test_admin_console.py: a double press acts once)
    *(f"console_{name}" for name in ("create_partner", "partner_action", "program_save", "adjust")),
    *(f"console_{name}" for name in ("campaign_action", "settlement_action", "invite", "remove_staff")),
    # the till's forms call the API's own writes (spend code, redemption, accrual, refund: all in the matrix above)
    # under keys made from the form's nonce; a press sent twice is tests/test_till.py's double tap
    "till_find",
    "till_receipt",
    "till_send_code",
    "till_charge",
    "till_refund",
    # the owner's staff and key forms: tests/test_staff_portal.py (the services are the API's, matrixed above)
    "portal_invite_staff",
    "portal_remove_staff",
    "portal_change_staff_role",
    "portal_create_key",
    "portal_rotate_key",
    "portal_revoke_key",
    # the owner's webhook forms: tests/test_portal_webhooks.py (the services are the API's, matrixed above)
    "portal_create_webhook",
    "portal_rotate_webhook",
    "portal_delete_webhook",
    "portal_resend_delivery",
    # the owner's CRM forms: tests/test_portal_integrations.py (the services are the API's, matrixed above)
    "portal_connect_bitrix24",
    "portal_connect_amocrm",
    "portal_disconnect_crm",
    # staff sign-in and sign-out forms: tests/test_staff.py
    *(f"staff_{area}_{view}" for area in ("till", "portal", "admin") for view in ("sign_in_code", "sign_in_session")),
    *(f"staff_{area}_sign_out" for area in ("till", "portal", "admin")),
}


def test_every_write_route_is_here():
    from chalicelib.routes import ROUTES as TABLE

    writes = {r.name for r in TABLE if r.method in {"POST", "PUT", "PATCH", "DELETE"}}
    named = {"hold": "create_redemption"}
    assert {named.get(n, n) for n in ROUTES} | NOT_HERE == writes


def _kind(part: str) -> str:
    """An item's kind: its key without the ids (``CUST#cus_x`` -> ``CUST``, ``E#2026...`` -> ``E``)."""
    return part.split("#", 1)[0] if "#" in part else ("ID" if "_" in part or part[:1].isdigit() else part)


def effects() -> Counter[str]:
    """What the table and the outbox hold, by kind: items (replay records aside: the implicit one is per request;
    sharded counters and indexes aside: each transaction picks its shard; a partner's endpoint count, made once),
    ledger entries by type, messages by purpose."""
    out: Counter[str] = Counter()
    for item in table_snapshot():
        pk, sk = item["pk"]["S"], item["sk"]["S"]
        if pk.startswith(("REQ#", "IDEM#", "CTR#", "EXPIRE#")):  # replay records; shards picked at random
            continue
        if pk.startswith("HOOKCOUNT#"):  # a partner's endpoint count: made by its first registration, then updated
            continue
        out[f"{_kind(pk)}/{_kind(sk)}"] += 1
        if "type" in item and sk.startswith("E#"):
            out[f"entry:{item['type']['S']}"] += 1
    for message in inbox():
        out[f"message:{message.purpose}"] += 1
    return out


def _run(call: Call, key: str | None) -> Any:
    headers = {"Idempotency-Key": key} if key else None
    if call.form is not None:
        form_headers = {**(headers or {}), "Content-Type": "application/x-www-form-urlencoded"}
        return call.client.call(call.method, call.path, headers=form_headers, raw=call.form)
    return call.client.call(call.method, call.path, call.body, headers=headers)


FAULTS: dict[str, Callable[[Wire], Any]] = {
    # botocore resends the call; moto applied the first, so the copy fails its conditions (as a DynamoDB that had
    # forgotten the token would): the request then finds its own record
    "answer lost once": lambda w: w.lose(1),
    # every send botocore makes loses its answer: the timeout reaches the service, which must read its record
    "answer lost on every send": lambda w: w.lose(BOTOCORE_SENDS),
    "connection closed on every send": lambda w: w.lose(BOTOCORE_SENDS, how="connection_closed"),
    "throttled, then through": lambda w: w.answer("ThrottlingException", 2),
    "conflicts, then through": lambda w: w.conflict(3),
}
# Keyed and unkeyed requests meet every lost answer; throttling and conflicts (retried below the replay records)
# once each.
CASES = [(f, k) for f in FAULTS for k in (False, True) if "lost" in f or "closed" in f or k == ("conflict" in f)]


# Writes that commit outside the replay machinery (settings and states set whole, under a condition on what was
# read): when every send loses its answer nobody can tell the client what happened, so it answers 503 with
# Retry-After; the write applied once, and the client's retry answers as a fault-free request would.
SETTLED_BY_RETRY = {
    "admin_update_partner",
    "admin_revoke_key",
    "admin_put_program",
    "admin_close_settlement",
    "admin_end_customer_links",
    "delete_webhook",
    "resend_delivery",
    "remove_staff",
    "admin_remove_staff",
    "change_staff_role",
    "admin_change_staff_role",
}
# A replay of these sends the customer the same message again (a first copy may never have left): by design.
REDELIVERS = {"spend_code", "portal_link"}


def _without_messages(counts: Counter[str]) -> Counter[str]:
    return Counter({k: v for k, v in counts.items() if not k.startswith("message:")})


@pytest.mark.parametrize(("fault", "keyed"), CASES, ids=[f"{f}, {'key' if k else 'no key'}" for f, k in CASES])
@pytest.mark.parametrize("route", list(ROUTES))
def test_a_fault_at_the_wire_has_one_effect_and_the_fault_free_answer(coalition, wire, clock, route, fault, keyed):
    c = coalition
    clock.advance(timedelta(days=60))  # February is over: it can be closed
    baseline = ROUTES[route](c, 0)
    before = effects()
    first = _run(baseline, "k-0" if keyed else None)
    expected = effects() - before
    assert first.status < 300, first.json

    call = ROUTES[route](c, 1)
    before = effects()
    FAULTS[fault](wire)
    sent = len(wire.sent)
    r = _run(call, "k-1" if keyed else None)
    met = len(wire.sent) > sent  # the route commits a transaction: the fault was met
    assert not met or not wire.faults
    wire.clear()
    if r.status == 503 and route in SETTLED_BY_RETRY and "every send" in fault:
        assert r.headers["Retry-After"] == "1" and effects() - before == expected
        r = _run(call, "k-1" if keyed else None)  # the client's retry
    assert r.status == first.status, (r.status, r.json)
    assert effects() - before == expected
    assert sorted(r.json or {}) == sorted(first.json or {})
    assert "Idempotent-Replayed" not in r.headers  # its own answer, not someone else's
    if keyed:  # the key is bound to that one execution: asked again, the same answer, nothing more
        again = _run(call, "k-1")
        assert again.status == r.status
        if route in REDELIVERS:
            assert _without_messages(effects() - before) == _without_messages(expected)
        else:
            assert again.raw == r.raw and effects() - before == expected


def test_a_lost_answer_is_never_a_500_even_for_a_partner_creation_without_key(api, wire):
    """The defect as found: the answer to a committed TransactWriteItems lost on every send botocore makes."""
    for n in range(10):
        wire.lose(BOTOCORE_SENDS, how=("read_timeout", "connection_closed")[n % 2])
        r = api.post("/v1/admin/partners", {"name": f"Партнёр {n}"})
        assert r.status == 201, r.json
    names = sorted(i["name"] for i in api.get("/v1/admin/partners")["items"])
    assert names == sorted(f"Партнёр {n}" for n in range(10))


def test_throttling_on_every_send_is_503_with_retry_after_and_writes_nothing(coalition, wire):
    c = coalition
    cid = _customer(c, 0)
    for code in ("ThrottlingException", "ProvisionedThroughputExceededException"):
        before = table_snapshot()
        wire.answer(code, BOTOCORE_SENDS)
        r = accrue(c.cafe, cid, "A-1", 200_000)
        assert r.status == 503 and r["code"] == "temporarily_unavailable" and r.headers["Retry-After"] == "1"
        assert table_snapshot() == before and not wire.faults
    assert accrue(c.cafe, cid, "A-1", 200_000).status == 201


# --- the transaction's token, conflicts, the item limit (botocore's real exception shapes) ------------------------


def test_a_transaction_conflict_is_decided_again_with_a_new_token_each_time(coalition, wire):
    c = coalition
    cid = _customer(c, 0)
    wire.conflict(3)
    sent = len(wire.sent)
    r = accrue(c.cafe, cid, "A-1", 200_000)
    assert r.status == 201 and r["points"] == 100  # retried, not 503 at once
    tokens = [body["ClientRequestToken"] for body in wire.sent[sent:]]
    assert len(tokens) == 4 and len(set(tokens)) == 4  # each new decision is a new transaction for DynamoDB
    assert all(t and len(t) <= db_tx.MAX_TOKEN for t in tokens)
    assert [e.type for e in db.EntryItem.scan() if e.sk.startswith("E#")] == ["accrual"]


def test_botocore_resends_one_call_with_its_token(coalition, wire):
    c = coalition
    cid = _customer(c, 0)
    wire.answer("ThrottlingException", 2)
    sent = len(wire.sent)
    assert accrue(c.cafe, cid, "A-1", 200_000).status == 201
    tokens = [body["ClientRequestToken"] for body in wire.sent[sent:]]
    assert len(tokens) == 3 and len(set(tokens)) == 1  # one call resent: one token, DynamoDB applies it once


def test_each_attempt_of_one_request_has_its_own_token():
    req = idempotency.WriteRequest("key", None, "f", "b", "2026-03-10T09:00:00+00:00")
    tokens = {idempotency.token(req, attempt) for attempt in range(idempotency.MAX_ATTEMPTS)}
    assert len(tokens) == idempotency.MAX_ATTEMPTS
    other = idempotency.WriteRequest("key", None, "f", "b", "2026-03-10T09:00:00+00:00")
    assert idempotency.token(other, 0) not in tokens  # another request, even with the same body
    assert all(len(t) <= db_tx.MAX_TOKEN for t in tokens)


def test_conflicts_on_every_attempt_end_in_503_and_nothing_written(coalition, wire):
    c = coalition
    cid = _customer(c, 0)
    before = table_snapshot()
    wire.conflict(idempotency.MAX_ATTEMPTS)
    r = accrue(c.cafe, cid, "A-1", 200_000)
    assert r.status == 503 and r.headers["Retry-After"] == "1"
    assert table_snapshot() == before


def _puts(n: int) -> db.Transaction:
    from chalicelib.db.models import CounterItem

    tx = db.Transaction()
    for i in range(n):
        tx.put(CounterItem(f"TEST#{i}", "C"), tag=f"t{i}")
    return tx


def test_a_transaction_of_100_items_commits_and_101_is_refused_before_sending(dynamo, wire):
    from chalicelib.errors import RequestTooLarge

    _puts(db_tx.MAX_ITEMS).commit(db.connection())
    assert len(wire.sent) == 1 and len(wire.sent[0]["TransactItems"]) == 100
    with pytest.raises(RequestTooLarge):
        _puts(db_tx.MAX_ITEMS + 1).commit(db.connection())
    assert len(wire.sent) == 1  # nothing sent


def test_a_final_write_cancelled_by_conflicts_is_sent_again(coalition, wire):
    """A write outside the replay records (here revoking a key) is final as it stands: a TransactionConflict applied
    nothing, so the same transaction goes again under a new token, instead of answering 503 or 404 at once."""
    c = coalition
    key = c.operator.post(f"/v1/admin/partners/{c.ids['cafe']}/keys")["key_id"]
    wire.conflict(3)
    sent = len(wire.sent)
    r = c.operator.call("DELETE", f"/v1/admin/partners/{c.ids['cafe']}/keys/{key}")
    assert r.status == 204 and not wire.faults
    tokens = [body["ClientRequestToken"] for body in wire.sent[sent:]]
    assert len(tokens) == 4 and len(set(tokens)) == 4
