def test_walk(coalition):
    c = coalition
    r = c.cafe.post("/v1/customers", {"phone": "+7 916 123-45-67"})
    assert r.status == 201, r.json
    cid = r["customer_id"]
    r = c.cafe.post("/v1/accruals", {"customer_id": cid, "order_id": "A-1", "amount_minor": 150000})
    assert r.status == 201, r.json
    print(r.json)
    r = c.store.post("/v1/redemptions", {"customer_id": cid, "order_id": "S-1", "order_amount_minor": 10000, "points": 50})
    print(r.status, r.json)
    r = c.cafe.post("/v1/refunds", {"order_id": "A-1", "refund_id": "F-1", "amount_minor": 75000})
    print(r.status, r.json)
    r = c.cafe.get(f"/v1/customers/{cid}/balance")
    print(r.status, r.json)
    r = c.cafe.get(f"/v1/customers/{cid}/transactions")
    print(r.status, r.json)
