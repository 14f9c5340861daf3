"""The admin API contract under /_sim and the server's HTTP hygiene."""

import logging

from aiohttp import web

from simulator.app import make_app

CREDENTIAL_KEYS = {"t2": {"access_token", "refresh_token"}, "vats": {"api_key"},
                   "phonet": {"api_key"}, "cloudpbx": {"token"}}


async def test_health(client):
    resp = await client.get("/_sim/health")
    assert resp.status == 200
    body = await resp.json()
    assert body["status"] == "ok" and body["accounts"] == 4


async def test_accounts_list_masks_secrets_unless_asked(client, sim):
    masked = await (await client.get("/_sim/accounts")).json()
    for acc in masked:
        real = sim.account(acc["id"])
        assert acc["credentials"] == {k: "****" + v[-4:] for k, v in real.credentials.items()}
        assert acc["crm"]["crm_token"] in (None, "****")
    one = await (await client.get("/_sim/accounts/vats")).json()
    assert one["credentials"]["api_key"].startswith("****")
    full = await (await client.get("/_sim/accounts/vats?secrets=1")).json()
    assert full["credentials"] == sim.account("vats").credentials and full["crm"]["crm_token"] == "vats-crm-token"


async def test_accounts_list_shape(client):
    resp = await client.get("/_sim/accounts?secrets=1")
    assert resp.status == 200
    accounts = await resp.json()
    assert [a["id"] for a in accounts] == ["t2", "vats", "phonet", "cloudpbx"]
    for acc in accounts:
        assert set(acc) >= {"id", "provider", "name", "domain", "credentials", "crm"}
        assert set(acc["credentials"]) == CREDENTIAL_KEYS[acc["provider"]]
        assert set(acc["crm"]) >= {"url", "crm_token", "encoding"}
        assert all(acc["credentials"].values())
    phonet = next(a for a in accounts if a["id"] == "phonet")
    assert phonet["domain"] == "test4.phonet.com.ua"
    vats = next(a for a in accounts if a["id"] == "vats")
    assert vats["crm"]["crm_token"] == "vats-crm-token" and vats["crm"]["encoding"] == "form"


async def test_create_patch_and_regenerate_account(client, sim):
    body = {"id": "second", "provider": "vats", "name": "Second", "domain": "second.megapbx.ru",
            "crm": {"url": "http://127.0.0.1:1/crm", "crm_token": "t"},
            "seed": {"generate": {"employees": 3}}}
    resp = await client.post("/_sim/accounts", json=body)
    assert resp.status == 201
    created = await resp.json()
    assert created["id"] == "second" and created["crm"]["url"] == "http://127.0.0.1:1/crm"
    assert len(sim.account("second").state.employees) == 3
    assert (await client.post("/_sim/accounts", json=body)).status == 409

    bad = await client.post("/_sim/accounts", json={"id": "x", "provider": "mts"})
    assert bad.status == 400 and "provider" in (await bad.json())["error"]

    patched = await client.patch("/_sim/accounts/second?secrets=1",
                                 json={"crm": {"url": "http://127.0.0.1:2/hook", "encoding": "json"},
                                       "switches": {"crm_disabled": True}})
    assert patched.status == 200
    data = await patched.json()
    assert data["crm"]["url"] == "http://127.0.0.1:2/hook" and data["crm"]["encoding"] == "json"
    assert data["crm"]["crm_token"] == "t"
    assert sim.account("second").switches["crm_disabled"] is True
    assert (await client.patch("/_sim/accounts/second", json={"crm": {"url": "gopher://x"}})).status == 400
    assert (await client.patch("/_sim/accounts/second", json={"colour": 1})).status == 400
    assert (await client.patch("/_sim/accounts/nope", json={})).status == 404

    old = dict(sim.account("second").credentials)
    regen = await client.post("/_sim/accounts/second/credentials/regenerate")
    assert regen.status == 200
    new = (await regen.json())["credentials"]
    assert set(new) == set(old) and new != old
    assert sim.account("second").credentials == new


async def test_account_state(client, sim):
    resp = await client.get("/_sim/accounts/vats/state")
    assert resp.status == 200
    state = await resp.json()
    assert len(state["employees"]) == 6 and len(state["departments"]) == 2
    assert state["cdr_count"] == 0
    assert (await client.get("/_sim/accounts/nope/state")).status == 404


async def test_clock_contract(client):
    now = (await (await client.get("/_sim/clock")).json())
    assert now["mode"] == "manual" and now["now"].endswith("Z")
    moved = await (await client.post("/_sim/clock", json={"advance": "25h"})).json()
    from datetime import datetime
    delta = datetime.fromisoformat(moved["now"].replace("Z", "+00:00")) - \
        datetime.fromisoformat(now["now"].replace("Z", "+00:00"))
    assert delta.total_seconds() == 25 * 3600
    moved = await (await client.post("/_sim/clock", json={"advance": 30})).json()
    assert moved["now"] > now["now"]
    setto = await client.post("/_sim/clock", json={"set": "2027-01-01T00:00:00Z"})
    assert (await setto.json())["now"] == "2027-01-01T00:00:00Z"
    for bad in ({"advance": "soon"}, {"set": "tomorrow"}, {}, {"advance": -1}):
        resp = await client.post("/_sim/clock", json=bad)
        assert resp.status == 400, bad
    assert (await client.post("/_sim/clock", data=b"{not json")).status == 400


