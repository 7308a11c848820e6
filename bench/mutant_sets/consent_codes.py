"""Mutants of one-time codes: single use, partner binding, attempts, the amount a code confirms."""

from __future__ import annotations

from bench.mutant_sets import Mutant

MUTANTS: tuple[Mutant, ...] = ()
