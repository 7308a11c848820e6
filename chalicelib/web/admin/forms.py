"""The console's forms as the API's requests: percentages and roubles typed the way people write them ("5,5 %",
"1 234,56") become basis points and kopecks (integers only), and every refusal names the form's own field, all of
them at once, for the page to show next to each field in its language (``admin.problem.<kind>``).

Business rules stay in the schemas and services: this module only reads what was typed."""

from __future__ import annotations

import re
from typing import Any, TypeVar

from pydantic import BaseModel

from chalicelib.domain import ascii_digits
from chalicelib.errors import ValidationFailed
from chalicelib.request_body import validate
from chalicelib.schemas import (
    CreateAdjustment,
    CreatePartner,
    CreatePayment,
    InviteOperatorStaff,
    UpdatePartner,
    UpdateProgram,
)
from chalicelib.services.customer_auth import parse_identifier
from chalicelib.web.portal_forms import KINDS

Model = TypeVar("Model", bound=BaseModel)
_DECIMAL = re.compile(r"([-−]?)([0-9]+)(?:[.,]([0-9]{1,2}))?")  # "5", "5,5", "-1234.56", "−15"
# the API's field -> the form's field (where they differ)
FORM_FIELDS = {
    "earn_rate_bps": "earn_rate",
    "max_redeem_share_bps": "max_redeem_share",
    "point_value_minor": "point_value",
    "operator_fee_bps": "operator_fee",
    "spend_confirmation_above_points": "above_points",
    "amount_minor": "amount",
    "notifications": "program_name",
}
OWNER_FIELDS = {"name": "owner_name", "phone": "owner_contact", "email": "owner_contact"}  # under "owner"
STAFF_FIELDS = {"name": "staff_name", "phone": "contact", "email": "contact"}  # an operator's colleague
SERVICE_KINDS = {
    "date_in_past": "date_in_past",
    "date_in_future": "date_in_future",
    "unused": "unused",
    "pattern": "date",
    "string_pattern_mismatch": "date",
    "value_error": "invalid",
}


def _cleaned(form: dict[str, str], name: str) -> str:
    return ascii_digits(form.get(name, "")).strip().replace(" ", "").replace("\u00a0", "").rstrip("%₽").strip()


def hundredths(form: dict[str, str], name: str, errors: list[dict[str, Any]], signed: bool = False) -> int | None:
    """A number with up to two decimals as an integer of hundredths: "5,25" -> 525 (percent -> basis points,
    roubles -> kopecks); empty -> None; anything else is an error at ``name``."""
    text = _cleaned(form, name)
    if not text:
        return None
    match = _DECIMAL.fullmatch(text)
    if match is None or (match.group(1) and not signed):
        errors.append({"loc": ["form", name], "msg": "a number, please", "type": "number"})
        return None
    sign, whole, part = match.groups()
    value = int(whole) * 100 + int((part or "0").ljust(2, "0"))
    return -value if sign else value


def whole(form: dict[str, str], name: str, errors: list[dict[str, Any]], signed: bool = False) -> int | None:
    text = _cleaned(form, name).replace("−", "-")
    if not text:
        return None
    digits = text[1:] if signed and text.startswith("-") else text
    if not (digits.isascii() and digits.isdigit()):
        errors.append({"loc": ["form", name], "msg": "a whole number, please", "type": "int"})
        return None
    return int(text)


def text(form: dict[str, str], name: str) -> str | None:
    value = form.get(name, "").strip()
    return value or None


def build(model: type[Model], data: dict[str, Any], errors: list[dict[str, Any]]) -> Model:
    """The request, or one ValidationFailed with the typing errors and the schema's together."""
    try:
        built = validate(model, {k: v for k, v in data.items() if v is not None}, "body")
    except ValidationFailed as refused:
        errors = errors + list(refused.extra.get("errors", []))
        built = None
    if errors:
        raise ValidationFailed(errors)
    assert isinstance(built, model)
    return built


def problems(error: ValidationFailed) -> dict[str, str]:
    """By form field, what is wrong (a kind of ``admin.problem``); a refusal naming no field goes under ``form``."""
    found: dict[str, str] = {}
    for e in error.extra.get("errors", []):
        loc = [str(part) for part in e.get("loc", [])]
        name = next((FORM_FIELDS.get(p, p) for p in reversed(loc) if p not in ("body", "form", "path")), "form")
        if "owner" in loc:  # the first owner's fields: a missing contact is the contact's
            name = OWNER_FIELDS.get(loc[-1], "owner_contact")
        kind = KINDS.get(str(e.get("type"))) or SERVICE_KINDS.get(str(e.get("type"))) or str(e.get("type"))
        found.setdefault(name, kind if kind in KNOWN_KINDS else "invalid")
    return found


