"""The bad-input catalogue's machinery: one case is one request that a provider must refuse with
its documented error, leaving the account's state exactly as it was."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest

CATEGORIES = ("malformed JSON", "wrong content type", "missing field", "empty field", "wrong type",
              "unknown enum", "bad date", "huge number", "long string", "cyrillic/emoji", "oversized",
              "nested too deep", "unstorable text")


@dataclass
class Bad:
    """``body`` is what the answer must be: a dict/list (JSON, compared exactly) or a str (text).
    ``data`` is a form dict or raw bytes; ``json`` a JSON value; ``oversize`` pads the body past
    the server's limit at run time."""
    category: str
    name: str
    method: str
    path: str
    status: int
    body: Any
    content_type: str = "application/json"
    params: dict | None = None
    data: Any = None
    json: Any = None
    headers: dict = field(default_factory=dict)
    oversize: bool = False

    def param(self):
        assert self.category in CATEGORIES, self.category
        return pytest.param(self, id=f"{self.category}: {self.name}")


def parametrize(cases, xfail: dict[str, str]) -> list:
    """The cases as pytest params; an open finding of FINDINGS.md (case name → reason in
    ``xfail``) runs as a strict xfail, so fixing it fails the test until the entry goes."""
    return [pytest.param(c, id=c.param().id, marks=pytest.mark.xfail(strict=True, reason=xfail[c.name]))
            if c.name in xfail else c.param() for c in cases]


def state_of(sim, account_id: str) -> str:
    return json.dumps(sim.account(account_id).state.to_json(), sort_keys=True, default=str)


async def send(client, sim, case: Bad, headers: dict | None = None):
    kwargs: dict[str, Any] = {"headers": {**(headers or {}), **case.headers}}
    if case.params is not None:
        kwargs["params"] = case.params
    if case.json is not None:
        kwargs["json"] = case.json
    data = case.data
    if case.oversize:
        limit = sim.config.server.body_limit
        data = (data or b"") + b"x" * (limit + 1 - len(data or b""))
    if data is not None:
        kwargs["data"] = data
    return await client.request(case.method, case.path, **kwargs)


async def check(client, sim, account_id: str, case: Bad, headers: dict | None = None) -> None:
    """Send ``case``; assert the exact documented answer and an unchanged account."""
    before = state_of(sim, account_id)
    live_before = len(sim.engine.live_calls(account_id))
    resp = await send(client, sim, case, headers)
    raw = await resp.read()
    assert case.body is not None, "a case must say its exact answer"
    assert resp.status == case.status, (resp.status, raw[:300])
    assert resp.content_type == case.content_type, (resp.content_type, raw[:300])
    if isinstance(case.body, str):
        assert raw.decode("utf-8") == case.body
    else:
        assert json.loads(raw) == case.body
    assert b"Traceback" not in raw
    assert len(sim.engine.live_calls(account_id)) == live_before, "a call was started"
    assert state_of(sim, account_id) == before, "the account's state changed"
