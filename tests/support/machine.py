"""What a bench ran on, for its JSON line. Shared machines change speed from hour to hour (the
same import took 28.7 s in one session and 17.0 s in a later one), so a bench also times a
fixed piece of pure Python: two runs' figures compare in the light of their ``speed_ms``."""

from __future__ import annotations

import os
import platform
import sqlite3
import time
from pathlib import Path


def description() -> str:
    """e.g. ``AMD EPYC, x86_64 × 2, Python 3.11.7, SQLite 3.40.1``."""
    return (
        f"{_processor()}, {platform.machine()} × {os.cpu_count()}, "
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}"
    )


def speed_ms(rounds: int = 5) -> float:
    """The best of ``rounds`` timings of the same string and dict work (about 77 ms on the
    machine of bench/README.md); lower is faster."""
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        _fixed_work()
        best = min(best, time.perf_counter() - started)
    return round(best * 1000, 1)


def _fixed_work() -> int:
    totals: dict[str, int] = {}
    for number in range(300_000):
        name = f"客户{number % 7919}号公司"
        totals[name] = totals.get(name, 0) + len(name.encode())
    return len(sorted(totals.items(), key=lambda item: item[1]))


def _processor() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown processor"
