"""Phonet sessions: authorize → JSESSIONID; 403 without a live session; idle expiry on the
simulator clock; a regenerated API key ends old sessions. Also home of the test helpers the
other phonet test modules import."""

from __future__ import annotations

import pytest

ACCOUNT = "phonet"


async def login(client, sim, account: str = ACCOUNT) -> dict:
    """Authorize as a real client does; return the Cookie header for later requests."""
    acc = sim.account(account)
    resp = await client.post("/rest/security/authorize",
                             json={"domain": acc.domain, "apiKey": acc.credentials["api_key"]})
    assert resp.status == 200, await resp.text()
    first = resp.headers["Set-Cookie"].split(";")[0]
    client.session.cookie_jar.clear()   # requests carry exactly the cookie a test gives
    name, _, value = first.partition("=")
    assert name == "JSESSIONID"
    return {"Cookie": f"JSESSIONID={value}"}


@pytest.mark.parametrize("header", ["other=1; JSESSIONID={sid}", 'JSESSIONID="{sid}"',
                                    "JSESSIONID=0BADBEEF; JSESSIONID={sid}", " JSESSIONID = {sid} ;"])
async def test_the_session_cookie_is_read_as_a_browser_sends_it(client, sim, header):
    """Among other cookies, quoted, repeated (the last one counts) or with spaces."""
    cookie = await login(client, sim)
    sid = cookie["Cookie"].split("=", 1)[1]
    resp = await client.get("/rest/users", headers={"Cookie": header.format(sid=sid)})
    assert resp.status == 200, await resp.text()


async def test_authorize_sets_jsessionid_cookie_first_without_secure(client, sim):
    acc = sim.account(ACCOUNT)
    resp = await client.post("/rest/security/authorize",
                             json={"domain": acc.domain, "apiKey": acc.credentials["api_key"]})
    assert resp.status == 200
    cookies = resp.headers.getall("Set-Cookie")
    assert len(cookies) == 1
    parts = [p.strip() for p in cookies[0].split(";")]
    assert parts[0].startswith("JSESSIONID=")
    value = parts[0].split("=", 1)[1]
    assert len(value) == 32 and value == value.upper() and int(value, 16) >= 0
    assert "Path=/" in parts and "HttpOnly" in parts
    assert not any(p.lower() == "secure" for p in parts)
    assert resp.content_type == "application/json"
    assert await resp.json() == {}


async def test_session_cookie_opens_the_api(client, sim):
    headers = await login(client, sim)
    resp = await client.get("/rest/users", headers=headers)
    assert resp.status == 200
    assert isinstance(await resp.json(), list)


@pytest.mark.parametrize("path", [
    "/rest/users", "/rest/user/status", "/rest/calls/active/v3",
    "/rest/calls/company.api?timeFrom=0&timeTo=1", "/rest/calls/missed.api", "/rest/calls/users.api",
    "/rest/crm/contacts/v2/", "/rest/crm/contacts/v2/1", "/rest/crm/contacts/v2/1/notes",
    "/rest/crm/contacts/v2/searchByOLNum?otherLegNum=1", "/rest/calls/active/abc/hangup",
])
async def test_every_endpoint_without_session_is_403_plain_text(client, sim, path):
    resp = await client.get(path)
    assert resp.status == 403
    assert resp.content_type == "text/plain"
    assert await resp.text() == "Forbidden"


@pytest.mark.parametrize("method,path,body", [
    ("POST", "/rest/user/makeCall", {"legExt": "101", "otherLegNum": "+380501112233"}),
    ("POST", "/rest/crm/contacts/v2/", {"id": 1}),
    ("POST", "/rest/crm/contacts/v2/batch", {"merge": 0, "contacts": []}),
    ("DELETE", "/rest/crm/contacts/v2/1", None),
    ("POST", "/rest/crm/contacts/v2/1/notes", {}),
    ("PUT", "/rest/crm/contacts/v2/1/notes", {"id": 1}),
    ("DELETE", "/rest/crm/contacts/v2/1/notes/1", None),
])
async def test_writes_without_session_are_403_and_change_nothing(client, sim, method, path, body):
    before = len(sim.account(ACCOUNT).state.contacts)
    resp = await client.request(method, path, json=body, headers={"Cookie": "JSESSIONID=DEADBEEF"})
    assert resp.status == 403
    assert await resp.text() == "Forbidden"
    assert len(sim.account(ACCOUNT).state.contacts) == before
    assert sim.engine.live_calls(ACCOUNT) == []


async def test_403_comes_before_parameter_validation(client, sim):
    resp = await client.get("/rest/calls/company.api?timeFrom=abc")
    assert resp.status == 403


@pytest.mark.parametrize("body", [
    {"domain": "test4.phonet.com.ua", "apiKey": "wrong"},
    {"domain": "nope.phonet.com.ua", "apiKey": "x"},
])
async def test_bad_credentials_are_401_never_403(client, sim, body):
    resp = await client.post("/rest/security/authorize", json=body)
    assert resp.status == 401
    assert resp.content_type == "text/plain"
    assert await resp.text() == "Invalid domain or apiKey"
    assert "Set-Cookie" not in resp.headers


@pytest.mark.parametrize("raw,text", [
    (b"{not json", "Bad request: body is not valid JSON"),
    (b"[]", "Bad request: body must be a JSON object"),
    (b'{"apiKey": "x"}', "Bad request: domain is required"),
    (b'{"domain": "test4.phonet.com.ua"}', "Bad request: apiKey is required"),
    (b'{"domain": 5, "apiKey": "x"}', "Bad request: domain is invalid"),
    (b'{"domain": "", "apiKey": "x"}', "Bad request: domain is required"),
])
async def test_malformed_authorize_is_400(client, sim, raw, text):
    resp = await client.post("/rest/security/authorize", data=raw,
                             headers={"Content-Type": "application/json"})
    assert resp.status == 400
    assert await resp.text() == text


