"""Smoke test of the built wheel, run by ``make test`` with the python of a fresh virtual
environment that has only the wheel installed (not the checkout):

    build/smoke/bin/python tests/wheel_smoke.py REPO_ROOT

It checks what a new user meets first: the package data is the repository's sources byte for
byte, ``pbx-sim`` and ``python -m simulator`` start, the server answers health and serves
every OpenAPI document, a scenario runs (locally and inside the server), a CRM answer that
breaks its contract is flagged, and a schema missing from the installation stops the server
at start. Standard library only; every server it needs, it starts on loopback."""

from __future__ import annotations

import http.server
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from importlib import metadata, resources
from pathlib import Path

import simulator

REPO = Path(sys.argv[1]).resolve()
BIN = Path(sys.executable).parent
DATA = {"simulator.schemas": REPO / "schemas", "simulator.example_scenarios": REPO / "scenarios"}
NOT_DATA = {".py", ".md", ".pyc"}        # generators, notes: sources, not package data
PROBLEMS: list[str] = []


def check(ok: bool, what: str) -> None:
    print(("ok   " if ok else "FAIL ") + what, flush=True)
    if not ok:
        PROBLEMS.append(what)


def files_under(root) -> dict[str, bytes]:
    """relative path → bytes of every data file under a directory or Traversable."""
    found: dict[str, bytes] = {}

    def walk(node, prefix: str) -> None:
        for child in node.iterdir():
            name = f"{prefix}{child.name}"
            if child.is_dir():
                if child.name != "__pycache__":
                    walk(child, name + "/")
            elif Path(child.name).suffix not in NOT_DATA:
                found[name] = child.read_bytes()
    walk(root, "")
    return found


def run(*args: str, timeout: float = 120, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, **kw)


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def post_json(url: str, body: dict) -> tuple[int, dict]:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"null")


