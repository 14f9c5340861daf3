"""The PBX → CRM webhooks the simulator sends match the ``webhooks`` of the provider's OpenAPI
document (openapi-core's webhook request validation): a handful of calls of every kind per
provider, every webhook the test CRM received checked. t2 sends none."""

from __future__ import annotations

from urllib.parse import parse_qsl

import pytest
from multidict import CIMultiDict, MultiDict
from openapi_core.datatypes import RequestParameters

from conftest import point_crm
from simulator.core.engine import CallScript

from .openapi_check import openapi


class HookRequest:
    """openapi-core's WebhookRequest protocol over one received webhook."""

    def __init__(self, name: str, received):
        self.name = name
        self.method = "post"
        self.body = received.body
        self.content_type = received.content_type
        self.parameters = RequestParameters(query=MultiDict(), header=CIMultiDict(received.headers), cookie={})


def hook_name(provider: str, received) -> str:
    if provider == "phonet":
        data = received.json
        if isinstance(data, list):
            return "utm"
        return "call.event" if "event" in data else "call.settings"
    return dict(parse_qsl(received.body.decode(), keep_blank_values=True)).get("cmd") or received.json.get("cmd")


EXPECTED = {"cloudpbx": {"contact", "event", "history"}, "vats": {"contact", "event", "history"},
            "phonet": {"call.settings", "call.event", "utm"}}


@pytest.mark.parametrize("provider", sorted(EXPECTED))
async def test_every_webhook_sent_matches_the_document(sim, crm, provider):
    point_crm(sim, provider, crm.url)
    account = sim.account(provider)
    state = account.state
    employees = sorted(state.employees.values(), key=lambda e: e.id)
    calls = []
    for number in sorted(state.numbers):
        calls.append(sim.engine.incoming(account, "79101234567", number,
                                         CallScript(outcome="answered", talk_s=12, record=True, rating=5,
                                                    utm={"utm_source": "google", "utm_campaign": "spring"})))
        calls.append(sim.engine.incoming(account, "79107654321", number, CallScript(outcome="missed")))
    calls.append(sim.engine.click_to_call(account, employees[0], "79101234567", CallScript(outcome="answered", talk_s=7)))
    calls.append(sim.engine.outgoing(account, employees[1], "79101234567", CallScript(outcome="busy")))
    await sim.clock.advance(900)
    for call in calls:
        await call.done
    await sim.clock.advance(120)          # UTM batches go out on the next minute boundary
    assert await sim.webhooks.drain()
    spec = openapi(provider)
    seen, bad = set(), []
    for received in crm.received:
        name = hook_name(provider, received)
        seen.add(name)
        for error in spec.iter_webhook_request_errors(HookRequest(name, received)):
            cause = error.__cause__
            detail = "; ".join(e.message for e in getattr(cause, "schema_errors", []) or [])[:300]
            bad.append(f"{name}: {type(error).__name__}: {error} {detail} ← {received.body[:200]!r}")
    assert EXPECTED[provider] <= seen, f"not every kind of webhook was sent: {seen}"
    assert not bad, "\n".join(bad[:10])
