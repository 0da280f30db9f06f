"""Loading speed and memory: orq_nb against floors and baselines measured in the same run.

Run ``make bench`` (or ``python benchmarks/bench_load.py --n 1000000``). Every
file is read in a fresh process, so that peak memory can be compared, and each
timing is the best of ``--repeat`` runs. The floor is pyarrow's own work for
the same result: ``pyarrow.json.read_json(path).flatten().to_pandas()`` with
the list columns (``tags``, and ``contact_ids`` under each key style the file
uses) built as Python lists from the Arrow offsets instead.

(a) ``read_sessions`` on JSON lines                  <= 1.25x the floor
(b) ``read_sessions`` on gzipped JSON lines          <= 1.25x the floor read through gzip
(c) ``read_sessions`` on a compact JSON array        <= 1.5x  the floor (of the JSON lines)
(d) ``read_sessions`` on a JSON array of list pages  <= 1.5x  the floor (of the JSON lines)
(e) ``read_sessions`` on a Parquet sessions frame    <= 1.25x ``pd.read_parquet`` of it
(f) ``sessions_frame`` on parsed dicts               >= 3x faster than json_normalize + to_datetime
(g) peak memory of ``read_sessions`` on the array    <= 0.5x  json.load + json_normalize
(h) ``sessions_frame`` on 100,000 of the official SDK's ``Thread`` models (one JSON dump, then the bytes
    reader)                                           faster than a ``model_dump`` per model, then the dicts
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

PAGE = 100


def normalize(records: list) -> pd.DataFrame:
    """The baseline: pandas' own flattening, then the two time columns parsed."""
    frame = pd.json_normalize(records)
    for column in ("started_at", "updated_at"):
        frame[column] = pd.to_datetime(frame[column], utc=True, format="ISO8601")
    return frame


def floor(path: str) -> pd.DataFrame:
    """pyarrow's own parse to pandas, list columns as Python lists from the offsets."""
    import pyarrow as pa
    import pyarrow.json as pa_json

    source = pa.input_stream(path, compression="gzip") if path.endswith(".gz") else path
    from floors import to_pandas_with_lists

    return to_pandas_with_lists(pa_json.read_json(source).flatten())


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
    """Read ``path`` one way in this fresh process; print seconds, peak MB added and rows."""
    import orq_nb

    readers = {
        "ours": orq_nb.read_sessions,
        "floor": floor,
        "read_parquet": pd.read_parquet,
        "json_normalize": lambda p: normalize(json.load(open(p))),
    }
    before = _status_mb("VmRSS")
    start = time.perf_counter()
    frame = readers[which](path)
    seconds = time.perf_counter() - start
    peak = _status_mb("VmHWM")
    print(json.dumps({"seconds": seconds, "peak_mb": peak - before, "rows": len(frame)}))


def run_child(which: str, path: Path, repeat: int) -> dict:
    runs = []
    for _ in range(repeat):
        out = subprocess.run([sys.executable, __file__, "--child", which, str(path)],
                             check=True, capture_output=True, text=True)
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    best = min(runs, key=lambda r: r["seconds"])
    best["peak_mb"] = min(r["peak_mb"] for r in runs)
    return best


def report(label: str, ours: float, base: float, base_label: str, target: str, ok: bool,
           faster: bool = False) -> bool:
    ratio = f"{base / ours:5.2f}x faster" if faster else f"{ours / base:5.2f}x the time"
    print(f"{label:<44} {ours:7.2f} s   {base_label:<26} {base:7.2f} s   "
          f"{ratio}   (target {target}) {'ok' if ok else 'MISSED'}", flush=True)
    return ok


