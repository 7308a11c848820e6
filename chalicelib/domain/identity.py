"""Customer identifiers: phones become E.164 so that every way a cashier types a number finds one customer."""

from __future__ import annotations

import re

_PHONE_NOISE = re.compile(r"[\s\-().]")
_E164 = re.compile(r"^\+[1-9]\d{7,14}$")
_CARD = re.compile(r"^[A-Z0-9]{4,32}$")


def normalize_phone(raw: str, default_country_code: str = "7") -> str:
    """``+7 916 123-45-67``, ``8 (916) 123 45 67`` and ``9161234567`` all become ``+79161234567``.

    Raises ValueError for anything that is not a plausible E.164 number.
    """
    text = _PHONE_NOISE.sub("", raw.strip())
    if text.startswith("00"):
        text = "+" + text[2:]
    if not text.startswith("+"):
        if not text.isdigit():
            raise ValueError("phone may contain digits, spaces, dashes, brackets and a leading +")
        if default_country_code == "7" and len(text) == 11 and text[0] in "78":
            text = "+7" + text[1:]
        elif default_country_code == "7" and len(text) == 10 and text[0] == "9":
            text = "+7" + text
        else:
            text = "+" + text
    if not _E164.match(text):
        raise ValueError("phone is not a valid international number")
    return text


def normalize_card(raw: str) -> str:
    text = re.sub(r"[\s\-]", "", raw.strip()).upper()
    if not _CARD.match(text):
        raise ValueError("card must be 4-32 letters or digits (spaces and dashes are ignored)")
    return text
