"""The till's form fields (roubles, points, codes) and its refusals, written beside the field they concern in the
page's language."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from chalicelib.domain import ascii_digits
from chalicelib.errors import ApiError, ValidationFailed
from chalicelib.schemas import MAX_AMOUNT_MINOR, MAX_POINTS
from chalicelib.web.i18n import Locale

_MONEY = re.compile(r"([0-9]{1,11})(?:[.,]([0-9]{1,2}))?")  # fullmatch: roubles, optionally kopecks
_SPACES = re.compile(r"[\s\u00a0\u202f']")  # "1 250", "1'250": group separators people type

# The field a refusal is written beside, by the API's error code; anything else goes above the form.
FIELD_OF = {
    "not_found": "query",
    "customer_code_invalid": "code",
    "customer_confirmation_required": "code",
    "customer_code_locked": "code",
    "customer_unreachable": "code",
    "insufficient_points": "points",
    "redemption_cap_exceeded": "points",
    "order_conflict": "amount",
    "duplicate_order": "amount",
    "order_not_found": "receipt",
    "refund_exceeds_order": "refund_amount",
}


class Invalid(ValidationFailed):
    """A field typed wrong: the page shows ``key`` (``till.problem.*``) beside ``field``; a hidden field that is
    wrong (a tampered form) is an error page like any other 422."""

    def __init__(self, field: str, key: str) -> None:
        super().__init__([{"loc": ["form", field], "msg": key, "type": key}])
        self.field, self.key = field, key


@dataclass
class Problems:
    """What is wrong, by field (``form``: the whole form), already in the page's language."""

    by_field: dict[str, str] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.by_field)


def money_minor(form: dict[str, str], name: str, *, required: bool = True) -> int | None:
    """Roubles as typed ("1 250", "1250,50", "1250.5") in kopecks; ``None`` when empty and not required."""
    text = _SPACES.sub("", ascii_digits(form.get(name, "")))
    if not text and not required:
        return None
    found = _MONEY.fullmatch(text)
    if found is None:
        raise Invalid(name, "amount")
    minor = int(found.group(1)) * 100 + int((found.group(2) or "0").ljust(2, "0"))
    if not 0 < minor <= MAX_AMOUNT_MINOR:
        raise Invalid(name, "amount")
    return minor


def points(form: dict[str, str], name: str = "points") -> int:
    """Whole points, 0 (spend nothing) or more."""
    text = _SPACES.sub("", ascii_digits(form.get(name, "")))
    if not text:
        return 0
    if not text.isdigit() or int(text) > MAX_POINTS:
        raise Invalid(name, "points")
    return int(text)


def code(form: dict[str, str]) -> str | None:
    """The customer's six digits (spaces allowed: the page shows them as 482 913)."""
    text = _SPACES.sub("", ascii_digits(form.get("code", "")))
    if not text:
        return None
    if not re.fullmatch(r"[0-9]{6}", text):
        raise Invalid("code", "code")
    return text


def wait_words(seconds: int, t: Locale) -> str:
    """``Retry-After`` as people say it: "30 seconds", "2 minutes" (rounded up)."""
    if seconds < 60:
        return t.plural("till.seconds", max(seconds, 1))
    return t.plural("till.minutes", -(-seconds // 60))


def explain(error: ApiError, t: Locale, **known: int) -> tuple[str, str]:
    """A refusal as the field it concerns and what the cashier reads there; ``known``: numbers the page knows that
    the error may not carry (the customer's available points)."""
    extra = error.extra
    wait = int(error.headers.get("Retry-After") or extra.get("retry_after") or 0)
    params = {
        "wait": wait_words(wait, t),
        "max": t.group(int(extra.get("max_points", 0))),
        "confirmed": t.group(int(extra.get("confirmed_points", 0))),
        "left": t.money(int(extra.get("refundable_minor", 0))),
        "available": t.group(known.get("available", 0)),
    }
    key = error.code
    if key == "customer_code_invalid" and "confirmed_points" in extra:
        key = "customer_code_small"
    if key == "rate_limited" and error.status == 429:
        return "form", t("till.problem.rate_limited", **params)
    text = t.get(f"till.problem.{key}", "")
    if not text:
        return "form", t("till.problem.other", detail=error.detail)
    return FIELD_OF.get(error.code, "form"), text.format(**params)
