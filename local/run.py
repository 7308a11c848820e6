"""``make run``: the whole product on this machine, no AWS account needed.

Starts an embedded DynamoDB unless AWS_ENDPOINT_URL_DYNAMODB points elsewhere, the API on http://127.0.0.1:$PORT,
seeds the demo coalition on a first run unless LOYALTY_DEMO=0, and prints the keys to try it with.

Data survives a restart: the embedded tables are saved under LOYALTY_DATA_DIR (default ``.local/``) every few seconds
and at shutdown, and restored at start, with the secrets that make yesterday's keys and links verify
(local/data_dir.py). ``FRESH=1`` starts empty (the old data moves aside to ``*.previous``). SIGINT or SIGTERM stops
it within 5 seconds, saving first.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from dataclasses import dataclass, replace
from datetime import timedelta
from types import FrameType
from typing import Any

from local import servers
from local.data_dir import DataDir
from local.dispatcher_loop import DispatcherLoop
from local.saved_tables import SavedTables

DEV_WEBHOOK_SECRET = "dev-telegram-webhook-secret"  # make run only; in AWS it comes from SSM
SEEDING_LIMITS = '{"api_key": null, "lookup": null, "open_holds": null}'
STOP_DEADLINE_SECONDS = 4.5  # past it the process ends anyway: SIGTERM must stop it within 5 s
# A dispatcher pass may wait seconds on a partner's webhook (5 s each): the last save must not wait for it. What the
# pass writes after the save is redone at the next start (deliveries are retried until they are recorded).
DISPATCHER_STOP_SECONDS = 1.0


class _Stopped(BaseException):
    """A signal during start-up (seeding, restoring): abandon it, save nothing."""


class _Stopper:
    """SIGINT/SIGTERM: ask the main loop to stop, and make sure the process ends by the deadline whatever hangs."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.serving = False

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        if not self.event.is_set():
            self.event.set()
            deadline = threading.Timer(STOP_DEADLINE_SECONDS, self._force)
            deadline.daemon = True
            deadline.start()
        if not self.serving:
            raise _Stopped

    @staticmethod
    def _force() -> None:
        print("Did not stop in time: exiting now (data saved at the last save).", file=sys.stderr, flush=True)
        os._exit(1)


@dataclass
class _Running:
    """What is up so far, stopped in the reverse order: the API, then the last save, then the DynamoDB."""

    dynamo: servers.Running | None = None
    api: servers.Running | None = None
    saver: SavedTables | None = None
    dispatcher: DispatcherLoop | None = None

    def stop(self) -> None:
        if self.dispatcher is not None:
            self.dispatcher.stop(timeout=DISPATCHER_STOP_SECONDS)
        if self.api is not None:
            self.api.stop()
        if self.saver is not None:
            self.saver.stop()
            print(f"Data saved to {self.saver.path}.", flush=True)
        if self.dynamo is not None:
            self.dynamo.stop()


def main() -> int:
    stopper = _Stopper()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, stopper)
    running = _Running()
    try:
        if not _start(stopper, running, time.monotonic()):
            running.stop()
            return 1
        while not stopper.event.wait(0.5):  # a timeout: the main thread must come back to run signal handlers
            pass
    except _Stopped:
        running.saver = None  # a half-seeded demo must not become the data of the next run
    print("Stopping.", flush=True)
    running.stop()
    return 0


def _start(stopper: _Stopper, running: _Running, started: float) -> bool:
    """Everything up to the banner; False if the API cannot listen."""
    port = int(os.environ.get("PORT", "8000"))
    os.environ.setdefault("LOYALTY_DEV_INBOX", "1")  # messages to customers land in /dev/inbox, never leave
    # Telegram's webhook checks this header; here you play Telegram (docs/notifications.md, "Linking the bot")
    os.environ.setdefault("LOYALTY_TELEGRAM_WEBHOOK_SECRET", DEV_WEBHOOK_SECRET)
    servers.fake_aws_credentials()
    data = DataDir.from_env()
    holder = data.lock()
    if holder is not None:
        print(
            f"Another make run (pid {holder}) is using {data.path}: stop it first, or give this one its own "
            "LOYALTY_DATA_DIR.",
            file=sys.stderr,
        )
        return False
    if os.environ.get("FRESH") == "1":
        data.start_fresh()
    kept = data.secrets()
    os.environ.setdefault("LOYALTY_KEY_PEPPER", kept["key_pepper"])
    os.environ.setdefault("LOYALTY_PORTAL_SECRET", kept["portal_secret"])
    operator_key = os.environ.get("LOYALTY_OPERATOR_KEY") or kept["operator_key"]

    saver = None
    if not os.environ.get("AWS_ENDPOINT_URL_DYNAMODB"):
        running.dynamo = servers.start_dynamodb()
        os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = running.dynamo.url
        assert running.dynamo.app is not None
        saver = SavedTables(data.tables, running.dynamo.app)

    from chalicelib import db, runtime
    from chalicelib.clock import ManualClock, SystemClock
    from chalicelib.config import Settings
    from chalicelib.services import auth

    settings = Settings.from_env()
    if settings.public_base_url is None:
        settings = replace(settings, public_base_url=f"http://127.0.0.1:{port}")
    seed_clock = ManualClock(SystemClock().now() - timedelta(days=14))
    # Seeding sends weeks of history in seconds on a clock that barely moves: no rate limits for it (docs/security.md)
    runtime.configure(replace(settings, limits=SEEDING_LIMITS), seed_clock)
    fresh = not data.has_data() if saver is not None else not db.EntryItem.exists()
    db.create_table()
    restored = saver.restore() if saver is not None else 0
    auth.ensure_operator_key(operator_key, settings.key_pepper, seed_clock.now().isoformat())

    try:
        running.api = servers.start_api(port=port)
    except OSError as exc:
        print(f"Cannot listen on 127.0.0.1:{port} ({exc}). Set PORT to a free port.", file=sys.stderr)
        return False
    url = running.api.url

    demo = data.demo() if not fresh else None
    if fresh and os.environ.get("LOYALTY_DEMO", "1") != "0":
        from local.demo import seed

        seeded = seed(url, operator_key, seed_clock)
        data.save_demo(seeded.partners, seeded.customers)
        demo = data.demo()
    runtime.configure(settings, SystemClock())
    running.dispatcher = DispatcherLoop().start()  # webhooks: what a DynamoDB Stream does in AWS
    if saver is not None:
        saver.save()  # the seeded demo is on disk before the first request
        saver.start()
        running.saver = saver
    stopper.serving = True

    if saver is None:
        where = f"in the DynamoDB at {os.environ['AWS_ENDPOINT_URL_DYNAMODB']}; keys and secrets in {data.path}"
    else:
        where = f"{data.tables}  ({'new' if fresh else f'{restored} items restored'})"
    print(_banner(url, operator_key, where, demo, started), flush=True)
    return True


