"""Shared fixtures: a simulator on a manual clock with small accounts, an aiohttp test client
for it, and a test CRM that records every webhook and answers as a test tells it to."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import parse_qsl

import pytest
from aiohttp import web

from simulator.app import make_app
from simulator.config import parse_config
from simulator.core.clock import Clock
from simulator.sim import SIM, Simulator


def small_config(**server) -> dict:
    """One account per provider, a few employees each, no past calls (fast)."""
    gen = {"employees": 6, "departments": 2, "numbers": 3, "blacklist": 2, "sims": 3,
           "managers": 1, "contacts": 5, "calls": 0}
    return {
        "server": {"seed": 7, **server},
        "accounts": [
            {"id": "t2", "provider": "t2", "domain": "ats2.t2.ru", "seed": {"generate": gen}},
            {"id": "vats", "provider": "vats", "domain": "test.megapbx.ru",
             "crm": {"crm_token": "vats-crm-token"}, "seed": {"generate": gen}},
            # the test client's Host is 127.0.0.1: relax phonet's "host must equal domain"
            {"id": "phonet", "provider": "phonet", "domain": "test4.phonet.com.ua",
             "settings": {"strict_host": False}, "seed": {"generate": gen}},
            {"id": "cloudpbx", "provider": "cloudpbx", "domain": "test.cloudpbx.ru",
             "crm": {"crm_token": "cloud-crm-token"}, "seed": {"generate": gen}},
        ],
    }


@pytest.fixture
def sim_config() -> dict:
    """Override in a test module to change the configuration."""
    return small_config()


@pytest.fixture
async def sim(sim_config) -> Simulator:
    cfg = parse_config(sim_config)
    simulator = Simulator(cfg, Clock("manual"))
    await simulator.start()
    yield simulator
    await simulator.close()


@pytest.fixture
def aiohttp_client(aiohttp_client, request):
    """pytest-aiohttp's, plus: every simulator app a test opens has its provider answers checked
    against schemas/openapi/<provider>.json (tests/contracts/openapi_check.py)."""
    from contracts.openapi_check import check_openapi

    async def open_client(app_or_server, *args, **kwargs):
        app = getattr(app_or_server, "app", app_or_server)
        if isinstance(app, web.Application) and SIM in app and not app.frozen:
            check_openapi(app, request)
        return await aiohttp_client(app_or_server, *args, **kwargs)
    return open_client


@pytest.fixture
async def client(aiohttp_client, sim):
    app = make_app(sim)
    test_client = await aiohttp_client(app)
    sim.public_url = str(test_client.make_url("")).rstrip("/")
    return test_client


@dataclass
class Received:
    path: str
    headers: dict
    body: bytes
    content_type: str

    @property
    def form(self) -> dict:
        return dict(parse_qsl(self.body.decode(), keep_blank_values=True))

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def data(self) -> Any:
        """The webhook's fields, however it was encoded."""
        if self.content_type.startswith("application/x-www-form-urlencoded"):
            return self.form
        return self.json


@dataclass
class TestCrm:
    """A CRM the test controls: ``answer`` decides each reply from the received webhook."""
    url: str = ""
    received: list[Received] = field(default_factory=list)
    answer: Callable[[Received], Any] | None = None
    delay: float = 0.0

    def of(self, key: str, value: str) -> list[Any]:
        return [r.data for r in self.received
                if isinstance(r.data, dict) and r.data.get(key) == value]


@pytest.fixture
async def crm(aiohttp_server) -> TestCrm:
    state = TestCrm()

    async def handle(request: web.Request) -> web.StreamResponse:
        rec = Received(request.path_qs, dict(request.headers), await request.read(),
                       request.headers.get("Content-Type", ""))
        state.received.append(rec)
        if state.delay:
            await asyncio.sleep(state.delay)
        reply = state.answer(rec) if state.answer else None
        if isinstance(reply, web.StreamResponse):
            return reply
        if reply is None:
            return web.Response(status=200)
        return web.json_response(reply)

    app = web.Application()
    app.router.add_route("POST", "/{tail:.*}", handle)
    server = await aiohttp_server(app)
    state.url = str(server.make_url("/crm"))
    return state


def point_crm(sim: Simulator, account_id: str, url: str, **extra) -> None:
    """Send ``account_id``'s webhooks to ``url`` (as PATCH /_sim/accounts would)."""
    account = sim.account(account_id)
    account.crm.url = url
    for key, value in extra.items():
        setattr(account.crm, key, value)
    sim.webhooks.allowed_urls.add(url)
