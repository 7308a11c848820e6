"""Webhooks: the endpoints a partner registers, their deliveries and the rotation of their signing secret
(docs/integrations.md)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints, field_validator

from chalicelib.domain.events import ALL_EVENTS, EVENT_TYPES
from chalicelib.schemas.common import Request, Response

WEBHOOK_EVENT_NAMES = (*EVENT_TYPES, ALL_EVENTS)


class CreateWebhook(Request):
    url: Annotated[str, StringConstraints(strict=True, min_length=8, max_length=2048)] = Field(
        description="https on a public address (http://localhost only under make run)"
    )
    events: list[Annotated[str, StringConstraints(strict=True, max_length=40)]] = Field(
        min_length=1, max_length=len(WEBHOOK_EVENT_NAMES), description='Event types, or ["*"] for all'
    )

    @field_validator("events")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        unknown = [v for v in value if v not in WEBHOOK_EVENT_NAMES]
        if unknown:
            raise ValueError(f"unknown event types {unknown}; known: {', '.join(WEBHOOK_EVENT_NAMES)}")
        return sorted(set(value))


class WebhookOut(Response):
    webhook_id: str
    url: str
    events: list[str]
    status: Literal["active", "disabled"]
    created_at: str
    previous_secret_valid_until: str | None = None
    disabled_at: str | None = None
    disabled_reason: str | None = Field(
        None, description="Why it was switched off, in English (disabled_code says it for machines)"
    )
    disabled_code: Literal["undeliverable"] | None = Field(
        None, description="undeliverable: disabled_event_id could not be delivered for three days"
    )
    disabled_event_id: str | None = None


class WebhookCreated(WebhookOut):
    secret: str = Field(description="Shown once: verify each delivery's Loyalty-Signature with it")


class WebhookList(Response):
    items: list[WebhookOut]


class RotateWebhookSecret(Request):
    overlap_hours: int = Field(
        default=24, strict=True, ge=0, le=168, description="How long the previous secret still signs deliveries"
    )


class WebhookSecretRotated(Response):
    webhook_id: str
    secret: str = Field(description="Shown once")
    previous_secret_valid_until: str


class DeliveryOut(Response):
    delivery_id: str = Field(description="The event's id: one delivery per event and endpoint")
    event_id: str
    event_type: str
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    created_at: str
    last_attempt_at: str | None = None
    next_attempt_at: str | None = None
    delivered_at: str | None = None
    response_code: int | None = None
    latency_ms: int | None = None
    error: str | None = None
    response_excerpt: str | None = None


class DeliveryList(Response):
    items: list[DeliveryOut]


class DeliveryQuery(Request):
    limit: int = Field(default=50, ge=1, le=100)


class ResendOut(Response):
    delivery_id: str
    status: Literal["pending"]
    next_attempt_at: str
