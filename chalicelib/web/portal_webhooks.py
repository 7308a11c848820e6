"""The owner's webhook pages in the portal: the endpoints (register with event types, the secret shown once; rotate
the secret with an overlap, shown once; delete after a confirmation) and each endpoint's deliveries, newest first,
with a Resend button. Every write goes through ``services.webhooks``, the API's own use cases: the URL's refusal,
the ten-endpoint limit and a partner's reach are decided there, never here."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import ValidationError

from chalicelib.domain.events import ALL_EVENTS, EVENT_TYPES
from chalicelib.domain.periods import zone
from chalicelib.errors import ValidationFailed, WebhookLimitReached
from chalicelib.machinery import program
from chalicelib.schemas import CreateWebhook, RotateWebhookSecret, WebhookCreated, WebhookOut, WebhookSecretRotated
from chalicelib.services import webhooks
from chalicelib.web import i18n, portal_views
from chalicelib.web.portal_session import Session, write_request
from chalicelib.web.render import redirect

DELIVERIES = 50  # the newest a page shows
EVENT_FIELD = "event_"  # one checkbox per event type: event_accrual.created=on


def _respond(r: Any, page: Any, status: int = 200) -> Any:
    from chalice.app import Response

    # r.extra: the Set-Cookie keeping a ?lang= asked for, so the next page speaks it too
    return Response(body=page.body, status_code=status, headers={**page.headers, **r.extra})


def _why_off(lang: str, hooks: list[WebhookOut]) -> dict[str, str]:
    """Why each switched-off endpoint is off, in the reader's language; one switched off before the reason had a
    code shows the (English) text it was stored with."""
    t, tz, out = i18n.locale(lang), program.load().timezone, {}
    for h in hooks:
        if h.disabled_code is not None and h.disabled_at is not None:
            event = h.disabled_event_id or ""
            out[h.webhook_id] = t(f"webhooks.disabled.{h.disabled_code}", date=t.date(h.disabled_at, tz), event=event)
        elif h.disabled_reason:
            out[h.webhook_id] = h.disabled_reason
    return out


def _list_page(r: Any, session: Session, status: int = 200, **context: Any) -> Any:
    typed = {"url": "", "all": False, "events": [], **context.pop("typed", {})}
    hooks = webhooks.listing(session.partner_id, r.call.now).items
    page = portal_views.page(
        "portal/webhooks.html", r.lang, "/portal/webhooks?lang=", session,
        hooks=hooks, why_off=_why_off(r.lang, hooks), catalogue=EVENT_TYPES, typed=typed,
        created=context.get("created"), problems=context.get("problems", {}),
    )  # fmt: skip
    return _respond(r, page, status)


def _webhooks(r: Any, session: Session) -> Any:
    return _list_page(r, session)


def _chosen(form: dict[str, str]) -> list[str]:
    if form.get("all_events") == "on":
        return [ALL_EVENTS]
    return [e for e in EVENT_TYPES if form.get(EVENT_FIELD + e) == "on"]


def _create(r: Any, session: Session) -> Any:
    url, events = r.form.get("url", "").strip()[:2048], _chosen(r.form)
    typed = {"url": url, "all": events == [ALL_EVENTS], "events": events}
    try:
        body = CreateWebhook.model_validate({"url": url, "events": events})
    except ValidationError as error:
        fields = {str(e["loc"][0]) for e in error.errors()}
        problems = {f: "webhooks.bad_url" if f == "url" else "webhooks.no_events" for f in fields}
        return _list_page(r, session, 422, typed=typed, problems=problems)
    try:
        reply = webhooks.create(write_request(session, r.form, "/portal/webhooks", r.call.now), body,
                                session.partner_id, r.call.now)  # fmt: skip
    except ValidationFailed:  # the URL refused (plain http, a private address in production)
        return _list_page(r, session, 422, typed=typed, problems={"url": "webhooks.url_refused"})
    except WebhookLimitReached:
        return _list_page(r, session, 409, typed=typed, problems={"form": "webhooks.limit"})
    return _list_page(r, session, 201, created=reply.result(WebhookCreated))


def _time(t: i18n.Locale, iso: str | None, tz: str) -> str:
    """An instant as the program's clock shows it, as the audit log writes it: "6 дек 2026 14:03"."""
    if not iso:
        return "—"
    at = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    return f"{t.date(at.isoformat(), tz)} {at.astimezone(zone(tz)):%H:%M}"


def _hook_page(r: Any, session: Session, status: int = 200, **context: Any) -> Any:
    webhook_id = r.call.params["webhook_id"]
    hook = next((h for h in webhooks.listing(session.partner_id, r.call.now).items if h.webhook_id == webhook_id), None)
    items = webhooks.deliveries(session.partner_id, webhook_id, DELIVERIES).items  # another partner's id: 404
    t, tz = i18n.locale(r.lang), program.load().timezone
    rows = [{"d": d, "created": _time(t, d.created_at, tz), "next": _time(t, d.next_attempt_at, tz)} for d in items]
    page = portal_views.page(
        "portal/webhook.html", r.lang, f"/portal/webhooks/{webhook_id}?lang=", session, hook=hook, rows=rows,
        why_off=_why_off(r.lang, [hook] if hook else []),
        rotated=context.get("rotated"), confirm=context.get("confirm", False), problem=context.get("problem"),
        overlap=context.get("overlap", "24"),
    )  # fmt: skip
    return _respond(r, page, status)


def _webhook(r: Any, session: Session) -> Any:
    return _hook_page(r, session)


def _rotate(r: Any, session: Session) -> Any:
    webhook_id, overlap = r.call.params["webhook_id"], r.form.get("overlap_hours", "").strip()[:8]
    try:
        body = RotateWebhookSecret.model_validate({"overlap_hours": int(overlap) if overlap.isascii() else overlap})
    except (ValueError, ValidationError):
        return _hook_page(r, session, 422, problem="webhooks.bad_overlap", overlap=overlap)
    path = f"/portal/webhooks/{webhook_id}/rotate"
    reply = webhooks.rotate(write_request(session, r.form, path, r.call.now), session.partner_id, webhook_id, body,
                            r.call.now)  # fmt: skip
    return _hook_page(r, session, rotated=reply.result(WebhookSecretRotated))


def _delete(r: Any, session: Session) -> Any:
    if r.form.get("confirmed") != "yes":  # no way back: first the question, then its own form does it
        return _hook_page(r, session, confirm=True)
    webhooks.remove(session.partner_id, r.call.params["webhook_id"], r.call.now)
    return redirect("/portal/webhooks")


def _resend(r: Any, session: Session) -> Any:
    webhook_id, delivery_id = r.call.params["webhook_id"], r.call.params["delivery_id"]
    path = f"/portal/webhooks/{webhook_id}/deliveries/{delivery_id}/resend"
    write = write_request(session, r.form, path, r.call.now)
    webhooks.resend_once(write, session.partner_id, webhook_id, delivery_id, r.call.now)
    return redirect(f"/portal/webhooks/{webhook_id}")


VIEWS = {
    "webhooks": _webhooks,
    "create_webhook": _create,
    "webhook": _webhook,
    "rotate_webhook": _rotate,
    "delete_webhook": _delete,
    "resend_delivery": _resend,
}
