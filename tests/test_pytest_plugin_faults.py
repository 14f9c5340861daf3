"""The pytest plugin's helpers for faults, per-account clocks and verification, and the
plugin under pytest-xdist (each worker its own server: no cross-talk)."""

from __future__ import annotations

import json

import pytest

from test_pytest_plugin import HTTP, INI, SMALL

pytest_plugins = ["pytester"]


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makefile(".yaml", sim=SMALL)
    pytester.makeini(INI)
    pytester.makepyfile(httphelp=HTTP)
    pytester.syspathinsert()
    return pytester


def test_faults_helper_and_every_test_starts_without_faults(project):
    project.makepyfile(test_inner="""
from httphelp import http

def test_a(pbx_sim):
    fault = pbx_sim.faults.add(account="vats", match={"path": "/crmapi/v1/users"}, respond={"status": 503},
                               times=1, for_="10m")
    assert fault["id"] and fault["expires_at"]
    key = pbx_sim.credentials("vats")["api_key"]
    assert http("GET", pbx_sim.url + "/crmapi/v1/users", headers={"X-API-KEY": key}) == \\
        (503, {"message": "Service Unavailable"})
    assert http("GET", pbx_sim.url + "/crmapi/v1/users", headers={"X-API-KEY": key})[0] == 200
    pbx_sim.faults.add({"account": "vats", "match": {"path": "*"}, "respond": {"error": "crm_disabled"}})
    assert len(pbx_sim.faults.list()) == 1

def test_b(pbx_sim):
    assert pbx_sim.faults.list() == []

def test_bad_fault_is_a_clear_error(pbx_sim):
    import pytest
    from simulator.pytest_plugin import PbxSimError
    with pytest.raises(PbxSimError, match="vats has no error 'token_expired'"):
        pbx_sim.faults.add(account="vats", match={"path": "*"}, respond={"error": "token_expired"})
    with pytest.raises(PbxSimError, match="needs respond"):
        pbx_sim.faults.add(account="vats", match={"path": "*"})
""")
    result = project.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)


def test_advance_clock_of_one_account(project):
    project.makepyfile(test_inner="""
from httphelp import http

def test_a(pbx_sim):
    server = http("GET", pbx_sim.url + "/_sim/clock")[1]["now"]
    moved = pbx_sim.advance_clock("25h", account="vats")
    assert moved != server
    assert http("GET", pbx_sim.url + "/_sim/clock")[1]["now"] == server
    assert http("GET", pbx_sim.url + "/_sim/clock?account=vats")[1]["now"] == moved

def test_b_offsets_are_gone(pbx_sim):
    clock = http("GET", pbx_sim.url + "/_sim/clock?account=vats")[1]
    assert clock["offset_s"] == 0
""")
    result = project.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


def test_verify_helper_with_a_readable_message(project):
    project.makepyfile(test_inner="""
import pytest
from httphelp import http

def test_verify(pbx_sim):
    key = pbx_sim.credentials("vats")["api_key"]
    http("GET", pbx_sim.url + "/crmapi/v1/users", headers={"X-API-KEY": key})
    assert pbx_sim.verify(requests={"account": "vats", "method": "GET", "path": "/crmapi/v1/users"},
                          count=1) == {"ok": True, "matched": 1}
    with pytest.raises(AssertionError) as failed:
        pbx_sim.verify(requests={"account": "vats", "method": "DELETE", "path": "/crmapi/v1/users"})
    assert str(failed.value).splitlines()[0] == (
        'expected at least 1 requests matching {"account": "vats", "method": "DELETE", '
        '"path": "/crmapi/v1/users"}, found 0')
    assert 'method: expected "DELETE", got "GET"' in str(failed.value)
""")
    result = project.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_under_xdist_each_worker_has_its_own_server(project, tmp_path):
    out = tmp_path / "seen"
    out.mkdir()
    tests = "\n".join(f'''
def test_{n}(pbx_sim, worker_id):
    seen(pbx_sim, worker_id, {n})
''' for n in range(8))
    project.makepyfile(test_inner=f"""
import json, os, time
from pathlib import Path
from httphelp import http

OUT = Path({str(out)!r})

def seen(pbx_sim, worker_id, n):
    # what this test changes must not reach a test on the other worker
    assert pbx_sim.faults.list() == []
    assert http("GET", pbx_sim.url + "/_sim/clock?account=vats")[1]["offset_s"] == 0
    pbx_sim.faults.add(account="vats", match={{"path": "*"}}, respond={{"status": 500}})
    pbx_sim.advance_clock("1h", account="vats")
    key = pbx_sim.credentials("vats")["api_key"]
    assert http("GET", pbx_sim.url + "/crmapi/v1/users", headers={{"X-API-KEY": key}})[0] == 500
    (OUT / f"{{n}}.json").write_text(json.dumps({{"worker": worker_id, "url": pbx_sim.url, "pid": os.getpid()}}))
    time.sleep(0.05)   # both workers busy at once
{tests}
""")
    # plugins the inner run does not use stay out: each worker process loads what it is given
    result = project.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:schemathesis",
                                          "-p", "no:hypothesispytest", "-n", "2")
    result.assert_outcomes(passed=8)
    seen = [json.loads(p.read_text()) for p in out.iterdir()]
    by_worker: dict[str, set[str]] = {}
    for entry in seen:
        by_worker.setdefault(entry["worker"], set()).add(entry["url"])
    assert set(by_worker) == {"gw0", "gw1"}
    assert all(len(urls) == 1 for urls in by_worker.values())     # one server per worker
    assert by_worker["gw0"] != by_worker["gw1"]                     # and not the same one
