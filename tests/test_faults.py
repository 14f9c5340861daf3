"""/_sim/faults on the PBX API: every fault kind on every provider answers with the
provider's own error body; bounds (times, for), probability from the seeded generator,
the journal's marks, configuration and validation."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from simulator.app import make_app
from simulator.config import parse_config
from simulator.core.clock import Clock
from simulator.sim import Simulator

from conftest import small_config
from providers.test_phonet_auth import login

pytestmark = pytest.mark.openapi_unchecked("fault injection answers outside the providers' documents")

# one ordinary authenticated request per provider: (method, path glob of the fault)
PATHS = {"t2": "/crm/openapi/employees*", "vats": "/crmapi/v1/users*", "phonet": "/rest/users*",
         "cloudpbx": "/sys/crm_api.wcgp*"}


async def call(client, sim, provider: str, account: str | None = None):
    """The provider's plain list request with the account's credentials."""
    acc = sim.account(account or provider)
    if provider == "t2":
        return await client.get("/crm/openapi/employees", headers={"Authorization": acc.credentials["access_token"]})
    if provider == "vats":
        return await client.get("/crmapi/v1/users", headers={"X-API-KEY": acc.credentials["api_key"]})
    if provider == "phonet":
        return await client.get("/rest/users", headers=await login(client, sim, acc.id))
    return await client.post("/sys/crm_api.wcgp", data={"cmd": "accounts", "token": acc.credentials["token"]})


async def add(client, **fault) -> dict:
    resp = await client.post("/_sim/faults", json=fault)
    assert resp.status == 201, await resp.text()
    return await resp.json()


async def body_of(resp):
    return await resp.json() if resp.content_type == "application/json" else await resp.text()


# the documented (or, for statuses nobody documents, the shape's) bodies
STATUS_503 = {
    "t2": {"details": "Service Unavailable", "message": "Service Unavailable"},
    "vats": {"message": "Service Unavailable"},
    "phonet": "Service Unavailable",
    "cloudpbx": {"error": "Service Unavailable"},
}
NAMED = {
    "t2": ("token_expired", 403, {"details": "The token is expired", "message": "Forbidden"}),
    "vats": ("crm_disabled", 401, {"message": "CRM disabled"}),
    "phonet": ("session_expired", 403, "Forbidden"),
    "cloudpbx": ("invalid_token", 401, {"error": "Invalid token"}),
}
TOO_MANY = {
    "t2": {"details": "Too many requests", "message": "Too Many Requests"},
    "vats": {"message": "Too Many Requests"},
    "phonet": "Too Many Requests",
    "cloudpbx": {"error": "Too Many Requests"},
}
PROVIDERS = ("t2", "vats", "phonet", "cloudpbx")


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_status_fault_answers_in_the_providers_shape_then_runs_out(client, sim, provider):
    created = await add(client, account=provider, match={"method": "*", "path": PATHS[provider]},
                        respond={"status": 503}, times=2)
    assert created["id"] and created["kind"] == "status" and created["remaining"] == 2
    for _ in range(2):
        resp = await call(client, sim, provider)
        assert resp.status == 503
        assert await body_of(resp) == STATUS_503[provider]
    resp = await call(client, sim, provider)      # times: 2 → gone
    assert resp.status == 200
    assert (await (await client.get("/_sim/faults")).json()) == []
    journal = await (await client.get(f"/_sim/requests?account={provider}")).json()
    marked = [e for e in journal if "fault" in e]
    assert [e["status"] for e in marked] == [503, 503]
    assert marked[0]["fault"]["id"] == created["id"] and marked[0]["fault"]["kind"] == "status"
    assert "matched" in marked[0]["fault"]["why"]
    assert "fault" not in journal[-1]


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_named_error_is_the_documented_body(client, sim, provider):
    name, status, body = NAMED[provider]
    await add(client, account=provider, match={"path": PATHS[provider]}, respond={"error": name})
    resp = await call(client, sim, provider)
    assert resp.status == status
    assert await body_of(resp) == body
    listed = await (await client.get(f"/_sim/faults/errors?provider={provider}")).json()
    entry = next(e for e in listed if e["name"] == name)
    assert entry["status"] == status and entry["body"] == body
    assert {e["provider"] for e in listed} == {provider}
    assert "too_many_requests" in {e["name"] for e in listed}


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_rate_limit_lets_n_through_per_window(client, sim, provider):
    await add(client, account=provider, match={"path": PATHS[provider]},
              rate_limit={"requests": 2, "window": "10s"})
    statuses = []
    for _ in range(3):
        resp = await call(client, sim, provider)
        statuses.append(resp.status)
    assert statuses == [200, 200, 429]
    assert await body_of(resp) == TOO_MANY[provider]
    await sim.clock.advance(11)                   # a new window
    assert (await call(client, sim, provider)).status == 200
    journal = await (await client.get(f"/_sim/requests?account={provider}")).json()
    limited = [e for e in journal if "fault" in e]
    assert len(limited) == 1 and limited[0]["fault"]["kind"] == "rate_limit"
    assert "the limit is 2" in limited[0]["fault"]["why"]


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_reset_closes_the_connection_without_an_answer(client, sim, provider):
    await add(client, account=provider, match={"path": PATHS[provider]}, respond={"reset": True}, times=1)
    with pytest.raises(aiohttp.ClientConnectionError):
        await call(client, sim, provider)
    assert (await call(client, sim, provider)).status == 200     # the next one is answered
    journal = await (await client.get(f"/_sim/requests?account={provider}")).json()
    reset = [e for e in journal if "fault" in e]
    assert len(reset) == 1 and reset[0]["status"] == 0 and reset[0]["fault"]["kind"] == "reset"


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_timeout_never_answers(client, sim, provider):
    await add(client, account=provider, match={"path": PATHS[provider]}, respond={"timeout": True}, times=1)
    timeout = aiohttp.ClientTimeout(total=0.3)
    acc = sim.account(provider)
    with pytest.raises(asyncio.TimeoutError):
        if provider == "t2":
            await client.get("/crm/openapi/employees", headers={"Authorization": acc.credentials["access_token"]},
                             timeout=timeout)
        elif provider == "vats":
            await client.get("/crmapi/v1/users", headers={"X-API-KEY": acc.credentials["api_key"]}, timeout=timeout)
        elif provider == "phonet":
            await client.get("/rest/users", headers=await login(client, sim), timeout=timeout)
        else:
            await client.post("/sys/crm_api.wcgp", data={"cmd": "accounts", "token": acc.credentials["token"]},
                              timeout=timeout)
    for _ in range(40):   # the server sees the client leave and journals the request
        journal = await (await client.get(f"/_sim/requests?account={provider}")).json()
        if any("fault" in e for e in journal):
            break
        await asyncio.sleep(0.05)
    marked = [e for e in journal if "fault" in e]
    assert marked and marked[0]["status"] == 0 and marked[0]["fault"]["kind"] == "timeout"


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_latency_delays_the_real_answer(client, sim, provider):
    await add(client, account=provider, match={"path": PATHS[provider]}, latency="150ms")
    loop = asyncio.get_running_loop()
    started = loop.time()
    resp = await call(client, sim, provider)
    assert resp.status == 200
    assert loop.time() - started >= 0.15
    journal = await (await client.get(f"/_sim/requests?account={provider}")).json()
    marked = [e for e in journal if "fault" in e]
    assert marked[-1]["fault"]["kind"] == "latency" and marked[-1]["fault"]["latency_s"] == 0.15


async def test_method_and_path_must_both_match(client, sim):
    await add(client, account="vats", match={"method": "POST", "path": "/crmapi/v1/users*"}, respond={"status": 500})
    await add(client, account="vats", match={"path": "/crmapi/v1/groups"}, respond={"status": 502})
    assert (await call(client, sim, "vats")).status == 200           # GET: the POST fault does not apply
    key = sim.account("vats").credentials["api_key"]
    resp = await client.get("/crmapi/v1/groups", headers={"X-API-KEY": key})
    assert resp.status == 502 and await resp.json() == {"message": "Bad Gateway"}


async def test_fault_of_one_account_leaves_another_of_the_same_provider(aiohttp_client):
    config = small_config()
    config["accounts"].append({"id": "vats2", "provider": "vats", "domain": "two.megapbx.ru",
                               "seed": {"generate": {"employees": 2}}})
    sim = Simulator(parse_config(config), Clock("manual"))
    await sim.start()
    try:
        client = await aiohttp_client(make_app(sim))
        await add(client, account="vats2", match={"path": "/crmapi/v1/*"}, respond={"error": "crm_disabled"})
        assert (await call(client, sim, "vats")).status == 200
        resp = await call(client, sim, "vats", "vats2")
        assert resp.status == 401 and await resp.json() == {"message": "CRM disabled"}
    finally:
        await sim.close()


async def test_for_bounds_a_fault_on_the_accounts_clock(client, sim):
    created = await add(client, account="vats", match={"path": "/crmapi/v1/users"}, respond={"status": 503},
                        **{"for": "10m"})
    assert created["expires_at"]
    assert (await call(client, sim, "vats")).status == 503
    await sim.clock.advance("9m")
    assert (await call(client, sim, "vats")).status == 503
    await sim.clock.advance("61s")
    assert (await call(client, sim, "vats")).status == 200
    assert await (await client.get("/_sim/faults")).json() == []


async def statuses_with_probability(seed: int, aiohttp_client) -> list[int]:
    sim = Simulator(parse_config(small_config(seed=seed)), Clock("manual"))
    await sim.start()
    try:
        client = await aiohttp_client(make_app(sim))
        await add(client, account="vats", match={"path": "/crmapi/v1/users"}, respond={"status": 503},
                  probability=0.5)
        return [(await call(client, sim, "vats")).status for _ in range(16)]
    finally:
        await sim.close()


async def test_probability_draws_from_the_seeded_generator(aiohttp_client):
    first = await statuses_with_probability(7, aiohttp_client)
    again = await statuses_with_probability(7, aiohttp_client)
    assert first == again                       # reproducible
    assert set(first) == {200, 503}             # and both happen at p = 0.5


async def test_list_get_delete_one_and_all(client, sim):
    a = await add(client, account="t2", match={"path": "/crm/openapi/*"}, respond={"status": 500})
    b = await add(client, account="vats", match={"path": "/crmapi/v1/*"}, respond={"status": 500})
    assert [f["id"] for f in await (await client.get("/_sim/faults")).json()] == [a["id"], b["id"]]
    assert [f["id"] for f in await (await client.get("/_sim/faults?account=vats")).json()] == [b["id"]]
    assert (await (await client.get(f"/_sim/faults/{a['id']}")).json())["match"]["path"] == "/crm/openapi/*"
    resp = await client.delete(f"/_sim/faults/{a['id']}")
    assert resp.status == 200
    assert (await client.delete(f"/_sim/faults/{a['id']}")).status == 404
    assert (await (await client.delete("/_sim/faults")).json()) == {"removed": 1}
    assert await (await client.get("/_sim/faults")).json() == []


@pytest.mark.parametrize("body, words", [
    ({"account": "vats", "match": {"path": "*"}}, "needs respond"),
    ({"account": "vats", "match": {"path": "*"}, "respond": {"status": 503, "reset": True}}, "exactly one"),
    ({"account": "vats", "match": {"path": "*"}, "respond": {"error": "token_expired"}}, "vats has no error"),
    ({"account": "vats", "webhook": {"hook": "history"}}, "needs action"),
    ({"account": "vats", "match": {"path": "*"}, "respond": {"status": 99}}, "respond.status"),
    ({"account": "vats", "match": {"path": "*"}, "latency": "soon"}, "not a duration"),
    ({"account": "vats", "match": {"path": "*"}, "respond": {"status": 500}, "probability": 2}, "probability"),
])
async def test_bad_faults_are_refused_with_the_reason(client, body, words):
    resp = await client.post("/_sim/faults", json=body)
    assert resp.status == 400
    assert words in (await resp.json())["error"]
    assert await (await client.get("/_sim/faults")).json() == []


async def test_unknown_account_and_provider(client):
    resp = await client.post("/_sim/faults", json={"account": "nope", "match": {"path": "*"},
                                                    "respond": {"status": 500}})
    assert resp.status == 404
    assert (await client.get("/_sim/faults/errors?provider=nope")).status == 404


async def test_faults_from_the_configuration_come_back_after_reset(aiohttp_client):
    config = small_config()
    config["faults"] = [{"account": "vats", "match": {"path": "/crmapi/v1/users"}, "respond": {"status": 503}}]
    sim = Simulator(parse_config(config), Clock("manual"))
    await sim.start()
    try:
        client = await aiohttp_client(make_app(sim))
        assert (await call(client, sim, "vats")).status == 503
        await client.delete("/_sim/faults")
        assert (await call(client, sim, "vats")).status == 200
        await client.post("/_sim/reset?account=vats")
        assert (await call(client, sim, "vats")).status == 503
    finally:
        await sim.close()


def test_configuration_names_an_account_that_exists():
    from simulator.config import ConfigError
    config = small_config()
    config["faults"] = [{"account": "ghost", "match": {"path": "*"}, "respond": {"status": 503}}]
    with pytest.raises(ConfigError, match="ghost"):
        parse_config(config)


async def test_admin_api_is_never_faulted(client, sim):
    await add(client, account="vats", match={"path": "*"}, respond={"status": 500})
    assert (await client.get("/_sim/health")).status == 200


SCENARIO = """
name: a fault as a step
steps:
  - fault: {match: {path: "/crmapi/v1/users"}, respond: {error: crm_disabled}, times: 1}
  - wait: 1s
