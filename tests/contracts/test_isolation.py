"""Tenant isolation, per provider: account B's credentials never see or change account A's
employees, departments, blacklist, contacts, managers or call history, and A's recordings and
call ids are refused to B. A's state is compared byte for byte before and after B's requests.

Account A of each provider is the usual small one (with past calls); account B is a second
account of the same provider with fewer of everything, so A's ids beyond B's counters exist in
A only (ids are per-account counters and may coincide otherwise)."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest

from conftest import small_config

B_GEN = {"employees": 3, "departments": 0, "numbers": 1, "blacklist": 1, "sims": 1, "managers": 0,
         "contacts": 2, "calls": 2}
B_DOMAINS = {"t2": "ats2.t2.ru", "vats": "b.megapbx.ru", "phonet": "b.phonet.com.ua", "cloudpbx": "b.cloudpbx.ru"}


@pytest.fixture
def sim_config() -> dict:
    config = small_config()
    for account in config["accounts"]:
        account["seed"]["generate"] = {**account["seed"]["generate"], "calls": 8}
    for provider, domain in B_DOMAINS.items():
        config["accounts"].append({"id": f"{provider}B", "provider": provider, "domain": domain,
                                   "settings": {"strict_host": False} if provider == "phonet" else {},
                                   "seed": {"generate": dict(B_GEN)}})
    return config


def state_of(sim, account_id: str) -> str:
    return json.dumps(sim.account(account_id).state.to_json(), sort_keys=True, default=str)


def a_only(sim, provider: str, what: str) -> list:
    """Keys of A's ``what`` (employees by login, departments, blacklist, contacts, managers)
    that B does not have."""
    a, b = sim.account(provider).state, sim.account(f"{provider}B").state
    if what == "employees":
        return sorted({e.login for e in a.employees.values()} - {e.login for e in b.employees.values()})
    return sorted(set(getattr(a, what)) - set(getattr(b, what)))


def a_calls(sim, provider: str) -> list:
    return [c for c in sim.account(provider).state.cdrs]


def live_call(sim, provider: str):
    """A click-to-call of A's that stays live (the clock does not move)."""
    account = sim.account(provider)
    employee = sorted(account.state.employees.values(), key=lambda e: e.id)[0]
    return sim.engine.click_to_call(account, employee, "79101234567")


@pytest.fixture
def a_state(sim):
    """A's state before the test: asserted unchanged at the end."""
    before = {p: state_of(sim, p) for p in B_DOMAINS}
    yield
    for provider, state in before.items():
        assert state_of(sim, provider) == state, f"{provider}: account A changed"


def test_accounts_differ_where_it_matters(sim):
    for provider in B_DOMAINS:
        assert a_only(sim, provider, "employees"), provider
        assert a_only(sim, provider, "blacklist"), provider
        assert any(c.record_file for c in a_calls(sim, provider)), provider
    assert a_only(sim, "phonet", "contacts") and a_only(sim, "t2", "managers")


# ---- cloudpbx ----------------------------------------------------------------------------------

