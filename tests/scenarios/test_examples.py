"""Every example scenario against every provider, with a test CRM the test starts."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from aiohttp import web

from simulator.scenarios.loader import load_scenario
from simulator.scenarios.model import PROVIDERS
from simulator.scenarios.office import office
from simulator.scenarios.runner import run_scenario

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "scenarios").glob("*.yaml"))


def test_there_are_enough_examples():
    assert len(EXAMPLES) >= 12
    covered = {tag for path in EXAMPLES for tag in load_scenario(path).tags}
    for flow in ("answered", "voicemail", "BYORDER", "ALL", "transfer", "click-to-call", "busy", "blacklist",
                 "out-of-hours", "dnd", "ivr", "internal", "rating"):
        assert flow in covered, flow


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
async def test_example_passes_with_the_builtin_crm(path, provider):
    scenario = load_scenario(path)
    report = await run_scenario(scenario, provider)
    if not scenario.applies_to(provider):
        assert report.status == "skipped"
        return
    assert report.status == "passed", report.render()
    if report.webhooks and any(e.kind == "webhooks" for e in scenario.expectations):
        # what was sent was checked, not waved through as "not applicable"
        assert any(e.status == "passed" for e in report.expectations if e.title.startswith("webhooks"))


def _scenario_contacts(scenario) -> dict[str, dict]:
    """The scenario's CRM contacts by phone digits, with the responsible's login and ext."""
    exts = {e["login"]: str(e.get("ext", "")) for e in office(scenario)["employees"]}
    return {str(c["phone"]).lstrip("+"): {"name": c.get("name", ""), "login": str(c.get("responsible", "")),
                                          "ext": exts.get(str(c.get("responsible", "")))}
            for c in scenario.crm.get("contacts", [])}


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
async def test_example_passes_with_a_test_crm(aiohttp_server, path, provider):
    """The same, with the webhooks going to a CRM this test starts (--crm-url): everything the
    report lists reached it."""
    scenario = load_scenario(path)
    if not scenario.applies_to(provider):
        return
    url, received = await _contact_crm(aiohttp_server, _scenario_contacts(scenario))
    report = await run_scenario(scenario, provider, crm_url=url)
    assert report.status == "passed", report.render()
    assert len(received) == len(report.webhooks)
    if provider == "t2":
        assert received == []


async def _contact_crm(aiohttp_server, contacts: dict[str, dict]):
    """A test CRM: records every webhook, answers lookups from ``contacts`` (by phone)."""
    received = []

    async def handle(request: web.Request) -> web.Response:
        if request.content_type == "application/x-www-form-urlencoded":
            data = dict(await request.post())
        else:
            data = await request.json()
        received.append(data)
        if isinstance(data, dict) and data.get("cmd") == "contact":
            c = contacts.get(data["phone"].lstrip("+"))
            if data.get("crm_token") != "scenario-crm-token":
                return web.json_response({"error": "Invalid token"}, status=401)
            return web.json_response({"contact_name": c["name"], "responsible": c["login"]} if c
                                     else {"contact_name": "", "responsible": ""})
        if isinstance(data, dict) and data.get("request") == "call.settings":
            c = contacts.get(str(data["otherLegNum"]).lstrip("+"))
            return web.json_response({"otherLeg": {"name": c["name"], "url": "http://crm/1", "urlText": c["name"],
                                                   "newEntry": False, "responsibleEmployeeExt": c["ext"]}}
                                     if c else {"otherLeg": None})
        return web.Response()

    app = web.Application()
    app.router.add_post("/hook", handle)
    server = await aiohttp_server(app)
    return str(server.make_url("/hook")), received


@pytest.mark.parametrize("provider", ["vats", "phonet"])
async def test_a_late_crm_answer_fails_in_time(aiohttp_server, provider):
    async def handle(request: web.Request) -> web.Response:
        body = await request.read()
        if b"contact" in body or b"call.settings" in body:
            await asyncio.sleep(0.5)
        return web.json_response({})

    app = web.Application()
    app.router.add_post("/slow", handle)
    server = await aiohttp_server(app)
    scenario = load_scenario(next(p for p in EXAMPLES if p.name == "01_incoming_answered.yaml"))
    report = await run_scenario(scenario, provider, crm_url=str(server.make_url("/slow")), crm_timeout=0.2)
    assert report.status == "failed"
    failures = "\n".join(report.failures())
    assert "every answer in time" in failures and "timeout: no answer within 0.2 s" in failures
    # the call still went on without the CRM's answer
    assert report.calls["c1"].startswith("answered")
