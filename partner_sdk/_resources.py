"""Resource namespaces: ``client.customers``, ``client.accruals`` and so on."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal

from partner_sdk import models
from partner_sdk._client import Requestor


def _body(**fields: Any) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if v is not None}


class _Resource:
    def __init__(self, requestor: Requestor) -> None:
        self._r = requestor


class Customers(_Resource):
    def enroll(
        self,
        *,
        phone: str | None = None,
        card: str | None = None,
        email: str | None = None,
        name: str | None = None,
        birthday: str | None = None,
        locale: str | None = None,
        marketing_consent: bool | None = None,
        idempotency_key: str | None = None,
    ) -> models.Customer:
        """A new customer (``created``), a known one, or a known one with a new identifier: then ``confirmation``
        says where a code went, and :meth:`confirm_identifiers` with that code attaches it."""
        body = _body(
            phone=phone,
            card=card,
            email=email,
            name=name,
            birthday=birthday,
            locale=locale,
            marketing_consent=marketing_consent,
        )
        return models.parse(
            models.Customer, self._r.request("POST", "/v1/customers", json=body, idempotency_key=idempotency_key)
        )

    def lookup(self, *, phone: str | None = None, card: str | None = None) -> models.Customer:
        data = self._r.request("GET", "/v1/customers/lookup", params={"phone": phone, "card": card})
        return models.parse(models.Customer, data)

    def balance(self, customer_id: str) -> models.Balance:
        return models.parse(models.Balance, self._r.request("GET", f"/v1/customers/{customer_id}/balance"))

    def transactions(self, customer_id: str, *, page_size: int = 50) -> Iterator[models.LedgerEntry]:
        """Your entries for this customer, newest first, walking every page."""
        cursor: str | None = None
        while True:
            page = self._r.request(
                "GET", f"/v1/customers/{customer_id}/transactions", params={"limit": page_size, "cursor": cursor}
            )
            for item in page["items"]:
                yield models.parse(models.LedgerEntry, item)
            cursor = page.get("next_cursor")
            if not cursor:
                return

    def confirm_identifiers(
        self, customer_id: str, code: str, *, idempotency_key: str | None = None
    ) -> models.IdentifiersConfirmed:
        data = self._r.request(
            "POST",
            f"/v1/customers/{customer_id}/identifiers/confirm",
            json={"code": code},
            idempotency_key=idempotency_key,
        )
        return models.parse(models.IdentifiersConfirmed, data)

    def portal_link(self, customer_id: str, *, ttl_minutes: int | None = None) -> models.PortalLinkSent:
        """Send the customer a link to their balance page; you get where it went (masked), never the link."""
        data = self._r.request("POST", f"/v1/customers/{customer_id}/portal-link", json=_body(ttl_minutes=ttl_minutes))
        return models.parse(models.PortalLinkSent, data)

    def spend_code(self, customer_id: str, *, points: int | None = None) -> models.SpendCodeSent:
        """Send the customer a one-time code for your till (valid 10 minutes) that confirms at most ``points``
        (default: what the customer has available now; the message names the points and you); they tell it to the
        cashier, who passes it as ``customer_code`` to :meth:`Redemptions.create` for that many points or fewer."""
        data = self._r.request("POST", f"/v1/customers/{customer_id}/spend-code", json=_body(points=points))
        return models.parse(models.SpendCodeSent, data)


class Accruals(_Resource):
    def create(
        self,
        *,
        customer_id: str,
        order_id: str,
        amount_minor: int,
        channel: str | None = None,
        category: str | None = None,
        idempotency_key: str | None = None,
    ) -> models.Accrual:
        body = _body(
            customer_id=customer_id, order_id=order_id, amount_minor=amount_minor, channel=channel, category=category
        )
        return models.parse(
            models.Accrual, self._r.request("POST", "/v1/accruals", json=body, idempotency_key=idempotency_key)
        )


class Bonuses(_Resource):
    def create(
        self, *, customer_id: str, bonus_id: str, reason: str, points: int, idempotency_key: str | None = None
    ) -> models.Bonus:
        body = _body(customer_id=customer_id, bonus_id=bonus_id, reason=reason, points=points)
        return models.parse(
            models.Bonus, self._r.request("POST", "/v1/bonuses", json=body, idempotency_key=idempotency_key)
        )


class Redemptions(_Resource):
    def quote(self, *, customer_id: str, order_amount_minor: int) -> models.Quote:
        body = _body(customer_id=customer_id, order_amount_minor=order_amount_minor)
        return models.parse(models.Quote, self._r.request("POST", "/v1/redemptions/quote", json=body))

    def create(
        self,
        *,
        customer_id: str,
        order_id: str,
        order_amount_minor: int,
        points: int,
        capture: bool = True,
        hold_minutes: int | None = None,
        customer_code: str | None = None,
        idempotency_key: str | None = None,
    ) -> models.Redemption:
        """Spend (or hold, ``capture=False``) points. ``customer_code``: the customer's six-digit code (their page
        or its QR, or :meth:`Customers.spend_code`), where your spend policy asks for it."""
        body = _body(
            customer_id=customer_id,
            order_id=order_id,
            order_amount_minor=order_amount_minor,
            points=points,
            capture=capture,
            hold_minutes=hold_minutes,
            customer_code=customer_code,
        )
        return models.parse(
            models.Redemption, self._r.request("POST", "/v1/redemptions", json=body, idempotency_key=idempotency_key)
        )

    def capture(
        self, redemption_id: str, points: int | None = None, idempotency_key: str | None = None
    ) -> models.Redemption:
        data = self._r.request(
            "POST",
            f"/v1/redemptions/{redemption_id}/capture",
            json=_body(points=points),
            idempotency_key=idempotency_key,
        )
        return models.parse(models.Redemption, data)

    def void(self, redemption_id: str, idempotency_key: str | None = None) -> models.Redemption:
        data = self._r.request("POST", f"/v1/redemptions/{redemption_id}/void", idempotency_key=idempotency_key)
        return models.parse(models.Redemption, data)


class Refunds(_Resource):
    def create(
        self, *, order_id: str, refund_id: str, amount_minor: int, idempotency_key: str | None = None
    ) -> models.Refund:
        body = _body(order_id=order_id, refund_id=refund_id, amount_minor=amount_minor)
        return models.parse(
            models.Refund, self._r.request("POST", "/v1/refunds", json=body, idempotency_key=idempotency_key)
        )


class Campaigns(_Resource):
    def create(
        self,
        *,
        name: str,
        earn_at: list[str],
        reward: dict[str, Any],
        audience: dict[str, Any] | None = None,
        min_amount_minor: int | None = None,
        starts_at: str | None = None,
        ends_at: str | None = None,
        budget_points: int | None = None,
        per_customer_limit: int | None = None,
        idempotency_key: str | None = None,
    ) -> models.Campaign:
        body = _body(
            name=name,
            earn_at=earn_at,
            reward=reward,
            audience=audience,
            min_amount_minor=min_amount_minor,
            starts_at=starts_at,
            ends_at=ends_at,
            budget_points=budget_points,
            per_customer_limit=per_customer_limit,
        )
        return models.parse(
            models.Campaign, self._r.request("POST", "/v1/campaigns", json=body, idempotency_key=idempotency_key)
        )

    def list(self) -> list[models.Campaign]:
        return [models.parse(models.Campaign, c) for c in self._r.request("GET", "/v1/campaigns")["items"]]

    def get(self, campaign_id: str) -> models.Campaign:
        return models.parse(models.Campaign, self._r.request("GET", f"/v1/campaigns/{campaign_id}"))

    def _act(self, campaign_id: str, action: str) -> models.Campaign:
        return models.parse(models.Campaign, self._r.request("POST", f"/v1/campaigns/{campaign_id}/{action}"))

    def accept(self, campaign_id: str) -> models.Campaign:
        return self._act(campaign_id, "accept")

    def decline(self, campaign_id: str) -> models.Campaign:
        """Say no to a campaign that names you; its sponsor cannot activate it while you decline."""
        return self._act(campaign_id, "decline")

    def activate(self, campaign_id: str) -> models.Campaign:
        return self._act(campaign_id, "activate")

    def pause(self, campaign_id: str) -> models.Campaign:
        return self._act(campaign_id, "pause")

    def end(self, campaign_id: str) -> models.Campaign:
        return self._act(campaign_id, "end")

    def report(self, campaign_id: str) -> models.CampaignReport:
        return models.parse(models.CampaignReport, self._r.request("GET", f"/v1/campaigns/{campaign_id}/report"))


class Settlements(_Resource):
    def get(self, period: str) -> models.Settlement:
        return models.parse(models.Settlement, self._r.request("GET", f"/v1/settlements/{period}"))

    def csv(
        self,
        period: str,
        *,
        table: Literal["statement", "flows", "identity"] = "statement",
        headers: Literal["names", "fields"] = "names",
        language: Literal["ru", "en"] | None = None,
    ) -> str:
        """The accountant's CSV (UTF-8 with BOM, ';'-separated) as text: one table per file (``statement`` with the
        legend of signs, ``flows``, or the operator's ``identity``), column names in ``language`` (without one, the
        API's default: English) or the JSON field names (``headers="fields"``) for a program reading it."""
        params = {"format": "csv", "table": table, "headers": headers}
        text: str = self._r.request("GET", f"/v1/settlements/{period}", params=params, raw=True, language=language)
        return text

    def payments(self, period: str) -> list[models.Payment]:
        """The payments recorded against your statement for ``period``, oldest first."""
        data = self._r.request("GET", f"/v1/settlements/{period}/payments")
        return [models.parse(models.Payment, p) for p in data["items"]]


