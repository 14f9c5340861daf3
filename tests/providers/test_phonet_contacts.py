"""Phonet CRM Teler contacts v2 and their notes: get, list with every filter, search by
number, update (never creates), delete, batch with merge → 201, notes CRUD."""

from __future__ import annotations

import pytest

from .test_phonet_auth import ACCOUNT, login

V2 = "/rest/crm/contacts/v2"
CONTACT_KEYS = ["id", "firstName", "lastName", "companyTitle", "lastModified", "responsibleUserId",
                "dateCreate", "createUserId", "fields"]


@pytest.fixture
async def headers(client, sim):
    return await login(client, sim)


def now_ms(sim) -> int:
    return round(sim.clock.timestamp() * 1000)


async def get(client, path, headers, status=200):
    resp = await client.get(path, headers=headers)
    assert resp.status == status, await resp.text()
    return await resp.json() if status < 400 else await resp.text()


# ---- get / list --------------------------------------------------------------------------------

async def test_get_contact_shape(client, sim, headers):
    c = await get(client, f"{V2}/1", headers)
    assert list(c) == CONTACT_KEYS
    assert c["id"] == 1 and c["firstName"] == "Єфрем" and c["lastName"] == "Мірошниченко"
    codes = {f["enumCode"]: f for f in c["fields"]}
    assert set(codes) == {"Имя", "Фамилия", "Телефон", "Email", "Компания"}
    phone = codes["Телефон"]["values"][0]
    assert list(phone) == ["id", "enumValueCode", "lastModified", "value"]
    assert phone["enumValueCode"] == "Рабочий" and phone["value"] == "+380930462791"
    assert isinstance(phone["id"], int) and isinstance(codes["Телефон"]["id"], int)
    assert c["responsibleUserId"] == sim.account(ACCOUNT).state.contacts[1].responsible_employee_id
    again = await get(client, f"{V2}/1", headers)
    assert again == c                                    # ids are stable


async def test_get_unknown_and_non_numeric(client, sim, headers):
    assert await get(client, f"{V2}/999", headers, 404) == "Contact not found"
    resp = await client.get(f"{V2}/abc", headers=headers)
    assert resp.status == 404 and resp.content_type == "text/plain"


async def test_list_is_an_array_by_id_with_default_limit_30(client, sim, headers):
    for path in (f"{V2}/", V2):
        items = await get(client, path, headers)
        assert [c["id"] for c in items] == [1, 2, 3, 4, 5]
    body = {"merge": 0, "contacts": [{"fields": [{"enumCode": "Имя", "values": [{"value": f"N{i}"}]}]}
                                      for i in range(40)]}
    assert (await client.post(f"{V2}/batch", json=body, headers=headers)).status == 201
    assert len(await get(client, f"{V2}/", headers)) == 30
    assert len(await get(client, f"{V2}/?limit=60", headers)) == 45
    page = await get(client, f"{V2}/?limit=10&offset=40", headers)
    assert [c["id"] for c in page] == list(range(41, 46))
    assert await get(client, f"{V2}/?limit=0", headers) == []


@pytest.mark.parametrize("query,text", [
    ("limit=61", "Bad request: limit must be between 0 and 60"),
    ("limit=-1", "Bad request: limit must be between 0 and 60"),
    ("offset=-1", "Bad request: offset must not be negative"),
    ("limit=x", "Bad request: limit must be an integer"),
    ("offset=&offset=3", "Bad request: offset must be an integer"),   # repeated: Spring reads "…,3"
    ("limit=5&limit=5", "Bad request: limit must be an integer"),
    ("filterBy=2", "Bad request: filterBy must be 0 or 1"),
    ("from=abc", "Bad request: from must be an integer"),
    ("from=&from=abc", "Bad request: from must be an integer"),
    ("to=5&to=", "Bad request: to must be an integer"),
    ("from=10&to=5", "Bad request: to must not be less than from"),
])
async def test_list_bad_parameters(client, sim, headers, query, text):
    assert await get(client, f"{V2}/?{query}", headers, 400) == text


async def test_search_text_and_field(client, sim, headers):
    items = await get(client, f"{V2}/?searchText=ОЛЬГА", headers)
    assert [c["id"] for c in items] == [5]
    items = await get(client, f"{V2}/?searchText=0930462", headers)
    assert [c["id"] for c in items] == [1]
    assert await get(client, f"{V2}/?searchText=0930462&field=Email", headers) == []
    items = await get(client, f"{V2}/?searchText=0930462&field=email&field=телефон", headers)
    assert [c["id"] for c in items] == [1]