KNOWN_KINDS = {*KINDS.values(), *SERVICE_KINDS.values(), "number", "not_found", "contact", "taken"}


def _policy(form: dict[str, str], errors: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "spend_confirmation": text(form, "spend_confirmation"),
        "spend_confirmation_above_points": whole(form, "above_points", errors),
    }


def _owner(form: dict[str, str]) -> dict[str, str] | None:
    """The first owner, if a contact was typed: an e-mail has an "@", anything else is a phone."""
    contact = form.get("owner_contact", "").strip()
    if not contact and not form.get("owner_name", "").strip():
        return None
    return {"email" if "@" in contact else "phone": contact, "name": form.get("owner_name", "")}


def new_partner(form: dict[str, str]) -> CreatePartner:
    errors: list[dict[str, Any]] = []
    data = {
        "owner": _owner(form),
        "name": form.get("name", ""),
        "category": text(form, "category"),
        "earn_rate_bps": hundredths(form, "earn_rate", errors),
        "max_redeem_share_bps": hundredths(form, "max_redeem_share", errors),
        "pending_days": whole(form, "pending_days", errors),
        **_policy(form, errors),
    }
    return build(CreatePartner, data, errors)


def partner_settings(form: dict[str, str]) -> UpdatePartner:
    """The settings form: rates from a date (``effective_from``), the return window and the spend policy at once."""
    errors: list[dict[str, Any]] = []
    data = {
        "earn_rate_bps": hundredths(form, "earn_rate", errors),
        "max_redeem_share_bps": hundredths(form, "max_redeem_share", errors),
        "effective_from": text(form, "effective_from"),
        "pending_days": whole(form, "pending_days", errors),
        **_policy(form, errors),
    }
    if data["spend_confirmation"] != "above":
        data.pop("spend_confirmation_above_points")
    return build(UpdatePartner, data, errors)


def program_settings(form: dict[str, str], notifications: dict[str, Any]) -> UpdateProgram:
    """What a point is worth and the operator's fee (from a date), expiry, and the program's name in messages (the
    notifications' ``sender_name``, other channel settings kept)."""
    errors: list[dict[str, Any]] = []
    name = text(form, "program_name")
    data = {
        "point_value_minor": hundredths(form, "point_value", errors),
        "operator_fee_bps": hundredths(form, "operator_fee", errors),
        "effective_from": text(form, "effective_from"),
        "expiry_months": whole(form, "expiry_months", errors),
        "notifications": {**notifications, "sender_name": name} if name else None,
    }
    return build(UpdateProgram, data, errors)


def adjustment(form: dict[str, str], customer_id: str) -> CreateAdjustment:
    """Points with a reason; the adjustment's own id comes from the form's nonce (a double press is one)."""
    errors: list[dict[str, Any]] = []
    data = {
        "customer_id": customer_id,
        "adjustment_id": f"console-{form.get('nonce', '')}",
        "points": whole(form, "points", errors, signed=True),
        "reason": form.get("reason", ""),
    }
    return build(CreateAdjustment, data, errors)


def payment(form: dict[str, str]) -> CreatePayment:
    """A payment as the accountant reads it: who paid whom, how much in roubles, on which day, the bank's reference;
    signed for the service like the statement's net (plus: the coalition paid the partner)."""
    errors: list[dict[str, Any]] = []
    amount = hundredths(form, "amount", errors)
    if amount is not None and form.get("direction") == "from_partner":
        amount = -amount
    data = {
        "partner_id": form.get("partner_id", ""),
        "amount_minor": amount,
        "paid_on": form.get("paid_on", "").strip(),
        "reference": form.get("reference", ""),
    }
    return build(CreatePayment, data, errors)


def colleague(form: dict[str, str]) -> InviteOperatorStaff:
    """An operator's colleague: a name, a phone or e-mail (any common spelling), a role."""
    errors: list[dict[str, Any]] = []
    contact = parse_identifier(form.get("contact", ""))
    if contact is None:
        errors.append({"loc": ["form", "contact"], "msg": "a phone or an e-mail, please", "type": "contact"})
    found = {contact.kind: contact.value} if contact is not None else {}
    data = {"name": form.get("staff_name", ""), "role": form.get("role", ""), **found}
    try:
        return build(InviteOperatorStaff, data, errors)
    except ValidationFailed as refused:  # the schema's names are the form's own here
        renamed = [
            {**e, "loc": [STAFF_FIELDS.get(str(part), str(part)) for part in e.get("loc", [])]}
            for e in refused.extra.get("errors", [])
        ]
        raise ValidationFailed(renamed) from refused
