"""CRM receivers replayed over a day of traffic (observed.md): for vats, cloudpbx and phonet a
receiver's parsing rules, as the public receivers written against the live services apply
them, run over every webhook the simulator sent during a simulated day of seeded traffic.
Every hook must parse, and every call / leg id a webhook carried must be found in the
provider's history afterwards — the lookup receivers do after a hang-up. (t2 sends no
webhooks.)"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from urllib.parse import parse_qsl

import pytest
from aiohttp import web

from conftest import point_crm
from simulator.app import make_app
from simulator.config import parse_config
from simulator.core.clock import Clock
from simulator.scenarios.traffic import run_in_process
from simulator.sim import Simulator

DAY = 86400
CALLS_PER_HOUR = 12
VATS_TOKEN, CLOUD_TOKEN = "vats-crm-token", "cloud-crm-token"
GEN = {"employees": 8, "departments": 2, "numbers": 4, "blacklist": 2, "sims": 3, "contacts": 6, "calls": 0}

STRICT_START = re.compile(r"^\d{8}T\d{6}Z$")            # yyyyMMddTHHmmssZ, parsed strictly
CAPITALISED = {"Success", "Missed", "Cancel", "Busy", "NotAvailable", "NotAllowed", "NotFound"}
OUTGOING_ONLY = {"Busy", "NotAvailable", "NotAllowed", "NotFound"}
EVENT_TYPES = {"INCOMING", "ACCEPTED", "COMPLETED", "CANCELLED", "OUTGOING", "TRANSFERRED"}
CLOSING = {"COMPLETED", "CANCELLED", "TRANSFERRED"}
HISTORY_REQUIRED = ("callid", "user", "phone", "type", "status", "diversion", "start", "duration")


def config() -> dict:
    return {"server": {"seed": 17, "clock": "instant"}, "accounts": [
        {"id": "vats", "provider": "vats", "domain": "day.megapbx.ru", "crm": {"crm_token": VATS_TOKEN},
         "seed": {"generate": GEN}},
        {"id": "cloudpbx", "provider": "cloudpbx", "domain": "day.cloudpbx.ru", "crm": {"crm_token": CLOUD_TOKEN},
         "settings": {"route_to_responsible": True}, "seed": {"generate": GEN}},
        {"id": "phonet", "provider": "phonet", "domain": "day.phonet.com.ua", "settings": {"strict_host": False},
         "seed": {"generate": GEN}},
    ]}


class Receiver:
    """A CRM endpoint that keeps every request and answers as the receivers do."""

    def __init__(self, provider: str):
        self.provider = provider
        self.requests: list[tuple[str, bytes]] = []

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self.requests.append((request.headers.get("Content-Type", ""), body))
        if self.provider == "phonet":
            data = json.loads(body)
            if isinstance(data, dict) and "event" not in data and data.get("request") == "call.settings":
                return web.json_response({"otherLeg": None})
            return web.Response(status=200)
        form = dict(parse_qsl(body.decode(), keep_blank_values=True))
        if form.get("cmd") == "contact":
            return web.json_response({"contact_name": "", "responsible": ""} if self.provider == "vats" else {})
        return web.Response(status=200)


async def day_of_traffic(aiohttp_server, provider: str):
    receiver = Receiver(provider)
    app = web.Application()
    app.router.add_post("/crm", receiver.handle)
    server = await aiohttp_server(app)
    sim = Simulator(parse_config(config()), Clock("instant"))
    await sim.start()
    url = str(server.make_url("/crm"))
    point_crm(sim, provider, url)
    report = await run_in_process(sim, provider, CALLS_PER_HOUR, DAY, seed=4)
    assert report.placed > 200 and report.webhook_failures == 0, report.render()
    return sim, receiver


def vats_form(content_type: str, body: bytes) -> dict:
    assert content_type.startswith("application/x-www-form-urlencoded"), content_type
    pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=True)
    form = dict(pairs)
    assert len(form) == len(pairs), "a field sent twice"
    return form


def check_history(form: dict) -> None:
    for key in HISTORY_REQUIRED:
        assert key in form, (key, form)
    assert STRICT_START.match(form["start"]), form["start"]
    assert form["status"] in CAPITALISED, form
    assert form["type"] in ("in", "out"), form
    if form["type"] == "in":
        assert form["status"] not in OUTGOING_ONLY, form
    assert form["duration"].isdigit()
    assert form.get("missedStatus", "2") == "2"
    assert "null" not in form.values()


def check_events(events: list[dict]) -> None:
    """A pop-up opened by INCOMING / OUTGOING for a user closes again."""
    opened: dict[tuple[str, str], int] = defaultdict(int)
    for form in events:
        assert form["type"] in EVENT_TYPES, form
        assert form["direction"] in ("in", "out")
        key = (form["callid"], form["user"])
        if form["type"] in ("INCOMING", "OUTGOING"):
            opened[key] += 1
        elif form["type"] in CLOSING:
            opened[key] -= 1
    assert {k: v for k, v in opened.items() if v > 0} == {}


async def test_vats_receiver_over_a_day(aiohttp_server, aiohttp_client):
    sim, receiver = await day_of_traffic(aiohttp_server, "vats")
    try:
        forms = [vats_form(ct, body) for ct, body in receiver.requests]
        assert all(list(f)[0] == "cmd" and f.get("crm_token") == VATS_TOKEN for f in forms)
        assert {f["cmd"] for f in forms} <= {"contact", "event", "history", "rating"}
        histories = [f for f in forms if f["cmd"] == "history"]
        for form in histories:
            check_history(form)
        check_events([f for f in forms if f["cmd"] == "event"])
        assert any(f.get("missedStatus") for f in histories)     # call-backs happen in a day
        # every callid is in /history/json afterwards
        api = await aiohttp_client(make_app(sim))
        key = {"X-API-KEY": sim.account("vats").credentials["api_key"]}
        resp = await api.get("/crmapi/v1/history/json", headers=key, params={"period": "this_month"})
        uids = {r["uid"] for r in await resp.json()}
        start = min(c.started_at for c in sim.account("vats").state.cdrs)
        resp = await api.get("/crmapi/v1/history/json", headers=key,
                             json={"start": time_compact(start - 60), "end": time_compact(sim.clock.timestamp())})
        uids |= {r["uid"] for r in await resp.json()}
        assert {f["callid"] for f in forms} <= uids
    finally:
        await sim.close()


async def test_cloudpbx_receiver_over_a_day(aiohttp_server, aiohttp_client):
    sim, receiver = await day_of_traffic(aiohttp_server, "cloudpbx")
    try:
        forms = [vats_form(ct, body) for ct, body in receiver.requests]
        assert all(list(f)[0] == "crm_token" and f["crm_token"] == CLOUD_TOKEN for f in forms)
        assert {f["cmd"] for f in forms} <= {"contact", "event", "history"}      # never rating
        for form in (f for f in forms if f["cmd"] == "history"):
            check_history({"user": "", "diversion": "", **form})   # cloudpbx leaves empty fields out
        check_events([f for f in forms if f["cmd"] == "event"])
        api = await aiohttp_client(make_app(sim))
        start = min(c.started_at for c in sim.account("cloudpbx").state.cdrs)
        resp = await api.post("/sys/crm_api.wcgp", data={
            "cmd": "history", "token": sim.account("cloudpbx").credentials["token"],
            "start": time_compact(start - 60), "end": time_compact(sim.clock.timestamp())})
        assert resp.status == 200
        rows = [line.split(",") for line in (await resp.text()).splitlines() if line]
        assert all(len(r) == 9 for r in rows)
        assert {f["callid"] for f in forms} <= {r[0] for r in rows}
    finally:
        await sim.close()


async def test_phonet_receiver_over_a_day(aiohttp_server, aiohttp_client):
    sim, receiver = await day_of_traffic(aiohttp_server, "phonet")
    try:
        seen: set[tuple[str, str]] = set()
        uuids: set[str] = set()
        for content_type, body in receiver.requests:
            assert content_type.startswith("application/json")
            data = json.loads(body)
            if isinstance(data, list):            # UTM batch
                assert all(isinstance(r["callParentUuid"], str) for r in data)
                continue
            if "event" not in data:               # the lookup
                assert data["request"] == "call.settings" and isinstance(data["otherLegNum"], str)
                continue
            key = (data["uuid"], data["event"])
            assert key not in seen                # de-duplicated on (uuid, event): none twice
            seen.add(key)
            assert data["event"] in ("call.dial", "call.bridge", "call.hangup")
            assert data["lgDirection"] in (1, 2, 4, 32, 64)
            assert data["dialAt"] > 10**12 and data["serverTime"] > 10**12        # epoch ms
            assert data["bridgeAt"] is None or data["bridgeAt"] > 10**12
            if data["lgDirection"] in (2, 4):
                num = data["otherLegs"][0]["num"]
                assert isinstance(num, str) and num.lstrip("+").isdigit()
                assert isinstance(data["trunkNum"], str)
            uuids.add(data["uuid"])
        assert uuids
        # after call.hangup receivers look the uuid up in company.api
        account = sim.account("phonet")
        api = await aiohttp_client(make_app(sim))
        resp = await api.post("/rest/security/authorize",
                              json={"domain": account.domain, "apiKey": account.credentials["api_key"]})
        cookie = {"Cookie": resp.headers["Set-Cookie"].split(";")[0]}
        start = min(c.started_at for c in account.state.cdrs)
        t_from, t_to = int((start - 60) * 1000), int((sim.clock.timestamp() + 60) * 1000)
        found: set[str] = set()
        offset = 0
        while True:
            resp = await api.get("/rest/calls/company.api", headers=cookie,
                                 params={"timeFrom": t_from, "timeTo": t_to, "limit": 50, "offset": offset})
            page = await resp.json()
            found |= {r["uuid"] for r in page}
            if len(page) < 50:
                break
            offset += 50
        assert uuids <= found, sorted(uuids - found)[:5]
    finally:
        await sim.close()


def time_compact(ts: float) -> str:
    from datetime import datetime, timezone
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y%m%dT%H%M%SZ")
