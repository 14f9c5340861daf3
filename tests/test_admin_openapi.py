"""The admin API's OpenAPI 3.1 document (``schemas/openapi/admin.json``): it is a valid
document, it names every /_sim route the server has, and real requests and answers of every
endpoint validate against it (openapi-core)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlencode

import pytest
from openapi_core import OpenAPI
from openapi_core.testing import MockRequest, MockResponse
from openapi_spec_validator import validate as validate_document

from simulator.core.webhooks import Webhook

DOC_PATH = Path(__file__).resolve().parents[1] / "schemas" / "openapi" / "admin.json"
SERVER = "http://127.0.0.1:8080"


def test_document_is_what_make_admin_builds(tmp_path):
    """Edit ``schemas/openapi/make_admin.py`` and run it, never the JSON by hand: a field the
    code adds or the generator's rules change shows here (``RequestEntry.ended`` once did)."""
    out = tmp_path / "admin.json"
    subprocess.run([sys.executable, str(DOC_PATH.with_name("make_admin.py")), str(out)], check=True,
                   cwd=DOC_PATH.parents[2], capture_output=True)
    assert out.read_text("utf-8") == DOC_PATH.read_text("utf-8"), \
        "schemas/openapi/admin.json is stale: run .venv/bin/python schemas/openapi/make_admin.py"


@pytest.fixture(scope="module")
def document() -> dict:
    return json.loads(DOC_PATH.read_text("utf-8"))


@pytest.fixture(scope="module")
def openapi(document) -> OpenAPI:
    return OpenAPI.from_dict(document)


class Checked:
    """Sends admin requests and checks each request and answer against the document."""

    def __init__(self, client, openapi: OpenAPI):
        self.client, self.openapi = client, openapi
        self.seen: set[tuple[str, int]] = set()

    async def __call__(self, method: str, path: str, *, json_body=None, raw: bytes | None = None,
                       query: dict | None = None, headers: dict | None = None, valid_request: bool = True):
        url = path + ("?" + urlencode(query) if query else "")
        data = raw if raw is not None else (json.dumps(json_body).encode() if json_body is not None else None)
        hdrs = {"Content-Type": "application/json", **(headers or {})} if data is not None else dict(headers or {})
        resp = await self.client.request(method, url, data=data, headers=hdrs)
        body = await resp.read()
        request = MockRequest(SERVER, method.lower(), path, args=query or {}, data=data,
                              headers=hdrs, content_type="application/json")
        if valid_request:
            self.openapi.validate_request(request)
        self.openapi.validate_response(request, MockResponse(body, status_code=resp.status,
                                                             content_type=resp.content_type))
        self.seen.add((method.upper(), resp.status))
        return resp.status, json.loads(body)


def test_document_is_valid_openapi_3_1(document):
    assert document["openapi"].startswith("3.1")
    validate_document(document)


def test_every_admin_route_is_documented(client, document):
    documented = {(m.upper(), p) for p, item in document["paths"].items()
                  for m in item if m in ("get", "put", "post", "patch", "delete")}
    served = set()
    for route in client.app.router.routes():
        info = route.resource.get_info()
        path = info.get("path") or info.get("formatter") or ""
        if path.startswith("/_sim") and route.method != "HEAD":
            served.add((route.method, re.sub(r"\{(\w+):[^}]+\}", r"{\1}", path)))
    missing = served - documented
    assert not missing, f"admin routes missing from {DOC_PATH.name}: {sorted(missing)}"
    assert not documented - served, f"documented but not served: {sorted(documented - served)}"


