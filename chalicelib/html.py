"""Server-rendered HTML shared by the customer page and the partner portal: the page shell, one stylesheet, the
security headers, and number/money/date formatting with integers only (nothing float near points or money)."""

from __future__ import annotations

import secrets
from datetime import datetime
from html import escape

from chalicelib.domain.periods import zone

__all__ = ["CSS", "date", "escape", "fraction", "group", "headers", "money", "new_nonce", "page", "plural_points"]


def new_nonce() -> str:
    return secrets.token_urlsafe(16)


HEADERS = {
    "Content-Type": "text/html; charset=utf-8",
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}
CSS = """
:root{--ink:#1b1d21;--muted:#5b6270;--line:#e3e6ec;--bg:#f6f7f9;--card:#fff;--brand:#0b6b4f;--brand-soft:#e3f3ed;
--minus:#a4262c}
*{box-sizing:border-box}body{margin:0;font:16px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;
color:var(--ink);background:var(--bg)}main{max-width:560px;margin:0 auto;padding:16px}
header{display:flex;justify-content:space-between;align-items:baseline;gap:8px}h1{font-size:1.1rem;margin:0}
a{color:var(--brand)}.lang{font-size:.9rem}section{background:var(--card);border:1px solid var(--line);
border-radius:14px;padding:16px;margin:14px 0}h2{font-size:1rem;margin:0 0 10px}
.balance .big{font-size:3rem;font-weight:700;line-height:1.1;color:var(--brand)}.muted{color:var(--muted)}
.tiles{display:grid;grid-template-columns:1fr 1fr;gap:10px;margin-top:12px}.tile{background:var(--bg);
border-radius:10px;padding:10px}.tile b{display:block;font-size:1.3rem}.expiring{margin-top:12px}
.bar{height:12px;background:var(--line);border-radius:6px;overflow:hidden;margin:8px 0}.bar span{display:block;
height:100%;background:var(--brand)}ul{list-style:none;margin:0;padding:0}li{padding:10px 0;
border-top:1px solid var(--line);display:flex;justify-content:space-between;gap:12px}li:first-child{border-top:0}
.pts{font-weight:600;white-space:nowrap}.plus{color:var(--brand)}.minus{color:var(--minus)}
.offer{background:var(--brand-soft);border-radius:10px;padding:10px;margin-top:8px;display:block}
footer{font-size:.85rem;color:var(--muted);text-align:center;margin:18px 0}
""" + "".join(f".w{p}{{width:{p}%}}" for p in range(0, 101, 5))  # CSP forbids style attributes: width classes


def fraction(value: int, unit: int, lang: str) -> str:
    """value/unit as a short decimal without floats: (250, 100) -> "2,5" in Russian, "2.5" in English."""
    whole, rest = divmod(value, unit)
    digits = str(rest * 10 ** (len(str(unit)) - 1) // unit).rjust(len(str(unit)) - 1, "0").rstrip("0")
    return f"{whole}{',' if lang == 'ru' else '.'}{digits}" if digits else str(whole)


def plural_points(n: int, lang: str) -> str:
    if lang == "en":
        return "point" if abs(n) == 1 else "points"
    n = abs(n)
    if n % 10 == 1 and n % 100 != 11:
        return "балл"
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return "балла"
    return "баллов"


def group(n: int, lang: str) -> str:
    sep = "\u00a0" if lang == "ru" else ","
    return f"{n:,}".replace(",", sep)


def money(minor: int, lang: str) -> str:
    whole, cents = divmod(abs(minor), 100)
    sign = "-" if minor < 0 else ""
    decimal = "," if lang == "ru" else "."
    text = group(whole, lang) + (f"{decimal}{cents:02d}" if cents else "")
    return f"{sign}{text}\u00a0{('₽' if lang == 'ru' else 'RUB')}"


def date(iso: str, tz: str, lang: str) -> str:
    moment = datetime.fromisoformat(iso).astimezone(zone(tz))
    return moment.strftime("%d.%m.%Y" if lang == "ru" else "%d %b %Y")


def page(lang: str, title: str, body: str, nonce: str) -> str:
    return (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="robots" content="noindex, nofollow"><meta name="referrer" content="no-referrer">'
        f'<title>{escape(title)}</title><style nonce="{nonce}">{CSS}</style></head>'
        f"<body><main>{body}</main></body></html>"
    )


def headers(nonce: str) -> dict[str, str | list[str]]:
    csp = (
        f"default-src 'none'; style-src 'nonce-{nonce}'; img-src 'self' data:; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'"
    )
    return {**HEADERS, "Content-Security-Policy": csp}
