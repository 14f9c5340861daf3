"""pbx-simulator as a throwaway container for a CRM's pytest suite, with testcontainers-python
(a generic container: the image is all it needs).

    docker build -t pbx-simulator:local .
    pip install "testcontainers>=4" pytest
    pytest examples/testcontainers/test_with_testcontainers.py

The container starts once per session with an instant clock (a call runs through at once),
and the fixture waits with the image's own health check command, `pbx-sim wait`.
"""

from __future__ import annotations

import json
import os
import urllib.request

import pytest
from testcontainers.core.container import DockerContainer

IMAGE = os.environ.get("PBX_SIM_IMAGE", "pbx-simulator:local")
ADMIN_TOKEN = "tc-admin-token"


@pytest.fixture(scope="session")
def pbx_sim():
    container = (DockerContainer(IMAGE)
                 .with_env("PBX_SIM_ADMIN_TOKEN", ADMIN_TOKEN)
                 .with_env("PBX_SIM_CLOCK", "instant")
                 .with_env("PBX_SIM_STATE_FILE", "")          # a fresh simulator every session
                 .with_exposed_ports(8080)
                 .with_command("pbx-sim serve --seed 7"))
    with container:
        waited = container.exec(["pbx-sim", "wait", "--timeout", "60s"])
        assert waited.exit_code == 0, waited.output
        host, port = container.get_container_host_ip(), container.get_exposed_port(8080)
        yield f"http://{host}:{port}"


def admin(url: str, method: str = "GET", body: dict | None = None):
    request = urllib.request.Request(url, method=method, data=json.dumps(body).encode() if body else None,
                                     headers={"Authorization": f"Bearer {ADMIN_TOKEN}",
                                              "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as resp:
        return json.loads(resp.read())


def test_the_vats_api_answers_with_the_accounts_key(pbx_sim):
    accounts = {a["id"]: a for a in admin(f"{pbx_sim}/_sim/accounts?secrets=1")}
    key = accounts["vats"]["credentials"]["api_key"]
    request = urllib.request.Request(f"{pbx_sim}/crmapi/v1/users", headers={"X-API-KEY": key})
    with urllib.request.urlopen(request, timeout=30) as resp:
        assert resp.status == 200


def test_a_call_ends_in_the_history(pbx_sim):
    state = admin(f"{pbx_sim}/_sim/accounts/vats/state?cdr_limit=0")
    call = admin(f"{pbx_sim}/_sim/calls", "POST", {"account": "vats", "direction": "in", "from": "79001234567",
                                                   "to": state["numbers"][0]["number"], "talk_s": 20})
    assert call["call_id"]
