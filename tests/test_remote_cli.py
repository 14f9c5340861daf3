"""``pbx-sim wait`` and ``pbx-sim accounts`` against a running simulator (a test server on
loopback; the command runs in a thread, as it blocks)."""

from __future__ import annotations

import asyncio
import json
import shlex
import socket

import pytest
from aiohttp.test_utils import TestServer
from click.testing import CliRunner

from simulator import cli
from simulator.app import make_app


async def invoke(*args: str, env: dict | None = None):
    return await asyncio.to_thread(CliRunner().invoke, cli.main, list(args), env=env or {})


@pytest.fixture
async def server(sim):
    srv = TestServer(make_app(sim))
    await srv.start_server(access_log=None)
    yield str(srv.make_url("")).rstrip("/")
    await srv.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_wait_exits_0_when_healthy(server):
    result = await invoke("wait", "--url", server, "--timeout", "5s")
    assert result.exit_code == 0 and result.output == f"{server} is healthy\n"
    assert (await invoke("wait", "--url", server + "/", "-q")).output == ""


async def test_wait_exits_1_on_timeout_and_says_why():
    url = f"http://127.0.0.1:{free_port()}"
    result = await invoke("wait", "--url", url, "--timeout", "0.5s", "--interval", "0.1s")
    assert result.exit_code == 1
    assert f"{url} is not healthy after 0.5 s: " in result.output and "refused" in result.output


async def test_wait_takes_the_url_from_the_environment(server):
    assert (await invoke("wait", "--timeout", "5s", env={"PBX_SIM_URL": server})).exit_code == 0


@pytest.mark.parametrize("args, message", [
    (["--url", "localhost:8080"], "must be an http:// or https:// URL"),
    (["--timeout", "soon"], "not a duration"),
    (["--timeout", "0s"], "must be more than zero"),
])
async def test_wait_refuses_bad_options(args, message):
    result = await invoke("wait", *args)
    assert result.exit_code == 2 and message in result.output


async def test_accounts_json_has_each_accounts_api_and_credentials(server, sim):
    result = await invoke("accounts", "--url", server, "--json")
    assert result.exit_code == 0, result.output
    rows = {r["id"]: r for r in json.loads(result.output)}
    assert set(rows) == set(sim.accounts)
    vats = sim.accounts["vats"]
    assert rows["vats"] == {"id": "vats", "provider": "vats", "base_url": f"{server}/crmapi/v1",
                            "domain": vats.domain, "credentials": vats.credentials,
                            "crm_token": "vats-crm-token"}
    assert rows["t2"]["base_url"] == f"{server}/crm/openapi"
    assert set(rows["t2"]["credentials"]) == {"access_token", "refresh_token"}


async def test_accounts_env_is_shell_and_github_env_ready(server, sim):
    result = await invoke("accounts", "--url", server, "--env", "--account", "vats", "--account", "t2")
    assert result.exit_code == 0, result.output
    pairs = dict(line.split("=", 1) for line in result.output.splitlines())
    assert pairs["PBX_SIM_VATS_API_KEY"] == sim.accounts["vats"].credentials["api_key"]
    assert pairs["PBX_SIM_VATS_BASE_URL"] == f"{server}/crmapi/v1"
    assert pairs["PBX_SIM_T2_ACCESS_TOKEN"] == sim.accounts["t2"].credentials["access_token"]
    assert pairs["PBX_SIM_T2_CRM_TOKEN"] == ""           # empty, not ''
    assert not any(k.startswith("PBX_SIM_PHONET_") for k in pairs)
    # a shell reads them back as they are
    assert {k: shlex.split(v)[0] if v else "" for k, v in pairs.items()} == pairs


async def test_accounts_with_an_admin_token(sim, server):
    sim.config.server.admin_token = "s3cret"
    refused = await invoke("accounts", "--url", server)
    assert refused.exit_code == 1 and "HTTP 401" in refused.output and "--admin-token" in refused.output
    ok = await invoke("accounts", "--url", server, env={"PBX_SIM_ADMIN_TOKEN": "s3cret"})
    assert ok.exit_code == 0 and f"vats (vats): {server}/crmapi/v1  api_key=" in ok.output


async def test_accounts_errors(server):
    unknown = await invoke("accounts", "--url", server, "--account", "nope")
    assert unknown.exit_code == 1 and "no account nope (there are: " in unknown.output
    both = await invoke("accounts", "--url", server, "--json", "--env")
    assert both.exit_code == 2 and "exclude each other" in both.output
    down = await invoke("accounts", "--url", f"http://127.0.0.1:{free_port()}")
    assert down.exit_code == 1 and "cannot reach" in down.output
