"""What every body shares: the strict integer and text types, and the base models of requests and responses."""

from __future__ import annotations

import unicodedata
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
)

MAX_POINTS = 1_000_000_000
CustomerCode = Annotated[
    str, StringConstraints(strict=True, pattern=r"^[0-9]{6}$"), Field(description="Six digits", examples=["482913"])
]
MAX_AMOUNT_MINOR = 10**13  # 100 billion roubles: far beyond any till, well inside 64 bits

# pydantic runs `pattern=` on Rust's regex crate, where `$` is the end of the text (Python's `$` would also match
# before a trailing newline): these anchors need no `\Z`; tests/test_edges_input_portal.py sends the newlines.
ExternalId = Annotated[
    str,
    StringConstraints(strict=True, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,127}$"),
    Field(description="Your own id: 1-128 of A-Z a-z 0-9 _ . : - (starting with a letter or digit)"),
]
ResourceId = Annotated[str, StringConstraints(strict=True, pattern=r"^[a-z]{3}_[0-9a-z]{8,32}$")]
Points = Annotated[int, Field(strict=True, ge=1, le=MAX_POINTS)]
AmountMinor = Annotated[int, Field(strict=True, ge=1, le=MAX_AMOUNT_MINOR, description="Integer minor units")]
Bps = Annotated[int, Field(strict=True, ge=0, le=10_000, description="Basis points: 500 = 5 %")]
# Directional formatting: embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069) turn "Уют" into
# text that reads otherwise in an SMS, a page or a CSV; line and paragraph separators break a message like CR/LF.
_BIDI_AND_BREAKS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u2028\u2029")


def plain_text(value: str) -> str:
    """A free-text name or label as people type it: no control characters (NUL, tab, CR/LF, ESC...), no bidirectional
    overrides or isolates, no line separators. Such names reach SMS texts, e-mails, pages and CSV files."""
    for char in value:
        if char in _BIDI_AND_BREAKS or unicodedata.category(char) == "Cc":
            raise ValueError(f"must not contain control or bidirectional formatting characters (U+{ord(char):04X})")
    return value


PlainText = AfterValidator(plain_text)
Name = Annotated[str, StringConstraints(strict=True, strip_whitespace=True, min_length=1, max_length=100), PlainText]
Category = Annotated[str, StringConstraints(strict=True, strip_whitespace=True, min_length=1, max_length=50), PlainText]
EffectiveFrom = Annotated[
    str,
    StringConstraints(strict=True, pattern=r"^\d{4}-\d{2}-\d{2}$"),
    Field(
        description="YYYY-MM-DD in the program time zone from which the money settings of this request apply "
        "(today: from now on; not in the past). Default: the first day of the next period"
    ),
]


def _real_date(value: str | None) -> str | None:
    if value is not None:
        date.fromisoformat(value)  # ValueError (422) for 2026-02-30
    return value


class Request(BaseModel):
    # defer_build: a model's validator is built when first used, not at import (cold starts serve one route)
    model_config = ConfigDict(extra="forbid", defer_build=True)


class Response(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)


class Problem(Response):
    """RFC 9457 problem details. Validation errors add ``errors``; cap errors add ``max_points``."""

    model_config = ConfigDict(extra="allow")
    type: str
    title: str
    status: int
    detail: str
    code: str
    request_id: str
    errors: list[dict[str, Any]] | None = None


# Why a bonus is given: the program caps each reason per customer per day (UpdateProgram.bonus_daily_limits).
BonusReason = Literal["review", "survey", "social_share", "referral", "birthday", "other"]


# A partner named in a body (campaigns' earn_at, settlement payments).
PartnerId = Annotated[str, StringConstraints(strict=True, pattern=r"^ptn_[0-9a-z]{8,32}$")]
