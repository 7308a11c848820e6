"""Settings read from the environment once, lazily (nothing expensive at import time)."""

from __future__ import annotations

import os
from dataclasses import dataclass

DEV_PEPPER = "dev-only-pepper-change-me"
DEV_PORTAL_SECRET = "dev-only-portal-secret-change-me"  # noqa: S105 - local runs only; AWS reads SSM


@dataclass(frozen=True)
class Settings:
    table_name: str
    region: str
    dynamodb_endpoint: str | None
    key_pepper: str
    portal_secret: str
    max_body_bytes: int
    public_base_url: str | None

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ
        return cls(
            table_name=env.get("LOYALTY_TABLE", "loyalty-dev"),
            region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "eu-central-1",
            dynamodb_endpoint=env.get("AWS_ENDPOINT_URL_DYNAMODB") or None,
            key_pepper=env.get("LOYALTY_KEY_PEPPER", DEV_PEPPER),
            portal_secret=env.get("LOYALTY_PORTAL_SECRET", DEV_PORTAL_SECRET),
            max_body_bytes=int(env.get("LOYALTY_MAX_BODY_BYTES", "65536")),
            public_base_url=env.get("LOYALTY_PUBLIC_BASE_URL") or None,
        )