"""


async def test_fault_as_a_scenario_step(sim):
    from simulator.scenarios.loader import parse_scenario
    from simulator.scenarios.runner import run_on
    report = await run_on(sim, parse_scenario(SCENARIO, "<test>"), "vats")
    assert report.passed, report.render()
    faults = sim.faults.listed("scenario-vats")
    assert len(faults) == 1 and faults[0].kind == "error"
    assert faults[0].spec.respond.error == "crm_disabled"


def test_a_bad_fault_step_is_refused_with_its_line():
    from simulator.scenarios.loader import ScenarioError, parse_scenario
    with pytest.raises(ScenarioError, match="needs respond"):
        parse_scenario(SCENARIO.replace(", respond: {error: crm_disabled}", ""), "<test>")


async def test_the_inspector_lists_the_faults(client, sim):
    page = await (await client.get("/_sim/ui")).text()
    assert "No faults." in page
    fault = await add(client, account="vats", match={"path": "/crmapi/v1/users*"}, respond={"status": 503}, times=2)
    page = await (await client.get("/_sim/ui")).text()
    assert f'data-api="DELETE /_sim/faults/{fault["id"]}"' in page and "/crmapi/v1/users*" in page
    await add(client, account="vats", webhook={"hook": "history"}, action="delay", delay="5s")
    await add(client, account="t2", match={"path": "/crm/*"}, rate_limit={"requests": 3, "window": "1s"})
    resp = await client.get("/_sim/ui")
    assert resp.status == 200
    page = await resp.text()
    assert "webhook history" in page and "3 per 1.0 s" in page
