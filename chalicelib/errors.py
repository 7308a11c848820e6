"""The one error hierarchy of the API.

Every failure a client can see is an ``ApiError``: it carries the HTTP status, the contract's machine-readable
``code`` and a human ``detail``, and is rendered as RFC 9457 problem+json by ``chalicelib.http``. Anything else
that escapes a handler is logged and shown to the client as a bare 500 ``internal_error``.
"""

from __future__ import annotations

import json
from typing import Any


class ApiError(Exception):
    status: int = 500
    code: str = "internal_error"
    title: str = "Internal error"
    # False: the answer depends on something outside the request (a customer's code), so it never binds an
    # Idempotency-Key or a natural id: the same order may be tried again with the right code.
    recorded: bool = True

    def __init__(self, detail: str | None = None, *, headers: dict[str, str] | None = None, **extra: Any) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.extra = extra
        self.headers = headers or {}


class InvalidJson(ApiError):
    status, code, title = 400, "invalid_json", "Body is not valid JSON"


class BadRequest(ApiError):
    status, code, title = 400, "bad_request", "Bad request"


class ValidationFailed(ApiError):
    status, code, title = 422, "validation_error", "Request failed validation"

    def __init__(self, errors: list[dict[str, Any]], detail: str | None = None) -> None:
        first = errors[0] if errors else {"loc": [], "msg": "invalid"}
        loc = ".".join(str(p) for p in first["loc"]) or "body"
        super().__init__(detail or f"{loc}: {first['msg']}", errors=errors)

    @classmethod
    def at(cls, loc: list[str | int], msg: str, type_: str = "value_error") -> ValidationFailed:
        """One error at one place, e.g. ``ValidationFailed.at(["body", "points"], "at most 5 points are held")``."""
        return cls([{"loc": loc, "msg": msg, "type": type_}])


class Unauthorized(ApiError):
    status, code, title = 401, "unauthorized", "Missing or invalid credentials"

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": 'Bearer realm="loyalty"'})


class Forbidden(ApiError):
    status, code, title = 403, "forbidden", "Not allowed"


class PartnerSuspended(ApiError):
    status, code, title = 403, "partner_suspended", "Partner is suspended"


class CustomerConfirmationRequired(Forbidden):
    """The partner's policy asks for the customer's code and the request carries none."""

    code, title = "customer_confirmation_required", "The customer's code is required"
    recorded = False


class CustomerCodeInvalid(Forbidden):
    """The code is wrong, expired or used; ``attempts_left`` says how many more tries that code allows."""

    code, title = "customer_code_invalid", "The customer's code is not valid"
    recorded = False


class NotFound(ApiError):
    status, code, title = 404, "not_found", "Not found"


class OrderNotFound(ApiError):
    status, code, title = 404, "order_not_found", "Order not found"


class MethodNotAllowed(ApiError):
    status, code, title = 405, "method_not_allowed", "Method not allowed"


class Conflict(ApiError):
    status, code, title = 409, "conflict", "Conflict"


class IdempotencyKeyReused(Conflict):
    code, title = "idempotency_key_reused", "Idempotency-Key was used with a different request"


class DuplicateOrder(Conflict):
    code, title = "duplicate_order", "order_id was already used with a different request"


class OrderConflict(Conflict):
    code, title = "order_conflict", "The order belongs to another customer or has another amount"


class DuplicateRefund(Conflict):
    code, title = "duplicate_refund", "refund_id was already used with a different request"


class DuplicateBonus(Conflict):
    code, title = "duplicate_bonus", "bonus_id was already used with a different request"


class DuplicateAdjustment(Conflict):
    code, title = "duplicate_adjustment", "adjustment_id was already used with a different request"


class IdentityConflict(Conflict):
    code, title = "identity_conflict", "Phone and card belong to different customers"


class HoldExpired(Conflict):
    code, title = "hold_expired", "The hold has expired and its points were released"


class HoldAlreadyResolved(Conflict):
    code, title = "hold_already_resolved", "The hold was already captured or voided"


class CampaignNotAccepted(Conflict):
    code, title = "campaign_not_accepted", "Not every named partner has accepted the campaign"


class CampaignDeclined(Conflict):
    code, title = "campaign_declined", "A named partner declined the campaign"


class CampaignStateConflict(Conflict):
    code, title = "invalid_campaign_state", "The campaign cannot do that in its current state"


