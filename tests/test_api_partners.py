"""Operator routes, API keys and who may do what."""


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
