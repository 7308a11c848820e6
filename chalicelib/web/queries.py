"""The query strings of the HTML routes (imported by the route table: no Jinja2 here).

``lang`` accepts exactly the languages that have a catalogue in ``messages/``, so a new catalogue is a new choice
without touching Python; anything else is a 422 as before. Unknown parameters (``utm_source`` from an SMS...) are
ignored, not rejected.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from chalicelib.web import i18n


def _known(lang: str) -> str:
    if lang not in i18n.languages():
        raise ValueError(f"Input should be {' or '.join(repr(code) for code in i18n.languages())}")
    return lang


def _enum(schema: dict[str, Any]) -> None:
    schema["enum"] = list(i18n.languages())


Lang = Annotated[str, AfterValidator(_known), Field(json_schema_extra=_enum)]


class MePageQuery(BaseModel):
    """Query of the customer page."""

    model_config = ConfigDict(extra="ignore")
    token: Annotated[str, StringConstraints(max_length=300)] | None = None
    lang: Lang | None = None
    cursor: Annotated[str, StringConstraints(max_length=200)] | None = None


class PortalQuery(BaseModel):
    """Query of portal pages."""

    model_config = ConfigDict(extra="ignore")
    lang: Lang | None = None
    period: Annotated[str, StringConstraints(max_length=7)] | None = None
