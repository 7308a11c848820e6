"""One-click unsubscribe from the program's marketing messages (a birthday greeting ends with its link).

The link carries the customer id and a token that only ever withdraws that customer's marketing consent
(``services/reminders.py``). Opening it shows a page with one button, so a mail scanner that follows links changes
nothing; the button posts the same two fields. No session and no CSRF token: whoever holds the link may do this one
thing and nothing else, and reminders about the customer's own points still go out. A marketing e-mail names the
link in ``List-Unsubscribe`` too, with ``List-Unsubscribe-Post`` (RFC 8058): the mailbox's own "unsubscribe" posts
to it and is done in one click, which is what the standard wants (a POST, never a GET, changes anything).
"""

from __future__ import annotations

from typing import Any

from chalice.app import Response

from chalicelib.http import Call
from chalicelib.services import reminders
from chalicelib.web import i18n
from chalicelib.web.portal_forms import parse_form
from chalicelib.web.queries import UnsubscribeQuery

__all__ = ["confirm", "page"]


def _render(lang: str, status: int, **context: Any) -> Response:
    from chalicelib.web.render import render

    context.setdefault("invalid", False)
    page = render("customer/unsubscribe.html", i18n.locale(lang), language_links=[], **context)
    return Response(body=page.body, status_code=status, headers=dict(page.headers))


def page(call: Call[None, UnsubscribeQuery]) -> Response:
    q = call.query or UnsubscribeQuery.model_validate({})
    lang = i18n.pick(q.lang or call.header("Accept-Language"))
    return _render(lang, 200, customer_id=q.c or "", token=q.t or "", done=False)


def confirm(call: Call[None, UnsubscribeQuery]) -> Response:
    form = parse_form(call.raw_body)
    lang = i18n.pick(form.get("lang") or call.header("Accept-Language"))
    # The page's button posts c and t; a mail client's one-click (RFC 8058: List-Unsubscribe-Post) posts
    # "List-Unsubscribe=One-Click" to the link itself, whose query carries them.
    link = call.query or UnsubscribeQuery.model_validate({})
    customer_id, token = (form.get("c") or link.c or "")[:64], (form.get("t") or link.t or "")[:64]
    if not customer_id or not reminders.withdraw_consent(customer_id, token):
        return _render(lang, 400, customer_id="", token="", done=False, invalid=True)  # a page, as documented
    return _render(lang, 200, customer_id="", token="", done=True)
