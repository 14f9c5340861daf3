"""vats CRM API v1: auth, errors, users, departments, numbers, SIM cards, blacklist."""

from __future__ import annotations

import pytest

from .test_vats_common import (  # noqa: F401  (fixtures)
    ANTON_NUMBER,
    KEY,
    SALES_NUMBER,
    api,
    sim_config,
)

ADMIN = {"login": "admin", "name": "Администратор", "position": "Администратор", "ext": "701",
         "telnum": "", "email": "admin@example.com", "role": "admin", "mobile": "79261234567",
         "mobile_redirect": {"enabled": False}}
SALES = {"id": "sales", "name": "Отдел продаж", "ext": "600", "call_order": "ALL", "call_duration": 0,
         "users": [{"login": "admin", "name": "Администратор", "calls_enable": True},
                   {"login": "anton", "name": "Антон Петров", "calls_enable": True},
                   {"login": "ivan", "name": "Иван Сидоров", "calls_enable": True}],
         "timeout": {"time": 60, "target": "voicemail"}, "advanced": "off"}


# ---- auth and errors -------------------------------------------------------------------------

@pytest.mark.parametrize("key", [None, "", "wrong-key"])
async def test_missing_or_wrong_key_is_invalid_token(api, key):
    status, body = await api.get("/users", key=key)
    assert (status, body) == (401, {"message": "Invalid token"})


async def test_header_name_is_case_insensitive_on_the_wire(api):
    status, _ = await api.get("/users", key=None, headers={"x-api-key": KEY})
    assert status == 200


@pytest.mark.parametrize("switch,message", [("crm_disabled", "CRM disabled"),
                                            ("crm_switched_off", "CRM switched off")])
async def test_admin_switches_turn_the_api_off(api, client, switch, message):
    resp = await client.patch("/_sim/accounts/vats", json={"switches": {switch: True}})
    assert resp.status == 200
    assert await api.get("/users") == (401, {"message": message})
    assert await api.post("/makecall", json={"phone": "79101234567", "user": "admin"}) == (401, {"message": message})
    await client.patch("/_sim/accounts/vats", json={"switches": {switch: False}})
    assert (await api.get("/users"))[0] == 200


async def test_wrong_key_beats_switches(api, client):
    await client.patch("/_sim/accounts/vats", json={"switches": {"crm_disabled": True}})
    assert await api.get("/users", key="nope") == (401, {"message": "Invalid token"})


async def test_method_not_allowed_and_unknown_path(api):
    assert await api.request("PATCH", "/users") == (405, {"message": "Method Not Allowed"})
    assert await api.request("PUT", "/telnums") == (405, {"message": "Method Not Allowed"})
    assert await api.get("/no/such/thing") == (404, {"message": "Not found"})


@pytest.mark.parametrize("path", ["/users/nobody", "/users/999", "/users/nobody/groups", "/users/nobody/dnd",
                                  "/users/nobody/subscription", "/groups/nope", "/telnums/70000000000",
                                  "/sims/70000000000"])
async def test_unknown_things_are_404(api, path):
    assert await api.get(path) == (404, {"message": "Not found"})


async def test_invalid_json_is_a_validation_error(api, sim):
    before = len(sim.account("vats").state.employees)
    status, body = await api.post("/users", data=b"{not json", headers={"Content-Type": "application/json"})
    assert (status, body) == (400, {"message": "Validation error", "errors": {"body": "invalid JSON"}})
    status, body = await api.post("/users", json=["name"])
    assert (status, body) == (400, {"message": "Validation error", "errors": {"body": "must be a JSON object"}})
    assert len(sim.account("vats").state.employees) == before


async def test_journal_knows_the_account(api, sim):
    await api.get("/users")
    entry = sim.requests.entries("vats", 1)[-1]
    assert (entry.account, entry.provider, entry.path) == ("vats", "vats", "/crmapi/v1/users")


async def test_json_content_type_on_get_is_ignored(api):
    status, body = await api.get("/users", headers={"Content-Type": "application/json"})
    assert status == 200 and body["info"]["total"] == 3


# ---- users -----------------------------------------------------------------------------------

async def test_users_list_envelope(api):
    status, body = await api.get("/users")
    assert status == 200
    assert body["items"][0] == ADMIN
    assert [u["login"] for u in body["items"]] == ["admin", "anton", "ivan"]
    assert body["info"] == {"search": "", "start": 0, "limit": 3, "total": 3}


