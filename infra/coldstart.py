"""Cold start of the zip as shipped, against the floor of the stack, in one run (these machines are noisy).

Each sample is a fresh process of the Lambda runtime's Python (the Makefile's .venv-lambda) that
- "shipped": unpacks nothing (build/deployment.zip is unpacked once, like Lambda's /var/task), imports ``app`` as
  Lambda does, with Lambda's environment (so the settings and the secrets load at init: one GetParameters), and
  serves one balance request (GET /v1/customers/{id}/balance with a partner's key);
- "no bytecode": the same without the zip's __pycache__ (what shipped before);
- "floor": imports boto3, pydantic and chalice, builds one DynamoDB client and makes one GetItem. pydantic 2 loads
  lazily: ``import pydantic`` alone loads almost nothing, so the floor imports ``BaseModel``, what any use of
  pydantic (the stack's requests and responses) costs at least (a fair floor; the bench reports the old one too).
DynamoDB and SSM answer from a recording at botocore's transport (``URLLib3Session.send``): each process gets the
exact bytes moto answered when the same process ran against it once, so no sample waits on a server.

    .venv/bin/python -m infra.coldstart [--repeat 9]     # after make package; prints JSON
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import tempfile
import time
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
ZIP = ROOT / "build" / "deployment.zip"
LAMBDA_PYTHON = ROOT / ".venv-lambda" / "bin" / "python"
PEPPER, PORTAL = "cold-pepper", "cold-portal"

# Runs in each measured process: replays (or, once, records) the AWS answers, then does its one job.
DRIVER = r"""
import json, sys, types
mode, recording, target, code_dir = sys.argv[1:5]
if code_dir:
    sys.path.insert(0, code_dir)  # like Lambda's /var/task, ahead of the runtime's own packages
from botocore import awsrequest, httpsession
send = httpsession.URLLib3Session.send
if mode == "record":
    log = []
    def recorder(self, request):
        response = send(self, request)
        target = request.headers.get("X-Amz-Target", "")
        target = target.decode() if isinstance(target, bytes) else target
        log.append([target, response.status_code, dict(response.headers.items()), response.content.decode()])
        return response
    httpsession.URLLib3Session.send = recorder
else:
    answers = json.load(open(recording))
    class Raw:
        def __init__(self, body): self.body = body
        def stream(self, **_): yield self.body
    def replayer(self, request):
        wanted, status, headers, body = answers.pop(0)
        sent = request.headers.get("X-Amz-Target", "")
        sent = sent.decode() if isinstance(sent, bytes) else sent
        assert sent == wanted, (sent, wanted)
        return awsrequest.AWSResponse(request.url, status, headers, Raw(body.encode()))
    httpsession.URLLib3Session.send = replayer
if target in ("floor", "floor_lazy_pydantic"):
    import boto3, pydantic, chalice.app
    if target == "floor":
        from pydantic import BaseModel
    client = boto3.client("dynamodb")
    client.get_item(TableName="loyalty-cold", Key={"pk": {"S": "cold"}, "sk": {"S": "cold"}}, ConsistentRead=True)
else:
    import app
    context = types.SimpleNamespace(function_name="cold", memory_limit_in_mb=512, aws_request_id="cold",
                                    get_remaining_time_in_millis=lambda: 20000)
    answer = app.app(json.loads(target), context)
    assert answer["statusCode"] == 200, answer
if mode == "record":
    json.dump(log, open(recording, "w"))
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def balance_event(customer_id: str, key: str) -> dict[str, Any]:
    resource = "/v1/customers/{customer_id}/balance"
    path = f"/v1/customers/{customer_id}/balance"
    return {
        "resource": resource,
        "path": path,
        "httpMethod": "GET",
        "headers": {"Authorization": f"Bearer {key}", "Host": "cold.example"},
        "multiValueHeaders": {},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": {"customer_id": customer_id},
        "stageVariables": None,
        "isBase64Encoded": False,
        "requestContext": {"resourcePath": resource, "httpMethod": "GET", "requestId": "cold", "path": path},
        "body": None,
    }


