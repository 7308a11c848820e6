"""The till over HTTP (``/till``): language, session and CSRF in one place, then the page or the press.

Every press is one intent: the form's nonce makes its Idempotency-Key (``session.write``), and a receipt's number is
drawn with the form that starts it, so a double tap replays the first press instead of acting twice. A press that
spends and earns makes two writes under two keys of the same nonce: pressed again after a lost answer, the spend
replays and the earn executes (or replays). Refusals come back as the same page with the message beside its field.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chalicelib.errors import ApiError
from chalicelib.schemas import (
    AccrualOut,
    CreateAccrual,
    CreateRedemption,
    CreateRefund,
    QuoteRequest,
    RedemptionOut,
    RefundOut,
    SpendCodeSent,
)
from chalicelib.services import accruals, redemptions, refunds, spend_codes, till
from chalicelib.web import i18n
from chalicelib.web.portal_forms import parse_form
from chalicelib.web.portal_session import LANG_COOKIE, cookies
from chalicelib.web.render import Headers, Page, is_https
from chalicelib.web.till import forms, session, views
from chalicelib.web.till.forms import Invalid, Problems
from chalicelib.web.till.session import Cashier

READS = {"home"}


@dataclass(frozen=True)
class Request:
    call: Any
    lang: str
    form: dict[str, str]
    remember: list[str]

    @property
    def t(self) -> i18n.Locale:
        return i18n.locale(self.lang)

    def page(self, page: Page, status: int = 200) -> Any:
        from chalice.app import Response

        extra: Headers = {"Set-Cookie": self.remember} if self.remember else {}
        return Response(body=page.body, status_code=status, headers={**page.headers, **extra})

    def problems(self, *found: tuple[str, str]) -> Problems:
        return Problems(dict(found))

    def invalid(self, error: Invalid) -> Problems:
        return Problems({error.field: self.t(f"till.problem.{error.key}")})


def _language(call: Any) -> tuple[str, bool]:
    asked = call.query.lang if call.query is not None else None
    return i18n.pick(asked, cookies(call.header("cookie")).get(LANG_COOKIE)), bool(asked)


def handle(call: Any, view: str) -> Any:
    """One entry for every till route; failures become a page, not JSON."""
    lang, asked = _language(call)
    try:
        return _handle(call, view, lang, asked)
    except ApiError as error:
        from chalice.app import Response

        page = views.error(lang, error)
        retry: Headers = {"Retry-After": error.headers["Retry-After"]} if "Retry-After" in error.headers else {}
        return Response(body=page.body, status_code=min(error.status, 500), headers={**page.headers, **retry})


def _handle(call: Any, view: str, lang: str, asked: bool) -> Any:
    cashier = session.require(call)
    if not isinstance(cashier, Cashier):
        return cashier
    form = parse_form(call.raw_body) if call.raw_body else {}
    if view not in READS:
        session.check_csrf(cashier, form)
    remember = [session.cookie(LANG_COOKIE, lang, is_https(call), 365 * 86400)] if asked else []
    return VIEWS[view](Request(call, lang, form, remember), cashier)


def _home(r: Request, c: Cashier) -> Any:
    return r.page(views.home(c, r.lang, r.call.now))


def _find(r: Request, c: Cashier) -> Any:
    try:
        card = till.find(c.partner_id, c.scope, r.form.get("query", ""), r.call.now)
    except ApiError as error:
        if error.code not in ("not_found", "validation_error", "rate_limited"):
            raise
        text = r.t("till.problem.query") if error.code == "validation_error" else forms.explain(error, r.t)[1]
        return r.page(views.home(c, r.lang, r.call.now, r.problems(("query", text)), r.form), error.status)
    form = {"receipt": till.new_receipt_number(till.cashier_tag(c.who), r.call.now)}
    return r.page(views.customer(c, r.lang, card, form))


def _receipt_form(r: Request) -> tuple[str, int, str]:
    """The customer, the receipt total and the receipt number the form was drawn with."""
    receipt = till.checked_receipt(r.form.get("receipt", ""))
    amount = forms.money_minor(r.form, "amount")
    assert amount is not None
    return r.form.get("customer_id", ""), amount, receipt


def _customer_again(r: Request, c: Cashier, problems: Problems, status: int) -> Any:
    card = till.card(c.partner_id, r.form.get("customer_id", ""), r.call.now)
    return r.page(views.customer(c, r.lang, card, r.form, problems), status)


def _receipt(r: Request, c: Cashier) -> Any:
    """The receipt total typed: earn on all of it now, or go on to pay part of it with points."""
    try:
        customer_id, amount, receipt = _receipt_form(r)
    except Invalid as error:
        return _customer_again(r, c, r.invalid(error), 422)
    if r.form.get("action") == "spend":
        return _spend_page(r, c, customer_id, amount, receipt)
    return _charge(r, c, "/till/receipt", customer_id, amount, receipt, points=0)


def _spend_page(
    r: Request,
    c: Cashier,
    customer_id: str,
    amount: int,
    receipt: str,
    problems: Problems | None = None,
    sent: SpendCodeSent | None = None,
    status: int = 200,
) -> Any:
    card = till.card(c.partner_id, customer_id, r.call.now)
    quote = redemptions.quote(
        QuoteRequest(customer_id=customer_id, order_amount_minor=amount), c.partner_id, r.call.now
    )
    page = views.spend(
        c, r.lang, card, amount_minor=amount, receipt=receipt, quote=quote, form=r.form, problems=problems, sent=sent
    )
    return r.page(page, status)


def _send_code(r: Request, c: Cashier) -> Any:
    """Ask the system to send the customer a code for at most the points typed (the message names them)."""
    customer_id, amount, receipt = _receipt_form(r)
    try:
        most = forms.points(r.form) or None
        write = session.write(c, r.form, "/till/send-code", r.call.now)
        sent = spend_codes.send_code(write, customer_id, c.partner_id, most, r.call.now).result(SpendCodeSent)
    except Invalid as error:
        return _spend_page(r, c, customer_id, amount, receipt, r.invalid(error), status=422)
    except ApiError as error:
        where, text = forms.explain(error, r.t)
        problems = r.problems(("code" if where == "form" else where, text))
        return _spend_page(r, c, customer_id, amount, receipt, problems, status=error.status)
    return _spend_page(r, c, customer_id, amount, receipt, sent=sent)


def _spend_and_earn(r: Request, c: Cashier) -> Any:
    customer_id, amount, receipt = _receipt_form(r)  # hidden fields: a tampered one is an error page
    try:
        points, code = forms.points(r.form), forms.code(r.form)
    except Invalid as error:
        return _spend_page(r, c, customer_id, amount, receipt, r.invalid(error), status=422)
    return _charge(r, c, "/till/charge", customer_id, amount, receipt, points, code)


def _charge(
    r: Request, c: Cashier, path: str, customer_id: str, amount: int, receipt: str, points: int, code: str | None = None
) -> Any:
    """Spend ``points`` (if any) with the customer's code, then earn on the same receipt: the receipt total as the
    accrual's amount, the service earns on the part paid in money."""
    now = r.call.now
    redeemed: RedemptionOut | None = None
    try:
        if points:
            body = CreateRedemption(
                customer_id=customer_id,
                order_id=receipt,
                order_amount_minor=amount,
                points=points,
                customer_code=code,
                hold_minutes=None,
            )
            write = session.write(c, r.form, f"{path}:spend", now)
            redeemed = redemptions.redeem(write, body, c.partner_id, now).result(RedemptionOut)
        earn = CreateAccrual(customer_id=customer_id, order_id=receipt, amount_minor=amount)
        write = session.write(c, r.form, f"{path}:earn", now)
        accrued = accruals.accrue(write, earn, c.partner_id, now).result(AccrualOut)
    except ApiError as error:
        if error.code == "not_found":
            raise
        available = till.card(c.partner_id, customer_id, now).balance.available
        where, text = forms.explain(error, r.t, available=available)
        if path == "/till/charge":
            return _spend_page(r, c, customer_id, amount, receipt, r.problems((where, text)), status=error.status)
        return _customer_again(r, c, r.problems((where, text)), error.status)
    return r.page(views.sold(c, r.lang, views.sale(redeemed, accrued)))


