"""The audit log's pages and filters (who changed what, when)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import (
    Field,
    StringConstraints,
)

from chalicelib.schemas.common import (
    Request,
    Response,
)

# --- audit log -------------------------------------------------------------------------------------------------

AuditCursor = Annotated[str, StringConstraints(max_length=600)]
AuditAction = Annotated[str, StringConstraints(pattern=r"^[a-z_]+\.[a-z_]+$", max_length=40)]
AuditActor = Annotated[str, StringConstraints(pattern=r"^(key|staff|system):[A-Za-z0-9_-]{1,80}$")]
# the months the program can have (2000-2099): a year 0 or 9999 is a typo, not a month to list
AuditPeriod = Annotated[str, StringConstraints(pattern=r"^20\d{2}-(0[1-9]|1[0-2])$")]


class PartnerAuditQuery(Request):
    limit: int = Field(default=50, ge=1, le=100)
    cursor: AuditCursor | None = Field(
        default=None, description="next_cursor of the previous page, with the same filters"
    )
    action: AuditAction | None = Field(default=None, description="Only this action, e.g. key.revoked")
    actor: AuditActor | None = Field(default=None, description="Only this actor: key:<key id> or staff:<staff id>")
    period: AuditPeriod | None = Field(
        default=None, description="Only changes made in this month (YYYY-MM, program time zone)"
    )


class AuditQuery(PartnerAuditQuery):
    partner_id: Annotated[str, StringConstraints(pattern=r"^ptn_[a-z0-9]{1,40}$")] | None = Field(
        None, description="Only records of this partner"
    )


class AuditEntryOut(Response):
    audit_id: str
    at: str = Field(description="When the change committed (UTC)")
    actor: str = Field(description="key:<key id> or staff:<staff id>")
    action: str = Field(description="<what>.<verb>: program.updated, partner.updated, key.revoked, payment.recorded...")
    target: str = Field(description="What changed: program, partner:<id>, key:<id>, campaign:<id>, settlement:<period>")
    partner_id: str | None
    before: dict[str, Any] | None = Field(description="The values before (only those that changed); null if new")
    after: dict[str, Any] | None = Field(description="The values after; a value over 8 KB is {_truncated, bytes, keys}")
    request_id: str


class AuditPage(Response):
    items: list[AuditEntryOut]
    next_cursor: str | None
