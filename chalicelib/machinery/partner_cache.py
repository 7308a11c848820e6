"""A partner's settings as a write reads them: through the per-process cache (``chalicelib/cache.py``), with the
rates in force at the write's instant. The partner use cases (``chalicelib/services/partners.py``) change them and
clear the cache."""

from __future__ import annotations

from datetime import datetime

from chalicelib import cache, runtime
from chalicelib.db import partners as partners_db
from chalicelib.domain.partners import Partner
from chalicelib.errors import NotFound

__all__ = ["cached", "known", "load_partner"]


def _now() -> datetime:
    return runtime.get().clock.now()


def cached(partner_id: str, at: datetime | None = None) -> Partner | None:
    """A partner's settings, with the rates in force at ``at`` (default: now), through the per-process cache (see
    chalicelib/cache.py); None if there is none."""
    partner = cache.get(f"partner:{partner_id}", lambda: partners_db.load(partner_id))
    return _in_force(partner, at)


def _in_force(partner: Partner | None, at: datetime | None) -> Partner | None:
    if partner is None or not partner.rate_schedule.changes:  # rates that never change need no clock
        return partner
    return partner.in_force(at if at is not None else _now())


def known(partner_id: str, at: datetime | None = None) -> Partner | None:
    """The partner as this instance's cache has it (rates in force at ``at``), without reading: None if it has not."""
    partner: Partner | None = cache.peek(f"partner:{partner_id}")
    return _in_force(partner, at)


def load_partner(partner_id: str, at: datetime | None = None) -> Partner:
    """The partner with the rates in force at ``at`` (default: now); 404 if there is none."""
    partner = cached(partner_id, at)
    if partner is None:
        raise NotFound(f"No partner {partner_id}.")
    return partner
