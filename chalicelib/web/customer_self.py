"""The customer's self-service on their page: settings (marketing consent, language, channel),
download my data (JSON, CSV), delete my account (what happens to the points is shown before confirming), and
release points held at a till (``POST /me/holds/release``: the same as the till's void).
Requests, cookies and CSRF are ``customer_http``'s; the use cases are ``services/customer_self.py``."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from chalicelib.errors import HoldAlreadyResolved, HoldExpired, ValidationFailed
from chalicelib.machinery import program
from chalicelib.services import customer_self, customers, redemptions, telegram_link
from chalicelib.web import customer_export, customer_http, customer_page, i18n
from chalicelib.web.customer_http import (
    SESSION_COOKIE,
    Request,
    require_session,
    respond,
    signed_in_customer,
)
from chalicelib.web.render import Headers, redirect, render


def handle(call: Any, view: str) -> Any:
    return customer_http.handle(call, view, VIEWS)


def _settings(r: Request) -> Any:
    access = require_session(r)
    locale = r.form.get("locale", "")
    if locale not in i18n.languages():
        raise ValidationFailed.at(["form", "locale"], "unknown language")
    customer_self.update_settings(
        access.customer_id,
        consent=r.form.get("consent") == "on",
        locale=locale,
        channel=r.form.get("channel") or None,
        now_iso=r.now.isoformat(),
    )
    return redirect("/me")  # in the language just chosen


def _download(body: str, content_type: str, filename: str) -> Any:
    from chalice.app import Response

    headers: Headers = {
        "Content-Type": content_type,
        "Content-Disposition": f'attachment; filename="{filename}"',
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
    }
    return Response(body=body, status_code=200, headers=headers)


def _data_json(r: Request) -> Any:
    data = customer_self.export(signed_in_customer(r), r.now)
    return _download(json.dumps(data, ensure_ascii=False, indent=2), "application/json; charset=utf-8", "my-data.json")


def _data_csv(r: Request) -> Any:
    customer_id = signed_in_customer(r)
    data = customer_self.export(customer_id, r.now)
    lang = i18n.pick(r.lang, customers.load(customer_id).locale)
    table = customer_export.export_csv(data, lang, program.load().timezone)
    return _download(table, "text/csv; charset=utf-8", "my-data.csv")


def _delete_form(r: Request) -> Any:
    customer_id = signed_in_customer(r)
    customer = customers.load(customer_id)
    lang = i18n.pick(r.lang, customer.locale)
    page = render(
        "customer/delete.html",
        i18n.locale(lang),
        preview=customer_self.preview(customer_id, r.now),
        csrf=customer_http.csrf_for(r.session_value),
        suffix=r.suffix(),
        language_links=[],
        error=None,
    )
    return respond(page)


def _delete(r: Request) -> Any:
    access = require_session(r)
    if r.form.get("confirm") != "on":
        return _delete_form(r)
    lang = i18n.pick(r.lang, customers.load(access.customer_id).locale)
    customer_self.delete(access.customer_id, r.now)
    page = render("customer/deleted.html", i18n.locale(lang), language_links=[])
    return respond(page, 200, [r.cookie(SESSION_COOKIE, "", 0)])


def _telegram_connect(r: Request) -> Any:
    """A single-use link to the bot (15 minutes): tapped on a phone, or scanned from the QR on a computer."""
    access = require_session(r)
    offer = telegram_link.start_link(access.customer_id, r.now)
    lang = i18n.pick(r.lang, customers.load(access.customer_id).locale)
    return respond(customer_page.telegram_page(offer, lang, r.suffix()))


def _telegram_disconnect(r: Request) -> Any:
    access = require_session(r)
    telegram_link.disconnect(access.customer_id)
    return redirect("/me" + r.suffix())


def _release_hold(r: Request) -> Any:
    """One of her holds, released by the customer: the points are back at once, as if the till had voided it."""
    access = require_session(r)
    try:
        redemptions.release_by_customer(access.customer_id, r.form.get("hold", ""), r.now)
    except (HoldAlreadyResolved, HoldExpired):
        pass  # captured, voided or expired meanwhile (or a second click): the page shows what is true now
    return redirect("/me" + r.suffix())


VIEWS: dict[str, Callable[[Request], Any]] = {
    "settings": _settings,
    "data_json": _data_json,
    "data_csv": _data_csv,
    "delete_form": _delete_form,
    "delete": _delete,
    "telegram_connect": _telegram_connect,
    "telegram_disconnect": _telegram_disconnect,
    "release_hold": _release_hold,
}