class Audit(_Resource):
    def list(
        self,
        *,
        action: str | None = None,
        actor: str | None = None,
        period: str | None = None,
        page_size: int = 50,
    ) -> Iterator[models.AuditEntry]:
        """Your audit log, newest first, walking every page; ``action``, ``actor``, ``period`` (YYYY-MM) filter."""
        cursor: str | None = None
        while True:
            params = {"limit": page_size, "cursor": cursor, "action": action, "actor": actor, "period": period}
            page = self._r.request("GET", "/v1/audit", params=params)
            for item in page["items"]:
                yield models.parse(models.AuditEntry, item)
            cursor = page.get("next_cursor")
            if not cursor:
                return


class Partners(_Resource):
    def me(self) -> dict[str, Any]:
        data: dict[str, Any] = self._r.request("GET", "/v1/partner")
        return data

    def directory(self) -> list[models.Partner]:
        return [models.parse(models.Partner, p) for p in self._r.request("GET", "/v1/partners")["items"]]


class Webhooks(_Resource):
    """Your webhook endpoints. Verify what they receive with ``partner_sdk.webhooks.verify``."""

    def create(self, *, url: str, events: list[str], idempotency_key: str | None = None) -> dict[str, Any]:
        """Register an endpoint; the answer's ``secret`` is shown once: keep it."""
        data: dict[str, Any] = self._r.request(
            "POST", "/v1/webhooks", json={"url": url, "events": events}, idempotency_key=idempotency_key
        )
        return data

    def delete(self, webhook_id: str) -> None:
        self._r.request("DELETE", f"/v1/webhooks/{webhook_id}")

    def rotate_secret(
        self, webhook_id: str, *, overlap_hours: int = 24, idempotency_key: str | None = None
    ) -> dict[str, Any]:
        """A new secret (shown once); the previous one keeps signing deliveries for ``overlap_hours``."""
        data: dict[str, Any] = self._r.request(
            "POST",
            f"/v1/webhooks/{webhook_id}/rotate-secret",
            json={"overlap_hours": overlap_hours},
            idempotency_key=idempotency_key,
        )
        return data

    def deliveries(self, webhook_id: str, *, limit: int = 50) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self._r.request(
            "GET", f"/v1/webhooks/{webhook_id}/deliveries", params={"limit": limit}
        )["items"]
        return items

    def resend(self, webhook_id: str, delivery_id: str) -> dict[str, Any]:
        data: dict[str, Any] = self._r.request("POST", f"/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/resend")
        return data

    def list(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self._r.request("GET", "/v1/webhooks")["items"]
        return items
