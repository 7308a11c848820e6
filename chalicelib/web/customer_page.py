"""The customer's balance page (``GET /me``, signed in or from a link): server-rendered, mobile first, no JavaScript,
no CDN. Requests, cookies and forms are in ``customer_http``.

The view model is computed here from what ``portal.view`` read; ``templates/customer/page.html`` only lays it out
(autoescaped). CSS is inline under a per-response CSP nonce; the page is private (no-store, no referrer, noindex).
Russian by default, else the customer's locale or ``?lang=``; texts come from ``messages/<lang>.json``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

from chalicelib.domain.campaigns import Shopper
from chalicelib.domain.offers import Offer, offers_for
from chalicelib.domain.partners import Partner
from chalicelib.domain.periods import zone
from chalicelib.domain.wallet import settled
from chalicelib.machinery import program
from chalicelib.machinery.program import Program
from chalicelib.schemas import Balance
from chalicelib.services import customer_self, spend_codes, telegram_link
from chalicelib.services.one_time_codes import Issued
from chalicelib.services.portal_links import PortalAccess, PortalView
from chalicelib.services.telegram_link import LinkOffer
from chalicelib.web import i18n
from chalicelib.web.render import Page, language_links, render

# One line per spend at a till, as the customer counts her points: a hold still open is "held" (what left her
# available points); once captured, only the capture's line, "spent"; released (voided or expired) is "released",
# the points back. The ledger keeps every entry (the export shows them all); the page hides a resolved hold's line.
RELEASED_TYPES = {"void", "hold_expired"}
LABELS = {
    "hold": "history.held",
    "capture": "history.spent",
    "void": "history.released",
    "hold_expired": "history.released",
}


@dataclass(frozen=True)
class Entry:
    type: str
    partner: str
    created_at: str
    points: int  # as the customer sees it: a hold shows what left "available", a release what came back
    tone: str  # plus, minus or "" (a release: the points only came back, nothing was earned)
    label: str  # the message key of the line's name where it is not the entry type's (holds)


@dataclass(frozen=True)
class Tier:
    name: str
    multiplier_bps: int
    next_tier: str | None  # None: the top tier
    spend_to_next_minor: int
    percent: int
    bar_class: str  # w0..w100 in steps of 5: CSP allows no style attribute


@dataclass(frozen=True)
class Place:
    name: str
    category: str
    earn_rate_bps: int


@dataclass(frozen=True)
class HeldAt:
    """Points held at a till, which the customer may release herself."""

    key: str  # the hold's key in her wallet: the release form's field
    partner: str
    points: int
    until: str  # an ISO instant (its date in the page's language)
    until_time: str  # HH:MM in the program's time zone


@dataclass(frozen=True)
class CodeFreeRule:
    """A partner that may spend without the customer's code, and how far (the page tells her the truth)."""

    partner: str
    ceiling: int | None  # points per 24 hours; None: no ceiling (the operator's explicit trust)
    hold_minutes: int


@dataclass(frozen=True)
class Settings:
    consent: bool
    locale: str
    channel: str  # "" until the customer chooses
    channels: list[str]  # those the customer can be reached on
    languages: list[tuple[str, str]]
    telegram_bot: str = ""  # the program's bot, "" if it has none: no "Connect Telegram"
    telegram_linked: bool = False


@dataclass(frozen=True)
class CustomerPage:
    name: str
    available: int
    pending: int
    held: int
    worth_minor: int
    expiring_points: int | None
    expiring_on: str  # an ISO instant, shown as a date in the program's time zone
    tier: Tier
    offers: list[Offer]
    entries: list[Entry]
    earlier_href: str | None
    places: list[Place]
    link_expires_at: str
    timezone: str
    holds: list[HeldAt]
    code_free: list[CodeFreeRule]


def _holds(view: PortalView, prog: Program, now: datetime) -> list[HeldAt]:
    """The holds still open at ``now`` (a hold past its deadline is already back in "available"), soonest first."""
    current, _, _ = settled(view.customer.wallet, now, prog.timezone)
    names = {p.partner_id: p.name for p in view.partners}
    tz = zone(prog.timezone)
    shown = [
        HeldAt(
            key,
            names.get(h.partner_id, ""),
            h.points,
            h.expires_at,
            datetime.fromisoformat(h.expires_at).astimezone(tz).strftime("%H:%M"),
        )
        for key, h in current.holds.items()
    ]
    return sorted(shown, key=lambda h: (h.until, h.key))


def _code_free(partners: list[Partner]) -> list[CodeFreeRule]:
    """The active partners whose policy lets them spend without the customer's code: what the page must say."""
    return [
        CodeFreeRule(p.name, p.code_free_ceiling, p.code_free_hold_minutes)
        for p in sorted(partners, key=lambda p: p.name)
        if p.active and p.code_free_ceiling != 0
    ]


def _offers(view: PortalView, prog: Program, now: datetime) -> list[Offer]:
    """Active campaigns whose audience this customer is in right now."""
    current = view.customer.wallet
    shopper = Shopper(current.last_purchase, view.data.balance.tier.name, current.campaign_awards)
    tier_names = [t.name for t in sorted(prog.tiers, key=lambda t: t.min_spend_12m_minor)]
    return offers_for(view.partners, shopper, tier_names, now)


def tier_name(name: str, t: i18n.Locale) -> str:
    """The program's default tiers (bronze, silver, gold...) in the page's language; a name the program chose
    itself is shown as it was set."""
    return t.get(f"tier_name.{name.lower()}", name if name != name.lower() else name.title())


