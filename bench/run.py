"""``make bench``: every measurement in one run, each in a fresh process of its own, then bench/results.json,
docs/BENCHMARKS.md (targets and results side by side) and the cost section of docs/deploy.md.

    python -m bench.run                   # all (about five minutes here)
    python -m bench.run round_trips load  # some; the others keep their last results
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import report

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results.json"

# Module and arguments per measurement: counts chosen to keep the whole run under ten minutes on 2 shared cores.
MEASUREMENTS: dict[str, list[str]] = {
    "round_trips": [],
    "handler_cpu": ["--iterations", "300", "--rounds", "5"],
    "growth": ["--repeat", "20"],
    "years": [],
    "cold_start": ["--repeat", "7"],
    "load": ["--seconds", "4"],
}


def progress(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def measure(name: str) -> Any:
    argv = [sys.executable, "-m", f"bench.{name}", *MEASUREMENTS[name]]
    answer = subprocess.run(argv, cwd=ROOT, stdout=subprocess.PIPE, text=True, check=True)
    return json.loads(answer.stdout)


def main() -> None:
    chosen = sys.argv[1:] or list(MEASUREMENTS)
    unknown = [n for n in chosen if n not in MEASUREMENTS]
    if unknown:
        raise SystemExit(f"unknown measurement(s) {unknown}; choose from {list(MEASUREMENTS)}")
    results: dict[str, Any] = json.loads(RESULTS.read_text()) if RESULTS.exists() and sys.argv[1:] else {}
    started = time.monotonic()
    for n, name in enumerate(chosen, 1):
        progress(f"{n}/{len(chosen)} {name}")
        results[name] = measure(name)
    results["generated_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    results["duration_s"] = round(time.monotonic() - started)
    results["settings"] = "; ".join(f"{n} {' '.join(a) or '(defaults)'}" for n, a in MEASUREMENTS.items())
    zip_path = ROOT / "build" / "deployment.zip"
    results["package_mb"] = round(zip_path.stat().st_size / 1e6, 2) if zip_path.exists() else None
    RESULTS.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    (ROOT / "docs" / "BENCHMARKS.md").write_text(report.markdown(results))
    report.update_deploy_doc(results)
    progress(f"wrote bench/results.json, docs/BENCHMARKS.md and docs/deploy.md's cost in {results['duration_s']} s")


if __name__ == "__main__":
    main()
