"""``POST /_sim/scenarios/run`` in a running simulator, and the ``pbx-sim`` commands."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from aiohttp import web
from click.testing import CliRunner

from simulator.cli import main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "scenarios" / "01_incoming_answered.yaml"
TRANSFER = ROOT / "scenarios" / "06_transfer.yaml"


async def test_run_a_scenario_inside_the_server(client, sim, crm):
    """The test server's clock is manual: the run moves it, as a test would."""
    resp = await client.post("/_sim/scenarios/run", json={"scenario": TRANSFER.read_text("utf-8"),
                                                          "source": "06_transfer.yaml", "provider": "vats,phonet",
                                                          "crm_url": crm.url})
    assert resp.status == 200, await resp.text()
    data = await resp.json()
    assert data["passed"], [r for r in data["reports"] if not r["passed"]]
    assert [r["provider"] for r in data["reports"]] == ["vats", "phonet"]
    assert crm.received, "the given CRM got the webhooks"
    # the account stays for inspection through the admin API and the provider API
    assert "scenario-vats" in sim.accounts and len(sim.account("scenario-vats").state.cdrs) == 1
    again = await client.post("/_sim/scenarios/run", json={"scenario": TRANSFER.read_text("utf-8"),
                                                           "provider": "vats"})
    assert (await again.json())["passed"]
    assert len(sim.account("scenario-vats").state.cdrs) == 1, "each run starts on a fresh account"
    assert sim.account("scenario-vats").crm.url is None, "the built-in CRM is gone after the run"


async def test_the_route_refuses_bad_input(client):
    resp = await client.post("/_sim/scenarios/run", json={"scenario": "name: x\nsteps:\n  - wait: soon\n"})
    assert resp.status == 400
    body = await resp.json()
    assert body["problems"][0]["line"] == 3 and body["problems"][0]["field"] == "steps[0].wait"
    for payload, message in (({}, "scenario"), ({"scenario": "name: x", "provider": "zz"}, "unknown provider"),
                             ({"scenario": "name: x", "crm_url": "ftp://x"}, "crm_url"),
                             ({"scenario": "name: x", "crm_timeout": -1}, "crm_timeout")):
        resp = await client.post("/_sim/scenarios/run", json=payload)
        assert resp.status == 400 and message in (await resp.json())["error"]
    resp = await client.post("/_sim/scenarios/run", data=b"{not json", headers={"Content-Type": "application/json"})
    assert resp.status == 400


def test_cli_run_passes_and_writes_junit(tmp_path):
    junit = tmp_path / "out.xml"
    result = CliRunner().invoke(main, ["run", str(EXAMPLE), "--provider", "cloudpbx", "--junit", str(junit)])
    assert result.exit_code == 0, result.output
    assert "PASS Incoming call to the sales line, answered [cloudpbx]" in result.output
    assert "1 runs: 1 passed" in result.output
    root = ET.parse(junit).getroot()
    assert root.find("testsuite").get("tests") == "1"


