"""``make run``: the whole product on this machine, no AWS account needed.

Starts an embedded DynamoDB (moto) unless AWS_ENDPOINT_URL_DYNAMODB points elsewhere, the API on
http://127.0.0.1:$PORT, seeds the demo coalition unless LOYALTY_DEMO=0, and prints the keys to try it with.
"""

from __future__ import annotations

import os
import secrets
import signal
import sys
import threading
from dataclasses import replace
from datetime import timedelta

from local import servers

DEV_WEBHOOK_SECRET = "dev-telegram-webhook-secret"  # make run only; in AWS it comes from SSM
SEEDING_LIMITS = '{"api_key": null, "lookup": null, "open_holds": null}'


def main() -> int:
    port = int(os.environ.get("PORT", "8000"))
    os.environ.setdefault("LOYALTY_DEV_INBOX", "1")  # messages to customers land in /dev/inbox, never leave (issue 17)
    # Telegram's webhook checks this header; here you play Telegram (docs/notifications.md, "Linking the bot")
    os.environ.setdefault("LOYALTY_TELEGRAM_WEBHOOK_SECRET", DEV_WEBHOOK_SECRET)
    servers.fake_aws_credentials()
    dynamo = None
    if not os.environ.get("AWS_ENDPOINT_URL_DYNAMODB"):
        dynamo = servers.start_dynamodb()
        os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = dynamo.url

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
    db.create_table()
    operator_key = os.environ.get("LOYALTY_OPERATOR_KEY") or "op_" + secrets.token_urlsafe(24)
    auth.ensure_operator_key(operator_key, settings.key_pepper, seed_clock.now().isoformat())

    try:
        api = servers.start_api(port=port)
    except OSError as exc:
        print(f"Cannot listen on 127.0.0.1:{port} ({exc}). Set PORT to a free port.", file=sys.stderr)
        return 1

    demo = None
    if os.environ.get("LOYALTY_DEMO", "1") != "0":
        from local.demo import seed

        demo = seed(api.url, operator_key, seed_clock)
    runtime.configure(settings, SystemClock())

    lines = [
        "",
        "Coalition loyalty network is up.",
        f"  API            {api.url}   (OpenAPI: {api.url}/openapi.json)",
        f"  DynamoDB       {os.environ['AWS_ENDPOINT_URL_DYNAMODB']}{'  (embedded moto)' if dynamo else ''}",
        f"  Operator key   {operator_key}",
    ]
    if os.environ["LOYALTY_DEV_INBOX"] == "1":
        lines.append(f"  Dev inbox      {api.url}/dev/inbox   (every SMS, e-mail and Telegram message, codes included)")
    if demo is not None:
        lines.append("  Partner keys")
        for p in demo.partners.values():
            lines.append(f"    {p['name']:<14} {p['partner_id']}  {p['api_key']}")
        lines.append("  Customers      " + ", ".join(f"{k}={v}" for k, v in demo.customers.items()))
        cafe_key = demo.partners["uyut"]["api_key"]
        anna = demo.customers["anna"]
        from local.demo import http

        # Issue 17: the link goes to the customer, never to the partner; here the customer's SMS is the dev inbox.
        _, sent = http(api.url, "POST", f"/v1/customers/{anna}/portal-link", cafe_key, {"ttl_minutes": 60 * 24 * 30})
        where = f"sent by {sent['channel']} to {sent['destination']}" if sent and "channel" in sent else "not sent"
        lines.append(f"  Anna's page    {where}: open it from the dev inbox, {api.url}/dev/inbox")
        lines.append(
            f"                 or sign in as Anna at {api.url}/me/sign-in (+7 916 123-45-67; the code lands there too)"
        )
        lines.append(f"  Partner portal {api.url}/portal   (sign in with a partner key)")
        lines.append(
            "  Telegram       press Connect Telegram on Anna's page, then play Telegram: POST the update "
            f"to {api.url}/telegram/webhook (docs/notifications.md)"
        )
        lines += [
            "",
            "Try it (Уют spends points only with the customer's code):",
            f"  curl -s -H 'Authorization: Bearer {cafe_key}' {api.url}/v1/customers/{anna}/balance",
            f"  curl -s -X POST -H 'Authorization: Bearer {cafe_key}' {api.url}/v1/customers/{anna}/spend-code",
            f"  curl -s {api.url}/dev/inbox.json   # the code Anna received",
            f"  curl -s -H 'Authorization: Bearer {cafe_key}' -H 'Content-Type: application/json' "
            f'-d \'{{"customer_id": "{anna}", "order_id": "UYUT-2001", "order_amount_minor": 40000, '
            f'"points": 10, "customer_code": "<code>"}}\' {api.url}/v1/redemptions',
        ]
    lines += ["", "Ctrl-C stops everything."]
    print("\n".join(lines), flush=True)

    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    stop.wait()
    print("Stopping.", flush=True)
    api.stop()
    if dynamo is not None:
        dynamo.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
