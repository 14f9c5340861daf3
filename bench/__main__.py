"""``make bench``: run every figure and print one table.

    python -m bench [startup throughput peers history webhooks calls snapshot]
"""

from __future__ import annotations

import os
import platform
import sys
from datetime import datetime, timezone

from .figures import FIGURES as OWN
from .peers import peers

FIGURES = {"startup": OWN["startup"], "throughput": OWN["throughput"], "peers": peers,
           **{name: figure for name, figure in OWN.items() if name not in ("startup", "throughput")}}


def machine() -> str:
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next(line.split(":", 1)[1].strip() for line in fh if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    mem = ""
    try:
        with open("/proc/meminfo") as fh:
            kb = int(fh.readline().split()[1])
            mem = f", {kb / 1024 / 1024:.0f} GiB"
    except (OSError, ValueError):
        pass
    return f"{os.cpu_count()} cores ({cpu}){mem}, Python {platform.python_version()}, {platform.system()}"


def main() -> int:
    names = sys.argv[1:] or list(FIGURES)
    rows = []
    for name in names:
        print(f"running {name} …", file=sys.stderr, flush=True)
        try:
            rows.extend(FIGURES[name]())
        except Exception as err:   # a figure that cannot run is a failed row, not a crash
            rows.append((name, f"failed: {type(err).__name__}: {err}", "", "", "", False))
    print(f"\npbx-simulator benchmarks — {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC — {machine()}\n")
    header = ("figure", "measured", "baseline", "ratio", "target", "ok")
    table = [header] + [(r[0], r[1], r[2], r[3], r[4], "yes" if r[5] else "NO") for r in rows]
    widths = [max(len(str(row[i])) for row in table) for i in range(len(header))]
    for i, row in enumerate(table):
        print("| " + " | ".join(str(c).ljust(widths[j]) for j, c in enumerate(row)) + " |")
        if i == 0:
            print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return 0 if all(r[5] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
