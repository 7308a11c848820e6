"""The development inbox on a phone: it wraps instead of overflowing sideways, and its sentences keep their spaces."""

from __future__ import annotations

from chalicelib.notify.inbox import InboxEntry, inbox_rows
from tests.browser.conftest import screenshot


def _page() -> str:
    from chalicelib.web.render import environment

    link = "https://loyalty.example.com/me?token=" + "v2." + "A" * 180
    entries = [
        InboxEntry("+79161234567", "sms", f"Баллы: {link}", None, "portal_link", "2026-12-06T10:00:00+00:00", "m2"),
        InboxEntry("anna.long.address@example.com", "email", "Код: 123456", "123456", "sign_in",
                   "2026-12-06T09:59:00+00:00", "m1"),
    ]  # fmt: skip
    return environment().get_template("dev/inbox.html").render(rows=inbox_rows(entries), nonce="n")


def test_the_inbox_fits_a_phone_and_says_nothing_leaves(phone):
    phone.set_content(_page())
    width = phone.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert width[0] <= width[1], width
    intro = phone.locator("p.muted").first.inner_text()
    assert "Nothing leaves this machine" in intro and "Nothingleaves" not in intro
    assert phone.get_by_text("123456").first.is_visible()
    screenshot(phone, "dev-inbox-390x844")