async def test_search_note_text(client, sim, headers):
    resp = await client.post(f"{V2}/3/notes", json={"content": "Перезвонить завтра"}, headers=headers)
    assert resp.status == 200
    items = await get(client, f"{V2}/?searchNoteText=перезвонить", headers)
    assert [c["id"] for c in items] == [3]


async def test_filter_by_modification_and_creation_date(client, sim, headers):
    created = now_ms(sim)
    await sim.clock.advance(100)
    resp = await client.post(f"{V2}/", json={"id": 2, "companyTitle": "ACME"}, headers=headers)
    assert await resp.json() == 1
    later = now_ms(sim)
    items = await get(client, f"{V2}/?from={later}", headers)                 # filterBy defaults to 1
    assert [c["id"] for c in items] == [2]
    items = await get(client, f"{V2}/?filterBy=1&from={created}&to={later - 1}", headers)
    assert [c["id"] for c in items] == [1, 3, 4, 5]
    items = await get(client, f"{V2}/?filterBy=0&to={created}", headers)
    assert [c["id"] for c in items] == [1, 2, 3, 4, 5]


async def test_search_by_number(client, sim, headers):
    for q in ("%2B380930462791", "380930462791", "0930462791", "093%20046-27-91", "+380930462791"):
        items = await get(client, f"{V2}/searchByOLNum?otherLegNum={q}", headers)
        assert [c["id"] for c in items] == [1], q
    assert await get(client, f"{V2}/searchByOLNum?otherLegNum=%2B380000000000", headers) == []
    assert await get(client, f"{V2}/searchByOLNum?otherLegNum=62791", headers) == []   # < 9 digits
    assert await get(client, f"{V2}/searchByOLNum", headers, 400) == "Bad request: otherLegNum is required"
    assert await get(client, f"{V2}/searchByOLNum?otherLegNum=", headers, 400) == \
        "Bad request: otherLegNum is required"
    # the stateful fuzz's find: offset given twice, the first one empty, was read as absent
    assert await get(client, f"{V2}/searchByOLNum?otherLegNum=0930462791&offset=&offset=TK", headers, 400) == \
        "Bad request: offset must be an integer"
    assert await get(client, f"{V2}/searchByOLNum?otherLegNum=1&limit=99", headers, 400) == \
        "Bad request: limit must be between 0 and 60"


# ---- update / delete ---------------------------------------------------------------------------

async def test_update_overwrites_given_keys_and_replaces_fields(client, sim, headers):
    before = await get(client, f"{V2}/1", headers)
    phone = next(f for f in before["fields"] if f["enumCode"] == "Телефон")
    await sim.clock.advance(10)
    body = {"id": 1, "firstName": "Петр", "responsibleUserId": 4, "dateCreate": 1, "createUserId": 99,
            "fields": [phone, {"enumCode": "Фамилия", "values": [{"enumValueCode": "Фамилия", "value": "Петров"}]}]}
    resp = await client.post(f"{V2}/", json=body, headers=headers)
    assert resp.status == 200 and resp.content_type == "application/json" and await resp.text() == "1"
    after = await get(client, f"{V2}/1", headers)
    assert after["firstName"] == "Петр" and after["lastName"] == "Мірошниченко"   # absent: unchanged
    assert after["responsibleUserId"] == 4
    assert after["dateCreate"] == before["dateCreate"] and after["createUserId"] == before["createUserId"]
    assert after["lastModified"] == now_ms(sim)
    assert [f["enumCode"] for f in after["fields"]] == ["Телефон", "Фамилия"]
    assert after["fields"][0] == phone                    # same ids, untouched value keeps its time
    new = after["fields"][1]
    assert new["id"] not in {f["id"] for f in before["fields"]}
    assert new["values"][0]["lastModified"] == now_ms(sim)
    core = sim.account(ACCOUNT).state.contacts[1]
    assert core.name == "Петр Мірошниченко" and core.numbers == ["+380930462791"] and core.email == ""