def seed(endpoint: str) -> dict[str, Any]:
    """A partner, its key and a customer with points, in the moto server; the SSM parameters of the secrets."""
    import boto3
    from chalice.test import Client

    from app import app
    from chalicelib import db, runtime
    from chalicelib.config import Settings
    from chalicelib.services import auth
    from tests.conftest import Api

    ssm = boto3.client("ssm", endpoint_url=endpoint)
    ssm.put_parameter(Name="/cold/key-pepper", Value=PEPPER, Type="SecureString")
    ssm.put_parameter(Name="/cold/portal-secret", Value=PORTAL, Type="SecureString")
    runtime.configure(Settings("loyalty-cold", "eu-central-1", endpoint, PEPPER, PORTAL, 65536, None))
    db.create_table()
    auth.ensure_operator_key("op-cold", PEPPER, datetime.now(UTC).isoformat())
    with Client(app) as client:
        operator = Api(client.http, "op-cold")
        partner = operator.post(
            "/v1/admin/partners", {"name": "Cold", "max_redeem_share_bps": 10_000, "spend_confirmation": "never"}
        ).json
        till = operator.as_key(partner["api_key"])
        customer = till.post("/v1/customers", {"phone": "+79160000077"}).json["customer_id"]
        till.post("/v1/accruals", {"customer_id": customer, "order_id": "COLD-1", "amount_minor": 100_000})
    return balance_event(customer, partner["api_key"])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args()
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)

    base_env = {
        k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "LOYALTY_", "PYTHON")) and k != "VIRTUAL_ENV"
    }
    base_env |= {"AWS_ACCESS_KEY_ID": "cold", "AWS_SECRET_ACCESS_KEY": "cold", "AWS_REGION": "eu-central-1"}
    base_env |= {"AWS_DEFAULT_REGION": "eu-central-1", "PYTHONDONTWRITEBYTECODE": "1"}  # /var/task is read-only
    os.environ.update({k: base_env[k] for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")})
    lambda_env = base_env | {
        "AWS_LAMBDA_FUNCTION_NAME": "coalition-loyalty-prod-APIHandler",
        "LOYALTY_TABLE": "loyalty-cold",
        "LOYALTY_KEY_PEPPER_PARAM": "/cold/key-pepper",
        "LOYALTY_PORTAL_SECRET_PARAM": "/cold/portal-secret",
    }
    port = free_port()
    server = ThreadedMotoServer(port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as work:
        shipped, bare = Path(work, "task"), Path(work, "task-no-bytecode")
        with zipfile.ZipFile(ZIP) as archive:
            archive.extractall(shipped)
            archive.extractall(bare, [n for n in archive.namelist() if "__pycache__/" not in n])
        event = json.dumps(seed(endpoint))
        variants = {
            "shipped": (event, shipped),
            "no_bytecode": (event, bare),
            "floor": ("floor", None),
            "floor_lazy_pydantic": ("floor_lazy_pydantic", None),
        }
        recorded = {}
        for name, (target, code) in variants.items():
            recorded[name] = Path(work, f"{name}.json")
            endpoints = {"AWS_ENDPOINT_URL_DYNAMODB": endpoint, "AWS_ENDPOINT_URL_SSM": endpoint}
            env = (lambda_env if code else base_env) | endpoints
            argv = [str(LAMBDA_PYTHON), "-c", DRIVER, "record", str(recorded[name]), target, str(code or "")]
            subprocess.run(argv, env=env, cwd=work, check=True)  # noqa: S603 - our own interpreter and script
        server.stop()

        def sample(name: str) -> tuple[float, float]:
            target, code = variants[name]
            answers = Path(work, f"{name}-now.json")
            answers.write_bytes(recorded[name].read_bytes())
            argv = [str(LAMBDA_PYTHON), "-c", DRIVER, "replay", str(answers), target, str(code or "")]
            started = time.perf_counter()
            child = subprocess.Popen(argv, env=lambda_env if code else base_env, cwd=work)  # noqa: S603
            _, status, usage = os.wait4(child.pid, 0)
            assert status == 0, name
            return time.perf_counter() - started, usage.ru_utime + usage.ru_stime

        samples: dict[str, list[tuple[float, float]]] = {name: [] for name in variants}
        for _ in range(args.repeat):  # interleaved, so a busy moment of the machine hits each variant alike
            for name in variants:
                samples[name].append(sample(name))
        calls = {n: [target for target, *_ in json.loads(p.read_text())] for n, p in recorded.items()}
    wall = {n: statistics.median(t for t, _ in s) for n, s in samples.items()}
    cpu = {n: statistics.median(c for _, c in s) for n, s in samples.items()}
    print(
        json.dumps(
            {
                "python": subprocess.check_output([str(LAMBDA_PYTHON), "-V"], text=True).strip(),  # noqa: S603
                "repeat": args.repeat,
                "wall_ms": {n: round(v * 1000) for n, v in wall.items()},
                "cpu_ms": {n: round(v * 1000) for n, v in cpu.items()},
                "ratio_shipped_to_floor": round(wall["shipped"] / wall["floor"], 2),
                "ratio_no_bytecode_to_floor": round(wall["no_bytecode"] / wall["floor"], 2),
                "cpu_ratio_shipped_to_floor": round(cpu["shipped"] / cpu["floor"], 2),
                "ratio_shipped_to_floor_lazy_pydantic": round(wall["shipped"] / wall["floor_lazy_pydantic"], 2),
                "aws_calls": calls,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
