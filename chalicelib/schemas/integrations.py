"""A partner's CRM connections (Bitrix24, amoCRM): what connecting takes and what a connection shows; its secrets
are taken, stored and never shown again (docs/integrations.md)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from chalicelib.schemas.common import Request, Response

CrmLanguage = Annotated[
    Literal["ru", "en"], Field(description="Of the comments and notes written on the CRM's contacts")
]
CrmFieldName = Literal["balance", "tier", "expiring", "expiring_on"]
_Secret = Annotated[str, StringConstraints(min_length=8, max_length=2000, pattern=r"^[0-9A-Za-z_.~+/=-]+$")]


class ConnectBitrix24(Request):
    webhook_url: Annotated[str, StringConstraints(min_length=10, max_length=300)]
    application_token: Annotated[str, StringConstraints(min_length=16, max_length=200, pattern=r"^[0-9A-Za-z_-]+$")]
    won_stage: Annotated[str, StringConstraints(min_length=1, max_length=50, pattern=r"^[0-9A-Za-z_:-]+$")] = "WON"
    language: CrmLanguage = "ru"


class Bitrix24Connection(Response):
    connected: bool = True
    won_stage: str
    language: CrmLanguage
    events_path: str = Field(description="Where the outgoing webhook posts (ONCRMDEALUPDATE)")
    connected_at: str


class Bitrix24Ack(Response):
    outcome: Literal["accrued", "refunded", "ignored"]


class ConnectAmoCrm(Request):
    subdomain: Annotated[
        str, StringConstraints(min_length=1, max_length=63, pattern=r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$")
    ]
    client_id: Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=r"^[0-9A-Za-z_-]+$")]
    client_secret: _Secret
    redirect_uri: Annotated[str, StringConstraints(min_length=8, max_length=300, pattern=r"^https?://\S+$")]
    code: _Secret | None = Field(default=None, description="The authorization code (exchanged once, here)")
    refresh_token: _Secret | None = None
    fields: dict[CrmFieldName, Annotated[int, Field(ge=1)]] = Field(
        default_factory=dict, description="Contact field ids; absent ones are written by field_code LOYALTY_*"
    )
    language: CrmLanguage = "ru"


class AmoCrmConnection(Response):
    connected: bool = True
    subdomain: str
    language: CrmLanguage
    events_path: str = Field(description="The webhook URL's path (lead status changed); it carries a secret")
    connected_at: str
    status: Literal["active", "broken"] = Field(
        description="broken: amoCRM refused the refresh token; nothing is sent until you connect again"
    )
    broken_reason: str | None = None
    broken_at: str | None = None