async def test_users_paging_and_search(api):
    _, body = await api.get("/users?start=1&limit=1")
    assert [u["login"] for u in body["items"]] == ["anton"]
    assert body["info"] == {"search": "", "start": 1, "limit": 1, "total": 3, "next": 2}
    _, body = await api.get("/users?start=2&limit=1")
    assert [u["login"] for u in body["items"]] == ["ivan"] and "next" not in body["info"]
    _, body = await api.get("/users?start=3&limit=1")
    assert body["items"] == [] and body["info"]["total"] == 3
    _, body = await api.get("/users", params={"search": "антон"})
    assert [u["login"] for u in body["items"]] == ["anton"]
    assert body["info"] == {"search": "антон", "start": 0, "limit": 1, "total": 1}
    _, body = await api.get("/users?search=703")
    assert [u["login"] for u in body["items"]] == ["ivan"]


@pytest.mark.parametrize("query,field", [("start=x", "start"), ("limit=-1", "limit"), ("start=-2", "start")])
async def test_users_bad_paging(api, query, field):
    status, body = await api.get("/users?" + query)
    assert status == 400 and body["message"] == "Validation error" and field in body["errors"]


async def test_user_by_login_or_ext(api):
    assert await api.get("/users/admin") == (200, ADMIN)
    assert await api.get("/users/701") == (200, ADMIN)


async def test_create_user_with_documented_defaults(api, sim):
    status, body = await api.post("/users", json={"name": "Александр", "mobile": "79008004455",
                                                  "mobile_redirect": {"enabled": True, "delay": 15}})
    expected = {"login": "u700", "name": "Александр", "position": "Менеджер", "ext": "700", "telnum": "",
                "email": "", "role": "user", "mobile": "79008004455",
                "mobile_redirect": {"enabled": True, "forward": False, "delay": 15}}
    assert (status, body) == (200, expected)
    assert await api.get("/users/u700") == (200, expected)
    emp = sim.account("vats").state.employee_by_login("u700")
    assert emp.extra["password"] and "password" not in body
    # the next free extension is taken next
    _, second = await api.post("/users", json={"name": "Борис", "login": "boris", "position": "Директор",
                                               "role": "restricted_user", "email": "b@example.com"})
    assert (second["login"], second["ext"], second["position"], second["role"]) == ("boris", "704", "Директор",
                                                                                    "restricted_user")


@pytest.mark.parametrize("body,field", [
    ({}, "name"),
    ({"name": "  "}, "name"),
    ({"name": "X", "login": "admin"}, "login"),
    ({"name": "X", "ext": "701"}, "ext"),
    ({"name": "X", "ext": "600"}, "ext"),          # a department's extension
    ({"name": "X", "ext": "abc"}, "ext"),
    ({"name": "X", "role": "root"}, "role"),
    ({"name": "X", "email": "nope"}, "email"),
    ({"name": "X", "mobile_redirect": {"enabled": True}}, "mobile"),
    ({"name": "X", "mobile": "79001112233", "mobile_redirect": {"enabled": True, "delay": 7}},
     "mobile_redirect.delay"),
])
async def test_create_user_refused(api, sim, body, field):
    before = len(sim.account("vats").state.employees)
    status, answer = await api.post("/users", json=body)
    assert status == 400
    assert answer["message"] == "Validation error" and list(answer["errors"]) == [field]
    assert len(sim.account("vats").state.employees) == before


async def test_edit_user_changes_only_what_is_sent(api):
    await api.post("/users", json={"name": "Александр", "mobile": "79008004455",
                                   "mobile_redirect": {"enabled": True, "delay": 15}})
    status, body = await api.put("/users/u700", json={"name": "Ivan", "role": "admin", "ext": "708"})
    expected = {"login": "u700", "name": "Ivan", "position": "Менеджер", "ext": "708", "telnum": "",
                "email": "", "role": "admin", "mobile": "79008004455",
                "mobile_redirect": {"enabled": True, "forward": False, "delay": 15}}
    assert (status, body) == (200, expected)
    assert await api.get("/users/708") == (200, expected)
    status, body = await api.put("/users/u700", json={"ext": "701"})
    assert status == 400 and "ext" in body["errors"]
    assert (await api.get("/users/u700"))[1]["ext"] == "708"
    assert await api.put("/users/nobody", json={"name": "x"}) == (404, {"message": "Not found"})


