"""Benchmark: PUT of an 18-value T1 snapshot, in-process and over HTTP on loopback.

.venv/bin/python -m bench.snapshot_put [--requests 600] [--clients 4] [--database both]
"""

import argparse
import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from app.auth.models import Role
from app.core.db import create_db_engine
from app.main import create_app
from bench.common import database, live_server, percentile, postgres_available, prepared, token_for

CITY = "320100"
PERIODS = [f"W{n:02d}" for n in range(1, 13)]


def t1_values(n: int) -> dict[str, Any]:
    """18 values that pass every rule, different for every n (so each PUT is a new revision)."""
    fairs_online, fairs_offline = 10 + n, 20 + n
    postings_online, postings_offline = 1000 + n, 2000 + n
    return {
        "publicity_materials": 5000 + n,
        "fairs_total": fairs_online + fairs_offline,
        "fairs_online": fairs_online,
        "fairs_offline": fairs_offline,
        "fairs_labor_brand": 3,
        "postings_total": postings_online + postings_offline,
        "postings_online": postings_online,
        "postings_offline": postings_offline,
        "postings_labor_brand": 100,
        "employment_intents": 700 + n,
        "startup_projects_promoted": 40,
        "startup_mentoring": 55,
        "startup_sites_offered": 12,
        "startups_supported": 30,
        "key_enterprises_visited": 90,
        "workers_delivered": 400 + n,
        "recruitment_funds": round(12.5 + n / 10_000, 4),
        "employment_subsidies": 300.25,
    }


def path(period: str) -> str:
    return f"/api/v1/campaigns/js-2024/cities/{CITY}/tables/t1/periods/{period}"


def in_process(url: str, requests: int) -> dict[str, float]:
    """Through the whole ASGI app (middleware, auth, validation, commit), no network."""
    settings = prepared(url)
    headers = {"Authorization": f"Bearer {token_for(settings, Role.reporter, CITY)}"}
    engine = create_db_engine(settings.sqlalchemy_url)
    app = create_app(settings, engine)
    samples: list[float] = []

    async def run() -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            for n in range(requests):
                started = time.perf_counter()
                response = await client.put(
                    path(PERIODS[n % 12]), json={"values": t1_values(n)}, headers=headers
                )
                samples.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200, response.text

    asyncio.run(run())
    engine.dispose()
    return {"p50_ms": percentile(samples, 0.5), "p95_ms": percentile(samples, 0.95)}


def over_http(url: str, requests: int, clients: int) -> dict[str, float]:
    settings = prepared(url)
    headers = {"Authorization": f"Bearer {token_for(settings, Role.reporter, CITY)}"}
    errors = 0
    lock = threading.Lock()

    def worker(offset: int, base: str) -> None:
        nonlocal errors
        with httpx.Client(base_url=base, timeout=60) as http:
            for n in range(offset, requests, clients):
                response = http.put(
                    path(PERIODS[n % 12]), json={"values": t1_values(n)}, headers=headers
                )
                if response.status_code != 200:
                    with lock:
                        errors += 1

    with live_server(settings) as base, ThreadPoolExecutor(clients) as pool:
        started = time.perf_counter()
        list(pool.map(lambda offset: worker(offset, base), range(clients)))
        elapsed = time.perf_counter() - started
    return {"requests_per_s": requests / elapsed, "errors": errors}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=600)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    kinds = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    for kind in kinds:
        if kind == "postgresql" and not postgres_available():
            print("postgresql: not reachable, skipped")
            continue
        with database(kind) as url:
            local = in_process(url, args.requests)
        with database(kind) as url:
            remote = over_http(url, args.requests, args.clients)
        print(
            f"{kind:10s} in-process PUT p50 {local['p50_ms']:.2f} ms, p95 "
            f"{local['p95_ms']:.2f} ms | HTTP {args.clients} clients: "
            f"{remote['requests_per_s']:.0f} req/s, {remote['errors']:.0f} errors"
        )


if __name__ == "__main__":
    main()