async def test_real_answers_of_every_endpoint_match_the_document(client, sim, crm, openapi):
    call = Checked(client, openapi)

    status, _ = await call("GET", "/_sim/health")
    assert status == 200
    # accounts
    assert (await call("GET", "/_sim/accounts"))[0] == 200
    status, created = await call("POST", "/_sim/accounts", json_body={
        "id": "extra", "provider": "vats", "crm": {"url": crm.url, "crm_token": "x"},
        "seed": {"generate": {"employees": 2, "numbers": 1, "calls": 0},
                 "numbers": [{"number": "74950001122", "route": {"type": "ivr", "ivr": {"1": {"type": "voicemail"}}}}]}})
    assert status == 201 and created["crm"]["url"] == crm.url
    assert (await call("POST", "/_sim/accounts", json_body={"id": "extra", "provider": "vats"}))[0] == 409
    assert (await call("POST", "/_sim/accounts", json_body={"id": "bad id!", "provider": "x"},
                       valid_request=False))[0] == 400
    assert (await call("GET", "/_sim/accounts/vats"))[0] == 200
    assert (await call("GET", "/_sim/accounts/nope"))[0] == 404
    assert (await call("PATCH", "/_sim/accounts/vats", json_body={
        "name": "n", "crm": {"url": crm.url, "timeout": 2}, "switches": {"crm": True}}))[0] == 200
    assert (await call("PATCH", "/_sim/accounts/vats", json_body={"colour": 1}, valid_request=False))[0] == 400
    assert (await call("PATCH", "/_sim/accounts/nope", json_body={"name": "n"}))[0] == 404
    assert (await call("POST", "/_sim/accounts/vats/credentials/regenerate"))[0] == 200
    assert (await call("POST", "/_sim/accounts/nope/credentials/regenerate"))[0] == 404
    # calls
    number = next(iter(sim.account("vats").state.numbers))
    status, placed = await call("POST", "/_sim/calls", json_body={
        "account": "vats", "direction": "in", "from": "79001112233", "to": number,
        "outcome": "answered", "ring_s": 2, "talk_s": 10, "rating": 5})
    assert status == 201
    assert (await call("GET", "/_sim/calls", query={"live": "1", "account": "vats"}))[0] == 200
    assert (await call("POST", f"/_sim/calls/{placed['call_id']}/hangup", query={"account": "vats"}))[0] == 200
    assert (await call("POST", "/_sim/calls/none/hangup", query={"account": "vats"}))[0] == 404
    assert (await call("POST", "/_sim/calls", json_body={
        "account": "vats", "direction": "in", "from": "1", "to": number})) [0] == 201
    await sim.clock.advance(120)
    status, calls = await call("GET", "/_sim/calls", query={"account": "vats", "limit": "5"})
    assert status == 200 and calls
    assert (await call("POST", "/_sim/calls", json_body={"account": "nope", "direction": "in", "to": "1"}))[0] == 404
    assert (await call("POST", "/_sim/calls", json_body={"account": "vats", "direction": "up", "to": "1"},
                       valid_request=False))[0] == 400
    assert (await call("GET", "/_sim/accounts/vats/state", query={"cdr_limit": "5"}))[0] == 200
    assert (await call("GET", "/_sim/accounts/extra/state"))[0] == 200
    assert (await call("GET", "/_sim/accounts/vats/state", query={"cdr_limit": "x"}, valid_request=False))[0] == 400
    # clock
    assert (await call("GET", "/_sim/clock"))[0] == 200
    assert (await call("POST", "/_sim/clock", json_body={"advance": "25h"}))[0] == 200
    assert (await call("POST", "/_sim/clock", json_body={"set": "2030-01-01T00:00:00Z"}))[0] == 200
    assert (await call("POST", "/_sim/clock", json_body={"advance": "soon"}, valid_request=False))[0] == 400
    # journals: a delivered webhook and a refused one
    sim.webhooks.enqueue(Webhook("extra", "vats", "history", crm.url, {"cmd": "history"}, "form", call_id="c"))
    sim.webhooks.enqueue(Webhook("extra", "vats", "history", "http://127.0.0.1:9/x", {}, "form"))
    assert (await call("POST", "/_sim/webhooks/drain", query={"timeout": "5"}))[0] == 200
    status, hooks = await call("GET", "/_sim/webhooks", query={"account": "extra"})
    assert status == 200 and sorted(h["delivered"] for h in hooks) == [False, True]
    assert (await call("GET", "/_sim/webhooks", query={"limit": "x"}, valid_request=False))[0] == 400
    status, dead = await call("GET", "/_sim/webhooks/dead", query={"account": "extra"})
    assert status == 200 and [d["url"] for d in dead] == ["http://127.0.0.1:9/x"]
    delivered = next(h for h in hooks if h["delivered"])
    status, again = await call("POST", f"/_sim/webhooks/{delivered['id']}/resend")
    assert status == 200 and again["resend_of"] == delivered["id"] and again["delivered"]
    assert (await call("POST", "/_sim/webhooks/0/resend"))[0] == 404
    status, journal = await call("GET", "/_sim/requests", query={"limit": "3"})
    assert status == 200 and len(journal) == 3
    assert (await call("GET", "/_sim/requests", query={"limit": "x"}, valid_request=False))[0] == 400
    # snapshots
    status, snapshot = await call("GET", "/_sim/snapshot")
    assert status == 200 and [a["id"] for a in snapshot["accounts"]][-1] == "extra"
    assert (await call("PUT", "/_sim/snapshot", json_body=snapshot, query={"clock": "exact"}))[0] == 200
    assert (await call("PUT", "/_sim/snapshot", raw=b"{oops", valid_request=False))[0] == 400
    # scenarios (the runner's own tests check what a run does; here: the shapes)
    scenario = (DOC_PATH.parents[2] / "scenarios" / "01_incoming_answered.yaml").read_text("utf-8")
    status, run = await call("POST", "/_sim/scenarios/run", json_body={
        "scenario": scenario, "source": "01.yaml", "provider": "vats"})
    assert status == 200 and [r["provider"] for r in run["reports"]] == ["vats"]
    assert (await call("POST", "/_sim/scenarios/run", json_body={"scenario": "steps: 5"}))[0] == 400
    # reset, documents
    assert (await call("POST", "/_sim/reset", query={"account": "vats"}))[0] == 200
    assert (await call("POST", "/_sim/reset", query={"account": "nope"}))[0] == 404
    assert (await call("POST", "/_sim/reset"))[0] == 200
    status, served = await call("GET", "/_sim/openapi/admin.json")
    assert status == 200 and served == json.loads(DOC_PATH.read_text("utf-8"))
    assert (await call("GET", "/_sim/openapi/nope.json"))[0] == 404
    # with an admin token
    sim.config.server.admin_token = "t0k"
    assert (await call("GET", "/_sim/accounts"))[0] == 401
    assert (await call("GET", "/_sim/health"))[0] == 200
    assert (await call("GET", "/_sim/clock", headers={"Authorization": "Bearer t0k"}))[0] == 200
    assert {s for _, s in call.seen} == {200, 201, 400, 401, 404, 409}


