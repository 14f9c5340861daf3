"""A small HTTP load generator: N concurrent keep-alive connections hammering one URL for a
fixed time. Run as its own process so the server under test keeps its core:

    python -m bench.load URL --concurrency 64 --seconds 5 [-H 'Name: value'] [--cookie k=v]

Prints one JSON line: requests, errors, seconds, rps, p50_ms, p99_ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

import aiohttp


async def hammer(url: str, concurrency: int, seconds: float, headers: dict, cookies: dict) -> dict:
    latencies: list[float] = []
    errors = 0
    stop_at = time.perf_counter() + seconds
    connector = aiohttp.TCPConnector(limit=concurrency, force_close=False)
    async with aiohttp.ClientSession(connector=connector, headers=headers, cookies=cookies) as session:
        async def worker() -> None:
            nonlocal errors
            while time.perf_counter() < stop_at:
                t0 = time.perf_counter()
                try:
                    async with session.get(url) as resp:
                        await resp.read()
                        if resp.status != 200:
                            errors += 1
                except aiohttp.ClientError:
                    errors += 1
                latencies.append(time.perf_counter() - t0)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    latencies.sort()
    n = len(latencies)
    return {"requests": n, "errors": errors, "seconds": round(elapsed, 3),
            "rps": round(n / elapsed, 1) if elapsed else 0.0,
            "p50_ms": round(latencies[n // 2] * 1000, 2) if n else None,
            "p99_ms": round(latencies[min(n - 1, int(n * 0.99))] * 1000, 2) if n else None}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("-H", "--header", action="append", default=[])
    parser.add_argument("--cookie", action="append", default=[])
    args = parser.parse_args()
    headers = dict(h.split(": ", 1) for h in args.header)
    cookies = dict(c.split("=", 1) for c in args.cookie)
    print(json.dumps(asyncio.run(hammer(args.url, args.concurrency, args.seconds, headers, cookies))))


if __name__ == "__main__":
    main()
