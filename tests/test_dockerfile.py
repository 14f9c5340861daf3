"""The Dockerfile's rules, read from the file (no Docker engine on the build machines): two
stages, the wheel built in the first and installed (not editable) into a slim runtime, a
non-root user, a HEALTHCHECK by the simulator's own command, the PBX_SIM_* environment that
serve honours, and a volume for the state file. The entry point script runs here with sh."""

from __future__ import annotations

import os
import re
import shlex
import stat
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from click.testing import CliRunner

from simulator import cli

ROOT = Path(__file__).resolve().parents[1]
ENTRYPOINT = ROOT / "docker" / "entrypoint.sh"


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [args for kw, args in self.instructions if kw == keyword]


def parse_dockerfile(text: str) -> list[Stage]:
    """Instructions per stage: comments dropped, continuation lines joined."""
    stages: list[Stage] = []
    logical, pending = [], ""
    for line in text.splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if pending and line.lstrip().startswith("#"):
            continue
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    assert not pending, "the Dockerfile ends in a continuation"
    for line in logical:
        keyword, _, args = line.strip().partition(" ")
        keyword, args = keyword.upper(), " ".join(args.split())
        if keyword == "FROM":
            m = re.fullmatch(r"(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?", args, re.IGNORECASE)
            assert m, f"cannot read FROM {args}"
            stages.append(Stage(m.group(1), m.group(2)))
        else:
            assert stages, f"{keyword} before the first FROM"
            stages[-1].instructions.append((keyword, args))
    return stages


def env_of(stage: Stage) -> dict[str, str]:
    env = {}
    for args in stage.all("ENV"):
        for token in shlex.split(args):
            name, _, value = token.partition("=")
            env[name] = value
    return env


@pytest.fixture(scope="module")
def stages() -> list[Stage]:
    return parse_dockerfile((ROOT / "Dockerfile").read_text("utf-8"))


@pytest.fixture(scope="module")
def runtime(stages) -> Stage:
    return stages[-1]


def test_the_parser_reads_continuations_and_stages():
    parsed = parse_dockerfile("FROM a AS b\n# note\nRUN x \\\n    # inside\n    && y\nFROM c\nENV A=1 \\\n  B='2 3'\n")
    assert [(s.base, s.name) for s in parsed] == [("a", "b"), ("c", None)]
    assert parsed[0].instructions == [("RUN", "x && y")]
    assert env_of(parsed[1]) == {"A": "1", "B": "2 3"}


def test_two_stages_the_wheel_built_then_installed_into_a_slim_runtime(stages, runtime):
    assert len(stages) >= 2
    build = stages[0]
    assert build.name, "the build stage is named, for COPY --from"
    assert any(re.search(r"\bpip wheel\b.*--wheel-dir (\S+)", r) or "python -m build" in r for r in build.all("RUN"))
    assert re.fullmatch(r"python:3\.11-slim(@sha256:\w+)?", runtime.base), runtime.base
    copies = runtime.all("COPY")
    assert any(c.startswith(f"--from={build.name} ") for c in copies), "the runtime copies the build stage's wheel"
    installs = [r for r in runtime.all("RUN") if "pip install" in r]
    assert installs and all(".whl" in r for r in installs)
    for stage in stages:
        for run in stage.all("RUN"):
            assert not re.search(r"pip install\b.*(\s-e\s|--editable)", run), f"editable install: {run}"
    sources = ("simulator", "schemas", "scenarios", ".", "pyproject.toml")
    for copy in copies:
        if copy.startswith("--from="):
            continue
        what = [a for a in copy.split() if not a.startswith("--")][:-1]
        assert not set(what) & set(sources), f"the runtime copies sources: COPY {copy}"


def test_runs_as_a_non_root_user(runtime):
    users = runtime.all("USER")
    assert users, "no USER in the runtime stage"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0")
    created = " ".join(runtime.all("RUN"))
    assert re.search(rf"useradd\b[^&;]*\b{re.escape(user)}\b", created), f"user {user} is not created"
    keywords = [kw for kw, _ in runtime.instructions]
    last_run = max(i for i, kw in enumerate(keywords) if kw == "RUN")
    assert keywords.index("USER") > last_run, "USER comes after every RUN (installs as root, runs as pbx)"


