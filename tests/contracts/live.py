"""A simulator served on a loopback port from a thread of its own, for clients that are not
asyncio (schemathesis drives it with ``requests``). Manual clock: nothing moves by itself."""

from __future__ import annotations

import asyncio
import threading
from typing import Any, Awaitable

from aiohttp import web

from simulator.app import make_app
from simulator.config import parse_config
from simulator.core.clock import Clock
from simulator.sim import Simulator


class LiveSimulator:
    def __init__(self, config: dict):
        self.config = config
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="live-sim", daemon=True)
        self.sim: Simulator | None = None
        self.runner: web.AppRunner | None = None
        self.url = ""

    def run(self, coro: Awaitable[Any], timeout: float = 30) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def start(self) -> "LiveSimulator":
        self.thread.start()
        self.run(self._start())
        return self

    async def _start(self) -> None:
        self.sim = Simulator(parse_config(self.config), Clock("manual"))
        await self.sim.start()
        self.runner = web.AppRunner(make_app(self.sim), access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = self.runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"
        self.sim.public_url = self.url

    def stop(self) -> None:
        try:
            if self.runner is not None:
                self.run(self.runner.cleanup())       # the app's cleanup closes the simulator
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)
            self.loop.close()
