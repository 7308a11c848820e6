"""Plural categories of a count, by language family (CLDR rules for whole numbers): pure text logic shared by the
pages' catalogues (``web/i18n.py``) and the messages sent to customers (``services/customer_messages.py``)."""

from __future__ import annotations

from collections.abc import Callable


def _one_other(n: int) -> str:
    return "one" if n == 1 else "other"


def _zero_one_other(n: int) -> str:
    return "one" if n in (0, 1) else "other"


def _other(n: int) -> str:
    return "other"


def _east_slavic(n: int) -> str:
    if n % 10 == 1 and n % 100 != 11:
        return "one"
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return "few"
    return "many"


# CLDR plural rules by family, for whole numbers; a catalogue names its rule in _meta.plural.
PLURAL_RULES: dict[str, Callable[[int], str]] = {
    "one_other": _one_other,  # English, German, Dutch, Italian, Spanish...
    "zero_one_other": _zero_one_other,  # French, Portuguese (Brazil)
    "east_slavic": _east_slavic,  # Russian, Ukrainian, Belarusian
    "none": _other,  # Chinese, Japanese, Korean, Turkish...
}


def plural_category(n: int, rule: str) -> str:
    """The plural category of a count: ``plural_category(21, "east_slavic") == "one"`` (21 балл)."""
    return PLURAL_RULES[rule](abs(n))
