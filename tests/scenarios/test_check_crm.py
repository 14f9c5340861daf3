"""``pbx-sim check-crm``: a good CRM passes; a CRM that answers ``contact`` with invalid JSON,
or too slowly, fails with a message saying so."""

from __future__ import annotations

import asyncio
from xml.etree import ElementTree as ET

import pytest
from aiohttp import web

from simulator.scenarios.conformance import EXPECTED_SIGNATURES, ConformanceCheck, catalogue
from simulator.scenarios.loader import parse_scenario


async def start_crm(aiohttp_server, behaviour: str, provider: str, token: str = "tok"):
    """A CRM under test: ``good``, ``bad-json`` (lookups), ``slow`` (lookups), ``wrong-status``."""
    seen: list[dict] = []

    async def handle(request: web.Request) -> web.StreamResponse:
        if request.content_type == "application/x-www-form-urlencoded":
            data = dict(await request.post())
            if data.get("crm_token") != token:
                return web.json_response({"error": "Invalid token"}, status=401)
        else:
            data = await request.json()
        seen.append(data)
        lookup = isinstance(data, dict) and (data.get("cmd") == "contact" or data.get("request") == "call.settings")
        if lookup and behaviour == "bad-json":
            return web.Response(text="<html>Forbidden</html>", content_type="text/html")
        if lookup and behaviour == "slow":
            await asyncio.sleep(1.0)
        if behaviour == "wrong-status" and not lookup:
            return web.Response(status=500, text="boom")
        if lookup:
            if provider == "phonet":
                return web.json_response({"otherLeg": None})
            return web.json_response({"contact_name": "Тестовый Клиент", "responsible": ""})
        return web.Response(status=200)

    app = web.Application()
    app.router.add_post("/hook", handle)
    server = await aiohttp_server(app)
    return str(server.make_url("/hook")), seen


@pytest.mark.parametrize("provider", ["vats", "phonet", "cloudpbx"])
def test_the_catalogue_is_a_valid_scenario(provider):
    scenario = parse_scenario(catalogue(provider), "catalogue")
    ids = scenario.call_ids()
    for case in ("answered-plus-number", "answered-plain-number", "answered-prefixed-number", "unknown-number-ivr",
                 "missed-to-voicemail", "transferred", "rated", "anonymous-caller", "cyrillic-employee",
                 "outgoing-busy", "outgoing-unavailable", "outgoing-forbidden", "outgoing-not-found",
                 "click-to-call", "internal", "voicemail", "blacklisted-caller", "out-of-hours", "employee-in-dnd"):
        assert case in ids
    assert parse_scenario(catalogue(provider, duplicates=True), "dup").steps


@pytest.mark.parametrize("provider", ["vats", "phonet", "cloudpbx"])
async def test_a_good_crm_passes_and_every_webhook_type_is_sent(aiohttp_server, provider):
    url, seen = await start_crm(aiohttp_server, "good", provider)
    report = await ConformanceCheck(provider, url, "tok", timeout=5.0).run()
    assert report.passed, report.render()
    assert seen
    assert report.not_provoked == [], report.not_provoked
    signatures = {v.signature for v in report.verdicts}
    assert set(EXPECTED_SIGNATURES[provider]) <= signatures
    assert "webhooks checked" in report.render()


async def test_duplicated_phonet_events_are_sent(aiohttp_server):
    url, seen = await start_crm(aiohttp_server, "good", "phonet")
    report = await ConformanceCheck("phonet", url, timeout=5.0).run()
    dup = [v for v in report.verdicts if v.case == "duplicated-events"]
    events = [v.request for v in dup if v.signature.startswith("call.")]
    assert len(events) > len(set(events)), "each event of the duplicated case must be sent twice"


@pytest.mark.parametrize("provider", ["vats", "phonet"])
async def test_invalid_json_for_the_lookup_fails_saying_so(aiohttp_server, provider):
    url, _ = await start_crm(aiohttp_server, "bad-json", provider)
    report = await ConformanceCheck(provider, url, "tok", timeout=5.0).run()
    assert not report.passed
    bad = [v for v in report.verdicts if not v.ok]
    assert bad and all(v.signature in ("contact", "call.settings") for v in bad)
    assert any("not valid JSON" in p for v in bad for p in v.problems), bad[0].problems
    assert "answer is not valid JSON" in report.render()


async def test_a_slow_crm_fails_with_a_timeout_message(aiohttp_server):
    url, _ = await start_crm(aiohttp_server, "slow", "cloudpbx")
    report = await ConformanceCheck("cloudpbx", url, "tok", timeout=0.2).run()
    assert not report.passed
    late = [v for v in report.verdicts if not v.ok]
    assert late and all(v.signature == "contact" for v in late)
    assert all("no answer within 0.2 s: the CRM took too long" in v.problems[0] for v in late)
    xml = ET.fromstring(report.junit_xml().split("\n", 1)[1])
    failures = list(xml.iter("failure"))
    assert len(failures) == len(late)
    assert "took too long" in failures[0].get("message")


async def test_a_wrong_token_or_status_is_reported(aiohttp_server):
    url, _ = await start_crm(aiohttp_server, "good", "vats", token="expected")
    report = await ConformanceCheck("vats", url, "other", timeout=5.0).run()
    assert not report.passed
    assert all(v.status == 401 for v in report.verdicts)
    assert any("answered HTTP 401" in p for v in report.verdicts for p in v.problems)
    url, _ = await start_crm(aiohttp_server, "wrong-status", "cloudpbx")
    report = await ConformanceCheck("cloudpbx", url, "tok", timeout=5.0).run()
    assert any("answered HTTP 500" in p for v in report.verdicts for p in v.problems)


async def test_t2_has_nothing_to_check():
    report = await ConformanceCheck("t2", "http://127.0.0.1:9/hook").run()
    assert not report.passed and "sends no webhooks" in report.error


async def test_an_unreachable_crm_is_reported_once():
    report = await ConformanceCheck("vats", "http://127.0.0.1:9/hook", timeout=0.5).run()
    assert not report.passed and report.verdicts
    assert all(v.status is None for v in report.verdicts)
    text = report.render()
    assert "the CRM could not be reached: connection failed" in text and len(text.splitlines()) == 2
