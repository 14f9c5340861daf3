"""Strict mode: each request checked against its provider's OpenAPI document; ``warn``
journals the violations, ``reject`` answers with the provider's 400 and changes nothing."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from simulator.app import make_app
from simulator.config import parse_config
from simulator.core.clock import Clock
from simulator.sim import Simulator

from conftest import small_config
from providers.test_phonet_auth import login

pytestmark = pytest.mark.openapi_unchecked("strict mode rejects requests with 400 bodies the documents may not list")


async def strict(client, account: str, mode: str) -> None:
    resp = await client.patch(f"/_sim/accounts/{account}", json={"strict": mode})
    assert resp.status == 200 and (await resp.json())["strict"] == (None if mode == "off" else mode)


async def violations(client, account: str) -> list:
    journal = await (await client.get(f"/_sim/requests?account={account}")).json()
    return [e.get("violations") for e in journal if not e["path"].startswith("/_sim")]


async def bad_request(client, sim, provider: str):
    """A request each provider's document refuses: an unknown or ill-typed parameter, a
    missing field."""
    acc = sim.account(provider)
    if provider == "t2":
        return await client.get("/crm/openapi/call-records/info?size=abc",
                                headers={"Authorization": acc.credentials["access_token"]})
    if provider == "vats":
        return await client.get("/crmapi/v1/users?colour=red", headers={"X-API-KEY": acc.credentials["api_key"]})
    if provider == "phonet":
        return await client.get("/rest/users?colour=red", headers=await login(client, sim))
    return await client.post("/sys/crm_api.wcgp", data={"cmd": "makeCall", "token": acc.credentials["token"]})


REJECTED = {
    "t2": (400, {"details": "Required request parameter 'start' for method parameter type String is not present",
                 "message": "Some of fields empty"}),
    "vats": (400, {"message": "Validation error",
                   "errors": {"colour": "colour is not a parameter of this operation"}}),
    "phonet": (400, "Bad request: colour is not a parameter"),
    "cloudpbx": (400, {"error": "Invalid parameters: [user]"}),
}
FIRST = {"t2": ("missing_required", "query.start"), "vats": ("unknown_parameter", "query.colour"),
         "phonet": ("unknown_parameter", "query.colour"), "cloudpbx": ("missing_required", "body.user")}


@pytest.mark.parametrize("provider", ["t2", "vats", "phonet", "cloudpbx"])
async def test_warn_journals_the_violations_and_answers_as_usual(client, sim, provider):
    await strict(client, provider, "warn")
    resp = await bad_request(client, sim, provider)
    assert resp.status != 500
    found = [v for v in await violations(client, provider) if v]
    assert found, "the violations go into the request's journal entry"
    first = found[-1][0]
    assert (first["kind"], first["where"]) == FIRST[provider]
    assert first["message"]


@pytest.mark.parametrize("provider", ["t2", "vats", "phonet", "cloudpbx"])
async def test_reject_answers_with_the_providers_400(client, sim, provider):
    await strict(client, provider, "reject")
    resp = await bad_request(client, sim, provider)
    body = await resp.json() if resp.content_type == "application/json" else await resp.text()
    assert (resp.status, body) == REJECTED[provider]


async def test_a_request_the_document_accepts_has_no_violations(client, sim):
    for provider in ("t2", "vats", "cloudpbx"):
        await strict(client, provider, "reject")
    assert (await client.get("/crmapi/v1/users", headers={"X-API-KEY": sim.account("vats").credentials["api_key"]})).status == 200
    assert (await client.get("/crm/openapi/employees",
                             headers={"Authorization": sim.account("t2").credentials["access_token"]})).status == 200
    resp = await client.post("/sys/crm_api.wcgp", data={"cmd": "accounts", "token": sim.account("cloudpbx").credentials["token"]})
    assert resp.status == 200
    for provider in ("t2", "vats", "cloudpbx"):
        assert await violations(client, provider) == [None]


async def test_reject_leaves_the_state_unchanged(client, sim):
    await strict(client, "cloudpbx", "reject")
    acc = sim.account("cloudpbx")
    emp = next(iter(acc.state.employees.values()))
    resp = await client.post("/sys/crm_api.wcgp", data={"cmd": "makeCall", "token": acc.credentials["token"],
                                                         "user": emp.login})   # no phone
    assert resp.status == 400 and await resp.json() == {"error": "Invalid parameters: [phone]"}
    assert sim.engine.live_calls("cloudpbx") == []


async def test_credentials_are_left_to_the_provider(client, sim):
    await strict(client, "vats", "reject")
    resp = await client.get("/crmapi/v1/users", headers={"X-API-KEY": "wrong"})
    assert resp.status == 401 and await resp.json() == {"message": "Invalid token"}


async def test_an_unknown_path_is_journaled_and_gets_the_servers_404(client, sim):
    await strict(client, "vats", "reject")
    resp = await client.get("/crmapi/v1/nothing", headers={"X-API-KEY": sim.account("vats").credentials["api_key"]})
    assert resp.status == 404 and await resp.json() == {"message": "Not found"}
    assert (await violations(client, "vats"))[-1][0]["kind"] == "unknown_path"


async def test_off_and_the_configuration(aiohttp_client):
    config = small_config()
    config["accounts"][1]["strict"] = "reject"        # vats
    sim = Simulator(parse_config(config), Clock("manual"))
    await sim.start()
    try:
        client = await aiohttp_client(make_app(sim))
        assert (await client.get("/_sim/accounts/vats")).status == 200
        assert (await bad_request(client, sim, "vats")).status == 400
        await strict(client, "vats", "off")
        assert (await bad_request(client, sim, "vats")).status == 200
        assert sim.strict_providers == set()
    finally:
        await sim.close()


def test_serve_strict_option_sets_every_account_without_its_own(monkeypatch):
    from simulator import cli
    seen = []

    async def fake_serve(cfg, *args, **kwargs):
        seen.append(cfg)

    monkeypatch.setattr(cli, "_serve", fake_serve)
    for var in ("PBX_SIM_HOST", "PBX_SIM_PORT", "PBX_SIM_CONFIG", "PBX_SIM_ADMIN_TOKEN", "PBX_SIM_STATE_FILE"):
        monkeypatch.delenv(var, raising=False)
    result = CliRunner().invoke(cli.main, ["serve", "--strict", "warn"])
    assert result.exit_code == 0, result.output
    assert {a.strict for a in seen[0].accounts} == {"warn"}
    assert CliRunner().invoke(cli.main, ["serve", "--strict", "loud"]).exit_code != 0