async def test_delete_user(api, sim):
    assert await api.delete("/users/ivan") == (204, b"")
    assert await api.get("/users/ivan") == (404, {"message": "Not found"})
    _, group = await api.get("/groups/sales")
    assert [u["login"] for u in group["users"]] == ["admin", "anton"]
    assert await api.delete("/users/ivan") == (404, {"message": "Not found"})


async def test_user_groups(api):
    assert await api.get("/users/admin/groups") == (200, [{"id": "sales", "name": "Отдел продаж", "ext": "600"}])
    await api.post("/users", json={"name": "Новый"})
    assert await api.get("/users/u700/groups") == (200, [])


async def test_subscription_in_one_and_all_departments(api, sim):
    assert await api.get("/users/anton/subscription?group_id=sales") == (200, {"state": True})
    assert await api.delete("/users/anton/subscription?group_id=sales") == (204, b"")
    assert await api.get("/users/anton/subscription?group_id=sales") == (200, {"state": False})
    _, group = await api.get("/groups/sales")
    assert {"login": "anton", "name": "Антон Петров", "calls_enable": False} in group["users"]
    assert await api.post("/users/702/subscription") == (204, b"")
    assert await api.get("/users/anton/subscription") == (200, {"state": True})
    _, group = await api.post("/groups", json={"name": "Склад", "users": [{"login": "anton", "calls_enable": True}]})
    assert await api.delete("/users/anton/subscription") == (204, b"")
    state = sim.account("vats").state
    assert [d.member(2).calls_enabled for d in state.departments_of(2)] == [False, False]
    assert await api.get("/users/anton/subscription") == (200, {"state": False})
    assert await api.get("/users/anton/subscription?group_id=nope") == (404, {"message": "Not found"})
    await api.post("/users", json={"name": "Вне отделов"})
    assert await api.post("/users/u700/subscription?group_id=sales") == (404, {"message": "Not found"})


async def test_dnd(api, sim):
    assert await api.get("/users/anton/dnd") == (200, {"state": False})
    assert await api.post("/users/anton/dnd") == (204, b"")
    assert await api.get("/users/anton/dnd") == (200, {"state": True})
    assert sim.account("vats").state.employee_by_login("anton").dnd is True
    assert await api.delete("/users/702/dnd") == (204, b"")
    assert await api.get("/users/anton/dnd") == (200, {"state": False})


# ---- departments -----------------------------------------------------------------------------

async def test_groups_list_and_get(api):
    assert await api.get("/groups") == (200, {"items": [SALES], "info": {"search": "", "start": 0, "limit": 1,
                                                                          "total": 1}})
    assert await api.get("/groups/sales") == (200, SALES)
    _, body = await api.get("/groups?search=zzz")
    assert body == {"items": [], "info": {"search": "zzz", "start": 0, "limit": 0, "total": 0}}


async def test_create_group_as_in_the_seed(api):
    status, body = await api.post("/groups", json={
        "name": "Отдел поставок", "call_order": "EVENLY", "call_duration": 10, "advanced": "callback",
        "timeout": {"time": 30, "target": "user", "user": "admin"},
        "users": [{"login": "admin", "calls_enable": True}, {"login": "ivan", "calls_enable": False}]})
    assert status == 200
    gid = body.pop("id")
    assert gid.startswith("g_") and len(gid) == 38
    assert body == {"name": "Отдел поставок", "ext": "700", "call_order": "EVENLY", "call_duration": 10,
                    "users": [{"login": "admin", "name": "Администратор", "calls_enable": True},
                              {"login": "ivan", "name": "Иван Сидоров", "calls_enable": False}],
                    "timeout": {"time": 30, "target": "user", "user": "admin"}, "advanced": "callback"}
    assert (await api.get(f"/groups/{gid}"))[1] == {"id": gid, **body}


async def test_create_group_defaults(api):
    _, body = await api.post("/groups", json={"name": "Пустой"})
    assert {k: body[k] for k in ("call_order", "call_duration", "users", "timeout", "advanced")} == {
        "call_order": "ALL", "call_duration": 0, "users": [], "timeout": {"time": 120, "target": "voicemail"},
        "advanced": "off"}
    _, body = await api.put(f"/groups/{body['id']}", json={"call_order": "WATERFALL"})
    assert body["call_duration"] == 15


