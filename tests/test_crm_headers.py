"""crm.headers and crm.auth (observed.md: many receivers authenticate the PBX by a header):
configured, set by the admin API, a scenario and the pytest plugin's set_crm; sent with every
webhook of vats and cloudpbx (phonet too) besides the body's crm_token; the webhook journal
shows the headers really sent with the secrets masked; /_sim/accounts masks a password in a
CRM URL."""

from __future__ import annotations

import base64

import pytest

from conftest import point_crm, small_config
from simulator.config import ConfigError, parse_config
from simulator.core.clock import Clock
from simulator.core.engine import CallScript
from simulator.core.secrets import mask_url
from simulator.sim import Simulator

SECRET = "s3cr3t-crm-header"


async def run(sim, call, limit: int = 300):
    for _ in range(limit):
        if not call.live:
            break
        await sim.clock.advance(2)
    assert await sim.webhooks.drain()
    return call


def incoming(sim, account: str):
    acc = sim.account(account)
    number = next(iter(acc.state.numbers))
    return sim.place_call(account, "in", "79101234567" if account != "phonet" else "+380501112233",
                          number, script=CallScript(outcome="answered", ring_s=2, talk_s=5))


@pytest.mark.parametrize("account", ["vats", "cloudpbx", "phonet"])
async def test_headers_go_with_every_webhook_and_the_journal_masks_them(sim, crm, account):
    point_crm(sim, account, crm.url)
    acc = sim.account(account)
    acc.crm.headers = {"X-CRM-Token": SECRET, "X-Source": "pbx-simulator-test"}
    await run(sim, incoming(sim, account))
    assert len(crm.received) >= 3
    for rec in crm.received:
        assert rec.headers["X-CRM-Token"] == SECRET and rec.headers["X-Source"] == "pbx-simulator-test"
    if account != "phonet":
        assert all(rec.data["crm_token"] == acc.crm.crm_token for rec in crm.received)   # the body stays
    entries = sim.webhook_journal.entries(account)
    assert len(entries) == len(crm.received)
    for entry in entries:
        sent = entry.request_headers
        assert sent["X-CRM-Token"] == "***" and sent["X-Source"] == "pbx-simulator-test"
        assert sent["User-Agent"] == "pbx-simulator" and "Content-Type" in sent
        assert SECRET not in str(entry.to_json())


@pytest.mark.parametrize("auth,user", [("bearer", ""), ("basic", ""), ("basic", "pbx")])
async def test_auth_shortcuts_use_crm_token(sim, crm, auth, user):
    acc = sim.account("vats")
    point_crm(sim, "vats", crm.url, auth=auth, auth_user=user)
    token = acc.crm.crm_token
    await run(sim, incoming(sim, "vats"))
    expected = (f"Bearer {token}" if auth == "bearer"
                else "Basic " + base64.b64encode(f"{user}:{token}".encode()).decode())
    assert {rec.headers["Authorization"] for rec in crm.received} == {expected}
    assert all(rec.data["crm_token"] == token for rec in crm.received)       # the body field stays
    for entry in sim.webhook_journal.entries("vats"):
        assert entry.request_headers["Authorization"] == auth.capitalize() + " ***"


async def test_admin_api_sets_headers_and_auth(client, sim, crm):
    resp = await client.patch("/_sim/accounts/cloudpbx", json={"crm": {
        "url": crm.url, "headers": {"X-CRM-Token": SECRET}, "auth": "bearer"}})
    assert resp.status == 200, await resp.text()
    shown = (await resp.json())["crm"]
    assert shown["headers"] == {"X-CRM-Token": "***"} and shown["auth"] == "bearer"
    await run(sim, incoming(sim, "cloudpbx"))
    rec = crm.received[0]
    assert rec.headers["X-CRM-Token"] == SECRET
    assert rec.headers["Authorization"] == "Bearer " + sim.account("cloudpbx").crm.crm_token
    journal = await (await client.get("/_sim/webhooks?account=cloudpbx")).text()
    assert SECRET not in journal and sim.account("cloudpbx").crm.crm_token not in journal.replace(
        '"crm_token=' + sim.account("cloudpbx").crm.crm_token, "")
    # null clears; bad headers are refused with a message and change nothing
    resp = await client.patch("/_sim/accounts/cloudpbx", json={"crm": {"headers": None, "auth": None}})
    assert resp.status == 200 and (await resp.json())["crm"]["headers"] == {}
    for bad in ({"headers": {"Bad Name": "x"}}, {"headers": {"X-A": "a\r\nX-B: b"}},
                {"headers": {"Content-Type": "text/plain"}}, {"auth": "digest"},
                {"auth": "bearer", "headers": {"Authorization": "Bearer x"}}):
        resp = await client.patch("/_sim/accounts/cloudpbx", json={"crm": bad})
        assert resp.status == 400, bad
    assert sim.account("cloudpbx").crm.headers == {} and sim.account("cloudpbx").crm.auth is None


