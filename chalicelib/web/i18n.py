"""One message catalogue per language for both UIs: ``messages/<lang>.json``, looked up by dotted key.

A catalogue is a JSON object of texts, nested by area (``me``, ``portal``, ``entry``...). Its ``_meta`` says how the
language writes numbers, money and dates, which plural rule it follows, what the language is called in itself (the
text of the switch link) and which catalogue fills its gaps. Plural texts are objects keyed by plural category. Adding
a language is adding a file: no Python changes. An area with many texts of its own (``admin``) keeps them in
``messages/<area>/<lang>.json``, looked up as ``<area>.<key>``: its screens grow without touching the shared files.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from chalicelib.domain.periods import zone
from chalicelib.domain.plurals import PLURAL_RULES, plural_category

MESSAGES_DIR = Path(__file__).resolve().parent / "messages"
DEFAULT = "ru"
__all__ = ["PLURAL_RULES", "Locale", "languages", "locale", "pick", "plural_category"]


def _flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in tree.items():
        is_plural = isinstance(value, dict) and value and set(value) <= {"zero", "one", "two", "few", "many", "other"}
        if isinstance(value, dict) and not is_plural:
            out.update(_flatten(value, f"{prefix}{key}."))
        else:
            out[prefix + key] = value
    return out


@cache
def languages() -> tuple[str, ...]:
    """The languages with a catalogue: the default first, then by code."""
    found = sorted(p.stem for p in MESSAGES_DIR.glob("*.json"))
    return tuple(sorted(found, key=lambda lang: lang != DEFAULT))


def pick(*candidates: str | None) -> str:
    """The first candidate that has a catalogue (an explicit ``?lang=``, then a stored preference), else the default."""
    for candidate in candidates:
        if candidate in languages():
            return str(candidate)
    return DEFAULT


@dataclass(frozen=True, eq=False)
class Locale:
    """One language's texts and conventions; ``t("me.title")`` is the text, ``t("me.hello_name", name=...)`` fills
    ``{name}`` in it. Texts are plain: templates escape them like any other value."""

    lang: str
    name: str
    messages: dict[str, Any]
    meta: dict[str, str]
    fallback: Locale | None

    def _find(self, key: str) -> Any:
        if key in self.messages:
            return self.messages[key]
        if self.fallback is not None:
            return self.fallback._find(key)
        raise KeyError(f"no message {key!r} in {self.lang}.json")

    def __call__(self, key: str, **params: Any) -> str:
        text = self._find(key)
        return str(text).format(**params) if params else str(text)

    def get(self, key: str, default: str) -> str:
        """A text that may be missing (an entry type or category newer than the catalogue): ``default`` then."""
        try:
            return self(key)
        except KeyError:
            return default

    def plural(self, key: str, n: int, **params: Any) -> str:
        forms = self._find(key)
        category = plural_category(n, self.meta["plural"])
        text = forms.get(category) or forms["other" if "other" in forms else "many"]
        return str(text).format(n=n, **params)

    # numbers, money and dates: integers only, nothing float near points or money

    def group(self, n: int) -> str:
        return f"{n:,}".replace(",", self.meta["group"])

    def fraction(self, value: int, unit: int) -> str:
        """value/unit as a short decimal without floats: (250, 100) -> "2,5" in Russian, "2.5" in English."""
        whole, rest = divmod(value, unit)
        places = len(str(unit)) - 1
        digits = str(rest * 10**places // unit).rjust(places, "0").rstrip("0")
        return f"{whole}{self.meta['decimal']}{digits}" if digits else str(whole)

    def money(self, minor: int) -> str:
        """Minor units (kopecks) as the language writes roubles: 3000000 -> "30 000 ₽" / "30,000 RUB"."""
        whole, cents = divmod(abs(minor), 100)
        amount = self.group(whole) + (f"{self.meta['decimal']}{cents:02d}" if cents else "")
        return ("-" if minor < 0 else "") + self.meta["money"].format(amount=amount)

    def date(self, iso: str, tz: str) -> str:
        return datetime.fromisoformat(iso).astimezone(zone(tz)).strftime(self.meta["date"])


@cache
def locale(lang: str) -> Locale:
    tree = json.loads((MESSAGES_DIR / f"{lang}.json").read_text(encoding="utf-8"))
    for area in sorted(MESSAGES_DIR.glob(f"*/{lang}.json")):
        tree[area.parent.name] = json.loads(area.read_text(encoding="utf-8"))
    meta = tree.pop("_meta")
    fallback_lang = meta.get("fallback")
    fallback = locale(fallback_lang) if fallback_lang and fallback_lang != lang else None
    meta = {**(fallback.meta if fallback else {}), **meta}
    return Locale(lang, meta["name"], _flatten(tree), meta, fallback)


def reset() -> None:
    """Forget the loaded catalogues (tests that point ``MESSAGES_DIR`` elsewhere)."""
    languages.cache_clear()
    locale.cache_clear()
