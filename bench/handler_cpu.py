"""Handler CPU against a bare Chalice route that makes the same DynamoDB calls.

DynamoDB is answered at botocore's transport (``URLLib3Session.send``, as infra/coldstart.py does) with the answers
the embedded DynamoDB gave to the very same requests: no server, no moto in the timed part, so what is measured is
our code (routing, auth, validation, rules, pynamodb, serialization) against the least a handler making those calls
can do (Chalice's own routing, botocore's serialization and signing of the same requests, parsing the answers).
Both are invoked as Lambda does, ``app(event, context)`` with API Gateway events, warm; the CPU time of this process
(``time.process_time``) over many invocations, interleaved in rounds so a busy moment of the machine hits both.

The calls are recorded over ``WINDOW`` consecutive requests, not one: a warm instance spends per-key rate tokens it
leased (``key_rate.LEASE`` at a time), so one request in ``LEASE`` also makes the lease's UpdateItem. The handler
is answered in turn by target and the bare route replays the same requests' calls in the same order, so both make
that write equally often. (Recording one request left the lease's UpdateItem unanswered: the handler then paid a
failed call and a logged traceback on every request, which no instance does, and the bare route never wrote.)

It runs on the Python the function ships on (the Lambda runtime's, the Makefile's .venv-lambda: what Lambda
would spend), in a process of its own that the embedded DynamoDB of this one answers while it records; and on this
development Python too, reported beside it. The runtime's ratio is the one held against the target.

    python -m bench.handler_cpu [--iterations 300] [--rounds 5]     # prints JSON
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import statistics
import subprocess
import time
from collections.abc import Callable, Iterator
from typing import Any

from bench.world import OPERATOR, PEPPER, TRUSTED, progress, run_main
from infra.coldstart import LAMBDA_PYTHON, ROOT

# The per-key limiter stays on (its call is part of the handler's work) but never refuses: this sends hundreds of
# requests a second with one key, and an instance that knows a bucket is empty refuses without a call.
NO_REFUSAL_LIMITS = '{"api_key": {"count": 1000000, "per_seconds": 1}, "lookup": null, "open_holds": null}'
WINDOW = 10  # requests recorded per operation: two whole leases of the per-key limiter (key_rate.LEASE = 5)


class Context:
    function_name = "bench"
    memory_limit_in_mb = 512
    aws_request_id = "bench"

    def get_remaining_time_in_millis(self) -> int:
        return 20_000


def api_event(
    method: str, path: str, resource: str, params: dict[str, str], key: str, body: Any = None
) -> dict[str, Any]:
    """An API Gateway proxy event, as Lambda receives it."""
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": {"Authorization": f"Bearer {key}", "Content-Type": "application/json", "Host": "bench"},
        "multiValueHeaders": {},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": params or None,
        "stageVariables": None,
        "isBase64Encoded": False,
        "requestContext": {"resourcePath": resource, "httpMethod": method, "requestId": "bench", "path": path},
        "body": json.dumps(body) if body is not None else None,
    }


Exchange = tuple[str, dict[str, Any], int, dict[str, str], bytes]  # target, request body, status, headers, answer


class Transport:
    """botocore's transport, recording the exchanges or replaying them."""

    def __init__(self) -> None:
        from botocore import httpsession

        self.httpsession = httpsession
        self.original = httpsession.URLLib3Session.send
        self.log: list[Exchange] = []
        self.answers: dict[str, Iterator[Exchange]] = {}

    def record(self) -> None:
        original, log = self.original, self.log

        def recorder(session: Any, request: Any) -> Any:
            response = original(session, request)
            body = json.loads(request.body) if request.body else {}
            log.append((_target(request), body, response.status_code, dict(response.headers), response.content))
            return response

        self.httpsession.URLLib3Session.send = recorder

    def replay(self, exchanges: list[Exchange]) -> None:
        """Answer each request with a recorded answer to a request of the same kind, in turn."""
        from botocore.awsrequest import AWSResponse

        by_target: dict[str, list[Exchange]] = {}
        for exchange in exchanges:
            by_target.setdefault(exchange[0], []).append(exchange)
        self.answers = {t: itertools.cycle(e) for t, e in by_target.items()}
        answers = self.answers

        class Raw:
            def __init__(self, body: bytes) -> None:
                self.body = body

            def stream(self, **_: Any) -> Iterator[bytes]:
                yield self.body

        def replayer(session: Any, request: Any) -> Any:
            _, _, status, headers, content = next(answers[_target(request)])
            return AWSResponse(request.url, status, headers, Raw(content))

        self.httpsession.URLLib3Session.send = replayer

    def restore(self) -> None:
        self.httpsession.URLLib3Session.send = self.original


def _target(request: Any) -> str:
    target = request.headers.get("X-Amz-Target", b"")
    return target.decode() if isinstance(target, bytes) else str(target)


Script = list[list[tuple[str, dict[str, Any]]]]  # per recorded request: its calls (operation, parameters) in order