def _tier(balance: Balance, t: i18n.Locale) -> Tier:
    tier = balance.tier
    if not tier.next_tier or tier.spend_to_next_minor is None:
        return Tier(tier_name(tier.name, t), tier.multiplier_bps, None, 0, 100, "w100")
    target = tier.spend_12m_minor + tier.spend_to_next_minor
    percent = min(100, tier.spend_12m_minor * 100 // max(target, 1))
    return Tier(
        tier_name(tier.name, t),
        tier.multiplier_bps,
        tier_name(tier.next_tier, t),
        tier.spend_to_next_minor,
        percent,
        f"w{percent - percent % 5}",
    )


def _entries(view: PortalView, prog: Program, now: datetime) -> list[Entry]:
    current, _, _ = settled(view.customer.wallet, now, prog.timezone)
    open_holds = {(h.partner_id, h.order_id) for h in current.holds.values()}
    out = []
    for e in view.data.transactions:
        if e.type == "hold" and (e.partner_id, e.order_id) not in open_holds:
            continue  # captured or released: that line says what happened to these points
        if e.type == "hold":
            shown, tone = e.available_delta, "minus"
        elif e.type in RELEASED_TYPES:
            shown, tone = e.available_delta, ""
        else:
            shown = e.points
            tone = "plus" if shown > 0 else ("minus" if shown < 0 else "")
        label = LABELS.get(e.type, "")  # "": the entry type's own name
        out.append(Entry(e.type, e.partner_name or "", e.created_at, shown, tone, label))
    return out


def build(view: PortalView, lang: str, token: str, now: datetime) -> CustomerPage:
    prog = program.load()
    data, b = view.data, view.data.balance
    first = b.expiring[0] if b.expiring else None
    earlier = None
    if data.next_cursor:
        earlier = _query(token, lang=lang, cursor=data.next_cursor)
    return CustomerPage(
        name=data.name or "",
        available=b.available,
        pending=b.pending,
        held=b.held,
        worth_minor=b.available * b.point_value_minor,
        expiring_points=first.points if first else None,
        expiring_on=f"{first.expires_on.isoformat()}T12:00:00+00:00" if first else "",
        tier=_tier(b, i18n.locale(lang)),
        offers=_offers(view, prog, now),
        entries=_entries(view, prog, now),
        earlier_href=earlier,
        places=[Place(p.name, p.category or "", p.earn_rate_bps) for p in data.partners],
        link_expires_at=data.link_expires_at,
        timezone=prog.timezone,
        holds=_holds(view, prog, now),
        code_free=_code_free(view.partners),
    )


def _query(token: str, **more: str) -> str:
    """A link to the page itself: with the link's token when the page was opened from a link (older clients and
    bookmarks keep working), else bare (the session cookie carries the customer)."""
    return "/me?" + urlencode({**({"token": token} if token else {}), **more})


def render_page(
    view: PortalView,
    lang: str,
    token: str,
    now: datetime,
    *,
    csrf: str = "",
    access: PortalAccess | None = None,
    suffix: str = "",
) -> Page:
    switch = _query(token) + ("&" if token else "") + "lang="
    return render(
        "customer/page.html",
        i18n.locale(lang),
        page=build(view, lang, token, now),
        language_links=language_links(lang, switch),
        csrf=csrf,
        session_until=access.expires_at.isoformat() if access is not None and access.session else "",
        read_only=access is None or not access.confirmed,  # a link: "confirm with a code" to change anything
        suffix=suffix,
        settings=Settings(
            consent=view.customer.marketing_consent,
            locale=lang,
            channel=view.customer.channel or "",
            channels=customer_self.reachable_channels(view.customer),
            languages=[(code, i18n.locale(code).name) for code in i18n.languages()],
            telegram_bot=telegram_link.bot_username() or "",
            telegram_linked=bool(view.customer.telegram_chat_id),
        ),
    )


def _qr(text: str, scale: int) -> str:
    """A QR code as an SVG data: URI (the page's CSP allows data: images); segno loads only when a page draws one."""
    import segno

    uri: str = segno.make_qr(text, error="m").svg_data_uri(scale=scale, border=2, dark="#1b1d21")
    return uri


def spend_code_page(issued: Issued, most: int, lang: str, csrf: str, view: PortalView, suffix: str = "") -> Page:
    """The code to show at the till, in digits and as a QR (an SVG image, data: URI: the CSP allows it), and the
    most it pays (``most``: what the customer allowed)."""
    tz = program.load().timezone
    qr = _qr(issued.code, scale=8)
    return render(
        "customer/spend_code.html",
        i18n.locale(lang),
        code=issued.code,
        code_groups=(issued.code[:3], issued.code[3:]),
        qr=qr,
        valid_until=issued.expires_at.astimezone(zone(tz)).strftime("%H:%M"),
        minutes=spend_codes.PAGE_MINUTES,
        available=view.data.balance.available,
        most=most,
        csrf=csrf,
        suffix=suffix,
        language_links=[],
    )


def telegram_page(offer: LinkOffer, lang: str, suffix: str = "") -> Page:
    """The deep link to the bot, to tap on a phone, and as a QR for a page opened on a computer."""
    tz = program.load().timezone
    qr = _qr(offer.url, scale=6)
    return render(
        "customer/telegram.html",
        i18n.locale(lang),
        link=offer.url,
        qr=qr,
        valid_until=offer.expires_at.astimezone(zone(tz)).strftime("%H:%M"),
        suffix=suffix,
        language_links=[],
    )


def error_page(lang: str) -> Page:
    return render("customer/error.html", i18n.locale(lang))