@pytest.mark.parametrize("body,field", [
    ({}, "name"),
    ({"name": "X", "call_order": "RANDOM"}, "call_order"),
    ({"name": "X", "call_order": "BYORDER", "call_duration": 7}, "call_duration"),
    ({"name": "X", "call_order": "BYORDER", "call_duration": 0}, "call_duration"),
    ({"name": "X", "advanced": "sometimes"}, "advanced"),
    ({"name": "X", "timeout": {"time": 45}}, "timeout.time"),
    ({"name": "X", "timeout": {"target": "user"}}, "timeout.user"),
    ({"name": "X", "timeout": {"target": "user", "user": "ghost"}}, "timeout.user"),
    ({"name": "X", "timeout": {"target": "group", "group": "nope"}}, "timeout.group"),
    ({"name": "X", "timeout": {"target": "telnum", "telnum": "abc"}}, "timeout.telnum"),
    ({"name": "X", "users": [{"login": "ghost", "calls_enable": True}]}, "users.0.login"),
    ({"name": "X", "ext": "701"}, "ext"),
])
async def test_create_group_refused(api, sim, body, field):
    status, answer = await api.post("/groups", json=body)
    assert status == 400 and answer["message"] == "Validation error" and list(answer["errors"]) == [field]
    assert list(sim.account("vats").state.departments) == ["sales"]


async def test_edit_group_partially(api, sim):
    status, body = await api.put("/groups/sales", json={
        "name": "Продажи", "call_order": "BYORDER", "call_duration": 20,
        "timeout": {"time": 300, "target": "telnum", "telnum": "79001234567"}})
    assert status == 200
    assert body == {**SALES, "name": "Продажи", "call_order": "BYORDER", "call_duration": 20,
                    "timeout": {"time": 300, "target": "telnum", "telnum": "79001234567"}}
    dept = sim.account("vats").state.departments["sales"]
    assert (dept.ring_interval, dept.timeout, dept.timeout_target, dept.timeout_value) == (20, 300, "external",
                                                                                         "79001234567")
    _, body = await api.put("/groups/sales", json={"users": [{"login": "ivan", "calls_enable": False}]})
    assert body["users"] == [{"login": "ivan", "name": "Иван Сидоров", "calls_enable": False}]
    status, _ = await api.put("/groups/sales", json={"call_duration": 3})
    assert status == 400 and dept.ring_interval == 20
    assert await api.put("/groups/nope", json={}) == (404, {"message": "Not found"})


async def test_delete_group(api):
    assert await api.delete("/groups/sales") == (204, b"")
    assert await api.get("/groups/sales") == (404, {"message": "Not found"})
    assert await api.get("/users/admin/groups") == (200, [])


async def test_group_member_edit_order(api):
    await api.post("/users", json={"name": "Новый"})                     # u700
    await api.put("/groups/sales", json={"users": [{"login": "admin", "calls_enable": True},
                                                   {"login": "anton", "calls_enable": False},
                                                   {"login": "ivan", "calls_enable": True}]})
    status, body = await api.post("/groups/sales/users", json={
        "add": ["u700", "anton"], "position": 1, "calls_disable": ["ivan"], "remove": ["admin"]})
    assert (status, body) == (204, b"")
    _, group = await api.get("/groups/sales")
    assert group["users"] == [{"login": "u700", "name": "Новый", "calls_enable": True},
                              {"login": "anton", "name": "Антон Петров", "calls_enable": True},
                              {"login": "ivan", "name": "Иван Сидоров", "calls_enable": False}]


async def test_group_member_edit_add_then_disable_and_positions(api):
    await api.post("/users", json={"name": "A"})     # u700
    await api.post("/users", json={"name": "B"})     # u704
    await api.post("/groups/sales/users", json={"add": ["u700"], "calls_disable": ["u700"], "position": 0})
    await api.post("/groups/sales/users", json={"add": ["704"]})
    _, group = await api.get("/groups/sales")
    assert [(u["login"], u["calls_enable"]) for u in group["users"]] == [
        ("u700", False), ("admin", True), ("anton", True), ("ivan", True), ("u704", True)]


async def test_group_member_edit_refused_changes_nothing(api):
    status, body = await api.post("/groups/sales/users", json={"add": ["ivan"], "remove": ["ghost"]})
    assert status == 400 and body["errors"] == {"remove.0": "unknown user"}
    status, body = await api.post("/groups/sales/users", json={"position": -5})
    assert status == 400 and "position" in body["errors"]
    assert await api.get("/groups/sales") == (200, SALES)
    assert await api.post("/groups/nope/users", json={}) == (404, {"message": "Not found"})


