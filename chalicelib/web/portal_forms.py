"""The partner portal's form posts: decoding them, and turning the campaign form (roubles, days, local dates) into
the API's ``CreateCampaign``, with errors that name the form's own fields."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

from chalicelib.domain import ascii_digits
from chalicelib.domain.periods import zone
from chalicelib.errors import BadRequest, ValidationFailed
from chalicelib.machinery import program
from chalicelib.request_body import validate
from chalicelib.schemas import CreateCampaign
from chalicelib.web.portal_session import Session

# What the campaign form shows before anyone typed: a fixed reward of 100 points, once per customer.
CAMPAIGN_DEFAULTS = {
    "within_days": "30",
    "reward_type": "fixed",
    "reward_value": "100",
    "min_amount": "0",
    "budget": "30000",
    "limit": "1",
}


def parse_form(raw: bytes | str | None) -> dict[str, str]:
    """The posted form; a body (or a %-escaped value) that is not UTF-8 is a 400, never a replacement character."""
    try:
        text = raw.decode() if isinstance(raw, bytes) else (raw or "")
        fields = parse_qs(text, keep_blank_values=True, errors="strict")
    except UnicodeError as exc:
        raise BadRequest("The form was not sent as UTF-8; reload the page and try again.") from exc
    return {k: v[-1] for k, v in fields.items()}


def _number(form: dict[str, str], name: str, default: int | None = None) -> int | None:
    text = ascii_digits(form.get(name, "")).strip().replace(" ", "")
    if not text:
        return default
    if not (text.isascii() and text.isdigit()):  # "²".isdigit() is True, and int("²") a 500
        raise ValidationFailed([{"loc": ["form", name], "msg": "a whole number, please", "type": "int"}])
    return int(text)


def _day(form: dict[str, str], name: str, tz: str) -> str | None:
    """A date field (``YYYY-MM-DD``) as the start of that day in the program's time zone."""
    text = form.get(name, "").strip()
    if not text:
        return None
    try:
        local = datetime.fromisoformat(text).replace(tzinfo=None)
    except ValueError as exc:
        raise ValidationFailed([{"loc": ["form", name], "msg": "a date, please", "type": "date"}]) from exc
    return local.replace(tzinfo=zone(tz)).isoformat()


def _audience(form: dict[str, str]) -> dict[str, Any] | None:
    if form.get("new_only") == "on":
        return {"new_to_partner": True}
    if form.get("from_partner"):
        return {"purchased_at": form["from_partner"], "within_days": _number(form, "within_days", 30)}
    return None


def _earn_at(session: Session, form: dict[str, str]) -> list[str]:
    """The sponsor's own tills, and one other partner's when the form names one (that partner must accept)."""
    also = form.get("also_at", "").strip()
    return [session.partner_id] + ([also] if also and also != session.partner_id else [])


def _reward(form: dict[str, str]) -> dict[str, Any]:
    value = _number(form, "reward_value", 0) or 0
    if form.get("reward_type") == "percent":
        return {"type": "percent", "rate_bps": value * 100}
    return {"type": "fixed", "points": value}


def campaign_request(session: Session, form: dict[str, str], now: datetime) -> CreateCampaign:
    """Turn the form into the API's request; the sponsor earns at its own tills. Every field is checked before the
    answer: a refusal lists all that is wrong, not the first thing."""
    tz = program.load().timezone
    errors: list[dict[str, Any]] = []

    def checked(read: Callable[[], Any]) -> Any:
        try:
            return read()
        except ValidationFailed as exc:
            errors.extend(exc.extra.get("errors", []))
            return None

    data = {
        "name": form.get("name", "").strip(),
        "earn_at": _earn_at(session, form),
        "audience": checked(lambda: _audience(form)),
        "reward": checked(lambda: _reward(form)),
        "min_amount_minor": checked(lambda: (_number(form, "min_amount", 0) or 0) * 100),
        "starts_at": checked(lambda: _day(form, "starts", tz)),
        "ends_at": checked(lambda: _day(form, "ends", tz)),
        "budget_points": checked(lambda: _number(form, "budget")),
        "per_customer_limit": checked(lambda: _number(form, "limit")),
    }
    try:
        request = validate(CreateCampaign, {k: v for k, v in data.items() if v is not None}, "form")
    except ValidationFailed as exc:
        errors.extend(exc.extra.get("errors", []))
    if errors:
        raise ValidationFailed(errors)
    assert isinstance(request, CreateCampaign)
    return request


# The API's names for what the form calls otherwise: an error is shown beside the field the person typed in.
FIELDS = {
    "budget_points": "budget",
    "per_customer_limit": "limit",
    "min_amount_minor": "min_amount",
    "starts_at": "starts",
    "ends_at": "ends",
    "points": "reward_value",
    "rate_bps": "reward_value",
    "reward": "reward_value",
    "audience": "from_partner",
    "purchased_at": "from_partner",
    "earn_at": "from_partner",
}
# pydantic's and the form's error types -> the catalogue's ``portal.problem.*`` text
KINDS = {
    "int": "int",
    "int_parsing": "int",
    "int_type": "int",
    "date": "date",
    "missing": "required",
    "string_too_short": "required",
    "string_too_long": "too_long",
    "greater_than_equal": "too_small",
    "greater_than": "too_small",
    "less_than_equal": "too_big",
    "less_than": "too_big",
    "unknown_partner": "partner",
}


def _field(error: dict[str, Any]) -> str:
    loc = [str(part) for part in error.get("loc", [])]
    if "ends_at" in str(error.get("msg", "")):  # the schema's window check names no field in its location
        return "ends"
    for part in reversed(loc):
        if part in FIELDS or part in CAMPAIGN_FIELDS:
            return FIELDS.get(part, part)
    return "name" if loc[-1:] == ["name"] else "form"


def problems(error: ValidationFailed) -> dict[str, str]:
    """A refused form as the page shows it: by form field, what is wrong (the catalogue's ``portal.problem.*``; the
    template writes it in the page's language)."""
    found: dict[str, str] = {}
    for e in error.extra.get("errors", []):
        name = _field(e)
        kind = "ends_before_start" if name == "ends" and "after" in str(e.get("msg", "")) else KINDS.get(e["type"])
        found.setdefault(name, kind or "invalid")
    return found


CAMPAIGN_FIELDS = ("name", "within_days", "reward_value", "min_amount", "starts", "ends", "budget", "limit")
