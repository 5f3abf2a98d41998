"""The Friday burst (issue 10), over HTTP against `python -m app serve`, per database kind:

    .venv/bin/python -m bench.burst [--seconds 5] [--no-postgres]

1. reads during a batch: p95 of `GET /totals` and `GET /goals` while 5,000-event batches
   are being written, against the same reads on an idle server (target: ≤ 3 × idle p95);
2. throughput: memo-served `GET /goals` against `GET /healthz`, same server, same load
   tool (wrk, 16 connections, below the admission bound; target ≥ 50 %), with errors;
3. overload: 64 connections asking for fresh (`as_of` never repeated) goal tracking from a
   server admitting 8 requests at a time: how many got 200, how many 503, the latency, and
   how many timed out or failed (target: none).

wrk comes from Debian's package `wrk`; a Python load script on this 2-core machine measured
its own scheduling more than the server.
"""

import argparse
import itertools
import json
import multiprocessing
import os
import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from app.auth.models import Role
from bench.common import (
    database,
    live_server,
    percentile,
    postgres_available,
    prepared,
    token_for,
)
from bench.events_ingest import make_events

VIEWS = "/api/v1/campaigns/js-2024"
CITY = "320100"
CITIES = ("320100", "320200", "320300", "320400", "320500", "320600", "320700")


def seed(base: str, admin: dict[str, str]) -> None:
    with httpx.Client(base_url=base, headers=admin, timeout=60) as http:
        for city, week in itertools.product(CITIES, range(1, 6)):
            http.put(
                f"{VIEWS}/cities/{city}/tables/t1/periods/W{week:02d}",
                json={"values": {"fairs_total": week * 3, "postings_total": week * 1000}},
            ).raise_for_status()


def timed(http: httpx.Client, path: str) -> float:
    started = time.perf_counter()
    http.get(path).raise_for_status()
    return (time.perf_counter() - started) * 1000


def memo_latency(base: str, admin: dict[str, str]) -> str:
    """One client, one request at a time: `/healthz` against a memo-served `/goals` and a
    revalidation that gets 304 (target: each ≤ healthz p50 + 1 ms)."""
    with httpx.Client(base_url=base, headers=admin, timeout=60) as http:
        health = [timed(http, "/healthz") for _ in range(200)]
        memo = [timed(http, f"{VIEWS}/goals") for _ in range(200)]
        etag = http.get(f"{VIEWS}/goals").headers["ETag"]
        revalidated: list[float] = []
        while len(revalidated) < 200:
            started = time.perf_counter()
            answer = http.get(f"{VIEWS}/goals", headers={"If-None-Match": etag})
            if answer.status_code != 304:  # the clock's minute moved the default `at`
                etag = answer.headers["ETag"]
                continue
            revalidated.append((time.perf_counter() - started) * 1000)
    p50 = {
        name: percentile(v, 0.5)
        for name, v in (("healthz", health), ("memo", memo), ("304", revalidated))
    }
    return (
        f"  one client: /healthz p50 {p50['healthz']:.2f} ms | memo-served /goals p50 "
        f"{p50['memo']:.2f} ms (+{p50['memo'] - p50['healthz']:.2f}) | 304 p50 "
        f"{p50['304']:.2f} ms (+{p50['304'] - p50['healthz']:.2f}) (target ≤ +1 ms)"
    )


