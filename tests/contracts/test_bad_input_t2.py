"""t2 bad-input catalogue: every refused request gets t2's documented ``{details, message}`` body
with its status, and the account's state is byte-for-byte what it was."""

from __future__ import annotations

import pytest

from .badinput import Bad, check, parametrize

BASE = "/crm/openapi"
DAY = {"start": "2026-03-01T00:00:00+03:00", "end": "2026-03-02T00:00:00+03:00"}


def wrong(name):
    return {"details": "Bad request", "message": f"Wrong parameter {name}"}


def absent(name, java="OffsetDateTime"):
    return {"details": f"Required request parameter '{name}' for method parameter type {java} is not present",
            "message": "Some of fields empty"}


def empty(name, java="OffsetDateTime"):
    return {"details": f"Required request parameter '{name}' for method parameter type {java} is present but converted to null",
            "message": "Some of fields empty"}


DEEP = b"[" * 100_000 + b"]" * 100_000
NOT_FOUND = {"details": "Object not found", "message": "Object not found"}
TOO_LARGE = {"details": "Maximum upload size exceeded", "message": "Payload Too Large"}


def get(category, name, path, params, status, body):
    return Bad(category, name, "GET", BASE + path, status, body, params=params)


def send(category, name, method, path, data, status, body, content_type="application/json", **kw):
    return Bad(category, name, method, BASE + path, status, body, data=data, headers={"Content-Type": content_type}, **kw)