def bare_app(endpoint: str, scripts: dict[str, Script], *, validated: bool = False) -> Any:
    """A Chalice app whose routes only make the recorded DynamoDB calls, with one botocore client: each request
    the calls of the next recorded request, in turn.

    The client is configured as the handler's own: no client-side parameter validation (pynamodb's; it walks every
    request's parameters against the service model and is nearly a third of a bare call's CPU), and the service
    model the function ships (``infra/aws_models.py``: without the parameters botocore would evaluate on every call
    to choose an endpoint the named table never changes). The floor is the least a handler making those calls must
    do. ``validated``: botocore's default client instead (its own model, validation on), as a
    ``boto3.client("dynamodb")`` would be; reported beside the floor, never as it."""
    import botocore.session
    from botocore.config import Config
    from chalice.app import Chalice

    from chalicelib.db import aws_session

    session = botocore.session.get_session() if validated else aws_session.session()
    config = None if validated else Config(parameter_validation=False)
    client = session.create_client("dynamodb", "eu-central-1", endpoint_url=endpoint, config=config)
    bare = Chalice("bare")

    turns = {name: itertools.cycle(script) for name, script in scripts.items()}

    def calls(name: str) -> dict[str, Any]:
        answers = [client._make_api_call(operation, params) for operation, params in next(turns[name])]
        return {"calls": len(answers)}

    @bare.route("/v1/customers/{customer_id}/balance", methods=["GET"])
    def balance(customer_id: str) -> dict[str, Any]:
        return calls("balance")

    @bare.route("/v1/accruals", methods=["POST"])
    def accrual() -> dict[str, Any]:
        request = bare.current_request
        assert request is not None
        request.json_body  # noqa: B018 - the body is parsed, as any handler would
        return calls("accrual")

    return bare


def measure_both(iterations: int = 300, rounds: int = 5) -> dict[str, Any]:
    """On the runtime's Python (the result held against the target) and on this one (``development``), one
    embedded DynamoDB answering both while they record."""
    from local import servers

    dynamo = servers.start_dynamodb()
    try:
        shipped = _on_runtime(dynamo.url, iterations, rounds)
        development = measure_all(iterations, rounds, dynamo.url, "loyalty-cpu-dev")
    finally:
        dynamo.stop()
    if shipped is None:  # no runtime Python here (``make bench`` always builds it): this one's, and why
        return {**development, "runtime_python": None, "why": f"{LAMBDA_PYTHON} not found: `make package` makes it"}
    return {**shipped, "development": development}


def _on_runtime(endpoint: str, iterations: int, rounds: int) -> dict[str, Any] | None:
    if not LAMBDA_PYTHON.exists():
        return None
    argv = [str(LAMBDA_PYTHON), "-m", "bench.handler_cpu", "--endpoint", endpoint, "--table", "loyalty-cpu-runtime"]
    argv += ["--iterations", str(iterations), "--rounds", str(rounds)]
    progress(f"handler CPU: on the runtime's Python, {LAMBDA_PYTHON}")
    answer = subprocess.run(argv, cwd=ROOT, stdout=subprocess.PIPE, text=True, check=True)
    measured: dict[str, Any] = json.loads(answer.stdout)
    return measured


