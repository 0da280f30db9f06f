"""Sessions into a dataset: OrqClient.to_dataset's speed against its latency bound, and exactly-once.

(a) 10,000 sessions into a new dataset with a FakeOrqServer in a process of its own (as the service would
    be) at 50 ms of latency a request. Target: within 1.25x of 50 ms x the longest chain of sequential
    calls with max_workers (8) in flight: resolving the dataset's name, the traces searches (their pages
    sequential, the searches side by side), one conversation per session (side by side), creating the
    dataset, the bulk writes. Prints the calls, the chain and the bound.
(b) exactly once over interrupted and repeated runs: runs of 300 sessions (bulk calls of 25), each
    interrupted (Ctrl-C) at a random request and hit by a random fault (a lost answer, a 5xx after the
    write, a dropped connection) on a bulk write, then run again, then run a third time. Target: zero
    duplicates and zero lost sessions over all runs; the third run adds nothing.
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import random
import sys
import time
import warnings

from bench_traces import makespan, serve  # the fake in its own process; the chain on the workers

BOUND_TARGET = 1.25


def bench_speed(n: int, latency: float) -> bool:
    import orq_nb
    from orq_nb.api.traces import Tally
    from orq_nb.testing.synthetic import generate_sessions

    sessions = orq_nb.sessions_frame(generate_sessions(n, seed=5, days=30))
    here, there = multiprocessing.Pipe()
    server = multiprocessing.get_context("spawn").Process(target=serve, args=(there, n, latency))
    server.start()
    try:
        url, key = here.recv()
        client = orq_nb.OrqClient(api_key=key, base_url=url)
        client.datasets()  # a first call: connections open, as after any other
        lengths: list[int] = []
        original = Tally.add

        def record(self, pages: int) -> None:
            lengths.append(pages)
            original(self, pages)

        Tally.add = record
        before = client.requests_sent
        start = time.perf_counter()
        report = client.to_dataset(sessions, "bench", dry_run=False, progress=False)
        seconds = time.perf_counter() - start
        Tally.add = original
        calls = client.requests_sent - before
        check = client.datasets()
    finally:
        here.send("stop")
        server.join(timeout=30)
    info = report.attrs["orq_nb"]
    added = int((report["status"] == "added").sum())
    workers = client.max_workers
    searches = makespan(lengths, workers)
    talks = math.ceil(added / workers)
    writes = math.ceil(added / 5000)
    chain = 2 + searches + talks + 1 + writes  # name: by id, by list; searches; conversations; create; bulk
    bound = chain * latency
    ratio = seconds / bound
    ok = ratio <= BOUND_TARGET and added == n and int(check["datapoints"].iloc[0]) == n
    print(f"(a) {n:,} sessions into a new dataset at {latency * 1000:.0f} ms a request: {seconds:.1f} s, "
          f"{calls:,} calls ({len(lengths)} searches, {added:,} conversations, {writes} bulk writes; "
          f"{info['calls']:,} counted by the call)")
    print(f"    longest chain with {workers} in flight: 2 (the dataset's name) + {searches} (searches) + "
          f"{talks} (conversations) + 1 (create) + {writes} (bulk) = {chain} calls; bound {bound:.1f} s; "
          f"{ratio:.2f}x the bound (target <= {BOUND_TARGET}x) {'ok' if ok else 'MISSED'}; "
          f"datapoints in the dataset: {int(check['datapoints'].iloc[0]):,}", flush=True)
    return ok


def bench_exactly_once(runs: int) -> bool:
    import orq_nb
    import orq_nb.api.datasets as datasets
    import orq_nb.api.transport as transport
    from orq_nb.testing import FakeOrqServer, Fault
    from orq_nb.testing.synthetic import generate_sessions

    bulk_max, datasets.BULK_MAX = datasets.BULK_MAX, 25  # many bulk calls to interrupt and fault
    # The fake writes before it answers: the wait for a late write (a second by default) is shortened.
    settle, datasets.SETTLE = datasets.SETTLE, 0.05
    try:
        return _exactly_once(runs, orq_nb, transport, FakeOrqServer, Fault, generate_sessions)
    finally:
        datasets.BULK_MAX, datasets.SETTLE = bulk_max, settle


def _exactly_once(runs, orq_nb, transport, FakeOrqServer, Fault, generate_sessions) -> bool:  # noqa: N803
    original = transport.Transport.request
    rng = random.Random(2026)
    duplicates = lost = third_added = interrupted = 0
    with FakeOrqServer(generate_sessions(300, seed=9, days=20, node_share=0)) as fake:
        client = orq_nb.OrqClient(api_key=fake.api_key, base_url=fake.url, backoff=0.01)
        sessions = client.query_sessions(progress=False)
        before = client.requests_sent
        client.to_dataset(sessions, "counted", dry_run=False, progress=False)
        total = client.requests_sent - before
        for run in range(runs):
            name = f"run-{run}"
            stop_at = rng.randint(1, total)
            seen = [0]

            def request(self, *args, _stop=stop_at, _seen=seen, **kwargs):
                _seen[0] += 1
                if _seen[0] == _stop:
                    raise KeyboardInterrupt
                return original(self, *args, **kwargs)

            kind = rng.choice(["lost", "after", "drop", "status"])
            fake.inject(Fault(kind, 500 if kind != "status" else 503, path="/v2/datasets/"))
            transport.Transport.request = request
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    client.to_dataset(sessions, name, dry_run=False, progress=False)
            except KeyboardInterrupt:
                interrupted += 1
            finally:
                transport.Transport.request = original
            fake.faults.clear()
            fake.inject(Fault(rng.choice(["lost", "after", "drop"]), 500, path="/v2/datasets/"))
            client.to_dataset(sessions, name, dry_run=False, progress=False)
            third = client.to_dataset(sessions, name, dry_run=False, progress=False)
            third_added += int((third["status"] == "added").sum())
            ids = [p["inputs"]["orq_session_id"] for d in fake.datasets.datasets.values()
                   if d["display_name"] == name for p in fake.datasets.datapoints[d["_id"]]]
            duplicates += len(ids) - len(set(ids))
            lost += len(set(sessions["id"]) - set(ids))
    ok = duplicates == 0 and lost == 0 and third_added == 0
    print(f"(b) {runs} runs of 300 sessions, each interrupted at a random request ({interrupted} were) and "
          f"hit by a random fault, then run again and a third time: {duplicates} duplicates, {lost} sessions "
          f"lost, {third_added} added by the third runs (target 0, 0, 0) {'ok' if ok else 'MISSED'}",
          flush=True)
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--quick", action="store_true", help="1,000 sessions, 10 runs")
    args = parser.parse_args()
    n, runs = (1000, 10) if args.quick else (args.n, args.runs)
    oks = [bench_exactly_once(runs), bench_speed(n, args.latency)]
    print("targets met" if all(oks) else "targets missed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
