"""Hostile process tests of `make run` (local/run.py): a second run on the same data directory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.test_make_run import ROOT, _free_port, _start


def _env(data_dir: Path, port: int, **extra: str) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("LOYALTY_", "AWS_ENDPOINT_URL"))}
    environment.update(LOYALTY_DATA_DIR=str(data_dir), PORT=str(port), PYTHONIOENCODING="utf-8", **extra)
    return environment


def test_a_fresh_run_that_cannot_listen_leaves_the_running_ones_data_alone(tmp_path: Path) -> None:
    first = _start(tmp_path)
    try:
        operator = first.field(r"Operator key\s+(\S+)")
        cafe = first.field(r"Уют\s+ptn_\w+\s+(\S+)")
        port = int(first.url.rsplit(":", 1)[1])
        # FRESH=1 make run in another terminal, the first one forgotten: same port, same data directory
        second = subprocess.run(
            [sys.executable, "-m", "local.run"],
            cwd=ROOT,
            env=_env(tmp_path, port, FRESH="1"),
            capture_output=True,
            text=True,
            timeout=90,
        )
        assert second.returncode != 0, second.stdout + second.stderr
        assert first.terminate() < 5
    finally:
        first.process.kill()
    third = _start(tmp_path)
    try:
        assert third.field(r"Operator key\s+(\S+)") == operator, "the keys the first run printed no longer work"
        assert "Partner keys" in third.banner
        assert third.field(r"Уют\s+ptn_\w+\s+(\S+)") == cafe
    finally:
        third.terminate()
        third.process.kill()


def test_two_runs_on_one_data_directory_do_not_lose_each_others_writes(tmp_path: Path) -> None:
    first = _start(tmp_path)
    try:
        cafe = first.field(r"Уют\s+ptn_\w+\s+(\S+)")
        anna = first.field(r"anna=(cus_\w+)")
        # another port, the same LOYALTY_DATA_DIR: it would save its own, older tables over the first's at its stop
        second = subprocess.run(
            [sys.executable, "-m", "local.run"],
            cwd=ROOT,
            env=_env(tmp_path, _free_port()),
            capture_output=True,
            text=True,
            timeout=90,
        )
        assert second.returncode != 0 and f"pid {first.process.pid}" in second.stderr, second.stdout + second.stderr
        earned = first.call(
            "POST", "/v1/accruals", cafe, {"customer_id": anna, "order_id": "TWO-RUNS-1", "amount_minor": 100_000}
        )
        assert earned[0] == 201, earned
        _, balance = first.call("GET", f"/v1/customers/{anna}/balance", cafe)
        assert first.terminate() < 5
    finally:
        first.process.kill()
    third = _start(tmp_path)  # the lock went with the first process
    try:
        assert third.call("GET", f"/v1/customers/{anna}/balance", cafe) == (200, balance)
    finally:
        third.terminate()
        third.process.kill()
