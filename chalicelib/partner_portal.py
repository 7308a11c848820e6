"""The partner portal (``/portal``): campaigns and settlements for people who do not write code.

Sign-in exchanges the API key for a signed session cookie (HttpOnly, SameSite=Strict, one hour); the key is never
stored in the browser. Every form carries a CSRF token bound to the session (the sign-in form: to a cookie) and a
random nonce new with each render: a write's Idempotency-Key is derived from the key id, the nonce and the form's
action and target, so the same rendered form sent twice acts once and every press on a freshly loaded page is a new
intent. Pages are server-rendered with the customer page's security headers; the portal calls the same services as
the API.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, quote

from chalicelib import auth, campaigns, db, html, idempotency, partners, program, settlement
from chalicelib.db import keys
from chalicelib.domain import ascii_digits
from chalicelib.domain.periods import add_months, period_of
from chalicelib.errors import ApiError, BadRequest, Forbidden, ValidationFailed
from chalicelib.schemas import CampaignOut, CreateCampaign

SESSION_COOKIE, CSRF_COOKIE, LANG_COOKIE = "lp_session", "lp_csrf", "lp_lang"
SESSION_MINUTES = 60
NONCE_BYTES = 16
_NONCE = re.compile(r"[A-Za-z0-9_-]{22}")  # secrets.token_urlsafe(NONCE_BYTES), matched whole
Headers = dict[str, str | list[str]]

T = {
    "ru": {
        "portal": "Кабинет партнёра",
        "sign_in": "Войти",
        "api_key": "API-ключ",
        "sign_out": "Выйти",
        "key_hint": "Ключ выдаёт оператор коалиции. Он не сохраняется в браузере.",
        "bad_key": "Ключ не подошёл.",
        "campaigns": "Акции",
        "new": "Новая акция",
        "settlements": "Расчёты",
        "inbox": "Ждут вашего согласия",
        "inbox_empty": "Нет акций, ждущих вашего согласия",
        "yours": "Ваши акции",
        "none": "Пока нет акций",
        "step1": "1. Чьих покупателей привлечь",
        "step2": "2. Награда",
        "step3": "3. Условия",
        "step4": "4. Бюджет",
        "name": "Название",
        "from_partner": "Покупатели партнёра",
        "within_days": "купившие за последние (дней)",
        "new_only": "или только новые для вас покупатели",
        "reward_type": "Тип награды",
        "fixed": "баллов за покупку",
        "percent": "% от суммы покупки баллами",
        "reward_value": "Размер",
        "min_amount": "Минимальная покупка, ₽",
        "starts": "Начало",
        "ends": "Окончание",
        "budget": "Бюджет, баллов",
        "limit": "Наград на покупателя",
        "preview": "Проверить",
        "create": "Создать акцию",
        "edit": "Изменить",
        "status": "Статус",
        "awaiting": "Ждём согласия",
        "accept": "Принять",
        "activate": "Запустить",
        "pause": "Приостановить",
        "end": "Завершить",
        "report": "Результаты",
        "awards": "Наград",
        "customers": "Покупателей",
        "new_customers": "Новых покупателей",
        "points_awarded": "Начислено баллов",
        "budget_left": "Осталось бюджета",
        "cost": "Стоимость",
        "revenue": "Выручка покупок",
        "roi": "Выручка на рубль бонусов",
        "by_day": "По дням",
        "period": "Месяц",
        "owed_to_you": "Коалиция должна вам",
        "you_owe": "Вы должны коалиции",
        "issued": "Выдано баллов",
        "reversed": "Отменено возвратами",
        "promo": "Баллов по вашим акциям",
        "accepted": "Принято баллов на кассе",
        "refunded": "Возвращено покупателям",
        "fee": "Комиссия оператора",
        "flows": "Чьи баллы у вас тратили",
        "issuer": "Партнёр",
        "points": "Баллов",
        "csv": "Скачать CSV",
        "open": "открыт",
        "closed": "закрыт",
        "switch": "English",
        "sponsor": "Спонсор",
        "you": "вы",
        "draft": "черновик",
        "pending_acceptance": "ждёт согласия",
        "active": "идёт",
        "paused": "на паузе",
        "ended": "завершена",
        "exhausted": "бюджет исчерпан",
        "error": "Проверьте поля",
    },
    "en": {
        "portal": "Partner portal",
        "sign_in": "Sign in",
        "api_key": "API key",
        "sign_out": "Sign out",
        "key_hint": "The coalition operator issues the key. It is not stored in your browser.",
        "bad_key": "That key did not work.",
        "campaigns": "Campaigns",
        "new": "New campaign",
        "settlements": "Settlements",
        "inbox": "Waiting for your acceptance",
        "inbox_empty": "Nothing is waiting for you",
        "yours": "Your campaigns",
        "none": "No campaigns yet",
        "step1": "1. Whose customers to attract",
        "step2": "2. Reward",
        "step3": "3. Conditions",
        "step4": "4. Budget",
        "name": "Name",
        "from_partner": "Customers of",
        "within_days": "who bought in the last (days)",
        "new_only": "or only customers new to you",
        "reward_type": "Reward",
        "fixed": "points per purchase",
        "percent": "% of the purchase in points",
        "reward_value": "Amount",
        "min_amount": "Minimum purchase, RUB",
        "starts": "Starts",
        "ends": "Ends",
        "budget": "Budget, points",
        "limit": "Awards per customer",
        "preview": "Preview",
        "create": "Create campaign",
        "edit": "Change",
        "status": "Status",
        "awaiting": "Waiting for",
        "accept": "Accept",
        "activate": "Activate",
        "pause": "Pause",
        "end": "End",
        "report": "Results",
        "awards": "Awards",
        "customers": "Customers",
        "new_customers": "New customers",
        "points_awarded": "Points awarded",
        "budget_left": "Budget left",
        "cost": "Cost",
        "revenue": "Purchases",
        "roi": "Purchases per rouble of bonus",
        "by_day": "By day",
        "period": "Month",
        "owed_to_you": "The coalition owes you",
        "you_owe": "You owe the coalition",
        "issued": "Points issued",
        "reversed": "Reversed by refunds",
        "promo": "Points of your campaigns",
        "accepted": "Points accepted",
        "refunded": "Returned to customers",
        "fee": "Operator fee",
        "flows": "Whose points were spent at you",
        "issuer": "Partner",
        "points": "Points",
        "csv": "Download CSV",
        "open": "open",
        "closed": "closed",
        "switch": "Русский",
        "sponsor": "Sponsor",
        "you": "you",
        "draft": "draft",
        "pending_acceptance": "waiting for acceptance",
        "active": "active",
        "paused": "paused",
        "ended": "ended",
        "exhausted": "budget used up",
        "error": "Please check the fields",
    },
}
PORTAL_CSS = """
.big{font-size:2.2rem;font-weight:700;color:var(--brand)}
nav{display:flex;gap:14px;flex-wrap:wrap;margin:8px 0}form.inline{display:inline}label{display:block;margin:10px 0 4px}
input,select{font:inherit;padding:8px;border:1px solid var(--line);border-radius:8px;width:100%;background:#fff}
button{font:inherit;padding:10px 16px;border-radius:10px;border:0;background:var(--brand);color:#fff;margin:6px 6px 0 0}
button.secondary{background:var(--line);color:var(--ink)}fieldset{border:1px solid var(--line);border-radius:12px;
margin:12px 0;padding:12px}legend{font-weight:600}table{width:100%;border-collapse:collapse}td,th{text-align:left;
padding:6px 4px;border-top:1px solid var(--line)}td.n,th.n{text-align:right}.preview{background:var(--brand-soft);
padding:12px;border-radius:10px}.error{color:var(--minus)}svg .bar{fill:var(--brand)}svg text{font-size:10px;
fill:var(--muted)}
"""


@dataclass(frozen=True)
class Session:
    key_id: str
    partner_id: str
    token: str


def _secret() -> bytes:
    from chalicelib import runtime

    return hmac.new(runtime.get().settings.portal_secret.encode(), b"partner-portal-session", hashlib.sha256).digest()


def _sign(text: str) -> str:
    return hmac.new(_secret(), text.encode(), hashlib.sha256).hexdigest()


def issue_session(principal: auth.Principal, now: datetime) -> str:
    expires = int((now + timedelta(minutes=SESSION_MINUTES)).timestamp())
    payload = f"{principal.key_id}:{principal.partner_id}:{expires}"
    return f"{payload}:{_sign(payload)}"


def cookies(header: str | None) -> dict[str, str]:
    out = {}
    for part in (header or "").split(";"):
        name, _, value = part.strip().partition("=")
        if name:
            out[name] = value
    return out


def read_session(cookie_header: str | None, now: datetime) -> Session | None:
    """The signed-in partner, if the cookie is genuine, unexpired, and its key and partner are still active."""
    token = cookies(cookie_header).get(SESSION_COOKIE, "")
    try:
        key_id, partner_id, expires, mac = token.split(":")
        if not hmac.compare_digest(mac, _sign(f"{key_id}:{partner_id}:{expires}")) or now.timestamp() >= int(expires):
            return None
    except ValueError:
        return None
    found = db.get_many([(db.KeyIdItem, *keys.key_id(key_id)), (db.PartnerItem, *keys.partner(partner_id))])
    key, partner = found.get(keys.key_id(key_id)), found.get(keys.partner(partner_id))
    if key is None or key.status != "active" or partner is None or partner.status != "active":
        return None
    return Session(key_id, partner_id, token)


def csrf_token(bound_to: str) -> str:
    return _sign(f"csrf:{bound_to}")[:32]


def check_csrf(form: dict[str, str], bound_to: str) -> None:
    if not hmac.compare_digest(form.get("csrf", ""), csrf_token(bound_to)):
        raise Forbidden("The form expired or did not come from this portal; reload the page and try again.")


def form_fields(session: Session) -> str:
    """The hidden fields of every signed-in form: the session's CSRF token and a nonce drawn for this render."""
    return (
        f'<input type="hidden" name="csrf" value="{csrf_token(session.token)}">'
        f'<input type="hidden" name="nonce" value="{secrets.token_urlsafe(NONCE_BYTES)}">'
    )


def parse_form(raw: bytes | str | None) -> dict[str, str]:
    """The posted form; a body (or a %-escaped value) that is not UTF-8 is a 400, never a replacement character."""
    try:
        text = raw.decode() if isinstance(raw, bytes) else (raw or "")
        fields = parse_qs(text, keep_blank_values=True, errors="strict")
    except UnicodeError as exc:
        raise BadRequest("The form was not sent as UTF-8; reload the page and try again.") from exc
    return {k: v[-1] for k, v in fields.items()}


def cookie(name: str, value: str, secure: bool, max_age: int) -> str:
    flags = "; Secure" if secure else ""
    return f"{name}={value}; Path=/portal; HttpOnly; SameSite=Strict; Max-Age={max_age}{flags}"


# --- pages ----------------------------------------------------------------------------------------------------


def _shell(lang: str, title: str, body: str, session: Session | None, lang_link: str) -> tuple[str, Headers]:
    t = T[lang]
    nonce = html.new_nonce()
    nav = ""
    if session is not None:
        me = partners.get(session.partner_id)
        nav = (
            f'<nav><a href="/portal">{t["campaigns"]}</a><a href="/portal/campaigns/new">{t["new"]}</a>'
            f'<a href="/portal/settlements">{t["settlements"]}</a>'
            f'<form class="inline" method="post" action="/portal/logout">{form_fields(session)}'
            f'<button class="secondary" type="submit">{t["sign_out"]}</button></form></nav>'
            f'<p class="muted">{html.escape(me.name)}</p>'
        )
    other = "en" if lang == "ru" else "ru"
    top = (
        f'<header><h1>{t["portal"]}</h1><a class="lang" href="{html.escape(lang_link)}{other}" '
        f'lang="{other}">{t["switch"]}</a></header>'
    )
    page = html.page(lang, f"{title} · {t['portal']}", top + nav + body, nonce).replace(
        "</style>", PORTAL_CSS + "</style>", 1
    )
    return page, html.headers(nonce)


def login_page(lang: str, csrf: str, error: bool = False) -> tuple[str, Headers]:
    t = T[lang]
    body = (
        f"<section><h2>{t['sign_in']}</h2>"
        + (f'<p class="error" role="alert">{t["bad_key"]}</p>' if error else "")
        + f'<form method="post" action="/portal/login"><input type="hidden" name="csrf" value="{csrf}">'
        f'<label for="api_key">{t["api_key"]}</label><input id="api_key" name="api_key" type="password" '
        f'autocomplete="off" required><p class="muted">{t["key_hint"]}</p>'
        f'<button type="submit">{t["sign_in"]}</button></form></section>'
    )
    return _shell(lang, t["sign_in"], body, None, "/portal?lang=")


def _status(c: CampaignOut, lang: str) -> str:
    return T[lang].get(c.status, c.status)


def dashboard(session: Session, lang: str, now: datetime) -> tuple[str, Headers]:
    t = T[lang]
    items = campaigns.list_for(session.partner_id, now).items
    inbox = [c for c in items if session.partner_id in c.awaiting_acceptance]
    names = _names()
    rows = "".join(
        f'<li><span><a href="/portal/campaigns/{c.campaign_id}">{html.escape(c.name)}</a><br><small class="muted">'
        f"{t['sponsor']}: {html.escape(names.get(c.sponsor_partner_id, c.sponsor_partner_id))}</small></span>"
        f'<span data-testid="status-{c.campaign_id}">{_status(c, lang)}</span></li>'
        for c in items
    )
    waiting = "".join(
        f'<li><a href="/portal/campaigns/{c.campaign_id}">{html.escape(c.name)}</a>'
        f"<span>{html.escape(names.get(c.sponsor_partner_id, ''))}</span></li>"
        for c in inbox
    )
    body = (
        f'<section data-testid="inbox"><h2>{t["inbox"]}</h2>'
        + (f"<ul>{waiting}</ul>" if waiting else f'<p class="muted">{t["inbox_empty"]}</p>')
        + "</section>"
        f"<section><h2>{t['yours']}</h2>"
        + (f"<ul>{rows}</ul>" if rows else f'<p class="muted">{t["none"]}</p>')
        + "</section>"
    )
    return _shell(lang, t["campaigns"], body, session, "/portal?lang=")


def _names() -> dict[str, str]:
    return {p.partner_id: p.name for p in partners.all_partners()}


def campaign_form(session: Session, lang: str, values: dict[str, str], error: str = "") -> tuple[str, Headers]:
    t = T[lang]
    others = [p for p in partners.directory().items if p.partner_id != session.partner_id]
    v = {
        "within_days": "30",
        "reward_type": "fixed",
        "reward_value": "100",
        "min_amount": "0",
        "budget": "30000",
        "limit": "1",
        **values,
    }
    options = "".join(
        f'<option value="{p.partner_id}"{" selected" if v.get("from_partner") == p.partner_id else ""}>'
        f"{html.escape(p.name)}</option>"
        for p in others
    )

    def field(name: str, label: str, kind: str = "text", extra: str = "") -> str:
        return (
            f'<label for="{name}">{label}</label><input id="{name}" name="{name}" type="{kind}" '
            f'value="{html.escape(v.get(name, ""))}" {extra}>'
        )

    new_only = " checked" if v.get("new_only") == "on" else ""
    reward_options = "".join(
        f'<option value="{k}"{" selected" if v["reward_type"] == k else ""}>{t[k]}</option>'
        for k in ("fixed", "percent")
    )
    body = (
        f"<section><h2>{t['new']}</h2>"
        + (f'<p class="error" role="alert">{html.escape(error)}</p>' if error else "")
        + f'<form method="post" action="/portal/campaigns/preview">{form_fields(session)}'
        + field("name", t["name"], extra="required maxlength=100")
        + f'<fieldset><legend>{t["step1"]}</legend><label for="from_partner">{t["from_partner"]}</label>'
        f'<select id="from_partner" name="from_partner"><option value=""></option>{options}</select>'
        + field("within_days", t["within_days"], "number", 'min="1" max="730"')
        + f'<label><input type="checkbox" name="new_only"{new_only}> {t["new_only"]}</label></fieldset>'
        f'<fieldset><legend>{t["step2"]}</legend><label for="reward_type">{t["reward_type"]}</label>'
        f'<select id="reward_type" name="reward_type">{reward_options}</select>'
        + field("reward_value", t["reward_value"], "number", 'min="1"')
        + "</fieldset>"
        f"<fieldset><legend>{t['step3']}</legend>"
        + field("min_amount", t["min_amount"], "number", 'min="0"')
        + field("starts", t["starts"], "date")
        + field("ends", t["ends"], "date")
        + "</fieldset>"
        f"<fieldset><legend>{t['step4']}</legend>"
        + field("budget", t["budget"], "number", 'min="1"')
        + field("limit", t["limit"], "number", 'min="1"')
        + "</fieldset>"
        f'<button type="submit">{t["preview"]}</button></form></section>'
    )
    return _shell(lang, t["new"], body, session, "/portal/campaigns/new?lang=")


def campaign_request(session: Session, form: dict[str, str], now: datetime) -> CreateCampaign:
    """Turn the form (roubles, days, dates) into the API's request; errors name the form's own fields."""
    tz = program.load().timezone

    def number(name: str, default: int | None = None) -> int | None:
        text = ascii_digits(form.get(name, "")).strip().replace(" ", "")
        if not text:
            return default
        if not (text.isascii() and text.isdigit()):  # "²".isdigit() is True, and int("²") a 500
            raise ValidationFailed([{"loc": ["form", name], "msg": "a whole number, please", "type": "int"}])
        return int(text)

    def day(name: str) -> str | None:
        text = form.get(name, "").strip()
        if not text:
            return None
        try:
            local = datetime.fromisoformat(text).replace(tzinfo=None)
        except ValueError as exc:
            raise ValidationFailed([{"loc": ["form", name], "msg": "a date, please", "type": "date"}]) from exc
        from chalicelib.domain.periods import zone

        return local.replace(tzinfo=zone(tz)).isoformat()

    audience: dict[str, Any] | None = None
    if form.get("new_only") == "on":
        audience = {"new_to_partner": True}
    elif form.get("from_partner"):
        audience = {"purchased_at": form["from_partner"], "within_days": number("within_days", 30)}
    reward_value = number("reward_value", 0) or 0
    reward = (
        {"type": "fixed", "points": reward_value}
        if form.get("reward_type") != "percent"
        else {"type": "percent", "rate_bps": reward_value * 100}
    )
    data = {
        "name": form.get("name", "").strip(),
        "earn_at": [session.partner_id],
        "audience": audience,
        "reward": reward,
        "min_amount_minor": (number("min_amount", 0) or 0) * 100,
        "starts_at": day("starts"),
        "ends_at": day("ends"),
        "budget_points": number("budget"),
        "per_customer_limit": number("limit"),
    }
    from chalicelib.http import validate

    request = validate(CreateCampaign, {k: v for k, v in data.items() if v is not None}, "form")
    assert isinstance(request, CreateCampaign)
    return request


def describe(c: CreateCampaign, sponsor: str, lang: str) -> str:
    """The plain-language preview of a campaign."""
    names = _names()
    pv = program.load().point_value_minor
    here = html.escape(names.get(sponsor, sponsor))
    reward = (
        f"{html.group(c.reward.points, lang)} {html.plural_points(c.reward.points, lang)}"
        if c.reward.type == "fixed"
        else f"{html.fraction(getattr(c.reward, 'rate_bps', 0), 100, lang)}%"
    )
    first = c.per_customer_limit == 1
    if lang == "ru":
        who = "Покупатели"
        if c.audience and c.audience.purchased_at:
            who = (
                f"Покупатели «{html.escape(names.get(c.audience.purchased_at, ''))}», купившие у них за последние "
                f"{c.audience.within_days} дн.,"
            )
        elif c.audience and c.audience.new_to_partner:
            who = "Новые для вас покупатели"
        text = f"{who} получат {reward} за {'первую ' if first else ''}покупку в «{here}»"
        if c.min_amount_minor:
            text += f" от {html.money(c.min_amount_minor, lang)}"
        if c.budget_points:
            text += f"; вы платите до {html.money(c.budget_points * pv, lang)}"
        return text + "."
    who = "Customers"
    if c.audience and c.audience.purchased_at:
        who = (
            f"Customers of {html.escape(names.get(c.audience.purchased_at, ''))} who bought there in the last "
            f"{c.audience.within_days} days"
        )
    elif c.audience and c.audience.new_to_partner:
        who = "Customers new to you"
    text = f"{who} get {reward} on their {'first ' if first else ''}purchase at {here}"
    if c.min_amount_minor:
        text += f" of {html.money(c.min_amount_minor, lang)} or more"
    if c.budget_points:
        text += f"; you pay up to {html.money(c.budget_points * pv, lang)}"
    return text + "."


def preview_page(session: Session, lang: str, form: dict[str, str], request: CreateCampaign) -> tuple[str, Headers]:
    t = T[lang]
    hidden = "".join(
        f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
        for k, v in form.items()
        if k not in ("csrf", "nonce")  # this page is a new render: its forms get their own nonce
    )
    body = (
        f'<section><h2>{html.escape(request.name)}</h2><p class="preview" data-testid="preview">'
        f"{describe(request, session.partner_id, lang)}</p>"
        f'<form method="post" action="/portal/campaigns">{form_fields(session)}{hidden}<button type="submit">'
        f'{t["create"]}</button></form><form method="post" action="/portal/campaigns/edit">{form_fields(session)}'
        f"{hidden}"
        f'<button class="secondary" type="submit">{t["edit"]}</button></form></section>'
    )
    return _shell(lang, t["new"], body, session, "/portal/campaigns/new?lang=")


def write_request(session: Session, form: dict[str, str], path: str, now: datetime) -> idempotency.WriteRequest:
    """One press of one rendered form is one intent: the key is derived from the API key id, the form's nonce and
    its action and target (``path``). The same page submitted twice replays; a freshly rendered page is a new key.
    The nonce is trusted only to tell presses apart: the key is scoped to the session's API key id (and hashed with
    it), so a nonce copied from another partner's page is just a new key of this partner's own."""
    nonce = form.get("nonce", "")
    if not _NONCE.fullmatch(nonce):
        raise BadRequest("The form is missing its one-time token or it is malformed; reload the page and try again.")
    body = {k: v for k, v in form.items() if k != "csrf"}
    key = hashlib.sha256(f"{session.key_id}\n{nonce}\nPOST {path}".encode()).hexdigest()
    return idempotency.WriteRequest(
        scope=session.key_id,
        idempotency_key=f"portal:{key}",
        request_fingerprint=idempotency.fingerprint("POST", path, body),
        body_fingerprint=idempotency.fingerprint("", "", body),
        now_iso=now.isoformat(),
    )


def _chart(days: list[Any]) -> str:
    if not days:
        return ""
    width, height, gap = 320, 120, 4
    top = max(d.points_awarded for d in days) or 1
    bar = max(4, (width - gap * len(days)) // max(len(days), 1))
    bars = []
    for i, d in enumerate(days):
        h = d.points_awarded * (height - 20) // top
        x = i * (bar + gap)
        bars.append(
            f'<rect class="bar" x="{x}" y="{height - 14 - h}" width="{bar}" height="{h}">'
            f"<title>{d.date}: {d.points_awarded}</title></rect>"
            f'<text x="{x}" y="{height - 2}">{d.date[5:]}</text>'
        )
    return (
        f'<svg role="img" aria-label="points by day" viewBox="0 0 {width} {height}" width="100%" '
        f'height="{height}">{"".join(bars)}</svg>'
    )


def campaign_page(session: Session, lang: str, campaign_id: str, now: datetime) -> tuple[str, Headers]:
    t = T[lang]
    c = campaigns.get(campaign_id, session.partner_id, now)
    report = campaigns.report(campaign_id, session.partner_id, now)
    names = _names()

    def action(name: str, secondary: bool = False) -> str:
        cls = ' class="secondary"' if secondary else ""
        return (
            f'<form class="inline" method="post" action="/portal/campaigns/{campaign_id}/{name}">{form_fields(session)}'
            f'<button{cls} type="submit">{t[name]}</button></form>'
        )

    actions = ""
    if session.partner_id in c.awaiting_acceptance:
        actions += action("accept")
    if session.partner_id == c.sponsor_partner_id:
        if c.status in ("draft", "pending_acceptance", "paused"):
            actions += action("activate")
        if c.status == "active":
            actions += action("pause", True)
        if c.status not in ("ended", "exhausted"):
            actions += action("end", True)
    awaiting = ", ".join(html.escape(names.get(p, p)) for p in c.awaiting_acceptance)
    rows = [
        (t["awards"], html.group(report.awards, lang)),
        (t["customers"], html.group(report.customers, lang)),
        (t["new_customers"], html.group(report.new_customers, lang)),
        (t["points_awarded"], html.group(report.points_awarded, lang)),
        (t["budget_left"], html.group(report.budget_remaining, lang) if report.budget_remaining is not None else "—"),
        (t["cost"], html.money(report.cost_minor, lang)),
        (t["revenue"], html.money(report.revenue_minor, lang)),
        (t["roi"], html.fraction(report.revenue_per_cost_bps, 10_000, lang) if report.revenue_per_cost_bps else "—"),
    ]
    table = "".join(
        f'<tr><th>{k}</th><td class="n" data-testid="report-{i}">{v}</td></tr>' for i, (k, v) in enumerate(rows)
    )
    sponsor_name = html.escape(names.get(c.sponsor_partner_id, ""))
    request = CreateCampaign.model_validate(
        {
            k: v
            for k, v in {
                "name": c.name,
                "earn_at": c.earn_at,
                "audience": c.audience,
                "reward": c.reward,
                "min_amount_minor": c.min_amount_minor,
                "budget_points": c.budget_points,
                "per_customer_limit": c.per_customer_limit,
            }.items()
            if v is not None
        }
    )
    body = (
        f'<section><h2>{html.escape(c.name)}</h2><p class="preview">{describe(request, c.sponsor_partner_id, lang)}'
        f'</p><p>{t["sponsor"]}: {sponsor_name}</p><p>{t["status"]}: <b data-testid="status">{_status(c, lang)}</b>'
        + (f' · {t["awaiting"]}: <span data-testid="awaiting">{awaiting}</span>' if awaiting else "")
        + f"</p>{actions}</section>"
        f"<section><h2>{t['report']}</h2><table>{table}</table><h3>{t['by_day']}</h3>{_chart(report.daily)}"
        "</section>"
    )
    return _shell(lang, c.name, body, session, f"/portal/campaigns/{campaign_id}?lang=")


def settlements_page(session: Session, lang: str, period: str | None, now: datetime) -> tuple[str, Headers]:
    t = T[lang]
    current = period_of(now, program.load().timezone)
    period = period or current
    s = settlement.partner_settlement(session.partner_id, period, now)
    months = " ".join(
        f'<a href="/portal/settlements?period={m}">{m}</a>' if m != period else f"<b>{m}</b>"
        for m in (add_months(current, -n) for n in range(0, 6))
    )
    owed = s.net_amount_minor >= 0
    headline = (
        f'<p><span class="muted">{t["owed_to_you"] if owed else t["you_owe"]}</span><br>'
        f'<span class="big" data-testid="net-amount">{html.money(abs(s.net_amount_minor), lang)}</span></p>'
    )
    lines = [
        (t["issued"], s.issued_points),
        (t["reversed"], s.issued_reversed_points),
        (t["promo"], s.promo_points_funded),
        (t["accepted"], s.accepted_points),
        (t["refunded"], s.accepted_refunded_points),
    ]
    table = "".join(f'<tr><th>{k}</th><td class="n">{html.group(v, lang)}</td></tr>' for k, v in lines)
    table += f'<tr><th>{t["fee"]}</th><td class="n">{html.money(s.operator_fee_minor, lang)}</td></tr>'
    flows = "".join(
        f'<tr><td>{html.escape(f.issuer_name)}</td><td class="n">{html.group(f.points, lang)}</td></tr>'
        for f in s.flows
    )
    body = (
        f"<section><h2>{t['settlements']}</h2><p>{t['period']}: {months}</p>"
        f"<p>{period} · {t[s.status]}</p>{headline}<table>{table}</table>"
        f'<p><a href="/portal/settlements/{period}/csv" download>{t["csv"]}</a></p></section>'
        f'<section><h2>{t["flows"]}</h2><table><tr><th>{t["issuer"]}</th><th class="n">{t["points"]}</th></tr>'
        f"{flows}</table></section>"
    )
    return _shell(lang, t["settlements"], body, session, f"/portal/settlements?period={quote(period)}&lang=")


def new_csrf_cookie() -> str:
    return secrets.token_urlsafe(24)


# --- HTTP handlers ----------------------------------------------------------------------------------------------


def _response(page: tuple[str, Headers], status: int = 200, extra: Headers | None = None) -> Any:
    from chalice.app import Response

    body, headers = page
    return Response(body=body, status_code=status, headers={**headers, **(extra or {})})


def _redirect(location: str, set_cookies: list[str] | None = None) -> Any:
    from chalice.app import Response

    headers: Headers = {"Location": location, "Cache-Control": "no-store", "Content-Type": "text/html; charset=utf-8"}
    if set_cookies:
        headers["Set-Cookie"] = set_cookies if len(set_cookies) > 1 else set_cookies[0]
    target = html.escape(location)
    return Response(body=f'<!doctype html><a href="{target}">{target}</a>', status_code=303, headers=headers)


def _secure(call: Any) -> bool:
    host = (call.header("host") or "").split(":")[0]
    return call.header("x-forwarded-proto") == "https" or host not in ("127.0.0.1", "localhost")


def _context(call: Any) -> tuple[str, Session | None, list[str]]:
    """Language (query, then cookie) and session; remembers an explicit ?lang= in a cookie."""
    jar = cookies(call.header("cookie"))
    asked = call.query.lang if call.query is not None else None
    lang = asked or jar.get(LANG_COOKIE)
    lang = lang if lang in T else "ru"
    set_cookies = [cookie(LANG_COOKIE, lang, _secure(call), 365 * 86400)] if asked else []
    return lang, read_session(call.header("cookie"), call.now), set_cookies


def handle(call: Any, view: str) -> Any:
    """One entry for every portal route; failures become a page, not JSON."""
    try:
        return _handle(call, view)
    except ApiError as error:
        lang = _context(call)[0]
        nonce = html.new_nonce()
        body = (
            f'<section role="alert"><h2>{html.escape(error.title)}</h2><p>{html.escape(error.detail)}</p>'
            '<p><a href="/portal">←</a></p></section>'
        )
        page = html.page(lang, error.title, body, nonce)
        return _response((page, html.headers(nonce)), error.status if error.status < 500 else 500)


def _handle(call: Any, view: str) -> Any:
    """Session, CSRF and language in one place, then the view."""
    lang, session, set_cookies = _context(call)
    extra: Headers = {"Set-Cookie": set_cookies} if set_cookies else {}
    form = parse_form(call.raw_body) if call.raw_body else {}
    jar = cookies(call.header("cookie"))
    if view == "login":
        csrf = jar.get(CSRF_COOKIE, "")
        if not csrf or not hmac.compare_digest(form.get("csrf", ""), csrf):
            return _redirect("/portal")
        try:
            principal = auth.authenticate(f"Bearer {form.get('api_key', '').strip()}", _pepper())
        except ApiError:
            principal = None
        if principal is None or principal.role != "partner":
            fresh = new_csrf_cookie()
            return _response(
                login_page(lang, fresh, error=True),
                401,
                {"Set-Cookie": cookie(CSRF_COOKIE, fresh, _secure(call), 3600)},
            )
        token = issue_session(principal, call.now)
        return _redirect(
            "/portal",
            [
                cookie(SESSION_COOKIE, token, _secure(call), SESSION_MINUTES * 60),
                cookie(CSRF_COOKIE, "", _secure(call), 0),
            ],
        )
    if session is None:
        if call.raw_body:  # a form posted after the session ended: back to sign-in
            return _redirect("/portal")
        fresh = new_csrf_cookie()
        cookies_out = [*set_cookies, cookie(CSRF_COOKIE, fresh, _secure(call), 3600)]
        return _response(login_page(lang, fresh), 200, {"Set-Cookie": cookies_out})
    if call.raw_body is not None and view not in ("dashboard", "new", "campaign", "settlements", "csv"):
        check_csrf(form, session.token)
    if view == "logout":
        return _redirect("/portal", [cookie(SESSION_COOKIE, "", _secure(call), 0)])
    if view == "dashboard":
        return _response(dashboard(session, lang, call.now), extra=extra)
    if view in ("new", "edit"):
        return _response(campaign_form(session, lang, form), extra=extra)
    if view in ("preview", "create"):
        try:
            request = campaign_request(session, form, call.now)
            if view == "preview":
                return _response(preview_page(session, lang, form, request), extra=extra)
            created = campaigns.create(
                write_request(session, form, "/portal/campaigns", call.now), request, session.partner_id, call.now
            )
            import json

            return _redirect(f"/portal/campaigns/{json.loads(created.body)['campaign_id']}")
        except ValidationFailed as error:
            message = "; ".join(f"{e['loc'][-1]}: {e['msg']}" for e in error.extra.get("errors", []))
            return _response(campaign_form(session, lang, form, f"{T[lang]['error']}: {message}"), 422, extra)
    if view == "campaign":
        return _response(campaign_page(session, lang, call.params["campaign_id"], call.now), extra=extra)
    if view == "act":
        campaign_id, action = call.params["campaign_id"], call.params["action"]
        operations = {
            "accept": campaigns.accept,
            "activate": campaigns.activate,
            "pause": campaigns.pause,
            "end": campaigns.end,
        }
        if action not in operations:
            raise ValidationFailed([{"loc": ["path", "action"], "msg": "unknown action", "type": "enum"}])
        operations[action](
            write_request(session, form, f"/portal/campaigns/{campaign_id}/{action}", call.now),
            campaign_id,
            session.partner_id,
            call.now,
        )
        return _redirect(f"/portal/campaigns/{campaign_id}")
    if view == "settlements":
        period = call.query.period if call.query is not None else None
        return _response(
            settlements_page(session, lang, settlement.check_period(period) if period else None, call.now), extra=extra
        )
    if view == "csv":
        from chalice.app import Response

        s = settlement.partner_settlement(session.partner_id, call.params["period"], call.now)
        return Response(
            body=settlement.partner_csv(s),
            status_code=200,
            headers={
                "Content-Type": "text/csv; charset=utf-8",
                "Cache-Control": "no-store",
                "Content-Disposition": f'attachment; filename="settlement-{s.period}.csv"',
            },
        )
    raise ApiError(f"unknown portal view {view}")


def _pepper() -> str:
    from chalicelib import runtime

    return runtime.get().settings.key_pepper
