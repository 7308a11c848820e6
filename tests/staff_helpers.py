"""Staff in tests: invite a member through the API, sign in over HTTP or in a browser with the code from the inbox.

``live_or_client`` / ``client_or_live``: the ``api`` fixture (tests/conftest.py ``Api``: Chalice's in-process
client) or the ``live`` fixture (a real HTTP server in this process). The code is read from the development inbox
(the messages this process sent: what ``GET /dev/inbox.json`` shows under ``make run``).
"""

from __future__ import annotations

import re
from html import unescape
from typing import Any
from urllib.parse import urlencode

from tests.conftest import Api, last_code

FORM = "application/x-www-form-urlencoded"
SIGN_IN_PURPOSE = "staff_sign_in"


def add_staff(
    live_or_client: Any,
    *,
    partner_key_or_operator_key: str,
    role: str,
    phone: str,
    name: str,
    admin: bool = False,
) -> str:
    """The new member's staff_id, invited through ``POST /v1/staff`` (``admin``: ``POST /v1/admin/staff``)."""
    path = "/v1/admin/staff" if admin else "/v1/staff"
    body = {"phone": phone, "name": name, "role": role}
    if isinstance(live_or_client, Api):
        made = live_or_client.as_key(partner_key_or_operator_key).post(path, body)
        status, answer = made.status, made.json
    else:
        response = live_or_client.request("POST", path, partner_key_or_operator_key, body)
        status, answer = response.status_code, response.json()
    assert status == 201, answer
    return str(answer["staff_id"])


def _normalised(phone: str) -> str:
    digits = re.sub(r"\D", "", phone)
    return "+7" + digits[1:] if digits.startswith("8") and len(digits) == 11 else "+" + digits


def sign_in_page(page: Any, live: Any, *, area: str, phone: str, lang: str | None = None) -> None:
    """In the browser: the area's sign-in page, the contact typed, the code from the inbox typed, the area's home.
    Keyboard only: each field is focused and its form sent with Enter."""
    suffix = f"?lang={lang}" if lang else ""
    page.goto(f"{live.url}/{area}/login{suffix}")
    page.locator("#contact").fill(phone)
    page.locator("#contact").press("Enter")
    page.locator("#one-time-code").wait_for()
    page.locator("#one-time-code").fill(last_code(SIGN_IN_PURPOSE, _normalised(phone)))
    page.locator("#one-time-code").press("Enter")
    home = re.compile(r"/(till|portal|admin)(/[a-z]+)?(\?.*)?$")  # the area's home, or the role's own page there
    page.wait_for_url(lambda url: "/login" not in url and home.search(url) is not None)


class Browser:
    """A browser stand-in over Chalice's in-process client or a live server: keeps cookies, reads and sends forms."""

    def __init__(self, client_or_live: Any) -> None:
        self.target = client_or_live
        self.jar: dict[str, str] = {}

    def request(self, method: str, path: str, fields: dict[str, str] | None = None) -> tuple[int, str, dict[str, Any]]:
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.jar.items())}
        body = None if fields is None else urlencode(fields).encode()
        if body is not None:
            headers["Content-Type"] = FORM
        if isinstance(self.target, Api):
            r = self.target.http.request(method, path, headers=headers, body=body)
            status, text, raw = r.status_code, r.body.decode() if r.body else "", r.headers
            cookies = raw.get("Set-Cookie") or raw.get("set-cookie") or []
            lines = [cookies] if isinstance(cookies, str) else list(cookies)
        else:
            import requests

            url = self.target.url + path
            r = requests.request(method, url, data=body, headers=headers, allow_redirects=False, timeout=60)
            status, text, raw = r.status_code, r.text, dict(r.headers)
            lines = r.raw.headers.getlist("Set-Cookie")
        for line in lines:
            name, _, rest = line.partition("=")
            value = rest.split(";")[0]
            if value:
                self.jar[name.strip()] = value
            else:
                self.jar.pop(name.strip(), None)
        return status, text, {k.lower(): v for k, v in raw.items()}

    @staticmethod
    def forms(page: str) -> dict[str, dict[str, str]]:
        """action -> its hidden fields."""
        found = {}
        for action, inner in re.findall(r'<form[^>]*action="([^"]+)"[^>]*>(.*?)</form>', page, re.S):
            hidden = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', inner)
            found[unescape(action)] = {unescape(k): unescape(v) for k, v in hidden}
        return found

    def send_code(self, area: str, contact: str) -> tuple[int, str, dict[str, Any]]:
        status, page, _ = self.request("GET", f"/{area}/login")
        assert status == 200, page
        form = self.forms(page)[f"/{area}/login/code"]
        return self.request("POST", f"/{area}/login/code", {**form, "contact": contact})

    def enter_code(self, area: str, page: str, code: str) -> tuple[int, str, dict[str, Any]]:
        form = self.forms(page)[f"/{area}/login/session"]
        return self.request("POST", f"/{area}/login/session", {**form, "code": code})

    def sign_in(self, area: str, phone: str) -> tuple[int, str, dict[str, Any]]:
        status, page, _ = self.send_code(area, phone)
        assert status == 200, page
        return self.enter_code(area, page, last_code(SIGN_IN_PURPOSE, _normalised(phone)))


def session_cookies(client_or_live: Any, *, area: str, phone: str) -> dict[str, str]:
    """Over HTTP: the sign-in of ``phone`` at ``area``; the cookies the browser then holds (``ls_session``)."""
    browser = Browser(client_or_live)
    status, text, _ = browser.sign_in(area, phone)
    assert status == 303 and "ls_session" in browser.jar, (status, text[:500])
    return {"ls_session": browser.jar["ls_session"]}
