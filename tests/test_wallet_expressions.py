"""The customer item's update, written directly (``db.wallets`` with ``codec.RawUpdate``), is the very request
pynamodb's expression objects make of the same change: same UpdateExpression, ConditionExpression, placeholders and
typed values, for every kind of wallet change and both spellings of the item. Every guard (lots >= n per lot, the
partners list's length, hold present / absent, capped counts, exact-value removals) is held here by equality."""

from __future__ import annotations

from string import Formatter
from typing import Any

import pytest

from chalicelib.db import keys, wallets
from chalicelib.db.codec import keyed
from chalicelib.db.models import CustomerItem
from chalicelib.db.tx import Transaction
from chalicelib.db.wallet_keys import Layout, decode
from chalicelib.domain.wallet import Change, Hold
from tests import pynamodb_wallet_update as reference

A, B, C = "ptn_alpha", "ptn_beta", "ptn_gamma"
OLD = {f"2027-0{m}|{p}": 10 * m for m in range(1, 4) for p in (A, B)}  # the domain spelling of items written before
COMPACT = {"27011": 7, "27020": 0, "27030": 30}  # partners (A, B): "<YYMM><position>"


def _updated(target: object, actions: list[Any], condition: Any) -> dict[str, Any]:
    """The update pynamodb's actions and condition make, as the transaction sends it."""
    tx = Transaction()
    tx.update(target, actions, condition=condition, tag="wallet")  # type: ignore[arg-type]
    return dict(tx.operations()[0][0]["Update"])


def _updated_raw(target: object, raw: Any) -> dict[str, Any]:
    """The update written directly, as the transaction sends it."""
    tx = Transaction()
    tx.update_raw(target, raw, tag="wallet")  # type: ignore[arg-type]
    return dict(tx.operations()[0][0]["Update"])


def _counter_updates(tx: Transaction) -> list[dict[str, Any]]:
    return [op["Update"] for op in tx._counter_ops()[0]]


def _counter_update(key: dict[str, Any], actions: list[Any]) -> dict[str, Any]:
    """pynamodb's ``ADD`` actions on the counter item at ``key``, as the transaction sends them."""
    from chalicelib.db.models import CounterItem

    return _updated(keyed(CounterItem, key["pk"]["S"], key["sk"]["S"]), actions, None)


def _layout(stored: dict[str, int], partners: tuple[str, ...]) -> Layout:
    return decode(stored, partners)[1]


HOLD = Hold(
    points=40,
    expires_at="2026-02-01T00:00:00+00:00",
    lots={f"2027-01|{A}": 25, f"2027-03|{B}": 15},
    partner_id=A,
    order_id="H-1",
)
LEGACY_HOLD = Hold(
    points=5, expires_at="2026-02-01T00:00:00+00:00", lots={f"2027-01|{A}": 5}, partner_id=B, order_id="other"
)

CASES: dict[str, tuple[Change, Layout | None]] = {
    "accrual to a new item": (
        Change(
            available=120,
            lots={f"2027-06|{A}": 120},
            spend={"2026-01": 1200},
            last_purchase={A: "2026-01-05T10:00:00+00:00"},
        ),
        None,
    ),
    "spend across lots, compact": (
        Change(available=-37, lots={f"2027-01|{A}": -7, f"2027-03|{A}": -30}, drop_lots={f"2027-01|{A}": 7}),
        _layout(COMPACT, (A, B)),
    ),
    "spend from the old spelling (moves)": (
        Change(available=-3, lots={f"2027-02|{A}": -3, f"2027-03|{B}": 4}, spend={"2026-01": -50}),
        _layout(OLD, ()),
    ),
    "a lot found at zero leaves": (Change(drop_lots={f"2027-02|{A}": 0}), _layout(COMPACT, (A, B))),
    "a dropped lot never read": (Change(drop_lots={f"2027-09|{C}": 0}), _layout(COMPACT, (A, B))),
    "a first partner joins an item with a list": (
        Change(available=5, pending=-2, held=3, lots={f"2027-04|{C}": 5}),
        _layout(COMPACT, (A, B)),
    ),
    "pending buckets": (
        Change(
            pending=-10,
            pending_lots={"2026-01-09|x": -4, "2026-01-10|y": 6, "2026-01-11|z": 3},
            remove_pending={"2026-01-11|z": 6},
        ),
        None,
    ),
    "holds placed, captured, made smaller": (
        Change(
            held=40,
            available=-40,
            add_holds={f"{A}|H-1": HOLD},
            remove_holds={f"{B}|H-2", f"{B}|H-3"},
            replace_holds={f"{B}|H-3": HOLD, "legacy": LEGACY_HOLD},
        ),
        _layout(COMPACT, (A, B)),
    ),
    "capped counters and old counters leave": (
        Change(
            available=50,
            bonus_days={"2026-01-05": 50, "2026-01-06": 10},
            bonus_limits={"2026-01-05": 100},
            drop_bonus_days={"2026-01-01", "2026-01-06"},
            campaign_awards={"cmp_1": 1, "cmp_2": 2},
            campaign_limits={"cmp_2": 3},
            drop_spend={"2024-12"},
            spend={"2024-12": 5, "2026-01": 9},
        ),
        None,
    ),
    "a purchase keyed by partner id moves to its position": (
        Change(last_purchase={A: "2026-01-05T10:00:00+00:00", C: "2026-01-05T10:00:00+00:00"}),
        Layout((A, B), {}, frozenset({A})),
    ),
    "a spend over more old lots than one write moves": (
        Change(available=-36, lots={f"2027-{m:02d}|ptn_{i}": -1 for m in range(1, 13) for i in range(3)}),
        _layout({f"2027-{m:02d}|ptn_{i}": 5 for m in range(1, 13) for i in range(3)}, ()),
    ),
    "nothing but the guard": (Change(), None),
}


