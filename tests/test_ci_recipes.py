"""The CI recipes in examples/ as far as a machine without Docker can take them: the YAML
parses and has the structure GitHub Actions, GitLab CI and Compose require of what the recipes
use; every `pbx-sim` command and option they (and the README and Dockerfile) name exists;
the Python and Node files compile; and the pipeline's steps after "start the image" — wait,
seed, credentials into the environment, the CRM's tests, check-crm --junit — run here against
a simulator and the sample CRM on loopback.

The compose file is checked against a hand-written schema of the part of the Compose
specification it uses (the official compose-spec JSON schema is not vendored)."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from aiohttp.test_utils import TestServer
from click.testing import CliRunner
from jsonschema import Draft202012Validator

from simulator import cli
from simulator.app import make_app

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
sys.path.insert(0, str(EXAMPLES))
import sample_crm  # noqa: E402

# ---- every pbx-sim command the recipes and docs name exists -----------------------------------

COMMAND = re.compile(r"""pbx-sim[ \t]+([a-z][a-z-]*)((?:[ \t]+(?:--?[A-Za-z][\w-]*(?:=\S+)?|"[^"]*"|'[^']*'|[^\s|;&>)`\]]+))*)""")


def invocations() -> list[tuple[str, str, str]]:
    """(file, subcommand, argument text) of every `pbx-sim SUB ...` in the recipes, the
    Dockerfile and the README; list forms (["pbx-sim", "serve", ...]) read as text."""
    files = [*EXAMPLES.rglob("*.yml"), *EXAMPLES.rglob("*.yaml"), *EXAMPLES.rglob("*.py"),
             *EXAMPLES.rglob("*.mjs"), ROOT / "Dockerfile", ROOT / "README.md", ROOT / "docker" / "entrypoint.sh"]
    found = []
    for path in files:
        text = path.read_text("utf-8")
        text = re.sub(r"""["']\s*,\s*["']""", " ", text)          # ["pbx-sim", "wait"] → "pbx-sim wait"
        for m in COMMAND.finditer(text):
            found.append((str(path.relative_to(ROOT)), m.group(1), m.group(2)))
    return found


def test_the_recipes_name_pbx_sim_commands():
    named = {(f, sub) for f, sub, _ in invocations()}
    for recipe in ("examples/github-actions.yml", "examples/gitlab-ci.yml"):
        assert {(recipe, "wait"), (recipe, "accounts"), (recipe, "check-crm")} <= named, recipe
    assert ("examples/docker-compose.yml", "serve") in named and ("Dockerfile", "wait") in named


@pytest.mark.parametrize("where, sub, args", [pytest.param(*i, id=f"{i[0]}:{i[1]}") for i in invocations()])
def test_each_named_command_and_option_exists(where, sub, args):
    commands = cli.main.list_commands(None)
    if sub in {"as", "is", "and", "in", "on", "to", "for", "with", "from"}:   # prose: "pbx-sim as a service"
        return
    assert sub in commands, f"{where}: pbx-sim {sub} is no command (there are: {', '.join(commands)})"
    result = CliRunner().invoke(cli.main, [sub, "--help"])
    assert result.exit_code == 0, result.output
    help_text = result.output
    for option in re.findall(r"(?<![\w-])(--[a-z][\w-]*|-[a-zA-Z])(?=[\s=]|$)", args):
        assert re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", help_text), \
            f"{where}: pbx-sim {sub} has no option {option}"


# ---- the structure the platforms require of what the recipes use ------------------------------

STR_LIST = {"type": "array", "items": {"type": "string"}}
SCALARS = {"type": ["string", "number", "boolean", "null"]}
COMPOSE = {
    "type": "object", "additionalProperties": False, "required": ["services"],
    "properties": {
        "name": {"type": "string"},
        "services": {"type": "object", "minProperties": 1, "additionalProperties": {
            "type": "object", "additionalProperties": False,
            "anyOf": [{"required": ["image"]}, {"required": ["build"]}],
            "properties": {
                "image": {"type": "string"},
                "build": {"anyOf": [{"type": "string"}, {"type": "object", "additionalProperties": False,
                                                          "properties": {"context": {"type": "string"},
                                                                         "dockerfile": {"type": "string"}}}]},
                "command": {"anyOf": [{"type": "string"}, STR_LIST]},
                "entrypoint": {"anyOf": [{"type": "string"}, STR_LIST]},
                "environment": {"anyOf": [{"type": "object", "additionalProperties": SCALARS}, STR_LIST]},
                "volumes": STR_LIST,
                "ports": {"type": "array", "items": {"type": "string", "pattern": r"^(\d+\.\d+\.\d+\.\d+:)?\d+(:\d+)?$"}},
                "profiles": STR_LIST,
                "depends_on": {"anyOf": [STR_LIST, {"type": "object", "additionalProperties": {
                    "type": "object", "additionalProperties": False, "required": ["condition"],
                    "properties": {"condition": {"enum": ["service_started", "service_healthy",
                                                          "service_completed_successfully"]}}}}]},
                "healthcheck": {"type": "object", "additionalProperties": False, "properties": {
                    "test": {"anyOf": [{"type": "string"}, {"type": "array", "prefixItems": [
                        {"enum": ["CMD", "CMD-SHELL", "NONE"]}], "items": {"type": "string"}}]},
                    "interval": {"type": "string", "pattern": r"^\d+(ms|s|m|h)$"},
                    "timeout": {"type": "string", "pattern": r"^\d+(ms|s|m|h)$"},
                    "start_period": {"type": "string", "pattern": r"^\d+(ms|s|m|h)$"},
                    "retries": {"type": "integer", "minimum": 1}}},
            }}},
        "volumes": {"type": "object", "additionalProperties": {"type": ["object", "null"]}},
    },
}


def load(name: str):
    return yaml.safe_load((EXAMPLES / name).read_text("utf-8"))


def test_compose_file_has_the_structure_compose_requires():
    compose = load("docker-compose.yml")
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in Draft202012Validator(COMPOSE).iter_errors(compose)]
    assert not errors, errors
    services, volumes = compose["services"], set(compose.get("volumes") or {})
    for name, service in services.items():
        for dep in service.get("depends_on", {}):
            assert dep in services, f"{name} depends on unknown service {dep}"
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if not source.startswith((".", "/")):
                assert source in volumes, f"{name}: named volume {source} is not declared"
            else:
                assert (EXAMPLES / source).resolve().exists(), f"{name}: {source} does not exist"
        if "build" in service:
            assert (EXAMPLES / service["build"]["context"] / service["build"]["dockerfile"]).resolve().is_file()


