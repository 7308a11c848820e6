"""The service models the function ships for the AWS clients a request builds, cut to the operations it calls
(chalicelib/db/aws_session.py puts them ahead of botocore's own). SSM's full model is 1.4 MB of JSON for 150
operations when the function calls two: parsing it and building its client was ~10 % of a cold start's instructions.
DynamoDB's keeps the 16 operations pynamodb can send, of 57.

    python -m infra.aws_models        # rewrites chalicelib/aws_models/ from the installed botocore

tests/test_infra.py checks that the shipped models are what this makes from the installed botocore, and that they
hold every operation chalicelib calls on those services.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "chalicelib" / "aws_models"
# service -> (API version, the operations chalicelib calls). SQS (the jobs' queue) is not here: only the scheduled
# jobs build its client, never a request.
# DynamoDB's: every operation pynamodb's connection can send (chalicelib/db calls the same ones on its client), of
# 57; the full model is 0.7 MB of JSON, parsed and turned into a client on every instance's first request.
DYNAMODB_OPERATIONS = (
    "BatchGetItem",
    "BatchWriteItem",
    "CreateTable",
    "DeleteItem",
    "DeleteTable",
    "DescribeTable",
    "GetItem",
    "ListTables",
    "PutItem",
    "Query",
    "Scan",
    "TransactGetItems",
    "TransactWriteItems",
    "UpdateItem",
    "UpdateTable",
    "UpdateTimeToLive",
)
OPERATIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "ssm": ("2014-11-06", ("GetParameter", "GetParameters")),
    "dynamodb": ("2012-08-10", DYNAMODB_OPERATIONS),
}


def _without_documentation(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_documentation(v) for k, v in value.items() if k != "documentation"}
    if isinstance(value, list):
        return [_without_documentation(v) for v in value]
    return value


# Operation parameters botocore works out for every call to choose its endpoint (JMESPath over the request, in
# Python): DynamoDB's ``ResourceArnList``, the table ARNs a batch or a transaction names. The endpoint rules use only
# an ARN's account id (an account-based endpoint), and the table is always named, never an ARN, so the rules never
# match it: botocore's own model gets the same endpoint for every call the function makes (tests/test_infra.py).
# Evaluating it cost ~80 us of CPU per accrual (a transaction of seven items), 7 % of the whole handler's.
WITHOUT = ("operationContextParams",)


def cut(service: str) -> dict[str, Any]:
    """botocore's model of ``service`` with only the listed operations and the shapes they reach (errors included),
    without what the function's calls never use (:data:`WITHOUT`)."""
    version, operations = OPERATIONS[service]
    spec = importlib.util.find_spec("botocore")  # its data files only: nothing here talks to AWS
    assert spec is not None and spec.origin is not None
    path = Path(spec.origin).parent / "data" / service / version / "service-2.json.gz"
    model = json.loads(gzip.decompress(path.read_bytes()))
    shapes: dict[str, Any] = {}

    def reach(name: str) -> None:
        if name not in shapes:
            shape = shapes[name] = model["shapes"][name]
            for ref in (shape.get(k) for k in ("member", "key", "value")):
                if ref:
                    reach(ref["shape"])
            for member in shape.get("members", {}).values():
                reach(member["shape"])

    for op in operations:
        spec = model["operations"][op]
        for ref in (spec.get("input"), spec.get("output"), *spec.get("errors", [])):
            if ref:
                reach(ref["shape"])
    kept = {
        "version": model["version"],
        "metadata": model["metadata"],
        "operations": {op: _without(model["operations"][op]) for op in operations},
        "shapes": dict(sorted(shapes.items())),
    }
    return dict(_without_documentation(kept))


def _without(operation: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in operation.items() if k not in WITHOUT}


def model_path(service: str) -> Path:
    return MODELS / service / OPERATIONS[service][0] / "service-2.json"


def main() -> None:
    for service in OPERATIONS:
        path = model_path(service)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(cut(service), indent=1, sort_keys=True) + "\n", encoding="utf-8")
        print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