def test_healthcheck_is_pbx_sim_wait(runtime):
    checks = runtime.all("HEALTHCHECK")
    assert len(checks) == 1
    command = checks[0].split(" CMD ", 1)[1]
    words = shlex.split(command.replace("${PBX_SIM_PORT:-8080}", "8080"))
    assert words[:2] == ["pbx-sim", "wait"]
    # the command and its options exist: pbx-sim wait parses them (and --help shows them)
    help_text = CliRunner().invoke(cli.main, ["wait", "--help"]).output
    for option in (w for w in words[2:] if w.startswith("--")):
        assert option in help_text, option
    assert "--url" in words and words[words.index("--url") + 1] == "http://127.0.0.1:8080"
    timeout = re.search(r"--timeout=(\d+)s", checks[0])
    assert timeout and int(timeout.group(1)) > 3, "docker's own timeout leaves wait's 3 s room"


def test_the_environment_is_what_serve_reads(runtime, monkeypatch):
    env = env_of(runtime)
    sim_env = {k: v for k, v in env.items() if k.startswith("PBX_SIM_")}
    assert sim_env["PBX_SIM_HOST"] == "0.0.0.0" and sim_env["PBX_SIM_PORT"] == "8080"
    seen = []

    async def fake_serve(cfg, state_file=None, snapshot_every=None):
        seen.append((cfg, state_file))

    monkeypatch.setattr(cli, "_serve", fake_serve)
    for var in [v for v in os.environ if v.startswith("PBX_SIM_")]:
        monkeypatch.delenv(var)
    # the entry point gives serve a token when none is set (0.0.0.0 without one is refused)
    result = CliRunner().invoke(cli.main, ["serve"], env={**sim_env, "PBX_SIM_ADMIN_TOKEN": "from-entrypoint"})
    assert result.exit_code == 0, result.output
    cfg, state_file = seen[0]
    assert cfg.server.host == "0.0.0.0" and cfg.server.port == 8080
    assert cfg.server.clock == sim_env["PBX_SIM_CLOCK"]
    assert state_file == sim_env["PBX_SIM_STATE_FILE"]
    # every PBX_SIM_* the image sets is one serve reads: its --help names each
    help_text = CliRunner().invoke(cli.main, ["serve", "--help"]).output.replace("\n", " ")
    for name in sim_env:
        assert name in help_text, f"{name} is set in the image but serve --help does not name it"


def test_the_state_file_is_on_a_volume(runtime):
    state = env_of(runtime)["PBX_SIM_STATE_FILE"]
    volumes = [v for args in runtime.all("VOLUME") for v in (shlex.split(args.strip("[]").replace(",", " ")))]
    assert any(Path(state).parent == Path(v) for v in volumes), (state, volumes)
    assert re.search(rf"chown\s+\S+\s+{re.escape(str(Path(state).parent))}", " ".join(runtime.all("RUN"))), \
        "the volume's folder belongs to the user (a new volume copies its owner)"


def test_entrypoint_and_command(runtime):
    entry = runtime.all("ENTRYPOINT")[-1]
    assert entry == '["pbx-sim-entrypoint"]'
    assert runtime.all("CMD")[-1] == '["pbx-sim", "serve"]'
    assert any("docker/entrypoint.sh /usr/local/bin/pbx-sim-entrypoint" in c and "--chmod=0755" in c
               for c in runtime.all("COPY"))
    assert ENTRYPOINT.stat().st_mode & stat.S_IXUSR


def test_dockerignore_keeps_what_the_build_copies(stages):
    ignored = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")]
    copied = [a for s in stages for c in s.all("COPY") if not c.startswith("--from=")
              for a in c.split()[:-1] if not a.startswith("--")]
    for path in copied:
        top = path.strip("./").split("/")[0]
        assert top not in ignored, f"{path} is copied but .dockerignore drops it"
        assert (ROOT / path).exists(), path
    for junk in (".venv", ".git", "build", "tests"):
        assert junk in ignored


