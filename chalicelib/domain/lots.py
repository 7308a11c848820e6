"""Lots: points remember who issued them and when they expire.

A lot key is ``"<expiry YYYY-MM>|<issuer partner id>"`` so that sorting keys sorts lots earliest-expiry first.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

SEPARATOR = "|"


def lot_key(expiry_period: str, issuer_partner_id: str) -> str:
    return f"{expiry_period}{SEPARATOR}{issuer_partner_id}"


def split_lot_key(key: str) -> tuple[str, str]:
    expiry, _, issuer = key.partition(SEPARATOR)
    return expiry, issuer


def allocate(lots: Mapping[str, int], points: int) -> list[tuple[str, int]]:
    """Take ``points`` from ``lots`` earliest expiry first. Raises ValueError when the lots hold too few."""
    if points < 0:
        raise ValueError("points must not be negative")
    taken: list[tuple[str, int]] = []
    remaining = points
    for key in sorted(lots):
        if remaining == 0:
            break
        have = lots[key]
        if have <= 0:
            continue
        take = min(have, remaining)
        taken.append((key, take))
        remaining -= take
    if remaining:
        raise ValueError(f"lots hold {points - remaining} points, {points} requested")
    return taken


def refill(
    consumed: Iterable[tuple[str, int]], already_returned: Mapping[str, int], points: int
) -> list[tuple[str, int]]:
    """Return ``points`` to the lots a redemption consumed, in consumption order, never more than each gave."""
    out: list[tuple[str, int]] = []
    remaining = points
    for key, gave in consumed:
        if remaining == 0:
            break
        room = gave - already_returned.get(key, 0)
        if room <= 0:
            continue
        put = min(room, remaining)
        out.append((key, put))
        remaining -= put
    if remaining:
        raise ValueError("cannot return more points than were consumed")
    return out


def by_issuer(parts: Iterable[tuple[str, int]]) -> dict[str, int]:
    """Sum lot movements per issuing partner (what settlement's ``flows`` need)."""
    out: dict[str, int] = {}
    for key, points in parts:
        issuer = split_lot_key(key)[1]
        out[issuer] = out.get(issuer, 0) + points
    return out
