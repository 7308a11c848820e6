"""The customer's balance page (``GET /me?token=...``): server-rendered, mobile first, no JavaScript, no CDN.

Everything is escaped; CSS is inline under a per-response CSP nonce; the page is private (no-store, no referrer,
noindex). Russian by default, English from the customer's locale or ``?lang=en``.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlencode

from chalicelib import campaigns as campaign_rules
from chalicelib import html, program
from chalicelib.domain.campaigns import Shopper, qualifies
from chalicelib.portal import PortalView
from chalicelib.program import Program
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
CATEGORIES = {
    "ru": {"cafe": "Кафе", "clothing": "Одежда", "beauty": "Салон красоты", "online": "Интернет-магазин"},
    "en": {"cafe": "Café", "clothing": "Clothing", "beauty": "Beauty salon", "online": "Online shop"},
}
HOLD_TYPES = {"hold", "void", "hold_expired"}  # these move points between available and held: show that amount


def error_page(lang: str) -> tuple[str, dict[str, str | list[str]]]:
    t = TEXT[lang]
    nonce = html.new_nonce()
    body = f'<section role="alert"><h1>{t["bad_title"]}</h1><p>{t["bad_text"]}</p></section>'
    return html.page(lang, t["bad_title"], body, nonce), html.headers(nonce)


def _offers(view: PortalView, prog: Program, now: datetime, lang: str) -> list[str]:
    """Active campaigns whose audience this customer is in right now."""
    current = of_item(view.customer)
    shopper = Shopper(current.last_purchase, view.data.balance.tier.name, current.campaign_awards)
    tier_names = [t.name for t in sorted(prog.tiers, key=lambda t: t.min_spend_12m_minor)]
    t = TEXT[lang]
    out: list[str] = []
    seen: set[str] = set()
    for partner in view.partners:
        if partner.status != "active":
            continue
        for rules in campaign_rules.active_rules(partner):
            amount = max(rules.min_amount_minor, 1)
            if rules.campaign_id in seen or not qualifies(rules, partner.partner_id, amount, shopper, tier_names, now):
                continue
            seen.add(rules.campaign_id)
            if rules.reward_type == "fixed":
                reward = f"+{html.group(rules.reward_value, lang)} {t['offer_points']}"
            elif rules.reward_type == "percent":
                reward = f"+{html.fraction(rules.reward_value, 100, lang)}% {t['offer_percent']}"
            else:
                reward = f"x{html.fraction(rules.reward_value, 10_000, lang)} {t['offer_multiplier']}"
            minimum = f" {t['from']} {html.money(rules.min_amount_minor, lang)}" if rules.min_amount_minor else ""
            out.append(
                f'<span class="offer"><b>{html.escape(reward)}</b> {t["on_purchase"]} '
                f"{html.escape(partner.name)}{minimum}</span>"
            )
    return out


def render(view: PortalView, lang: str, token: str, now: datetime) -> tuple[str, dict[str, str | list[str]]]:
    prog = program.load()
    data = view.data
    t, kinds = TEXT[lang], ENTRY_TYPES[lang]
    b = data.balance
    nonce = html.new_nonce()
    other = "en" if lang == "ru" else "ru"
    switch = "/me?" + urlencode({"token": token, "lang": other})
    parts: list[str] = [
        f'<header><h1>{t["title"]}</h1><a class="lang" href="{html.escape(switch)}" hreflang="{other}" '
        f'lang="{other}">{t["switch"]}</a></header>'
    ]
    hello = f"{t['hello']}, {html.escape(data.name)}!" if data.name else f"{t['hello']}!"
    worth = html.money(b.available * b.point_value_minor, lang)
    parts.append(
        f'<section class="balance" aria-labelledby="bal"><p class="muted">{hello}</p>'
        f'<h2 id="bal">{t["available"]}</h2>'
        f'<div class="big" data-testid="available">{html.group(b.available, lang)}</div>'
        f'<div class="muted">{html.plural_points(b.available, lang)} · {t["worth"]} {worth}</div>'
        f'<div class="tiles"><div class="tile"><span class="muted">{t["pending"]}</span>'
        f'<b data-testid="pending">{html.group(b.pending, lang)}</b>'
        f'<small class="muted">{t["pending_note"]}</small></div>'
        f'<div class="tile"><span class="muted">{t["held"]}</span><b data-testid="held">{html.group(b.held, lang)}</b>'
        f'<small class="muted">{t["held_note"]}</small></div></div>'
    )
    if b.expiring:
        first = b.expiring[0]
        when = html.date(f"{first.expires_on.isoformat()}T12:00:00+00:00", prog.timezone, lang)
        parts.append(
            f'<p class="expiring" data-testid="expiring"><b>{html.group(first.points, lang)}</b> '
            f"{html.plural_points(first.points, lang)} {t['expires']} {when}</p>"
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
            f"<p>{t['spend_more']} <b>{html.money(tier.spend_to_next_minor, lang)}</b> {t['to_next']} "
            f"<b>{html.escape(tier.next_tier.title())}</b></p>"
        )
    else:
        progress = f"<p>{t['top_tier']}</p>"
    parts.append(
        f'<section aria-labelledby="tier"><h2 id="tier">{t["tier"]}: '
        f'<span data-testid="tier">{html.escape(tier.name.title())}</span></h2>'
        f'<p class="muted">x{html.fraction(tier.multiplier_bps, 10_000, lang)} {t["multiplier"]}</p>'
        f"{progress}</section>"
    )

    offers = _offers(view, prog, now, lang)
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
            f'<li data-testid="entry"><span><b>{html.escape(kinds.get(e.type, e.type))}</b><br>'
            f'<small class="muted">{html.escape(e.partner_name or "")} · '
            f"{html.date(e.created_at, prog.timezone, lang)}</small>"
            f'</span><span class="pts {sign_class}">{sign}{html.group(shown, lang)}</span></li>'
        )
    more = ""
    if data.next_cursor:
        href = "/me?" + urlencode({"token": token, "lang": lang, "cursor": data.next_cursor})
        more = f'<p><a href="{html.escape(href)}" rel="next">{t["earlier"]} →</a></p>'
    parts.append(
        f'<section aria-labelledby="history"><h2 id="history">{t["history"]}</h2>'
        + (f"<ul>{''.join(rows)}</ul>" if rows else f'<p class="muted">{t["no_history"]}</p>')
        + more
        + "</section>"
    )

    directory = "".join(
        f"<li><span>{html.escape(p.name)}<br><small class='muted'>"
        f"{html.escape(CATEGORIES[lang].get(p.category or '', p.category or ''))}</small></span>"
        f'<span class="pts">{html.fraction(p.earn_rate_bps, 100, lang)}% {t["earn"]}</span></li>'
        for p in data.partners
    )
    parts.append(f'<section aria-labelledby="where"><h2 id="where">{t["where"]}</h2><ul>{directory}</ul></section>')
    until = html.date(data.link_expires_at, prog.timezone, lang)
    parts.append(f"<footer>{t['link_until']} {until}</footer>")
    return html.page(lang, t["title"], "".join(parts), nonce), html.headers(nonce)


def language(requested: str | None, stored: str | None) -> str:
    for candidate in (requested, stored):
        if candidate in TEXT:
            return str(candidate)
    return "ru"
