"""Mutants of the cold start's guards: the lazy route index and the cut service models must never turn a request
into a 500 or an AWS call into a failure on some instance's first request."""

from __future__ import annotations

from bench.mutant_sets import Mutant

MUTANTS: tuple[Mutant, ...] = (
    Mutant(
        "an item class loaded after the binding builds a client of its own",
        "    sharing: tuple[type[_Item], ...] = (_Item, *_Item.__subclasses__())",
        "    sharing: tuple[type[_Item], ...] = tuple(_Item.__subclasses__())",
        ("tests/test_item_codec.py::test_an_item_class_loaded_after_the_binding_shares_the_instances_client",),
    ),
    Mutant(
        "a lazily registered route resolved to the wrong route of its module",
        "        if route.name == name:",
        "        if route.method == routes[0].method:",
        ("tests/test_route_table.py::test_app_registers_every_route_from_an_index_that_is_the_route_table",),
    ),
    Mutant(
        "the route index drifted from the route table",
        '    ("customer_balance", "GET", "/v1/customers/{customer_id}/balance", "chalicelib.api.balances"),',
        '    ("customer_balance", "GET", "/v1/customers/{customer_id}/balance", "chalicelib.api.ledger"),',
        ("tests/test_route_table.py::test_app_registers_every_route_from_an_index_that_is_the_route_table",),
    ),
    Mutant(
        "the cut SSM model not read first (a full model, or one missing an operation, would go unnoticed)",
        '            made.get_component("data_loader").search_paths.insert(0, str(MODELS))',
        '            made.get_component("data_loader").search_paths.append(str(MODELS))',
        ("tests/test_infra.py::test_the_shipped_ssm_model_is_botocores_cut_to_every_operation_the_function_calls",),
    ),
    Mutant(
        "a lazy module's name that is not its typed import",
        '    refunds = lazy_module("chalicelib.services.refunds")',
        '    refunds = lazy_module("chalicelib.services.refund")',
        ("tests/test_layout.py::test_every_lazy_module_is_the_module_its_typed_import_names",),
    ),
)
