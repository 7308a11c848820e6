"""Operator routes, API keys and who may do what."""

from datetime import UTC, datetime
from typing import Any


def test_partner_is_created_with_a_key_shown_once_and_stored_hashed(api):
    r = api.post("/v1/admin/partners", {"name": "Уют", "category": "cafe"})
    assert r.status == 201
    body = r.json
    assert body["earn_rate_bps"] == 500 and body["max_redeem_share_bps"] == 5000 and body["pending_days"] == 0
    assert body["api_key"].startswith("lk_") and body["status"] == "active"
    from chalicelib import db

    raw_items = [i for i in db.ApiKeyItem.scan()]
    assert all(body["api_key"] not in str(i.attribute_values) for i in raw_items)
    me = api.as_key(body["api_key"]).get("/v1/partner")
    assert me.status == 200 and me["name"] == "Уют"
    listed = api.get("/v1/admin/partners")
    assert [p["partner_id"] for p in listed["items"]] == [body["partner_id"]]
    assert "api_key" not in listed["items"][0]


def test_replayed_partner_creation_shows_the_same_key_without_storing_it(api):
    headers = {"Idempotency-Key": "create-uyut-1"}
    first = api.post("/v1/admin/partners", {"name": "Уют"}, headers=headers)
    second = api.post("/v1/admin/partners", {"name": "Уют"}, headers=headers)
    assert first.status == second.status == 201
    assert first.raw == second.raw
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert len(api.get("/v1/admin/partners")["items"]) == 1
    assert api.as_key(first["api_key"]).get("/v1/partner").status == 200
    from chalicelib import db

    assert all(first["api_key"] not in str(i.attribute_values) for i in db.ReplayItem.scan())


def test_rates_update_and_suspension(coalition):
    c = coalition
    pid = c.ids["cafe"]
    r = c.operator.call("PATCH", f"/v1/admin/partners/{pid}", {"earn_rate_bps": 700})  # from the next period
    assert r.status == 200 and r["earn_rate_bps"] == 500
    assert r["scheduled_changes"] == [
        {"effective_from": "2026-04-01", "earn_rate_bps": 700, "max_redeem_share_bps": None}
    ]
    r = c.operator.call("PATCH", f"/v1/admin/partners/{pid}", {"earn_rate_bps": 600, "effective_from": "2026-03-10"})
    assert r.status == 200 and r["earn_rate_bps"] == 600 and len(r["scheduled_changes"]) == 1
    r = c.operator.call("PATCH", f"/v1/admin/partners/{pid}", {"status": "suspended"})
    assert r["status"] == "suspended"
    blocked = c.cafe.get("/v1/partner")
    assert blocked.status == 403 and blocked["code"] == "partner_suspended"
    directory = c.store.get("/v1/partners")
    assert pid not in [p["partner_id"] for p in directory["items"]]
    c.operator.call("PATCH", f"/v1/admin/partners/{pid}", {"status": "active"})
    assert c.cafe.get("/v1/partner").status == 200


def test_key_rotation_and_revocation(coalition):
    c = coalition
    pid = c.ids["cafe"]
    new = c.operator.post(f"/v1/admin/partners/{pid}/keys")
    assert new.status == 201 and new["partner_id"] == pid
    new_client = c.operator.as_key(new["api_key"])
    assert new_client.get("/v1/partner")["partner_id"] == pid
    gone = c.operator.call("DELETE", f"/v1/admin/partners/{pid}/keys/{new['key_id']}")
    assert gone.status == 204
    assert new_client.get("/v1/partner").status == 401
    assert c.cafe.get("/v1/partner").status == 200  # the old key still works
    other = c.operator.call("DELETE", f"/v1/admin/partners/{c.ids['store']}/keys/{new['key_id']}")
    assert other.status == 404


def test_a_partner_has_at_most_ten_active_keys(coalition):
    """Each key has limits of its own (requests, look-ups, wrong codes): the cap bounds what one partner does with all
    of them. A rotation is one key for another, so it works at the cap; a revoked key frees a place."""
    c = coalition
    pid = c.ids["cafe"]  # its first key, made with the partner
    made = [c.operator.post(f"/v1/admin/partners/{pid}/keys") for _ in range(9)]
    assert all(r.status == 201 for r in made)
    refused = c.operator.post(f"/v1/admin/partners/{pid}/keys")
    assert refused.status == 409 and refused["code"] == "key_limit_reached", refused.json
    assert "10" in refused["detail"]
    assert c.operator.post(f"/v1/admin/partners/{c.ids['store']}/keys").status == 201  # another partner's own cap
    assert c.operator.call("DELETE", f"/v1/admin/partners/{pid}/keys/{made[0]['key_id']}").status == 204
    assert c.operator.call("DELETE", f"/v1/admin/partners/{pid}/keys/{made[0]['key_id']}").status == 204  # again
    assert c.operator.post(f"/v1/admin/partners/{pid}/keys").status == 201  # the place it freed, once
    assert c.operator.post(f"/v1/admin/partners/{pid}/keys").status == 409


