"""vats as live clients use it (observed.md): list and history parameters in a JSON body on
GET (the query wins), a generated login that is always free, missedStatus on the history of
a call-back, and one truth for numbers across /users, /telnums and /sims — checked as a
property over seeded accounts of several sizes, not one sample."""

from __future__ import annotations

import pytest

from simulator.app import make_app
from simulator.config import parse_config
from simulator.core.clock import Clock
from simulator.core.engine import CallScript
from simulator.sim import Simulator

from .test_vats_common import (  # noqa: F401  (fixtures)
    ANTON_NUMBER,
    CLIENT,
    KEY,
    Api,
    api,
    finish,
    hooks,
    point_crm,
    sim_config,
    start_at,
)


@pytest.fixture
async def wired(sim, client, crm):
    await start_at(sim)
    point_crm(sim, "vats", crm.url)
    return crm


async def _calls_on_two_days(sim):
    """One answered call yesterday, one today (the account's default window is today)."""
    await start_at(sim)
    old = sim.place_call("vats", "in", CLIENT, ANTON_NUMBER, script=CallScript(outcome="answered", talk_s=10))
    await finish(sim, old)
    await sim.clock.advance("1d")
    new = sim.place_call("vats", "in", "79107770000", ANTON_NUMBER, script=CallScript(outcome="answered", talk_s=10))
    await finish(sim, new)
    return old, new


# ---- parameters in a JSON body on GET ----------------------------------------------------------

async def test_history_reads_parameters_from_a_json_body_on_get(sim, api):
    old, new = await _calls_on_two_days(sim)
    _, today = await api.get("/history/json")
    assert [r["uid"] for r in today] == [new.id]
    day = {"start": "20260112T000000Z", "end": "20260112T235959Z"}   # the seed's examples do this
    _, got = await api.get("/history/json", json=day)
    assert [r["uid"] for r in got] == [old.id]
    _, got = await api.get("/history/json", json={**day, "type": "out"})
    assert got == []
    # the query wins over the body
    _, got = await api.get("/history/json?period=today", json=day)
    assert [r["uid"] for r in got] == [new.id]
    status, csv = await api.get("/history/csv", json={"period": "yesterday"})
    assert status == 200 and csv.decode().startswith(old.id + ",")
    status, body = await api.get("/history/json", json={"period": "week"})
    assert status == 400 and body["errors"] == {"period": body["errors"]["period"]}


async def test_lists_read_search_start_limit_from_a_json_body(api):
    _, body = await api.get("/users", json={"search": "anton"})
    assert [u["login"] for u in body["items"]] == ["anton"] and body["info"]["search"] == "anton"
    _, body = await api.get("/users", json={"start": 1, "limit": 1})
    assert [u["login"] for u in body["items"]] == ["anton"]
    assert body["info"] == {"search": "", "start": 1, "limit": 1, "total": 3, "next": 2}
    _, body = await api.get("/users?limit=2", json={"limit": 1})
    assert body["info"]["limit"] == 2 and len(body["items"]) == 2         # the query wins
    _, body = await api.get("/telnums", json={"search": ANTON_NUMBER})
    assert [t["telnum"] for t in body["items"]] == [ANTON_NUMBER]
    _, body = await api.get("/groups", json={"limit": 1})
    assert body["info"]["limit"] == 1
    _, body = await api.get("/sims", json={"search": "company-less"})
    assert body["items"] == []
    status, body = await api.get("/users", json={"start": "x"})
    assert status == 400 and "start" in body["errors"]
    status, body = await api.get("/users", data=b"{not json", headers={"Content-Type": "application/json"})
    assert status == 400
    status, _ = await api.get("/users", headers={"Content-Type": "application/json"})   # no body: fine
    assert status == 200


# ---- POST /users without a login ---------------------------------------------------------------

async def test_generated_login_is_free(sim, api):
    state = sim.account("vats").state
    ext = state.free_ext(100)
    # someone already has the login the generator would pick first
    status, _ = await api.post("/users", json={"name": "Занятый", "login": f"u{ext}", "ext": "799"})
    assert status == 200
    status, body = await api.post("/users", json={"name": "Новый Сотрудник"})
    assert status == 200, body
    assert body["login"] != f"u{ext}" and body["login"].startswith(f"u{body['ext']}")
    assert state.employee_by_login(body["login"]).name == "Новый Сотрудник"
    status, again = await api.post("/users", json={"name": "Ещё Один"})
    assert status == 200 and again["login"] not in (body["login"], f"u{ext}")


# ---- missedStatus ------------------------------------------------------------------------------

