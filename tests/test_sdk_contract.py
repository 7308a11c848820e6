"""The SDK keeps no hand-copied model that can drift. Every model of ``partner_sdk.models`` is compared,
field for field and type for type, with its schema in the server's OpenAPI components, and every problem ``code``
of the server's error tree (``chalicelib.errors``) with a class of the SDK's one error tree under the right base."""

from __future__ import annotations

import inspect
from typing import Any

import pytest

from chalicelib import errors as server_errors
from chalicelib.api.openapi import build
from chalicelib.routes import ROUTES
from partner_sdk import errors as sdk_errors
from partner_sdk import models

# SDK model -> the server's schema of the same thing, where the names differ
SERVER_NAME = {
    "Tier": "TierOut",
    "Customer": "CustomerEnrolled",  # also parses lookup's CustomerRef: hence created is optional in the SDK
    "LedgerEntry": "LedgerEntryOut",
    "Accrual": "AccrualOut",
    "Bonus": "BonusOut",
    "Quote": "QuoteOut",
    "Redemption": "RedemptionOut",
    "Refund": "RefundOut",
    "Campaign": "CampaignOut",
    "Settlement": "SettlementOut",
    "Payment": "PaymentOut",
    "AuditEntry": "AuditEntryOut",
    "Partner": "DirectoryEntry",
}
SDK_MODELS = [
    cls
    for cls in vars(models).values()
    if inspect.isclass(cls) and issubclass(cls, models.Model) and cls is not models.Model
]


def _shape(node: dict[str, Any], rename: dict[str, str]) -> frozenset[str]:
    """A JSON schema as the set of JSON types it admits: 'integer', 'string', 'null', 'array[Balance]'..."""
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[1]
        return frozenset({rename.get(name, name)})
    if "anyOf" in node:
        return frozenset().union(*(_shape(n, rename) for n in node["anyOf"]))
    kind = node.get("type")
    if kind == "array":
        return frozenset(f"array[{item}]" for item in sorted(_shape(node.get("items", {}), rename)))
    if kind is None and ("const" in node or "enum" in node):
        kind = "string"
    return frozenset({kind or "any"})


@pytest.fixture(scope="module")
def components() -> dict[str, Any]:
    return build(ROUTES)["components"]["schemas"]


def test_every_sdk_model_has_a_server_schema(components):
    assert SDK_MODELS
    for cls in SDK_MODELS:
        assert SERVER_NAME.get(cls.__name__, cls.__name__) in components, cls.__name__


@pytest.mark.parametrize("model", SDK_MODELS, ids=[m.__name__ for m in SDK_MODELS])
def test_every_sdk_model_matches_the_server_field_for_field(components, model):
    server = components[SERVER_NAME.get(model.__name__, model.__name__)]
    sdk = model.model_json_schema()
    assert set(sdk["properties"]) == set(server["properties"]), (
        f"{model.__name__}: missing {sorted(set(server['properties']) - set(sdk['properties']))}, "
        f"unknown to the server {sorted(set(sdk['properties']) - set(server['properties']))}"
    )
    for field, schema in sdk["properties"].items():
        theirs = _shape(server["properties"][field], {})
        ours = _shape(schema, SERVER_NAME)
        # the SDK may accept more (a null the server never sends) but never less than the server answers
        assert theirs <= ours, (model.__name__, field, sorted(theirs), sorted(ours))
        if field in sdk.get("required", []):
            assert field in server.get("required", []), (model.__name__, field, "always sent?")


def _server_errors() -> list[type[server_errors.ApiError]]:
    found, todo = [], [server_errors.ApiError]
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if cls.__module__ == server_errors.__name__ and cls is not server_errors.RecordedProblem:
            found.append(cls)
    return sorted(found, key=lambda c: c.code)


SERVER_ERRORS = _server_errors()


def _sdk_base(status: int) -> type[sdk_errors.LoyaltyError]:
    if status >= 500:
        return sdk_errors.ServerError
    bases = {
        401: sdk_errors.AuthenticationError,
        403: sdk_errors.PermissionDenied,
        404: sdk_errors.NotFound,
        409: sdk_errors.Conflict,
        429: sdk_errors.RateLimited,
    }
    return bases.get(status, sdk_errors.InvalidRequest)


def test_the_server_error_tree_is_walked_whole():
    codes = [cls.code for cls in SERVER_ERRORS]
    assert len(codes) == len(set(codes)) and len(codes) >= 30
    assert {"internal_error", "validation_error", "campaign_limit_reached", "temporarily_unavailable"} <= set(codes)


@pytest.mark.parametrize("error", SERVER_ERRORS, ids=[c.code for c in SERVER_ERRORS])
def test_every_server_code_has_its_sdk_class(error):
    assert error.code in sdk_errors._BY_CODE, f"no SDK class for {error.code} ({error.__name__})"
    raised = sdk_errors.from_response(error.status, {"code": error.code, "detail": "x"}, "req_1")
    assert type(raised) is sdk_errors._BY_CODE[error.code]
    assert isinstance(raised, _sdk_base(error.status)), (error.code, type(raised).__mro__)
    assert raised.__class__.__name__ in sdk_errors.__all__


def test_the_sdk_knows_no_code_the_server_does_not_answer():
    assert set(sdk_errors._BY_CODE) == {cls.code for cls in SERVER_ERRORS}
