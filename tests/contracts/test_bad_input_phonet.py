"""phonet bad-input catalogue: every refused request gets its one line of ``text/plain``
(``Bad request: <param> <reason>``, ``Invalid domain or apiKey``, ``… not found``) with its status,
and the account's state is byte-for-byte what it was."""

from __future__ import annotations

import json

import pytest

from .badinput import Bad, check, parametrize

TEXT = "text/plain"
D = "<domain>"
K = "<apikey>"
UNSTORABLE = "holds a character that cannot be stored (a lone surrogate or NUL)"
WEEK_MS = {"timeFrom": "1772312400000", "timeTo": "1772917200000"}


def bad(param, reason="is invalid"):
    return f"Bad request: {param} {reason}"


def post(category, name, path, data, status, body, method="POST", content_type="application/json", **kw):
    if not isinstance(data, bytes):
        data = json.dumps(data, ensure_ascii=False).encode()
    return Bad(category, name, method, path, status, body, TEXT, data=data, headers={"Content-Type": content_type}, **kw)


def get(category, name, path, params, status, body, content_type=TEXT):
    return Bad(category, name, "GET", path, status, body, content_type, params=params)


V2 = "/rest/crm/contacts/v2"
CASES = [
    post("malformed JSON", "makeCall truncated", "/rest/user/makeCall", b'{"legExt": ', 400, bad("body", "is not valid JSON")),
    post("malformed JSON", "authorize not UTF-8", "/rest/security/authorize", b'{"domain": "\xff"}', 400,
         bad("body", "is not valid JSON")),
    post("malformed JSON", "batch is an array", V2 + "/batch", b'[{"firstName": "x"}]', 400, bad("body", "must be a JSON object")),
    post("malformed JSON", "note update trailing comma", V2 + "/1/notes", b'{"id": 1,}', 400, bad("body", "is not valid JSON"),
         method="PUT"),
    post("wrong content type", "makeCall as a form", "/rest/user/makeCall", b"legExt=101&otherLegNum=380993034330", 400,
         bad("body", "is not valid JSON"), content_type="application/x-www-form-urlencoded"),
    post("wrong content type", "contact update as XML", V2 + "/", b"<contact id='1'/>", 400, bad("body", "is not valid JSON"),
         content_type="application/xml"),
    post("missing field", "makeCall without legExt", "/rest/user/makeCall", {"otherLegNum": "+380993034330"}, 400,
         bad("legExt", "is required")),
    post("missing field", "authorize without apiKey", "/rest/security/authorize", {"domain": D}, 400, bad("apiKey", "is required")),
    get("missing field", "company.api without timeFrom", "/rest/calls/company.api", {"timeTo": WEEK_MS["timeTo"]}, 400,
        bad("timeFrom", "is required")),
    get("missing field", "searchByOLNum without otherLegNum", V2 + "/searchByOLNum", {}, 400, bad("otherLegNum", "is required")),
    post("missing field", "contact update without id", V2 + "/", {"firstName": "x"}, 400, bad("id", "is required")),
    post("missing field", "batch without contacts", V2 + "/batch", {"merge": 0}, 400, bad("contacts", "is required")),
    post("missing field", "note update without id", V2 + "/1/notes", {"content": "x"}, 400, bad("id", "is required"), method="PUT"),
    post("empty field", "makeCall legExt ''", "/rest/user/makeCall", {"legExt": " ", "otherLegNum": "+380993034330"}, 400,
         bad("legExt", "is required")),
    post("empty field", "makeCall otherLegNum ''", "/rest/user/makeCall", {"legExt": "101", "otherLegNum": ""}, 400,
         bad("otherLegNum")),
    post("empty field", "authorize domain ''", "/rest/security/authorize", {"domain": "", "apiKey": K}, 400,
         bad("domain", "is required")),
    get("empty field", "users.api timeTo=", "/rest/calls/users.api", {"timeFrom": WEEK_MS["timeFrom"], "timeTo": ""}, 400,
        bad("timeTo", "is required")),
    post("wrong type", "legExt a list", "/rest/user/makeCall", {"legExt": [101], "otherLegNum": "+380993034330"}, 400, bad("legExt")),
    post("wrong type", "contact id a string", V2 + "/", {"id": "1", "firstName": "x"}, 400, bad("id")),
    post("wrong type", "note content a number", V2 + "/1/notes", {"content": 5}, 400, bad("content")),
    get("wrong type", "limit a float", "/rest/calls/missed.api", {**WEEK_MS, "limit": "1.5"}, 400, bad("limit", "must be an integer")),
    Bad("wrong type", "noteId not a number", "DELETE", V2 + "/1/notes/abc", 400, bad("noteId", "must be an integer"), TEXT),
    get("unknown enum", "directions=8", "/rest/calls/company.api", {**WEEK_MS, "directions": "8"}, 400, bad("directions")),
    get("unknown enum", "pause directions on company.api", "/rest/calls/company.api", {**WEEK_MS, "directions": "32"}, 400,
        bad("directions")),
    get("unknown enum", "filterBy=2", V2 + "/", {"filterBy": "2"}, 400, bad("filterBy", "must be 0 or 1")),
    post("unknown enum", "batch merge=2", V2 + "/batch", {"merge": 2, "contacts": []}, 400, bad("merge")),
    get("bad date", "timeFrom as a date", "/rest/calls/company.api", {"timeFrom": "2026-03-01", "timeTo": WEEK_MS["timeTo"]}, 400,
        bad("timeFrom", "must be an integer")),
    get("bad date", "timeTo before timeFrom", "/rest/calls/users.api", {"timeFrom": WEEK_MS["timeTo"], "timeTo": WEEK_MS["timeFrom"]},
        400, bad("timeTo", "must not be less than timeFrom")),
    get("bad date", "negative timeFrom", "/rest/calls/missed.api", {"timeFrom": "-1", "timeTo": WEEK_MS["timeTo"]}, 400,
        bad("timeFrom", "must not be negative")),
    get("bad date", "contacts from as a word", V2 + "/", {"from": "yesterday"}, 400, bad("from", "must be an integer")),
    get("huge number", "limit of 30 digits", "/rest/calls/company.api", {**WEEK_MS, "limit": "9" * 30}, 400,
        bad("limit", "must be between 1 and 50")),
    get("huge number", "a window of 30-digit milliseconds", "/rest/calls/company.api", {"timeFrom": "9" * 30, "timeTo": "9" * 31},
        200, [], content_type="application/json"),
    Bad("huge number", "contact id of 30 digits", "GET", V2 + "/" + "9" * 30, 404, "Contact not found", TEXT),
    get("huge number", "contacts limit 61", V2 + "/", {"limit": "61"}, 400, bad("limit", "must be between 0 and 60")),
    post("long string", "otherLegNum of 100,000 digits from an unknown ext", "/rest/user/makeCall",
         {"legExt": "nosuchext", "otherLegNum": "1" * 100_000}, 404, "User not found"),
    post("long string", "apiKey of 100,000 characters", "/rest/security/authorize", {"domain": D, "apiKey": "k" * 100_000}, 401,
         "Invalid domain or apiKey"),
    get("long string", "searchByOLNum of 7,000 digits", V2 + "/searchByOLNum", {"otherLegNum": "5" * 7_000}, 200, [],
        content_type="application/json"),
    get("long string", "a query string past the server's 8190-byte request line", V2 + "/searchByOLNum",
        {"otherLegNum": "5" * 10_000}, 200, [], content_type="application/json"),
    post("cyrillic/emoji", "legExt in Cyrillic", "/rest/user/makeCall", {"legExt": "один", "otherLegNum": "+380993034330"}, 404,
         "User not found"),
    post("cyrillic/emoji", "otherLegNum an emoji", "/rest/user/makeCall", {"legExt": "101", "otherLegNum": "😀"}, 400,
         bad("otherLegNum")),
    get("cyrillic/emoji", "directions=два", "/rest/calls/users.api", {**WEEK_MS, "directions": "два"}, 400, bad("directions")),
    post("cyrillic/emoji", "authorize a Cyrillic domain", "/rest/security/authorize", {"domain": "тест.phonet.com.ua", "apiKey": K},
         401, "Invalid domain or apiKey"),
    post("cyrillic/emoji", "update an unknown contact with an emoji name", V2 + "/", {"id": 999999, "firstName": "Иван😀"}, 404,
         "Contact not found"),
    post("oversized", "batch past the limit", V2 + "/batch", b'{"contacts": [], "pad": "', 413, "Request Entity Too Large",
         oversize=True),
    post("oversized", "authorize past the limit", "/rest/security/authorize", b'{"domain": "', 413, "Request Entity Too Large",
         oversize=True),
    post("nested too deep", "makeCall a list 50 deep", "/rest/user/makeCall", b'{"legExt": ' + b"[" * 50 + b"]" * 50 + b"}", 400,
         bad("body", "is nested deeper than 32 levels")),
    post("nested too deep", "contact update 100,000 deep", V2 + "/", b"[" * 100_000 + b"]" * 100_000, 400,
         bad("body", "is nested deeper than 32 levels")),
    post("unstorable text", "note content a lone surrogate", V2 + "/1/notes", b'{"content": "a\\ud800b"}', 400,
         bad("content", UNSTORABLE)),
    post("unstorable text", "contact firstName with NUL", V2 + "/", b'{"id": 1, "firstName": "a\\u0000b"}', 400,
         bad("firstName", UNSTORABLE)),
    post("unstorable text", "batch contact name a lone low surrogate", V2 + "/batch",
         b'{"merge": 0, "contacts": [{"firstName": "\\udc00"}]}', 400, bad("contacts.0.firstName", UNSTORABLE)),
    get("huge number", "timeTo of 5,000 digits", "/rest/calls/company.api", {"timeFrom": "1", "timeTo": "9" * 5000}, 400,
        bad("timeTo", "is out of range")),
    post("huge number", "makeCall legExt of 5,000 digits", "/rest/user/makeCall",
         b'{"legExt": ' + b"9" * 5000 + b', "otherLegNum": "+380993034330"}', 400, bad("legExt", "is a number out of range")),
]

XFAIL: dict[str, str] = {}   # open findings of FINDINGS.md, pinned as strict xfails


def fill(value, domain: str, key: str):
    if isinstance(value, bytes):
        return value.replace(D.encode(), domain.encode()).replace(K.encode(), key.encode())
    return value


@pytest.mark.parametrize("case", parametrize(CASES, XFAIL))
async def test_bad_input_is_refused_and_changes_nothing(client, sim, case):
    account = sim.account("phonet")
    key = account.credentials["api_key"]
    resp = await client.post("/rest/security/authorize", json={"domain": account.domain, "apiKey": key})
    assert resp.status == 200
    session = resp.cookies["JSESSIONID"].value
    case.data = fill(case.data, account.domain, key)
    await check(client, sim, "phonet", case, headers={"Cookie": f"JSESSIONID={session}"})


def test_catalogue_covers_every_category():
    from .badinput import CATEGORIES
    assert {c.category for c in CASES} == set(CATEGORIES)