async def test_cloudpbx(client, sim, a_state):
    b = sim.account("cloudpbxB")
    base = "/sys/crm_api.wcgp"

    async def cmd(**params):
        params["token"] = b.credentials["token"]
        return await client.post(base, data=params)

    resp = await cmd(cmd="accounts")
    assert sorted(a["name"] for a in await resp.json()) == sorted(e.login for e in b.state.employees.values())
    resp = await cmd(cmd="groups")
    assert await resp.json() == []
    ids = {c.id for c in a_calls(sim, "cloudpbx")}
    seen_by_a = set()
    for period in ("today", "this_week", "last_week", "this_month", "last_month"):
        text = await (await cmd(cmd="history", period=period)).text()
        assert not ids & {line.split(",")[0] for line in text.splitlines()}, period
        resp = await client.post(base, data={"cmd": "history", "period": period,
                                             "token": sim.account("cloudpbx").credentials["token"]})
        seen_by_a |= {line.split(",")[0] for line in (await resp.text()).splitlines()}
    assert ids & seen_by_a, "control: A's own token sees A's calls"
    for login in a_only(sim, "cloudpbx", "employees"):
        for params in ({"cmd": "get_dnd", "user": login}, {"cmd": "set_dnd", "user": login, "state": "true"},
                       {"cmd": "makeCall", "user": login, "phone": "79101234567"},
                       {"cmd": "groups", "user": login},
                       {"cmd": "subscribeOnCalls", "user": login, "status": "off"}):
            resp = await cmd(**params)
            assert resp.status == 400 and await resp.json() == {"error": "Invalid parameters: [user]"}, params
    own = sorted(b.state.employees.values(), key=lambda e: e.id)[0].login
    resp = await cmd(cmd="subscriptionStatus", user=own, group_id="sales")   # A's department
    assert resp.status == 400 and await resp.json() == {"error": "Invalid parameters: [group_id]"}
    assert sim.engine.live_calls("cloudpbx") == []
    # A's recording links are signed with A's token: B's key (or none) is refused
    from simulator.providers.cloudpbx.auth import record_key
    for cdr in a_calls(sim, "cloudpbx"):
        if cdr.record_file:
            resp = await client.get(f"{base}/records/{cdr.id}.mp3", params={"key": record_key(b, cdr.id)})
            assert resp.status == 401 and await resp.json() == {"error": "Invalid token"}


# ---- t2 ----------------------------------------------------------------------------------------

async def test_t2(client, sim, a_state):
    b = sim.account("t2B")
    headers = {"Authorization": b.credentials["access_token"]}
    base = "/crm/openapi"
    call = live_call(sim, "t2")
    await asyncio.sleep(0)

    async def get(path, **params):
        resp = await client.get(base + path, headers=headers, params=params)
        return resp.status, await resp.json()

    status, employees = await get("/employees")
    assert status == 200 and sorted(e["employeeId"] for e in employees) == sorted(b.state.employees)
    status, blacklist = await get("/blacklist")
    assert sorted(x["number"] for x in blacklist) == sorted(b.state.blacklist)
    assert await get("/managers") == (200, [])
    assert await get("/monitoring/calls") == (200, [])
    assert await get("/monitoring/calls/pending") == (200, [])
    now = sim.clock.now()
    window = {"start": (now - timedelta(days=60)).isoformat(), "end": (now + timedelta(days=1)).isoformat(),
              "size": "2000"}
    status, records = await get("/call-records/info", **window)
    names = {c.record_file for c in a_calls(sim, "t2") if c.record_file}
    assert status == 200 and not names & {r["recordFileName"] for r in records}
    control = await client.get(base + "/call-records/info", params=window,
                               headers={"Authorization": sim.account("t2").credentials["access_token"]})
    assert names & {r["recordFileName"] for r in await control.json()}, "control: A sees its records"
    control = await client.get(base + "/call-records/file", params={"filename": sorted(names)[0]},
                               headers={"Authorization": sim.account("t2").credentials["access_token"]})
    assert control.status == 200, "control: A gets its recording"
    assert len(records) == len(list(b.state.cdrs))
    for name in names:
        assert await get("/call-records/file", filename=name) == (
            404, {"details": "Record not found by filename", "message": "Object not found"})
        assert await get("/call-records/file/stt", filename=name) == (
            404, {"details": "Transcription not found for filename", "message": "Object not found"})
    for manager_id in a_only(sim, "t2", "managers"):
        assert await get(f"/managers/{manager_id}") == (404, {"details": "Object not found", "message": "Object not found"})
        resp = await client.delete(f"{base}/managers/{manager_id}", headers=headers)
        assert resp.status == 404
    a_emp = sorted(sim.account("t2").state.employees.values(), key=lambda e: e.id)[-1]
    resp = await client.post(f"{base}/call/outgoing", headers=headers,
                             params={"source": a_emp.direct_number or a_emp.mobile, "destination": "79101234567"})
    if (a_emp.direct_number or a_emp.mobile) not in {e.direct_number or e.mobile for e in b.state.employees.values()}:
        assert resp.status == 404
    for number in a_only(sim, "t2", "blacklist"):
        resp = await client.delete(f"{base}/blacklist/by-msisdn/{number}", headers=headers)
        assert resp.status == 200     # SUCCESS also for numbers not listed; A's list untouched
    resp = await client.delete(f"{base}/blacklist/all", headers=headers)
    assert resp.status == 200 and not b.state.blacklist
    assert sim.engine.get_live("t2", call.id) is not None


