"""Loading speed and memory: orq_nb against the obvious pandas and marshmallow paths.

Run ``make bench`` (or ``python benchmarks/bench_load.py --n 1000000``). Every
ratio compares against a baseline measured in the same run on the same data:

(a) ``sessions_frame(records)`` vs ``pd.json_normalize(records)`` + ``pd.to_datetime``
    of the two time columns;
(b) ``read_sessions(file)`` vs ``json.load`` + the same normalisation, each in a
    fresh process so that peak memory can be compared;
(c) ``SessionSchema(many=True).load`` + ``DataFrame`` on 100,000 records, scaled
    to N, vs (a).

Targets at 1,000,000 records: (a) >= 2.5x, (b) >= 4x, (c) >= 20x, and (b)'s
peak memory at most half of its baseline's.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

TARGETS = {"a": 2.5, "b": 4.0, "c": 20.0}


def normalize(records: list) -> pd.DataFrame:
    """The baseline: pandas' own flattening, then the two time columns parsed."""
    frame = pd.json_normalize(records)
    for column in ("started_at", "updated_at"):
        frame[column] = pd.to_datetime(frame[column], utc=True, format="ISO8601")
    return frame


def timed(fn, *args):
    start = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - start, out


def _status_mb(key: str) -> float:
    """A memory figure of this process from /proc (VmRSS now, VmHWM at its peak).

    Not ``ru_maxrss``: Linux carries the parent's peak into a child across
    fork and exec, which would hide the child's own.
    """
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"{key} not in /proc/self/status")


def child(which: str, path: str) -> None:
    """Read ``path`` one way in this fresh process; print seconds and peak MB added."""
    import orq_nb

    before = _status_mb("VmRSS")
    if which == "ours":
        seconds, frame = timed(orq_nb.read_sessions, path)
    else:
        def baseline(p):
            with open(p) as f:
                return normalize(json.load(f))
        seconds, frame = timed(baseline, path)
    peak = _status_mb("VmHWM")
    print(json.dumps({"seconds": seconds, "peak_mb": peak - before, "rows": len(frame)}))


def run_child(which: str, path: Path) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", which, str(path)],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="records (default 1,000,000)")
    parser.add_argument("--naive-n", type=int, default=100_000, help="records for (c), scaled to N")
    parser.add_argument("--child", nargs=2, metavar=("WHICH", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return 0

    import orq_nb
    from orq_nb.testing.synthetic import generate_sessions

    n = args.n
    print(f"generating {n:,} session records (30% in Node SDK form) ...", flush=True)
    records = generate_sessions(n, seed=11)
    results = {}

    base_a, _ = timed(normalize, records)
    ours_a, frame = timed(orq_nb.sessions_frame, records)
    assert len(frame) == n
    results["a"] = (ours_a, base_a)
    print(f"(a) sessions_frame        {ours_a:7.2f} s   json_normalize+to_datetime {base_a:7.2f} s"
          f"   ratio {base_a / ours_a:5.2f}x (target >= {TARGETS['a']}x)", flush=True)

    naive_n = min(args.naive_n, n)
    naive, _ = timed(lambda r: pd.DataFrame(orq_nb.SessionSchema(many=True).load(r)), records[:naive_n])
    naive_scaled = naive * n / naive_n
    results["c"] = (ours_a, naive_scaled)
    print(f"(c) sessions_frame        {ours_a:7.2f} s   SessionSchema(many=True)   {naive_scaled:7.2f} s"
          f" ({naive:.2f} s for {naive_n:,}, scaled)   ratio {naive_scaled / ours_a:5.2f}x"
          f" (target >= {TARGETS['c']}x)", flush=True)

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "sessions.json"
        with open(path, "w") as f:
            json.dump(records, f)
        del records, frame
        size = path.stat().st_size / 2**20
        base_b = run_child("baseline", path)
        ours_b = run_child("ours", path)
    assert ours_b["rows"] == n
    results["b"] = (ours_b["seconds"], base_b["seconds"])
    mem_ratio = ours_b["peak_mb"] / base_b["peak_mb"]
    print(f"(b) read_sessions         {ours_b['seconds']:7.2f} s   json.load+json_normalize   "
          f"{base_b['seconds']:7.2f} s   ratio {base_b['seconds'] / ours_b['seconds']:5.2f}x"
          f" (target >= {TARGETS['b']}x)   [{size:,.0f} MB JSON file]")
    print(f"(b) peak memory added     {ours_b['peak_mb']:7.0f} MB  baseline {base_b['peak_mb']:7.0f} MB"
          f"   ours/baseline {mem_ratio:.2f} (target <= 0.5)")

    missed = [k for k, (ours, base) in results.items() if base / ours < TARGETS[k]]
    missed += ["b-memory"] if mem_ratio > 0.5 else []
    print("all targets met" if not missed else f"targets missed: {', '.join(missed)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
