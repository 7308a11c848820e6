"""Cold start of the zip as shipped (build/deployment.zip from ``make package``) in fresh processes of the runtime's
Python, against the stack's floor measured in the same run: infra/coldstart.py does the measuring; this runs it.

    python -m bench.cold_start [--repeat 7]     # prints JSON
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from typing import Any

from bench.world import progress, run_main
from infra import coldstart

TARGET_RATIO = 1.25


def measure_all(repeat: int = 7) -> dict[str, Any]:
    missing = [str(p) for p in (coldstart.ZIP, coldstart.LAMBDA_PYTHON) if not p.exists()]
    if missing:
        return {"measured": False, "why": f"missing {', '.join(missing)}: run make package", "target_ratio": 1.25}
    progress(f"cold start: {repeat} fresh processes each of the shipped zip, the zip without bytecode, the floor")
    argv = [sys.executable, "-m", "infra.coldstart", "--repeat", str(repeat)]
    answer = subprocess.run(argv, cwd=coldstart.ROOT, capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(answer.stdout)
    result.pop("aws_calls", None)
    return {"measured": True, **result, "target_ratio": TARGET_RATIO}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    run_main(lambda: measure_all(args.repeat))


if __name__ == "__main__":
    main()
