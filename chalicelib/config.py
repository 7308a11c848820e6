"""Settings read from the environment once, lazily (nothing expensive at import time)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from chalicelib.domain import signing

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
        _load_parameters(env)
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
        uses_dev_secrets = signing.verify(settings.key_pepper, DEV_PEPPER) or signing.verify(
            settings.portal_secret, DEV_PORTAL_SECRET
        )
        if env.get("AWS_LAMBDA_FUNCTION_NAME") and uses_dev_secrets:
            raise RuntimeError("Refusing to run in AWS with development secrets: set the *_PARAM variables")
        return settings


def _secret(env: os._Environ[str], name: str, default: str) -> str:
    """A secret from SSM Parameter Store when ``<name>_PARAM`` names a parameter (AWS), else the variable itself."""
    parameter = env.get(f"{name}_PARAM")
    if parameter:
        if parameter not in _parameters:  # not read at start (created later, e.g. a channel switched on since)
            response = _ssm().get_parameter(Name=parameter, WithDecryption=True)
            _parameters[parameter] = str(response["Parameter"]["Value"])
        return _parameters[parameter]
    return env.get(name, default)


def read_secret(name: str) -> str | None:
    """A secret read on demand (the notification secrets); None if neither it nor ``<name>_PARAM`` is set."""
    return _secret(os.environ, name, "") or None


# SSM parameters by name, read once per instance. Every secret the instance may need is named by a
# ``LOYALTY_*_PARAM`` variable; :func:`_load_parameters` reads them all in one GetParameters call with one client
# when the instance starts, instead of one GetParameter (and one client) per secret on the first request.
_parameters: dict[str, str] = {}
_client: list[Any] = []
GET_PARAMETERS_MAX_NAMES = 10  # SSM's limit per GetParameters call


def _ssm() -> Any:
    if not _client:
        # the session DynamoDB's client is built from: its endpoints load once
        from chalicelib.db import aws_session

        _client.append(aws_session.client("ssm"))
    return _client[0]


def _load_parameters(env: os._Environ[str]) -> None:
    _parameters.clear()
    _client.clear()
    names = sorted({v for k, v in env.items() if k.startswith("LOYALTY_") and k.endswith("_PARAM") and v})
    for start in range(0, len(names), GET_PARAMETERS_MAX_NAMES):
        chunk = names[start : start + GET_PARAMETERS_MAX_NAMES]
        response = _ssm().get_parameters(Names=chunk, WithDecryption=True)
        _parameters.update({p["Name"]: str(p["Value"]) for p in response["Parameters"]})
    # A parameter that does not exist yet (InvalidParameters) is read again when asked for: the notification
    # secrets may be created after the instance started; the two the API cannot work without fail in from_env.
