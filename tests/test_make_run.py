"""`make run` (local/run.py) as its user sees it, in real processes: yesterday's keys, customers, balances and links
still work after a restart; FRESH=1 starts empty; SIGTERM ends it within 5 s, even with a browser's connection open;
and its venv (requirements-run.txt, installed with --no-deps) lacks nothing it imports."""

from __future__ import annotations

import http.cookiejar
import json
import os
import queue
import re
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
STOP_WITHIN_SECONDS = 5.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Run:
    process: subprocess.Popen[str]
    url: str
    banner: str

    def call(self, method: str, path: str, key: str | None = None, body: Any = None) -> tuple[int, Any]:
        headers = {"Content-Type": "application/json"}
        if key:
            headers["Authorization"] = f"Bearer {key}"
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                raw = response.read()
                return response.status, json.loads(raw) if raw[:1] in (b"{", b"[") else raw
        except urllib.error.HTTPError as err:
            return err.code, err.read()

    def browse(self, path: str) -> tuple[int, bytes]:
        """GET a page as a browser would: cookies kept across the redirect a link answers with."""
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        with opener.open(self.url + path, timeout=30) as response:
            return response.status, response.read()

    def field(self, pattern: str) -> str:
        found = re.search(pattern, self.banner)
        assert found, f"{pattern!r} not in the banner:\n{self.banner}"
        return found.group(1)

    def terminate(self) -> float:
        """SIGTERM; the seconds until the process has exited."""
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=STOP_WITHIN_SECONDS + 5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        return time.monotonic() - started


def _env(data_dir: Path, port: int, **env: str) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("LOYALTY_", "AWS_ENDPOINT_URL"))}
    environment.update(LOYALTY_DATA_DIR=str(data_dir), PORT=str(port), PYTHONIOENCODING="utf-8", **env)
    return environment


def _start(data_dir: Path, **env: str) -> Run:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "local.run"],
        cwd=ROOT,
        env=_env(data_dir, port, **env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        encoding="utf-8",
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stdout or ()], daemon=True).start()
    banner: list[str] = []
    deadline = time.monotonic() + 90
    while not banner or "Ctrl-C stops everything." not in banner[-1]:
        try:
            banner.append(lines.get(timeout=max(0.1, deadline - time.monotonic())))
        except queue.Empty:
            process.kill()
            raise AssertionError("make run did not come up:\n" + "".join(banner)) from None
    return Run(process, f"http://127.0.0.1:{port}", "".join(banner))


def test_a_restart_keeps_keys_customers_balances_and_links_and_sigterm_stops_it(tmp_path: Path) -> None:
    first = _start(tmp_path)
    try:
        assert f"Data           {tmp_path / 'dynamodb.json'}  (new)" in first.banner
        operator = first.field(r"Operator key\s+(\S+)")
        cafe = first.field(r"Уют\s+ptn_\w+\s+(\S+)")
        anna = first.field(r"anna=(cus_\w+)")
        # a write after start-up: saved at shutdown, not only with the seeded demo
        earned = first.call(
            "POST", "/v1/accruals", cafe, {"customer_id": anna, "order_id": "AFTER-START-1", "amount_minor": 100_000}
        )
        assert earned[0] == 201, earned
        status, balance = first.call("GET", f"/v1/customers/{anna}/balance", cafe)
        assert status == 200
        _, inbox = first.call("GET", "/dev/inbox.json")
        link = next(re.search(r"https?://\S+", m["text"]).group() for m in inbox if m["purpose"] == "portal_link")
        # A browser's open connection must not keep the process alive after SIGTERM
        browser = socket.create_connection(("127.0.0.1", int(first.url.rsplit(":", 1)[1])))
        took = first.terminate()
        browser.close()
    finally:
        first.process.kill()
    assert first.process.returncode == 0 and took < STOP_WITHIN_SECONDS, (first.process.returncode, took)
    for saved in ("dynamodb.json", "secrets.json"):
        assert stat.S_IMODE((tmp_path / saved).stat().st_mode) == 0o600  # hashed keys, the pepper, raw demo keys

    second = _start(tmp_path)
    try:
        assert "items restored" in second.banner
        assert second.field(r"Operator key\s+(\S+)") == operator  # the keys it prints are yesterday's
        assert second.field(r"Уют\s+ptn_\w+\s+(\S+)") == cafe
        assert second.call("GET", f"/v1/customers/{anna}/balance", cafe) == (200, balance)
        assert second.call("GET", "/v1/admin/partners", operator)[0] == 200
        path = link.split("/", 3)[3]
        opened = second.browse("/" + path)
        assert opened[0] == 200 and "Анна".encode() in opened[1], opened[0]  # yesterday's link still opens her page
        again = second.call(
            "POST", "/v1/accruals", cafe, {"customer_id": anna, "order_id": "AFTER-START-1", "amount_minor": 100_000}
        )
        assert again[0] < 500, again  # the order was kept: its replay earns nothing twice
        assert second.call("GET", f"/v1/customers/{anna}/balance", cafe) == (200, balance)
        assert second.terminate() < STOP_WITHIN_SECONDS
    finally:
        second.process.kill()

    fresh = _start(tmp_path, FRESH="1", LOYALTY_DEMO="0")
    try:
        assert "(new)" in fresh.banner and "Partner keys" not in fresh.banner
        assert fresh.call("GET", f"/v1/customers/{anna}/balance", cafe)[0] == 401
        assert fresh.call("GET", "/v1/admin/partners", operator)[0] == 401
        assert fresh.terminate() < STOP_WITHIN_SECONDS
    finally:
        fresh.process.kill()
    assert (tmp_path / "dynamodb.json.previous").exists()  # a slip of FRESH=1 can be undone


