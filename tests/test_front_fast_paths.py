"""The request path's fast spellings give what the plain ones gave: ids, parsed bodies, fingerprints, headers."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest


def _digits(number: int, width: int) -> str:
    from chalicelib import ids

    out = []
    for _ in range(width):
        number, rem = divmod(number, 32)
        out.append(ids._ALPHABET[rem])
    return "".join(reversed(out))


def test_a_sortable_id_is_its_milliseconds_sequence_and_random_digits_side_by_side(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One 22-digit number spelt at once is the 10 digits of milliseconds, 4 of the sequence and 8 random ones."""
    import itertools

    from chalicelib import ids

    draw = random.Random(11)
    moments = [datetime(1, 1, 1, tzinfo=UTC), datetime(2026, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC)]
    moments += [datetime(2026, 1, 1, tzinfo=UTC) + timedelta(microseconds=draw.getrandbits(50)) for _ in range(200)]
    for n, moment in enumerate(moments):
        seq = draw.choice([0, 1, 32**4 - 1, 32**4, draw.getrandbits(30)])
        noise = draw.choice([b"\0" * 5, b"\xff" * 5, draw.randbytes(5)])
        monkeypatch.setattr(ids, "_sequence", itertools.count(seq))
        monkeypatch.setattr(ids.os, "urandom", lambda size, noise=noise: noise[:size])
        millis = (moment - datetime(1, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1) + 86_400_000
        expected = f"ent_{_digits(millis, 10)}{_digits(seq % 32**4, 4)}{_digits(int.from_bytes(noise), 8)}"
        assert ids.sortable_id("ent", moment) == expected, (n, moment)


_BODIES: list[bytes | str] = [
    b"{}",
    b'{"a": 1, "b": [1.5, -0, 1e400, "x\\u00e9\\ud800"], "c": {"d": null, "e": true}}',
    '{"a": "é"}'.encode("utf-16"),
    '{"a": "é"}'.encode("utf-16-le"),
    '{"a": "é"}'.encode("utf-32"),
    '{"a": "é"}'.encode("utf-8-sig"),
    "\ufeff{}",
    '{"a": "é"}',
    b"\xff\xfe\x00",
    b"\xc3\x28",
    b'{"a": NaN}',
    b"[Infinity]",
    b"-Infinity",
    b'{"a": 1,}',
    b'{"a": 1} x',
    b"[" * 100_000,
    b"",
    b" ",
    b'"\\ud800"',
    b"1" * 5000,
]


@pytest.mark.parametrize("raw", _BODIES)
def test_a_body_parses_as_json_loads_parsed_it(raw: bytes | str) -> None:
    """The decoder made once answers what ``json.loads(raw, parse_constant=...)`` answered: value or error text."""
    from chalicelib import request_body

    def outcome(parse: Any) -> tuple[str, str]:
        try:
            return "ok", repr(parse(raw))
        except (ValueError, RecursionError) as exc:
            return type(exc).__name__, str(exc)

    assert outcome(request_body._loads) == outcome(
        lambda text: json.loads(text, parse_constant=request_body._reject_constant)
    )
