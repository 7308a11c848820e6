"""Mutants of exactly-once writes under faults: lost answers, request tokens, conflicts, limits, secrets."""

from __future__ import annotations

from bench.mutant_sets import Mutant

MUTANTS: tuple[Mutant, ...] = ()
