"""Every error the SDK raises. Catch ``LoyaltyError`` for all of them.

::

    LoyaltyError                      status, code, detail, request_id, body
    ├── APIConnectionError            no response (network down, DNS, refused) after all retries
    │   └── APITimeoutError           no response within the timeout after all retries
    ├── InvalidRequest                400 / 405 / 413 / 415 / 422 (bad_request)
    │   ├── InvalidJson               400 invalid_json
    │   ├── MethodNotAllowed          405 method_not_allowed
    │   ├── PayloadTooLarge           413 payload_too_large
    │   ├── UnsupportedMediaType      415 unsupported_media_type
    │   ├── ValidationError           422 validation_error (.errors: [{loc, msg}])
    │   ├── InsufficientPoints        422 insufficient_points
    │   ├── RedemptionCapExceeded     422 redemption_cap_exceeded (.max_points)
    │   ├── RefundExceedsOrder        422 refund_exceeds_order
    │   ├── BonusLimitReached         422 bonus_limit_reached
    │   ├── RequestTooLarge           422 request_too_large (one write would change too much at once)
    │   └── CustomerUnreachable       422 customer_unreachable (no phone, e-mail or chat to send a code or link to)
    ├── AuthenticationError           401 unauthorized
    ├── PermissionDenied              403 forbidden
    │   ├── PartnerSuspended          403 partner_suspended
    │   ├── CustomerConfirmationRequired  403 customer_confirmation_required (spend without the customer's code)
    │   └── CustomerCodeInvalid       403 customer_code_invalid (.attempts_left)
    ├── NotFound                      404 not_found
    │   └── OrderNotFound             404 order_not_found
    ├── Conflict                      409 conflict
    │   ├── IdempotencyKeyReused      409 idempotency_key_reused
    │   ├── DuplicateId               409 duplicate_order / duplicate_refund / duplicate_bonus / duplicate_adjustment
    │   ├── OrderConflict             409 order_conflict
    │   ├── IdentityConflict          409 identity_conflict
    │   ├── HoldExpired               409 hold_expired
    │   ├── HoldAlreadyResolved       409 hold_already_resolved
    │   ├── CampaignNotAccepted       409 campaign_not_accepted
    │   ├── CampaignDeclined          409 campaign_declined
    │   ├── CampaignStateConflict     409 invalid_campaign_state
    │   ├── CampaignLimitReached      409 campaign_limit_reached
    │   ├── PeriodNotEnded            409 period_not_ended
    │   ├── StaffContactTaken         409 staff_contact_taken
    │   ├── LastOwner                 409 last_owner
    │   ├── WebhookLimitReached       409 webhook_limit_reached
    │   └── KeyLimitReached           409 key_limit_reached
    ├── RateLimited                   429 rate_limited (.retry_after): a limit or a message provider asks to wait;
    │   │                             retried while Retry-After <= backoff_max, else raised at once
    │   └── CustomerCodeLocked        429 customer_code_locked (never retried: ask the customer for a new code)
    ├── ServerError                   5xx (after retries): internal_error
    │   └── Unavailable               503 temporarily_unavailable (nothing was written; retry later)
    └── SignatureVerificationError    a webhook delivery's signature does not verify (partner_sdk.webhooks.verify)

Every problem ``code`` the server can answer has its class here (tests/test_sdk_contract.py checks it against the
server's error tree).
"""

from __future__ import annotations

from typing import Any