# ---- company numbers -------------------------------------------------------------------------

SALES_TELNUM = {"type": "group", "group": "sales", "group_name": "Отдел продаж", "greeting": False,
                "is_main_phone": True, "location": "", "disabled": False, "telnum": SALES_NUMBER, "crm": "",
                "calltracking": ""}
ANTON_TELNUM = {"type": "user", "user": "anton", "user_name": "Антон Петров", "greeting": False,
                "is_main_phone": False, "location": "", "disabled": False, "telnum": ANTON_NUMBER, "crm": "",
                "calltracking": ""}


async def test_telnums_list_and_get(api):
    assert await api.get("/telnums") == (200, {"items": [SALES_TELNUM, ANTON_TELNUM],
                                               "info": {"search": "", "start": 0, "limit": 2, "total": 2}})
    assert await api.get(f"/telnums/{SALES_NUMBER}") == (200, SALES_TELNUM)
    assert await api.get(f"/telnums/+{SALES_NUMBER}") == (200, SALES_TELNUM)
    _, body = await api.get("/telnums?search=Антон")
    assert body["items"] == [ANTON_TELNUM]


async def test_route_to_user_and_group(api, sim):
    status, body = await api.post(f"/telnums/{SALES_NUMBER}", json={"type": "user", "user": "ivan",
                                                                  "greeting": True})
    assert (status, body) == (200, {"type": "user", "user": "ivan", "user_name": "Иван Сидоров", "greeting": True,
                                    "is_main_phone": True, "location": "", "disabled": False,
                                    "telnum": SALES_NUMBER, "crm": "", "calltracking": ""})
    route = sim.account("vats").state.numbers[SALES_NUMBER].route
    assert (route.type, route.target) == ("employee", "ivan")
    status, body = await api.post(f"/telnums/{ANTON_NUMBER}", json={"type": "group", "group": "sales",
                                                                  "greeting": False})
    assert status == 200
    assert body == {"type": "group", "group": "sales", "group_name": "Отдел продаж", "greeting": False,
                    "is_main_phone": False, "location": "", "disabled": False, "telnum": ANTON_NUMBER,
                    "crm": "", "calltracking": ""}


async def test_route_ivr(api, sim):
    status, body = await api.post(f"/telnums/{SALES_NUMBER}", json={
        "type": "ivr", "greeting": True,
        "ivr": {"name": "Главное меню", "greeting": True, "items": [
            {"button": "1", "type": "group", "group": "sales"},
            {"button": "2", "type": "user", "user": "anton"},
            {"button": "timeout", "type": "user", "user": "ivan"}]}})
    assert status == 200
    assert body["type"] == "ivr" and body["greeting"] is True
    assert body["ivr"] == {"name": "Главное меню", "greeting": True, "greeting_custom": False, "items": [
        {"button": "1", "type": "group", "group": "sales"},
        {"button": "2", "type": "user", "user": "anton"},
        {"button": "timeout", "type": "user", "user": "ivan"}]}
    route = sim.account("vats").state.numbers[SALES_NUMBER].route
    assert route.type == "ivr" and route.ivr["2"].target == "anton" and route.ivr_default == "timeout"
    # another number's menu can point at this one by name
    status, body = await api.post(f"/telnums/{ANTON_NUMBER}", json={
        "type": "ivr", "greeting": False,
        "ivr": {"name": "Второе", "items": [{"button": "9", "type": "ivr", "ivr": "Главное меню"}]}})
    assert status == 200 and body["ivr"]["items"] == [{"button": "9", "type": "ivr", "ivr": "Главное меню"}]
    status, body = await api.post(f"/telnums/{ANTON_NUMBER}", json={
        "type": "ivr", "greeting": False, "ivr": {"items": [{"button": "9", "type": "ivr", "ivr": "Нет такого"}]}})
    assert status == 400 and body["errors"] == {"ivr.items.0.ivr": "unknown ivr"}