# Chalice's CLI needs these; its local server and app do not (requirements-run.txt installs Chalice with --no-deps).
CHALICE_CLI_ONLY = {"click", "inquirer", "pip", "setuptools", "wheel"}


def _second_run(data_dir: Path, port: int, **env: str) -> subprocess.CompletedProcess[str]:
    """Another ``make run`` started on ``data_dir`` and ``port``, to its end."""
    return subprocess.run(
        [sys.executable, "-m", "local.run"],
        cwd=ROOT,
        env=_env(data_dir, port, **env),
        capture_output=True,
        text=True,
        timeout=90,
    )


def test_a_fresh_run_forgotten_beside_a_running_one_leaves_its_data_and_keys_alone(tmp_path: Path) -> None:
    """``FRESH=1 make run`` in another terminal, the first one forgotten (same port, same data): it moved the first's
    data and secrets aside before finding the port taken, so the keys the first run printed stopped working."""
    first = _start(tmp_path)
    try:
        operator = first.field(r"Operator key\s+(\S+)")
        cafe = first.field(r"Уют\s+ptn_\w+\s+(\S+)")
        second = _second_run(tmp_path, int(first.url.rsplit(":", 1)[1]), FRESH="1")
        assert second.returncode != 0 and f"pid {first.process.pid}" in second.stderr, second.stdout + second.stderr
        assert first.terminate() < 5
    finally:
        first.process.kill()
    third = _start(tmp_path)
    try:
        assert third.field(r"Operator key\s+(\S+)") == operator, "the keys the first run printed no longer work"
        assert third.field(r"Уют\s+ptn_\w+\s+(\S+)") == cafe
    finally:
        third.terminate()
        third.process.kill()


def test_a_second_run_on_the_same_data_stops_before_it_can_save_over_the_first(tmp_path: Path) -> None:
    """Another port, the same ``LOYALTY_DATA_DIR``: it would have saved its own older tables over the first's at its
    stop (an accrual answered 201 gone after the restart). It stops at once, naming the run that holds the data."""
    first = _start(tmp_path)
    try:
        cafe = first.field(r"Уют\s+ptn_\w+\s+(\S+)")
        anna = first.field(r"anna=(cus_\w+)")
        second = _second_run(tmp_path, _free_port())
        assert second.returncode != 0 and f"pid {first.process.pid}" in second.stderr, second.stdout + second.stderr
        order = {"customer_id": anna, "order_id": "TWO-RUNS-1", "amount_minor": 100_000}
        assert first.call("POST", "/v1/accruals", cafe, order)[0] == 201
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


def _pinned(path: Path) -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("-r "):
            pins.update(_pinned(path.parent / line[3:].strip()))
        elif line:
            requirement = Requirement(line)
            pins[_normal(requirement.name)] = str(requirement.specifier)
    return pins


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_the_serving_requirements_pin_everything_they_need() -> None:
    """Installed with --no-deps, requirements-run.txt must name every package its packages require (and a package
    added to requirements.txt brings its own dependencies here too)."""
    pins = _pinned(ROOT / "requirements-run.txt")
    missing = set()
    for name in pins:
        for spec in metadata.requires(name) or []:
            requirement = Requirement(spec)
            if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
                continue
            needed = _normal(requirement.name)
            if needed not in pins and not (name == "chalice" and needed in CHALICE_CLI_ONLY):
                missing.add(f"{needed} (for {name})")
    assert not missing, f"add to requirements-run.txt: {sorted(missing)}"
    for name, specifier in pins.items():
        assert specifier.startswith("=="), f"{name}: pin one version ({specifier})"
        assert metadata.version(name) == specifier[2:], f"{name}: the dev venv has {metadata.version(name)}"
