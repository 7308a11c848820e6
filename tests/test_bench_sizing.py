"""The benchmark's sizing arithmetic is DynamoDB's (CapacityUnitCalculations): item sizes and the units they cost."""

from __future__ import annotations

from typing import Any

from bench import sizing

ENTRY_INDEXES = [sizing.Index("gsi1", ("gsi1pk", "gsi1sk")), sizing.Index("gsi2", ("gsi2pk", "gsi2sk"))]


def test_an_item_is_the_sum_of_its_names_and_values_as_dynamodb_documents() -> None:
    item: dict[str, dict[str, Any]] = {
        "pk": {"S": "CUST#1"},  # 2 + 6
        "name": {"S": "Анна"},  # 4 + 8 (UTF-8 bytes, not characters)
        "available": {"N": "12345"},  # 9 + 3 (5 significant digits: 3 bytes) + 1
        "vip": {"BOOL": True},  # 3 + 1
        "gone": {"NULL": True},  # 4 + 1
        "blob": {"B": b"\x00\x01\x02"},  # 4 + 3 raw bytes
    }
    assert sizing.item_size(item) == 8 + 12 + 13 + 4 + 5 + 7


def test_numbers_count_significant_digits_only() -> None:
    assert sizing.number_size("1000000") == sizing.number_size("1") == 2  # trailing zeros trimmed
    assert sizing.number_size("0.0500") == 2
    assert sizing.number_size("-123456") == 4
    assert sizing.number_size("0") == 2


def test_maps_and_lists_cost_three_bytes_plus_one_per_element() -> None:
    assert sizing.item_size({"lots": {"M": {}}}) == 4 + 3
    # "lots" + 3 + (1 + "a" + N 5 -> 2) + (1 + "bb" + S "x" -> 1)
    assert sizing.item_size({"lots": {"M": {"a": {"N": "5"}, "bb": {"S": "x"}}}}) == 4 + 3 + (1 + 1 + 2) + (1 + 2 + 1)
    assert sizing.item_size({"l": {"L": [{"S": "ab"}, {"N": "7"}]}}) == 1 + 3 + (1 + 2) + (1 + 2)


def test_write_units_round_up_per_started_kilobyte_and_transactions_double_them() -> None:
    assert sizing.write_units(0) == 1
    assert sizing.write_units(1024) == 1
    assert sizing.write_units(1025) == 2
    assert sizing.write_units(1025, transactional=True) == 4


def test_read_units_round_up_per_4_kb_and_eventual_consistency_halves_them() -> None:
    assert sizing.read_units(0) == 1
    assert sizing.read_units(4097) == 2
    assert sizing.read_units(4097, consistent=False) == 1
    assert sizing.read_units(100, transactional=True) == 2


def entry(gsi1pk: str = "CP#p#c", note: str = "x") -> dict[str, dict[str, str]]:
    return {
        "pk": {"S": "CUST#c"},
        "sk": {"S": "E#1"},
        "gsi1pk": {"S": gsi1pk},
        "gsi1sk": {"S": "E#1"},
        "gsi2pk": {"S": "PP#p"},
        "gsi2sk": {"S": "E#1"},
        "note": {"S": note},
    }


def test_a_new_entry_costs_a_write_in_each_index_it_projects_into() -> None:
    call = sizing.Call(
        "TransactWriteItems",
        {"TransactItems": [{"Put": {"TableName": "t", "Item": entry()}}]},
        {},
        before={("CUST#c", "E#1"): None},
        after={("CUST#c", "E#1"): entry()},
    )
    cost = sizing.cost([call], ENTRY_INDEXES)
    assert (cost.write_units, cost.index_write_units) == (2, 2)


def test_an_index_key_change_is_a_delete_and_a_put_and_an_unchanged_item_costs_the_index_nothing() -> None:
    index = ENTRY_INDEXES[0]
    assert sizing.index_write_units(entry(), entry(gsi1pk="CP#p#other"), index, ("pk", "sk")) == 2
    assert sizing.index_write_units(entry(), entry(note="y"), index, ("pk", "sk")) == 1
    assert sizing.index_write_units(entry(), entry(), index, ("pk", "sk")) == 0
    profile = {"pk": {"S": "CUST#c"}, "sk": {"S": "PROFILE"}}
    assert sizing.index_write_units(None, profile, index, ("pk", "sk")) == 0


def test_a_write_costs_the_larger_of_the_item_before_and_after() -> None:
    big = {"pk": {"S": "CUST#c"}, "sk": {"S": "PROFILE"}, "lots": {"S": "x" * 3000}}
    small = {"pk": {"S": "CUST#c"}, "sk": {"S": "PROFILE"}}
    call = sizing.Call(
        "UpdateItem",
        {"Key": {"pk": {"S": "CUST#c"}, "sk": {"S": "PROFILE"}}},
        {},
        before={("CUST#c", "PROFILE"): big},
        after={("CUST#c", "PROFILE"): small},
    )
    assert sizing.cost([call], ENTRY_INDEXES).write_units == 3


def test_a_batch_read_costs_each_key_even_one_that_finds_nothing() -> None:
    found = {"pk": {"S": "a"}, "sk": {"S": "b"}, "blob": {"S": "x" * 5000}}
    call = sizing.Call(
        "BatchGetItem",
        {
            "RequestItems": {
                "t": {
                    "Keys": [{"pk": {"S": "a"}, "sk": {"S": "b"}}, {"pk": {"S": "a"}, "sk": {"S": "c"}}],
                    "ConsistentRead": True,
                }
            }
        },
        {"Responses": {"t": [found]}},
    )
    assert sizing.cost([call], []).read_units == 2 + 1