def test_compose_rejects_what_it_should():
    """The schema above is no rubber stamp: a misspelt key and a wrong condition fail."""
    validator = Draft202012Validator(COMPOSE)
    bad = load("docker-compose.yml")
    bad["services"]["crm"]["healtcheck"] = bad["services"]["crm"].pop("healthcheck")
    bad["services"]["pbx-sim"]["depends_on"]["crm"]["condition"] = "healthy"
    assert len(list(validator.iter_errors(bad))) >= 2


def test_github_actions_workflow_structure():
    gh = load("github-actions.yml")
    on = gh.get("on", gh.get(True))            # YAML 1.1 reads the key `on` as true
    assert {"push", "pull_request"} <= set(on)
    for name, job in gh["jobs"].items():
        assert isinstance(job["runs-on"], str), name
        for need in [job["needs"]] if isinstance(job.get("needs"), str) else job.get("needs", []):
            assert need in gh["jobs"], f"{name} needs unknown job {need}"
        for step in job["steps"]:
            assert ("uses" in step) != ("run" in step), f"{name}: a step has exactly one of uses/run: {step}"
        for service in job.get("services", {}).values():
            assert set(service) <= {"image", "credentials", "ports", "env", "options", "volumes"}
    job = gh["jobs"]["crm-contract"]
    steps = [s.get("run", "") for s in job["steps"]]
    order = ["pbx-sim wait", "ci_seed.py", "pbx-sim accounts", "pytest examples/crm_tests", "pbx-sim check-crm"]
    positions = [next(i for i, run in enumerate(steps) if word in run) for word in order]
    assert positions == sorted(positions), "wait, seed, credentials, the CRM's tests, check-crm: in this order"
    assert '>> "$GITHUB_ENV"' in steps[positions[2]] and "--junit" in steps[positions[4]]


