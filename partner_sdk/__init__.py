"""Python SDK for partners of the coalition loyalty network.

    from partner_sdk import LoyaltyClient
    client = LoyaltyClient(api_key="lk_...", base_url="http://127.0.0.1:8000")
    c = client.customers.enroll(phone="+7 916 123-45-67")
    client.accruals.create(customer_id=c.customer_id, order_id="R-1", amount_minor=150000)

Errors: see ``partner_sdk.errors`` (one tree under ``LoyaltyError``).
"""

from __future__ import annotations

import httpx

from partner_sdk import errors, models, webhooks
from partner_sdk._client import Requestor
from partner_sdk._resources import (
    Accruals,
    Audit,
    Bonuses,
    Campaigns,
    Customers,
    Partners,
    Redemptions,
    Refunds,
    Settlements,
    Webhooks,
)
from partner_sdk._version import __version__
from partner_sdk.errors import LoyaltyError


class LoyaltyClient:
    """One partner's connection to the loyalty API. Thread-safe; reuse one per process.

    ``timeout`` is per attempt, in seconds; ``max_retries`` counts retries after the first attempt. Writes carry an
    ``Idempotency-Key`` (pass ``idempotency_key=`` to choose it, e.g. your receipt number) reused by every retry.
    """

    def __init__(
        self,
        api_key: str,
        base_url: str = "http://127.0.0.1:8000",
        *,
        timeout: float = 10.0,
        max_retries: int = 3,
        backoff_base: float = 0.25,
        backoff_max: float = 8.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._requestor = Requestor(
            api_key,
            base_url,
            timeout=timeout,
            max_retries=max_retries,
            backoff_base=backoff_base,
            backoff_max=backoff_max,
            transport=transport,
        )
        self.customers = Customers(self._requestor)
        self.accruals = Accruals(self._requestor)
        self.bonuses = Bonuses(self._requestor)
        self.redemptions = Redemptions(self._requestor)
        self.refunds = Refunds(self._requestor)
        self.campaigns = Campaigns(self._requestor)
        self.settlements = Settlements(self._requestor)
        self.partners = Partners(self._requestor)
        self.webhooks = Webhooks(self._requestor)
        self.audit = Audit(self._requestor)

    def close(self) -> None:
        self._requestor.close()

    def __enter__(self) -> LoyaltyClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


__all__ = ["LoyaltyClient", "LoyaltyError", "__version__", "errors", "models", "webhooks"]