async def test_call_back_of_a_missed_call_carries_missed_status(sim, wired):
    missed = sim.place_call("vats", "in", CLIENT, ANTON_NUMBER, script=CallScript(outcome="missed"))
    await finish(sim, missed)
    back = sim.place_call("vats", "out", "anton", CLIENT, employee="anton",
                          script=CallScript(outcome="answered", talk_s=20))
    await finish(sim, back)
    later = sim.place_call("vats", "out", "anton", CLIENT, employee="anton",
                           script=CallScript(outcome="answered", talk_s=20))
    await finish(sim, later)
    first, second, third = hooks(wired, "history")
    assert first["status"] == "Missed" and "missedStatus" not in first
    assert second["callid"] == back.id and second["missedStatus"] == "2" and second["status"] == "Success"
    assert "missedStatus" not in third                       # the missed call was returned already


async def test_only_the_first_call_back_returns_the_missed_call(sim, wired):
    await finish(sim, sim.place_call("vats", "in", CLIENT, ANTON_NUMBER, script=CallScript(outcome="missed")))
    for _ in range(2):
        await finish(sim, sim.place_call("vats", "out", "anton", CLIENT, employee="anton",
                                         script=CallScript(outcome="missed")))
    # the engine's rule: the client's last call was an unanswered incoming one
    assert [h.get("missedStatus") for h in hooks(wired, "history")] == [None, "2", None]


# ---- one truth for numbers ---------------------------------------------------------------------

def _generated(employees: int, numbers: int, sims: int, departments: int, seed: int) -> dict:
    return {"server": {"seed": seed}, "accounts": [{
        "id": "vats", "provider": "vats", "domain": "one.megapbx.ru", "credentials": {"api_key": KEY},
        "seed": {"generate": {"employees": employees, "numbers": numbers, "sims": sims,
                              "departments": departments, "calls": 0}}}]}


async def _numbers_agree(api) -> dict:
    _, users = await api.get("/users")
    _, telnums = await api.get("/telnums")
    _, sims = await api.get("/sims")
    by_login = {u["login"]: u for u in users["items"]}
    company = {t["telnum"]: t for t in telnums["items"]}
    for user in users["items"]:
        if user["telnum"]:
            assert user["telnum"] in company, user                       # every telnum is a company number
            assert company[user["telnum"]]["type"] == "user"
            assert company[user["telnum"]]["user"] == user["login"]
    for number in telnums["items"]:
        if number["type"] == "user":
            assert by_login[number["user"]]["telnum"] == number["telnum"], number   # routed → the telnum
    telnum_owners = [u["telnum"] for u in users["items"] if u["telnum"]]
    assert len(telnum_owners) == len(set(telnum_owners))
    for card in sims["items"]:
        if card["user"]:
            assert by_login[card["user"]]["mobile"] == card["telnum"], card        # a SIM is its user's mobile
    return {"users": users, "telnums": telnums, "sims": sims}


@pytest.mark.parametrize("employees,numbers,sims,departments,seed", [
    (6, 3, 3, 2, 7), (12, 5, 6, 3, 42), (25, 12, 30, 4, 3), (40, 21, 10, 0, 11), (3, 0, 5, 1, 5),
])
async def test_numbers_are_one_truth_over_seeded_accounts(aiohttp_client, employees, numbers, sims,
                                                          departments, seed):
    simulator = Simulator(parse_config(_generated(employees, numbers, sims, departments, seed)), Clock("manual"))
    await simulator.start()
    try:
        api = Api(await aiohttp_client(make_app(simulator)))
        got = await _numbers_agree(api)
        assert got["users"]["info"]["total"] == employees
        assert any(u["telnum"] for u in got["users"]["items"])
    finally:
        await simulator.close()


async def test_numbers_stay_one_truth_after_api_changes(sim, api):
    await _numbers_agree(api)
    # route anton's own number to ivan: it becomes ivan's telnum, anton has none
    status, _ = await api.post(f"/telnums/{ANTON_NUMBER}", json={"type": "user", "user": "ivan", "greeting": False})
    assert status == 200
    got = await _numbers_agree(api)
    users = {u["login"]: u for u in got["users"]["items"]}
    assert users["ivan"]["telnum"] == ANTON_NUMBER and users["anton"]["telnum"] == ""
    # a company SIM given to ivan: its number is his mobile
    status, _ = await api.post("/sims/79261238888/user/ivan")
    assert status == 204
    got = await _numbers_agree(api)
    assert {u["login"]: u for u in got["users"]["items"]}["ivan"]["mobile"] == "79261238888"