def bench_models(records: list) -> bool:
    """(h): what the official SDK hands out, against dumping each model to a dict first."""
    import orq_nb
    from orq_nb.load.schemas import to_wire

    try:
        from orq_ai_sdk.models import Thread
    except ImportError:
        print("(h) skipped: orq-ai-sdk is not installed (the test extra installs it)")
        return True
    models = [Thread.model_validate(to_wire(r)) for r in records]
    timings = {}
    for name, run in (("ours", lambda: orq_nb.sessions_frame(models)),
                      ("dump", lambda: orq_nb.sessions_frame([m.model_dump(by_alias=True) for m in models]))):
        best = float("inf")
        for _ in range(2):
            start = time.perf_counter()
            frame = run()
            best = min(best, time.perf_counter() - start)
        assert len(frame) == len(models)
        timings[name] = best
    return report(f"(h) sessions_frame({len(models):,} SDK Threads)", timings["ours"], timings["dump"],
                  "model_dump each, then dicts", "faster", timings["ours"] < timings["dump"], faster=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="records (default 1,000,000)")
    parser.add_argument("--repeat", type=int, default=2, help="runs of each file read; the best counts")
    parser.add_argument("--child", nargs=2, metavar=("WHICH", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return 0

    import orq_nb
    from orq_nb.testing import generate_sessions

    n = args.n
    print(f"{os.cpu_count()} cores; generating {n:,} session records (30% in Node SDK form) ...", flush=True)
    records = generate_sessions(n, seed=11)
    met = []

    start = time.perf_counter()
    normalize(records)
    base_f = time.perf_counter() - start
    start = time.perf_counter()
    frame = orq_nb.sessions_frame(records)
    ours_f = time.perf_counter() - start
    assert len(frame) == n
    met.append(report("(f) sessions_frame(dicts)", ours_f, base_f, "json_normalize+to_datetime",
                      ">= 3x faster", base_f / ours_f >= 3, faster=True))
    import pyarrow as pa

    start = time.perf_counter()
    pa.Table.from_pylist(records)  # no validation, no key styles, no frame: what nothing can beat
    floor_f = time.perf_counter() - start
    print(f"    its floor, pyarrow.Table.from_pylist: {floor_f:.2f} s ({base_f / floor_f:.2f}x faster than "
          f"json_normalize; orq_nb at {ours_f / floor_f:.2f}x the floor)")

    met.append(bench_models(records[:100_000]))

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        paths = {name: tmp / name for name in
                 ("s.jsonl", "s.jsonl.gz", "s.json", "pages.json", "frame.parquet")}
        with open(paths["s.jsonl"], "w") as f:
            for record in records:
                f.write(json.dumps(record) + "\n")
        with open(paths["s.jsonl"], "rb") as f, gzip.open(paths["s.jsonl.gz"], "wb", compresslevel=6) as g:
            g.write(f.read())
        with open(paths["s.json"], "w") as f:
            json.dump(records, f)
        with open(paths["pages.json"], "w") as f:
            json.dump([{"object": "list", "data": records[i : i + PAGE], "has_more": i + PAGE < n}
                       for i in range(0, n, PAGE)], f)
        frame.to_parquet(paths["frame.parquet"])
        del records, frame
        size = paths["s.json"].stat().st_size / 2**20
        print(f"files written ({size:,.0f} MB JSON array); reading each in a fresh process, "
              f"best of {args.repeat}", flush=True)

        floor_lines = run_child("floor", paths["s.jsonl"], args.repeat)
        floor_gz = run_child("floor", paths["s.jsonl.gz"], args.repeat)
        for key, base, label, limit in (
            ("s.jsonl", floor_lines, "(a) read_sessions(JSON lines)", 1.25),
            ("s.jsonl.gz", floor_gz, "(b) read_sessions(JSON lines .gz)", 1.25),
            ("s.json", floor_lines, "(c) read_sessions(JSON array)", 1.5),
            ("pages.json", floor_lines, "(d) read_sessions(JSON array of pages)", 1.5),
        ):
            ours = run_child("ours", paths[key], args.repeat)
            assert ours["rows"] == n, ours
            if key == "s.json":
                ours_array = ours
            met.append(report(label, ours["seconds"], base["seconds"], "floor", f"<= {limit}x",
                              ours["seconds"] <= limit * base["seconds"]))
        base_pq = run_child("read_parquet", paths["frame.parquet"], args.repeat)
        ours_pq = run_child("ours", paths["frame.parquet"], args.repeat)
        met.append(report("(e) read_sessions(Parquet sessions frame)", ours_pq["seconds"], base_pq["seconds"],
                          "pd.read_parquet", "<= 1.25x", ours_pq["seconds"] <= 1.25 * base_pq["seconds"]))
        print("    its floor is pd.read_parquet itself: the file holds a sessions frame, read without checks")
        base_mem = run_child("json_normalize", paths["s.json"], 1)
    ratio = ours_array["peak_mb"] / base_mem["peak_mb"]
    print(f"{'(g) peak memory added, read_sessions(array)':<44} {ours_array['peak_mb']:7.0f} MB  "
          f"{'json.load+json_normalize':<26} {base_mem['peak_mb']:7.0f} MB  {ratio:5.2f}x the memory   "
          f"(target <= 0.5x) {'ok' if ratio <= 0.5 else 'MISSED'}")
    met.append(ratio <= 0.5)
    print("all targets met" if all(met) else f"{met.count(False)} target(s) missed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
