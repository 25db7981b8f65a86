"""Runs pytest-flowai's benchmarks; each prints `name: value (target)` lines, ratios against a baseline
measured in the same run, all traffic on loopback.

    python benchmarks/run.py [overhead|http|concurrency|xdist|fail_fast|import|collection|table|all]...
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

import http_pool
import overhead
import startup
import suites

BENCHMARKS: dict[str, Callable[[], None]] = {
    "overhead": overhead.main,
    "http": http_pool.main,
    "fail_fast": lambda: suites.main("fail_fast"),
    "import": lambda: startup.main("import"),
    "collection": lambda: startup.main("collection"),
    "concurrency": lambda: suites.main("concurrency"),
    "xdist": lambda: suites.main("xdist"),
    "table": lambda: suites.main("table"),
}


def main(names: list[str]) -> None:
    chosen = list(BENCHMARKS) if not names or names == ["all"] else names
    unknown = [name for name in chosen if name not in BENCHMARKS]
    if unknown:
        sys.exit(f"unknown benchmark {unknown[0]!r}; choose from {', '.join(BENCHMARKS)} or all")
    for name in chosen:
        started = time.perf_counter()
        BENCHMARKS[name]()
        print(f"  # {name} took {time.perf_counter() - started:.0f}s", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
