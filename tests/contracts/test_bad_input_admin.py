"""Admin API (``/_sim``) bad-input catalogue: every refused request gets a JSON ``{"error": …}``
naming what is wrong, with 400 (or the status the admin document gives), and nothing changes:
not one account's state, not the set of accounts, not the clock."""

from __future__ import annotations

import json

import pytest

from .badinput import Bad, parametrize, state_of

UNSTORABLE = "holds a character that cannot be stored (a lone surrogate or NUL)"
RANGE = "the clock stays between 1970-01-02 and 3000-01-01 (UTC)"
DEEP = b"[" * 100_000 + b"]" * 100_000
SNAP = (b'{"format": "pbx-simulator/snapshot", "version": 1, "seed": 1, "accounts": [], '
        b'"clock": {"now": "2026-01-01T00:00:00Z", "mode": "manual", "timestamp": 1767225600}}')


def body_error(field: str, reason: str) -> dict:
    return {"error": f"{field} {reason}", "field": field}


def post(category, name, path, data: bytes, status, body, method="POST"):
    return Bad(category, name, method, path, status, body, data=data, headers={"Content-Type": "application/json"})


def scenario(category, name, yaml_text: str, reason: str):
    return Bad(category, name, "POST", "/_sim/scenarios/run", 400,
               {"error": f"<scenario>: invalid scenario\n  file: (top level): {reason}",
                "problems": [{"line": None, "field": "", "reason": reason}]},
               json={"scenario": yaml_text, "provider": "vats"})


CASES = [
    post("huge number", "advance 2**64 seconds", "/_sim/clock", b'{"advance": 18446744073709551616}', 400, {"error": RANGE}),
    post("huge number", "advance 1e12 seconds", "/_sim/clock", b'{"advance": 1e12}', 400, {"error": RANGE}),
    post("huge number", "advance 99999999999d", "/_sim/clock", b'{"advance": "99999999999d"}', 400, {"error": RANGE}),
    post("huge number", "advance 1e308", "/_sim/clock", b'{"advance": 1e308}', 400, {"error": RANGE}),
    post("huge number", "advance 1e400 (past a float)", "/_sim/clock", b'{"advance": 1e400}', 400,
         body_error("advance", "is a number out of range")),
    post("huge number", "advance of 5,000 digits", "/_sim/clock", b'{"advance": ' + b"9" * 5000 + b"}", 400,
         body_error("advance", "is a number out of range")),
    post("malformed JSON", "advance NaN", "/_sim/clock", b'{"advance": NaN}', 400, body_error("body", "is not valid JSON")),
    post("bad date", "set the year 9999", "/_sim/clock", b'{"set": "9999-12-31T23:59:59Z"}', 400, {"error": RANGE}),
    post("bad date", "set the year 1", "/_sim/clock", b'{"set": "0001-01-01T00:00:00Z"}', 400, {"error": RANGE}),
    post("wrong type", "advance backwards", "/_sim/clock", b'{"advance": -5}', 400,
         {"error": "the clock does not go backwards; use set"}),
    post("nested too deep", "clock 100,000 deep", "/_sim/clock", DEEP, 400, body_error("body", "is nested deeper than 32 levels")),
    post("nested too deep", "accounts 40 deep", "/_sim/accounts", b'{"id": "x", "settings": ' + b"[" * 40 + b"]" * 40 + b"}",
         400, body_error("body", "is nested deeper than 32 levels")),
    post("unstorable text", "account name a lone surrogate", "/_sim/accounts", b'{"id": "x", "provider": "vats", "name": "\\ud800"}',
         400, body_error("name", UNSTORABLE)),
    post("unstorable text", "patch a name with NUL", "/_sim/accounts/vats", b'{"name": "a\\u0000"}', 400,
         body_error("name", UNSTORABLE), method="PATCH"),
    post("unstorable text", "a key with a lone surrogate", "/_sim/accounts/vats", b'{"settings": {"\\udc00": 1}}', 400,
         body_error("settings", UNSTORABLE), method="PATCH"),
    post("huge number", "patch crm.timeout of 5,000 digits", "/_sim/accounts/vats", b'{"crm": {"timeout": ' + b"9" * 5000 + b"}}",
         400, body_error("crm.timeout", "is a number out of range"), method="PATCH"),
    post("unknown enum", "an unknown Faker locale", "/_sim/accounts", b'{"id": "x", "provider": "vats", "seed": {"locale": "xx_YY"}}',
         400, {"error": "seed.locale: Value error, unknown Faker locale 'xx_YY' (e.g. ru_RU, uk_UA, en_US)"}),
    post("huge number", "an account with 300,000 generated calls", "/_sim/accounts",
         b'{"id": "big", "provider": "vats", "seed": {"generate": {"calls": 300000}}}', 400,
         {"error": "seed.generate.calls: at most 50,000 through the admin API (a history of 300,000 calls takes "
                   "minutes to generate); give larger ones in the configuration file, generated at start",
          "field": "seed.generate.calls"}),
    scenario("malformed JSON", "scenario YAML with a recursive alias", "- &a [*a]",
             "not valid YAML: nested too deeply, or an alias that contains itself"),
    scenario("bad date", "scenario YAML with 2001-02-30", "name: x\nwhen: 2001-02-30\n", "not valid YAML: day is out of range for month"),
    scenario("unstorable text", "scenario YAML with a control character", "name: x\u0007",
             "not valid YAML: unacceptable character #x0007: special characters are not allowed\n  in \"<unicode string>\", position 7"),
    scenario("huge number", "scenario YAML with a 5,000-digit number", "name: " + "9" * 5000,
             "not valid YAML: Exceeds the limit (4300 digits) for integer string conversion: value has 5000 digits; "
             "use sys.set_int_max_str_digits() to increase the limit"),
    post("unstorable text", "snapshot with a lone surrogate", "/_sim/snapshot", SNAP.replace(b'"accounts"', b'"x": "\\ud800", "accounts"'),
         400, {"error": f"snapshot: cannot be taken: x {UNSTORABLE}"}, method="PUT"),
    post("nested too deep", "snapshot 100,000 deep", "/_sim/snapshot", DEEP, 400,
         {"error": "snapshot: cannot be taken: body is nested deeper than 64 levels"}, method="PUT"),
    post("huge number", "snapshot clock in the year 5000", "/_sim/snapshot", SNAP.replace(b"1767225600", b"95617584000"), 400,
         {"error": "snapshot: clock.timestamp 95617584000.0 is outside the clock's range (1970-01-02 to 3000-01-01)"}, method="PUT"),
    post("unstorable text", "scenario text a lone surrogate", "/_sim/scenarios/run", b'{"scenario": "\\ud800"}', 400,
         body_error("scenario", UNSTORABLE)),
]