async def test_openapi_route_serves_only_documents_by_name(client):
    for path in ("/_sim/openapi/..%2Fscenario.schema.json", "/_sim/openapi/../crm.json",
                 "/_sim/openapi/admin", "/_sim/openapi/a.b.json"):
        resp = await client.get(path)
        assert resp.status == 404, path
        assert "Traceback" not in await resp.text()


def test_the_check_is_live_a_wrong_answer_fails(openapi):
    """The document is strict enough to catch a drifted answer."""
    request = MockRequest(SERVER, "get", "/_sim/clock")
    openapi.validate_response(request, MockResponse(b'{"now": "2026-01-01T00:00:00Z", "mode": "manual"}'))
    for wrong in (b'{"now": "2026-01-01T00:00:00Z"}', b'{"now": 5, "mode": "manual"}', b'[]'):
        with pytest.raises(Exception):
            openapi.validate_response(request, MockResponse(wrong))
    with pytest.raises(Exception):    # an undocumented status
        openapi.validate_response(request, MockResponse(b"{}", status_code=418))


async def test_call_actions_and_the_office_match_the_document(client, sim, openapi):
    call = Checked(client, openapi)
    number = next(iter(sim.account("vats").state.numbers))
    status, placed = await call("POST", "/_sim/calls", json_body={
        "account": "vats", "direction": "in", "from": "79001112233", "to": number, "manual": True})
    assert status == 201
    status, office = await call("GET", "/_sim/accounts/vats/office")
    assert status == 200 and office["live_calls"] == 1
    assert (await call("GET", "/_sim/accounts/nope/office"))[0] == 404
    status, (live,) = await call("GET", "/_sim/calls", query={"live": "1", "account": "vats"})
    who = live["legs"][0]["number"]
    assert (await call("POST", f"/_sim/calls/{placed['call_id']}/transfer", json_body={"to": who}))[0] == 409
    status, answered = await call("POST", f"/_sim/calls/{placed['call_id']}/answer", json_body={"account": "vats", "by": who})
    assert status == 200 and answered["waiting_for"] == ["transfer"]
    other = next(e.ext for e in sim.account("vats").state.employees.values() if e.ext != who)
    assert (await call("POST", f"/_sim/calls/{placed['call_id']}/transfer", json_body={"to": other}))[0] == 200
    assert (await call("POST", f"/_sim/calls/{placed['call_id']}/answer", json_body={"by": 5}, valid_request=False))[0] == 400
    assert (await call("POST", "/_sim/calls/none/answer", json_body={"by": who}))[0] == 404
    await sim.clock.advance(3)
    status, hung = await call("POST", f"/_sim/calls/{placed['call_id']}/hangup", json_body={"by": "client"})
    assert status == 200 and hung["hangup_side"] == "A"
    resp = await client.get(f"/_sim/calls/{placed['call_id']}/recording", params={"account": "vats"})
    assert resp.status == 200 and resp.content_type == "audio/mpeg"
    assert (await call("GET", "/_sim/calls/none/recording", query={"account": "vats"}))[0] == 404
