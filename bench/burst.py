"""The Friday burst (issue 10), over HTTP against `python -m app serve`, per database kind:

    .venv/bin/python -m bench.burst [--seconds 5] [--no-postgres]

1. reads during a batch: p95 of `GET /totals` and `GET /goals` while 5,000-event batches
   are being written, against the same reads on an idle server (target: ≤ 3 × idle p95);
2. throughput: memo-served `GET /goals` against `GET /healthz`, same server, same load
   script (asyncio + httpx, 32 connections; target ≥ 50 %), with the error count;
3. overload: 64 clients asking for fresh (`as_of` never repeated) goal tracking from a
   server admitting 8 requests at a time: how many got 200, how many 503 (and how fast),
   and how many timed out or failed (target: none).
"""

import argparse
import asyncio
import itertools
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

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


def reads_during_batches(base: str, admin: dict[str, str], reporter: dict[str, str]) -> str:
    paths = (f"{VIEWS}/totals", f"{VIEWS}/goals")
    with httpx.Client(base_url=base, headers=admin, timeout=60) as http:
        for path in paths:
            timed(http, path)
        idle = {path: [timed(http, path) for _ in range(60)] for path in paths}
        busy: dict[str, list[float]] = {path: [] for path in paths}
        events = make_events(30_000, [f"3201{n:02d}" for n in (2, 4, 5, 6, 11, 13, 14, 15)])
        writing = threading.Event()
        done = threading.Event()

        def write() -> None:
            with httpx.Client(base_url=base, headers=reporter, timeout=120) as writer:
                for start in range(0, len(events), 5000):
                    writing.set()
                    writer.post(
                        f"{VIEWS}/cities/{CITY}/events/batch",
                        json={"items": events[start : start + 5000]},
                    ).raise_for_status()
            done.set()

        thread = threading.Thread(target=write)
        thread.start()
        writing.wait()
        for path in itertools.cycle(paths):
            if done.is_set():
                break
            busy[path].append(timed(http, path))
            time.sleep(0.005)
        thread.join()
    lines = []
    for path in paths:
        idle_p95, busy_p95 = percentile(idle[path], 0.95), percentile(busy[path], 0.95)
        lines.append(
            f"  GET {path.rsplit('/', 1)[1]:<7} idle p50 {percentile(idle[path], 0.5):6.1f} ms "
            f"p95 {idle_p95:6.1f} ms | during batches p50 "
            f"{percentile(busy[path], 0.5):6.1f} ms p95 {busy_p95:6.1f} ms "
            f"({len(busy[path])} reads) | ratio {busy_p95 / idle_p95:4.1f}× (target ≤ 3×)"
        )
    return "\n".join(lines)


@dataclass
class Load:
    statuses: Counter[int | str] = field(default_factory=Counter)
    latencies: dict[int | str, list[float]] = field(default_factory=dict)

    def add(self, status: int | str, seconds: float) -> None:
        self.statuses[status] += 1
        self.latencies.setdefault(status, []).append(seconds * 1000)


async def load(
    base: str, headers: dict[str, str], paths: Iterator[str], clients: int, seconds: float
) -> Load:
    result = Load()
    stop = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30, limits=limits) as http:

        async def client() -> None:
            while time.perf_counter() < stop:
                started = time.perf_counter()
                try:
                    response = await http.get(next(paths))
                    result.add(response.status_code, time.perf_counter() - started)
                except httpx.HTTPError as exc:
                    result.add(type(exc).__name__, time.perf_counter() - started)

        await asyncio.gather(*(client() for _ in range(clients)))
    return result


def throughput(base: str, admin: dict[str, str], seconds: float) -> str:
    httpx.get(f"{base}{VIEWS}/goals", headers=admin).raise_for_status()
    rates = {}
    for name in ("healthz", "goals"):
        path = "/healthz" if name == "healthz" else f"{VIEWS}/goals"
        result = asyncio.run(load(base, admin, itertools.cycle([path]), 32, seconds))
        rates[name] = (result.statuses[200] / seconds, result.statuses)
    ratio = rates["goals"][0] / rates["healthz"][0]
    return (
        f"  /healthz {rates['healthz'][0]:7.0f} req/s {dict(rates['healthz'][1])} | "
        f"memo-served /goals {rates['goals'][0]:7.0f} req/s {dict(rates['goals'][1])} | "
        f"ratio {ratio:5.1%} (target ≥ 50 %)"
    )


def run(kind: str, seconds: float) -> str:
    with database(kind) as url:
        settings = prepared(url)
        admin = {"Authorization": f"Bearer {token_for(settings, Role.admin, None)}"}
        reporter = {"Authorization": f"Bearer {token_for(settings, Role.reporter, CITY)}"}
        report = [f"{kind}:"]
        with live_server(settings) as base:
            seed(base, admin)
            report.append(reads_during_batches(base, admin, reporter))
            report.append(throughput(base, admin, seconds))
        with live_server(settings, MAX_IN_FLIGHT="8", WORKER_THREADS="4") as base:
            counter = itertools.count()
            paths = (
                f"{VIEWS}/goals?as_of=2024-03-01T10:00:00.{next(counter):06d}%2B08:00"
                for _ in itertools.count()
            )
            result = asyncio.run(load(base, admin, paths, 64, seconds))
            shed = result.latencies.get(503, [0.0])
            served = result.latencies.get(200, [0.0])
            failures = {k: v for k, v in result.statuses.items() if k not in (200, 503)}
            report.append(
                f"  overload (64 clients, 8 admitted): {dict(result.statuses)} | 503 p50 "
                f"{percentile(shed, 0.5):.1f} ms p95 {percentile(shed, 0.95):.1f} ms | 200 p95 "
                f"{percentile(served, 0.95):.0f} ms | timeouts/errors {sum(failures.values())}"
            )
    return "\n".join(report)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    kinds = ["sqlite"] + ([] if args.no_postgres or not postgres_available() else ["postgresql"])
    for kind in kinds:
        print(run(kind, args.seconds), flush=True)


if __name__ == "__main__":
    main()