def test_cli_run_fails_on_a_failed_expectation(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(EXAMPLE.read_text("utf-8").replace("employee: manager2, department: sales",
                                                      "employee: manager3, department: sales"), "utf-8")
    result = CliRunner().invoke(main, ["run", str(bad), "-p", "t2", "-q"])
    assert result.exit_code == 1
    assert "employee manager3: was manager2" in result.output


def test_cli_run_refuses_an_invalid_file(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nsteps:\n  - incoming: {from: '1', to: '2', talk: forever}\n", "utf-8")
    result = CliRunner().invoke(main, ["run", str(bad)])
    assert result.exit_code == 2
    assert "line 3: steps[0].incoming.talk: 'forever' is not a duration" in result.output
    result = CliRunner().invoke(main, ["run", str(EXAMPLE), "--speed", "warp"])
    assert result.exit_code == 2 and "--speed" in result.output


def test_cli_help_shows_examples():
    for command in ("run", "check-crm", "traffic"):
        result = CliRunner().invoke(main, [command, "--help"])
        assert result.exit_code == 0 and "Example:" in result.output and f"pbx-sim {command}" in result.output


class ThreadedCrm:
    """A CRM in its own thread and loop, for commands that run their own event loop."""

    def __init__(self, answer_lookup):
        self.answer_lookup = answer_lookup
        self.url = ""
        self._ready = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        asyncio.set_event_loop(self._loop)

        async def handle(request):
            data = dict(await request.post()) if request.content_type.endswith("urlencoded") else await request.json()
            if isinstance(data, dict) and data.get("cmd") == "contact":
                return self.answer_lookup()
            return web.Response()

        async def start():
            app = web.Application()
            app.router.add_post("/hook", handle)
            self._runner = web.AppRunner(app)
            await self._runner.setup()
            site = web.TCPSite(self._runner, "127.0.0.1", 0)
            await site.start()
            self.url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/hook"
            self._ready.set()

        self._loop.run_until_complete(start())
        self._loop.run_forever()

    def __enter__(self):
        self._thread.start()
        self._ready.wait(5)
        return self

    def __exit__(self, *exc):
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)


def test_cli_check_crm_exit_codes(tmp_path):
    with ThreadedCrm(lambda: web.json_response({"contact_name": "Клиент", "responsible": ""})) as good:
        result = CliRunner().invoke(main, ["check-crm", "-p", "vats", "--url", good.url, "--timeout", "1s",
                                           "--junit", str(tmp_path / "crm.xml")])
    assert result.exit_code == 0, result.output
    assert "PASS" in result.output and (tmp_path / "crm.xml").is_file()
    with ThreadedCrm(lambda: web.Response(text="{oops", content_type="application/json")) as bad:
        result = CliRunner().invoke(main, ["check-crm", "-p", "vats", "--url", bad.url, "--timeout", "1s"])
    assert result.exit_code == 1
    assert "contact: answer is not valid JSON" in result.output
    result = CliRunner().invoke(main, ["check-crm", "-p", "t2", "--url", "http://127.0.0.1:9/"])
    assert result.exit_code == 2


def test_cli_traffic_in_process():
    result = CliRunner().invoke(main, ["traffic", "--account", "vats", "--calls-per-hour", "120",
                                       "--duration", "1h", "--seed", "3"])
    assert result.exit_code == 0, result.output
    assert "calls placed" in result.output and "outcomes:" in result.output
    assert "no CRM URL" in result.output
    result = CliRunner().invoke(main, ["traffic", "--account", "nope", "--calls-per-hour", "1", "--duration", "1h"])
    assert result.exit_code == 1 and "no account 'nope'" in result.output
    result = CliRunner().invoke(main, ["traffic", "--account", "vats", "--calls-per-hour", "1", "--duration", "-1h"])
    assert result.exit_code == 2


class ThreadedSimulator:
    """``pbx-sim serve`` in a thread (its own loop), for the commands' --server mode."""

    def __init__(self, config: dict):
        self.config = config
        self.url = ""
        self.sim = None
        self._ready = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        from simulator.app import create_app
        from simulator.config import parse_config
        from simulator.sim import SIM

        asyncio.set_event_loop(self._loop)

        async def start():
            app = await create_app(parse_config(self.config))
            self.sim = app[SIM]
            self._runner = web.AppRunner(app)
            await self._runner.setup()
            site = web.TCPSite(self._runner, "127.0.0.1", 0)
            await site.start()
            self.url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"
            self._ready.set()

        self._loop.run_until_complete(start())
        self._loop.run_forever()

    def __enter__(self):
        self._thread.start()
        assert self._ready.wait(10)
        return self

    def __exit__(self, *exc):
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


def test_cli_run_and_traffic_against_a_running_server(tmp_path):
    from conftest import small_config

    with ThreadedSimulator(small_config(clock="instant")) as server:
        junit = tmp_path / "remote.xml"
        result = CliRunner().invoke(main, ["run", str(TRANSFER), str(EXAMPLE), "--server", server.url,
                                           "-p", "phonet", "--junit", str(junit)])
        assert result.exit_code == 0, result.output
        assert "2 runs: 2 passed" in result.output
        assert ET.parse(junit).getroot().find("testsuite").get("tests") == "2"
        result = CliRunner().invoke(main, ["traffic", "--account", "vats", "--calls-per-hour", "3600",
                                           "--duration", "60s", "--speed", "x60", "--server", server.url])
        assert result.exit_code == 0, result.output
        placed = int(result.output.split("traffic: ")[1].split(" of ")[0])
        assert placed > 30
        assert len(server.sim.account("vats").state.cdrs) + len(server.sim.engine.live_calls("vats")) >= placed
    result = CliRunner().invoke(main, ["run", str(EXAMPLE), "--server", "http://127.0.0.1:9"])
    assert result.exit_code == 1 and "cannot reach" in result.output


async def test_the_route_refuses_a_provider_that_is_not_text(client):
    resp = await client.post("/_sim/scenarios/run", json={"scenario": "name: x\nsteps: [{wait: 1}]\n", "provider": 5})
    assert resp.status == 400 and "provider" in (await resp.json())["error"]


def test_cli_junit_to_an_unwritable_place(tmp_path):
    result = CliRunner().invoke(main, ["run", str(EXAMPLE), "-p", "t2", "--junit", str(tmp_path / "no" / "x.xml")])
    assert result.exit_code == 1 and "cannot write the JUnit report" in result.output
