"""t2 personal managers (CRUD with the documented save results, forwarding of a customer's
call to their manager) and the blacklist (raw-number body, list, delete one, delete all)."""

from __future__ import annotations

import pytest

from simulator.core.engine import CallScript
from simulator.core.models import BlacklistEntry
from simulator.providers.t2.auth import company_id

from .test_t2_api import api, bad_request, department_number, finish, not_present, t2  # noqa: F401

NOT_FOUND = {"details": "Object not found", "message": "Object not found"}


def manager_body(employee_id: int, *numbers: str, handle_all: bool = False, **extra) -> dict:
    """As the document's curl sends it: with the PBX's own ids, which are ignored."""
    return {"companyId": 1, "employeeId": employee_id, "handleAllCustomers": handle_all, "id": 45,
            "name": "Petrov", **extra,
            "customers": [{"clientId": 1, "companyId": 1, "companyName": "test", "id": 1, "info": "test",
                           "isVip": True, "name": "Ivanov", "realNumber": n} for n in numbers]}


# ---- managers -------------------------------------------------------------------------------

async def test_managers_list_and_get(api, sim, t2):
    seeded = t2.state.managers[1]
    emp = t2.state.employees[seeded.employee_id]
    expected = {"id": 1, "employeeId": emp.id, "companyId": company_id(sim, t2), "name": emp.name,
                "customers": [{"id": c.id, "realNumber": c.number, "name": c.name, "isVip": False}
                              for c in seeded.customers],
                "handleAllCustomers": False}
    r = await api("GET", "/managers")
    assert r.status == 200
    assert r.content_type == "application/json"
    assert await r.json() == [expected]
    r = await api("GET", "/managers/1")
    assert await r.json() == expected
    assert (await api("GET", "/managers/1/")).status == 200


@pytest.mark.parametrize("method", ["GET", "DELETE"])
async def test_manager_by_unknown_id(api, method):
    r = await api(method, "/managers/999")
    assert r.status == 404
    assert r.content_type == "application/json"
    assert await r.json() == NOT_FOUND
    r = await api(method, "/managers/abc")
    assert r.status == 400
    assert await r.json() == bad_request("id")


async def test_create_update_delete_manager(api, sim, t2):
    r = await api("POST", "/managers", json=manager_body(2, "79081581621", "79518045856"))
    assert r.status == 200
    assert r.content_type == "application/json"
    assert await r.json() == "SUCCESS"
    created = (await (await api("GET", "/managers")).json())[-1]
    assert created["id"] != 45 and created["employeeId"] == 2 and created["name"] == "Petrov"
    assert created["companyId"] == company_id(sim, t2)
    assert [c["realNumber"] for c in created["customers"]] == ["79081581621", "79518045856"]
    assert created["customers"][0] == {"id": created["customers"][0]["id"], "realNumber": "79081581621",
                                       "name": "Ivanov", "companyName": "test", "info": "test", "isVip": True}
    assert len({c["id"] for c in created["customers"]}) == 2
    mid = created["id"]

    kept = created["customers"][0]
    body = {"id": mid, "employeeId": 3, "name": "Sidorov", "handleAllCustomers": False,
            "customers": [{"id": kept["id"], "realNumber": "79081581621", "isVIP": False},
                          {"realNumber": "79000000001", "companyName": "P&G"}]}
    r = await api("PUT", "/managers", json=body)
    assert await r.json() == "SUCCESS"
    updated = await (await api("GET", f"/managers/{mid}")).json()
    assert updated == {"id": mid, "employeeId": 3, "companyId": company_id(sim, t2), "name": "Sidorov",
                       "customers": [{"id": kept["id"], "realNumber": "79081581621", "isVip": False},
                                     {"id": updated["customers"][1]["id"], "realNumber": "79000000001",
                                      "companyName": "P&G", "isVip": False}],
                       "handleAllCustomers": False}

    r = await api("DELETE", f"/managers/{mid}")
    assert r.status == 200
    assert (await api("GET", f"/managers/{mid}")).status == 404
    assert mid not in t2.state.managers


async def test_only_one_manager_handles_all_customers(api, t2):
    r = await api("POST", "/managers", json=manager_body(2, handle_all=True))
    assert await r.json() == "SUCCESS"
    before = {k: v for k, v in t2.state.managers.items()}
    r = await api("POST", "/managers", json=manager_body(3, "79000000009", handle_all=True))
    assert r.status == 200
    assert await r.json() == "MANAGER_HANDLING_ALL_CUSTOMERS_ALREADY_EXISTS"
    assert t2.state.managers == before
    # the manager who has the flag may keep it on an update
    mid = max(t2.state.managers)
    r = await api("PUT", "/managers", json={**manager_body(2, handle_all=True), "id": mid})
    assert await r.json() == "SUCCESS"
    # ...but another one may not take it
    r = await api("PUT", "/managers", json={**manager_body(6, handle_all=True), "id": 1})
    assert await r.json() == "MANAGER_HANDLING_ALL_CUSTOMERS_ALREADY_EXISTS"
    assert t2.state.managers[1].handles_all_customers is False


async def test_customer_already_assigned(api, t2):
    taken = t2.state.managers[1].customers[0].number
    before = len(t2.state.managers)
    r = await api("POST", "/managers", json=manager_body(2, "79000000010", "8" + taken[1:]))
    assert await r.json() == "CUSTOMER_ALREADY_ASSIGNED"
    assert len(t2.state.managers) == before
    # a manager keeps their own customers on update
    seeded = t2.state.managers[1]
    r = await api("PUT", "/managers", json={**manager_body(seeded.employee_id, taken), "id": 1})
    assert await r.json() == "SUCCESS"


