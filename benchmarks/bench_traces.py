"""Fetching traces: OrqClient.query_traces against a loop of the official client's traces.search.

Both run against the same FakeOrqServer (300 sessions, about 1,150 traces, 50 ms of latency added to every
request), in a process of its own as the service would be (in this one its JSON work would hold the GIL
the client's threads wait on). The official client (orq-ai-sdk) searches each session's traces in turn
(thread_id in its id and external id, within its window), following page tokens, then builds a DataFrame.
Targets: at least 5x faster with the same traces; and within 1.5x of the latency bound: 50 ms x the longest
chain of sequential calls when the searches run max_workers at a time (each search's pages are sequential;
the searches are scheduled longest first on the workers). Prints searches, pages, the chain and the bound.
"""

from __future__ import annotations

import argparse
import heapq
import multiprocessing
import sys
import time

import pandas as pd

TARGET, BOUND_TARGET = 5.0, 1.5


def makespan(lengths: list[int], workers: int) -> int:
    """Calls on the busiest worker when chains of these lengths run ``workers`` at a time, longest first."""
    load = [0] * workers
    for length in sorted(lengths, reverse=True):
        heapq.heappush(load, heapq.heappop(load) + length)
    return max(load)


def serve(conn, n: int, latency: float) -> None:
    """The fake server, in a child process: its URL and key out, serve until told to stop."""
    from orq_nb.testing import FakeOrqServer
    from orq_nb.testing.synthetic import generate_sessions

    with FakeOrqServer(generate_sessions(n, seed=5, days=30), latency=latency) as fake:
        fake.traces._build()  # the fake makes its traces on first use: not part of either timing
        conn.send((fake.url, fake.api_key))
        conn.recv()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--latency", type=float, default=0.05)
    args = parser.parse_args()

    import orq_ai_sdk

    import orq_nb
    from orq_nb.api.traces import Tally
    from orq_nb.testing.synthetic import generate_sessions

    records = generate_sessions(args.n, seed=5, days=30)
    sessions = orq_nb.sessions_frame(records)
    here, there = multiprocessing.Pipe()
    server = multiprocessing.get_context("spawn").Process(target=serve, args=(there, args.n, args.latency))
    server.start()
    try:
        url, key = here.recv()
        official = orq_ai_sdk.Orq(api_key=key, server_url=url)
        official_requests, margin = 0, pd.Timedelta(hours=1)
        start = time.perf_counter()
        rows = []
        for session in sessions.itertuples():
            token = None
            while True:
                page = official.traces.search(
                    from_=session.started_at - margin, to=session.updated_at + margin,
                    filters=[{"field": "thread_id", "op": "in", "values": [session.id, session.external_id]}],
                    limit=100, page_token=token)
                official_requests += 1
                rows += [dict(t.model_dump(), session_id=session.id) for t in page.data or []]
                if not page.has_more:
                    break
                token = page.next_page_token
        theirs = pd.DataFrame(rows)
        official_s = time.perf_counter() - start

        client = orq_nb.OrqClient(api_key=key, base_url=url)
        client.query_traces(sessions.head(8), progress=False)  # connections open, as after any first call
        lengths: list[int] = []
        original = Tally.add

        def record(self, pages: int) -> None:  # the chain of each search, as the fetch counts it
            lengths.append(pages)
            original(self, pages)

        Tally.add = record
        start = time.perf_counter()
        ours = client.query_traces(sessions, progress=False)
        ours_s = time.perf_counter() - start
        Tally.add = original
    finally:
        here.send("stop")
        server.join(timeout=10)

    info = ours.attrs["orq_nb"]
    same = (sorted(zip(ours["trace_id"], ours["session_id"], strict=True))
            == sorted(zip(theirs["trace_id"], theirs["session_id"], strict=True)))
    chain = makespan(lengths, client.max_workers)
    bound = chain * args.latency
    ratio = official_s / ours_s
    print(f"{args.n:,} sessions, {len(ours):,} traces, {args.latency * 1000:.0f} ms latency per request")
    print(f"official client, traces.search per session  {official_s:7.2f} s  {official_requests:5d} "
          "requests")
    print(f"OrqClient.query_traces                       {ours_s:7.2f} s  {info['pages']:5d} requests "
          f"({info['searches']} searches side by side, {client.max_workers} workers)")
    print(f"ratio {ratio:.1f}x (target >= {TARGET}x); the same traces, joined to the same sessions: {same}")
    print(f"longest chain of sequential calls with {client.max_workers} in flight: {chain} "
          f"(pages per search: {sorted(lengths, reverse=True)})")
    print(f"latency bound {bound:.2f} s ({chain} x {args.latency * 1000:.0f} ms): {ours_s / bound:.2f}x the "
          f"bound (target <= {BOUND_TARGET}x)")
    met = ratio >= TARGET and same and ours_s / bound <= BOUND_TARGET
    print("targets met" if met else "targets missed")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
