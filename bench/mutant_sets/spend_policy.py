"""Mutants of the partner's spend policy: the code-free ceiling, hold length, spends announced to the customer."""

from __future__ import annotations

from bench.mutant_sets import Mutant

MUTANTS: tuple[Mutant, ...] = ()
