"""Settings read from the environment once, lazily (nothing expensive at import time)."""

from __future__ import annotations

import hmac
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
    limits: str = ""  # JSON overrides of the rate limits' defaults (chalicelib/domain/ratelimit.py, docs/security.md)

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ
        settings = cls(
            table_name=env.get("LOYALTY_TABLE", "loyalty-dev"),
            region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "eu-central-1",
            dynamodb_endpoint=env.get("AWS_ENDPOINT_URL_DYNAMODB") or None,
            key_pepper=_secret(env, "LOYALTY_KEY_PEPPER", DEV_PEPPER),
            portal_secret=_secret(env, "LOYALTY_PORTAL_SECRET", DEV_PORTAL_SECRET),
            max_body_bytes=int(env.get("LOYALTY_MAX_BODY_BYTES", "65536")),
            public_base_url=env.get("LOYALTY_PUBLIC_BASE_URL") or None,
            limits=env.get("LOYALTY_LIMITS", ""),
        )
        uses_dev_secrets = hmac.compare_digest(
            settings.key_pepper.encode(), DEV_PEPPER.encode()
        ) or hmac.compare_digest(settings.portal_secret.encode(), DEV_PORTAL_SECRET.encode())
        if env.get("AWS_LAMBDA_FUNCTION_NAME") and uses_dev_secrets:
            raise RuntimeError("Refusing to run in AWS with development secrets: set the *_PARAM variables")
        return settings


def _secret(env: os._Environ[str], name: str, default: str) -> str:
    """A secret from SSM Parameter Store when ``<name>_PARAM`` names a parameter (AWS), else the variable itself."""
    parameter = env.get(f"{name}_PARAM")
    if parameter:
        import boto3

        response = boto3.client("ssm").get_parameter(Name=parameter, WithDecryption=True)
        return str(response["Parameter"]["Value"])
    return env.get(name, default)


def read_secret(name: str) -> str | None:
    """A secret read on demand (the notification secrets, issue 17); None if neither it nor ``<name>_PARAM`` is set."""
    return _secret(os.environ, name, "") or None
