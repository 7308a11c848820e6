"""A request's two fingerprints (request and body) are computed from one encoding of its body, and are the same
as each computed alone: an Idempotency-Key bound before stays bound to the same fingerprints."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.machinery.idempotency import fingerprint, fingerprints


@pytest.mark.parametrize(
    "body", [None, {}, {"order_id": "A-1", "amount_minor": 100_000}, {"name": "Пётр", "b": [1, {"c": None}]}, [1, 2]]
)
def test_fingerprints_are_each_fingerprint(body: Any) -> None:
    assert fingerprints("POST", "/v1/accruals", body) == (
        fingerprint("POST", "/v1/accruals", body),
        fingerprint("", "", body),
    )
