"""Shared set-up for the vats tests: a vats account with known people and numbers, an API
client that sends ``X-API-KEY``, and helpers that play a call to its end on the manual clock."""

from __future__ import annotations

import functools
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from conftest import point_crm  # noqa: F401  (re-exported for the vats tests)

from simulator.core.engine import Call

KEY = "test-key"
DOMAIN = "test.megapbx.ru"
SALES_NUMBER = "74951110000"     # routes to the department "sales" (admin, anton, ivan; ALL)
ANTON_NUMBER = "74957654321"     # routes to anton: his own number (telnum)
CLIENT = "79101234567"
MONDAY_NOON_UTC = datetime(2026, 1, 12, 12, 0, 0, tzinfo=timezone.utc)   # 15:00 in Moscow


def vats_config() -> dict:
    return {
        "server": {"seed": 7},
        "accounts": [{
            "id": "vats", "provider": "vats", "domain": DOMAIN,
            "credentials": {"api_key": KEY},
            "crm": {"crm_token": "vats-crm-token"},
            "seed": {
                "employees": [
                    {"login": "admin", "ext": "701", "name": "Администратор", "position": "Администратор",
                     "role": "admin", "email": "admin@example.com", "mobile": "79261234567"},   # its SIM
                    {"login": "anton", "ext": "702", "name": "Антон Петров", "email": "",
                     "direct_number": "74957654321", "mobile": "79161112233"},
                    {"login": "ivan", "ext": "703", "name": "Иван Сидоров", "email": "", "mobile": "79162223344"},
                ],
                "departments": [{"id": "sales", "name": "Отдел продаж", "ext": "600", "call_order": "ALL",
                                 "timeout": 60, "members": ["admin", "anton", "ivan"]}],
                "numbers": [
                    {"number": SALES_NUMBER, "route": {"type": "department", "target": "sales"}},
                    {"number": ANTON_NUMBER, "route": {"type": "employee", "target": "anton"}},
                ],
                "blacklist": [{"number": "79990000001", "comment": "спам"},
                              {"number": "7900800*", "comment": "Причина"}],
                "sims": [{"number": "79261234567", "employee": "admin"},
                         {"number": "79261238888", "state": "company"}],
                "generate": {"calls": 0},
            },
        }],
    }


@pytest.fixture
def sim_config() -> dict:
    return vats_config()


class Api:
    """``await api.get("/users")`` → (status, parsed body) with the account's X-API-KEY."""

    def __init__(self, client):
        self.client = client

    async def request(self, method: str, path: str, key: str | None = KEY, **kw) -> tuple[int, Any]:
        headers = dict(kw.pop("headers", {}))
        if key is not None:
            headers["X-API-KEY"] = key
        async with self.client.request(method, "/crmapi/v1" + path, headers=headers, **kw) as resp:
            raw = await resp.read()
            if resp.content_type == "application/json":
                return resp.status, await resp.json()
            return resp.status, raw

    async def get(self, path: str, **kw):
        return await self.request("GET", path, **kw)

    async def post(self, path: str, **kw):
        return await self.request("POST", path, **kw)

    async def put(self, path: str, **kw):
        return await self.request("PUT", path, **kw)

    async def delete(self, path: str, **kw):
        return await self.request("DELETE", path, **kw)


@pytest.fixture
def api(client) -> Api:
    return Api(client)


async def finish(sim, call: Call, step: float = 5.0, limit: int = 400):
    """Advance the manual clock until the call ends; deliver its webhooks. Returns the CDR."""
    for _ in range(limit):
        if call.done.done():
            break
        await sim.clock.advance(step)
    assert call.done.done(), "call did not end"
    await sim.webhooks.drain()
    return call.done.result()


async def start_at(sim, when: datetime = MONDAY_NOON_UTC) -> None:
    await sim.clock.set(when)


def crm_answers(contact: dict | None = None):
    """A CRM ``answer`` function: ``contact`` for the contact lookup, an empty 200 otherwise."""
    def answer(received):
        if received.data.get("cmd") == "contact" and contact is not None:
            return contact
        return None
    return answer


def hooks(crm, cmd: str | None = None) -> list[dict]:
    """The webhooks the test CRM received (their fields), optionally of one ``cmd``."""
    return [r.data for r in crm.received if cmd is None or r.data.get("cmd") == cmd]


def events(crm) -> list[tuple[str, str]]:
    return [(h["type"], h["user"]) for h in hooks(crm, "event")]