def _refund(r: Request, c: Cashier) -> Any:
    """A receipt of this partner by its number, whole (no amount typed) or in part."""
    now = r.call.now
    try:
        receipt = till.checked_receipt(r.form.get("receipt", ""))
        amount = forms.money_minor(r.form, "refund_amount", required=False)
        if amount is None:  # the whole receipt: what is left of it (a repeated press replays before this matters)
            left, total = till.refundable_minor(c.partner_id, receipt)
            amount = left or total
        refund_id = f"{receipt}-R" + hashlib.sha256(r.form.get("nonce", "").encode()).hexdigest()[:8].upper()
        body = CreateRefund(order_id=receipt, refund_id=refund_id, amount_minor=amount)
        out = refunds.refund(session.write(c, r.form, "/till/refund", now), body, c.partner_id, now).result(RefundOut)
    except Invalid as error:
        return r.page(views.home(c, r.lang, now, r.invalid(error), r.form), 422)
    except ApiError as error:
        where, text = forms.explain(error, r.t)
        if error.code == "validation_error":
            where, text = "receipt", r.t("till.problem.receipt")
        field = where if where in ("receipt", "refund_amount") else "receipt"
        return r.page(views.home(c, r.lang, now, r.problems((field, text)), r.form), error.status)
    return r.page(views.refunded(c, r.lang, out))


VIEWS: dict[str, Callable[[Request, Cashier], Any]] = {
    "home": _home,
    "find": _find,
    "receipt": _receipt,
    "send_code": _send_code,
    "charge": _spend_and_earn,
    "refund": _refund,
}
