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
    # an object with nothing around it is scanned at once; whatever fails or follows goes the long way
    b'{"a": 1}}',
    b'{"a": 1} }',
    b'{"a": 1} ',
    b' {"a": 1}',
    b'{"a": [1, 2}',
    b'{"a": NaN, "b": {}}',
    b'{"a": 1, "a": 2, "b": {"c": [true, false, null]}}',
    b'{"a": -Infinity}',
    b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
    '{"x": "\u2028\ud800é"}',
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

    from chalicelib.machinery import fingerprints, idempotency

    bodies: list[Any] = [
        {},
        {"b": 1, "a": [1.5, -0.0, None, True], "é": {"z": "ü\u2028\ud7ff", "y": 10**30}},
        {"points": 5, "order_id": "A-1", "nested": [{"k": "v"}, []]},
        [3, 2, 1],
        "text",
    ]
    for body in bodies:
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert fingerprints._canonical(body) == canonical
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
    from chalicelib.machinery import fingerprints

    spelt = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert fingerprints._canonical(body) == spelt
    assert fingerprints._canonical(body) == spelt  # and again: nothing of a call is left in the encoder


def test_the_canonical_encoder_refuses_what_json_dumps_refused_and_goes_on() -> None:
    from chalicelib.machinery import fingerprints

    for refused in ({"a": {1, 2}}, {"a": [object()]}, {("a",): 1}):
        with pytest.raises(TypeError):
            json.dumps(refused, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        with pytest.raises(TypeError):
            fingerprints._canonical(refused)
        assert fingerprints._canonical({"a": [1]}) == '{"a":[1]}'


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


def test_the_media_type_remembered_is_the_one_the_header_spelt() -> None:
    """``media_type`` is ``(content_type or "application/json").lower().split(";")[0].strip()``, asked once or
    again, and stays bounded whatever clients send."""
    from chalicelib import request_body

    sent = [None, "", "application/json", "Application/JSON; charset=utf-8", " text/plain ;q=1", "a+json", ";", "X"]
    for content_type in [*sent, *sent]:
        spelt = (content_type or "application/json").lower().split(";")[0].strip()
        assert request_body.media_type(content_type) == spelt
    for n in range(500):
        assert request_body.media_type(f"Type/{n}; x") == f"type/{n}"
    assert len(request_body._medias) <= request_body._MEDIA_MAX


def test_https_read_from_the_headers_is_what_the_header_reader_answered() -> None:
    """``over_https`` answers what ``is_https`` answers through ``http._header``, text or not."""
    from chalicelib import http, https

    hosts = [None, "", "127.0.0.1", "127.0.0.1:8000", "localhost", "localhost:1", "api.example", "LOCALHOST", 5]
    protos = [None, "", "http", "https", "HTTPS", 7]
    for host in hosts:
        for proto in protos:
            headers = {k: v for k, v in (("host", host), ("x-forwarded-proto", proto)) if v is not None}
            assert https.over_https(headers) == https.is_https(lambda n, h=headers: http._header(h, n))


def test_the_key_rates_worked_out_once_are_the_limits_rates(monkeypatch: Any) -> None:
    """``key_rate._rates_of(limits)[lookup]`` is ``{name: limits.rate(name)}`` of the request's names, limits
    switched off left out, for whichever limits are in force."""
    from chalicelib.domain.ratelimit import parse_limits
    from chalicelib.machinery import key_rate

    for text in ["", '{"lookup": null}', '{"api_key": null}', '{"api_key": {"count": 3, "per_seconds": 1}}']:
        limits = parse_limits(text)[0]
        for lookup, names in ((False, ("api_key",)), (True, ("api_key", "lookup"))):
            wanted = {n: r for n in names if (r := limits.rate(n)) is not None}
            assert key_rate._rates_of(limits)[lookup] == wanted
            assert key_rate._rates_of(limits)[lookup] == wanted  # and again, from what was kept


def test_the_replay_guards_rendered_once_are_pynamodbs_conditions() -> None:
    """A check or a put of a replay record guarded by the guard rendered once sends what pynamodb's condition
    sends, again and again (each send gets maps of its own)."""
    from chalicelib.db import ReplayItem, Transaction, replays

    def only(tx: Transaction) -> dict[str, Any]:
        """The transaction's one operation, as it is sent."""
        ((operation,),) = (op.values() for op in tx.operations()[0])
        return dict(operation)

    item = {"pk": {"S": "ORDER#p#o"}, "sk": {"S": "ACCRUAL"}, "body": {"S": "{}"}}
    for over_errors in (False, True):
        condition = replays._free(over_errors)
        raw = replays._FREE_RAW[over_errors]
        key = ("ORDER#p#o", "ACCRUAL")
        theirs_check, theirs_put = Transaction(), Transaction()
        theirs_check.check(ReplayItem, *key, condition)
        theirs_put.put_raw(ReplayItem, dict(item), condition=condition)
        checked, put = only(theirs_check), only(theirs_put)
        for _ in range(2):
            ours_check, ours_put = Transaction(), Transaction()
            ours_check.check(ReplayItem, *key, raw)
            sent = only(ours_check)
            assert sent == checked and list(sent) == list(checked)
            sent["ExpressionAttributeNames"]["#0"] = "changed"  # a send's maps are its own
            ours_put.put_raw(ReplayItem, dict(item), condition=raw)
            sent = only(ours_put)
            assert sent == put and list(sent) == list(put)


def test_a_reply_made_at_once_is_the_one_its_constructor_makes() -> None:
    import dataclasses

    from chalicelib.machinery.idempotency import Reply

    for created, body, replayed in ((True, '{"a":1}', False), (False, "", True)):
        made = Reply.of(created, body, replayed)
        assert made == Reply(created, body, replayed) and hash(made) == hash(Reply(created, body, replayed))
        assert list(vars(made)) == [f.name for f in dataclasses.fields(Reply)]
    assert Reply.of(True, "x") == Reply(True, "x") and not hasattr(Reply, "__post_init__")
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.body = "x"  # type: ignore[misc]


def test_a_decision_sees_every_item_but_error_records() -> None:
    """``without_errors`` hides error records; with none, the batch as it was read."""
    from chalicelib.db import ReplayItem, replays

    ok = ReplayItem("ORDER#p#1", "ACCRUAL", fingerprint="f", status_code=201, body="{}", created_at="t")
    refused = ReplayItem("ORDER#p#2", "ACCRUAL", fingerprint="f", status_code=409, body="{}", created_at="t")
    plain: dict[Any, Any] = {("CUST#c", "PROFILE"): {"pk": {"S": "CUST#c"}}, ("ORDER#p#1", "ACCRUAL"): ok}
    assert replays.without_errors(plain) == plain
    both = {**plain, ("ORDER#p#2", "ACCRUAL"): refused}
    assert replays.without_errors(both) == plain and list(replays.without_errors(both)) == list(plain)
    assert replays.without_errors({}) == {}


def test_a_replay_record_written_straight_is_the_general_writers_item() -> None:
    """``replays.put`` writes a record as ``wire_item(ReplayItem, ...)`` writes it, key and attribute order included,
    whatever its values (odd ones through the general writer)."""
    from types import MappingProxyType

    from chalicelib.db import ReplayItem, replays
    from chalicelib.db.new_items import wire_item
    from chalicelib.db.tx import Transaction

    draw = random.Random(7)
    states: list[Any] = [
        {},
        {"customer_id": "cus_1", "amount_minor": 1500, "refunded": {"a": [1, "x", None, True]}, "n": -3},
        {"null": 1, "x": 2},  # named like a map attribute's argument: pynamodb orders it last
        {"f": 1.5},  # not written by the straight path
        MappingProxyType({"k": "v"}),
    ]
    for n in range(300):
        record = replays.NewRecord(
            fingerprint=draw.choice(["f" * 64, ""]),
            status_code=draw.choice([201, 200, 409, 422, True]),
            body=draw.choice(['{"a":1}', "", "é\u2028"]),
            created_at="2026-03-05T09:00:00.123000+00:00",
            origin=draw.choice(["o" * 32, None]),  # type: ignore[arg-type]
            customer_id=draw.choice(["cus_1", None]),
            state=draw.choice(states),
            implicit=draw.choice([False, True]),
        )
        tx = Transaction()
        replays.put(tx, f"ORDER#p#{n}", "ACCRUAL", record, tag="natural", over_errors=draw.choice([False, True]))
        sent = tx.operations()[0][0]["Put"]["Item"]
        ttl = int(sent["ttl"]["N"]) if "ttl" in sent else None
        assert (ttl is not None) == record.implicit
        expected = wire_item(
            ReplayItem,
            f"ORDER#p#{n}",
            "ACCRUAL",
            fingerprint=record.fingerprint,
            status_code=record.status_code,
            body=record.body,
            created_at=record.created_at,
            customer_id=record.customer_id,
            state=dict(record.state),
            origin=record.origin,
            ttl=ttl,
        )
        assert sent == expected and list(sent) == list(expected)
        assert list(sent["state"]["M"]) == list(expected["state"]["M"])


def test_a_loaded_lazy_module_reads_its_names_as_the_module_does() -> None:
    """Once loaded, a lazy module's names are found in the module's own namespace (no ``__getattr__`` per read);
    writes and deletes still go to the module."""
    import importlib

    from chalicelib.lazy import _LazyModule, lazy_module

    proxy = lazy_module("chalicelib.domain.plurals")
    assert "not loaded" in repr(proxy)
    module = importlib.import_module("chalicelib.domain.plurals")
    names = [n for n in vars(module) if not n.startswith("__")]
    assert all(getattr(proxy, n) is getattr(module, n) for n in names)
    assert vars(proxy) is vars(module) and "(loaded)" in repr(proxy)
    assert proxy._name == "chalicelib.domain.plurals" and _LazyModule._load(proxy) is module
    proxy.extra_name_for_test = 1
    assert module.extra_name_for_test == 1
    del proxy.extra_name_for_test
    assert not hasattr(module, "extra_name_for_test") and not hasattr(proxy, "extra_name_for_test")


def test_the_cache_seconds_are_read_from_the_environment_once_per_cold_start(monkeypatch: Any) -> None:
    """``cache.ttl_seconds`` is ``int(os.environ.get("LOYALTY_CACHE_SECONDS", "30"))`` as the environment was at the
    first read after ``cache.clear()`` (a cold start, a test's, or a change made through this instance): an instance's
    environment never changes while it lives, so a request does not read it again. A setting that is no number is
    refused at every read, never remembered."""
    import os
    from unittest import mock

    from chalicelib import cache

    monkeypatch.delenv("LOYALTY_CACHE_SECONDS", raising=False)
    cache.clear()
    assert cache.ttl_seconds() == 30
    seen = 30
    for text in ["0", "3600", " 7 ", "3600", "-1", "30"]:
        monkeypatch.setenv("LOYALTY_CACHE_SECONDS", text)
        assert cache.ttl_seconds() == seen  # not before the next cold start
        cache.clear()
        seen = int(text)
        assert cache.ttl_seconds() == seen and cache.ttl_seconds() == seen
    with mock.patch.dict(os.environ, {"LOYALTY_CACHE_SECONDS": "12"}):
        cache.clear()
        assert cache.ttl_seconds() == 12
    cache.clear()
    assert cache.ttl_seconds() == 30
    monkeypatch.setenv("LOYALTY_CACHE_SECONDS", "soon")
    cache.clear()
    for _ in range(2):
        with pytest.raises(ValueError):
            cache.ttl_seconds()
    monkeypatch.setattr(os, "environ", {"LOYALTY_CACHE_SECONDS": "9"})
    assert cache.ttl_seconds() == 9
    monkeypatch.undo()
    cache.clear()  # the next test reads the environment it has


def test_a_routes_view_once_made_is_the_one_chalice_calls() -> None:
    """The loader in front of a route's view puts the view in Chalice's route table when it makes it: every later
    request calls the view itself, by the route's name and with the path's parameters."""
    import importlib

    from chalice.app import Chalice

    from chalicelib import route_index

    app = Chalice("views")
    route_index.register(app)
    for name, method, path, module in route_index.INDEX[:12]:
        entry = app.routes[path][method]
        loader = entry.view_function
        view = route_index._view_maker(app, name, path, method)(importlib.import_module(module))
        assert entry.view_function is view is not loader and view.__name__ == name
        assert entry.view_args == [p.strip("{}") for p in path.split("/") if p.startswith("{")]