async def test_configuration_takes_headers_and_refuses_bad_ones():
    cfg = small_config()
    vats = next(a for a in cfg["accounts"] if a["id"] == "vats")
    vats["crm"] = {**vats["crm"], "headers": {"X-CRM-Token": SECRET}, "auth": "basic", "auth_user": "pbx"}
    simulator = Simulator(parse_config(cfg), Clock("manual"))
    await simulator.start()
    try:
        crm = simulator.account("vats").crm
        assert crm.webhook_headers() == {
            "X-CRM-Token": SECRET,
            "Authorization": "Basic " + base64.b64encode(b"pbx:vats-crm-token").decode()}
    finally:
        await simulator.close()
    vats["crm"]["auth_user"] = "a:b"
    with pytest.raises(ConfigError, match="auth_user"):
        parse_config(cfg)


async def test_accounts_mask_a_password_in_the_crm_url(client, sim):
    url = "http://crm-user:pa55w0rd@127.0.0.1:9/hooks?x=1"
    resp = await client.patch("/_sim/accounts/vats", json={"crm": {"url": url}})
    assert resp.status == 200
    assert (await resp.json())["crm"]["url"] == "http://crm-user:***@127.0.0.1:9/hooks?x=1"
    listed = await (await client.get("/_sim/accounts")).text()
    assert "pa55w0rd" not in listed and "crm-user:***@127.0.0.1:9" in listed
    assert sim.account("vats").crm.url == url                        # kept as given, for sending
    assert mask_url("http://127.0.0.1:9/x") == "http://127.0.0.1:9/x"
    assert mask_url("https://u:p@[::1]:8443/h") == "https://u:***@[::1]:8443/h"


SCENARIO = """
name: A CRM that authenticates the PBX by headers
crm:
  headers: {X-CRM-Token: "%s"}
  auth: bearer
steps:
  - incoming: {id: c1, from: "79161234567", to: "74950000001", answer: manager2, ring: 4s, talk: 30s}
expect:
  - crm_answers: {call: c1, status: 200, contract: true}
"""


@pytest.mark.parametrize("provider", ["vats", "cloudpbx"])
async def test_a_scenario_names_the_headers_and_the_built_in_crm_requires_them(provider):
    from simulator.scenarios.loader import parse_scenario
    from simulator.scenarios.runner import run_scenario
    report = await run_scenario(parse_scenario(SCENARIO % SECRET, "headers.yaml"), provider)
    assert report.status == "passed", report.failures()


async def test_the_built_in_crm_refuses_webhooks_without_its_headers():
    from simulator.scenarios.crm import RecordingCrm
    crm = RecordingCrm(crm_token="t", provider="vats")
    crm.required_headers = {"X-CRM-Token": SECRET}
    url = await crm.start()
    try:
        import aiohttp
        async with aiohttp.ClientSession() as session:
            async with session.post(url, data={"cmd": "history", "crm_token": "t"}) as resp:
                assert resp.status == 401
            async with session.post(url, data={"cmd": "history", "crm_token": "t"},
                                    headers={"X-CRM-Token": SECRET}) as resp:
                assert resp.status == 200
    finally:
        await crm.stop()


async def test_a_password_in_the_crm_url_is_sent_as_basic_and_journaled_masked(sim, crm):
    """aiohttp sends a URL's user:password as Basic authorization: the journal shows that header
    (masked) and the URL without the password, and the CRM gets it."""
    url = crm.url.replace("http://", "http://crm-user:pa55w0rd@")
    point_crm(sim, "vats", url)
    await run(sim, incoming(sim, "vats"))
    assert crm.received
    expected = "Basic " + base64.b64encode(b"crm-user:pa55w0rd").decode()
    assert {rec.headers["Authorization"] for rec in crm.received} == {expected}
    entries = sim.webhook_journal.entries("vats")
    assert len(entries) == len(crm.received) and all(e.delivered for e in entries)
    for entry in entries:
        assert entry.request_headers["Authorization"] == "Basic ***"
        assert entry.url.startswith("http://crm-user:***@")
        assert "pa55w0rd" not in str(entry.to_json())


async def test_a_password_in_the_crm_url_and_crm_auth_are_refused_together(client, sim):
    before = sim.account("vats").crm.url
    resp = await client.patch("/_sim/accounts/vats", json={"crm": {
        "url": "http://user:pw@127.0.0.1:9/vats", "auth": "bearer"}})
    assert resp.status == 400, await resp.text()
    assert "user:password" in await resp.text()
    assert sim.account("vats").crm.url == before                      # state unchanged
    cfg = small_config()
    vats = next(a for a in cfg["accounts"] if a["id"] == "vats")
    vats["crm"] = {**vats["crm"], "url": "http://u:p@127.0.0.1:9/x", "headers": {"Authorization": "Bearer t"}}
    with pytest.raises(ConfigError, match="user:password"):
        parse_config(cfg)