def test_gitlab_ci_structure():
    gl = load("gitlab-ci.yml")
    stages = gl["stages"]
    jobs = {k: v for k, v in gl.items() if isinstance(v, dict) and "script" in v}
    assert set(jobs) == {"pbx-sim-image", "crm-contract"}
    for name, job in jobs.items():
        assert job["stage"] in stages and all(isinstance(line, str) for line in job["script"]), name
    script = jobs["crm-contract"]["script"]
    order = ["pbx-sim wait", "ci_seed.py", "pbx-sim accounts", "pytest examples/crm_tests", "pbx-sim check-crm"]
    positions = [next(i for i, line in enumerate(script) if word in line) for word in order]
    assert positions == sorted(positions)
    assert jobs["crm-contract"]["artifacts"]["reports"]["junit"] == ["crm-tests.xml", "crm-vats.xml"]


# ---- the Python and Node recipes compile ------------------------------------------------------

@pytest.mark.parametrize("path", sorted(EXAMPLES.rglob("*.py")), ids=lambda p: str(p.relative_to(EXAMPLES)))
def test_python_recipes_compile(path):
    compile(path.read_text("utf-8"), str(path), "exec")


def test_testcontainers_recipes_use_the_image_as_documented():
    py = (EXAMPLES / "testcontainers" / "test_with_testcontainers.py").read_text("utf-8")
    assert "from testcontainers.core.container import DockerContainer" in py and ".with_exposed_ports(8080)" in py
    js = (EXAMPLES / "testcontainers" / "pbx-sim.test.mjs").read_text("utf-8")
    assert 'import { GenericContainer, Wait } from "testcontainers"' in js and "Wait.forHealthCheck()" in js
    for text in (py, js):
        assert "PBX_SIM_ADMIN_TOKEN" in text, "the image refuses an open admin API: the recipe gives a token"


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_node_recipe_is_valid_javascript():
    out = subprocess.run(["node", "--check", str(EXAMPLES / "testcontainers" / "pbx-sim.test.mjs")],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr


# ---- the pipeline after "start the image", on loopback -------------------------------------------

async def test_the_pipeline_wait_seed_accounts_crm_tests_check_crm(aiohttp_server, sim, tmp_path):
    sim.config.server.admin_token = "ci-admin"
    server = TestServer(make_app(sim))
    await server.start_server(access_log=None)
    crm = await aiohttp_server(sample_crm.make_app("ci-crm"))
    url = str(server.make_url("")).rstrip("/")
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("PBX_SIM_")},
           "PBX_SIM_URL": url, "PBX_SIM_ADMIN_TOKEN": "ci-admin", "PBX_SIM_ACCOUNT": "ci-vats",
           "CRM_URL_FROM_SIM": str(crm.make_url("/pbx")), "CRM_TOKEN": "ci-crm"}
    pbx_sim = [sys.executable, "-m", "simulator"]

    async def run(*args: str, extra_env: dict | None = None) -> tuple[int, str]:
        proc = await asyncio.create_subprocess_exec(*args, env={**env, **(extra_env or {})}, cwd=str(ROOT),
                                                    stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        out, _ = await asyncio.wait_for(proc.communicate(), 120)
        return proc.returncode, out.decode()

    code, out = await run(*pbx_sim, "wait", "--url", url, "--timeout", "30s")
    assert code == 0, out
    code, out = await run(sys.executable, str(EXAMPLES / "ci_seed.py"), "--wait", str(crm.make_url("/health")))
    assert code == 0, out
    code, out = await run(*pbx_sim, "accounts", "--url", url, "--env", "--account", "ci-vats")
    assert code == 0, out
    accounts_env = dict(line.split("=", 1) for line in out.splitlines())
    assert accounts_env["PBX_SIM_CI_VATS_API_KEY"] == sim.accounts["ci-vats"].credentials["api_key"]
    code, out = await run(sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir",
                          str(EXAMPLES / "crm_tests"), str(EXAMPLES / "crm_tests"),
                          "--junit-xml", str(tmp_path / "crm-tests.xml"), extra_env=accounts_env)
    assert code == 0 and "3 passed" in out, out
    code, out = await run(*pbx_sim, "check-crm", "--provider", "vats", "--url", str(crm.make_url("/pbx")),
                          "--crm-token", "ci-crm", "--junit", str(tmp_path / "crm-vats.xml"))
    assert code == 0, out
    assert (tmp_path / "crm-vats.xml").read_text().startswith("<?xml")
    # without the credentials the CRM's tests say what is missing
    code, out = await run(sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir",
                          str(EXAMPLES / "crm_tests"), str(EXAMPLES / "crm_tests"))
    assert code == 1 and "PBX_SIM_CI_VATS_BASE_URL is not set" in out
    await server.close()