# ---- vats --------------------------------------------------------------------------------------

async def test_vats(client, sim, a_state):
    b = sim.account("vatsB")
    headers = {"X-API-KEY": b.credentials["api_key"]}
    base = "/crmapi/v1"

    async def req(method, path, **kw):
        resp = await client.request(method, base + path, headers=headers, **kw)
        body = await resp.read()
        return resp.status, (json.loads(body) if body and resp.content_type == "application/json" else body)

    status, users = await req("GET", "/users")
    assert status == 200 and sorted(u["login"] for u in users["items"]) == sorted(e.login for e in b.state.employees.values())
    status, groups = await req("GET", "/groups")
    assert status == 200 and groups["items"] == []
    status, blacklist = await req("GET", "/blacklist/telnums")
    assert sorted(x["telnum"] for x in blacklist) == sorted(b.state.blacklist)
    not_found = {"message": "Not found"}
    for login in a_only(sim, "vats", "employees"):
        assert await req("GET", f"/users/{login}") == (404, not_found)
        assert await req("DELETE", f"/users/{login}") == (404, not_found)
        assert await req("POST", f"/users/{login}/dnd") == (404, not_found)
        assert (await req("POST", "/makecall", json={"phone": "79101234567", "user": login}))[0] == 404
    for group_id in a_only(sim, "vats", "departments"):
        assert await req("GET", f"/groups/{group_id}") == (404, not_found)
        assert await req("DELETE", f"/groups/{group_id}") == (404, not_found)
    for number in a_only(sim, "vats", "numbers"):
        assert await req("GET", f"/telnums/{number}") == (404, not_found)
        assert await req("DELETE", f"/telnums/{number}/enabled") == (404, not_found)
    status, _ = await req("DELETE", "/blacklist/telnums", params=[("telnum", n) for n in a_only(sim, "vats", "blacklist")])
    assert status == 204
    ids = {c.id for c in a_calls(sim, "vats")}
    seen_by_a = set()
    for period in ("today", "this_week", "last_week", "this_month", "last_month"):
        status, history = await req("GET", "/history/json", params={"period": period})
        assert status == 200 and not ids & {h["uid"] for h in history}, period
        control = await client.get(base + "/history/json", params={"period": period},
                                   headers={"X-API-KEY": sim.account("vats").credentials["api_key"]})
        seen_by_a |= {h["uid"] for h in await control.json()}
        status, csv = await req("GET", "/history/csv", params={"period": period})
        assert status == 200 and not ids & {line.split(",")[0] for line in csv.decode().splitlines()}
    assert ids & seen_by_a, "control: A's key sees A's calls"
    for cdr in a_calls(sim, "vats"):
        if cdr.record_file:
            assert await req("GET", f"/records/{cdr.id}.mp3") == (404, not_found)
            control = await client.get(f"{base}/records/{cdr.id}.mp3",
                                       headers={"X-API-KEY": sim.account("vats").credentials["api_key"]})
            assert control.status == 200, "control: A's key gets A's recording"


# ---- phonet ------------------------------------------------------------------------------------