@pytest.mark.parametrize("body,status,text", [
    ({"firstName": "x"}, 400, "Bad request: id is required"),
    ({"id": None}, 400, "Bad request: id is required"),
    ({"id": 0}, 400, "Bad request: id is required"),
    ({"id": "1"}, 400, "Bad request: id is invalid"),
    ({"id": 1, "fields": {}}, 400, "Bad request: fields is invalid"),
    ({"id": 1, "fields": [{"values": []}]}, 400, "Bad request: fields.0.enumCode is required"),
    ({"id": 1, "fields": [{"enumCode": "Имя", "values": [{"value": 5}]}]}, 400,
     "Bad request: fields.0.values.0.value is invalid"),
    ({"id": 999, "firstName": "x"}, 404, "Contact not found"),
])
async def test_update_errors_change_nothing_and_never_create(client, sim, headers, body, status, text):
    before = await get(client, f"{V2}/1", headers)
    count = len(sim.account(ACCOUNT).state.contacts)
    resp = await client.post(f"{V2}/", json=body, headers=headers)
    assert resp.status == status and await resp.text() == text
    assert await get(client, f"{V2}/1", headers) == before
    assert len(sim.account(ACCOUNT).state.contacts) == count


async def test_delete_contact_and_its_notes(client, sim, headers):
    await client.post(f"{V2}/2/notes", json={"content": "x"}, headers=headers)
    resp = await client.delete(f"{V2}/2", headers=headers)
    assert resp.status == 200 and await resp.json() == 1
    assert await get(client, f"{V2}/2", headers, 404) == "Contact not found"
    assert await get(client, f"{V2}/2/notes", headers, 404) == "Contact not found"
    resp = await client.delete(f"{V2}/2", headers=headers)
    assert resp.status == 404 and await resp.text() == "Contact not found"


# ---- batch -------------------------------------------------------------------------------------

async def test_batch_merge_0_creates_with_new_ids(client, sim, headers):
    body = {"merge": 0, "contacts": [
        {"id": 1, "firstName": "Новый", "responsibleUserId": 2, "createUserId": 5,
         "fields": [{"id": 7, "enumCode": "Телефон",
                     "values": [{"id": 8, "enumValueCode": "Рабочий", "value": "+380440000000"}]}]},
        "not a contact",
        {"fields": [{"values": []}]},
    ]}
    resp = await client.post(f"{V2}/batch", json=body, headers=headers)
    assert resp.status == 201 and await resp.json() == {"succeeded": 1, "failed": 2}
    created = await get(client, f"{V2}/6", headers)
    assert created["firstName"] == "Новый" and created["responsibleUserId"] == 2 and created["createUserId"] == 5
    assert created["dateCreate"] == created["lastModified"] == now_ms(sim)
    assert created["fields"][0]["id"] != 7 and created["fields"][0]["values"][0]["id"] != 8
    assert (await get(client, f"{V2}/1", headers))["firstName"] == "Єфрем"     # untouched
    found = await get(client, f"{V2}/searchByOLNum?otherLegNum=0440000000", headers)
    assert [c["id"] for c in found] == [6]


async def test_batch_merge_1_updates_by_id_merges_by_phone_else_creates(client, sim, headers):
    body = {"merge": 1, "contacts": [
        {"id": 2, "companyTitle": "Phonet"},
        {"fields": [{"enumCode": "Телефон", "values": [{"value": "0930462791"}]},
                    {"enumCode": "Категория", "values": [{"enumValueCode": "Категория", "value": "EMPL"}]}]},
        {"fields": [{"enumCode": "Имя", "values": [{"value": "Третий"}]}]},
    ]}
    resp = await client.post(f"{V2}/batch", json=body, headers=headers)
    assert resp.status == 201 and await resp.json() == {"succeeded": 3, "failed": 0}
    assert (await get(client, f"{V2}/2", headers))["companyTitle"] == "Phonet"
    merged = await get(client, f"{V2}/1", headers)
    codes = {f["enumCode"]: [v["value"] for v in f["values"]] for f in merged["fields"]}
    assert codes["Категория"] == ["EMPL"]
    assert codes["Телефон"] == ["+380930462791"]          # the same number is not added twice
    assert [c["id"] for c in await get(client, f"{V2}/?limit=60", headers)] == [1, 2, 3, 4, 5, 6]


@pytest.mark.parametrize("body,text", [
    ([], "Bad request: body must be a JSON object"),
    ({"merge": 2, "contacts": []}, "Bad request: merge is invalid"),
    ({"merge": 1}, "Bad request: contacts is required"),
    ({"merge": 1, "contacts": {}}, "Bad request: contacts is invalid"),
])
async def test_batch_bad_body_saves_nothing(client, sim, headers, body, text):
    resp = await client.post(f"{V2}/batch", json=body, headers=headers)
    assert resp.status == 400 and await resp.text() == text
    assert len(sim.account(ACCOUNT).state.contacts) == 5


