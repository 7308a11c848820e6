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
    b"{",
    b'{"a"',
    b"{\x00",
    b'{"a": "\xc3\xa9", "b": "\xed\xa0\x80"}',
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


def test_shards_are_the_numbers_the_hex_digests_spelt() -> None:
    """A shard read from the digest's bytes is the one read from its hex spelling: items stay where they were."""
    import hashlib

    from chalicelib.db import keys

    def old(text: str, shards: int) -> int:
        return int(hashlib.blake2b(text.encode(), digest_size=2).hexdigest(), 16) % shards

    draw = random.Random(5)
    texts = ["", "ent_1", "cus_é", *(f"evt_{draw.getrandbits(64):x}" for _ in range(3000))]
    for text in texts:
        assert keys.partner_period("ptn_a", "2026-01", text) == f"PP#ptn_a#2026-01#{old(text, keys.PERIOD_SHARDS)}"
        assert keys.expiry_index("2026-01", text) == (f"EXPIRE#2026-01#{old(text, keys.EXPIRY_SHARDS)}", text)
        assert keys._shard(text, keys.OUTBOX_SHARDS) == old(text, keys.OUTBOX_SHARDS)
        assert keys._shard(text, keys.MESSAGE_SHARDS) == old(text, keys.MESSAGE_SHARDS)


def test_the_canonical_body_and_its_fingerprints_are_what_json_dumps_spelt() -> None:
    """The encoder made once spells a body as ``json.dumps(..., sort_keys=True, ...)`` did, and the fingerprints
    hash the same bytes."""
    import hashlib

    from chalicelib.machinery import idempotency

    bodies: list[Any] = [
        {},
        {"b": 1, "a": [1.5, -0.0, None, True], "é": {"z": "ü\u2028\ud7ff", "y": 10**30}},
        {"points": 5, "order_id": "A-1", "nested": [{"k": "v"}, []]},
        [3, 2, 1],
        "text",
    ]
    for body in bodies:
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert idempotency._canonical(body) == canonical
        assert idempotency.fingerprints("POST", "/v1/accruals", body) == (
            hashlib.sha256(f"POST /v1/accruals\n{canonical}".encode()).hexdigest(),
            hashlib.sha256(f" \n{canonical}".encode()).hexdigest(),
        )
        assert idempotency.fingerprints("POST", "/v1/accruals", body)[0] == idempotency.fingerprint(
            "POST", "/v1/accruals", body
        )


def test_the_headers_read_once_are_what_the_request_mapping_answered() -> None:
    """``_lowered`` is ``dict(request.headers)`` and ``_header`` reads from it what the mapping answered."""
    from chalice.app import CaseInsensitiveMapping

    from chalicelib import http

    sent = {"Authorization": "Bearer x", "content-TYPE": "application/json", "Idempotency-Key": "k-1", "X-N": 5}
    mapping = CaseInsensitiveMapping(sent)
    lowered = http._lowered(mapping)
    assert lowered == dict(mapping) and lowered is not mapping._dict
    for name in ("authorization", "content-type", "idempotency-key", "x-n", "host"):
        assert http._header(lowered, name) == http._header(mapping, name)
    assert http._header(lowered, "x-n") == "5"
    assert http._lowered(None) == {} and http._lowered({"A": "b"}) == {"A": "b"}


@pytest.mark.parametrize(
    "body",
    [
        None,
        'x\u00e9\u2028"\\',
        1.5,
        -0.0,
        10**40,
        True,
        [],
        {"b": [{"d": 1, "c": None}], "a": "\x00\x1f\x7f", "A": 1e-7, "é": False, "": {}},
        json.loads('{"z": 1, "y": [1, 2.50, "\\ud800"], "x": {"w": 1e400}}'),
    ],
)
def test_the_canonical_encoder_made_once_spells_what_json_dumps_spelt(body: Any) -> None:
    from chalicelib.machinery import idempotency

    spelt = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert idempotency._canonical(body) == spelt
    assert idempotency._canonical(body) == spelt  # and again: nothing of a call is left in the encoder


def test_the_canonical_encoder_refuses_what_json_dumps_refused_and_goes_on() -> None:
    from chalicelib.machinery import idempotency

    for refused in ({"a": {1, 2}}, {"a": [object()]}, {("a",): 1}):
        with pytest.raises(TypeError):
            json.dumps(refused, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        with pytest.raises(TypeError):
            idempotency._canonical(refused)
        assert idempotency._canonical({"a": [1]}) == '{"a":[1]}'


def test_an_id_written_in_parts_is_the_one_number_spelt_whole() -> None:
    """The 10, 4 and 8 digits written apart (the milliseconds' kept for the very instant of the last id) are the 22
    digits of the number they make, whatever the last id's instant was."""
    from chalicelib import ids

    draw = random.Random(5)
    edges = [0, 1, 31, 32, 1023, 1024, 2**20 - 1]
    for _ in range(5000):
        millis = draw.choice([0, 1, 2**50 - 1, 2**50, 2**52 - 1, draw.getrandbits(50), 63_900_000_000_000])
        seq = draw.choice([*edges, draw.getrandbits(20)])
        noise = draw.choice([0, 2**40 - 1, *edges, draw.getrandbits(40)])
        head = ids._base32(millis & ids._MILLIS_DIGITS, 10)
        assert ids._digits(head, seq, noise) == ids._base32((millis & ids._MILLIS_DIGITS) << 60 | seq << 40 | noise, 22)
    start = datetime(1, 1, 1, tzinfo=UTC)
    for _ in range(2000):
        moment = start + timedelta(microseconds=draw.getrandbits(draw.choice([20, 50, 58])))
        millis = (moment - start) // timedelta(milliseconds=1) + 86_400_000
        for _ in range(draw.choice([1, 2])):  # twice: the second finds the very instant's digits kept
            assert ids._millis_digits(moment) == ids._base32(millis & ids._MILLIS_DIGITS, 10)
        equal = moment + timedelta(0)  # an equal instant, another object: its own digits, the same
        assert ids._millis_digits(equal) == ids._base32(millis & ids._MILLIS_DIGITS, 10)


def test_a_write_request_made_at_once_is_the_one_its_constructor_makes() -> None:
    """``WriteRequest.of`` fills what ``__init__`` would, field by field and in order, and stays frozen."""
    import dataclasses

    from chalicelib.machinery.idempotency import WriteRequest

    made = WriteRequest.of("key_1", "idem-1", ("f" * 64, "b" * 64), "2026-03-10T09:00:00+00:00", "rid", "key:key_1")
    assert made == WriteRequest(
        "key_1", "idem-1", "f" * 64, "b" * 64, "2026-03-10T09:00:00+00:00", "rid", "key:key_1", made.nonce
    )
    assert list(vars(made)) == [f.name for f in dataclasses.fields(WriteRequest)]
    assert not hasattr(WriteRequest, "__post_init__")
    assert len(made.nonce) == 32 and int(made.nonce, 16) >= 0
    assert WriteRequest.of("k", None, ("f", "b"), "t", "", "").nonce != made.nonce  # a new one per request
    assert made.secret_seed == "idem-1" and hash(made) == hash(dataclasses.replace(made))
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.nonce = "x"  # type: ignore[misc]
