"""A period's reconciliation, as a run that reads the period's entries page by page: where it stands, what it folded,
and the comparison with the counters once every page is read. Pure: the reading and saving are elsewhere."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from chalicelib.domain.settlement import FIELDS, Figures

RunStatus = Literal["running", "done"]


@dataclass
class Run:
    period: str
    job_id: str
    status: RunStatus
    started_at: str
    updated_at: str
    finished_at: str | None
    partners: list[str]  # whose partner-period partitions are read, in order (fixed when the run starts)
    unit: int = 0  # the partition being read: partners[unit // shards], shard unit % shards
    start_key: str | None = None  # where the next page of that partition starts
    entries: int = 0
    pages: int = 0
    sums: dict[str, Figures] = field(default_factory=dict)  # target -> figures folded from the entries read
    result: str | None = None  # JSON of the comparison, once done
    version: int = 0


def figures_to_json(sums: Mapping[str, Figures]) -> str:
    return json.dumps(
        {t: {"c": f.counts, "f": f.flows, "e": f.expired_by_issuer} for t, f in sorted(sums.items())},
        sort_keys=True,
        separators=(",", ":"),
    )


def figures_from_json(text: str) -> dict[str, Figures]:
    out: dict[str, Figures] = {}
    for target, raw in dict(json.loads(text or "{}")).items():
        f = Figures()
        f.counts.update({str(k): int(v) for k, v in raw.get("c", {}).items()})
        f.flows.update({str(k): int(v) for k, v in raw.get("f", {}).items()})
        f.expired_by_issuer.update({str(k): int(v) for k, v in raw.get("e", {}).items()})
        out[str(target)] = f
    return out


def differences(counters: Mapping[str, Figures], entries: Mapping[str, Figures]) -> list[tuple[str, str, int, int]]:
    """(partner, field, counters, entries) for every figure where the counters and the entries' fold differ."""
    found: list[tuple[str, str, int, int]] = []
    for pid in sorted(entries):
        a, b = counters.get(pid, Figures()), entries[pid]
        for name in FIELDS:
            if a.counts.get(name, 0) != b.counts.get(name, 0):
                found.append((pid, name, a.counts.get(name, 0), b.counts.get(name, 0)))
        for label, x, y in (("flow", a.flows, b.flows), ("expired", a.expired_by_issuer, b.expired_by_issuer)):
            for issuer in sorted(set(x) | set(y)):
                if x.get(issuer, 0) != y.get(issuer, 0):
                    found.append((pid, f"{label}:{issuer}", x.get(issuer, 0), y.get(issuer, 0)))
    return found
