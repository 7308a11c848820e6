"""The customer's balance page (``GET /me?token=...``): server-rendered, mobile first, no JavaScript, no CDN.

Everything is escaped; CSS is inline under a per-response CSP nonce; the page is private (no-store, no referrer,
noindex). Russian by default, English from the customer's locale or ``?lang=en``.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from html import escape
from urllib.parse import urlencode

from chalicelib import campaigns as campaign_rules
from chalicelib import customers, partners, program
from chalicelib.domain import spend_12m, tier_status
from chalicelib.domain.campaigns import Shopper, qualifies
from chalicelib.domain.periods import period_of, zone
from chalicelib.portal import PortalAccess
from chalicelib.program import Program
from chalicelib.schemas import MeOut
from chalicelib.wallet import of_item

TEXT: dict[str, dict[str, str]] = {
    "ru": {
        "title": "Мои бонусы",
        "hello": "Здравствуйте",
        "available": "Доступно",
        "pending": "Ожидают",
        "held": "Заморожено",
        "rub": "₽",
        "worth": "это",
        "expires": "сгорят",
        "nothing_expires": "Ничего не сгорает",
        "tier": "Уровень",
        "multiplier": "баллов за покупку",
        "to_next": "до уровня",
        "spend_more": "Ещё",
        "top_tier": "Это высший уровень",
        "history": "История",
        "no_history": "Пока ничего нет",
        "earlier": "Ранее",
        "offers": "Предложения для вас",
        "no_offers": "Сейчас предложений нет",
        "where": "Где копить и тратить",
        "earn": "баллами",
        "link_until": "Ссылка действует до",
        "switch": "English",
        "bad_title": "Ссылка не работает",
        "bad_text": "Ссылка недействительна или устарела. Попросите новую на кассе или в приложении партнёра.",
        "pending_note": "станут доступны после окончания срока возврата",
        "held_note": "ожидают оплаты на кассе",
        "on_purchase": "за покупку в",
        "from": "от",
        "offer_points": "бонусных баллов",
        "offer_percent": "от суммы",
        "offer_multiplier": "баллов больше",
    },
    "en": {
        "title": "My points",
        "hello": "Hello",
        "available": "Available",
        "pending": "Pending",
        "held": "On hold",
        "rub": "RUB",
        "worth": "worth",
        "expires": "expire on",
        "nothing_expires": "Nothing expires",
        "tier": "Tier",
        "multiplier": "points per purchase",
        "to_next": "to",
        "spend_more": "Spend",
        "top_tier": "This is the top tier",
        "history": "History",
        "no_history": "Nothing yet",
        "earlier": "Earlier",
        "offers": "Offers for you",
        "no_offers": "No offers right now",
        "where": "Where to earn and spend",
        "earn": "back in points",
        "link_until": "This link works until",
        "switch": "Русский",
        "bad_title": "This link does not work",
        "bad_text": "The link is invalid or has expired. Ask for a new one at the till or in the partner's app.",
        "pending_note": "become available when the return window ends",
        "held_note": "held at a till",
        "on_purchase": "on a purchase at",
        "from": "from",
        "offer_points": "bonus points",
        "offer_percent": "of the amount",
        "offer_multiplier": "more points",
    },
}
ENTRY_TYPES = {
    "ru": {
        "accrual": "Начисление",
        "campaign_award": "Бонус по акции",
        "bonus": "Бонус",
        "redemption": "Списание",
        "hold": "Заморозка",
        "capture": "Списание",
        "void": "Разморозка",
        "hold_expired": "Разморозка",
        "refund": "Возврат",
        "matured": "Стали доступны",
        "expiry": "Сгорание",
        "adjustment": "Корректировка",
    },
    "en": {
        "accrual": "Earned",
        "campaign_award": "Campaign bonus",
        "bonus": "Bonus",
        "redemption": "Spent",
        "hold": "Held",
        "capture": "Spent",
        "void": "Released",
        "hold_expired": "Released",
        "refund": "Refund",
        "matured": "Now available",
        "expiry": "Expired",
        "adjustment": "Adjustment",
    },
}
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
CATEGORIES = {
    "ru": {"cafe": "Кафе", "clothing": "Одежда", "beauty": "Салон красоты", "online": "Интернет-магазин"},
    "en": {"cafe": "Café", "clothing": "Clothing", "beauty": "Beauty salon", "online": "Online shop"},
}
HOLD_TYPES = {"hold", "void", "hold_expired"}  # these move points between available and held: show that amount


def _fraction(value: int, unit: int, lang: str) -> str:
    """value/unit as a short decimal without floats: (250, 100) -> "2,5" in Russian, "2.5" in English."""
    whole, rest = divmod(value, unit)
    digits = str(rest * 10 ** (len(str(unit)) - 1) // unit).rjust(len(str(unit)) - 1, "0").rstrip("0")
    return f"{whole}{',' if lang == 'ru' else '.'}{digits}" if digits else str(whole)


def _plural_points(n: int, lang: str) -> str:
    if lang == "en":
        return "point" if abs(n) == 1 else "points"
    n = abs(n)
    if n % 10 == 1 and n % 100 != 11:
        return "балл"
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return "балла"
    return "баллов"


def _group(n: int, lang: str) -> str:
    sep = "\u00a0" if lang == "ru" else ","
    return f"{n:,}".replace(",", sep)


def _money(minor: int, lang: str) -> str:
    whole, cents = divmod(abs(minor), 100)
    sign = "-" if minor < 0 else ""
    decimal = "," if lang == "ru" else "."
    text = _group(whole, lang) + (f"{decimal}{cents:02d}" if cents else "")
    return f"{sign}{text}\u00a0{TEXT[lang]['rub']}"


def _date(iso: str, tz: str, lang: str) -> str:
    moment = datetime.fromisoformat(iso).astimezone(zone(tz))
    return moment.strftime("%d.%m.%Y" if lang == "ru" else "%d %b %Y")


def _page(lang: str, title: str, body: str, nonce: str) -> str:
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


def error_page(lang: str) -> tuple[str, dict[str, str | list[str]]]:
    t = TEXT[lang]
    nonce = secrets.token_urlsafe(16)
    body = f'<section role="alert"><h1>{t["bad_title"]}</h1><p>{t["bad_text"]}</p></section>'
    return _page(lang, t["bad_title"], body, nonce), headers(nonce)


def _offers(access: PortalAccess, prog: Program, now: datetime, lang: str) -> list[str]:
    """Active campaigns whose audience this customer is in right now."""
    current = of_item(customers.get(access.customer_id))
    tier = tier_status(spend_12m(current.spend, period_of(now, prog.timezone)), prog.tiers).name
    shopper = Shopper(current.last_purchase, tier, current.campaign_awards)
    tier_names = [t.name for t in sorted(prog.tiers, key=lambda t: t.min_spend_12m_minor)]
    t = TEXT[lang]
    out: list[str] = []
    seen: set[str] = set()
    for partner in partners.all_partners():
        if partner.status != "active":
            continue
        for rules in campaign_rules.active_rules(partner):
            amount = max(rules.min_amount_minor, 1)
            if rules.campaign_id in seen or not qualifies(rules, partner.partner_id, amount, shopper, tier_names, now):
                continue
            seen.add(rules.campaign_id)
            if rules.reward_type == "fixed":
                reward = f"+{_group(rules.reward_value, lang)} {t['offer_points']}"
            elif rules.reward_type == "percent":
                reward = f"+{_fraction(rules.reward_value, 100, lang)}% {t['offer_percent']}"
            else:
                reward = f"x{_fraction(rules.reward_value, 10_000, lang)} {t['offer_multiplier']}"
            minimum = f" {t['from']} {_money(rules.min_amount_minor, lang)}" if rules.min_amount_minor else ""
            out.append(
                f'<span class="offer"><b>{escape(reward)}</b> {t["on_purchase"]} {escape(partner.name)}{minimum}</span>'
            )
    return out


def render(
    access: PortalAccess, data: MeOut, lang: str, token: str, now: datetime
) -> tuple[str, dict[str, str | list[str]]]:
    prog = program.load()
    t, kinds = TEXT[lang], ENTRY_TYPES[lang]
    b = data.balance
    nonce = secrets.token_urlsafe(16)
    other = "en" if lang == "ru" else "ru"
    switch = "/me?" + urlencode({"token": token, "lang": other})
    parts: list[str] = [
        f'<header><h1>{t["title"]}</h1><a class="lang" href="{escape(switch)}" hreflang="{other}" '
        f'lang="{other}">{t["switch"]}</a></header>'
    ]
    hello = f"{t['hello']}, {escape(data.name)}!" if data.name else f"{t['hello']}!"
    worth = _money(b.available * b.point_value_minor, lang)
    parts.append(
        f'<section class="balance" aria-labelledby="bal"><p class="muted">{hello}</p>'
        f'<h2 id="bal">{t["available"]}</h2>'
        f'<div class="big" data-testid="available">{_group(b.available, lang)}</div>'
        f'<div class="muted">{_plural_points(b.available, lang)} · {t["worth"]} {worth}</div>'
        f'<div class="tiles"><div class="tile"><span class="muted">{t["pending"]}</span>'
        f'<b data-testid="pending">{_group(b.pending, lang)}</b><small class="muted">{t["pending_note"]}</small></div>'
        f'<div class="tile"><span class="muted">{t["held"]}</span><b data-testid="held">{_group(b.held, lang)}</b>'
        f'<small class="muted">{t["held_note"]}</small></div></div>'
    )
    if b.expiring:
        first = b.expiring[0]
        when = _date(f"{first.expires_on.isoformat()}T12:00:00+00:00", prog.timezone, lang)
        parts.append(
            f'<p class="expiring" data-testid="expiring"><b>{_group(first.points, lang)}</b> '
            f"{_plural_points(first.points, lang)} {t['expires']} {when}</p>"
        )
    else:
        parts.append(f'<p class="expiring muted">{t["nothing_expires"]}</p>')
    parts.append("</section>")

    tier = b.tier
    if tier.next_tier and tier.spend_to_next_minor is not None:
        target = tier.spend_12m_minor + tier.spend_to_next_minor
        percent = min(100, tier.spend_12m_minor * 100 // max(target, 1))
        progress = (
            f'<div class="bar" role="progressbar" aria-valuemin="0" aria-valuemax="100" '
            f'aria-valuenow="{percent}"><span class="w{percent - percent % 5}"></span></div>'
            f"<p>{t['spend_more']} <b>{_money(tier.spend_to_next_minor, lang)}</b> {t['to_next']} "
            f"<b>{escape(tier.next_tier.title())}</b></p>"
        )
    else:
        progress = f"<p>{t['top_tier']}</p>"
    parts.append(
        f'<section aria-labelledby="tier"><h2 id="tier">{t["tier"]}: '
        f'<span data-testid="tier">{escape(tier.name.title())}</span></h2>'
        f'<p class="muted">x{_fraction(tier.multiplier_bps, 10_000, lang)} {t["multiplier"]}</p>{progress}</section>'
    )

    offers = _offers(access, prog, now, lang)
    parts.append(
        f'<section aria-labelledby="offers"><h2 id="offers">{t["offers"]}</h2>'
        + ("".join(offers) if offers else f'<p class="muted">{t["no_offers"]}</p>')
        + "</section>"
    )

    rows = []
    for e in data.transactions:
        shown = e.available_delta if e.type in HOLD_TYPES else e.points
        sign_class = "plus" if shown > 0 else ("minus" if shown < 0 else "")
        sign = "+" if shown > 0 else ""
        rows.append(
            f'<li data-testid="entry"><span><b>{escape(kinds.get(e.type, e.type))}</b><br>'
            f'<small class="muted">{escape(e.partner_name or "")} · {_date(e.created_at, prog.timezone, lang)}</small>'
            f'</span><span class="pts {sign_class}">{sign}{_group(shown, lang)}</span></li>'
        )
    more = ""
    if data.next_cursor:
        href = "/me?" + urlencode({"token": token, "lang": lang, "cursor": data.next_cursor})
        more = f'<p><a href="{escape(href)}" rel="next">{t["earlier"]} →</a></p>'
    parts.append(
        f'<section aria-labelledby="history"><h2 id="history">{t["history"]}</h2>'
        + (f"<ul>{''.join(rows)}</ul>" if rows else f'<p class="muted">{t["no_history"]}</p>')
        + more
        + "</section>"
    )

    directory = "".join(
        f"<li><span>{escape(p.name)}<br><small class='muted'>"
        f"{escape(CATEGORIES[lang].get(p.category or '', p.category or ''))}</small></span>"
        f'<span class="pts">{_fraction(p.earn_rate_bps, 100, lang)}% {t["earn"]}</span></li>'
        for p in data.partners
    )
    parts.append(f'<section aria-labelledby="where"><h2 id="where">{t["where"]}</h2><ul>{directory}</ul></section>')
    until = _date(data.link_expires_at, prog.timezone, lang)
    parts.append(f"<footer>{t['link_until']} {until}</footer>")
    return _page(lang, t["title"], "".join(parts), nonce), headers(nonce)


def language(requested: str | None, stored: str | None) -> str:
    for candidate in (requested, stored):
        if candidate in TEXT:
            return str(candidate)
    return "ru"
