"""The owner's CRM page in the portal: connect Bitrix24 (its inbound webhook URL and the outgoing webhook's
application token) and amoCRM (an integration's keys and an authorization code), see each connection's state and
its last error (a broken amoCRM connection and why), and disconnect. Every write goes through the API's own use
cases (``services.crm_sync``, ``services.amo_sync``): the URL's refusal and the code's exchange are decided there;
the secrets typed here are never shown again (amoCRM's webhook URL, with its secret, once on the answer)."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from chalicelib.db import amo as amo_db
from chalicelib.db import crm as crm_db
from chalicelib.errors import ApiError
from chalicelib.schemas import AmoCrmConnection, ConnectAmoCrm, ConnectBitrix24
from chalicelib.services import amo_sync, crm_sync
from chalicelib.web import portal_views
from chalicelib.web.portal_session import Session, write_request
from chalicelib.web.render import redirect

PATH = "/portal/integrations"
B24_FIELDS = ("webhook_url", "application_token", "won_stage")
AMO_FIELDS = ("subdomain", "client_id", "client_secret", "redirect_uri", "code")


def _respond(r: Any, page: Any, status: int = 200) -> Any:
    from chalice.app import Response

    return Response(body=page.body, status_code=status, headers={**page.headers, **r.extra})


def _page(r: Any, session: Session, status: int = 200, **context: Any) -> Any:
    b24 = crm_db.get(session.partner_id)
    amo = amo_db.get(session.partner_id)
    typed = context.pop("typed", {})  # the template types back no secret (their fields are empty on a refusal)
    page = portal_views.page(
        "portal/integrations.html", r.lang, f"{PATH}?lang=", session,
        b24=crm_sync.connection_out(b24) if b24 is not None else None, b24_conn=b24,
        amo=amo_sync.connection_out(amo) if amo is not None else None,
        typed={"won_stage": "WON", **typed}, problems=context.get("problems", {}),
        amo_created=context.get("amo_created"), confirm=context.get("confirm"),
    )  # fmt: skip
    return _respond(r, page, status)


def _integrations(r: Any, session: Session) -> Any:
    return _page(r, session)


def _typed(form: dict[str, str], names: tuple[str, ...]) -> dict[str, str]:
    return {n: form.get(n, "").strip()[:2000] for n in names}


def _problems(error: ValidationError, prefix: str) -> dict[str, str]:
    return {f"{prefix}.{e['loc'][0]}": f"integrations.bad.{e['loc'][0]}" for e in error.errors() if e["loc"]}


def _language(r: Any) -> str:
    return "en" if r.lang == "en" else "ru"  # the comments on the contacts speak the language the owner uses here


def _connect_bitrix24(r: Any, session: Session) -> Any:
    typed = _typed(r.form, B24_FIELDS)
    try:
        body = ConnectBitrix24.model_validate({**typed, "won_stage": typed["won_stage"] or "WON"})
    except ValidationError as error:
        return _page(r, session, 422, typed=typed, problems=_problems(error, "b24"))
    try:
        crm_sync.connect(session.partner_id, body.webhook_url, body.application_token, body.won_stage, r.call.now,
                         _language(r))  # fmt: skip
    except ApiError:  # the URL refused (not Bitrix24's shape, a private address in production)
        return _page(r, session, 422, typed=typed, problems={"b24.webhook_url": "integrations.bad.webhook_url"})
    return redirect(PATH)


def _connect_amocrm(r: Any, session: Session) -> Any:
    typed = _typed(r.form, AMO_FIELDS)
    try:
        body = ConnectAmoCrm.model_validate(typed)
    except ValidationError as error:
        return _page(r, session, 422, typed=typed, problems=_problems(error, "amo"))
    if body.code is None:  # the page connects with an authorization code only (the API takes a refresh token too)
        return _page(r, session, 422, typed=typed, problems={"amo.code": "integrations.bad.code"})
    write = write_request(session, r.form, f"{PATH}/amocrm", r.call.now)
    client = (body.client_id, body.client_secret, body.redirect_uri)
    try:
        reply = amo_sync.connect(write, session.partner_id, body.subdomain, client,
                                 ("authorization_code", body.code or ""), {}, r.call.now, _language(r))  # fmt: skip
    except ApiError as error:  # the code refused (400) or amoCRM silent (503)
        problem = "integrations.amo_unavailable" if error.status >= 500 else "integrations.amo_refused"
        return _page(r, session, 422 if error.status < 500 else 503, typed=typed, problems={"amo.form": problem})
    return _page(r, session, amo_created=reply.result(AmoCrmConnection))


def _disconnect(r: Any, session: Session) -> Any:
    crm = r.call.params["crm"]
    if crm not in ("bitrix24", "amocrm"):
        return _page(r, session, 404)
    if r.form.get("confirmed") != "yes":  # the question first; its own form disconnects
        return _page(r, session, confirm=crm)
    (crm_db if crm == "bitrix24" else amo_db).disconnect(session.partner_id)
    return redirect(PATH)


VIEWS = {
    "integrations": _integrations,
    "connect_bitrix24": _connect_bitrix24,
    "connect_amocrm": _connect_amocrm,
    "disconnect_crm": _disconnect,
}
