"""The development inbox: a bounded ring buffer, newest first, one terminal line per message, /dev/inbox(.json) under
``make run`` only; never in a deployed stack."""

from __future__ import annotations

import io
import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from chalice.app import Chalice
from chalice.test import Client

from chalicelib import runtime
from chalicelib.clock import ManualClock
from chalicelib.notify import Message, NotificationSettings, notifier_for
from chalicelib.notify.inbox import CAPACITY, INBOX, DevInboxNotifier, Inbox
from chalicelib.web.dev_inbox import register
from tests.conftest import START, make_settings

ROOT = Path(__file__).resolve().parents[1]


def code_message(n: int, channel: str = "sms", to: str = "+79161234567") -> Message:
    return Message(channel=channel, to=to, text=f"Ваш код {n:06d}", code=f"{n:06d}", purpose="sign_in")


@pytest.fixture
def clock():
    return ManualClock(START)


def test_the_ring_buffer_keeps_the_newest_and_lists_them_newest_first(clock, capsys):
    inbox = Inbox(capacity=3)
    notifier = DevInboxNotifier(inbox, now=clock.now)
    for n in range(5):
        notifier.send(code_message(n))
        clock.advance(timedelta(seconds=1))
    entries = inbox.entries()
    assert [e.code for e in entries] == ["000004", "000003", "000002"]
    assert [e.sent_at for e in entries] == [(START + timedelta(seconds=s)).isoformat() for s in (4, 3, 2)]
    assert CAPACITY == 200 and Inbox()._entries.maxlen == 200


def test_each_message_is_one_terminal_line_with_a_masked_destination(capsys):
    notifier = DevInboxNotifier(Inbox())
    notifier.send(code_message(123456))
    notifier.send(
        Message(channel="telegram", to="5123451234", text="Один\nhttps://x.example/me?t=1", purpose="portal_link")
    )
    notifier.send(Message(channel="email", to="anna@example.com", text="Привет", purpose="other"))
    assert capsys.readouterr().out.splitlines() == [
        "[inbox] sms to +7 916 ***-**-67: Ваш код 123456",
        "[inbox] telegram to chat …1234: Один ⏎ https://x.example/me?t=1",
        "[inbox] email to a***@example.com: Привет",
    ]


def test_json_shape(clock):
    inbox = Inbox()
    notifier = DevInboxNotifier(inbox, now=clock.now, out=io.StringIO())
    delivery = notifier.send(code_message(42))
    notifier.send(Message(channel="email", to="anna@example.com", text="Ссылка", purpose="portal_link"))
    first, second = (e.as_json() for e in inbox.entries())
    assert first == {
        "to": "anna@example.com",
        "channel": "email",
        "text": "Ссылка",
        "purpose": "portal_link",
        "sent_at": "2026-03-10T09:00:00+00:00",
        "message_id": first["message_id"],
    }  # no code key when the message carries none
    assert second["code"] == "000042" and second["to"] == "+79161234567"
    assert second["message_id"] == delivery.message_id and delivery.provider == "dev_inbox"


def test_codes_are_in_the_inbox_and_not_in_the_logs(caplog, capsys):
    caplog.set_level(logging.DEBUG)
    INBOX.clear()
    notifier_for(NotificationSettings(), dev_inbox=True).send(code_message(918273))
    assert INBOX.entries()[0].code == "918273"
    assert "918273" in capsys.readouterr().out  # the terminal line: the dev inbox's one place to show it
    assert "918273" not in caplog.text and "Ваш код" not in caplog.text
    assert "notify sent channel=sms to=+7 916 ***-**-67 purpose=sign_in provider=dev_inbox" in caplog.text
    INBOX.clear()


# --- routes -------------------------------------------------------------------------------------------------------


def make_app(monkeypatch, flag: str | None) -> tuple[Chalice, bool]:
    if flag is None:
        monkeypatch.delenv("LOYALTY_DEV_INBOX", raising=False)
    else:
        monkeypatch.setenv("LOYALTY_DEV_INBOX", flag)
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME", raising=False)
    runtime.configure(make_settings(), ManualClock(START))
    app = Chalice(app_name="notify-test")
    return app, register(app)


