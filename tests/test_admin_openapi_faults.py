"""The admin document for faults, per-account clocks and verification: real requests and
answers validate against schemas/openapi/admin.json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from openapi_core import OpenAPI

from test_admin_openapi import Checked

DOC_PATH = Path(__file__).resolve().parents[1] / "schemas" / "openapi" / "admin.json"


@pytest.fixture(scope="module")
def openapi() -> OpenAPI:
    return OpenAPI.from_dict(json.loads(DOC_PATH.read_text("utf-8")))


async def test_fault_endpoints_match_the_document(client, openapi):
    call = Checked(client, openapi)
    status, created = await call("POST", "/_sim/faults", json_body={
        "account": "vats", "match": {"method": "GET", "path": "/crmapi/v1/users*"},
        "respond": {"status": 503}, "latency": "2s", "probability": 1.0, "times": 3})
    assert status == 201 and created["remaining"] == 3
    status, _ = await call("POST", "/_sim/faults", json_body={
        "account": "t2", "match": {"path": "/crm/openapi/*"}, "rate_limit": {"requests": 5, "window": "1s"},
        "for": "10m"})
    assert status == 201
    status, hook = await call("POST", "/_sim/faults", json_body={
        "account": "vats", "webhook": {"hook": "event"}, "action": "delay", "delay": "5s", "probability": 0.3})
    assert status == 201 and hook["kind"] == "delay"
    status, _ = await call("POST", "/_sim/faults", json_body={"account": "vats", "match": {"path": "*"}},
                           valid_request=False)      # the document says so too: no respond, rate_limit, latency
    assert status == 400
    status, _ = await call("POST", "/_sim/faults", json_body={"account": "ghost", "match": {"path": "*"},
                                                             "respond": {"reset": True}})
    assert status == 404
    status, listed = await call("GET", "/_sim/faults")
    assert status == 200 and len(listed) == 3
    status, _ = await call("GET", f"/_sim/faults/{created['id']}")
    assert status == 200
    status, _ = await call("GET", "/_sim/faults/errors", query={"provider": "phonet"})
    assert status == 200
    status, _ = await call("GET", "/_sim/faults/errors", query={"provider": "nope"})
    assert status == 404
    status, _ = await call("DELETE", f"/_sim/faults/{created['id']}")
    assert status == 200
    status, _ = await call("DELETE", f"/_sim/faults/{created['id']}")
    assert status == 404
    status, removed = await call("DELETE", "/_sim/faults")
    assert status == 200 and removed == {"removed": 2}


async def test_account_clock_matches_the_document(client, openapi):
    call = Checked(client, openapi)
    status, moved = await call("POST", "/_sim/clock", json_body={"account": "t2", "advance": "25h"})
    assert status == 200 and moved["account"] == "t2"
    status, _ = await call("GET", "/_sim/clock", query={"account": "t2"})
    assert status == 200
    status, _ = await call("GET", "/_sim/clock", query={"account": "ghost"})
    assert status == 404


async def test_verify_matches_the_document(client, sim, openapi):
    call = Checked(client, openapi)
    key = sim.account("vats").credentials["api_key"]
    await client.get("/crmapi/v1/users", headers={"X-API-KEY": key})
    status, _ = await call("POST", "/_sim/verify", json_body={
        "requests": {"account": "vats", "method": "GET", "path": "/crmapi/v1/users"}, "count": {"min": 1, "max": 1}})
    assert status == 200
    status, body = await call("POST", "/_sim/verify", json_body={
        "requests": {"account": "vats", "method": "POST"}, "within": "1s"})
    assert status == 422 and body["near_misses"]
    status, _ = await call("POST", "/_sim/verify", json_body={"webhooks": {"account": "vats", "hook": "history"}})
    assert status == 422
    status, _ = await call("POST", "/_sim/verify", json_body={"count": {"min": 1}}, valid_request=False)
    assert status == 400
