"""Mutants of customer sessions and links: link-session powers, sign-in buckets, deletion, CSRF."""

from __future__ import annotations

from bench.mutant_sets import Mutant

MUTANTS: tuple[Mutant, ...] = ()