def measure_all(iterations: int, rounds: int, endpoint: str, table: str) -> dict[str, Any]:
    """On this Python, against the DynamoDB at ``endpoint`` (only while recording) in a table of its own."""
    from chalice.test import Client

    from app import app
    from chalicelib import db, runtime
    from chalicelib.config import Settings
    from chalicelib.services import auth

    os.environ["LOYALTY_CACHE_SECONDS"] = "3600"  # warm means warm for the whole run: no reload mid-measurement
    runtime.configure(Settings(table, "eu-central-1", endpoint, PEPPER, "p", 65536, None, NO_REFUSAL_LIMITS))
    db.create_table()
    auth.ensure_operator_key(OPERATOR, PEPPER, "2026-01-01T00:00:00+00:00")
    headers = {"Authorization": f"Bearer {OPERATOR}", "Content-Type": "application/json"}
    with Client(app) as http:
        partner = json.loads(
            http.http.post("/v1/admin/partners", headers=headers, body=json.dumps({"name": "cpu", **TRUSTED})).body
        )
        key = partner["api_key"]
        headers["Authorization"] = f"Bearer {key}"
        customer = json.loads(
            http.http.post("/v1/customers", headers=headers, body=json.dumps({"phone": "+79160000321"})).body
        )["customer_id"]
    serial = itertools.count()
    events: dict[str, Callable[[], dict[str, Any]]] = {
        "balance": lambda: api_event(
            "GET",
            f"/v1/customers/{customer}/balance",
            "/v1/customers/{customer_id}/balance",
            {"customer_id": customer},
            key,
        ),
        "accrual": lambda: api_event(
            "POST",
            "/v1/accruals",
            "/v1/accruals",
            {},
            key,
            {"customer_id": customer, "order_id": f"CPU-{next(serial)}", "amount_minor": 100_000},
        ),
    }
    transport = Transport()
    recorded: dict[str, list[Exchange]] = {}
    scripts: dict[str, Script] = {}
    for name, make in events.items():
        for _ in range(3):
            _invoke(app, make())  # warm: caches filled, code paths loaded
        recorded[name], scripts[name] = [], []
        for _ in range(WINDOW):
            transport.log.clear()
            transport.record()
            _invoke(app, make())
            transport.restore()
            recorded[name] += transport.log
            scripts[name].append([(t.rpartition(".")[2], body) for t, body, *_ in transport.log])
        progress(f"handler CPU: {name} makes {_calls(scripts[name])} per {WINDOW} requests")
    bare = bare_app(endpoint, scripts)
    validated = bare_app(endpoint, scripts, validated=True)
    out: dict[str, Any] = {"iterations": iterations, "rounds": rounds, "python": platform.python_version()}
    try:
        for name, make in events.items():
            transport.replay(recorded[name])
            for target in (app, bare, validated):
                for _ in range(30):
                    _invoke(target, make())
            cpu: dict[str, list[float]] = {"handler": [], "bare": [], "validated": []}
            for _ in range(rounds):
                for label, target in (("handler", app), ("bare", bare), ("validated", validated)):
                    prepared = [make() for _ in range(iterations)]
                    started = time.process_time()
                    for event in prepared:
                        target(event, Context())
                    cpu[label].append((time.process_time() - started) / iterations)
            # The median of the rounds' ratios: a round the machine was busy for moves one ratio, not the result.
            ratios = [h / b for h, b in zip(cpu["handler"], cpu["bare"], strict=True)]
            out[name] = {
                "calls": _typical(scripts[name]),
                "calls_per_window": _calls(scripts[name]),
                "window": WINDOW,
                "handler_cpu_ms": round(statistics.median(cpu["handler"]) * 1000, 3),
                "bare_cpu_ms": round(statistics.median(cpu["bare"]) * 1000, 3),
                "ratio": round(statistics.median(ratios), 2),
                "round_ratios": [round(r, 2) for r in ratios],
                # against a bare route on botocore's default client (parameter validation on): for reference only
                "bare_validated_cpu_ms": round(statistics.median(cpu["validated"]) * 1000, 3),
                "ratio_to_validated": round(
                    statistics.median(h / v for h, v in zip(cpu["handler"], cpu["validated"], strict=True)), 2
                ),
                "target_ratio": 1.3,
            }
            out[name].update(_split(app, bare, make, iterations))
            progress(f"handler CPU, python {out['python']}: {name}: {out[name]}")
    finally:
        transport.restore()
    return out


def _split(app: Any, bare: Any, make: Callable[[], dict[str, Any]], iterations: int) -> dict[str, float]:
    """Where each request's CPU goes, in a separate pass (the timer around every botocore call is not in the rounds
    above): inside botocore's ``_make_api_call`` and around it, for the handler and for the bare route. The same
    calls can cost botocore more inside the handler than in the bare route's tight loop (the handler's own work
    between calls leaves botocore's code and data colder), so this shows which part of the gap is our code."""
    from botocore.client import BaseClient

    original = BaseClient._make_api_call
    spent = [0.0]

    def timed(client: Any, operation: str, params: dict[str, Any]) -> Any:
        started = time.process_time()
        try:
            return original(client, operation, params)
        finally:
            spent[0] += time.process_time() - started

    split: dict[str, float] = {}
    BaseClient._make_api_call = timed
    try:
        for label, target in (("handler", app), ("bare", bare)):
            prepared = [make() for _ in range(iterations)]
            spent[0] = 0.0
            started = time.process_time()
            for event in prepared:
                target(event, Context())
            total = (time.process_time() - started) / iterations
            split[f"{label}_botocore_ms"] = round(spent[0] / iterations * 1000, 3)
            split[f"{label}_rest_ms"] = round((total - spent[0] / iterations) * 1000, 3)
    finally:
        BaseClient._make_api_call = original
    return split


def _calls(script: Script) -> dict[str, int]:
    """How many calls of each operation the recorded requests made, together."""
    counted: dict[str, int] = {}
    for request in script:
        for operation, _ in request:
            counted[operation] = counted.get(operation, 0) + 1
    return counted


def _typical(script: Script) -> list[str]:
    """The calls most of the recorded requests made (a request that also leased rate tokens makes one more)."""
    shapes = [tuple(operation for operation, _ in request) for request in script]
    return list(statistics.mode(shapes))


def _invoke(target: Any, event: dict[str, Any]) -> None:
    answer = target(event, Context())
    if answer["statusCode"] >= 300:
        raise RuntimeError(f"{event['path']}: {answer['statusCode']} {answer.get('body')}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--iterations", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    # The runtime's process: the parent's DynamoDB and a table of its own (this Python alone, nothing started)
    parser.add_argument("--endpoint")
    parser.add_argument("--table", default="loyalty-cpu")
    args = parser.parse_args()
    if args.endpoint:
        run_main(lambda: measure_all(args.iterations, args.rounds, args.endpoint, args.table))
    else:
        run_main(lambda: measure_both(args.iterations, args.rounds))


if __name__ == "__main__":
    main()
