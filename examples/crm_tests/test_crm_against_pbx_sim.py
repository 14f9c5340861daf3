"""A CRM's own tests against a running pbx-simulator (a service container in CI), configured
only by the environment: what `pbx-sim accounts --env` prints, plus the admin API's address.
Standard library and pytest only, as a CRM project's test job would have.

    pbx-sim accounts --url "$PBX_SIM_URL" --env --account ci-vats >> "$GITHUB_ENV"
    pytest examples/crm_tests

Environment:
  PBX_SIM_URL, PBX_SIM_ADMIN_TOKEN   the simulator's admin API (seeding, calls, journals)
  PBX_SIM_ACCOUNT                    the account under test (default ci-vats, see ci_seed.py)
  PBX_SIM_<ACCOUNT>_BASE_URL, PBX_SIM_<ACCOUNT>_API_KEY   from `pbx-sim accounts --env`
"""

from __future__ import annotations

import json
import os
import re
import urllib.error
import urllib.request

import pytest

SIM = os.environ.get("PBX_SIM_URL", "http://127.0.0.1:8080").rstrip("/")
ADMIN = os.environ.get("PBX_SIM_ADMIN_TOKEN", "")
ACCOUNT = os.environ.get("PBX_SIM_ACCOUNT", "ci-vats")
PREFIX = "PBX_SIM_" + re.sub(r"[^A-Za-z0-9]+", "_", ACCOUNT).strip("_").upper() + "_"


def setting(name: str) -> str:
    value = os.environ.get(PREFIX + name)
    if not value:
        pytest.fail(f"{PREFIX}{name} is not set: run `pbx-sim accounts --env` into this job's environment first")
    return value


def http(method: str, url: str, body: dict | None = None, headers: dict | None = None) -> tuple[int, object]:
    hdrs = dict(headers or {})
    if url.startswith(SIM + "/_sim") and ADMIN:
        hdrs["Authorization"] = f"Bearer {ADMIN}"
    data = json.dumps(body).encode() if body is not None else None
    if data is not None:
        hdrs["Content-Type"] = "application/json"
    request = urllib.request.Request(url, data=data, method=method, headers=hdrs)
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"null")


def test_the_crm_reads_the_pbx_users_with_its_key():
    status, users = http("GET", setting("BASE_URL") + "/users", headers={"X-API-KEY": setting("API_KEY")})
    assert status == 200, users
    assert "manager1" in json.dumps(users, ensure_ascii=False)


def test_a_wrong_key_gets_the_providers_own_error():
    status, body = http("GET", setting("BASE_URL") + "/users", headers={"X-API-KEY": "not-the-key"})
    assert status == 401 and body, body


def test_an_incoming_call_reaches_the_crm_and_its_answers_keep_the_contract():
    status, numbers = http("GET", f"{SIM}/_sim/accounts/{ACCOUNT}/state?cdr_limit=0")
    assert status == 200, numbers
    number = numbers["numbers"][0]["number"]
    status, call = http("POST", f"{SIM}/_sim/calls", {"account": ACCOUNT, "direction": "in", "from": "79001234567",
                                                      "to": number, "outcome": "answered", "talk_s": 15})
    assert status == 201, call
    for _ in range(3):     # past the call's end on the simulator's clock, instead of waiting
        http("POST", f"{SIM}/_sim/clock", {"advance": "30s"})
    http("POST", f"{SIM}/_sim/webhooks/drain?timeout=15")
    status, hooks = http("GET", f"{SIM}/_sim/webhooks?account={ACCOUNT}&call={call['call_id']}")
    assert status == 200 and {"contact", "event", "history"} <= {h["hook"] for h in hooks}, hooks
    assert all(h["delivered"] and h["contract"]["ok"] for h in hooks), \
        [(h["hook"], h["contract"]["violations"]) for h in hooks if not h["contract"]["ok"]]