class CampaignLimitReached(Conflict):
    code, title = "campaign_limit_reached", "A campaign limit is reached"


class StaffContactTaken(Conflict):
    code, title = "staff_contact_taken", "This phone or e-mail already signs in as a staff member"


class LastOwner(Conflict):
    code, title = "last_owner", "A partner keeps at least one owner"


class PeriodNotEnded(Conflict):
    code, title = "period_not_ended", "The period has not ended yet"


class WebhookLimitReached(Conflict):
    code, title = "webhook_limit_reached", "Too many webhook endpoints"


class KeyLimitReached(Conflict):
    code, title = "key_limit_reached", "Too many active API keys"


class PayloadTooLarge(ApiError):
    status, code, title = 413, "payload_too_large", "Request body is too large"


class UnsupportedMediaType(ApiError):
    status, code, title = 415, "unsupported_media_type", "Send the body as application/json"


class InsufficientPoints(ApiError):
    status, code, title = 422, "insufficient_points", "Not enough available points"


class RedemptionCapExceeded(ApiError):
    status, code, title = 422, "redemption_cap_exceeded", "Points exceed the share of the order that may be paid"


class BonusLimitReached(ApiError):
    status, code, title = 422, "bonus_limit_reached", "The daily limit for this bonus reason is reached"


class RefundExceedsOrder(ApiError):
    status, code, title = 422, "refund_exceeds_order", "Refunds would exceed the order amount"


class RequestTooLarge(ApiError):
    """The write would not fit in one DynamoDB transaction (100 items, 4 MB): refused whole, nothing written."""

    status, code, title = 422, "request_too_large", "The request would change too much at once"


class RateLimited(ApiError):
    """A limit of docs/security.md: retry after ``retry_after`` seconds (also the ``Retry-After`` header)."""

    status, code, title = 429, "rate_limited", "Too many requests"

    def __init__(self, detail: str | None = None, retry_after: int = 1, **extra: Any) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after)}, retry_after=retry_after, **extra)


class Unavailable(ApiError):
    """DynamoDB throttled or kept conflicting: safe to retry, nothing was written."""

    status, code, title = 503, "temporarily_unavailable", "Temporarily unavailable, retry later"

    def __init__(self, detail: str | None = None, retry_after: int = 1) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after)})


class CustomerUnreachable(ApiError):
    """The customer has no phone, e-mail or chat that an enabled channel can reach, or the channel refused it."""

    status, code, title = 422, "customer_unreachable", "The customer cannot be reached"
    recorded = False


class CodeLocked(ApiError):
    """A one-time code took its allowed number of wrong tries: no guess counts until a new code is issued (the
    customer shows a new one, or the till asks for one). ``Retry-After``: when the locked code would have expired."""

    status, code, title = 429, "customer_code_locked", "Too many wrong codes"

    def __init__(self, detail: str | None = None, retry_after: int = 60) -> None:
        super().__init__(detail, headers={"Retry-After": str(max(1, retry_after))})


def transient(error: ApiError) -> bool:
    """Retrying may give another answer (throttling, contention, rate limits, a customer's code): never recorded
    for replay."""
    return error.status == 429 or error.status >= 500 or not error.recorded


def problem_document(error: ApiError, request_id: str) -> dict[str, Any]:
    return {
        "type": f"https://coalition-loyalty.dev/problems/{error.code}",
        "title": error.title,
        "status": error.status,
        "detail": error.detail,
        "code": error.code,
        "request_id": request_id,
        **error.extra,
    }


def problem_json(error: ApiError, request_id: str) -> str:
    """The RFC 9457 body, exactly as sent (and as recorded, when an execution's error is bound to a key)."""
    return json.dumps(problem_document(error, request_id), ensure_ascii=False)


_STANDARD = frozenset(("type", "title", "status", "detail", "code", "request_id"))


class RecordedProblem(ApiError):
    """An error recorded for an Idempotency-Key or a natural id, answered again byte for byte."""

    def __init__(self, status: int, body: str, *, replayed: bool = True) -> None:
        data = json.loads(body)
        super().__init__(str(data.get("detail") or ""), **{k: v for k, v in data.items() if k not in _STANDARD})
        self.status = status
        self.code = str(data.get("code") or "error")
        self.title = str(data.get("title") or "")
        self.body = body
        self.replayed = replayed