def test_a_key_made_after_anothers_read_of_the_count_does_not_pass_the_cap(coalition, monkeypatch):
    """Two keys made at once at nine: the count moves in each key's own write under ``active < 10``, so the one that
    read nine before the other committed is sent back to read again, and refused."""
    from tests.test_idempotency import _interleave

    c = coalition
    pid = c.ids["cafe"]
    for _ in range(8):
        assert c.operator.post(f"/v1/admin/partners/{pid}/keys").status == 201
    raced = _interleave(
        monkeypatch, lambda plan: len(plan.tx) > 0, lambda: c.operator.post(f"/v1/admin/partners/{pid}/keys")
    )
    late = c.operator.post(f"/v1/admin/partners/{pid}/keys")
    monkeypatch.undo()
    assert raced[0].status == 201, raced[0].json
    assert late.status == 409 and late["code"] == "key_limit_reached", late.json


def test_keys_made_before_the_count_are_counted_by_the_first_change(coalition):
    """A partner whose keys predate the stored count has its active listed keys counted when a key is next made or
    revoked: the cap holds for it too."""
    from chalicelib.db import keys
    from chalicelib.db.partner_keys import PartnerKeyCountItem

    c = coalition
    pid = c.ids["cafe"]
    for _ in range(4):
        assert c.operator.post(f"/v1/admin/partners/{pid}/keys").status == 201
    PartnerKeyCountItem(*keys.partner_key_count(pid)).delete()  # as before the count existed: five active keys
    made = [c.operator.post(f"/v1/admin/partners/{pid}/keys") for _ in range(6)]
    assert [r.status for r in made] == [201] * 5 + [409]


def test_two_first_counts_at_once_are_both_kept(coalition, monkeypatch):
    """Keys that predate the count: two keys made at once both find it not stored; the one that puts it second is
    sent back to read it, not let write over it (else the cap would be off by one for good)."""
    from chalicelib.db import keys
    from chalicelib.db.partner_keys import PartnerKeyCountItem
    from tests.test_idempotency import _interleave

    c = coalition
    pid = c.ids["cafe"]
    for _ in range(4):
        assert c.operator.post(f"/v1/admin/partners/{pid}/keys").status == 201
    PartnerKeyCountItem(*keys.partner_key_count(pid)).delete()  # five active keys, not counted
    path = f"/v1/admin/partners/{pid}/keys"
    raced = _interleave(monkeypatch, lambda plan: len(plan.tx) > 0, lambda: c.operator.post(path))
    first = c.operator.post(path)
    monkeypatch.undo()
    assert raced[0].status == 201 and first.status == 201
    made = [c.operator.post(path) for _ in range(4)]  # seven active: three more, then the cap
    assert [r.status for r in made] == [201, 201, 201, 409]


def test_a_key_revoked_twice_at_once_is_counted_out_once(coalition, monkeypatch):
    """Another revocation of the same key commits between this one's read and its commit: this one is cancelled by
    the listed key's state, not let count the key out a second time (else the cap would be off by one for good)."""
    from chalicelib.db import partner_keys as partner_keys_db
    from chalicelib.domain.audit import Stamp
    from chalicelib.services import partners

    c = coalition
    pid = c.ids["cafe"]
    made = [c.operator.post(f"/v1/admin/partners/{pid}/keys") for _ in range(9)]  # ten active
    key_id = made[0]["key_id"]
    real, started, raced = partner_keys_db.mark_revoked, [], []

    def racing(tx: Any, partner_id: str, revoked: str, now_iso: str, *counted: Any) -> None:
        if not started:  # once: the other revocation's own call passes straight through
            started.append(True)
            raced.append(c.operator.call("DELETE", f"/v1/admin/partners/{pid}/keys/{key_id}").status)
        real(tx, partner_id, revoked, now_iso, *counted)

    monkeypatch.setattr(partner_keys_db, "mark_revoked", racing)
    now = datetime(2026, 3, 1, tzinfo=UTC)
    partners.revoke_key(pid, key_id, now.isoformat(), Stamp("op", "r-1", now))
    monkeypatch.undo()
    assert raced == [204]
    again = [c.operator.post(f"/v1/admin/partners/{pid}/keys").status for _ in range(2)]
    assert again == [201, 409]


def test_roles_are_enforced(coalition):
    c = coalition
    assert c.cafe.get("/v1/admin/partners").status == 403
    assert c.operator.get("/v1/partner").status == 403
    assert c.operator.as_key("nonsense").get("/v1/partner").status == 401
    no_auth = c.operator.http.get("/v1/partner")
    assert no_auth.status_code == 401
    assert no_auth.headers["Content-Type"] == "application/problem+json"


def test_directory_lists_active_partners_with_public_fields_only(coalition):
    r = coalition.cafe.get("/v1/partners")
    assert r.status == 200
    assert {p["name"] for p in r["items"]} == {"Cafe", "Store", "Salon"}
    assert set(r["items"][0]) == {"partner_id", "name", "category", "earn_rate_bps"}


def test_program_settings_merge_and_validate(api):
    r = api.get("/v1/admin/program")
    assert r["currency"] == "RUB" and r["point_value_minor"] == 100 and r["expiry_months"] == 12
    assert r["timezone"] == "Europe/Moscow" and [t["name"] for t in r["tiers"]] == ["bronze", "silver", "gold"]
    r = api.call("PUT", "/v1/admin/program", {"operator_fee_bps": 150, "effective_from": "2026-03-10"})
    assert r.status == 200 and r["operator_fee_bps"] == 150 and r["point_value_minor"] == 100
    assert r["scheduled_changes"] == []
    bad = api.call("PUT", "/v1/admin/program", {"timezone": "Mars/Olympus"})
    assert bad.status == 422 and bad["errors"][0]["loc"] == ["body", "timezone"]
    assert api.get("/v1/admin/program")["timezone"] == "Europe/Moscow"