def reads_during_batches(
    base: str, admin: dict[str, str], reporter: dict[str, str], rounds: int
) -> str:
    """`rounds` times: reads idle, then reads while six batches of new events are written;
    the percentiles are over all rounds' reads (one round is ~90 reads, and its p95 is
    decided by four or five of them)."""
    paths = (f"{VIEWS}/totals", f"{VIEWS}/goals")
    idle: dict[str, list[float]] = {path: [] for path in paths}
    busy: dict[str, list[float]] = {path: [] for path in paths}
    fresh: dict[str, list[float]] = {path: [] for path in paths}
    for round_ in range(rounds):
        read_while_writing(base, admin, reporter, 30_000 * round_, idle, busy, fresh)
    lines = []
    for path in paths:
        idle_p95, busy_p95 = percentile(idle[path], 0.95), percentile(busy[path], 0.95)
        served = [t for t in busy[path] if t not in fresh[path]]
        computed = (
            f"p50 {percentile(fresh[path], 0.5):.1f} ms max {max(fresh[path]):.1f} ms"
            if fresh[path]
            else "none"
        )
        lines.append(
            f"  GET {path.rsplit('/', 1)[1]:<7} idle p50 {percentile(idle[path], 0.5):6.1f} ms "
            f"p95 {idle_p95:6.1f} ms | during batches p50 "
            f"{percentile(busy[path], 0.5):6.1f} ms p95 {busy_p95:6.1f} ms "
            f"({len(busy[path])} reads) | ratio {busy_p95 / idle_p95:4.1f}× (target ≤ 3×)\n"
            f"      computed afresh after a commit: {len(fresh[path])}, {computed}; the others "
            f"p95 {percentile(served, 0.95):.1f} ms ({percentile(served, 0.95) / idle_p95:.1f}×)"
        )
    return "\n".join(lines)


def read_while_writing(
    base: str,
    admin: dict[str, str],
    reporter: dict[str, str],
    first_event: int,
    idle: dict[str, list[float]],
    busy: dict[str, list[float]],
    fresh: dict[str, list[float]],
) -> None:
    paths = list(idle)
    with httpx.Client(base_url=base, headers=admin, timeout=60) as http:
        for path in paths:
            timed(http, path)
        for path in paths:
            idle[path] += [timed(http, path) for _ in range(60)]
        counties = [f"3201{n:02d}" for n in (2, 4, 5, 6, 11, 13, 14, 15)]
        events = make_events(30_000, counties, first=first_event)
        # Encoded before the clock starts, and posted from a process of its own: encoding
        # 5,000 events or reading a 600 KB summary in a thread of this process would hold
        # its GIL and delay the reader timed here, which is the load tool's cost, not the
        # server's.
        bodies = [
            json.dumps({"items": events[start : start + 5000]}).encode()
            for start in range(0, len(events), 5000)
        ]
        processes = multiprocessing.get_context("spawn")
        writing, done = processes.Event(), processes.Event()
        writer = processes.Process(
            target=post_batches, args=(base, reporter, bodies, writing, done)
        )
        writer.start()
        writing.wait()
        # A read after a batch committed computes the answer afresh; the others are served
        # as the idle ones are. Told apart by the ETag changing.
        last_etag = {path: http.get(path).headers["ETag"] for path in paths}
        for path in itertools.cycle(paths):
            if done.is_set() or not writer.is_alive():
                break
            started = time.perf_counter()
            answer = http.get(path)
            answer.raise_for_status()
            elapsed = (time.perf_counter() - started) * 1000
            busy[path].append(elapsed)
            if answer.headers["ETag"] != last_etag[path]:
                fresh[path].append(elapsed)
                last_etag[path] = answer.headers["ETag"]
            time.sleep(0.005)
        writer.join()
        if writer.exitcode != 0:
            raise RuntimeError(f"the batches were not all stored (writer exit {writer.exitcode})")


def post_batches(
    base: str, reporter: dict[str, str], bodies: list[bytes], writing: Any, done: Any
) -> None:
    with httpx.Client(base_url=base, headers=reporter, timeout=120) as writer:
        for body in bodies:
            writing.set()
            writer.post(
                f"{VIEWS}/cities/{CITY}/events/batch",
                content=body,
                headers={"Content-Type": "application/json"},
            ).raise_for_status()
    done.set()


LUA = Path(__file__).with_name("wrk_statuses.lua")


