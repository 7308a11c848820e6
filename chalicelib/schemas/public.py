"""The customer's own routes (portal links, /v1/me) and the Telegram webhook."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
)

from chalicelib.schemas.common import (
    Request,
    Response,
)
from chalicelib.schemas.customers import Balance, LedgerEntryOut
from chalicelib.schemas.partners import DirectoryEntry

# --- Telegram (the customer links the bot) ----------------------------------------------------------


class TelegramUpdate(BaseModel):
    """An update as Telegram's Bot API posts it to the webhook. Only ``/start <token>`` in a private chat is acted
    on (``message.chat``, ``message.text``); every other field is accepted and ignored."""

    model_config = ConfigDict(extra="allow", defer_build=True)
    update_id: int = Field(strict=True)
    message: dict[str, Any] | None = None


class TelegramAck(Response):
    """Telegram only looks at the status: 200 means "delivered", anything else makes it deliver the update again."""

    ok: Literal[True] = True
    outcome: Literal["linked", "invalid", "taken", "ignored"]


# --- customer portal -------------------------------------------------------------------------------------------


class PortalLinkRequest(Request):
    ttl_minutes: int | None = Field(None, strict=True, ge=1, le=30 * 24 * 60, description="Default 7 days")


class EndCustomerLinks(Request):
    """The operator ends every link to a customer page issued before an instant (a leak of old links)."""

    issued_before: AwareDatetime = Field(
        description="ISO 8601 with an offset, not in the future. Links made before this instant stop working, and so "
        "do the page sessions opened from them; links that carry no issue instant (made before links went to the "
        "customer) all stop. The cutoff only moves later: an earlier instant than the one in force changes nothing."
    )


class CustomerLinksEnded(Response):
    issued_before: str = Field(description="The cutoff in force now (UTC): links issued before it open nothing")
    undated_links_ended: bool = Field(description="Always true: links without an issue instant end with any cutoff")


class PortalLinkSent(Response):
    """The link is on its way to the customer (202); the partner never receives it."""

    channel: Literal["sms", "email", "telegram"]
    destination: str = Field(description="Masked: +7 916 ***-**-67, a***@example.com")
    expires_at: str


class MeOut(Response):
    customer_id: str
    name: str | None
    locale: Literal["ru", "en"]
    balance: Balance
    transactions: list[LedgerEntryOut]
    next_cursor: str | None
    partners: list[DirectoryEntry]
    link_expires_at: str


class MeQuery(Request):
    cursor: Annotated[str, StringConstraints(max_length=200)] | None = None
