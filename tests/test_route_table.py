"""The one route list is what it claims. Each handler's ``Call[Body, Query]`` names the models its route
parses (mypy checks the declarations; this checks the running table, pages included); the API's modules stay small;
/openapi.json tells how each route authenticates and what it answers with."""

from __future__ import annotations

import typing
from pathlib import Path

import pytest

from chalicelib.api.openapi import build
from chalicelib.http import Call
from chalicelib.routes import ROUTES

API = Path(__file__).resolve().parent.parent / "chalicelib" / "api"


@pytest.mark.parametrize("route", ROUTES, ids=[r.name for r in ROUTES])
def test_every_handler_takes_what_its_route_parses(route):
    hints = typing.get_type_hints(route.handler)
    call = next(iter(hints.values()))
    assert typing.get_origin(call) is Call, (route.name, call)
    body, query = typing.get_args(call)
    assert body is (route.body or type(None)), (route.name, body, route.body)
    assert query is (route.query or type(None)), (route.name, query, route.query)


def test_route_names_are_unique_and_the_api_modules_small():
    assert len({r.name for r in ROUTES}) == len(ROUTES)
    assert len({(r.method, r.path) for r in ROUTES}) == len(ROUTES)
    for path in API.glob("*.py"):
        assert len(path.read_text().splitlines()) < 400, path


def test_the_document_says_how_each_route_authenticates():
    spec = build(ROUTES)
    schemes = spec["components"]["securitySchemes"]
    assert schemes["session"] == {**schemes["session"], "type": "apiKey", "in": "cookie", "name": "lp_session"}
    for route in ROUTES:
        op = spec["paths"][route.path][route.method.lower()]
        expected = {
            "public": None,
            "session": [{"session": []}],
            "customer": [{"customer_session": []}],
            "staff": [{"staff_session": []}],
        }.get(route.auth, [{"bearer": []}])
        assert op.get("security") == expected, route.name
        if route.auth in ("session", "staff") and route.method == "POST":  # every signed-in form carries its CSRF token
            form = op["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]["$ref"]
            assert "csrf" in spec["components"]["schemas"][form.rsplit("/", 1)[1]]["required"]


def test_downloads_declare_csv():
    spec = build(ROUTES)
    csv = {
        path: sorted(op["responses"]["200"]["content"])
        for path, ops in spec["paths"].items()
        for op in ops.values()
        if "text/csv" in op["responses"].get("200", {}).get("content", {})
    }
    assert csv == {
        "/v1/settlements/{period}": ["application/json", "text/csv"],
        "/v1/admin/settlements/{period}": ["application/json", "text/csv"],
        "/portal/settlements/{period}/csv": ["text/csv", "text/html"],  # signed out: the sign-in page
        "/me/data.csv": ["text/csv", "text/html"],  # the customer's data; signed out: a 401 page
    }


def test_a_write_answers_created_with_the_routes_status_and_found_with_200(api):
    """Services say whether they created something; chalicelib.http answers 201 (the route's) or 200."""
    partner = api.as_key(api.post("/v1/admin/partners", {"name": "Cafe"}).json["api_key"])
    first = partner.post("/v1/customers", {"phone": "+79161230000"})
    again = partner.post("/v1/customers", {"phone": "+79161230000"})
    assert (first.status, first.json["created"]) == (201, True)
    assert (again.status, again.json["created"]) == (200, False)
    for phone, status in (("+79161230000", 200), ("+79161239999", 201)):  # a replay answers as the first did
        key = {"Idempotency-Key": f"k{status}"}
        answers = [partner.post("/v1/customers", {"phone": phone}, headers=key) for _ in range(2)]
        assert [a.status for a in answers] == [status, status]
        assert answers[1].headers.get("Idempotent-Replayed") == "true" and answers[0].raw == answers[1].raw


def test_app_registers_every_route_from_an_index_that_is_the_route_table():
    """app.py registers routes from chalicelib/route_index.py without importing the modules that declare them: the
    index must be the table (same routes, same order) and name, for each route, a module that declares it, or that
    route would answer 500 on an instance's first request. Regenerate: python -m chalicelib.route_index."""
    import importlib

    from chalicelib.route_index import INDEX, declared, generated

    assert INDEX == generated()
    by_name = {r.name: r for r in ROUTES}
    for name, method, path, module in INDEX:
        route = declared(importlib.import_module(module), name)
        assert route is by_name[name] and (route.method, route.path) == (method, path)


def test_a_route_of_the_index_loads_only_its_own_module():
    """A balance on a fresh interpreter imports its own API module: not the customers' other routes', nor the
    campaigns', settlements' or pages' ones (nor Jinja2), nor any pydantic model (pydantic.fields loads with the first
    model class a process builds)."""
    import json
    import subprocess
    import sys

    probe = (
        "import json, sys, app\n"
        "from chalice.test import Client\n"
        "assert 'chalicelib.routes' not in sys.modules and 'chalicelib.api.customers' not in sys.modules\n"
        "with Client(app.app) as c:\n"
        "    assert c.http.get('/v1/customers/cus_x/balance').status_code == 401\n"
        "watched = ('chalicelib.api.', 'chalicelib.web.', 'jinja2', 'pydantic.fields')\n"
        "loaded = {m for m in sys.modules if m.startswith(watched)}\n"
        "print(json.dumps(sorted(loaded)))\n"
    )
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run([sys.executable, "-c", probe], cwd=root, capture_output=True, text=True, check=True)
    loaded = set(json.loads(done.stdout))
    assert "chalicelib.api.balances" in loaded and "chalicelib.api.customers" not in loaded
    assert not loaded & {"chalicelib.api.campaigns", "chalicelib.api.settlements", "chalicelib.web.routes", "jinja2"}
    assert "pydantic.fields" not in loaded


def test_every_schema_name_loads_from_the_module_its_home_names():
    """chalicelib.schemas loads a model's module on first use (:data:`chalicelib.schemas.HOME`): each public name of
    every schemas module must be listed there, under the module that defines it."""
    import ast
    import importlib

    from chalicelib import schemas

    modules = sorted(p.stem for p in Path(schemas.__file__).parent.glob("*.py") if p.stem != "__init__")
    defined = {}
    for module in modules:
        tree = ast.parse(Path(schemas.__file__).with_name(f"{module}.py").read_text())
        for node in tree.body:
            targets = [node] if isinstance(node, ast.ClassDef | ast.FunctionDef) else getattr(node, "targets", [])
            targets += [node.target] if isinstance(node, ast.AnnAssign) else []
            for target in targets:
                name = getattr(target, "name", None) or getattr(target, "id", "_")
                if not name.startswith("_"):
                    defined[name] = module
    assert schemas.HOME == defined
    for name, module in schemas.HOME.items():
        assert getattr(schemas, name) is getattr(importlib.import_module(f"chalicelib.schemas.{module}"), name)
