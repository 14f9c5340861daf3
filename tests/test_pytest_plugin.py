"""The pytest plugin (``simulator/pytest_plugin.py``), exercised the way a CRM project uses it:
inner test files run by ``pytester`` with the plugin loaded through its ``pytest11`` entry
point, against a simulator on a real loopback port."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

SMALL = """
server: {seed: 5}
accounts:
  - id: vats
    provider: vats
    crm: {crm_token: tok}
    seed:
      employees: [{login: anna, ext: "101", name: "Анна Петрова"}, {login: ivan, ext: "102", name: "Иван Сидоров"}]
      numbers: [{number: "74951112233", route: {type: employee, target: anna}}]
      generate: {calls: 0}
  - id: cloud
    provider: cloudpbx
    seed: {generate: {employees: 2, numbers: 1, calls: 0}}
"""

INI = """
[pytest]
pbx_sim_config = sim.yaml
asyncio_mode = auto
asyncio_default_fixture_loop_scope = function
"""

HTTP = """
import json, urllib.request

def http(method, url, body=None, headers=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"null")
"""


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makefile(".yaml", sim=SMALL)
    pytester.makeini(INI)
    pytester.makepyfile(httphelp=HTTP)
    pytester.syspathinsert()
    return pytester


def test_plugin_is_registered_by_its_entry_point(request):
    plugin = request.config.pluginmanager.get_plugin("pbx_sim")
    assert plugin is not None and plugin.__name__ == "simulator.pytest_plugin"


def test_fixture_serves_on_a_loopback_port_with_credentials(project):
    project.makepyfile(test_inner="""
from httphelp import http

def test_reachable(pbx_sim):
    assert pbx_sim.url.startswith("http://127.0.0.1:") and pbx_sim.port > 0
    status, health = http("GET", pbx_sim.url + "/_sim/health")
    assert status == 200 and health["status"] == "ok" and health["accounts"] == 2
    assert health["clock"]["mode"] == "instant"           # the ini default
    assert set(pbx_sim.accounts) == {"vats", "cloud"}
    creds = pbx_sim.credentials("vats")
    assert set(creds) == {"api_key"} and len(creds["api_key"]) >= 16
    status, accounts = http("GET", pbx_sim.url + "/_sim/accounts?secrets=1")
    assert [a["credentials"] for a in accounts if a["id"] == "vats"] == [creds]
""")
    result = project.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_every_test_starts_from_the_same_state(project):
    project.makepyfile(test_inner="""
from httphelp import http

FIRST = {}

def test_a_changes_everything(pbx_sim):
    FIRST["creds"] = pbx_sim.credentials("vats")
    FIRST["clock"] = http("GET", pbx_sim.url + "/_sim/clock")[1]["now"]
    assert http("PATCH", pbx_sim.url + "/_sim/accounts/vats", {"name": "changed", "switches": {"crm": False}})[0] == 200
    assert http("POST", pbx_sim.url + "/_sim/accounts/vats/credentials/regenerate")[0] == 200
    assert http("POST", pbx_sim.url + "/_sim/accounts", {"id": "extra", "provider": "t2"})[0] == 201
    pbx_sim.place_call("vats", "in", from_="79001112233", to="74951112233", outcome="answered", talk_s=5)
    pbx_sim.advance_clock("25h")
    assert pbx_sim.credentials("vats") != FIRST["creds"]
    assert len(pbx_sim.state("vats")["cdrs"]) == 1 and pbx_sim.requests()

def test_b_sees_none_of_it(pbx_sim):
    assert pbx_sim.accounts["vats"]["name"] == "vats"
    assert pbx_sim.accounts["vats"]["switches"] == {}
    assert set(pbx_sim.accounts) == {"vats", "cloud"}
    assert pbx_sim.credentials("vats") == FIRST["creds"]
    assert http("GET", pbx_sim.url + "/_sim/clock")[1]["now"] == FIRST["clock"]
    assert pbx_sim.state("vats")["cdrs"] == []
    assert [r["path"] for r in pbx_sim.requests()] == ["/_sim/clock"]   # journals emptied too
""")
    result = project.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


def test_place_call_returns_the_record_and_the_clock_moves(project):
    project.makepyfile(test_inner="""
from datetime import datetime, timedelta

def test_call(pbx_sim):
    cdr = pbx_sim.place_call("vats", "in", from_="79001112233", to="74951112233",
                             outcome="answered", ring_s=4, talk_s=42)
    assert cdr["outcome"] == "answered" and cdr["talk_s"] == 42 and cdr["wait_s"] == 4
    assert cdr["client"] == "79001112233"
    assert pbx_sim.state("vats")["cdrs"][0]["id"] == cdr["call_id"]
    missed = pbx_sim.place_call("vats", "in", from_="79005556677", to="74951112233", outcome="missed")
    assert missed["outcome"] == "missed" and missed["talk_s"] == 0

