"""Settlement in the table: the period counters (``CTR#<partner>#<YYYY-MM>#<shard>``, added to in every entry's
transaction, read raw: besides the declared figures they hold ``flow_<issuer>`` and ``exp_<issuer>``) and the closed
period's frozen report (``SETTLEMENT#<YYYY-MM>``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from pynamodb.attributes import NumberAttribute, UnicodeAttribute

from chalicelib.db import keys
from chalicelib.db.models import _Item
from chalicelib.db.packed import pack, unpack
from chalicelib.db.reads import connection, get_one, get_raw_many
from chalicelib.db.tx import Transaction, TxCancelled
from chalicelib.domain.settlement import FIELDS, Figures

__all__ = ["SettlementItem", "load_closed", "read_figures", "save_closed"]


class SettlementItem(_Item):
    """``SETTLEMENT#<YYYY-MM>`` / ``CLOSED``: the frozen operator report, returned unchanged by every later read:
    as ``report`` (JSON, reports frozen before parts), or compressed (zlib, base64) in ``data`` here and in
    ``parts - 1`` more items ``PART#<k>`` of the same partition, written in the same transaction (an item holds
    400 KB at most; a report of many partners trading with each other is bigger)."""

    report = UnicodeAttribute(null=True)
    data = UnicodeAttribute(null=True)
    parts = NumberAttribute(null=True)
    closed_at = UnicodeAttribute()


def _figures(raw: dict[str, Any]) -> Figures:
    """One counter shard, as raw DynamoDB JSON."""
    f = Figures()
    for name, value in raw.items():
        if "N" not in value:
            continue
        number = int(value["N"])
        if name in FIELDS:
            f.counts[name] += number
        elif name.startswith("flow_"):
            f.flows[name[5:]] = f.flows.get(name[5:], 0) + number
        elif name.startswith("exp_"):
            f.expired_by_issuer[name[4:]] = f.expired_by_issuer.get(name[4:], 0) + number
    return f


def read_figures(partner_ids: Sequence[str], period: str) -> dict[str, Figures]:
    """Sum every shard of every partner's counters for the period (strongly consistent batch reads)."""
    wanted = [(pid, key) for pid in partner_ids for key in keys.counters(pid, period)]
    figures = {pid: Figures() for pid in partner_ids}
    owner = {key: pid for pid, key in wanted}
    for key, raw in get_raw_many([key for _, key in wanted]).items():
        figures[owner[key]].add(_figures(raw))
    return figures


PART_CHARS = 300_000  # of compressed base64 text per item: well inside DynamoDB's 400 KB


def _part_key(period: str, k: int) -> tuple[str, str]:
    return keys.settlement(period)[0], f"PART#{k:03d}"


def load_closed(period: str) -> str | None:
    """The closed period's report as it was frozen (JSON), or None while the period is open."""
    item = get_one(SettlementItem, *keys.settlement(period))
    if item is None:
        return None
    if item.report is not None:
        return item.report
    text = [item.data or ""]
    wanted = [_part_key(period, k) for k in range(1, int(item.parts or 1))]
    found = get_raw_many(wanted) if wanted else {}
    text += [found[key]["data"]["S"] for key in wanted]
    return unpack("".join(text))


def save_closed(
    period: str, report_json: str, closed_at: str, also: Callable[[Transaction], None] | None = None
) -> bool:
    """Freeze the period's report unless it is already frozen; False if it was (closed concurrently). ``also`` adds
    to the same transaction (the close's audit record and its event: written only by the close that froze the
    report)."""
    packed = pack(report_json)
    chunks = [packed[i : i + PART_CHARS] for i in range(0, len(packed), PART_CHARS)] or [""]
    tx = Transaction()
    tx.put(
        SettlementItem(*keys.settlement(period), data=chunks[0], parts=len(chunks), closed_at=closed_at),
        condition=SettlementItem.pk.does_not_exist(),
    )
    for k, chunk in enumerate(chunks[1:], start=1):
        tx.put(SettlementItem(*_part_key(period, k), data=chunk, closed_at=closed_at))
    if also is not None:
        also(tx)
    try:
        tx.commit(connection())
    except TxCancelled:
        return False
    return True