async def test_route_scheduler_rounds_to_minutes(api, sim):
    day = {"start": 32449, "end": 64800}
    status, body = await api.post(f"/telnums/{SALES_NUMBER}", json={
        "type": "scheduler", "greeting": False,
        "work": {"subtype": "group", "group": "sales"},
        "other": {"subtype": "telnum", "telnum": "79001112233"},
        "schedule": {d: day for d in ("monday", "tuesday", "wednesday", "thursday", "friday")}})
    assert status == 200
    assert body["type"] == "scheduler"
    assert body["work"] == {"subtype": "group", "group": "sales", "greeting": False}
    assert body["other"] == {"subtype": "telnum", "telnum": "79001112233", "greeting": False}
    assert body["schedule"]["monday"] == {"start": 32460, "end": 64800, "holiday": False}
    assert body["schedule"]["saturday"] == {"start": 0, "end": 0, "holiday": True}
    assert body["schedule"]["sunday"] == {"start": 0, "end": 0, "holiday": True}
    route = sim.account("vats").state.numbers[SALES_NUMBER].route
    assert route.type == "schedule" and route.schedule["mon"] == [(32460, 64800)] and "sat" not in route.schedule
    assert (route.other.type, route.other.target) == ("external", "79001112233")


async def test_route_fax(api):
    _, body = await api.post(f"/telnums/{SALES_NUMBER}", json={"type": "fax", "greeting": False})
    assert body["type"] == "fax" and "group" not in body


@pytest.mark.parametrize("body,field", [
    ({"type": "user", "user": "anton"}, "greeting"),
    ({"greeting": True}, "type"),
    ({"type": "voicemail", "greeting": True}, "type"),
    ({"type": "user", "greeting": True}, "user"),
    ({"type": "user", "user": "ghost", "greeting": True}, "user"),
    ({"type": "group", "group": "nope", "greeting": True}, "group"),
    ({"type": "ivr", "greeting": True}, "ivr"),
    ({"type": "ivr", "greeting": True, "ivr": {"items": [{"button": "11", "type": "user", "user": "anton"}]}},
     "ivr.items.0.button"),
    ({"type": "scheduler", "greeting": True, "schedule": {}}, "work"),
    ({"type": "scheduler", "greeting": True, "work": {"subtype": "user", "user": "anton"}}, "schedule"),
    ({"type": "scheduler", "greeting": True, "work": {"subtype": "user", "user": "anton"},
      "schedule": {"monday": {"start": 64800, "end": 32400}}}, "schedule.monday"),
    ({"type": "scheduler", "greeting": True, "work": {"subtype": "user", "user": "anton"},
      "schedule": {"someday": {"start": 0, "end": 60}}}, "schedule.someday.[key]"),
])
async def test_route_edit_refused(api, sim, body, field):
    status, answer = await api.post(f"/telnums/{SALES_NUMBER}", json=body)
    assert status == 400 and answer["message"] == "Validation error" and list(answer["errors"]) == [field]
    assert sim.account("vats").state.numbers[SALES_NUMBER].route.type == "department"


async def test_number_reception_switch(api, sim):
    assert await api.delete(f"/telnums/{SALES_NUMBER}/enabled") == (204, b"")
    assert (await api.get(f"/telnums/{SALES_NUMBER}"))[1]["disabled"] is True
    assert sim.account("vats").state.numbers[SALES_NUMBER].enabled is False
    assert await api.post(f"/telnums/{SALES_NUMBER}/enabled") == (204, b"")
    assert (await api.get(f"/telnums/{SALES_NUMBER}"))[1]["disabled"] is False
    assert await api.post("/telnums/70000000000/enabled") == (404, {"message": "Not found"})
    assert await api.post("/telnums/70000000000", json={"type": "fax", "greeting": False}) == (
        404, {"message": "Not found"})


# ---- SIM cards -------------------------------------------------------------------------------

ADMIN_SIM = {"telnum": "79261234567", "user": "admin", "user_name": "Администратор", "company": False,
             "autocaller": False, "disabled": False, "calltracking": "", "abc_telnum": "", "abc_location": ""}
COMPANY_SIM = {"telnum": "79261238888", "user": "", "user_name": "", "company": True, "autocaller": False,
               "disabled": False, "calltracking": "", "abc_telnum": "", "abc_location": ""}


async def test_sims_list_and_get(api):
    assert await api.get("/sims") == (200, {"items": [ADMIN_SIM, COMPANY_SIM],
                                            "info": {"search": "", "start": 0, "limit": 2, "total": 2}})
    assert await api.get("/sims/79261234567") == (200, ADMIN_SIM)
    _, body = await api.get("/sims?search=admin")
    assert body["items"] == [ADMIN_SIM]