class ContractBreakingCrm(http.server.BaseHTTPRequestHandler):
    """A CRM that answers every webhook 200 with a body no contract allows."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = b'{"unexpected": true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


def start_server(cwd: str, *extra: str) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([str(BIN / "pbx-sim"), "serve", "--host", "127.0.0.1", "--port", "0",
                             "--clock", "instant", "--log-level", "WARNING", *extra],
                            cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 60
    for line in proc.stdout:
        if " listening on " in line:
            return proc, line.split(" listening on ", 1)[1].split()[0]
        if time.monotonic() > deadline:
            break
    proc.kill()
    raise SystemExit(f"FAIL pbx-sim serve did not start: {proc.stdout.read() if proc.stdout else ''}")


def main() -> int:
    work = tempfile.mkdtemp(prefix="pbx-sim-smoke-")
    os.chdir(work)       # nothing of the checkout on sys.path, not even for python -m
    installed = Path(simulator.__file__).resolve().parent
    check(installed != REPO / "simulator" and "site-packages" in installed.parts,
          f"simulator is imported from the installation ({installed})")

    # ---- package data: the sources, byte for byte, nothing missing, nothing extra ----------
    for package, source in DATA.items():
        shipped, wanted = files_under(resources.files(package)), files_under(source)
        missing, extra = sorted(set(wanted) - set(shipped)), sorted(set(shipped) - set(wanted))
        differ = sorted(n for n in set(wanted) & set(shipped) if wanted[n] != shipped[n])
        check(not missing, f"{package}: every file of {source.name}/ ships (missing: {missing})")
        check(not extra, f"{package}: nothing but {source.name}/ ships (extra: {extra})")
        check(not differ, f"{package}: the shipped files equal {source.name}/ (differ: {differ})")

    # ---- the commands start -------------------------------------------------------------------
    version = metadata.version("pbx-simulator")
    check(version == simulator.__version__, f"the distribution's version is __version__ ({version})")
    for cmd in ([str(BIN / "pbx-sim"), "--version"], [sys.executable, "-m", "simulator", "--version"]):
        out = run(*cmd, cwd=work)
        check(out.returncode == 0 and version in out.stdout, f"{' '.join(Path(c).name for c in cmd)}: {out.stdout.strip()}")
    listed = run(str(BIN / "pbx-sim"), "examples", cwd=work)
    names = [line.split()[0] for line in listed.stdout.splitlines() if line.strip()]
    check(listed.returncode == 0 and names == sorted(p.stem for p in (REPO / "scenarios").glob("*.yaml")),
          f"pbx-sim examples lists every example ({len(names)})")
    out = run(str(BIN / "pbx-sim"), "run", "--example", "01_incoming_answered", "--quiet", cwd=work)
    check(out.returncode == 0 and "4 passed" in out.stdout,
          f"pbx-sim run --example 01_incoming_answered (every provider): {out.stdout.strip().splitlines()[-1:]}")

    # ---- a CRM that breaks its contract is flagged ------------------------------------------
    crm = http.server.ThreadingHTTPServer(("127.0.0.1", 0), ContractBreakingCrm)
    threading.Thread(target=crm.serve_forever, daemon=True).start()
    crm_url = f"http://127.0.0.1:{crm.server_address[1]}/hook"
    out = run(str(BIN / "pbx-sim"), "check-crm", "--provider", "vats", "--url", crm_url,
              "--junit", "crm.xml", cwd=work)
    check(out.returncode == 1 and "contact_name missing" in out.stdout and Path(work, "crm.xml").is_file(),
          "pbx-sim check-crm flags a contact answer without contact_name (exit 1, JUnit written)")

    # ---- the server ---------------------------------------------------------------------------
    proc, base = start_server(work)
    try:
        out = run(str(BIN / "pbx-sim"), "wait", "--url", base, "--timeout", "30s", cwd=work)
        check(out.returncode == 0, f"pbx-sim wait --url {base}: {out.stdout.strip() or out.stderr.strip()}")
        status, body = get(f"{base}/_sim/health")
        check(status == 200 and json.loads(body)["status"] == "ok", f"GET /_sim/health: {status}")
        for name in ("admin", "t2", "vats", "phonet", "cloudpbx"):
            status, body = get(f"{base}/_sim/openapi/{name}.json")
            source = (REPO / "schemas" / "openapi" / f"{name}.json").read_bytes()
            check(status == 200 and body == source, f"GET /_sim/openapi/{name}.json: {status}, the source's bytes")
        status, body = get(f"{base}/_sim/ui")
        check(status == 200 and b"<html" in body.lower(), f"GET /_sim/ui (the inspector's templates): {status}")
        status, body = get(f"{base}/_sim/ui/static/app.js")
        check(status == 200 and body, f"GET /_sim/ui/static/app.js: {status}")
        status, body = get(f"{base}/_sim/ui/examples/06_transfer.yaml")
        check(status == 200 and body == (REPO / "scenarios" / "06_transfer.yaml").read_bytes(),
              f"GET /_sim/ui/examples/06_transfer.yaml: {status}")
        # 01 expects the CRM's answers to keep their contract (crm_answers: contract: true)
        scenario = (REPO / "scenarios" / "01_incoming_answered.yaml").read_text("utf-8")
        status, answer = post_json(f"{base}/_sim/scenarios/run", {"scenario": scenario, "provider": "vats"})
        check(status == 200 and all(r["passed"] for r in answer["reports"]),
              f"POST /_sim/scenarios/run (01_incoming_answered, vats, the built-in CRM): {status}")
        status, answer = post_json(f"{base}/_sim/scenarios/run", {"scenario": scenario, "provider": "vats",
                                                                  "crm_url": crm_url})
        violations = [v for r in answer.get("reports", []) for v in json.dumps(r, ensure_ascii=False).split('"')
                      if "contact_name missing" in v]
        check(status == 200 and not all(r["passed"] for r in answer["reports"]) and violations,
              "the same scenario with the contract-breaking CRM fails with 'contact_name missing'")
        out = run(str(BIN / "pbx-sim"), "accounts", "--url", base, "--env", cwd=work)
        check(out.returncode == 0 and "PBX_SIM_VATS_API_KEY=" in out.stdout, "pbx-sim accounts --env")
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            rest = proc.communicate(timeout=30)[0]
        except subprocess.TimeoutExpired:
            proc.kill()
            rest = proc.communicate()[0]
        crm.shutdown()
    check(proc.returncode == 0 and "stopping" in rest, f"SIGTERM stops the server (exit {proc.returncode})")

    # ---- a schema missing from the installation stops the server at start --------------------
    contact = Path(str(resources.files("simulator.schemas").joinpath("crm", "vats", "contact.json")))
    saved = contact.read_bytes()
    contact.unlink()
    try:
        out = run(str(BIN / "pbx-sim"), "serve", "--port", "0", cwd=work, timeout=60)
        check(out.returncode == 1 and "crm/vats/contact.json is missing" in out.stderr
              and "Traceback" not in out.stderr,
              f"serve refuses to start without crm/vats/contact.json: {out.stderr.strip()[:200]}")
        out = run(str(BIN / "pbx-sim"), "run", "--example", "01", "--provider", "vats", cwd=work)
        check(out.returncode == 1 and "crm/vats/contact.json is missing" in out.stdout,
              "pbx-sim run without it: an error, not a pass (exit 1)")
    finally:
        contact.write_bytes(saved)

    print(f"wheel smoke test: {'FAILED: ' + str(len(PROBLEMS)) + ' problem(s)' if PROBLEMS else 'passed'}")
    return 1 if PROBLEMS else 0


if __name__ == "__main__":
    sys.exit(main())