@dataclass(frozen=True)
class Wrk:
    """What wrk (a kept HTTP load tool, C, one thread) measured."""

    rate: float
    statuses: dict[int, int]
    p50: float
    p95: float
    p99: float
    errors: int  # connect, read and write errors and timeouts

    def line(self) -> str:
        return (
            f"{self.rate:7.0f} req/s {self.statuses} latency p50 {self.p50:.1f} ms p95 "
            f"{self.p95:.1f} ms p99 {self.p99:.1f} ms, errors/timeouts {self.errors}"
        )


def wrk(
    url: str, headers: dict[str, str], connections: int, seconds: float, fresh: bool = False
) -> Wrk:
    command = ["wrk", "-t1", f"-c{connections}", f"-d{round(seconds)}s", "--timeout", "10s"]
    command += ["-s", str(LUA), *(f"-H{k}: {v}" for k, v in headers.items()), url]
    environment = os.environ | ({"FRESH": "1"} if fresh else {})
    out = subprocess.run(  # noqa: S603 (a fixed tool and our own arguments)
        command, capture_output=True, text=True, env=environment, check=True
    ).stdout
    statuses = {int(k): int(v) for k, v in re.findall(r"^status (\d+) (\d+)$", out, re.M)}
    p50, p95, p99 = (float(x) for x in re.findall(r"^p50 (\S+) p95 (\S+) p99 (\S+)", out, re.M)[0])
    errors = re.findall(r"^errors connect (\d+) read (\d+) write (\d+) timeout (\d+)", out, re.M)
    ok = sum(statuses.values())
    return Wrk(
        rate=ok / seconds,
        statuses=statuses,
        p50=p50,
        p95=p95,
        p99=p99,
        errors=sum(int(e) for e in errors[0]),
    )


def throughput(base: str, admin: dict[str, str], seconds: float) -> str:
    httpx.get(f"{base}{VIEWS}/goals", headers=admin).raise_for_status()
    # Below the admission bound (64): nothing should be refused.
    health = wrk(f"{base}/healthz", admin, 16, seconds)
    goals = wrk(f"{base}{VIEWS}/goals", admin, 16, seconds)
    # What a browser dashboard sends: the memo's gzip form, no compression per request.
    gzipped = wrk(f"{base}{VIEWS}/goals", admin | {"Accept-Encoding": "gzip"}, 16, seconds)
    return (
        f"  throughput, 16 connections: /healthz {health.line()}\n"
        f"    memo-served /goals {goals.line()}\n"
        f"    memo-served /goals, gzip {gzipped.line()}\n"
        f"  → /goals at {goals.rate / health.rate:.0%} of /healthz, gzip "
        f"{gzipped.rate / health.rate:.0%} (target ≥ 50 %)"
    )


def overload(base: str, admin: dict[str, str], seconds: float) -> str:
    fresh = wrk(f"{base}{VIEWS}/goals", admin, 64, seconds, fresh=True)
    return f"  overload, 64 connections asking for fresh /goals, 8 admitted: {fresh.line()}"


def run(kind: str, seconds: float, rounds: int) -> str:
    with database(kind) as url:
        settings = prepared(url)
        admin = {"Authorization": f"Bearer {token_for(settings, Role.admin, None)}"}
        reporter = {"Authorization": f"Bearer {token_for(settings, Role.reporter, CITY)}"}
        report = [f"{kind}:"]
        with live_server(settings) as base:
            seed(base, admin)
            report.append(memo_latency(base, admin))
            report.append(reads_during_batches(base, admin, reporter, rounds))
            report.append(throughput(base, admin, seconds))
        with live_server(settings, MAX_IN_FLIGHT="8", WORKER_THREADS="4") as base:
            report.append(overload(base, admin, seconds))
    return "\n".join(report)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3, help="of reads during batches")
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    kinds = ["sqlite"] + ([] if args.no_postgres or not postgres_available() else ["postgresql"])
    for kind in kinds:
        print(run(kind, args.seconds, args.rounds), flush=True)


if __name__ == "__main__":
    main()
