"""Start-up time of the command line and of ``import staggered`` (fresh interpreters).

Usage:
    python benchmarks/startup.py [--repeats 5] [--out benchmarks/out/startup.json]

Each command runs ``--repeats`` times in a new process; the table gives the median and the
fastest wall time. The target (issue 12): ``staggered --help`` and ``staggered specs`` under a
second (they took 6-9 s when importing the package imported PyMC).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

COMMANDS = {
    "import staggered": [sys.executable, "-c", "import staggered"],
    "staggered --help": [sys.executable, "-m", "staggered.cli", "--help"],
    "staggered specs": [sys.executable, "-m", "staggered.cli", "specs"],
    "staggered fit --help": [sys.executable, "-m", "staggered.cli", "fit", "--help"],
}


def _time(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/out/startup.json"))
    args = ap.parse_args()
    rows = []
    for name, cmd in COMMANDS.items():
        times = [_time(cmd) for _ in range(args.repeats)]
        rows.append(
            {
                "command": name,
                "median_s": round(statistics.median(times), 2),
                "min_s": round(min(times), 2),
            }
        )
    print(f"{'command':<24} {'median (s)':>10} {'fastest (s)':>11}")
    for r in rows:
        print(f"{r['command']:<24} {r['median_s']:>10.2f} {r['min_s']:>11.2f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