# ---- the entry point script, run with sh ------------------------------------------------------

@pytest.fixture
def fake_pbx_sim(tmp_path):
    """A pbx-sim on PATH that prints its arguments and the admin token it got."""
    script = tmp_path / "pbx-sim"
    script.write_text('#!/bin/sh\necho "args: $*"\necho "token: ${PBX_SIM_ADMIN_TOKEN:-}"\n')
    script.chmod(0o755)
    return tmp_path


def entrypoint(bin_dir: Path, *args: str, **env: str) -> list[str]:
    environ = {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", **env}
    out = subprocess.run(["sh", str(ENTRYPOINT), *args], env=environ, capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    return out.stdout.splitlines()


def test_entrypoint_generates_and_prints_a_token_when_none_is_given(fake_pbx_sim):
    lines = entrypoint(fake_pbx_sim, "pbx-sim", "serve", "--port", "8080")
    printed = [line.split("=", 1)[1] for line in lines if line.startswith("PBX_SIM_ADMIN_TOKEN=")]
    assert len(printed) == 1 and len(printed[0]) >= 32
    assert lines[-2:] == ["args: serve --port 8080", f"token: {printed[0]}"]
    again = entrypoint(fake_pbx_sim, "pbx-sim", "serve")
    assert again[-1] != lines[-1], "a new token per container"


@pytest.mark.parametrize("args, env", [
    (["pbx-sim", "serve"], {"PBX_SIM_ADMIN_TOKEN": "given"}),
    (["pbx-sim", "serve", "--admin-token", "given"], {}),
    (["pbx-sim", "serve", "--admin-token=given"], {}),
    (["pbx-sim", "serve", "--insecure-admin"], {}),
    (["pbx-sim", "serve"], {"PBX_SIM_INSECURE_ADMIN": "1"}),
    (["pbx-sim", "serve"], {"PBX_SIM_INSECURE_ADMIN": "true"}),
    (["pbx-sim", "check-crm", "--provider", "vats"], {}),
])
def test_entrypoint_leaves_a_given_token_and_other_commands_alone(fake_pbx_sim, args, env):
    lines = entrypoint(fake_pbx_sim, *args, **env)
    assert not any("generated" in line for line in lines)
    assert lines == [f"args: {' '.join(args[1:])}", f"token: {env.get('PBX_SIM_ADMIN_TOKEN', '')}"]


def test_entrypoint_takes_options_alone_as_options_of_serve(fake_pbx_sim):
    lines = entrypoint(fake_pbx_sim, "--clock", "instant", PBX_SIM_ADMIN_TOKEN="given")
    assert lines == ["args: serve --clock instant", "token: given"]


def test_entrypoint_generates_a_token_when_insecure_admin_is_off(fake_pbx_sim):
    lines = entrypoint(fake_pbx_sim, "pbx-sim", "serve", PBX_SIM_INSECURE_ADMIN="0")
    assert any("generated" in line for line in lines)


def test_an_empty_state_file_variable_means_none(monkeypatch):
    """CI recipes set PBX_SIM_STATE_FILE="" for a fresh simulator every run."""
    seen = []

    async def fake_serve(cfg, state_file=None, snapshot_every=None):
        seen.append(state_file)

    monkeypatch.setattr(cli, "_serve", fake_serve)
    for var in [v for v in os.environ if v.startswith("PBX_SIM_")]:
        monkeypatch.delenv(var)
    assert CliRunner().invoke(cli.main, ["serve"], env={"PBX_SIM_STATE_FILE": ""}).exit_code == 0
    assert CliRunner().invoke(cli.main, ["serve"], env={"PBX_SIM_STATE_FILE": "/data/s.json",
                                                        "PBX_SIM_SNAPSHOT_EVERY": "60"}).exit_code == 0
    assert seen == [None, "/data/s.json"]
