"""Portal links and the customer's JSON view (the HTML page is tested in the browser tests)."""

from datetime import timedelta

from tests.test_api_ledger import accrue, enrol


def test_portal_link_opens_the_customers_own_data_and_expires(coalition, clock):
    c = coalition
    cid = enrol(c.cafe, phone="+79161234567", name="Анна")
    accrue(c.cafe, cid, "A-1", 200_000)
    accrue(c.store, cid, "S-1", 100_000)
    link = c.cafe.post(f"/v1/customers/{cid}/portal-link", {"ttl_minutes": 60})
    assert link.status == 201 and "/me?token=" in link["url"]
    token = link["token"]
    me = c.cafe.http.get("/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200
    import json

    body = json.loads(me.body)
    assert body["customer_id"] == cid and body["name"] == "Анна" and body["balance"]["available"] == 130
    assert {e["partner_name"] for e in body["transactions"]} == {"Cafe", "Store"}  # every partner's entries
    assert {p["name"] for p in body["partners"]} == {"Cafe", "Store", "Salon"}
    tampered = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    assert c.cafe.http.get("/v1/me", headers={"Authorization": f"Bearer {tampered}"}).status_code == 401
    other = enrol(c.cafe, phone="+79161234568")
    forged = token.replace(
        token.split(".")[0], __import__("base64").urlsafe_b64encode(f"{other}:9999999999".encode()).decode().rstrip("=")
    )
    assert c.cafe.http.get("/v1/me", headers={"Authorization": f"Bearer {forged}"}).status_code == 401
    clock.advance(timedelta(minutes=61))
    assert c.cafe.http.get("/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert c.cafe.post("/v1/customers/cus_0000000000000000/portal-link", {}).status == 404
