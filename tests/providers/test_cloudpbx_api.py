"""cloudpbx command API: every command over GET and POST, every documented error."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from simulator.core.engine import CallScript
from simulator.core.recordings import mp3_bytes, mp3_duration
from simulator.providers.cloudpbx.auth import record_key

BASE = "/sys/crm_api.wcgp"
TOKEN = "5f317b9f-e86c-41f7-a6fc-c76eb0da0000"   # the document's example key
OTHER_TOKEN = "other-cloudpbx-token"
HOST = "test.cloudpbx.ru"
SALES_NUMBER = "74950000001"     # → department sales (andy, daria)
ANDY_NUMBER = "74950000002"      # → andy
IVR_NUMBER = "74950000003"       # → IVR, 1 → sales
FAX_NUMBER = "74950000004"       # → fax
CLIENT = "79101234567"
WEDNESDAY = datetime(2026, 3, 11, 9, 0, 0, tzinfo=timezone.utc)   # 12:00 in Moscow


def cloudpbx_config(**crm) -> dict:
    gen = {"employees": 0, "departments": 0, "numbers": 0, "calls": 0}
    return {
        "server": {"seed": 7},
        "accounts": [
            {"id": "cloudpbx", "provider": "cloudpbx", "domain": HOST,
             "credentials": {"token": TOKEN},
             "crm": {"crm_token": "76fsd7tfs-fhjdgfdjsfsk-hfgsdguuuwoeiwey1111", **crm},
             "seed": {
                 "generate": gen,
                 "employees": [
                     {"login": "andy", "ext": "708", "name": "Петров Андрей", "direct_number": "79261234567",
                      "email": "andy@test.cloudpbx.ru", "mobile": "79990000001"},
                     {"login": "daria", "ext": "705", "name": "Иванова Дарья",
                      "mobile": "79990000002"},
                     {"login": "mike", "ext": "702", "name": "Семенов Михаил",
                      "mobile": "79990000003"},
                 ],
                 "departments": [
                     {"id": "sales", "name": "Отдел продаж", "ext": "701", "members": ["andy", "daria"],
                      "timeout": 30},
                     {"id": "gr001", "name": "Бухгалтерия", "ext": "706", "members": ["daria"]},
                 ],
                 "numbers": [
                     {"number": SALES_NUMBER, "route": {"type": "department", "target": "sales"}},
                     {"number": ANDY_NUMBER, "route": {"type": "employee", "target": "andy"}},
                     {"number": IVR_NUMBER, "route": {"type": "ivr", "ivr": {
                         "1": {"type": "department", "target": "sales"}}}},
                     {"number": FAX_NUMBER, "route": {"type": "fax"}},
                 ],
                 "blacklist": [{"number": "79000000666"}],
             }},
            {"id": "cloudpbx2", "provider": "cloudpbx", "domain": "other.cloudpbx.ru",
             "credentials": {"token": OTHER_TOKEN}, "seed": {"generate": {"employees": 2, "calls": 0}}},
            {"id": "vats", "provider": "vats", "credentials": {"api_key": "vats-key"},
             "seed": {"generate": {"employees": 1, "calls": 0}}},
        ],
    }


@pytest.fixture
def sim_config() -> dict:
    return cloudpbx_config()


@pytest.fixture(autouse=True)
async def wednesday(sim):
    await sim.clock.set(WEDNESDAY)


async def api(client, method: str, **params):
    params.setdefault("token", TOKEN)
    if method == "GET":
        return await client.get(BASE, params=params)
    return await client.post(BASE, data=params)


async def run(sim, call, seconds: float = 600):
    await sim.clock.advance(seconds)
    cdr = await call.done
    await sim.webhooks.drain()
    return cdr


def account(sim):
    return sim.account("cloudpbx")


METHODS = pytest.mark.parametrize("method", ["GET", "POST"])


# ---- accounts ---------------------------------------------------------------------------------

@METHODS
async def test_accounts_lists_every_employee(client, method):
    resp = await api(client, method, cmd="accounts")
    assert resp.status == 200
    assert resp.content_type == "application/json"
    assert await resp.json() == [
        {"name": "andy", "realName": "Петров Андрей", "ext": "708", "telnum": "79261234567",
         "email": "andy@test.cloudpbx.ru"},
        {"name": "daria", "realName": "Иванова Дарья", "ext": "705", "email": "daria@test.cloudpbx.ru"},
        {"name": "mike", "realName": "Семенов Михаил", "ext": "702", "email": "mike@test.cloudpbx.ru"},
    ]


async def test_accounts_are_per_token(client):
    resp = await api(client, "POST", cmd="accounts", token=OTHER_TOKEN)
    names = [a["name"] for a in await resp.json()]
    assert len(names) == 2 and "andy" not in names


# ---- groups -----------------------------------------------------------------------------------

@METHODS
async def test_groups_lists_departments(client, method):
    resp = await api(client, method, cmd="groups")
    assert resp.status == 200
    assert await resp.json() == [{"id": "sales", "realName": "Отдел продаж", "ext": 701},
                                 {"id": "gr001", "realName": "Бухгалтерия", "ext": 706}]


@METHODS
@pytest.mark.parametrize("user,expected", [("daria", ["sales", "gr001"]), ("708", ["sales"]),
                                           ("mike", [])])
async def test_groups_of_one_user(client, method, user, expected):
    resp = await api(client, method, cmd="groups", user=user)
    assert resp.status == 200
    assert [g["id"] for g in await resp.json()] == expected


@METHODS
async def test_groups_unknown_user(client, method):
    resp = await api(client, method, cmd="groups", user="nobody")
    assert resp.status == 400
    assert await resp.json() == {"error": "Invalid parameters: [user]"}


# ---- makeCall ---------------------------------------------------------------------------------

@METHODS
@pytest.mark.parametrize("user", ["andy", "708", "79261234567"])
async def test_makecall_rings_employee_then_client(client, sim, method, user):
    resp = await api(client, method, cmd="makeCall", user=user, phone=CLIENT)
    assert resp.status == 200
    assert resp.content_type == "application/json"
    call_id = (await resp.json())["CallID"]
    call = sim.engine.get_live("cloudpbx", call_id)
    assert call is not None and call.click_to_call
    cdr = await run(sim, call)
    assert (cdr.id, cdr.direction, cdr.client, cdr.outcome) == (call_id, "out", CLIENT, "answered")
    assert account(sim).state.employees[cdr.employee_id].login == "andy"
    # the employee's phone rang first, then the client's
    assert [leg[1] for leg in cdr.legs] == [cdr.employee_id, None]
    lines = (await (await api(client, method, cmd="history", period="today")).text()).splitlines()
    assert [line.split(",")[:3] for line in lines] == [[call_id, "out", CLIENT]]


@METHODS
@pytest.mark.parametrize("params,bad", [
    ({"phone": CLIENT}, "user"),
    ({"user": "andy"}, "phone"),
    ({"user": "andy", "phone": ""}, "phone"),
    ({"user": "nobody", "phone": CLIENT}, "user"),
    ({"user": "andy", "phone": "+" + CLIENT}, "phone"),
    ({"user": "andy", "phone": "7910abc"}, "phone"),
])
async def test_makecall_bad_parameters(client, sim, method, params, bad):
    resp = await api(client, method, cmd="makeCall", **params)
    assert resp.status == 400
    assert await resp.json() == {"error": f"Invalid parameters: [{bad}]"}
    assert sim.engine.live_calls("cloudpbx") == []


# ---- history ----------------------------------------------------------------------------------

async def three_calls(sim):
    """An answered direct call, a missed department call, a busy outgoing call, 10 min apart."""
    a = sim.place_call("cloudpbx", "in", CLIENT, ANDY_NUMBER, script=CallScript(
        outcome="answered", ring_s=4, talk_s=60))
    first = await run(sim, a, 600)
    b = sim.place_call("cloudpbx", "in", "79107654321", SALES_NUMBER, script=CallScript(outcome="missed"))
    second = await run(sim, b, 600)
    c = sim.place_call("cloudpbx", "out", "", "79105550000", employee="daria",
                       script=CallScript(outcome="busy"))
    third = await run(sim, c, 600)
    return first, second, third


@METHODS
async def test_history_csv(client, sim, method):
    first, second, third = await three_calls(sim)
    resp = await api(client, method, cmd="history", period="today")
    assert resp.status == 200
    assert resp.content_type == "text/csv"
    key = record_key(account(sim), first.id)
    assert await resp.text() == (
        f"{first.id},in,{CLIENT},andy@{HOST},{ANDY_NUMBER},2026-03-11T12:00:00+03:00,4,60,"
        f"{sim.public_url}{BASE}/records/{first.id}.mp3?key={key}\n"
        f"{second.id},missed,79107654321,g_sales@{HOST},{SALES_NUMBER},2026-03-11T12:10:00+03:00,50,0,\n"
        f"{third.id},out,79105550000,daria@{HOST},{SALES_NUMBER},2026-03-11T12:20:00+03:00,0,0,\n")


@METHODS
@pytest.mark.parametrize("kind,expected", [("all", [0, 1, 2]), ("in", [0]), ("missed", [1]), ("out", [2])])
async def test_history_type_filter(client, sim, method, kind, expected):
    calls = await three_calls(sim)
    text = await (await api(client, method, cmd="history", type=kind)).text()
    assert [line.split(",")[0] for line in text.splitlines()] == [calls[i].id for i in expected]


@METHODS
async def test_history_limit_and_window(client, sim, method):
    calls = await three_calls(sim)
    text = await (await api(client, method, cmd="history", limit="2")).text()
    assert [line.split(",")[0] for line in text.splitlines()] == [calls[0].id, calls[1].id]
    # start/end in UTC, compact (documented) and extended (sent by some clients)
    for start, end in (("20260311T090500Z", "20260311T091500Z"),
                       ("2026-03-11T09:05:00Z", "2026-03-11T09:15:00Z")):
        text = await (await api(client, method, cmd="history", start=start, end=end)).text()
        assert [line.split(",")[0] for line in text.splitlines()] == [calls[1].id]
    # the period overrides start and end
    text = await (await api(client, method, cmd="history", period="yesterday",
                            start="20260311T000000Z", end="20260312T000000Z")).text()
    assert text == ""
    # start after end: nothing, not an error
    resp = await api(client, method, cmd="history", start="20260311T100000Z", end="20260311T090000Z")
    assert resp.status == 200 and await resp.text() == ""
    # start alone: up to now
    text = await (await api(client, method, cmd="history", start="20260311T091500Z")).text()
    assert [line.split(",")[0] for line in text.splitlines()] == [calls[2].id]


async def test_history_periods_follow_the_clock(client, sim):
    calls = await three_calls(sim)
    ids = [c.id for c in calls]

    async def period(name):
        text = await (await api(client, "GET", cmd="history", period=name)).text()
        return [line.split(",")[0] for line in text.splitlines()]

    assert await period("today") == ids
    assert await period("this_week") == ids
    assert await period("this_month") == ids
    await sim.clock.advance("1d")                      # Thursday
    assert await period("today") == []
    assert await period("yesterday") == ids
    await sim.clock.advance("5d")                      # next Tuesday
    assert await period("this_week") == []
    assert await period("last_week") == ids
    await sim.clock.set(datetime(2026, 4, 2, 9, 0, tzinfo=timezone.utc))
    assert await period("this_month") == []
    assert await period("last_month") == ids


async def test_history_day_is_the_accounts_local_day(client, sim):
    # 22:30 UTC on 11 March is already 12 March in Moscow
    await sim.clock.set(datetime(2026, 3, 11, 22, 30, tzinfo=timezone.utc))
    call = sim.place_call("cloudpbx", "in", CLIENT, ANDY_NUMBER, script=CallScript(outcome="answered"))
    cdr = await run(sim, call, 120)
    text = await (await api(client, "GET", cmd="history", period="today")).text()
    assert text.startswith(f"{cdr.id},in,") and ",2026-03-12T01:30:00+03:00," in text
    text = await (await api(client, "GET", cmd="history", period="yesterday")).text()
    assert text == ""


@METHODS
@pytest.mark.parametrize("params,bad", [
    ({"period": "week"}, "period"),
    ({"type": "inbound"}, "type"),
    ({"limit": "ten"}, "limit"),
    ({"limit": "0"}, "limit"),
    ({"start": "2026-13-45"}, "start"),
    ({"end": "yesterday"}, "end"),
])
async def test_history_bad_parameters(client, method, params, bad):
    resp = await api(client, method, cmd="history", **params)
    assert resp.status == 400
    assert await resp.json() == {"error": f"Invalid parameters: [{bad}]"}


async def test_history_ivr_fax_and_blocked_accounts(client, sim):
    ivr = await run(sim, sim.place_call("cloudpbx", "in", CLIENT, IVR_NUMBER, script=CallScript(ivr="9")))
    fax = await run(sim, sim.place_call("cloudpbx", "in", CLIENT, FAX_NUMBER))
    blocked = await run(sim, sim.place_call("cloudpbx", "in", "79000000666", SALES_NUMBER))
    internal = await run(sim, sim.place_call("cloudpbx", "internal", "andy", "mike"))
    text = await (await api(client, "GET", cmd="history")).text()
    rows = {line.split(",")[0]: line.split(",") for line in text.splitlines()}
    assert internal.id not in rows          # no client: not in the client history
    assert rows[ivr.id][1:4] == ["missed", CLIENT, "ivr"]
    assert rows[fax.id][1:4] == ["missed", CLIENT, "fax"]
    assert rows[blocked.id][1:4] == ["missed", "79000000666", "ivr"]


async def test_history_reads_a_large_store_by_window(client, sim):
    from simulator.core.models import CallRecord
    store = account(sim).state.cdrs
    base = WEDNESDAY.timestamp() - 40 * 86400
    store.extend_sorted(CallRecord(id=f"c{i:06d}", direction="in", caller=CLIENT, callee=ANDY_NUMBER,
                                   started_at=base + i * 30, ended_at=base + i * 30 + 20, outcome="missed",
                                   client=CLIENT, via=ANDY_NUMBER, destination="ivr")
                        for i in range(200_000))
    resp = await api(client, "GET", cmd="history", start="20260210T000000Z", limit="3")
    lines = (await resp.text()).splitlines()
    assert len(lines) == 3 and lines[0].split(",")[5] == "2026-02-10T03:00:00+03:00"


# ---- recordings -------------------------------------------------------------------------------

async def test_recording_link_serves_the_mp3(client, sim):
    cdr = await run(sim, sim.place_call("cloudpbx", "in", CLIENT, ANDY_NUMBER,
                                        script=CallScript(outcome="answered", talk_s=42)))
    text = await (await api(client, "GET", cmd="history")).text()
    link = text.strip().split(",")[8]
    resp = await client.get(link.replace(sim.public_url, ""))
    assert resp.status == 200
    assert resp.content_type == "audio/mpeg"
    body = await resp.read()
    assert body == mp3_bytes(42) and mp3_duration(body) >= 42


async def test_recording_link_is_signed(client, sim):
    cdr = await run(sim, sim.place_call("cloudpbx", "in", CLIENT, ANDY_NUMBER,
                                        script=CallScript(outcome="answered", talk_s=5)))
    resp = await client.get(f"{BASE}/records/{cdr.id}.mp3", params={"key": "0" * 32})
    assert resp.status == 401
    assert await resp.json() == {"error": "Invalid token"}
    resp = await client.get(f"{BASE}/records/nosuchcall.mp3", params={"key": "0" * 32})
    assert resp.status == 404
    assert await resp.json() == {"error": "Not Found"}
    # a token regenerated revokes the old links
    text = await (await api(client, "GET", cmd="history")).text()
    link = text.strip().split(",")[8].replace(sim.public_url, "")
    sim.regenerate("cloudpbx")
    assert (await client.get(link)).status == 401


async def test_unanswered_call_has_no_recording(client, sim):
    cdr = await run(sim, sim.place_call("cloudpbx", "in", CLIENT, ANDY_NUMBER, script=CallScript(outcome="missed")))
    text = await (await api(client, "GET", cmd="history")).text()
    assert text.strip().split(",")[8] == ""
    resp = await client.get(f"{BASE}/records/{cdr.id}.mp3", params={"key": record_key(account(sim), cdr.id)})
    assert resp.status == 404


# ---- subscribeOnCalls / subscriptionStatus ----------------------------------------------------

async def status_of(client, method, user, group):
    resp = await api(client, method, cmd="subscriptionStatus", user=user, group_id=group)
    assert resp.status == 200 and resp.content_type == "application/json"
    return (await resp.json())["status"]


@METHODS
async def test_subscribe_one_group(client, sim, method):
    resp = await api(client, method, cmd="subscribeOnCalls", user="daria", group_id="sales", status="off")
    assert resp.status == 200
    assert resp.content_type == "text/plain"
    assert await resp.text() == "OK"
    assert await status_of(client, method, "daria", "sales") == "off"
    assert await status_of(client, method, "daria", "gr001") == "on"
    # the department no longer rings her
    cdr = await run(sim, sim.place_call("cloudpbx", "in", CLIENT, SALES_NUMBER,
                                        script=CallScript(outcome="missed")))
    assert cdr.employee_ids == (account(sim).state.employee_by_login("andy").id,)
    resp = await api(client, method, cmd="subscribeoncalls", user="daria", group_id="sales", status="on")
    assert await resp.text() == "OK"
    assert await status_of(client, method, "daria", "sales") == "on"


@METHODS
async def test_subscribe_without_group_switches_every_group(client, method):
    resp = await api(client, method, cmd="SUBSCRIBEONCALLS", user="705", status="off")
    assert await resp.text() == "OK"
    assert await status_of(client, method, "daria", "sales") == "off"
    assert await status_of(client, method, "daria", "gr001") == "off"


@METHODS
@pytest.mark.parametrize("cmd", ["subscriptionStatus", "subscriptionstatus", "subscribtionstatus"])
async def test_subscription_status_spellings(client, method, cmd):
    resp = await api(client, method, cmd=cmd, user="andy", group_id="sales")
    assert resp.status == 200
    assert await resp.json() == {"status": "on"}


@METHODS
@pytest.mark.parametrize("cmd,params,bad", [
    ("subscribeOnCalls", {"group_id": "sales", "status": "off"}, "user"),
    ("subscribeOnCalls", {"user": "andy", "group_id": "sales"}, "status"),
    ("subscribeOnCalls", {"user": "andy", "status": "maybe"}, "status"),
    ("subscribeOnCalls", {"user": "andy", "group_id": "gr001", "status": "off"}, "group_id"),
    ("subscribeOnCalls", {"user": "andy", "group_id": "nosuch", "status": "off"}, "group_id"),
    ("subscribeOnCalls", {"user": "ghost", "status": "off"}, "user"),
    ("subscriptionStatus", {"user": "andy"}, "group_id"),
    ("subscriptionStatus", {"group_id": "sales"}, "user"),
    ("subscriptionStatus", {"user": "mike", "group_id": "sales"}, "group_id"),
])
async def test_subscription_bad_parameters(client, sim, method, cmd, params, bad):
    resp = await api(client, method, cmd=cmd, **params)
    assert resp.status == 400
    assert await resp.json() == {"error": f"Invalid parameters: [{bad}]"}
    state = account(sim).state
    assert all(m.calls_enabled for d in state.departments.values() for m in d.members)


# ---- DND --------------------------------------------------------------------------------------

@METHODS
async def test_set_and_get_dnd(client, sim, method):
    resp = await api(client, method, cmd="get_dnd", user="andy")
    assert resp.status == 200 and await resp.json() == {"state": False}
    resp = await api(client, method, cmd="set_dnd", user="andy", state="true")
    assert resp.status == 200 and resp.content_type == "text/plain" and await resp.text() == "OK"
    assert await (await api(client, method, cmd="get_dnd", user="708")).json() == {"state": True}
    # the engine no longer rings him
    cdr = await run(sim, sim.place_call("cloudpbx", "in", CLIENT, ANDY_NUMBER))
    assert cdr.outcome == "dnd"
    resp = await api(client, method, cmd="set_dnd", user="andy", state="false")
    assert await resp.text() == "OK"
    assert await (await api(client, method, cmd="get_dnd", user="andy")).json() == {"state": False}
    cdr = await run(sim, sim.place_call("cloudpbx", "in", CLIENT, ANDY_NUMBER))
    assert cdr.outcome == "answered"


@METHODS
@pytest.mark.parametrize("cmd,params,bad", [
    ("set_dnd", {"state": "true"}, "user"),
    ("set_dnd", {"user": "andy"}, "state"),
    ("set_dnd", {"user": "andy", "state": "yes"}, "state"),
    ("set_dnd", {"user": "ghost", "state": "true"}, "user"),
    ("get_dnd", {}, "user"),
    ("get_dnd", {"user": "ghost"}, "user"),
])
async def test_dnd_bad_parameters(client, sim, method, cmd, params, bad):
    resp = await api(client, method, cmd=cmd, **params)
    assert resp.status == 400
    assert await resp.json() == {"error": f"Invalid parameters: [{bad}]"}
    assert not any(e.dnd for e in account(sim).state.employees.values())


# ---- auth and dispatch ------------------------------------------------------------------------

@METHODS
@pytest.mark.parametrize("token", [None, "", "wrong", "vats-key"])
@pytest.mark.parametrize("cmd", ["accounts", "history", "nosuchcmd"])
async def test_invalid_token(client, method, token, cmd):
    params = {"cmd": cmd}
    if token is not None:
        params["token"] = token
    resp = await (client.get(BASE, params=params) if method == "GET" else client.post(BASE, data=params))
    assert resp.status == 401
    assert resp.content_type == "application/json"
    assert await resp.json() == {"error": "Invalid token"}


@METHODS
@pytest.mark.parametrize("cmd", [None, "", "nosuchcmd", "rating", "make_call"])
async def test_unknown_command(client, method, cmd):
    params = {} if cmd is None else {"cmd": cmd}
    resp = await api(client, method, **params)
    assert resp.status == 400
    assert await resp.json() == {"error": "Invalid parameters: [cmd]"}


@pytest.mark.parametrize("cmd", ["ACCOUNTS", "Accounts", "MAKECALL", "History", "GET_DND"])
async def test_command_names_are_case_insensitive(client, cmd):
    params = {"user": "andy", "phone": CLIENT} if cmd in ("MAKECALL", "GET_DND") else {}
    resp = await api(client, "POST", cmd=cmd, **params)
    assert resp.status == 200


async def test_post_with_query_string_and_json_body(client):
    resp = await client.post(f"{BASE}?cmd=get_dnd&token={TOKEN}", data={"user": "andy"})
    assert await resp.json() == {"state": False}
    resp = await client.post(BASE, json={"cmd": "get_dnd", "token": TOKEN, "user": "andy"})
    assert await resp.json() == {"state": False}


async def test_unreadable_body(client):
    resp = await client.post(BASE, data=b"{not json", headers={"Content-Type": "application/json"})
    assert resp.status == 400
    assert await resp.json() == {"error": "Invalid parameters"}
    resp = await client.post(BASE, data=b"[1, 2]", headers={"Content-Type": "application/json"})
    assert resp.status == 400


async def test_other_methods_and_paths_keep_the_error_shape(client):
    resp = await client.put(BASE, data={"cmd": "accounts", "token": TOKEN})
    assert resp.status == 405
    assert await resp.json() == {"error": "Method Not Allowed"}
    resp = await client.get(BASE + "/nothing")
    assert resp.status == 404
    assert await resp.json() == {"error": "Not Found"}


async def test_requests_are_journaled_with_the_account(client, sim):
    await api(client, "POST", cmd="accounts")
    await api(client, "POST", cmd="accounts", token="wrong")
    entries = sim.requests.entries()[-2:]
    assert [(e.account, e.provider, e.status) for e in entries] == [
        ("cloudpbx", "cloudpbx", 200), (None, "cloudpbx", 401)]
    assert TOKEN not in " ".join(e.path for e in sim.requests.entries())


ODD_VALUES = ["", " ", "0", "-1", "+7", "١٢٣", "None", "null", "true", "[]", "{}", "a" * 500, "' OR 1=1 --",
              "20261399T999999Z", "00010101T000000Z", "99991231T235959Z", "9999-12-31T23:59:59+14:00",
              "%00", "\u202e", "на русском"]


@pytest.mark.parametrize("cmd", sorted({"accounts", "groups", "makeCall", "history", "subscribeOnCalls",
                                        "subscriptionStatus", "set_dnd", "get_dnd"}))
async def test_odd_input_never_breaks_the_server(client, sim, cmd):
    names = ["user", "phone", "start", "end", "period", "type", "limit", "group_id", "status", "state"]
    for i, value in enumerate(ODD_VALUES):
        params = {name: ODD_VALUES[(i + k) % len(ODD_VALUES)] for k, name in enumerate(names)}
        params["start"] = params["end"] = value
        for method in ("GET", "POST"):
            resp = await api(client, method, cmd=cmd, **params)
            assert resp.status in (200, 400), (cmd, params, await resp.text())
            if resp.status == 400:
                assert (await resp.json())["error"].startswith("Invalid parameters")
    assert sim.engine.live_calls("cloudpbx") == []
    state = sim.account("cloudpbx").state
    assert not any(e.dnd for e in state.employees.values())