def test_clock(pbx_sim):
    before = datetime.fromisoformat(pbx_sim.advance_clock(0).replace("Z", "+00:00"))
    after = datetime.fromisoformat(pbx_sim.advance_clock("25h").replace("Z", "+00:00"))
    assert after - before == timedelta(hours=25)

def test_bad_call_is_a_clear_error(pbx_sim):
    import pytest
    from simulator.pytest_plugin import PbxSimError
    with pytest.raises(PbxSimError, match="no account 'nope'"):
        pbx_sim.place_call("nope", "in", from_="1", to="2")
    with pytest.raises(PbxSimError, match="unknown arguments"):
        pbx_sim.place_call("vats", "in", from_="1", to="2", colour="red")
""")
    result = project.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)


def test_webhook_journal_and_the_crm_allow_list(project):
    project.makepyfile(test_inner="""
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

from simulator.core.webhooks import Webhook

class Crm(BaseHTTPRequestHandler):
    got = []
    def do_POST(self):
        Crm.got.append(self.rfile.read(int(self.headers["Content-Length"])))
        self.send_response(200); self.send_header("Content-Length", "0"); self.end_headers()
    def log_message(self, *args):
        pass

def test_journal(pbx_sim):
    server = HTTPServer(("127.0.0.1", 0), Crm)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/crm"
    try:
        assert pbx_sim.set_crm("vats", url, crm_token="t")["url"] == url
        def send(sim, to):
            sim.webhooks.enqueue(Webhook("vats", "vats", "history", to, {"cmd": "history"}, "form"))
        pbx_sim.run(lambda sim: send(sim, url))
        pbx_sim.run(lambda sim: send(sim, "http://127.0.0.1:9/elsewhere"))
        hooks = pbx_sim.webhooks(account="vats")
        by_url = {h["url"]: h for h in hooks}
        assert len(hooks) == 2 and set(by_url) == {url, "http://127.0.0.1:9/elsewhere"}
        assert (by_url[url]["status"], by_url[url]["delivered"]) == (200, True)
        refused = by_url["http://127.0.0.1:9/elsewhere"]
        assert refused["status"] is None and not refused["delivered"] and refused["error"].startswith("refused")
        assert Crm.got == [b"cmd=history"]
    finally:
        server.shutdown()
""")
    result = project.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_set_crm_sends_headers_with_every_webhook(project):
    project.makepyfile(test_inner="""
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

class Crm(BaseHTTPRequestHandler):
    got = []
    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        Crm.got.append((self.headers.get("X-CRM-Token"), self.headers.get("Authorization")))
        self.send_response(200); self.send_header("Content-Length", "0"); self.end_headers()
    def log_message(self, *args):
        pass

def test_headers(pbx_sim):
    server = HTTPServer(("127.0.0.1", 0), Crm)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/crm"
    try:
        shown = pbx_sim.set_crm("vats", url, headers={"X-CRM-Token": "h-secret"}, auth="bearer")
        assert shown["headers"] == {"X-CRM-Token": "***"} and shown["auth"] == "bearer"
        pbx_sim.place_call("vats", "in", "79101234567", "74951112233", outcome="answered", talk_s=5)
        hooks = pbx_sim.webhooks(account="vats")
        assert hooks and all(h["request_headers"]["X-CRM-Token"] == "***" for h in hooks)
        assert Crm.got and set(Crm.got) == {("h-secret", "Bearer tok")}
    finally:
        server.shutdown()
""")
    result = project.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_async_tests_use_aio_while_their_crm_runs_on_the_test_loop(project):
    project.makepyfile(test_inner="""
from aiohttp import web
from simulator.core.webhooks import Webhook

async def test_lookup_answered_by_a_crm_on_this_loop(pbx_sim, aiohttp_server):
    async def contact(request):
        return web.json_response({"contact_name": "Иван", "responsible": "101"})
    app = web.Application()
    app.router.add_post("/crm", contact)
    crm = await aiohttp_server(app)
    await pbx_sim.aio.set_crm("vats", str(crm.make_url("/crm")))
    async def lookup(sim):
        account = sim.account("vats")
        return await sim.webhooks.send(Webhook("vats", "vats", "contact", account.crm.url,
                                               {"cmd": "contact"}, "form", expects_json=True))
    attempt = await pbx_sim.aio.run(lookup)
    assert attempt.delivered and attempt.answer == {"contact_name": "Иван", "responsible": "101"}
    assert [h["hook"] for h in await pbx_sim.aio.webhooks(account="vats")] == ["contact"]
""")
    result = project.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_configuration_by_fixture_and_by_ini(project):
    project.makepyfile(test_inner="""
import pytest

@pytest.fixture
def pbx_sim_config():
    return {"server": {"clock": "manual"},
            "accounts": [{"id": "solo", "provider": "phonet", "seed": {"generate": {"employees": 1, "calls": 0}}}]}

