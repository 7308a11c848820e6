"""Customer identifiers: phones become E.164 so that every way a cashier types a number finds one customer."""

from __future__ import annotations

import re
import unicodedata

_PHONE_NOISE = re.compile(r"[\s\-().]")
# ASCII only, whole string: Python's \d takes any script's digits and $ matches before a trailing newline.
_E164 = re.compile(r"\+[1-9][0-9]{7,14}")
_CARD = re.compile(r"[A-Z0-9]{4,32}")
# the full-width forms of ASCII (＋ （ － Ａ ...) and the ideographic space
_FULLWIDTH = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}


def ascii_digits(raw: str) -> str:
    """Every Unicode decimal digit (Arabic-Indic ٧, Persian ۷, Devanagari ७, full-width ７ ...) as its ASCII digit,
    and the full-width forms of ASCII punctuation and letters (＋, （, －, Ａ) as ASCII. Anything else is kept as it
    is, for the caller's validation to refuse."""
    text = raw.translate(_FULLWIDTH)
    if text.isascii():
        return text
    return "".join(str(unicodedata.decimal(ch)) if ch.isdecimal() else ch for ch in text)


def normalize_phone(raw: str, default_country_code: str = "7") -> str:
    """``+7 916 123-45-67``, ``8 (916) 123 45 67``, ``9161234567`` and ``+٧٩١٦١٢٣٤٥٦٧`` all become ``+79161234567``.

    Raises ValueError for anything that is not a plausible E.164 number.
    """
    text = _PHONE_NOISE.sub("", ascii_digits(raw).strip())
    if text.startswith("00"):
        text = "+" + text[2:]
    if not text.startswith("+"):
        if not (text.isascii() and text.isdigit()):
            raise ValueError("phone may contain digits, spaces, dashes, brackets and a leading +")
        if default_country_code == "7" and len(text) == 11 and text[0] in "78":
            text = "+7" + text[1:]
        elif default_country_code == "7" and len(text) == 10 and text[0] == "9":
            text = "+7" + text
        else:
            text = "+" + text
    if not _E164.fullmatch(text):
        raise ValueError("phone is not a valid international number")
    return text


def normalize_card(raw: str) -> str:
    text = re.sub(r"[\s\-]", "", ascii_digits(raw).strip()).upper()
    if not _CARD.fullmatch(text):
        raise ValueError("card must be 4-32 letters or digits (spaces and dashes are ignored)")
    return text


# local@domain.tld, ASCII or not, no spaces or control characters; at most 254 characters in all
_EMAIL = re.compile(
    r"[^@\s\x00-\x1f\x7f]{1,64}@[^@\s\x00-\x1f\x7f.][^@\s\x00-\x1f\x7f]{0,251}\.[^@\s\x00-\x1f\x7f.]{2,63}"
)


def normalize_email(raw: str) -> str:
    """``  Anna@Example.COM `` becomes ``anna@example.com`` (one customer whatever the case). Raises ValueError."""
    text = raw.strip().lower()
    if len(text) > 254 or not _EMAIL.fullmatch(text):
        raise ValueError("email is not a valid address")
    return text
