"""t2 tokens: shape, the five documented 403s, refresh rotation, expiry on the simulator
clock, regeneration through the admin API."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timezone

import jwt
import pytest

from simulator.app import make_app
from simulator.config import parse_config
from simulator.core.clock import Clock
from simulator.providers.t2.auth import signing_key
from simulator.sim import Simulator

BASE = "/crm/openapi"
START = datetime(2025, 6, 2, 7, 0, tzinfo=timezone.utc)   # Monday, 10:00 in Moscow


def forbidden(details: str) -> dict:
    return {"details": details, "message": "Forbidden"}


@pytest.fixture
async def t2(sim):
    await sim.clock.set(START)
    sim.regenerate("t2")   # a pair issued on the test's clock
    return sim.account("t2")


async def get_employees(client, token: str | None):
    headers = {} if token is None else {"Authorization": token}
    return await client.get(f"{BASE}/employees", headers=headers)


async def refresh(client, token: str | None):
    headers = {} if token is None else {"Authorization": token}
    return await client.put(f"{BASE}/authorization/refresh/token", headers=headers)


def payload(token: str) -> dict:
    body = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))


async def test_tokens_are_hs512_jwts_like_the_documented_example(client, sim, t2):
    access, refresh_ = t2.credentials["access_token"], t2.credentials["refresh_token"]
    assert set(t2.credentials) == {"access_token", "refresh_token"}
    assert access.startswith("eyJhbGciOiJIUzUxMiJ9.")   # {"alg":"HS512"}, as in the seeds
    now = int(START.timestamp())
    for token, sub, ttl in ((access, "ACCESS_OPENAPI_TOKEN", 86400), (refresh_, "REFRESH_OPENAPI_TOKEN", 7 * 86400)):
        claims = jwt.decode(token, signing_key(sim, t2), algorithms=["HS512"], options={"verify_exp": False})
        assert claims["sub"] == sub
        assert claims["exp"] == now + ttl
        assert set(claims["UserDetailsImpl"]) == {"companyId", "userId", "login"}
        assert list(payload(token))[:3] == ["UserDetailsImpl", "exp", "sub"]
    r = await client.get("/_sim/accounts/t2?secrets=1")
    assert (await r.json())["credentials"] == t2.credentials


@pytest.mark.parametrize("prefix", ["", "Bearer ", "bearer "])
async def test_raw_token_and_bearer_prefix(client, t2, prefix):
    r = await get_employees(client, prefix + t2.credentials["access_token"])
    assert r.status == 200
    assert isinstance(await r.json(), list)


@pytest.mark.parametrize("header", [None, "", "   ", "Bearer "])
async def test_missing_or_empty_header(client, t2, header):
    r = await get_employees(client, header)
    assert r.status == 403
    assert r.content_type == "application/json"
    assert await r.json() == forbidden("Authorization header required")


async def test_bad_tokens(client, sim, t2):
    access = t2.credentials["access_token"]
    foreign = jwt.encode({"UserDetailsImpl": {"companyId": 1}, "exp": 9999999999, "sub": "ACCESS_OPENAPI_TOKEN"},
                         "not-the-key-" * 8, algorithm="HS512")
    head, body, sig = access.split(".")
    claims = payload(access)
    claims["exp"] += 10 ** 6
    forged = ".".join([head, base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("="), sig])
    for token in ("QwErTy", "a.b.c", foreign, forged, access[:-4]):
        r = await get_employees(client, token)
        assert r.status == 403, token
        assert await r.json() == forbidden("Bad token")
    # a token signed right but with an unknown sub is not one of ours either
    odd = jwt.encode({"UserDetailsImpl": payload(access)["UserDetailsImpl"], "exp": 9999999999, "sub": "OTHER"},
                     signing_key(sim, t2), algorithm="HS512")
    r = await get_employees(client, odd)
    assert await r.json() == forbidden("Bad token")


async def test_wrong_token_type(client, t2):
    r = await get_employees(client, t2.credentials["refresh_token"])
    assert r.status == 403
    assert await r.json() == forbidden("Invalid token type")
    r = await refresh(client, t2.credentials["access_token"])
    assert r.status == 403
    assert await r.json() == forbidden("Invalid token type")


async def test_refresh_rotates_the_pair(client, sim, t2):
    old = dict(t2.credentials)
    r = await refresh(client, old["refresh_token"])
    assert r.status == 200
    assert r.content_type == "application/json"
    pair = await r.json()
    assert set(pair) == {"accessToken", "refreshToken"}
    assert pair["accessToken"] != old["access_token"] and pair["refreshToken"] != old["refresh_token"]
    assert sim.account("t2").credentials == {"access_token": pair["accessToken"],
                                             "refresh_token": pair["refreshToken"]}
    assert (await get_employees(client, pair["accessToken"])).status == 200
    for stale, call in ((old["access_token"], get_employees), (old["refresh_token"], refresh)):
        r = await call(client, stale)
        assert r.status == 403
        assert await r.json() == forbidden("The token has already been updated")
    # the new refresh token works once more, and the one just used is spent
    r = await refresh(client, pair["refreshToken"])
    assert r.status == 200
    r = await refresh(client, pair["refreshToken"])
    assert await r.json() == forbidden("The token has already been updated")


async def test_access_token_expires_after_a_day(client, sim, t2):
    access, refresh_ = t2.credentials["access_token"], t2.credentials["refresh_token"]
    await sim.clock.advance(86399)
    assert (await get_employees(client, access)).status == 200
    await sim.clock.advance(1)
    r = await get_employees(client, access)
    assert r.status == 403
    assert await r.json() == forbidden("The token is expired")
    # the refresh token (7 days) still gets a new pair
    r = await refresh(client, refresh_)
    assert r.status == 200
    assert (await get_employees(client, (await r.json())["accessToken"])).status == 200


async def test_refresh_token_expires_after_seven_days(client, sim, t2):
    refresh_ = t2.credentials["refresh_token"]
    await sim.clock.advance("7d")
    r = await refresh(client, refresh_)
    assert r.status == 403
    assert await r.json() == forbidden("The token is expired")
    # the check order: type before expiry, replaced before expiry
    r = await get_employees(client, refresh_)
    assert await r.json() == forbidden("Invalid token type")
    old_access = t2.credentials["access_token"]
    sim.regenerate("t2")
    r = await get_employees(client, old_access)
    assert await r.json() == forbidden("The token has already been updated")


async def test_clock_moved_through_the_admin_api_expires_tokens(client, t2):
    access = t2.credentials["access_token"]
    r = await client.post("/_sim/clock", json={"advance": "25h"})
    assert r.status == 200
    r = await get_employees(client, access)
    assert await r.json() == forbidden("The token is expired")


async def test_regenerate_invalidates_every_earlier_token(client, sim, t2):
    old = dict(t2.credentials)
    r = await client.post("/_sim/accounts/t2/credentials/regenerate")
    assert r.status == 200
    new = (await r.json())["credentials"]
    assert set(new) == {"access_token", "refresh_token"}
    assert new != old
    assert (await get_employees(client, new["access_token"])).status == 200
    r = await get_employees(client, old["access_token"])
    assert await r.json() == forbidden("The token has already been updated")
    r = await refresh(client, old["refresh_token"])
    assert await r.json() == forbidden("The token has already been updated")


async def test_tokens_survive_a_reset_and_requests_are_journaled(client, sim, t2):
    access = t2.credentials["access_token"]
    r = await client.post("/_sim/reset")
    assert r.status == 200
    assert (await get_employees(client, access)).status == 200
    r = await client.get("/_sim/requests", params={"account": "t2"})
    entries = await r.json()
    assert [(e["path"], e["status"], e["provider"]) for e in entries][-1:] == [(f"{BASE}/employees", 200, "t2")]


async def test_configured_tokens_are_taken_verbatim(aiohttp_client):
    cfg = parse_config({"server": {"seed": 3}, "accounts": [
        {"id": "acme", "provider": "t2", "credentials": {"access_token": "QwErTy", "refresh_token": "AsDfGh"},
         "seed": {"generate": {"employees": 2, "calls": 0}}}]})
    sim = Simulator(cfg, Clock("manual"))
    await sim.start()
    client = await aiohttp_client(make_app(sim))
    assert sim.account("acme").credentials == {"access_token": "QwErTy", "refresh_token": "AsDfGh"}
    await sim.clock.advance("30d")   # not JWTs: they do not expire
    assert (await get_employees(client, "QwErTy")).status == 200
    r = await get_employees(client, "AsDfGh")
    assert await r.json() == forbidden("Invalid token type")
    r = await refresh(client, "AsDfGh")
    assert r.status == 200
    pair = await r.json()
    assert (await get_employees(client, pair["accessToken"])).status == 200
    r = await get_employees(client, "QwErTy")
    assert await r.json() == forbidden("Bad token")   # no longer anyone's, and not a JWT


async def test_auth_comes_before_parameters(client, t2):
    r = await client.get(f"{BASE}/call-records/info")
    assert r.status == 403
    assert await r.json() == forbidden("Authorization header required")


async def test_each_account_has_its_own_tokens(aiohttp_client):
    gen = {"employees": 2, "calls": 0}
    cfg = parse_config({"server": {"seed": 3}, "accounts": [
        {"id": "one", "provider": "t2", "seed": {"generate": {**gen, "employees": 1}}},
        {"id": "two", "provider": "t2", "seed": {"generate": {**gen, "employees": 3}}}]})
    sim = Simulator(cfg, Clock("manual"))
    await sim.start()
    client = await aiohttp_client(make_app(sim))
    for account_id, employees in (("one", 1), ("two", 3)):
        r = await get_employees(client, sim.account(account_id).credentials["access_token"])
        assert len(await r.json()) == employees
    # refreshing one account's pair leaves the other's alone
    r = await refresh(client, sim.account("one").credentials["refresh_token"])
    assert r.status == 200
    assert (await get_employees(client, sim.account("two").credentials["access_token"])).status == 200
