"""The till's pages: each builds what the cashier reads from the services' results and renders its template
(``templates/till/``). Numbers a cashier acts on (points spent and earned, the amount to pay, money to give back)
are computed here, never in a template."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chalicelib.domain.periods import zone
from chalicelib.errors import ApiError
from chalicelib.machinery import program
from chalicelib.schemas import AccrualOut, QuoteOut, RedemptionOut, RefundOut, SpendCodeSent
from chalicelib.services import partners, till
from chalicelib.services.till import CustomerCard
from chalicelib.web import i18n
from chalicelib.web.customer_page import tier_name
from chalicelib.web.portal_session import new_form_nonce
from chalicelib.web.render import Page, language_links, render
from chalicelib.web.till.forms import Problems
from chalicelib.web.till.session import Cashier


@dataclass(frozen=True)
class Sale:
    """The result screen of a receipt: what the cashier says and takes."""

    receipt: str
    amount_minor: int
    spent: int
    discount_minor: int
    earned: int
    pending: bool
    available: int

    @property
    def to_pay_minor(self) -> int:
        return self.amount_minor - self.discount_minor


@dataclass(frozen=True)
class Returned:
    """The result screen of a refund: points taken back and given back, and the cash to return."""

    receipt: str
    amount_minor: int
    points_reversed: int
    points_returned: int
    shortfall_minor: int
    available: int

    @property
    def give_back_minor(self) -> int:
        return self.amount_minor - self.shortfall_minor


def _page(template: str, lang: str, cashier: Cashier, **context: Any) -> Page:
    """Any till page: the partner's and cashier's names, the language switch and every form's hidden fields."""
    return render(
        template,
        i18n.locale(lang),
        language_links=language_links(lang, "/till?lang="),
        partner_name=partners.load(cashier.partner_id).name,
        cashier_name=cashier.name,
        csrf=cashier.csrf,
        form_nonce=new_form_nonce,
        **context,
    )


def home(
    cashier: Cashier, lang: str, now: datetime, problems: Problems | None = None, form: dict[str, str] | None = None
) -> Page:
    """Find a customer, refund a receipt, and this cashier's receipts of today."""
    tz = zone(program.load(now).timezone)
    shift = [
        {**vars(r), "at": datetime.fromisoformat(r.at).astimezone(tz).strftime("%H:%M")}
        for r in till.shift(cashier.partner_id, till.cashier_tag(cashier.who), now)
    ]
    return _page("till/home.html", lang, cashier, shift=shift, problems=problems or Problems(), form=form or {})


def _card(card: CustomerCard, lang: str) -> dict[str, Any]:
    b = card.balance
    return {
        "customer_id": card.customer_id,
        "name": card.name,
        "available": b.available,
        "pending": b.pending,
        "held": b.held,
        "tier": tier_name(b.tier.name, i18n.locale(lang)),
        "multiplier_bps": b.tier.multiplier_bps,
        "offers": card.offers,
    }


def customer(
    cashier: Cashier, lang: str, card: CustomerCard, form: dict[str, str], problems: Problems | None = None
) -> Page:
    """The customer and the receipt total: earn on it, or pay part of it with points."""
    return _page(
        "till/customer.html", lang, cashier, card=_card(card, lang), form=form, problems=problems or Problems()
    )


def spend(
    cashier: Cashier,
    lang: str,
    card: CustomerCard,
    *,
    amount_minor: int,
    receipt: str,
    quote: QuoteOut,
    form: dict[str, str],
    problems: Problems | None = None,
    sent: SpendCodeSent | None = None,
) -> Page:
    """The most the customer may use on this receipt, her code, and one press to spend and earn on the rest."""
    points = form.get("points") or str(quote.max_points)
    return _page(
        "till/spend.html",
        lang,
        cashier,
        card=_card(card, lang),
        amount_minor=amount_minor,
        receipt=receipt,
        quote=quote,
        points=points,
        code=form.get("code", ""),  # kept after a refusal: pressed again, the same spend replays, not a new one
        problems=problems or Problems(),
        sent=sent,
    )


def sale(redeemed: RedemptionOut | None, accrued: AccrualOut) -> Sale:
    return Sale(
        receipt=accrued.order_id,
        amount_minor=accrued.amount_minor,
        spent=redeemed.points if redeemed is not None else 0,
        discount_minor=redeemed.discount_minor if redeemed is not None else 0,
        earned=accrued.points + accrued.bonus_points,
        pending=accrued.status == "pending",
        available=accrued.balance.available,
    )


def sold(cashier: Cashier, lang: str, result: Sale) -> Page:
    return _page("till/sold.html", lang, cashier, sale=result)


def refunded(cashier: Cashier, lang: str, out: RefundOut) -> Page:
    result = Returned(
        receipt=out.order_id,
        amount_minor=out.amount_minor,
        points_reversed=out.points_reversed,
        points_returned=out.points_returned,
        shortfall_minor=out.shortfall_minor,
        available=out.balance.available,
    )
    return _page("till/refunded.html", lang, cashier, refund=result)


def error(lang: str, problem: ApiError) -> Page:
    """A refusal with no field to stand beside, in the page's language where the catalogue explains it."""
    t = i18n.locale(lang)
    explained = t.get(f"till.problem.{problem.code}", "")
    title = t("till.problem_title") if explained else problem.title
    return render("till/error.html", t, title=title, detail=explained or problem.detail)
