"""cloudpbx bad-input catalogue: every refused request gets the documented ``{"error": …}`` body
with its status, and the account's state is byte-for-byte what it was."""

from __future__ import annotations

import pytest

from .badinput import Bad, check, parametrize

BASE = "/sys/crm_api.wcgp"
T = "<token>"          # replaced by the account's token
U = "<user>"           # replaced by an existing employee's login


def invalid(name: str | None = None) -> dict:
    return {"error": f"Invalid parameters: [{name}]" if name else "Invalid parameters"}


TOKEN = {"error": "Invalid token"}


def form(category, name, fields, status, body, method="POST"):
    fields = {"token": T, **fields}
    if method == "GET":
        return Bad(category, name, "GET", BASE, status, body, params=fields)
    return Bad(category, name, "POST", BASE, status, body, data=fields)


def raw(category, name, data: bytes, content_type: str, status, body):
    return Bad(category, name, "POST", BASE, status, body, data=data, headers={"Content-Type": content_type})


CASES = [
    raw("malformed JSON", "truncated object", b'{"cmd": "set_dnd", "token": ', "application/json", 400, invalid()),
    raw("malformed JSON", "not an object", b'["set_dnd", "<token>"]', "application/json", 400, invalid()),
    raw("malformed JSON", "not UTF-8", b'{"cmd": "set_dnd\xff\xfe"}', "application/json", 400, invalid()),
    raw("wrong content type", "form fields sent as text/plain are not read: no token", b"cmd=set_dnd&token=<token>&user=<user>&state=true",
        "text/plain", 401, TOKEN),
    raw("wrong content type", "XML body", b"<cmd>set_dnd</cmd>", "application/xml", 401, TOKEN),
    form("missing field", "no cmd", {}, 400, invalid("cmd")),
    form("missing field", "makeCall without phone", {"cmd": "makeCall", "user": U}, 400, invalid("phone")),
    form("missing field", "makeCall without user", {"cmd": "makeCall", "phone": "79101234567"}, 400, invalid("user")),
    form("missing field", "set_dnd without state", {"cmd": "set_dnd", "user": U}, 400, invalid("state")),
    form("missing field", "subscriptionStatus without group_id", {"cmd": "subscriptionStatus", "user": U}, 400, invalid("group_id")),
    form("missing field", "no token", {"cmd": "set_dnd", "user": U, "state": "true", "token": None}, 401, TOKEN),
    form("empty field", "user", {"cmd": "set_dnd", "user": "", "state": "true"}, 400, invalid("user")),
    form("empty field", "phone", {"cmd": "makeCall", "user": U, "phone": ""}, 400, invalid("phone")),
    form("empty field", "state of blanks", {"cmd": "set_dnd", "user": U, "state": "   "}, 400, invalid("state")),
    form("empty field", "status", {"cmd": "subscribeOnCalls", "user": U, "status": ""}, 400, invalid("status"), "GET"),
    form("empty field", "token", {"cmd": "set_dnd", "user": U, "state": "true", "token": ""}, 401, TOKEN),
    Bad("wrong type", "state as a number", "POST", BASE, 400, invalid("state"),
        json={"cmd": "set_dnd", "token": T, "user": U, "state": 1}),
    Bad("wrong type", "user as a list", "POST", BASE, 400, invalid("user"),
        json={"cmd": "makeCall", "token": T, "user": [U], "phone": "79101234567"}),
    Bad("wrong type", "user as an object", "POST", BASE, 400, invalid("user"),
        json={"cmd": "set_dnd", "token": T, "user": {"login": U}, "state": "true"}),
    Bad("wrong type", "limit as a float", "POST", BASE, 400, invalid("limit"),
        json={"cmd": "history", "token": T, "limit": 1.5}),
    Bad("wrong type", "status as a boolean", "POST", BASE, 400, invalid("status"),
        json={"cmd": "subscribeOnCalls", "token": T, "user": U, "status": True}),
    form("unknown enum", "cmd", {"cmd": "dance"}, 400, invalid("cmd")),
    form("unknown enum", "period", {"cmd": "history", "period": "fortnight"}, 400, invalid("period"), "GET"),
    form("unknown enum", "type", {"cmd": "history", "type": "inbound"}, 400, invalid("type")),
    form("unknown enum", "status", {"cmd": "subscribeOnCalls", "user": U, "status": "maybe"}, 400, invalid("status")),
    form("unknown enum", "state", {"cmd": "set_dnd", "user": U, "state": "yes"}, 400, invalid("state")),
    form("bad date", "start as dd.mm.yyyy", {"cmd": "history", "start": "11.03.2026 09:00"}, 400, invalid("start"), "GET"),
    form("bad date", "end with month 13", {"cmd": "history", "end": "20261399T999999Z"}, 400, invalid("end")),
    form("bad date", "start as a word", {"cmd": "history", "start": "yesterday"}, 400, invalid("start")),
    form("bad date", "end as epoch seconds", {"cmd": "history", "end": "1773219600"}, 400, invalid("end")),
    Bad("huge number", "limit of 30 digits is a limit like any other (no calls today: empty CSV)", "GET", BASE, 200, "",
        content_type="text/csv", params={"token": T, "cmd": "history", "limit": "9" * 30}),
    form("huge number", "phone of 1000 digits", {"cmd": "makeCall", "user": U, "phone": "7" * 1000}, 400, invalid("phone")),
    form("huge number", "negative limit", {"cmd": "history", "limit": "-" + "9" * 30}, 400, invalid("limit")),
    form("huge number", "limit past float range", {"cmd": "history", "limit": "1e309"}, 400, invalid("limit")),
    form("long string", "user of 200,000 characters", {"cmd": "set_dnd", "user": "a" * 200_000, "state": "true"}, 400,
         invalid("user")),
    form("long string", "group_id of 200,000 characters", {"cmd": "subscribeOnCalls", "user": U, "group_id": "g" * 200_000,
                                                             "status": "off"}, 400, invalid("group_id")),
    form("long string", "token of 200,000 characters", {"cmd": "accounts", "token": "t" * 200_000}, 401, TOKEN),
    form("long string", "a GET query string past the server's 8190-byte request line",
         {"cmd": "get_dnd", "user": "a" * 10_000}, 400, invalid("user"), "GET"),
    form("cyrillic/emoji", "user in Cyrillic", {"cmd": "set_dnd", "user": "андрей", "state": "true"}, 400, invalid("user")),
    form("cyrillic/emoji", "user as an emoji", {"cmd": "get_dnd", "user": "😀"}, 400, invalid("user"), "GET"),
    form("cyrillic/emoji", "cmd in Cyrillic", {"cmd": "аккаунты"}, 400, invalid("cmd")),
    form("cyrillic/emoji", "phone in full-width digits", {"cmd": "makeCall", "user": U, "phone": "７９１０１２３４５６７"}, 400,
         invalid("phone")),
    form("cyrillic/emoji", "group_id with an emoji", {"cmd": "subscribeOnCalls", "user": U, "group_id": "отдел😀",
                                                       "status": "off"}, 400, invalid("group_id")),
    form("cyrillic/emoji", "token with an emoji", {"cmd": "set_dnd", "user": U, "state": "true", "token": "токен😀"}, 401,
         TOKEN),
    Bad("oversized", "form body past the limit", "POST", BASE, 413, {"error": "Invalid parameters"},
        data=b"cmd=set_dnd&token=<token>&user=<user>&state=true&pad=", oversize=True,
        headers={"Content-Type": "application/x-www-form-urlencoded"}),
    Bad("oversized", "JSON body past the limit", "POST", BASE, 413, {"error": "Invalid parameters"},
        data=b'{"cmd": "set_dnd", "pad": "', oversize=True, headers={"Content-Type": "application/json"}),
    raw("nested too deep", "a JSON body 100,000 deep", b"[" * 100_000 + b"]" * 100_000, "application/json", 400, invalid()),
    raw("nested too deep", "user 40 deep", b'{"cmd": "get_dnd", "token": "<token>", "user": ' + b"[" * 40 + b"]" * 40 + b"}",
        "application/json", 400, invalid()),
    raw("unstorable text", "JSON user a lone surrogate", b'{"cmd": "set_dnd", "token": "<token>", "user": "\\ud800", "state": "true"}',
        "application/json", 400, invalid("user")),
    form("unstorable text", "form user with NUL", {"cmd": "set_dnd", "user": "a\x00", "state": "true"}, 400, invalid("user")),
    raw("malformed JSON", "a truncated multipart body", b"--xx\r\nContent-Disposition: form-data; name=\"cmd\"\r\n\r\naccounts",
        "multipart/form-data; boundary=xx", 400, invalid()),
    raw("malformed JSON", "multipart without its boundary", b"--xx\r\n\r\n", "multipart/form-data", 400, invalid()),
    Bad("huge number", "history limit of 5,000 digits is all of them (no calls today: empty CSV)", "POST", BASE, 200, "",
        content_type="text/csv", data={"token": T, "cmd": "history", "limit": "9" * 5000}),
]


def fill(value, token: str, user: str):
    """Put the account's real token and an existing login where the case says so."""
    if isinstance(value, bytes):
        return value.replace(b"<token>", token.encode()).replace(b"<user>", user.encode())
    if isinstance(value, str):
        return token if value == T else user if value == U else value
    if isinstance(value, list):
        return [fill(v, token, user) for v in value]
    if isinstance(value, dict):
        return {k: fill(v, token, user) for k, v in value.items() if v is not None}
    return value


# Open findings (schemas/openapi/FINDINGS.md)
XFAIL: dict[str, str] = {}   # open findings of FINDINGS.md, pinned as strict xfails


@pytest.mark.parametrize("case", parametrize(CASES, XFAIL))
async def test_bad_input_is_refused_and_changes_nothing(client, sim, case):
    account = sim.account("cloudpbx")
    token = account.credentials["token"]
    user = sorted(account.state.employees.values(), key=lambda e: e.id)[0].login
    for attr in ("params", "data", "json"):
        setattr(case, attr, fill(getattr(case, attr), token, user))
    await check(client, sim, "cloudpbx", case)


def test_catalogue_covers_every_category():
    from .badinput import CATEGORIES
    assert {c.category for c in CASES} == set(CATEGORIES)