async def test_update_needs_a_known_manager_and_employee(api, t2):
    before = dict(t2.state.managers)
    no_id = manager_body(2)
    no_id.pop("id")
    for body in (no_id, {**manager_body(2), "id": 999}, {**manager_body(999), "id": 1}):
        r = await api("PUT", "/managers", json=body)
        assert r.status == 404
        assert await r.json() == NOT_FOUND
    for body in (manager_body(999), {"name": "no employee"}):
        r = await api("POST", "/managers", json=body)
        assert r.status == 404
        assert await r.json() == NOT_FOUND
    assert t2.state.managers == before


@pytest.mark.parametrize("method", ["POST", "PUT"])
@pytest.mark.parametrize("data", ["not json", "[]", '{"employeeId": "x"}', '{"employeeId": 2, "customers": 5}',
                                  '{"employeeId": 2, "customers": [{"name": "no number"}]}', ""])
async def test_bad_manager_bodies(api, t2, method, data):
    before = dict(t2.state.managers)
    r = await api(method, "/managers", data=data, headers={"Content-Type": "application/json"})
    assert r.status == 400
    assert await r.json() == bad_request("manager")
    assert t2.state.managers == before


async def test_a_customer_call_rings_the_personal_manager_first(api, sim, t2):
    number = department_number(t2)
    dept = t2.state.departments[t2.state.numbers[number].route.target]
    outsider = next(e for e in t2.state.employees if dept.member(e) is None)   # not in the department
    r = await api("POST", "/managers", json=manager_body(outsider, "79007770000"))
    assert await r.json() == "SUCCESS"
    cdr = await finish(sim, sim.engine.incoming(t2, "79007770000", number, CallScript(answer=str(outsider))))
    assert cdr.employee_ids[0] == outsider and cdr.employee_id == outsider and cdr.answered
    # someone who is nobody's customer goes straight to the department
    cdr = await finish(sim, sim.engine.incoming(t2, "79007770001", number))
    assert cdr.legs[0][1] in {m.employee_id for m in dept.members}


# ---- blacklist ------------------------------------------------------------------------------

async def test_blacklist_list(api, t2):
    r = await api("GET", "/blacklist")
    assert r.status == 200
    assert r.content_type == "application/json"
    items = await r.json()
    assert [i["number"] for i in items] == list(t2.state.blacklist)
    assert all(set(i) == {"id", "number", "sourceType"} and isinstance(i["id"], int)
               and i["sourceType"] == "FILE" for i in items)
    assert (await (await api("GET", "/blacklist/")).json()) == items   # ids are stable


@pytest.mark.parametrize("body, content_type", [
    ("79998887766", "html/text"), ("79998887766", "text/plain"), ('"79998887766"', "application/json"),
    (" 79998887766\n", None), ("msisdn=79998887766", "application/x-www-form-urlencoded"),
])
async def test_blacklist_add(api, t2, body, content_type):
    headers = {"Content-Type": content_type} if content_type else {}
    r = await api("POST", "/blacklist", data=body, headers=headers)
    assert r.status == 200
    assert r.content_type == "application/json"
    assert await r.text() == '"SUCCESS"'
    items = await (await api("GET", "/blacklist")).json()
    assert items[-1]["number"] == "79998887766" and items[-1]["sourceType"] == "MANUAL"
    assert items[-1]["id"] > items[0]["id"]
    r = await api("POST", "/blacklist", data="79998887766", headers={"Content-Type": "html/text"})
    assert await r.json() == "DUPLICATE_BLACK_LIST_NUMBER"
    assert [i["number"] for i in await (await api("GET", "/blacklist")).json()].count("79998887766") == 1


async def test_blacklist_add_by_query_parameter(api, t2):
    r = await api("POST", "/blacklist", params={"msisdn": "79998887700"})
    assert await r.json() == "SUCCESS"
    assert "79998887700" in t2.state.blacklist


@pytest.mark.parametrize("body, expected", [
    ("89998887766", bad_request("msisdn")), ("7999888776", bad_request("msisdn")),
    ("phone", bad_request("msisdn")), ("", not_present("msisdn", "String")),
])
async def test_blacklist_add_bad_number(api, t2, body, expected):
    before = dict(t2.state.blacklist)
    r = await api("POST", "/blacklist", data=body, headers={"Content-Type": "html/text"})
    assert r.status == 400
    assert await r.json() == expected
    assert t2.state.blacklist == before


async def test_blacklist_delete_one_and_all(api, t2):
    first, second = list(t2.state.blacklist)
    ids = {i["number"]: i["id"] for i in await (await api("GET", "/blacklist")).json()}
    r = await api("DELETE", f"/blacklist/by-msisdn/{first}")
    assert r.status == 200
    assert await r.json() == "SUCCESS"
    items = await (await api("GET", "/blacklist")).json()
    assert items == [{"id": ids[second], "number": second, "sourceType": "FILE"}]
    r = await api("DELETE", f"/blacklist/by-msisdn/{first}")   # not listed (any more): still SUCCESS
    assert await r.json() == "SUCCESS"
    t2.state.blacklist["79000000077"] = BlacklistEntry("79000000077")   # added through another door
    r = await api("DELETE", "/blacklist/all/")
    assert await r.json() == "SUCCESS"
    assert await (await api("GET", "/blacklist")).json() == []
    assert t2.state.blacklist == {}
