"""The partner portal's form posts: decoding them, and turning the campaign form (roubles, days, local dates) into
the API's ``CreateCampaign``, with errors that name the form's own fields."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

from chalicelib.domain import ascii_digits
from chalicelib.domain.periods import zone
from chalicelib.errors import BadRequest, ValidationFailed
from chalicelib.request_body import validate
from chalicelib.schemas import CreateCampaign
from chalicelib.services import program
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


def _reward(form: dict[str, str]) -> dict[str, Any]:
    value = _number(form, "reward_value", 0) or 0
    if form.get("reward_type") == "percent":
        return {"type": "percent", "rate_bps": value * 100}
    return {"type": "fixed", "points": value}


def campaign_request(session: Session, form: dict[str, str], now: datetime) -> CreateCampaign:
    """Turn the form into the API's request; the sponsor earns at its own tills."""
    tz = program.load().timezone
    data = {
        "name": form.get("name", "").strip(),
        "earn_at": [session.partner_id],
        "audience": _audience(form),
        "reward": _reward(form),
        "min_amount_minor": (_number(form, "min_amount", 0) or 0) * 100,
        "starts_at": _day(form, "starts", tz),
        "ends_at": _day(form, "ends", tz),
        "budget_points": _number(form, "budget"),
        "per_customer_limit": _number(form, "limit"),
    }
    request = validate(CreateCampaign, {k: v for k, v in data.items() if v is not None}, "form")
    assert isinstance(request, CreateCampaign)
    return request


def problems(error: ValidationFailed) -> str:
    """A failed validation as one line: ``points: Input should be greater than or equal to 1``."""
    return "; ".join(f"{e['loc'][-1]}: {e['msg']}" for e in error.extra.get("errors", []))
