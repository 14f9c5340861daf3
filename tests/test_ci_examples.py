"""The CI recipes in examples/: the sample CRM keeps the contract, the seeding script works
against a running simulator, and the recipes wire the pieces together as documented."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import pytest
import yaml
from aiohttp.test_utils import TestServer
from jsonschema import Draft202012Validator

from simulator.app import make_app
from simulator.config import load_config

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
sys.path.insert(0, str(EXAMPLES))
import sample_crm  # noqa: E402


def schema(provider: str, hook: str) -> Draft202012Validator:
    return Draft202012Validator(json.loads((ROOT / "schemas" / "crm" / provider / f"{hook}.json").read_text("utf-8")))


@pytest.fixture
async def sample(aiohttp_client):
    return await aiohttp_client(sample_crm.make_app("tok"))


@pytest.mark.parametrize("provider", ["vats", "cloudpbx"])
async def test_sample_crm_answers_contact(sample, provider):
    resp = await sample.post("/pbx", data={"cmd": "contact", "phone": "79001234567", "callid": "c1", "crm_token": "tok"})
    answer = await resp.json()
    assert resp.status == 200 and answer == {"contact_name": "ООО Ромашка", "responsible": "101"}
    assert not list(schema(provider, "contact").iter_errors(answer))
    unknown = await (await sample.post("/pbx", data={"cmd": "contact", "phone": "7000", "crm_token": "tok"})).json()
    assert not list(schema(provider, "contact").iter_errors(unknown))


async def test_sample_crm_answers_phonet_lookup_and_the_rest(sample):
    resp = await sample.post("/pbx", json={"request": "call.settings", "otherLegNum": "+380501110001", "trunkNum": None})
    answer = await resp.json()
    assert resp.status == 200 and answer == {"otherLeg": None}
    assert not list(schema("phonet", "call.settings").iter_errors(answer))
    for body in ({"event": "call.dial"}, [{"utmSource": "x"}]):
        assert (await sample.post("/pbx", json=body)).status == 200
    assert (await sample.post("/pbx", data={"cmd": "history", "crm_token": "tok"})).status == 200
    refused = await sample.post("/pbx", data={"cmd": "history", "crm_token": "wrong"})
    assert refused.status == 401 and await refused.json() == {"error": "Invalid token"}
    assert len(await (await sample.get("/received")).json()) == 5


@pytest.mark.parametrize("provider", ["vats", "cloudpbx", "phonet"])
async def test_sample_crm_passes_check_crm(aiohttp_server, provider):
    from simulator.scenarios.conformance import ConformanceCheck
    crm = await aiohttp_server(sample_crm.make_app("tok"))
    report = await ConformanceCheck(provider, str(crm.make_url("/pbx")), "tok", 3.0).run()
    assert report.passed, report.render()


async def test_ci_seed_script_against_a_running_simulator(aiohttp_server, sim):
    sim.config.server.admin_token = "ci-admin"
    server = TestServer(make_app(sim))
    await server.start_server(access_log=None)
    crm = await aiohttp_server(sample_crm.make_app("ci-crm"))
    env = {**os.environ, "PBX_SIM_URL": str(server.make_url("")).rstrip("/"), "PBX_SIM_ADMIN_TOKEN": "ci-admin",
           "CRM_URL_FROM_SIM": str(crm.make_url("/pbx")), "CRM_TOKEN": "ci-crm"}

    async def run(**extra) -> tuple[int, str]:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, str(EXAMPLES / "ci_seed.py"), "--wait", str(crm.make_url("/health")),
            env={**env, **extra}, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        out, _ = await asyncio.wait_for(proc.communicate(), 60)
        return proc.returncode, out.decode()

    code, out = await run()
    assert code == 0, out
    assert "PASS: 5 webhooks" in out and "ci-vats" in sim.accounts
    code, out = await run(CRM_TOKEN="wrong")            # a re-run, and a CRM that refuses
    assert code == 1 and "FAIL: 5 webhook(s)" in out and "Invalid token" in out
    await server.close()


def test_recipes_wire_the_service_container():
    gh = yaml.safe_load((EXAMPLES / "github-actions.yml").read_text("utf-8"))
    job = gh["jobs"]["crm-contract"]
    assert job["needs"] == "image" and job["services"]["pbx-sim"]["ports"] == ["8080:8080"]
    steps = " ".join(s.get("run", "") for s in job["steps"])
    assert "ci_seed.py" in steps and 'pbx-sim check-crm --provider vats --url "$CRM_URL"' in steps
    assert any(s.get("uses", "").startswith("docker/build-push-action") for s in gh["jobs"]["image"]["steps"])

    gl = yaml.safe_load((EXAMPLES / "gitlab-ci.yml").read_text("utf-8"))
    job = gl["crm-contract"]
    assert job["services"] == [{"name": "$SIM_IMAGE", "alias": "pbx-sim"}]
    assert job["variables"]["PBX_SIM_URL"] == "http://pbx-sim:8080"
    assert any('pbx-sim check-crm --provider vats --url "$CRM_URL"' in line for line in job["script"])
    assert "docker push \"$SIM_IMAGE\"" in gl["pbx-sim-image"]["script"]

    compose = yaml.safe_load((EXAMPLES / "docker-compose.yml").read_text("utf-8"))
    sim = compose["services"]["pbx-sim"]
    assert sim["build"] == {"context": "..", "dockerfile": "Dockerfile"}
    assert sim["command"][:2] == ["pbx-sim", "serve"] and "pbx-state:/data" in sim["volumes"]
    config = load_config(EXAMPLES / "pbx-sim.yaml")
    urls = {a.crm.url for a in config.accounts}
    assert urls == {"http://crm:8000/pbx/vats", "http://crm:8000/pbx/cloudpbx"}
    assert "http://crm:8000/pbx/vats" in compose["services"]["check"]["command"]
    assert (ROOT / "Dockerfile").is_file()
