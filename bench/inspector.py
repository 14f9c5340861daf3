"""The inspector's live update: from a call placed through the admin API to the page's office
board showing who rings, in a real browser (Debian's chromium through Playwright), against
``pbx-sim serve`` with the demo configuration. Prints one JSON line:
``{"median_ms", "p90_ms", "max_ms", "runs"}`` (or ``{"skipped": why}``).

    python -m bench.inspector [RUNS]
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time
from pathlib import Path

from .figures import PY, free_port, http_json, process, wait_http

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]

# the moment (epoch ms) the board first shows an employee ringing on the given call
WATCH = """call => new Promise(done => {
  const seen = () => document.querySelector(`[data-part="board"] .employee[data-state="ringing"]`);
  if (seen()) return done(performance.timeOrigin + performance.now());
  new MutationObserver((_, obs) => { if (seen()) { obs.disconnect(); done(performance.timeOrigin + performance.now()); } })
    .observe(document.querySelector('[data-part="board"]'), {childList: true, subtree: true});
})"""
IDLE = """() => !document.querySelector('[data-part="board"] .employee[data-state="ringing"], [data-part="board"] .employee[data-state="talking"]')"""


async def measure(runs: int) -> dict:
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        return {"skipped": "the playwright package is not installed"}
    if not Path(CHROMIUM).is_file():
        return {"skipped": f"no chromium at {CHROMIUM}"}
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with process([PY, "-m", "simulator", "serve", "--port", str(port), "--clock", "manual", "--log-level", "warning"]):
        wait_http(f"{base}/_sim/health")
        number = json.loads(http_json(f"{base}/_sim/accounts/vats/office")[2])["numbers"][0]["number"]
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = await browser.new_page(viewport={"width": 1280, "height": 800})
            await page.goto(f"{base}/_sim/ui")
            await page.wait_for_selector('#live[data-state="on"]')
            latencies = []
            for _ in range(runs):
                watcher = asyncio.ensure_future(page.evaluate(WATCH, None))
                await asyncio.sleep(0.05)   # the observer is in place
                sent = time.time() * 1000
                status, _, body = await asyncio.to_thread(
                    http_json, f"{base}/_sim/calls",
                    json.dumps({"account": "vats", "direction": "in", "from": "+79161234567", "to": number,
                                "manual": True}).encode(), {"Content-Type": "application/json"})
                shown = await watcher
                latencies.append(shown - sent)
                call_id = json.loads(body)["call_id"]
                await asyncio.to_thread(http_json, f"{base}/_sim/calls/{call_id}/hangup?account=vats&side=A",
                                        b"", {}, "POST")
                await page.wait_for_function(IDLE)
            await browser.close()
    latencies.sort()
    return {"median_ms": round(statistics.median(latencies), 1),
            "p90_ms": round(latencies[int(len(latencies) * 0.9) - 1], 1),
            "max_ms": round(latencies[-1], 1), "runs": runs}


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    print(json.dumps(asyncio.run(measure(runs))))


if __name__ == "__main__":
    main()

__all__ = ["measure"]
