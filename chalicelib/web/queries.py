"""The query strings of the HTML routes (imported by the route table: no Jinja2 here).

``lang`` accepts exactly the languages that have a catalogue in ``messages/``, so a new catalogue is a new choice
without touching Python; anything else is a 422 as before. Unknown parameters (``utm_source`` from an SMS...) are
ignored, not rejected.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

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

    model_config = ConfigDict(extra="ignore", defer_build=True)
    token: Annotated[str, StringConstraints(max_length=300)] | None = None
    lang: Lang | None = None
    cursor: Annotated[str, StringConstraints(max_length=200)] | None = None


class PortalQuery(BaseModel):
    """Query of portal pages."""

    model_config = ConfigDict(extra="ignore", defer_build=True)
    lang: Lang | None = None
    period: Annotated[str, StringConstraints(max_length=7)] | None = None
    table: Literal["statement", "flows"] = "statement"  # the settlement CSV: one table per file
    cursor: Annotated[str, StringConstraints(max_length=600)] | None = None  # the audit log's next page


class ActQuery(BaseModel):
    """Query of the operator's reconciliation act: whose, in which language."""

    model_config = ConfigDict(extra="ignore", defer_build=True)
    partner_id: Annotated[str, StringConstraints(strict=True, pattern=r"^ptn_[0-9a-z]{8,32}$")]
    lang: Lang | None = None


# The portal's forms, as the route table documents them (application/x-www-form-urlencoded). portal_forms.py reads
# the fields; these models only tell /openapi.json what a browser sends.


class SignInForm(BaseModel):
    """The sign-in form: the API key, and the CSRF token that must equal the ``lp_csrf`` cookie set with the form."""

    model_config = ConfigDict(defer_build=True)

    csrf: str = Field(description="Equal to the lp_csrf cookie the sign-in page set")
    api_key: str = Field(description="The partner's API key; exchanged for the lp_session cookie, never stored")


class PortalForm(BaseModel):
    """A signed-in portal form: its CSRF token (bound to the session) and the page's own fields."""

    model_config = ConfigDict(
        extra="allow", json_schema_extra={"additionalProperties": {"type": "string"}}, defer_build=True
    )
    csrf: str = Field(description="The form's CSRF token, bound to the lp_session cookie; without it: 403")
    nonce: str = Field("", description="Drawn as the form is rendered: one press is one write")


# The customer's forms: documented only; customer_http.py and customer_self.py read the fields.


class CustomerSignInForm(BaseModel):
    """Customer sign-in, step 1: a phone or an e-mail, and the token that must equal the ``lc_csrf`` cookie."""

    model_config = ConfigDict(defer_build=True)
    csrf: str = Field(description="Equal to the lc_csrf cookie the sign-in page set")
    identifier: str = Field(description="A phone (any spelling) or an e-mail address")


class CodeForm(CustomerSignInForm):
    """Customer sign-in, step 2: the one-time code the customer received."""

    code: str = Field(description="Six digits; five wrong tries lock the code (429)")


class StaffSignInForm(BaseModel):
    """Staff sign-in, step 1: a phone or an e-mail, and the token that must equal the ``ls_csrf`` cookie."""

    model_config = ConfigDict(defer_build=True)
    csrf: str = Field(description="Equal to the ls_csrf cookie the sign-in page set")
    contact: str = Field(description="The phone (any spelling) or e-mail address the member was invited with")


class StaffCodeForm(StaffSignInForm):
    """Staff sign-in, step 2: the one-time code the member received."""

    code: str = Field(description="Six digits; five wrong tries lock the code (429)")


class CustomerForm(BaseModel):
    """A form on the signed-in customer's page: its CSRF token (bound to the lc_session cookie) and its fields."""

    model_config = ConfigDict(
        extra="allow", json_schema_extra={"additionalProperties": {"type": "string"}}, defer_build=True
    )
    csrf: str = Field(description="Bound to the lc_session cookie; without it: 403")


class UnsubscribeQuery(BaseModel):
    """The unsubscribe link's fields (``c``: the customer, ``t``: the token), also what its button posts."""

    model_config = ConfigDict(extra="ignore", defer_build=True)
    c: str | None = Field(None, max_length=64)
    t: str | None = Field(None, max_length=64)
    lang: Lang | None = None


class SiteQuery(BaseModel):
    """Query of the landing page and the not-found page: only the language."""

    model_config = ConfigDict(extra="ignore", defer_build=True)
    lang: Lang | None = None
