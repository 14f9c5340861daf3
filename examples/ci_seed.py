"""Seed a running pbx-simulator through its admin API and check that the CRM answers its
webhooks: the CI recipes' middle step. Standard library only (runs in any python image).

    python examples/ci_seed.py --wait http://127.0.0.1:8000/health

Environment:
  PBX_SIM_URL          the simulator, as this job reaches it (default http://127.0.0.1:8080)
  PBX_SIM_ADMIN_TOKEN  its --admin-token, if it has one
  CRM_URL_FROM_SIM     the CRM's webhook URL as the simulator reaches it (required)
  CRM_TOKEN            the crm_token the CRM expects (default empty)
  PBX_SIM_ACCOUNT      the account to create (default ci-vats, provider vats)

It creates the account (or points an existing one at the CRM), places an answered incoming
call, moves the simulator's clock past its end, and fails when a webhook was not delivered
or the CRM's answer broke the contract (e.g. ``contact`` without ``contact_name``). Then it
calls the provider API with the account's key, as the CRM under test would.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.request

SIM = os.environ.get("PBX_SIM_URL", "http://127.0.0.1:8080").rstrip("/")
ADMIN = os.environ.get("PBX_SIM_ADMIN_TOKEN", "")
ACCOUNT = os.environ.get("PBX_SIM_ACCOUNT", "ci-vats")
NUMBER = "74950000001"


def http(method: str, url: str, body: dict | None = None, headers: dict | None = None) -> tuple[int, object]:
    hdrs = dict(headers or {})
    if url.startswith(SIM + "/_sim") and ADMIN:
        hdrs["Authorization"] = f"Bearer {ADMIN}"
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        hdrs["Content-Type"] = "application/json"
    req = urllib.request.Request(url, data=data, method=method, headers=hdrs)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            raw = resp.read()
            status = resp.status
    except urllib.error.HTTPError as err:
        raw, status = err.read(), err.code
    try:
        return status, json.loads(raw or b"null")
    except ValueError:
        return status, raw.decode("utf-8", "replace")


def wait_for(url: str, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            if http("GET", url)[0] == 200:
                print(f"up: {url}")
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            sys.exit(f"not up after {seconds:g} s: {url}")
        time.sleep(1)


def must(ok: bool, message: str) -> None:
    if not ok:
        sys.exit(f"FAIL: {message}")


def main() -> None:
    parser = argparse.ArgumentParser(description="Seed pbx-simulator and check the CRM's webhook answers.")
    parser.add_argument("--wait", action="append", default=[], metavar="URL",
                        help="also wait until URL answers 200 (e.g. the CRM's health check)")
    args = parser.parse_args()
    crm_url = os.environ.get("CRM_URL_FROM_SIM")
    must(bool(crm_url), "set CRM_URL_FROM_SIM to the CRM's webhook URL as the simulator reaches it")
    crm = {"url": crm_url, "crm_token": os.environ.get("CRM_TOKEN", "")}
    for url in [SIM + "/_sim/health", *args.wait]:
        wait_for(url)

    # 1. seed: an account whose webhooks go to the CRM under test
    # secrets=1: the answer shows the credentials in full (servers mask them otherwise)
    status, body = http("POST", SIM + "/_sim/accounts?secrets=1", {
        "id": ACCOUNT, "provider": "vats", "name": "CI", "crm": crm,
        "seed": {"employees": [{"login": "manager1", "ext": "101", "name": "Анна Смирнова"}],
                 "numbers": [{"number": NUMBER, "route": {"type": "employee", "target": "manager1"}}],
                 "generate": {"calls": 0}}})
    if status == 409:                                       # a re-run: point it at the CRM again
        status, body = http("PATCH", f"{SIM}/_sim/accounts/{ACCOUNT}?secrets=1", {"crm": crm})
    must(status in (200, 201), f"seeding the account: {status} {body}")
    api_key = body["credentials"]["api_key"]
    print(f"account {ACCOUNT}: webhooks → {crm_url}")

    # 2. a call; the simulator's clock is moved past its end instead of waiting for it
    status, body = http("POST", SIM + "/_sim/calls", {
        "account": ACCOUNT, "direction": "in", "from": "79001234567", "to": NUMBER,
        "outcome": "answered", "ring_s": 3, "talk_s": 20})
    must(status == 201, f"placing a call: {status} {body}")
    call_id = body["call_id"]
    for _ in range(3):
        http("POST", SIM + "/_sim/clock", {"advance": "30s"})
    http("POST", SIM + "/_sim/webhooks/drain?timeout=15")

    # 3. what the CRM answered
    status, hooks = http("GET", f"{SIM}/_sim/webhooks?account={ACCOUNT}&call={call_id}")
    must(status == 200, f"reading the webhook journal: {status} {hooks}")
    for h in hooks:
        mark = "ok " if h["delivered"] and h["contract"]["ok"] else "BAD"
        print(f"  {mark} {h['hook']:<10} → {h['status']} {h['response_body'][:80]!r} {h['contract']['violations']}")
    names = {h["hook"] for h in hooks}
    must({"contact", "event", "history"} <= names, f"expected contact, event and history webhooks, got {sorted(names)}")
    bad = [h for h in hooks if not (h["delivered"] and h["contract"]["ok"])]
    must(not bad, f"{len(bad)} webhook(s) not delivered or answered against the contract")

    # 4. the provider API, as the CRM calls it
    status, users = http("GET", SIM + "/crmapi/v1/users", headers={"X-API-KEY": api_key})
    must(status == 200 and "manager1" in json.dumps(users), f"GET /crmapi/v1/users: {status} {users}")
    print(f"PASS: {len(hooks)} webhooks answered within the contract; the provider API answers")


if __name__ == "__main__":
    main()