def test_routes_serve_the_inbox_under_make_run(monkeypatch):
    app, registered = make_app(monkeypatch, "1")
    assert registered
    INBOX.clear()
    notifier = DevInboxNotifier(now=lambda: datetime(2026, 11, 29, 8, 0, tzinfo=UTC), out=io.StringIO())
    notifier.send(code_message(111111))
    notifier.send(
        Message(channel="email", to="anna@example.com", text="<script>alert(1)</script> https://x.example/me?a=1&b=2",
                purpose="portal_link")
    )  # fmt: skip
    with Client(app) as client:
        listed = client.http.get("/dev/inbox.json")
        assert listed.status_code == 200 and listed.headers["Content-Type"].startswith("application/json")
        items = json.loads(listed.body)
        assert [i["channel"] for i in items] == ["email", "sms"]  # newest first
        assert {k: items[1][k] for k in ("to", "channel", "text", "code", "sent_at")} == {
            "to": "+79161234567",
            "channel": "sms",
            "text": "Ваш код 111111",
            "code": "111111",
            "sent_at": "2026-11-29T08:00:00+00:00",
        }
        page = client.http.get("/dev/inbox")
        html = page.body.decode()
        assert page.status_code == 200 and page.headers["Content-Type"] == "text/html; charset=utf-8"
        nonce = page.headers["Content-Security-Policy"].split("'nonce-")[1].split("'")[0]
        assert f'<style nonce="{nonce}">' in html and "script-src" not in page.headers["Content-Security-Policy"]
        assert html.startswith("<!DOCTYPE html>") and "<code>111111</code>" in html
        assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # escaped
        assert '<a href="https://x.example/me?a=1&amp;b=2" rel="noreferrer">' in html  # links are clickable
        assert html.index("anna@example.com") < html.index("+79161234567")
    INBOX.clear()
    with Client(app) as client:
        assert json.loads(client.http.get("/dev/inbox.json").body) == []
        assert "Nothing sent yet." in client.http.get("/dev/inbox").body.decode()


@pytest.mark.parametrize("flag", [None, "0", "true", ""])
def test_without_the_flag_the_routes_do_not_exist(monkeypatch, flag):
    app, registered = make_app(monkeypatch, flag)
    assert not registered and not any(path.startswith("/dev") for path in app.routes)
    with Client(app) as client:
        unknown = client.http.get("/no/such/path").status_code
        for path in ("/dev/inbox", "/dev/inbox.json"):
            # answered like any unknown path: not registered at all (404 once unknown paths answer 404)
            assert client.http.get(path).status_code == unknown != 200


def test_never_in_lambda_even_with_the_flag(monkeypatch):
    monkeypatch.setenv("LOYALTY_DEV_INBOX", "1")
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "coalition-loyalty-prod-APIHandler")
    app = Chalice(app_name="notify-test")
    assert not register(app) and not app.routes


def test_a_registered_route_answers_404_once_the_flag_is_gone(monkeypatch):
    app, _ = make_app(monkeypatch, "1")
    monkeypatch.delenv("LOYALTY_DEV_INBOX")
    with Client(app) as client:
        for path in ("/dev/inbox", "/dev/inbox.json"):
            response = client.http.get(path)
            assert response.status_code == 404 and json.loads(response.body)["code"] == "not_found"


def test_the_app_has_no_dev_routes_and_no_deployment_sets_the_flag():
    from app import app
    from chalicelib.api.openapi import document_json
    from chalicelib.routes import ROUTES

    assert not any(path.startswith("/dev") for path in app.routes)
    assert "/dev/" not in document_json(ROUTES)
    deployed = [*(ROOT / "infra").rglob("*"), *(ROOT / ".chalice").rglob("*"), ROOT / "Makefile"]
    packaged = ROOT / "build" / "sam.json"
    if packaged.exists():
        deployed.append(packaged)
        assert '"/dev/inbox' not in packaged.read_text()
    for path in deployed:
        if path.is_file() and path.suffix != ".pyc":
            assert "LOYALTY_DEV_INBOX" not in path.read_text(errors="replace"), path
    assert "LOYALTY_DEV_INBOX" in (ROOT / "local" / "run.py").read_text()  # make run is the one place that sets it


def test_make_run_serves_the_inbox_over_http():
    """The real app on chalice's local server, in a process started the way local/run.py starts it."""
    import os
    import subprocess
    import sys

    script = """
import json, os, urllib.request
from local import servers
servers.fake_aws_credentials()
from chalicelib.notify import Message, NotificationSettings, notifier_for
notifier_for(NotificationSettings()).send(
    Message(channel="sms", to="+79161234567", text="Ваш код 246810", code="246810", purpose="sign_in"))
api = servers.start_api(quiet=True)
with urllib.request.urlopen(api.url + "/dev/inbox.json") as r:
    print(json.dumps(json.loads(r.read())))
with urllib.request.urlopen(api.url + "/dev/inbox") as r:
    print(r.status, r.headers["Content-Type"], "<code>246810</code>" in r.read().decode())
api.stop()
"""
    env = {k: v for k, v in os.environ.items() if k != "AWS_LAMBDA_FUNCTION_NAME"}
    env.update(LOYALTY_DEV_INBOX="1", PYTHONIOENCODING="utf-8")
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        encoding="utf-8",
        timeout=120,
        check=True,
    )
    terminal, listed, page = done.stdout.splitlines()
    assert terminal == "[inbox] sms to +7 916 ***-**-67: Ваш код 246810"
    (item,) = json.loads(listed)
    assert (item["to"], item["channel"], item["text"], item["code"]) == (
        "+79161234567",
        "sms",
        "Ваш код 246810",
        "246810",
    )
    assert page == "200 text/html; charset=utf-8 True"
