"""How the portal writes days, months and ratios in the page's language (names from the catalogue, no locale
database): ``6 дек`` / ``6 Dec``, ``декабрь 2026`` / ``December 2026``, ``5,67`` / ``5.67``."""

from __future__ import annotations

from chalicelib.web.i18n import Locale


def day(t: Locale, iso_date: str) -> str:
    """A ``YYYY-MM-DD`` day as a short date: "6 дек"."""
    _, month, day_of_month = iso_date[:10].split("-")
    return t("portal.day", day=int(day_of_month), month=t("portal.months_short").split()[int(month) - 1])


def month(t: Locale, period: str) -> str:
    """A ``YYYY-MM`` period as its month's name and year: "декабрь 2026"."""
    year, number = period.split("-")
    return t("portal.month", month=t("portal.months").split()[int(number) - 1], year=year)


def ratio(t: Locale, numerator: int, denominator: int) -> str:
    """numerator/denominator rounded half up to two decimals, integers only: (17, 3) -> "5,67"."""
    hundredths = (numerator * 200 + denominator) // (denominator * 2)
    whole, rest = divmod(hundredths, 100)
    return f"{t.group(whole)}{t.meta['decimal']}{rest:02d}"