def _banner(url: str, operator_key: str, where: str, demo: dict[str, Any] | None, started: float) -> str:
    lines = [
        "",
        f"Coalition loyalty network is up ({time.monotonic() - started:.1f} s).",
        f"  API            {url}   (OpenAPI: {url}/openapi.json)",
        f"  DynamoDB       {os.environ['AWS_ENDPOINT_URL_DYNAMODB']}",
        f"  Data           {where}",
        "                 kept across restarts; FRESH=1 make run starts empty",
        f"  Operator key   {operator_key}",
    ]
    if os.environ["LOYALTY_DEV_INBOX"] == "1":
        lines.append(f"  Dev inbox      {url}/dev/inbox   (every SMS, e-mail and Telegram message, codes included)")
    if demo is not None:
        lines += _demo_lines(url, demo)
    lines += ["", "Ctrl-C stops everything."]
    return "\n".join(lines)


def _demo_lines(url: str, demo: dict[str, Any]) -> list[str]:
    from local.demo import OPERATOR_STAFF, OWNERS, STAFF, http

    lines = ["  Partner keys"]
    for p in demo["partners"].values():
        lines.append(f"    {p['name']:<14} {p['partner_id']}  {p['api_key']}")
    customers: dict[str, str] = demo["customers"]
    lines.append("  Customers      " + ", ".join(f"{k}={v}" for k, v in customers.items()))
    cafe_key = demo["partners"]["uyut"]["api_key"]
    anna = customers["anna"]
    # The link goes to the customer, never to the partner; here the customer's SMS is the dev inbox.
    _, sent = http(url, "POST", f"/v1/customers/{anna}/portal-link", cafe_key, {"ttl_minutes": 60 * 24 * 30})
    where = f"sent by {sent['channel']} to {sent['destination']}" if sent and "channel" in sent else "not sent"
    return [
        *lines,
        f"  Anna's page    {where}: open it from the dev inbox, {url}/dev/inbox",
        f"                 or sign in as Anna at {url}/me/sign-in (+7 916 123-45-67; the code lands there too)",
        "  Screens        sign in with the phone; the one-time code lands in the dev inbox",
        f"    Till         {url}/till     cashier {_person(STAFF[0][1:3])} (Уют)",
        f"    Portal       {url}/portal   owner {_person(OWNERS['uyut'])} (Уют); accountant "
        f"{_person(STAFF[1][1:3])} (Уют); marketer {_person(STAFF[2][1:3])} (Стиль)",
        f"    Console      {url}/admin    operator {_person(OPERATOR_STAFF[:2])}",
        "  Telegram       press Connect Telegram on Anna's page, then play Telegram: POST the update "
        f"to {url}/telegram/webhook (docs/notifications.md)",
        "",
        "Try it (Уют spends points only with the customer's code):",
        f"  curl -s -H 'Authorization: Bearer {cafe_key}' {url}/v1/customers/{anna}/balance",
        f"  curl -s -X POST -H 'Authorization: Bearer {cafe_key}' {url}/v1/customers/{anna}/spend-code",
        f"  curl -s {url}/dev/inbox.json   # the code Anna received",
        f"  curl -s -H 'Authorization: Bearer {cafe_key}' -H 'Content-Type: application/json' "
        f'-d \'{{"customer_id": "{anna}", "order_id": "UYUT-2001", "order_amount_minor": 40000, '
        f'"points": 10, "customer_code": "<code>"}}\' {url}/v1/redemptions',
    ]


def _person(contact: tuple[str, str]) -> str:
    phone, name = contact
    return f"{name.split()[0]} {phone}"


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # Everything is saved and stopped: skip tearing down the interpreter's objects, which takes seconds of CPU on a
    # busy machine and would push a SIGTERM past its 5 s.
    os._exit(code)