async def test_reset_restores_seed_state(client, sim):
    account = sim.account("vats")
    before = sorted(e.login for e in account.state.employees.values())
    creds = dict(account.credentials)
    account.state.remove_employee(next(iter(account.state.employees)))
    sim.account("t2").state.blacklist.clear()
    resp = await client.post("/_sim/reset?account=vats")
    assert resp.status == 200 and (await resp.json()) == {"reset": ["vats"]}
    assert sorted(e.login for e in sim.account("vats").state.employees.values()) == before
    assert sim.account("vats").credentials == creds
    assert not sim.account("t2").state.blacklist        # untouched by a one-account reset
    assert (await (await client.post("/_sim/reset")).json())["reset"] == ["t2", "vats", "phonet", "cloudpbx"]
    assert len(sim.account("t2").state.blacklist) == 2
    assert (await client.post("/_sim/reset?account=nope")).status == 404


async def test_request_journal(client):
    await client.get("/_sim/health")
    await client.get("/_sim/accounts")
    resp = await client.get("/_sim/requests?limit=2")
    entries = await resp.json()
    assert [e["path"] for e in entries] == ["/_sim/health", "/_sim/accounts"]
    assert set(entries[0]) >= {"method", "path", "status", "latency_ms", "account"}
    assert entries[0]["status"] == 200
    assert (await client.get("/_sim/requests?limit=x")).status == 400


async def test_calls_admin(client, sim):
    vats = sim.account("vats")
    number = next(iter(vats.state.numbers))
    resp = await client.post("/_sim/calls", json={"account": "vats", "direction": "in",
                                                  "from": "79161234567", "to": number})
    assert resp.status == 201
    call_id = (await resp.json())["call_id"]
    live = await (await client.get("/_sim/calls?account=vats&live=1")).json()
    assert [c["call_id"] for c in live] == [call_id]
    assert live[0]["state"] in ("created", "ringing")
    hang = await client.post(f"/_sim/calls/{call_id}/hangup?account=vats")
    assert hang.status == 200
    assert await (await client.get("/_sim/calls?account=vats&live=1")).json() == []
    history = await (await client.get("/_sim/calls?account=vats")).json()
    assert history[-1]["call_id"] == call_id and history[-1]["outcome"] == "cancelled"
    assert (await client.post(f"/_sim/calls/{call_id}/hangup?account=vats")).status == 404
    # bad requests
    for bad in ({"account": "vats", "direction": "sideways", "to": "1"},
                {"account": "vats", "direction": "out", "from": "nobody", "to": "79160000000"},
                {"account": "vats", "direction": "in"}):
        assert (await client.post("/_sim/calls", json=bad)).status == 400, bad
    assert (await client.post("/_sim/calls", json={"account": "x", "direction": "in", "to": "1"})).status == 404


async def test_unknown_path_oversized_body_and_errors(aiohttp_client, sim, caplog):
    app = make_app(sim)

    async def boom(request):
        raise RuntimeError("secret internals")

    app.router.add_get("/boom", boom)
    client = await aiohttp_client(app)
    assert (await client.get("/no/such/path")).status == 404
    big = b"x" * (sim.config.server.body_limit + 1)
    resp = await client.post("/_sim/accounts", data=big)
    assert resp.status == 413
    with caplog.at_level(logging.ERROR):
        resp = await client.get("/boom")
    assert resp.status == 400    # the catch-all answers the nearest documented error, never 500
    text = await resp.text()
    assert "Traceback" not in text and "secret internals" not in text
    assert "secret internals" in caplog.text   # the traceback goes to the log


async def test_admin_token_guards_sim(aiohttp_client, sim):
    sim.config.server.admin_token = "s3cret"
    client = await aiohttp_client(make_app(sim))
    assert (await client.get("/_sim/health")).status == 200
    assert (await client.get("/_sim/accounts")).status == 401
    assert (await client.get("/_sim/accounts", headers={"Authorization": "Bearer nope"})).status == 401
    assert (await client.get("/_sim/accounts", headers={"Authorization": "Bearer s3cret"})).status == 200


async def test_accounts_are_isolated(sim):
    creds = [tuple(a.credentials.values()) for a in sim.accounts.values()]
    flat = [v for c in creds for v in c]
    assert len(flat) == len(set(flat))
    a, b = sim.account("vats").state, sim.account("cloudpbx").state
    assert a is not b and a.cdrs is not b.cdrs
    a.employees.clear()
    assert b.employees