async def test_domain_is_case_insensitive_and_each_login_is_a_new_session(client, sim):
    acc = sim.account(ACCOUNT)
    a = await login(client, sim)
    resp = await client.post("/rest/security/authorize",
                             json={"domain": acc.domain.upper(), "apiKey": acc.credentials["api_key"]})
    assert resp.status == 200
    b = {"Cookie": resp.headers["Set-Cookie"].split(";")[0]}
    client.session.cookie_jar.clear()
    assert a != b
    for headers in (a, b):   # the earlier session stays valid
        assert (await client.get("/rest/users", headers=headers)).status == 200


async def test_session_expires_after_idle_timeout_and_use_refreshes_it(client, sim):
    headers = await login(client, sim)
    await sim.clock.advance(1700)
    assert (await client.get("/rest/users", headers=headers)).status == 200   # refreshed
    await sim.clock.advance(1790)
    assert (await client.get("/rest/users", headers=headers)).status == 200
    await sim.clock.advance(1801)
    resp = await client.get("/rest/users", headers=headers)
    assert resp.status == 403
    assert await resp.text() == "Forbidden"
    # logging in again gives a working session
    assert (await client.get("/rest/users", headers=await login(client, sim))).status == 200


@pytest.fixture
def sim_config():
    from conftest import small_config
    cfg = small_config()
    for acc in cfg["accounts"]:
        if acc["id"] == ACCOUNT:
            acc["settings"]["session_idle_timeout_s"] = 1800
    cfg["accounts"].append({"id": "phonet2", "provider": "phonet", "domain": "other.phonet.com.ua",
                            "credentials": {"api_key": "K2"},
                            "settings": {"session_idle_timeout_s": 60, "strict_host": False},
                            "seed": {"generate": {"employees": 2, "contacts": 1, "calls": 0}}})
    return cfg


async def test_idle_timeout_is_per_account_setting_and_switch(client, sim):
    headers = await login(client, sim, "phonet2")
    await sim.clock.advance(61)
    assert (await client.get("/rest/users", headers=headers)).status == 403
    sim.account("phonet2").switches["session_idle_timeout_s"] = 120
    headers = await login(client, sim, "phonet2")
    await sim.clock.advance(100)
    assert (await client.get("/rest/users", headers=headers)).status == 200


async def test_session_is_bound_to_its_account(client, sim):
    h1 = await login(client, sim, ACCOUNT)
    h2 = await login(client, sim, "phonet2")
    u1 = await (await client.get("/rest/users", headers=h1)).json()
    u2 = await (await client.get("/rest/users", headers=h2)).json()
    assert len(u1) == 6 and len(u2) == 2


async def test_regenerated_key_ends_old_sessions(client, sim):
    headers = await login(client, sim)
    old_key = sim.account(ACCOUNT).credentials["api_key"]
    sim.regenerate(ACCOUNT)
    assert (await client.get("/rest/users", headers=headers)).status == 403
    resp = await client.post("/rest/security/authorize",
                             json={"domain": sim.account(ACCOUNT).domain, "apiKey": old_key})
    assert resp.status == 401
    assert (await client.get("/rest/users", headers=await login(client, sim))).status == 200


async def test_regenerate_through_admin_api_ends_sessions(client, sim):
    headers = await login(client, sim)
    resp = await client.post(f"/_sim/accounts/{ACCOUNT}/credentials/regenerate")
    assert resp.status in (200, 201)
    assert (await client.get("/rest/users", headers=headers)).status == 403


async def test_public_recording_needs_no_session_and_unknown_is_404(client, sim):
    resp = await client.get("/rest/public/calls/0123456789abcdef0123456789abcdef/audio")
    assert resp.status == 404
    assert await resp.text() == "Record not found"


async def test_unknown_path_and_wrong_method_are_plain_text(client, sim):
    resp = await client.get("/rest/nothing/here")
    assert resp.status == 404 and resp.content_type == "text/plain"
    assert await resp.text() == "Not Found"
    resp = await client.post("/rest/users")
    assert resp.status == 405 and resp.content_type == "text/plain"


async def test_reset_drops_sessions(client, sim):
    headers = await login(client, sim)
    resp = await client.post(f"/_sim/reset?account={ACCOUNT}")
    assert resp.status == 200, await resp.text()
    assert (await client.get("/rest/users", headers=headers)).status == 403


async def test_strict_host_setting(client, sim):
    acc = sim.account(ACCOUNT)
    acc.settings.pop("strict_host", None)              # the default: host must equal domain
    body = {"domain": acc.domain, "apiKey": acc.credentials["api_key"]}
    resp = await client.post("/rest/security/authorize", json=body)
    assert resp.status == 400 and resp.content_type == "text/plain"   # Host is 127.0.0.1
    assert await resp.text() == ("Bad request: domain must equal the host the request was sent to "
                                 "(127.0.0.1); the account setting strict_host: false relaxes this")
    resp = await client.post("/rest/security/authorize", json=body, headers={"Host": acc.domain + ":8443"})
    assert resp.status == 200                          # the port does not count
    resp = await client.post("/rest/security/authorize", json=body, headers={"Host": acc.domain.upper()})
    assert resp.status == 200
    cookie = {"Cookie": resp.headers["Set-Cookie"].split(";")[0]}
    client.session.cookie_jar.clear()
    assert (await client.get("/rest/users", headers={**cookie, "Host": acc.domain})).status == 200
    assert (await client.get("/rest/users", headers=cookie)).status == 403
    acc.switches["strict_host"] = False                # the switch relaxes both
    resp = await client.post("/rest/security/authorize", json=body)
    assert resp.status == 200
