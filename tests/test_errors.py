"""What a client sees when things go wrong on our side."""

from botocore.exceptions import ClientError
from pynamodb.exceptions import GetError


def test_an_unexpected_error_is_a_bare_500_without_internals(coalition, monkeypatch):
    from chalicelib.services import partners

    def boom(partner_id):
        raise RuntimeError("secret table name loyalty-prod and a stack")

    monkeypatch.setattr(partners, "load", boom)
    r = coalition.cafe.get("/v1/partner")
    assert r.status == 500 and r.headers["Content-Type"] == "application/problem+json"
    assert r["code"] == "internal_error" and r["request_id"]
    assert "secret" not in r.raw.decode() and "Traceback" not in r.raw.decode()


def test_throttling_is_a_503_with_retry_after(coalition, monkeypatch):
    from chalicelib.services import partners

    def throttled(partner_id):
        cause = ClientError({"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "x"}}, "GetItem")
        raise GetError("Failed to get item", cause)

    monkeypatch.setattr(partners, "load", throttled)
    r = coalition.cafe.get("/v1/partner")
    assert r.status == 503 and r["code"] == "temporarily_unavailable" and r.headers["Retry-After"] == "1"


def test_openapi_documents_every_route_and_the_problem_shape(api):
    spec = api.get("/openapi.json").json
    from chalicelib.routes import ROUTES

    for route in ROUTES:
        if route.page:  # pages answer errors with pages
            continue
        op = spec["paths"][route.path][route.method.lower()]
        for status, response in op["responses"].items():
            if int(status) >= 400:
                assert response["content"]["application/problem+json"]["schema"] == {
                    "$ref": "#/components/schemas/Problem"
                }
    accrual = spec["paths"]["/v1/accruals"]["post"]
    assert accrual["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("CreateAccrual")
    assert {"Idempotency-Key"} <= {p["name"] for p in accrual["parameters"]}
