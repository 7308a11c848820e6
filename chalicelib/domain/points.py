"""Points arithmetic. Integers only: money is minor units, points are whole points, rates are basis points.

Rounding rule everywhere: floor, in the customer's disfavour for a single operation, and cumulative for
refunds so that the sum over all partial refunds equals the whole exactly.
"""

from __future__ import annotations

BPS = 10_000


def earn_points(amount_minor: int, earn_rate_bps: int, point_value_minor: int, multiplier_bps: int = BPS) -> int:
    """Contract: floor(amount * rate / 10000 / point_value), then the tier multiplier, floored again."""
    if amount_minor <= 0 or earn_rate_bps <= 0:
        return 0
    base = (amount_minor * earn_rate_bps) // (BPS * point_value_minor)
    return (base * multiplier_bps) // BPS


def redemption_cap_points(order_amount_minor: int, max_redeem_share_bps: int, point_value_minor: int) -> int:
    """Most points one order may take: the partner's share of the order, in whole points."""
    cap_minor = (order_amount_minor * max_redeem_share_bps) // BPS
    return cap_minor // point_value_minor


def pro_rata(total: int, part_minor: int, whole_minor: int) -> int:
    """floor(total * part / whole); with cumulative parts, the last part yields exactly ``total``."""
    if whole_minor <= 0:
        return 0
    part_minor = min(part_minor, whole_minor)
    return (total * part_minor) // whole_minor


def cumulative_share(total: int, refunded_before_minor: int, refunded_after_minor: int, whole_minor: int) -> int:
    """What one partial refund moves: the cumulative pro-rata target after it, minus the target before it.

    Partial refunds therefore always add up to exactly ``total`` once the whole order is refunded.
    """
    return pro_rata(total, refunded_after_minor, whole_minor) - pro_rata(total, refunded_before_minor, whole_minor)
