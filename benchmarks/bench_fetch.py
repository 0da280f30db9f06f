"""Fetching speed: OrqClient.query_sessions against the official client's page loop.

Both run in the same process against the same FakeOrqServer (20,000 sessions,
50 ms of latency added to every request, pages of 100). The official client
(orq-ai-sdk) lists page after page until ``has_more`` is false, then builds a
DataFrame of the records. Target: at least 5x faster, the same session ids; and
at most 1.6x the latency bound (pages / workers x latency: 200 / 8 x 50 ms = 1.25 s),
with every completeness and paging check in place.
"""

from __future__ import annotations

import argparse
import sys
import time

import pandas as pd

TARGET, BOUND_TARGET = 5.0, 1.6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--page-size", type=int, default=100)
    args = parser.parse_args()

    import orq_ai_sdk

    import orq_nb
    from orq_nb.testing import FakeOrqServer
    from orq_nb.testing.synthetic import generate_sessions

    records = generate_sessions(args.n, seed=5)
    with FakeOrqServer(records, latency=args.latency) as fake:
        official = orq_ai_sdk.Orq(api_key=fake.api_key, server_url=fake.url)
        filters = {"interval": "SESSION_INTERVAL_ALL_TIME"}
        before = len(fake.requests)
        start = time.perf_counter()
        rows, page = [], 1
        while True:
            answer = official.sessions.list(filters=filters, limit=args.page_size, page=page)
            rows += [thread.model_dump(by_alias=True) for thread in answer.data]
            if not answer.has_more:
                break
            page += 1
        theirs = pd.DataFrame(rows)
        official_s = time.perf_counter() - start
        official_requests = len(fake.requests) - before

        client = orq_nb.OrqClient(api_key=fake.api_key, base_url=fake.url, page_size=args.page_size)
        start = time.perf_counter()
        ours = client.query_sessions(interval="all_time", progress=False)
        ours_s = time.perf_counter() - start

    same = set(ours["id"]) == set(theirs["_id"]) and len(ours) == len(theirs) == args.n
    ratio = official_s / ours_s
    print(f"{args.n:,} sessions, {args.latency * 1000:.0f} ms latency per request, pages of {args.page_size}")
    print(f"official client page loop  {official_s:7.2f} s  {official_requests:5d} requests")
    print(f"OrqClient.query_sessions   {ours_s:7.2f} s  {client.requests_sent:5d} requests"
          f"  ({client.max_workers} workers)")
    pages = -(-args.n // args.page_size)
    bound = pages / client.max_workers * args.latency
    print(f"ratio {ratio:.2f}x (target >= {TARGET}x); identical session ids: {same}")
    print(f"latency bound {bound:.2f} s ({pages} pages / {client.max_workers} workers x "
          f"{args.latency * 1000:.0f} ms): {ours_s / bound:.2f}x the bound (target <= {BOUND_TARGET}x)")
    met = ratio >= TARGET and same and ours_s / bound <= BOUND_TARGET
    print("targets met" if met else "targets missed")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