async def test_batch_empty(client, sim, headers):
    resp = await client.post(f"{V2}/batch", json={"contacts": []}, headers=headers)
    assert resp.status == 201 and await resp.json() == {"succeeded": 0, "failed": 0}


# ---- notes -------------------------------------------------------------------------------------

NOTE_KEYS = ["id", "elementId", "elementType", "noteType", "dateCreate", "lastModified", "content",
             "responsibleUserId", "otherLegNum", "otherLegName", "status", "errorMsg", "uuid", "end", "legId",
             "logicDirection", "billSec", "recordLink", "trunk", "tag"]


async def test_notes_create_list_update_delete(client, sim, headers):
    assert await get(client, f"{V2}/1/notes", headers) == []
    resp = await client.post(f"{V2}/1/notes", json={"id": 77, "content": "Перезвонить завтра",
                                                    "responsibleUserId": 2}, headers=headers)
    assert resp.status == 200
    note = await resp.json()
    created = now_ms(sim)
    assert list(note) == NOTE_KEYS
    assert note == {"id": note["id"], "elementId": 1, "elementType": 0, "noteType": 0, "dateCreate": created,
                    "lastModified": created, "content": "Перезвонить завтра", "responsibleUserId": 2,
                    "otherLegNum": "", "otherLegName": None, "status": None, "errorMsg": None, "uuid": "",
                    "end": 0, "legId": 0, "logicDirection": 0, "billSec": 0, "recordLink": "", "trunk": "",
                    "tag": ""}
    assert note["id"] != 77
    await sim.clock.advance(5)
    second = await (await client.post(f"{V2}/1/notes", json={"content": "второй"}, headers=headers)).json()
    assert [n["id"] for n in await get(client, f"{V2}/1/notes", headers)] == [note["id"], second["id"]]
    await sim.clock.advance(5)
    resp = await client.put(f"{V2}/1/notes", json={"id": note["id"], "content": "готово", "dateCreate": 1,
                                                   "elementId": 5, "tag": "done"}, headers=headers)
    assert resp.status == 200 and await resp.text() == "1"
    updated = (await get(client, f"{V2}/1/notes", headers))[0]
    assert updated["content"] == "готово" and updated["tag"] == "done"
    assert updated["dateCreate"] == created and updated["elementId"] == 1
    assert updated["lastModified"] == now_ms(sim)
    resp = await client.delete(f"{V2}/1/notes/{note['id']}", headers=headers)
    assert resp.status == 200 and await resp.json() == 1
    assert [n["id"] for n in await get(client, f"{V2}/1/notes", headers)] == [second["id"]]
    core = sim.account(ACCOUNT).state.contacts[1].notes
    assert [n.text for n in core] == ["второй"]


@pytest.mark.parametrize("method,path,body,status,text", [
    ("GET", "/999/notes", None, 404, "Contact not found"),
    ("POST", "/999/notes", {"content": "x"}, 404, "Contact not found"),
    ("POST", "/1/notes", [], 400, "Bad request: body must be a JSON object"),
    ("POST", "/1/notes", {"content": 5}, 400, "Bad request: content is invalid"),
    ("POST", "/1/notes", {"noteType": "a"}, 400, "Bad request: noteType is invalid"),
    ("PUT", "/1/notes", {"content": "x"}, 400, "Bad request: id is required"),
    ("PUT", "/1/notes", {"id": 0}, 400, "Bad request: id is required"),
    ("PUT", "/999/notes", {"id": 1}, 404, "Contact not found"),
    ("PUT", "/1/notes", {"id": 12345}, 404, "Note not found"),
    ("DELETE", "/1/notes/12345", None, 404, "Note not found"),
    ("DELETE", "/999/notes/1", None, 404, "Contact not found"),
    ("DELETE", "/x/notes/1", None, 400, "Bad request: cntId must be an integer"),
    ("DELETE", "/1/notes/y", None, 400, "Bad request: noteId must be an integer"),
])
async def test_note_errors(client, sim, headers, method, path, body, status, text):
    resp = await client.request(method, V2 + path, json=body, headers=headers)
    assert resp.status == status and resp.content_type == "text/plain"
    assert await resp.text() == text
    assert sim.account(ACCOUNT).state.contacts[1].notes == []