@pytest.mark.parametrize("name", list(CASES))
def test_the_written_update_is_what_pynamodb_builds(name: str) -> None:
    change, layout = CASES[name]
    target = keyed(CustomerItem, *keys.customer("c_1"))
    actions, condition = reference.update_for(change, layout)
    raw = wallets.update_for(change, layout)
    assert len(raw) == len(actions)
    if not actions:
        return
    expected = _updated(target, actions, condition)
    assert _updated_raw(target, raw) == expected


def _sent(change: Change, raw: bool) -> dict[str, object]:
    target = keyed(CustomerItem, *keys.customer("c_1"))
    if raw:
        return _updated_raw(target, wallets.update_for(change, None))
    actions, condition = reference.update_for(change, None)
    return _updated(target, actions, condition)


def test_a_map_key_pynamodb_parses_as_a_list_index_is_spelled_as_pynamodb_spells_it() -> None:
    assert _sent(Change(spend={"odd[0]": 1}), raw=True) == _sent(Change(spend={"odd[0]": 1}), raw=False)
    for raw in (True, False):  # an empty key: refused before anything is sent, both ways
        with pytest.raises(ValueError):
            _sent(Change(spend={"": 2}), raw=raw)


def test_a_counter_update_is_what_pynamodb_builds() -> None:
    """The settlement counters' ``ADD`` (``Transaction.add_to_counter``), written directly, as pynamodb's
    ``Path(name).add(amount)`` actions make it; amounts that sum to nothing are left out, as before."""
    from pynamodb.expressions.operand import Path

    tx = Transaction()
    tx.add_to_counter("CTR#p", "C#1", {"accrued": 7, "redeemed": 0, "count": 1, "minor": -250})
    tx.add_to_counter("CTR#p", "C#1", {"accrued": 3, "count": 1})
    tx.add_to_counter("CTR#q", "C#2", {"accrued": 5, "refunded": -5})
    tx.add_to_counter("CTR#q", "C#2", {"refunded": 5})
    ops = _counter_updates(tx)
    assert [op["Key"] for op in ops] == [
        {"pk": {"S": "CTR#p"}, "sk": {"S": "C#1"}},
        {"pk": {"S": "CTR#q"}, "sk": {"S": "C#2"}},
    ]
    assert tx.operations()[1] == ["counter:CTR#p", "counter:CTR#q"]
    theirs = [
        [Path("accrued").add(10), Path("count").add(2), Path("minor").add(-250)],
        [Path("accrued").add(5)],
    ]
    for op, actions in zip(ops, theirs, strict=True):
        assert op == _counter_update(op["Key"], actions)


def test_a_counter_named_like_a_path_is_spelled_as_pynamodb_spells_it() -> None:
    """Counter names are written out directly; one with a path's punctuation (a dot: a nested name) takes the general
    path, and a counter item whose additions sum to nothing sends nothing."""
    from pynamodb.expressions.operand import Path

    tx = Transaction()
    tx.add_to_counter("CTR#p", "C#1", {"flow_ptn_a": 4, "nested.count": 2, "accrued": 1})
    tx.add_to_counter("CTR#q", "C#2", {"accrued": 5})
    tx.add_to_counter("CTR#q", "C#2", {"accrued": -5})
    (op,) = _counter_updates(tx)
    theirs = [Path("accrued").add(1), Path(["flow_ptn_a"]).add(4), Path("nested.count").add(2)]
    assert op == _counter_update(op["Key"], theirs)


def test_placeholders_are_spelled_as_pynamodb_spells_them_past_the_ones_spelled_once() -> None:
    from pynamodb.expressions.util import get_value_placeholder, substitute_names

    from chalicelib.db.expressions import name_placeholder, value_placeholder

    names: dict[str, str] = {}
    values: dict[str, str] = {}
    for n in range(100):
        assert substitute_names([f"a{n}"], names) == name_placeholder(n)
        assert get_value_placeholder("v", values) == value_placeholder(n)


