"""A partner's settings as a write reads them: through the per-process cache (``chalicelib/cache.py``), with the
rates in force at the write's instant. The partner use cases (``chalicelib/services/partners.py``) change them and
clear the cache."""

from __future__ import annotations

from datetime import datetime

from chalicelib import cache, runtime
from chalicelib.db import partners as partners_db
from chalicelib.domain.partners import Partner
from chalicelib.errors import NotFound

__all__ = ["cached", "campaigns_known", "campaigns_loaded", "known", "load_partner"]


def _now() -> datetime:
    return runtime.get().clock.now()


def cached(partner_id: str, at: datetime | None = None) -> Partner | None:
    """A partner's settings, with the rates in force at ``at`` (default: now), through the per-process cache (see
    chalicelib/cache.py); None if there is none."""
    return _in_force(_as_cached(partner_id), at)


def _as_cached(partner_id: str) -> Partner | None:
    return cache.get(f"partner:{partner_id}", lambda: partners_db.load(partner_id))


def _in_force(partner: Partner | None, at: datetime | None) -> Partner | None:
    if partner is None or not partner.rate_schedule.changes:  # rates that never change need no clock
        return partner
    return partner.in_force(at if at is not None else _now())


def known(partner_id: str, at: datetime | None = None) -> Partner | None:
    """The partner as this instance's cache has it (rates in force at ``at``), without reading: None if it has not."""
    partner: Partner | None = cache.peek(f"partner:{partner_id}")
    return _in_force(partner, at)


# What a write reads of a partner's campaigns does not depend on its rates (``Partner.in_force`` carries the same
# snapshots and rules to the partner at any instant): these two hand out the partner as cached, without resolving
# its rates (a clock read and a copy for a partner with scheduled rates). tests/test_hot_path_copies.py holds them
# to the partner in force.
def campaigns_known(partner_id: str) -> Partner | None:
    """:func:`known` for reading the partner's campaigns only: its rates are not those in force."""
    partner: Partner | None = cache.peek(f"partner:{partner_id}")
    return partner


def campaigns_loaded(partner_id: str) -> Partner:
    """:func:`load_partner` for reading the partner's campaigns only: its rates are not those in force."""
    partner = _as_cached(partner_id)
    if partner is None:
        raise NotFound(f"No partner {partner_id}.")
    return partner


def load_partner(partner_id: str, at: datetime | None = None) -> Partner:
    """The partner with the rates in force at ``at`` (default: now); 404 if there is none."""
    partner = cached(partner_id, at)
    if partner is None:
        raise NotFound(f"No partner {partner_id}.")
    return partner
