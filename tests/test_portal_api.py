"""Portal links and the customer's JSON view (the HTML page is tested in the browser tests)."""

from datetime import timedelta

from tests.conftest import inbox, last_link
from tests.test_api_ledger import accrue, enrol


def test_portal_link_opens_the_customers_own_data_and_expires(coalition, clock):
    c = coalition
    cid = enrol(c.cafe, phone="+79161234567", name="Анна")
    accrue(c.cafe, cid, "A-1", 200_000)
    accrue(c.store, cid, "S-1", 100_000)
    link = c.cafe.post(f"/v1/customers/{cid}/portal-link", {"ttl_minutes": 60})
    # the link goes to the customer through their channel; the partner gets where it went, not the link
    assert link.status == 202 and link.json == {
        "channel": "sms",
        "destination": "+7 916 ***-**-67",
        "expires_at": "2026-03-10T10:00:00+00:00",
    }
    assert "token" not in link.raw.decode() and "/me" not in link.raw.decode()
    assert [m.to for m in inbox("portal_link")] == ["+79161234567"]
    url = last_link("+79161234567")
    assert "/me?token=" in url
    token = url.split("token=")[1]
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
    payload = token.split(".")[1]
    forged = token.replace(
        payload, __import__("base64").urlsafe_b64encode(f"{other}:0:9999999999".encode()).decode().rstrip("=")
    )
    assert c.cafe.http.get("/v1/me", headers={"Authorization": f"Bearer {forged}"}).status_code == 401
    clock.advance(timedelta(minutes=61))
    assert c.cafe.http.get("/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert c.cafe.post("/v1/customers/cus_0000000000000000/portal-link", {}).status == 404
