"""The site around the pages: a landing page at ``/``, a favicon, and a real 404 at every unknown path (problem+json
for an API client, a page for a browser), never API Gateway's ``403 Missing Authentication Token``."""

from __future__ import annotations

import re

import pytest

from tests.test_infra import PACKAGED

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
UNKNOWN = ["/nope", "/v1/nope", "/v1/customers/x/nothing/here", "/portal/nope/deeper", "/wp-login.php", "/me/x/y"]


def _text(raw: bytes) -> str:
    return re.sub(r"<[^>]+>", " ", raw.decode())


@pytest.mark.parametrize("path", UNKNOWN)
@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE"])
def test_an_unknown_path_is_a_404_problem_for_an_api_client(api, path, method):
    r = api.call(method, path, {"x": 1})
    assert r.status == 404, (method, path, r.raw)
    assert r.headers["Content-Type"] == "application/problem+json"
    assert r["code"] == "not_found" and "Missing Authentication Token" not in r.raw.decode()
    assert r.headers["X-Request-Id"] == r["request_id"]


@pytest.mark.parametrize("path", UNKNOWN)
def test_an_unknown_path_is_a_404_page_for_a_browser_in_its_language(api, path):
    r = api.get(path, headers=BROWSER)
    assert r.status == 404 and r.headers["Content-Type"].startswith("text/html")
    assert "Страница не найдена" in _text(r.raw) and 'href="/"' in r.raw.decode()
    assert "default-src 'none'" in r.headers["Content-Security-Policy"]
    en = api.get(path + "?lang=en", headers=BROWSER)
    assert en.status == 404 and "Page not found" in _text(en.raw)


def test_the_catch_all_shadows_no_real_route(api, coalition):
    assert api.get("/health").status == 200
    assert api.get("/openapi.json").status == 200
    assert coalition.cafe.get("/v1/partner").status == 200
    assert coalition.cafe.get("/v1/customers/cus_000000000000/balance")["detail"].startswith("No customer")
    assert api.get("/me", headers=BROWSER).status == 303  # the sign-in page, as before
    assert api.get("/portal", headers=BROWSER).status == 200


def test_the_landing_page_says_what_the_program_is_and_where_to_go(api, coalition):
    r = api.get("/", headers=BROWSER)
    assert r.status == 200 and r.headers["Content-Type"].startswith("text/html")
    html, text = r.raw.decode(), _text(r.raw)
    assert "Программа лояльности" in text and "копите баллы" in text
    for href in ('href="/me"', 'href="/portal"', 'href="#partners"'):
        assert href in html
    assert "Cafe" in text and "Кафе" in text and "5% баллами" in text  # the directory, categories in Russian
    assert 'rel="icon"' in html
    en = _text(api.get("/?lang=en", headers=BROWSER).raw)
    assert "Sign in to my points" in en and "Partner portal" in en


def test_the_favicon_is_an_svg(api):
    r = api.get("/favicon.ico", headers={"Accept": "image/*"})
    assert r.status == 200 and r.headers["Content-Type"] == "image/svg+xml" and r.raw.startswith(b"<svg")


def _swagger() -> dict:
    from chalice.deploy.swagger import SwaggerGenerator

    from app import app

    return SwaggerGenerator(
        "eu-central-1", {"api_handler_arn": "arn:aws:lambda:eu-central-1:1:function:f"}
    ).generate_swagger(app)


def test_api_gateway_gets_a_greedy_catch_all_for_every_method_and_the_root():
    paths = _swagger()["paths"]
    assert set(paths["/{proxy+}"]) >= {"get", "head", "post", "put", "patch", "delete", "options"}
    assert "get" in paths["/"] and "get" in paths["/favicon.ico"]


def test_the_packaged_template_has_the_catch_all():
    if not PACKAGED.exists():
        pytest.skip("run `make package` first")
    import json

    template = json.loads(PACKAGED.read_text())
    body = json.dumps(template["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]["paths"])
    assert "/{proxy+}" in body


def test_the_local_server_of_make_run_answers_404_too(live):
    """chalice local's HTTP server (``make run``): the same catch-all, over a real socket."""
    api = live.request("DELETE", "/v1/no/such/thing", live.operator_key)
    assert api.status_code == 404 and api.json()["code"] == "not_found"
    page = live.request("GET", "/no/such/page", headers=BROWSER)
    assert page.status_code == 404 and "Страница не найдена" in page.text
    assert live.request("GET", "/", headers=BROWSER).status_code == 200
    assert live.request("GET", "/favicon.ico").headers["Content-Type"] == "image/svg+xml"
