"""The audit log over HTTP: a record per change, written in the change's own transaction; the operator reads all of
it with filters, a partner only its own, page by page with a cursor it cannot turn against another partner."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

from chalicelib.domain.audit import MAX_VALUE_BYTES, TRUNCATED, bounded
from tests.conftest import Api, Coalition

OPERATOR_ACTOR_PREFIX = "key:key_operator_"


def _all(client: Api, path: str) -> list[dict]:
    items: list[dict] = []
    cursor = None
    for _ in range(100):
        url = path + ("&" if "?" in path else "?") + "limit=1" + (f"&cursor={cursor}" if cursor else "")
        r = client.get(url)
        assert r.status == 200, r.json
        items += r["items"]
        cursor = r["next_cursor"]
        if not cursor:
            return items
    raise AssertionError("the pages never ended")


def test_creating_a_partner_records_who_did_what_in_which_request(api: Api):
    r = api.post("/v1/admin/partners", {"name": "Уют", "earn_rate_bps": 700})
    assert r.status == 201
    log = api.get("/v1/admin/audit")
    assert log.status == 200
    items = log["items"]
    assert sorted(i["action"] for i in items) == ["key.created", "partner.created"]
    created = next(i for i in items if i["action"] == "partner.created")
    assert created["actor"].startswith(OPERATOR_ACTOR_PREFIX)
    assert created["target"] == f"partner:{r['partner_id']}" and created["partner_id"] == r["partner_id"]
    assert created["before"] is None and created["after"]["earn_rate_bps"] == 700
    assert created["request_id"] == r.headers["X-Request-Id"]
    key = next(i for i in items if i["action"] == "key.created")
    assert key["after"] == {"key_id": r["key_id"]}
    assert r["api_key"] not in log.raw.decode()  # the key itself is never in the log


def test_a_partner_reads_its_own_records_and_never_another_partners(coalition: Coalition):
    c = coalition
    mine = c.cafe.get("/v1/audit")
    assert mine.status == 200
    assert mine["items"] and {i["partner_id"] for i in mine["items"]} == {c.ids["cafe"]}
    # asking for another partner's log by a query parameter is not a thing a partner may name
    other = c.cafe.get(f"/v1/audit?partner_id={c.ids['store']}")
    assert other.status == 422
    assert c.cafe.get("/v1/admin/audit").status == 403


def test_a_cursor_from_another_partner_or_another_filter_or_tampered_is_refused(coalition: Coalition):
    c = coalition
    c.operator.post(f"/v1/admin/partners/{c.ids['store']}/keys")
    c.operator.post(f"/v1/admin/partners/{c.ids['cafe']}/keys")
    cafe_page = c.cafe.get("/v1/audit?limit=1")
    cursor = cafe_page["next_cursor"]
    assert cursor
    stolen = c.store.get(f"/v1/audit?limit=1&cursor={cursor}")
    assert stolen.status == 422 and stolen.json["errors"][0]["loc"] == ["query", "cursor"]
    assert c.cafe.get(f"/v1/audit?limit=1&action=key.created&cursor={cursor}").status == 422
    payload, _, signature = cursor.partition(".")
    forged = payload + "." + ("0" if signature[0] != "0" else "1") + signature[1:]
    assert c.cafe.get(f"/v1/audit?limit=1&cursor={forged}").status == 422
    assert c.cafe.get(f"/v1/audit?limit=1&cursor={cursor}").status == 200
    # the operator's cursor over everything does not open a partner's listing either
    op = c.operator.get("/v1/admin/audit?limit=1")["next_cursor"]
    assert c.cafe.get(f"/v1/audit?limit=1&cursor={op}").status == 422


def test_pages_walk_every_record_once_newest_first(coalition: Coalition, clock):
    c = coalition
    for _ in range(3):
        clock.advance(timedelta(minutes=1))
        assert c.operator.post(f"/v1/admin/partners/{c.ids['cafe']}/keys").status == 201
    walked = _all(c.operator, "/v1/admin/audit")
    assert len(walked) == len({i["audit_id"] for i in walked}) == 3 * 2 + 3
    instants = [i["at"] for i in walked]
    assert instants == sorted(instants, reverse=True)
    cafe = _all(c.cafe, "/v1/audit")
    assert len(cafe) == 2 + 3 and all(i["partner_id"] == c.ids["cafe"] for i in cafe)


def test_the_operator_filters_by_partner_action_actor_and_month(coalition: Coalition, clock):
    c = coalition
    clock.advance(timedelta(days=40))  # into April
    assert c.operator.post(f"/v1/admin/partners/{c.ids['store']}/keys").status == 201
    by_partner = c.operator.get(f"/v1/admin/audit?partner_id={c.ids['store']}")["items"]
    assert len(by_partner) == 3 and {i["partner_id"] for i in by_partner} == {c.ids["store"]}
    assert by_partner[0]["action"] == "key.created" and by_partner[0]["at"].startswith("2026-04")
    keys = c.operator.get("/v1/admin/audit?action=key.created")["items"]
    assert len(keys) == 4 and {i["action"] for i in keys} == {"key.created"}
    april = c.operator.get("/v1/admin/audit?period=2026-04")["items"]
    assert len(april) == 1 and april[0]["partner_id"] == c.ids["store"]
    march = c.operator.get("/v1/admin/audit?period=2026-03&partner_id=" + c.ids["store"])["items"]
    assert len(march) == 2
    actor = keys[0]["actor"]
    by_actor = c.operator.get(f"/v1/admin/audit?actor={actor}")["items"]
    assert len(by_actor) == 7
    assert c.operator.get("/v1/admin/audit?actor=key:nobody")["items"] == []
    assert c.operator.get("/v1/admin/audit?period=2026-13").status == 422
    assert c.operator.get("/v1/admin/audit?limit=0").status == 422


def test_a_replayed_request_records_its_change_once(api: Api):
    headers = {"Idempotency-Key": "new-partner-1"}
    first = api.post("/v1/admin/partners", {"name": "Уют"}, headers=headers)
    again = api.post("/v1/admin/partners", {"name": "Уют"}, headers=headers)
    assert first.raw == again.raw
    assert len(api.get("/v1/admin/audit")["items"]) == 2


def test_a_refused_change_records_nothing(coalition: Coalition):
    c = coalition
    before = len(_all(c.operator, "/v1/admin/audit"))
    assert c.operator.post("/v1/admin/partners/ptn_nobody00000/keys").status == 404
    assert len(_all(c.operator, "/v1/admin/audit")) == before


def test_a_value_too_large_is_kept_as_a_marker_not_refused():
    small = {"name": "Уют"}
    assert bounded(small) == small
    large = {f"k{n}": "x" * 100 for n in range(200)}
    kept = bounded(large)
    assert kept is not None and kept[TRUNCATED] is True and kept["bytes"] > MAX_VALUE_BYTES
    assert len(kept["keys"]) == 20


def _one(client: Api, action: str) -> dict:
    items = client.get(f"/v1/admin/audit?action={action}")["items"]
    assert len(items) == 1, items
    return dict(items[0])


def test_program_settings_record_only_what_changed(api: Api):
    assert api.call("PUT", "/v1/admin/program", {"expiry_months": 12}).status == 200  # the default: no change
    assert api.get("/v1/admin/audit?action=program.updated")["items"] == []
    r = api.call("PUT", "/v1/admin/program", {"expiry_months": 6})
    assert r.status == 200
    record = _one(api, "program.updated")
    assert record["before"] == {"expiry_months": 12} and record["after"] == {"expiry_months": 6}
    assert record["target"] == "program" and record["partner_id"] is None
    assert record["request_id"] == r.headers["X-Request-Id"]
    assert api.call("PUT", "/v1/admin/program", {"expiry_months": 0}).status == 422  # refused: nothing recorded
    assert len(api.get("/v1/admin/audit?action=program.updated")["items"]) == 1


def test_partner_settings_suspension_and_keys_are_recorded(coalition: Coalition):
    c = coalition
    pid = c.ids["cafe"]
    path = f"/v1/admin/partners/{pid}"
    assert c.operator.call("PATCH", path, {"pending_days": 3, "name": "Cafe"}).status == 200
    updated = _one(c.operator, "partner.updated")
    assert updated["before"] == {"pending_days": 0} and updated["after"] == {"pending_days": 3}
    assert c.operator.call("PATCH", path, {"earn_rate_bps": 700, "effective_from": "2026-04-01"}).status == 200
    rates = c.operator.get("/v1/admin/audit?action=partner.updated")["items"][0]
    assert rates["before"] == {"rate_schedule": []}
    [scheduled] = rates["after"]["rate_schedule"]
    assert scheduled["values"] == {"earn_rate_bps": 700} and scheduled["effective_from"] == "2026-04-01"
    assert c.operator.call("PATCH", path, {"status": "suspended"}).status == 200
    assert _one(c.operator, "partner.suspended")["after"] == {"status": "suspended"}
    assert c.operator.call("PATCH", path, {"status": "active"}).status == 200
    assert _one(c.operator, "partner.resumed")["before"] == {"status": "suspended"}
    key = c.operator.post(f"/v1/admin/partners/{pid}/keys")["key_id"]
    assert c.operator.call("DELETE", f"/v1/admin/partners/{pid}/keys/{key}").status == 204
    assert _one(c.operator, "key.revoked")["target"] == f"key:{key}"
    assert c.operator.call("DELETE", f"/v1/admin/partners/{pid}/keys/{key}").status == 204  # again: no change
    assert len(c.operator.get("/v1/admin/audit?action=key.revoked")["items"]) == 1
    # the partner reads all of that in its own log; another partner none of it
    own = {i["action"] for i in c.cafe.get("/v1/audit?limit=100")["items"]}
    assert {"partner.updated", "partner.suspended", "partner.resumed", "key.revoked"} <= own
    assert all(i["partner_id"] == c.ids["store"] for i in c.store.get("/v1/audit?limit=100")["items"])


def test_campaign_states_are_recorded_and_a_refused_one_is_not(coalition: Coalition):
    c = coalition
    body = {"name": "Кофе", "earn_at": [c.ids["cafe"], c.ids["store"]], "reward": {"type": "fixed", "points": 10}}
    cid = c.cafe.post("/v1/campaigns", body)["campaign_id"]
    created = _one(c.operator, "campaign.created")
    assert created["partner_id"] == c.ids["cafe"] and created["after"]["name"] == "Кофе"
    assert c.cafe.post(f"/v1/campaigns/{cid}/activate").status == 409  # the store has not accepted: refused
    assert c.operator.get("/v1/admin/audit?action=campaign.launched")["items"] == []
    assert c.store.post(f"/v1/campaigns/{cid}/decline").status == 200
    declined = _one(c.operator, "campaign.declined")
    assert declined["partner_id"] == c.ids["store"] and declined["after"] == {"answer": "declined"}
    assert c.store.post(f"/v1/campaigns/{cid}/accept").status == 200
    assert _one(c.operator, "campaign.accepted")["before"] == {"answer": "declined"}
    assert c.cafe.post(f"/v1/campaigns/{cid}/activate").status == 200
    assert _one(c.operator, "campaign.launched")["after"] == {"status": "active"}
    assert c.cafe.post(f"/v1/campaigns/{cid}/pause").status == 200
    assert c.operator.post(f"/v1/campaigns/{cid}/end").status == 200
    ended = _one(c.operator, "campaign.ended")
    assert ended["before"] == {"status": "paused"} and ended["actor"].startswith(OPERATOR_ACTOR_PREFIX)
    assert ended["partner_id"] == c.ids["cafe"]  # the sponsor reads what the operator did to its campaign
    assert any(i["action"] == "campaign.ended" for i in c.cafe.get("/v1/audit?limit=100")["items"])


def test_adjustments_are_recorded_and_a_refused_debit_is_not(coalition: Coalition):
    c = coalition
    cid = c.cafe.post("/v1/customers", {"phone": "+79161112233"})["customer_id"]
    credit = {"customer_id": cid, "adjustment_id": "ADJ-1", "points": 50, "reason": "goodwill"}
    assert c.operator.post("/v1/admin/adjustments", credit).status == 201
    made = _one(c.operator, "adjustment.created")
    assert made["target"] == f"customer:{cid}" and made["before"] == {"available": 0}
    assert made["after"]["available"] == 50 and made["after"]["reason"] == "goodwill"
    debit = {"customer_id": cid, "adjustment_id": "ADJ-2", "points": -500, "reason": "typo"}
    assert c.operator.post("/v1/admin/adjustments", debit).status == 422  # more than she has: refused, recorded
    assert c.operator.post("/v1/admin/adjustments", debit).status == 422  # and replayed
    assert len(c.operator.get("/v1/admin/audit?action=adjustment.created")["items"]) == 1
    assert c.cafe.get("/v1/audit?action=adjustment.created")["items"] == []  # the operator's own record


def test_a_signed_cursor_still_cannot_leave_the_callers_partition(coalition: Coalition):
    """Defence in depth: even a cursor signed for the caller's own listing (a leaked pepper) that names another
    partner's partition is refused: a partner's query never reads outside its own partition."""
    import json

    from chalicelib import ids
    from chalicelib.services import audit_log

    c = coalition
    c.operator.post(f"/v1/admin/partners/{c.ids['store']}/keys")
    theirs = c.operator.get(f"/v1/admin/audit?partner_id={c.ids['store']}&limit=1")["items"][0]
    sort = f"{theirs['at']}#{theirs['audit_id']}"
    start = {"gsi1pk": f"AUDITP#{c.ids['store']}", "gsi1sk": sort, "pk": f"AUDITBY#{theirs['actor']}", "sk": sort}
    payload = ids.b64url(json.dumps(start, sort_keys=True, separators=(",", ":")).encode())
    scope = json.dumps([f"partner:{c.ids['cafe']}", "partner", c.ids["cafe"], None, None, None])
    forged = f"{payload}.{audit_log._sign(scope, payload)}"
    r = c.cafe.get(f"/v1/audit?limit=1&cursor={forged}")
    assert r.status == 422, r.json


def test_the_portal_shows_the_partners_own_log_with_old_and_new_values(coalition: Coalition):
    from tests.test_web import _portal

    c = coalition
    assert c.operator.call("PATCH", f"/v1/admin/partners/{c.ids['cafe']}", {"pending_days": 3}).status == 200
    assert c.operator.call("PATCH", f"/v1/admin/partners/{c.ids['store']}", {"pending_days": 9}).status == 200
    page = _portal(c, c.cafe.key, "ru").page("/portal/audit")
    assert 'href="/portal/audit"' in page and "Журнал изменений" in page
    assert "Настройки партнёра" in page
    assert '<b>pending_days</b>: <span data-testid="old">0</span> → <span data-testid="new">3</span>' in page
    assert '<span data-testid="new">9</span>' not in page  # the store's change is not the cafe's to read
    assert c.ids["store"] not in page
    english = _portal(c, c.cafe.key, "en").page("/portal/audit?period=2026-03")
    assert "Audit log" in english and "Partner settings" in english
    for n in range(21):  # more than a page
        c.operator.call("PATCH", f"/v1/admin/partners/{c.ids['cafe']}", {"pending_days": 10 + n})
    portal = _portal(c, c.cafe.key, "en")
    first = portal.page("/portal/audit")
    more = re.search(r'href="(/portal/audit\?cursor=[^"]+)" data-testid="more"', first)
    assert more and first.count('data-testid="audit-row"') == 20
    second = portal.page(unescape(more.group(1)))
    assert second.count('data-testid="audit-row"') == 1 + 2 + 1  # the rest: pending days, created, key, first change


def test_a_cursor_or_token_in_any_alphabet_is_a_clear_refusal_never_a_500(coalition):
    """Found by schemathesis: comparing a str with non-ASCII characters in hmac.compare_digest raises TypeError."""
    r = coalition.cafe.get("/v1/audit?cursor=%C3%A9t%C3%A9.%F2%A1%A0%90")
    assert r.status == 422 and r["code"] == "validation_error", r.json


def test_a_month_the_program_cannot_have_is_refused_not_a_500(coalition):
    """Found by schemathesis: period=0000-01 reached datetime(0, 1, 1)."""
    for period in ("0000-01", "9999-12"):
        r = coalition.operator.get(f"/v1/admin/audit?period={period}")
        assert r.status == 422, (period, r.json)