def world(sim) -> str:
    return json.dumps({"accounts": {a: state_of(sim, a) for a in sorted(sim.accounts)},
                       "names": {a.id: [a.name, a.domain, a.crm.model_dump(), a.settings] for a in sim.accounts.values()},
                       "clock": sim.clock.timestamp()}, sort_keys=True, default=str)


@pytest.mark.parametrize("case", parametrize(CASES, {}))
async def test_bad_admin_input_is_refused_and_changes_nothing(client, sim, case):
    before = world(sim)
    kwargs = {"headers": case.headers}
    if case.json is not None:
        kwargs["json"] = case.json
    if case.data is not None:
        kwargs["data"] = case.data
    resp = await client.request(case.method, case.path, **kwargs)
    raw = await resp.read()
    assert (resp.status, resp.content_type) == (case.status, case.content_type), raw[:300]
    assert json.loads(raw) == case.body
    assert world(sim) == before
    health = await client.get("/_sim/health")      # and everything still answers
    assert health.status == 200
    assert (await client.get("/_sim/snapshot")).status == 200


@pytest.mark.parametrize("method,path,allowed", [
    ("DELETE", "/_sim/health", "GET,HEAD"),
    ("DELETE", "/crmapi/v1/users", "GET,HEAD,POST"),
    ("PATCH", "/rest/security/authorize", "POST"),
    ("DELETE", "/sys/crm_api.wcgp", "GET,HEAD,POST"),
])
async def test_a_405_says_which_methods_the_path_has(client, method, path, allowed):
    resp = await client.request(method, path)
    assert resp.status == 405 and resp.headers["Allow"] == allowed


@pytest.mark.parametrize("expect", ["100-continue", "something-else", "x=1"])
async def test_an_expect_header_is_never_aiohttps_own_417(client, sim, expect):
    """100-continue is honoured; an expectation nobody knows is ignored, as nginx in front of the
    providers does, so the request gets its documented answer (here vats' 401 and a 200)."""
    resp = await client.post("/crmapi/v1/makecall", json={"phone": "79101234567", "user": "x"},
                             headers={"Expect": expect, "X-API-KEY": "wrong"})
    assert (resp.status, await resp.json()) == (401, {"message": "Invalid token"})
    resp = await client.get("/_sim/health", headers={"Expect": expect})
    assert resp.status == 200