async def test_phonet(client, sim, a_state):
    b = sim.account("phonetB")
    resp = await client.post("/rest/security/authorize", json={"domain": b.domain, "apiKey": b.credentials["api_key"]})
    assert resp.status == 200
    cookies = {"Cookie": f"JSESSIONID={resp.cookies['JSESSIONID'].value}"}
    call = live_call(sim, "phonet")
    await asyncio.sleep(0)

    async def req(method, path, **kw):
        resp = await client.request(method, path, headers=cookies, **kw)
        body = await resp.read()
        return resp.status, (json.loads(body) if resp.content_type == "application/json" else body.decode())

    status, users = await req("GET", "/rest/users")
    assert status == 200 and sorted(u["id"] for u in users) == sorted(b.state.employees)
    status, contacts = await req("GET", "/rest/crm/contacts/v2/", params={"limit": "60"})
    assert status == 200 and sorted(c["id"] for c in contacts) == sorted(b.state.contacts)
    for contact_id in a_only(sim, "phonet", "contacts"):
        assert await req("GET", f"/rest/crm/contacts/v2/{contact_id}") == (404, "Contact not found")
        assert await req("DELETE", f"/rest/crm/contacts/v2/{contact_id}") == (404, "Contact not found")
        assert await req("GET", f"/rest/crm/contacts/v2/{contact_id}/notes") == (404, "Contact not found")
        assert await req("POST", f"/rest/crm/contacts/v2/{contact_id}/notes", json={"content": "x"}) == (404, "Contact not found")
        assert await req("POST", "/rest/crm/contacts/v2/", json={"id": contact_id, "firstName": "B"}) == (404, "Contact not found")
    a_contact = sim.account("phonet").state.contacts[a_only(sim, "phonet", "contacts")[0]]
    number = (a_contact.numbers or ["380000000000"])[0]
    status, found = await req("GET", "/rest/crm/contacts/v2/searchByOLNum", params={"otherLegNum": number})
    assert status == 200 and a_contact.id not in {c["id"] for c in found}
    a_ext = sorted(sim.account("phonet").state.employees.values(), key=lambda e: e.id)[-1].ext
    if a_ext not in {e.ext for e in b.state.employees.values()}:
        assert await req("POST", "/rest/user/makeCall", json={"legExt": a_ext, "otherLegNum": "+380993034330"}) == (
            404, "User not found")
    assert await req("GET", "/rest/calls/active/v3") == (200, [])
    assert await req("GET", f"/rest/calls/active/{call.id}/hangup") == (404, "Call not found")
    assert sim.engine.get_live("phonet", call.id) is not None
    now_ms = int(sim.clock.timestamp() * 1000)
    uuids = {c.id for c in a_calls(sim, "phonet")}
    for endpoint in ("company.api", "missed.api", "users.api"):
        status, records = await req("GET", f"/rest/calls/{endpoint}",
                                    params={"timeFrom": str(now_ms - 60 * 86400_000), "timeTo": str(now_ms + 1)})
        assert status == 200 and not uuids & {r["uuid"] for r in records} and not uuids & {r["parentUuid"] for r in records}
    a = sim.account("phonet")
    resp = await client.post("/rest/security/authorize", json={"domain": a.domain, "apiKey": a.credentials["api_key"]})
    control = await client.get("/rest/calls/company.api", params={"timeFrom": str(now_ms - 60 * 86400_000), "timeTo": str(now_ms + 1)},
                               headers={"Cookie": f"JSESSIONID={resp.cookies['JSESSIONID'].value}"})
    assert uuids & {r["uuid"] for r in await control.json()}, "control: A's session sees A's calls"


async def test_phonet_recordings_are_public_links(client, sim):
    """Phonet's recording links are public by the document (no session, §4.20): anyone with A's
    uuid gets the MP3, B's session or none. Unknown uuids are 404."""
    cdr = next(c for c in a_calls(sim, "phonet") if c.record_file and c.answered_at is not None)
    resp = await client.get(f"/rest/public/calls/{cdr.id}/audio")
    assert resp.status == 200 and resp.content_type == "audio/mpeg"
    resp = await client.get("/rest/public/calls/0123456789abcdef0123456789abcdef/audio")
    assert resp.status == 404 and await resp.text() == "Record not found"
