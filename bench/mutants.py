"""A short mutation check of the money guards: apply each hand-made mutation, run the tests that should notice,
expect a failure, restore. ``make mutants`` prints the score and writes ``bench/mutants.json``.

Each mutant names a line of code by its text, not by its file, so the check survives moving modules around; the
text must occur exactly once in ``chalicelib/``. A mutant that no test kills is a guard nothing checks.

Not listed: removing only the guard on ``available`` (``available >= p``) is an equivalent mutant while every lot
is guarded (``lots.k >= n``; the lots sum to ``available``); removing both is killed by the fifty-spends race.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from bench.mutant_sets import every_mutant

ROOT = Path(__file__).resolve().parents[1]
PYTEST = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", "--no-header"]


MUTANTS = every_mutant()


def _locate(text: str) -> Path:
    hits = [p for p in (ROOT / "chalicelib").rglob("*.py") if text in p.read_text(encoding="utf-8")]
    if len(hits) != 1:
        raise SystemExit(f"mutant text must occur in exactly one file, found {len(hits)}: {text!r}")
    path = hits[0]
    if path.read_text(encoding="utf-8").count(text) != 1:
        raise SystemExit(f"mutant text occurs more than once in {path}: {text!r}")
    return path


def run(only: str = "") -> int:
    """Every mutant, or those whose name contains ``only``."""
    env = {**os.environ, "LEDGER_EXAMPLES": os.environ.get("LEDGER_EXAMPLES", "30")}
    results = []
    for mutant in (m for m in MUTANTS if only in m.name):
        path = _locate(mutant.original)
        source = path.read_text(encoding="utf-8")
        started = time.monotonic()
        try:
            path.write_text(source.replace(mutant.original, mutant.mutated), encoding="utf-8")
            done = subprocess.run(
                [*PYTEST, *mutant.tests], cwd=ROOT, env=env, capture_output=True, text=True, check=False, timeout=900
            )
        finally:
            path.write_text(source, encoding="utf-8")
        if done.returncode not in (0, 1):  # 2-5: interrupted, usage error, no tests collected: not a verdict
            raise SystemExit(f"pytest could not run {mutant.tests}:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
        killed = done.returncode == 1
        seconds = round(time.monotonic() - started, 1)
        results.append({"mutant": mutant.name, "file": str(path.relative_to(ROOT)), "killed": killed, "s": seconds})
        print(f"{'killed  ' if killed else 'SURVIVED'} {mutant.name} ({path.relative_to(ROOT)}, {seconds} s)")
    killed = sum(r["killed"] for r in results)
    print(f"mutation score: {killed} of {len(results)} killed")
    if not only:
        (ROOT / "bench" / "mutants.json").write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    return 0 if killed == len(results) else 1


if __name__ == "__main__":
    raise SystemExit(run(" ".join(sys.argv[1:])))