class LoyaltyError(Exception):
    def __init__(
        self,
        detail: str,
        *,
        status: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
        body: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(f"[{status} {code}] {detail}" if status else detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.request_id = request_id
        self.body = body or {}


class APIConnectionError(LoyaltyError):
    pass


class APITimeoutError(APIConnectionError):
    pass


class InvalidRequest(LoyaltyError):
    pass


class InvalidJson(InvalidRequest):
    pass


class MethodNotAllowed(InvalidRequest):
    pass


class PayloadTooLarge(InvalidRequest):
    pass


class UnsupportedMediaType(InvalidRequest):
    pass


class ValidationError(InvalidRequest):
    @property
    def errors(self) -> list[dict[str, Any]]:
        return list(self.body.get("errors") or [])


class InsufficientPoints(InvalidRequest):
    pass


class RedemptionCapExceeded(InvalidRequest):
    @property
    def max_points(self) -> int:
        return int(self.body.get("max_points", 0))


class RefundExceedsOrder(InvalidRequest):
    pass


class BonusLimitReached(InvalidRequest):
    pass


class RequestTooLarge(InvalidRequest):
    pass


class CustomerUnreachable(InvalidRequest):
    pass


class AuthenticationError(LoyaltyError):
    pass


class PermissionDenied(LoyaltyError):
    pass


class PartnerSuspended(PermissionDenied):
    pass


class CustomerConfirmationRequired(PermissionDenied):
    """Your spend policy asks for the customer's code: the one on their page (or its QR), or ``spend_code``."""


class CustomerCodeInvalid(PermissionDenied):
    """The code is wrong, used or expired (one answer for all), or it confirms fewer points than asked
    (``confirmed_points``: spend at most that, or ask for a new code)."""

    @property
    def attempts_left(self) -> int:
        """Kept for callers of SDK 2.0; the API no longer says how many tries are left (always 0)."""
        return int(self.body.get("attempts_left", 0))

    @property
    def confirmed_points(self) -> int | None:
        value = self.body.get("confirmed_points")
        return int(value) if value is not None else None


class NotFound(LoyaltyError):
    pass


class OrderNotFound(NotFound):
    pass


class Conflict(LoyaltyError):
    pass


class IdempotencyKeyReused(Conflict):
    pass


class DuplicateId(Conflict):
    pass


class OrderConflict(Conflict):
    pass


class IdentityConflict(Conflict):
    pass


class HoldExpired(Conflict):
    pass


class HoldAlreadyResolved(Conflict):
    pass


class CampaignNotAccepted(Conflict):
    pass


class CampaignDeclined(Conflict):
    pass


class CampaignStateConflict(Conflict):
    pass


class CampaignLimitReached(Conflict):
    pass


class PeriodNotEnded(Conflict):
    pass


class StaffContactTaken(Conflict):
    pass


class LastOwner(Conflict):
    pass


class WebhookLimitReached(Conflict):
    pass


class KeyLimitReached(Conflict):
    pass


class SignatureVerificationError(LoyaltyError):
    """A webhook delivery whose ``Loyalty-Signature`` does not verify: forged, altered, signed with another secret,
    or older (or newer) than the tolerance allows. Not an API answer: raised by ``partner_sdk.webhooks.verify``."""


class RateLimited(LoyaltyError):
    """429: retried while ``Retry-After`` is within ``backoff_max``; raised at once when the wait is longer."""

    @property
    def retry_after(self) -> int | None:
        """Seconds until the request would be admitted, as the server said (None if it did not)."""
        value = self.body.get("retry_after")
        return int(value) if isinstance(value, int | float) else None


class CustomerCodeLocked(RateLimited):
    """Too many wrong codes: retrying cannot help, so the SDK does not; the customer needs a new code."""


class ServerError(LoyaltyError):
    pass


class Unavailable(ServerError):
    pass


_BY_CODE: dict[str, type[LoyaltyError]] = {
    "bad_request": InvalidRequest,
    "invalid_json": InvalidJson,
    "method_not_allowed": MethodNotAllowed,
    "payload_too_large": PayloadTooLarge,
    "unsupported_media_type": UnsupportedMediaType,
    "validation_error": ValidationError,
    "insufficient_points": InsufficientPoints,
    "redemption_cap_exceeded": RedemptionCapExceeded,
    "refund_exceeds_order": RefundExceedsOrder,
    "bonus_limit_reached": BonusLimitReached,
    "request_too_large": RequestTooLarge,
    "unauthorized": AuthenticationError,
    "forbidden": PermissionDenied,
    "partner_suspended": PartnerSuspended,
    "not_found": NotFound,
    "order_not_found": OrderNotFound,
    "conflict": Conflict,
    "idempotency_key_reused": IdempotencyKeyReused,
    "duplicate_order": DuplicateId,
    "duplicate_refund": DuplicateId,
    "duplicate_bonus": DuplicateId,
    "duplicate_adjustment": DuplicateId,
    "order_conflict": OrderConflict,
    "identity_conflict": IdentityConflict,
    "hold_expired": HoldExpired,
    "hold_already_resolved": HoldAlreadyResolved,
    "campaign_not_accepted": CampaignNotAccepted,
    "campaign_declined": CampaignDeclined,
    "invalid_campaign_state": CampaignStateConflict,
    "campaign_limit_reached": CampaignLimitReached,
    "period_not_ended": PeriodNotEnded,
    "staff_contact_taken": StaffContactTaken,
    "last_owner": LastOwner,
    "webhook_limit_reached": WebhookLimitReached,
    "key_limit_reached": KeyLimitReached,
    "internal_error": ServerError,
    "temporarily_unavailable": Unavailable,
    "customer_confirmation_required": CustomerConfirmationRequired,
    "customer_code_invalid": CustomerCodeInvalid,
    "customer_code_locked": CustomerCodeLocked,
    "customer_unreachable": CustomerUnreachable,
    "rate_limited": RateLimited,
}
NOT_RETRIED = frozenset({"customer_code_locked"})  # a 429 that waiting does not cure
_BY_STATUS: dict[int, type[LoyaltyError]] = {
    400: InvalidRequest,
    401: AuthenticationError,
    403: PermissionDenied,
    404: NotFound,
    405: InvalidRequest,
    409: Conflict,
    413: InvalidRequest,
    415: InvalidRequest,
    422: InvalidRequest,
    429: RateLimited,
}


def from_response(status: int, body: dict[str, Any], request_id: str | None) -> LoyaltyError:
    code = body.get("code")
    cls = _BY_CODE.get(str(code)) or _BY_STATUS.get(status) or (ServerError if status >= 500 else LoyaltyError)
    detail = str(body.get("detail") or body.get("title") or f"HTTP {status}")
    return cls(detail, status=status, code=code, request_id=body.get("request_id") or request_id, body=body)


__all__ = [name for name, value in globals().items() if isinstance(value, type) and issubclass(value, LoyaltyError)]