async def test_sim_assign_company_disable_delete(api):
    assert await api.post("/sims/79261238888/user/anton") == (204, b"")
    assert await api.get("/sims/79261238888") == (200, {**COMPANY_SIM, "user": "anton", "user_name": "Антон Петров",
                                                        "company": False})
    assert await api.post("/sims/79261234567/company") == (204, b"")
    assert await api.get("/sims/79261234567") == (200, {**ADMIN_SIM, "user": "", "user_name": "", "company": True})
    assert await api.post("/sims/79261234567/disable") == (204, b"")
    assert (await api.get("/sims/79261234567"))[1]["disabled"] is True
    assert await api.delete("/sims/79261234567") == (204, b"")
    assert await api.get("/sims/79261234567") == (404, {"message": "Not found"})
    assert await api.post("/sims/79261238888/user/ghost") == (404, {"message": "Not found"})
    assert await api.post("/sims/70000000000/company") == (404, {"message": "Not found"})
    assert await api.post("/sims/70000000000/disable") == (404, {"message": "Not found"})
    assert await api.delete("/sims/70000000000") == (404, {"message": "Not found"})


# ---- blacklist -------------------------------------------------------------------------------

async def test_blacklist_list_add_delete(api):
    assert await api.get("/blacklist/telnums") == (200, [{"telnum": "79990000001", "comment": "спам"},
                                                         {"telnum": "7900800*", "comment": "Причина"}])
    assert await api.post("/blacklist/telnums", json={"telnum": "79998880011",
                                                      "comment": "Нежелательный контакт"}) == (204, b"")
    assert await api.post("/blacklist/telnums", json=[{"telnum": "1234554321", "comment": "qwe"},
                                                      {"telnum": "+79990000001", "comment": "обновлён"}]) == (204, b"")
    _, body = await api.get("/blacklist/telnums?with=statistics")
    assert body == [{"telnum": "79990000001", "comment": "обновлён", "week": 0, "year": 0},
                    {"telnum": "7900800*", "comment": "Причина", "week": 0, "year": 0},
                    {"telnum": "79998880011", "comment": "Нежелательный контакт", "week": 0, "year": 0},
                    {"telnum": "1234554321", "comment": "qwe", "week": 0, "year": 0}]
    assert await api.delete("/blacklist/telnums?telnum=79998880011&telnum=7900800*&telnum=88899988899") == (204, b"")
    _, body = await api.get("/blacklist/telnums")
    assert [e["telnum"] for e in body] == ["79990000001", "1234554321"]


@pytest.mark.parametrize("body,field", [({}, "telnum"), ({"telnum": "abc"}, "telnum"), ([], "telnum"),
                                        ([{"telnum": "7900"}, {"telnum": "x*"}], "1.telnum")])
async def test_blacklist_add_refused(api, body, field):
    status, answer = await api.post("/blacklist/telnums", json=body)
    assert status == 400 and list(answer["errors"]) == [field]
    assert len((await api.get("/blacklist/telnums"))[1]) == 2


async def test_blacklist_add_a_list_of_numbers_with_one_comment(api):
    assert await api.post("/blacklist/telnums", json={"telnum": ["79001112233", "7495*"],
                                                      "comment": "реклама"}) == (204, b"")
    _, body = await api.get("/blacklist/telnums")
    assert body[2:] == [{"telnum": "79001112233", "comment": "реклама"}, {"telnum": "7495*", "comment": "реклама"}]


async def test_blacklist_delete_with_a_json_body(api):
    assert await api.delete("/blacklist/telnums", json={"telnum": ["79990000001", "7900800*"]}) == (204, b"")
    assert await api.get("/blacklist/telnums") == (200, [])


async def test_blacklist_delete_and_query_refused(api):
    status, body = await api.delete("/blacklist/telnums")
    assert (status, body) == (400, {"message": "Validation error", "errors": {"telnum": "Field required"}})
    status, body = await api.get("/blacklist/telnums?with=everything")
    assert status == 400 and "with" in body["errors"]


async def test_block_anonymous(api, sim):
    assert await api.get("/blacklist/block-anonymous") == (200, {"state": False})
    assert await api.post("/blacklist/block-anonymous") == (204, b"")
    assert await api.get("/blacklist/block-anonymous") == (200, {"state": True})
    assert sim.account("vats").state.block_anonymous is True
    assert await api.delete("/blacklist/block-anonymous") == (204, b"")
    assert await api.get("/blacklist/block-anonymous") == (200, {"state": False})