CASES = [
    send("malformed JSON", "POST /managers truncated", "POST", "/managers", b'{"employeeId": ', 400, wrong("manager")),
    send("malformed JSON", "PUT /managers trailing comma", "PUT", "/managers", b'{"id": 1, "employeeId": 1,}', 400, wrong("manager")),
    send("malformed JSON", "POST /managers not UTF-8", "POST", "/managers", b'{"employeeId": 1, "name": "\xff"}', 400, wrong("manager")),
    send("malformed JSON", "POST /managers a JSON array", "POST", "/managers", b'[{"employeeId": 1}]', 400, wrong("manager")),
    send("wrong content type", "POST /managers as a form", "POST", "/managers", b"employeeId=1&name=x", 400, wrong("manager"),
         content_type="application/x-www-form-urlencoded"),
    send("wrong content type", "POST /blacklist as JSON object", "POST", "/blacklist", b'{"msisdn": "79998887766"}', 400,
         wrong("msisdn")),
    get("missing field", "statistics/common without start", "/statistics/common", {"end": DAY["end"]}, 400, absent("start")),
    get("missing field", "call-records/info without end", "/call-records/info", {"start": DAY["start"]}, 400, absent("end")),
    get("missing field", "call-records/file without filename", "/call-records/file", {}, 400, absent("filename", "String")),
    Bad("missing field", "call/outgoing without source", "POST", BASE + "/call/outgoing", 400, absent("source", "String"),
        params={"destination": "79101234567"}),
    send("missing field", "POST /blacklist with neither body nor msisdn", "POST", "/blacklist", b"", 400,
         absent("msisdn", "String"), content_type="text/plain"),
    send("missing field", "POST /managers without employeeId", "POST", "/managers", b'{"name": "x"}', 404, NOT_FOUND),
    send("missing field", "PUT /managers without id", "PUT", "/managers", b'{"employeeId": 1}', 404, NOT_FOUND),
    send("missing field", "a customer without realNumber", "POST", "/managers",
         b'{"employeeId": 1, "customers": [{"name": "x"}]}', 400, wrong("manager")),
    get("empty field", "statistics/journal start=", "/statistics/journal", {"start": "", "end": DAY["end"]}, 400, empty("start")),
    get("empty field", "statistics/missing end of blanks", "/statistics/missing", {"start": DAY["start"], "end": "  "}, 400,
        empty("end")),
    Bad("empty field", "call/outgoing source=", "POST", BASE + "/call/outgoing", 400, empty("source", "String"),
        params={"source": "", "destination": "79101234567"}),
    get("empty field", "call-records/file/stt filename=", "/call-records/file/stt", {"filename": ""}, 400,
        empty("filename", "String")),
    send("empty field", "POST /blacklist body of blanks, no msisdn", "POST", "/blacklist", b"   ", 400,
         absent("msisdn", "String"), content_type="text/plain"),
    get("wrong type", "managers/{id} not a number", "/managers/abc", None, 400, wrong("id")),
    Bad("wrong type", "DELETE managers/{id} a float", "DELETE", BASE + "/managers/1.5", 400, wrong("id")),
    get("wrong type", "page=abc", "/call-records/info", {**DAY, "page": "abc"}, 400, wrong("page")),
    get("wrong type", "size=0", "/statistics/missing", {**DAY, "size": "0"}, 400, wrong("size")),
    get("wrong type", "is_recorded=maybe", "/call-records/info", {**DAY, "is_recorded": "maybe"}, 400, wrong("is_recorded")),
    send("wrong type", "employeeId as text", "POST", "/managers", b'{"employeeId": "abc"}', 400, wrong("manager")),
    send("wrong type", "customers not a list", "PUT", "/managers", b'{"id": 1, "employeeId": 1, "customers": "x"}', 400,
         wrong("manager")),
    send("wrong type", "handleAllCustomers as a list", "POST", "/managers", b'{"employeeId": 1, "handleAllCustomers": [1]}',
         400, wrong("manager")),
    get("unknown enum", "sort by an unknown field", "/call-records/info", {**DAY, "sort": "nosuchfield"}, 400, wrong("sort")),
    get("unknown enum", "sort direction SIDEWAYS", "/statistics/missing", {**DAY, "sort": "startDate,SIDEWAYS"}, 400,
        wrong("sort")),
    get("bad date", "a date alone", "/statistics/common", {"start": "2026-03-01", "end": DAY["end"]}, 400, wrong("start")),
    get("bad date", "no offset", "/call-records/info", {"start": "2026-03-01T00:00:00", "end": DAY["end"]}, 400, wrong("start")),
    get("bad date", "epoch seconds", "/statistics/journal", {"start": DAY["start"], "end": "1772312400"}, 400, wrong("end")),
    get("bad date", "month 13", "/statistics/missing", {"start": "2026-13-01T00:00:00Z", "end": DAY["end"]}, 400, wrong("start")),
    get("bad date", "offset +25:00", "/call-records/info", {"start": DAY["start"], "end": "2026-03-02T00:00:00+25:00"}, 400,
        wrong("end")),
    get("huge number", "page past Java's Integer", "/call-records/info", {**DAY, "page": "9" * 30}, 400, wrong("page")),
    get("huge number", "managers/{id} past Java's Long", "/managers/" + "9" * 30, None, 400, wrong("id")),
    send("huge number", "a 1000-digit msisdn", "POST", "/blacklist", b"7" * 1000, 400, wrong("msisdn"), content_type="text/plain"),
    get("huge number", "negative page", "/statistics/missing", {**DAY, "page": "-1"}, 400, wrong("page")),
    get("long string", "filename of 7,000 characters", "/call-records/file", {"filename": "a" * 7_000}, 404,
        {"details": "Record not found by filename", "message": "Object not found"}),
    Bad("long string", "source of 7,000 digits", "POST", BASE + "/call/outgoing", 404,
        {"details": "Employee not found by source number", "message": "Object not found"},
        params={"source": "1" * 7_000, "destination": "79101234567"}),
    send("long string", "blacklist body of 200,000 characters", "POST", "/blacklist", b"x" * 200_000, 400, wrong("msisdn"),
         content_type="text/plain"),
    get("long string", "sort of 7,000 characters", "/call-records/info", {**DAY, "sort": "d" * 7_000}, 400, wrong("sort")),
    get("long string", "a query string past the server's 8190-byte request line", "/call-records/info",
        {**DAY, "sort": "d" * 10_000}, 400, wrong("sort")),
    get("cyrillic/emoji", "start in Cyrillic", "/statistics/common", {"start": "вчера", "end": DAY["end"]}, 400, wrong("start")),
    Bad("cyrillic/emoji", "destination an emoji", "POST", BASE + "/call/outgoing", 400, wrong("destination"),
        params={"source": "101", "destination": "😀"}),
    send("cyrillic/emoji", "blacklist a Cyrillic word", "POST", "/blacklist", "номер".encode(), 400, wrong("msisdn"),
         content_type="text/plain"),
    get("cyrillic/emoji", "sort by дата", "/call-records/info", {**DAY, "sort": "дата"}, 400, wrong("sort")),
    get("cyrillic/emoji", "filename with an emoji", "/call-records/file/stt", {"filename": "запись😀"}, 404,
        {"details": "Transcription not found for filename", "message": "Object not found"}),
    send("cyrillic/emoji", "manager id as an emoji", "PUT", "/managers", '{"id": "😀", "employeeId": 1}'.encode(), 400,
         wrong("manager")),
    send("oversized", "POST /managers past the limit", "POST", "/managers", b'{"employeeId": 1, "name": "', 413, TOO_LARGE,
         oversize=True),
    send("oversized", "POST /blacklist past the limit", "POST", "/blacklist", b"7", 413, TOO_LARGE, content_type="text/plain",
         oversize=True),
    send("nested too deep", "POST /managers 100,000 deep", "POST", "/managers", DEEP, 400, wrong("manager")),
    send("nested too deep", "PUT /managers customers 40 deep", "PUT", "/managers",
         b'{"id": 1, "employeeId": 1, "customers": ' + b"[" * 40 + b"]" * 40 + b"}", 400, wrong("manager")),
    send("unstorable text", "POST /managers name a lone surrogate", "POST", "/managers", b'{"employeeId": 1, "name": "\\ud800"}',
         400, wrong("manager")),
    send("unstorable text", "POST /managers name with NUL", "POST", "/managers", b'{"employeeId": 1, "name": "a\\u0000"}',
         400, wrong("manager")),
    get("huge number", "page of 5,000 digits", "/call-records/info", {**DAY, "page": "9" * 5000}, 400, wrong("page")),
]

# t2-1 (page/size past Java's Integer, ids past Long) is fixed: those cases are plain ones above
XFAIL: dict[str, str] = {}   # open findings of FINDINGS.md, pinned as strict xfails


@pytest.mark.parametrize("case", parametrize(CASES, XFAIL))
async def test_bad_input_is_refused_and_changes_nothing(client, sim, case):
    token = sim.account("t2").credentials["access_token"]
    await check(client, sim, "t2", case, headers={"Authorization": token})


def test_catalogue_covers_every_category():
    from .badinput import CATEGORIES
    assert {c.category for c in CASES} == set(CATEGORIES)
