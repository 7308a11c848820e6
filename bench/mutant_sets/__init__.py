"""The hand-made mutants of ``make mutants``, one module per area of guards. Each module holds ``MUTANTS``; a new
area is a new module listed in ``AREAS``."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Mutant:
    name: str
    original: str
    mutated: str
    tests: tuple[str, ...]


AREAS = (
    "money",
    "consent_codes",
    "spend_policy",
    "customer_sessions",
    "exactly_once",
    "bounded_item",
    "hot_path",
    "portal_fixes",
    "scale",
    "page_fixes",
    "receipts",
    "admin",
    "till",
    "customer_messages",
    "audit",
    "staff",
    "cold_start",
    "outbox",
    "crm",
    "sends",
    "signing",
    "messages",
    "rules",
)


def every_mutant() -> tuple[Mutant, ...]:
    from importlib import import_module

    return tuple(m for area in AREAS for m in import_module(f"bench.mutant_sets.{area}").MUTANTS)
