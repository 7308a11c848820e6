"""The operator's console over HTTP (``/admin``): language, who is signed in, CSRF, read-only refusal, then the page
or the write. Every failure becomes a page in the operator's language, never JSON; a refused form comes back as
typed with what is wrong next to each field.

Writes call the same services as the operator's API (``chalicelib/api``): the console adds no rule of its own."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chalicelib.domain.audit import Stamp
from chalicelib.errors import ApiError, StaffContactTaken, ValidationFailed
from chalicelib.machinery import program
from chalicelib.schemas import PartnerCreated, UpdatePartner
from chalicelib.services import (
    bonuses,
    campaigns,
    partners,
    payments,
    program_settings,
    reconciliation,
    settlement,
    staff,
)
from chalicelib.web import i18n
from chalicelib.web.admin import access, forms, shell
from chalicelib.web.admin.access import Operator
from chalicelib.web.admin.audit_views import audit_page
from chalicelib.web.admin.partner_views import partner_page, partners_page, program_page
from chalicelib.web.admin.people_views import by_id, campaigns_page, customers_page, staff_page
from chalicelib.web.admin.settlement_views import settlements_page
from chalicelib.web.portal_forms import parse_form
from chalicelib.web.portal_session import cookies
from chalicelib.web.render import Headers, Page, is_https, redirect

LANG_COOKIE = "lp_lang"
CAMPAIGN_ACTIONS = {"pause": campaigns.pause, "end": campaigns.end}


@dataclass(frozen=True)
class Request:
    call: Any
    lang: str
    form: dict[str, str]
    operator: Operator
    remember: list[str]  # the Set-Cookie keeping an explicit ?lang= for the next pages

    def param(self, name: str) -> str:
        return str(self.call.params[name])

    def query(self, name: str) -> str:
        value = getattr(self.call.query, name, None) if self.call.query is not None else None
        return "" if value is None else str(value)

    @property
    def stamp(self) -> Stamp:
        return access.stamp(self.operator, self.call)

    def ok(self, page: Page, status: int = 200) -> Any:
        from chalice.app import Response

        extra: Headers = {"Set-Cookie": self.remember} if self.remember else {}
        return Response(body=page.body, status_code=status, headers={**page.headers, **extra})


def _language(call: Any) -> tuple[str, bool]:
    asked = getattr(call.query, "lang", None) if call.query is not None else None
    return i18n.pick(asked, cookies(call.header("cookie")).get(LANG_COOKIE)), bool(asked)


def handle(call: Any, view: str) -> Any:
    """One entry for every console route; failures become a page, not JSON."""
    from chalice.app import Response

    try:
        return _handle(call, view)
    except ApiError as error:
        page = shell.error(_language(call)[0], error)
        retry: Headers = {"Retry-After": error.headers["Retry-After"]} if "Retry-After" in error.headers else {}
        return Response(body=page.body, status_code=error.status if error.status < 500 else 500, headers={
            **page.headers, **retry})  # fmt: skip


def _handle(call: Any, view: str) -> Any:
    lang, asked = _language(call)
    operator = access.signed_in(call)
    if not isinstance(operator, Operator):
        return operator
    secure = "; Secure" if is_https(call) else ""
    remember = [f"{LANG_COOKIE}={lang}; Path=/admin; HttpOnly; SameSite=Strict; Max-Age=31536000{secure}"]
    form = parse_form(call.raw_body) if call.raw_body else {}
    r = Request(call, lang, form, operator, remember if asked else [])
    if view in WRITES:
        access.check_form(operator, form)  # read-only staff refused; a browser's form carries its CSRF token
        return WRITES[view](r)
    return READS[view](r)


# --- partners and program -------------------------------------------------------------------------------------------


def _home(r: Request) -> Any:
    return r.ok(partners_page(r.operator, r.lang))


def _create_partner(r: Request) -> Any:
    try:
        body = forms.new_partner(r.form)
        reply = partners.create(_writing(r, "/admin/partners"), body, _pepper(), r.operator.principal.actor)
    except ValidationFailed as error:
        return r.ok(partners_page(r.operator, r.lang, r.form, forms.problems(error)), 422)
    created = reply.result(PartnerCreated)  # the key, this once: the page is the answer, never a redirect
    return r.ok(partners_page(r.operator, r.lang, created=created.model_dump()), 201)


def _partner(r: Request) -> Any:
    return r.ok(partner_page(r.operator, r.lang, r.param("partner_id"), r.call.now, saved=r.query("saved") == "1"))


def _partner_act(r: Request) -> Any:
    partner_id, action = r.param("partner_id"), r.param("action")
    now = r.call.now
    if action == "settings":
        try:
            partners.update(partner_id, forms.partner_settings(r.form), now.isoformat(), r.stamp)
        except ValidationFailed as error:
            page = partner_page(r.operator, r.lang, partner_id, now, r.form, forms.problems(error))
            return r.ok(page, 422)
        return redirect(f"/admin/partners/{partner_id}?saved=1")
    if action in ("suspend", "resume"):
        if not _confirmed(r):
            return r.ok(partner_page(r.operator, r.lang, partner_id, now, confirm=action))
        status = "suspended" if action == "suspend" else "active"
        partners.update(partner_id, UpdatePartner.model_validate({"status": status}), now.isoformat(), r.stamp)
        return redirect(f"/admin/partners/{partner_id}")
    if action == "keys":
        key = partners.create_key(_writing(r, f"/admin/partners/{partner_id}/keys"), partner_id, _pepper())
        return r.ok(partner_page(r.operator, r.lang, partner_id, now, key=_shown(key.body)), 201)
    if action == "revoke":
        try:
            partners.revoke_key(partner_id, r.form.get("key_id", "").strip(), now.isoformat(), r.stamp)
        except ApiError as error:
            problems = {"key_id": "not_found" if error.status == 404 else "invalid"}
            return r.ok(partner_page(r.operator, r.lang, partner_id, now, problems=problems), error.status)
        return redirect(f"/admin/partners/{partner_id}?saved=1")
    raise ValidationFailed.at(["path", "action"], "unknown action", "enum")


def _shown(body: str) -> dict[str, Any]:
    import json

    shown: dict[str, Any] = json.loads(body)
    return shown


def _program(r: Request) -> Any:
    return r.ok(program_page(r.operator, r.lang, r.call.now, saved=r.query("saved") == "1"))


def _program_save(r: Request) -> Any:
    now = r.call.now
    try:
        change = forms.program_settings(r.form, dict(program.load(now).notifications))
        program_settings.update(change, now.isoformat(), r.stamp)
    except ValidationFailed as error:
        return r.ok(program_page(r.operator, r.lang, now, r.form, forms.problems(error)), 422)
    return redirect("/admin/program?saved=1")


# --- customers and campaigns ------------------------------------------------------------------------------------


def _customers(r: Request) -> Any:
    return r.ok(customers_page(r.operator, r.lang, r.call.now, r.query("phone")))


def _adjust(r: Request) -> Any:
    customer_id, now = r.param("customer_id"), r.call.now
    found = by_id(customer_id, now)
    phone = r.form.get("phone", "")
    try:
        body = forms.adjustment(r.form, customer_id)
        bonuses.adjust(_writing(r, f"/admin/customers/{customer_id}/adjust"), body, now)
    except ValidationFailed as error:
        page = customers_page(r.operator, r.lang, now, phone, found, forms.problems(error), r.form)
        return r.ok(page, 422)
    except ApiError as error:  # insufficient points for a debit: said next to the points
        page = customers_page(r.operator, r.lang, now, phone, found, {"points": error.code}, r.form)
        return r.ok(page, error.status)
    return r.ok(customers_page(r.operator, r.lang, now, phone, by_id(customer_id, now), done="adjusted"), 201)


def _campaigns(r: Request) -> Any:
    return r.ok(campaigns_page(r.operator, r.lang, r.call.now))


def _campaign_act(r: Request) -> Any:
    campaign_id, action = r.param("campaign_id"), r.param("action")
    if action not in CAMPAIGN_ACTIONS:
        raise ValidationFailed.at(["path", "action"], "unknown action", "enum")
    if action == "end" and not _confirmed(r):  # no way back: the button asks first
        return r.ok(campaigns_page(r.operator, r.lang, r.call.now, confirm=campaign_id))
    path = f"/admin/campaigns/{campaign_id}/{action}"
    CAMPAIGN_ACTIONS[action](_writing(r, path), campaign_id, None, r.call.now)
    return redirect("/admin/campaigns")


# --- settlements ---------------------------------------------------------------------------------------------------


def _settlements(r: Request) -> Any:
    period, now = r.query("period") or None, r.call.now
    check = reconciliation.to_out(reconciliation.read(period, now)) if period and r.query("check") == "1" else None
    return r.ok(settlements_page(r.operator, r.lang, period, now, check=check, saved=r.query("saved") == "1"))


def _settlement_act(r: Request) -> Any:
    period, action, now = r.param("period"), r.param("action"), r.call.now
    settlement.check_period(period, now)
    if action == "close":
        if not _confirmed(r):
            return r.ok(settlements_page(r.operator, r.lang, period, now, confirm=True))
        settlement.close(period, now, r.stamp)
        return redirect(f"/admin/settlements?period={period}")
    if action == "payment":
        try:
            payments.record(_writing(r, f"/admin/settlements/{period}/payment"), period, forms.payment(r.form), now)
        except ValidationFailed as error:
            page = settlements_page(r.operator, r.lang, period, now, problems=forms.problems(error), values=r.form)
            return r.ok(page, 422)
        return redirect(f"/admin/settlements?period={period}&saved=1")
    if action == "reconcile":
        reconciliation.request(period, now)
        return redirect(f"/admin/settlements?period={period}&check=1")
    raise ValidationFailed.at(["path", "action"], "unknown action", "enum")


def _audit(r: Request) -> Any:
    asked = {name: r.query(name) for name in ("partner_id", "action", "actor", "period", "cursor")}
    return r.ok(audit_page(r.operator, r.lang, asked, r.call.now))


def _staff(r: Request) -> Any:
    return r.ok(staff_page(r.operator, r.lang))


def _invite(r: Request) -> Any:
    """A colleague at the console: name, phone or e-mail (they sign in with a code sent there), role."""
    try:
        body = forms.colleague(r.form)
        staff.invite(_writing(r, "/admin/staff"), r.operator.principal, body)
    except ValidationFailed as error:
        return r.ok(staff_page(r.operator, r.lang, r.form, forms.problems(error)), 422)
    except StaffContactTaken:
        return r.ok(staff_page(r.operator, r.lang, r.form, {"contact": "taken"}), 409)
    return redirect("/admin/staff")


def _remove_staff(r: Request) -> Any:
    staff.remove(r.operator.principal, r.param("staff_id"), r.call.now.isoformat(), r.call.request_id)
    return redirect("/admin/staff")


# --- helpers -------------------------------------------------------------------------------------------------------


def _confirmed(r: Request) -> bool:
    """Whether the form is the confirmation's own (suspend, resume, end a campaign, close a month: asked first)."""
    return r.form.get("confirmed") == "yes"


def _writing(r: Request, path: str) -> Any:
    return access.write_request(r.operator, r.form, r.call, path)


def _pepper() -> str:
    from chalicelib import runtime

    return runtime.get().settings.key_pepper


READS: dict[str, Callable[[Request], Any]] = {
    "home": _home,
    "partner": _partner,
    "program": _program,
    "customers": _customers,
    "campaigns": _campaigns,
    "settlements": _settlements,
    "audit": _audit,
    "staff": _staff,
}
WRITES: dict[str, Callable[[Request], Any]] = {
    "create_partner": _create_partner,
    "partner_act": _partner_act,
    "program_save": _program_save,
    "adjust": _adjust,
    "campaign_act": _campaign_act,
    "settlement_act": _settlement_act,
    "invite": _invite,
    "remove_staff": _remove_staff,
}