def test_override(pbx_sim):
    assert list(pbx_sim.accounts) == ["solo"]
    assert pbx_sim.run(lambda sim: sim.clock.mode) == "manual"
""")
    project.makepyfile(test_other="""
def test_ini_config_and_clock(pbx_sim):
    assert list(pbx_sim.accounts) == ["vats", "cloud"]
    assert pbx_sim.run(lambda sim: sim.clock.mode) == "manual"   # pbx_sim_clock below
""")
    project.makeini(INI + "pbx_sim_clock = manual\n")
    result = project.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


def test_manual_clock_call_waits_by_stepping_the_clock(project):
    project.makeini(INI + "pbx_sim_clock = manual\n")
    project.makepyfile(test_inner="""
def test_call(pbx_sim):
    cdr = pbx_sim.place_call("vats", "in", from_="79001112233", to="74951112233",
                             outcome="answered", ring_s=3, talk_s=20)
    assert cdr["outcome"] == "answered" and cdr["talk_s"] == 20
""")
    result = project.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_bad_configuration_is_a_clear_error_not_a_traceback(project):
    project.makefile(".yaml", broken="accounts: [{id: x, provider: nokia}]\n")
    project.makeini(INI.replace("sim.yaml", "broken.yaml"))
    project.makepyfile(test_inner="""
def test_needs_sim(pbx_sim):
    pass
""")
    result = project.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*PbxSimError*invalid configuration*", "*accounts.0.provider*"])


def test_run_scenario_delegates_or_says_why_it_cannot(project):
    scenario = Path(__file__).resolve().parents[1] / "scenarios" / "01_incoming_answered.yaml"
    project.makepyfile(test_inner=f"""
import sys
import pytest
from simulator.pytest_plugin import PbxSimError

SCENARIO = {str(scenario)!r}

def test_without_the_package(pbx_sim, monkeypatch):
    monkeypatch.setitem(sys.modules, "simulator.scenarios.runner", None)
    with pytest.raises(PbxSimError, match="needs simulator.scenarios"):
        pbx_sim.run_scenario(SCENARIO, provider="vats")

def test_bad_scenario_or_provider(pbx_sim):
    with pytest.raises(PbxSimError, match="no such file"):
        pbx_sim.run_scenario("missing.yaml", provider="vats")
    with pytest.raises(PbxSimError, match="unknown provider nokia"):
        pbx_sim.run_scenario(SCENARIO, provider="nokia")

def test_delegates_to_the_runner_in_this_simulator(pbx_sim, monkeypatch):
    import simulator.scenarios.runner as runner
    seen = []
    async def run_on(sim, scenario, provider, crm_url=None, crm_timeout=None):
        seen.append((sorted(sim.accounts), scenario.source, provider, crm_url, crm_timeout))
        return f"report {{provider}}"
    monkeypatch.setattr(runner, "run_on", run_on)
    assert pbx_sim.run_scenario(SCENARIO, provider="vats", crm_url="http://127.0.0.1:9/c") == "report vats"
    assert pbx_sim.run_scenario(SCENARIO, provider="vats,cloudpbx") == ["report vats", "report cloudpbx"]
    assert seen[0] == (["cloud", "vats"], SCENARIO, "vats", "http://127.0.0.1:9/c", None)

def test_a_real_run_leaves_its_account_until_the_next_test(pbx_sim):
    report = pbx_sim.run_scenario(SCENARIO, provider="vats")
    assert report.provider == "vats" and report.source == SCENARIO and report.steps
    assert "scenario-vats" in pbx_sim.accounts

def test_next(pbx_sim):
    assert "scenario-vats" not in pbx_sim.accounts
""")
    result = project.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=5)


def test_a_yaml_clock_does_not_slow_the_fixture(project):
    project.makefile(".yaml", sim=SMALL.replace("server: {seed: 5}", "server: {seed: 5, clock: real}"))
    project.makepyfile(test_inner="""
def test_instant(pbx_sim):
    assert pbx_sim.run(lambda sim: sim.clock.mode) == "instant"
    cdr = pbx_sim.place_call("vats", "in", from_="79001112233", to="74951112233", talk_s=3600)
    assert cdr["talk_s"] == 3600                      # an hour of talk, in no time
""")
    result = project.runpytest("-p", "no:cacheprovider", "--durations=0")
    result.assert_outcomes(passed=1)


def test_the_readme_example_passes(pytester):
    """examples/test_crm_example.py as a CRM project has it: no ini, the demo accounts."""
    examples = Path(__file__).resolve().parents[1] / "examples"
    for name in ("test_crm_example.py", "sample_crm.py"):
        (pytester.path / name).write_text((examples / name).read_text("utf-8"), "utf-8")
    result = pytester.runpytest("-p", "no:cacheprovider", "-o", "asyncio_default_fixture_loop_scope=function")
    result.assert_outcomes(passed=1)
