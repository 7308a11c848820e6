"""Map attributes as plain dicts: a pynamodb ``MapAttribute`` read from the table, or the dict it was built from."""

from __future__ import annotations

from typing import Any

__all__ = ["as_dict", "ints"]


def as_dict(raw: Any) -> dict[str, Any]:
    if raw is None:
        return {}
    return dict(raw.as_dict() if hasattr(raw, "as_dict") else raw)


def ints(raw: Any) -> dict[str, int]:
    return {str(k): int(v) for k, v in as_dict(raw).items()}