def test_a_guard_sent_again_and_again_renders_the_same_maps_of_its_own_each_time() -> None:
    """A ``RawUpdate`` sent again and again: every send gets equal parameters in maps of its own, and a term added
    later is in the next rendering."""
    from chalicelib.db.expressions import RawUpdate, typed

    guard = RawUpdate.guarded("(attribute_not_exists ({0}) OR {1} >= {2})", ("pk",), ("status_code",), typed(400))
    first = guard.parameters()
    expected = {
        "ConditionExpression": "(attribute_not_exists (#0) OR #1 >= :0)",
        "ExpressionAttributeNames": {"#0": "pk", "#1": "status_code"},
        "ExpressionAttributeValues": {":0": {"N": "400"}},
    }
    assert first == expected
    sends = [guard.parameters() for _ in range(4)]
    assert all(sent == expected for sent in sends)
    for sent in sends:  # a send that changed its maps changes no other send
        sent["ExpressionAttributeNames"]["#9"] = "x"
        sent["ExpressionAttributeValues"][":9"] = {"S": "x"}
    first["ExpressionAttributeNames"].clear()
    assert guard.parameters() == expected
    guard.guard("{0} = {1}", ("version",), typed(3))
    guard.set("{0} = {1}", ("version",), typed(4))
    again = {
        "ConditionExpression": "((attribute_not_exists (#0) OR #1 >= :0) AND #2 = :1)",
        "UpdateExpression": "SET #2 = :2",
        "ExpressionAttributeNames": {"#0": "pk", "#1": "status_code", "#2": "version"},
        "ExpressionAttributeValues": {":0": {"N": "400"}, ":1": {"N": "3"}, ":2": {"N": "4"}},
    }
    assert guard.parameters() == again
    assert guard.parameters() == again


def test_a_template_written_by_its_own_function_is_what_str_format_writes() -> None:
    """Each expression template is written by an f-string function made once (``expressions._template_writer``):
    the same text ``str.format`` makes, for every template the modules use and for odd ones (braces, quotes,
    backslashes, repeated and unordered fields); a template not of plain ``{n}`` fields is ``str.format`` itself."""
    from chalicelib.db import wallets
    from chalicelib.db.expressions import _template_writer

    templates = [v for k, v in vars(wallets).items() if k[:1] == "_" and k[:2] != "__" and isinstance(v, str)]
    assert "{0} = if_not_exists ({0}, {1}) + {2}" in templates
    templates += [
        "{0} {1}",
        "{0}",
        "attribute_exists ({0})",
        "(attribute_not_exists ({0}) OR {1} >= {2})",
        "{{literal}} {0} '{1}' \"{0}\" \\ {2}{1}",
        "{2} before {0} and {1}",
        "no fields at all",
        "",
        "{0!r} {1:>5}",
        "{name}",
    ]
    operands = ("#0", ":1", "#12.#3", "'q'", "\\x")
    for template in templates:
        if "{name}" in template:  # a named field: str.format's KeyError, as before
            with pytest.raises(KeyError):
                _template_writer(template)(*operands)
            continue
        fields = [int(f) for _, f, _, _ in Formatter().parse(template) if f is not None]
        used = max(fields, default=-1) + 1
        assert _template_writer(template)(*operands[:used]) == template.format(*operands[:used]), template
    with pytest.raises(ValueError):  # a template str.format refuses is refused alike
        _template_writer("{0")("#0")


def _reference_parameters(update: object) -> dict[str, object]:
    """What ``RawUpdate.parameters`` must make, each path through pynamodb's ``substitute_names`` and each template
    through ``str.format``: the way it was written before its fast paths."""
    from pynamodb.expressions.util import substitute_names

    names: dict[str, str] = {}
    values: dict[str, object] = {}

    def rendered(terms: list[tuple[str, tuple[object, ...]]]) -> list[str]:
        out = []
        for template, operands in terms:
            texts = []
            for operand in operands:
                if isinstance(operand, tuple):
                    texts.append(substitute_names(list(operand), names))
                else:
                    placeholder = f":{len(values)}"
                    values[placeholder] = operand
                    texts.append(placeholder)
            out.append(template.format(*texts))
        return out

    kwargs: dict[str, object] = {}
    conditions = rendered(update.conditions)  # type: ignore[attr-defined]
    if conditions:
        kwargs["ConditionExpression"] = (
            "(" * (len(conditions) - 1) + conditions[0] + "".join(f" AND {c})" for c in conditions[1:])
        )
    clauses = [
        f"{keyword} {', '.join(rendered(terms))}"
        for keyword, terms in (("SET", update.sets), ("REMOVE", update.removes), ("ADD", update.adds))  # type: ignore[attr-defined]
        if terms
    ]
    if clauses:
        kwargs["UpdateExpression"] = " ".join(clauses)
    if names:
        kwargs["ExpressionAttributeNames"] = {v: k for k, v in names.items()}
    if values:
        kwargs["ExpressionAttributeValues"] = values
    return kwargs


def test_paths_of_every_shape_are_spelled_as_pynamodb_spells_them() -> None:
    """Random updates over paths of one to three segments (names repeated, list indexes, invalid segments) against
    ``substitute_names`` and ``str.format``: the same texts and placeholders, or the same refusal."""
    import random

    from chalicelib.db.expressions import RawUpdate, typed

    pool = ["a", "b", "lots", "27120", "a[0]", "x[1][2]", "", "c]", "[3]", "pk", "2026-12", "b.c"]
    templates = ["{0} = {1}", "{0} = {0} + {1}", "{0} = if_not_exists ({0}, {1}) + {2}", "{0} >= {1}"]
    rng = random.Random(7)
    refused = 0
    for _ in range(2000):
        update = RawUpdate(("pk",) if rng.random() < 0.5 else None)
        for _ in range(rng.randint(0, 6)):
            path = tuple(rng.choice(pool) for _ in range(rng.randint(1, 3)))
            template = rng.choice(templates)
            operands = [typed(rng.randint(-5, 5)) for _ in range(template.count("{") - 1 - template.count("{0}") + 1)]
            kind = rng.randrange(4)
            if kind == 0:
                update.guard(template, path, *operands)
            elif kind == 1:
                update.set(template, path, *operands)
            elif kind == 2:
                update.remove(path)
            else:
                update.add(path, typed(rng.randint(1, 9)))
        try:
            expected = _reference_parameters(update)
        except ValueError:
            refused += 1
            with pytest.raises(ValueError):
                update.parameters()
            continue
        assert update.parameters() == expected
        assert update.parameters() == expected  # rendered again (kept from the second rendering on)
    assert 0 < refused < 2000


@pytest.mark.parametrize("name", list(CASES))
def test_an_update_of_a_shape_seen_before_is_what_pynamodb_builds(name: str) -> None:
    """The customer item's update keeps its texts and names per shape (``expressions.ShapedUpdate``): rendered the
    first time, then taken from what was kept with this update's own values numbered. Every kind of wallet change,
    its shape met first and again, with other amounts (the same shape, other values), against pynamodb each time."""
    import dataclasses

    from chalicelib.db import expressions

    change, layout = CASES[name]
    target = keyed(CustomerItem, *keys.customer("c_1"))
    others = dataclasses.replace(
        change,
        available=change.available * 3,
        pending=change.pending * 3,
        held=change.held * 3,
        lots={k: v * 3 for k, v in change.lots.items()},
        spend={k: v + 7 for k, v in change.spend.items()},
        last_purchase={k: "2026-02-02T00:00:00+00:00" for k in change.last_purchase},
    )
    expressions._SHAPES.clear()
    for each in (change, change, others, others):
        actions, condition = reference.update_for(each, layout)
        if not actions:
            continue
        expected = _updated(target, actions, condition)
        sent = _updated_raw(target, wallets.update_for(each, layout))
        assert sent == expected
        sent["ExpressionAttributeNames"].clear()  # what one request's maps go through changes no later request
    assert expressions._SHAPES or not reference.update_for(change, layout)[0]


def test_a_counter_update_of_names_added_before_is_what_pynamodb_builds() -> None:
    """The counters' ``ADD`` of names met before is taken from what was kept for those names
    (``counter_adds._ADDS``) with this transaction's amounts; a zero or an odd amount among them is written the
    long way. Each against pynamodb's ``Path(name).add(amount)``, names in several orders."""
    import random

    from pynamodb.expressions.operand import Path

    from chalicelib.db import counter_adds

    rng = random.Random(3)
    names = ["issued_points", "balance_change", "net_value_minor", "fee_points_valued", "flow_ptn_b", "a.b", "exp_x"]
    counter_adds._ADDS.clear()
    for _ in range(300):
        chosen = rng.sample(names[:5] if rng.random() < 0.8 else names, rng.randint(1, 5))
        amounts = {name: rng.choice([rng.randint(-500, 500), 1, 0]) for name in chosen}
        tx = Transaction()
        tx.add_to_counter("CTR#p", "C#1", amounts)
        ops = _counter_updates(tx)
        theirs = [Path(n).add(a) for n, a in sorted(amounts.items()) if a]
        if not theirs:
            assert not ops
            continue
        (op,) = ops
        assert op == _counter_update(op["Key"], theirs)
    assert counter_adds._ADDS  # some were kept, and met again
