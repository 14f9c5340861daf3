"""Snapshots: ``GET``/``PUT /_sim/snapshot``, ``Snapshot`` and the ``--state-file``."""

from __future__ import annotations

import asyncio
import copy
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from simulator.config import parse_config
from simulator.core.clock import Clock
from simulator.core.engine import CallScript
from simulator.core.models import (
    BlacklistEntry,
    CallRecord,
    CompanyNumber,
    Contact,
    Customer,
    DepartmentMember,
    Employee,
    Note,
    PersonalManager,
    Route,
    SimCard,
)
from simulator.sim import Simulator
from simulator.snapshot import FORMAT, VERSION, Snapshot, SnapshotError, StateFile

from conftest import small_config


def picture(sim: Simulator) -> dict:
    """Everything a snapshot must bring back, per account, as JSON."""
    return copy.deepcopy({aid: {**acc.public(), "state": acc.state.to_json(),
                               "provider_data": acc.state.provider_data, "config": acc.config.model_dump()}
                          for aid, acc in sim.accounts.items()})


async def enrich(sim: Simulator) -> None:
    """Put every kind of thing a snapshot holds into the vats account."""
    acc = sim.account("vats")
    st = acc.state
    eid = st.next_id("employee", 1000)
    st.employees[eid] = Employee(id=eid, login="zoe", ext="777", name="Зоя Новая", email="z@x.ru",
                                 extra={"vats": {"telnum": "74950000000"}}, dnd=True)
    dept = next(iter(st.departments.values()))
    dept.members.append(DepartmentMember(employee_id=eid, calls_enabled=False))
    st.numbers["74957770000"] = CompanyNumber(number="74957770000", name="IVR", route=Route(
        type="ivr", greeting="Нажмите 1", ivr_default="1",
        ivr={"1": Route(type="schedule", schedule={"mon": [(9 * 3600, 18 * 3600)]},
                        work=Route(type="department", target=dept.id), other=Route(type="voicemail")),
             "2": Route(type="employee", target="zoe")}))
    st.sims["79990001122"] = SimCard(number="79990001122", iccid="8970100", employee_id=eid)
    st.blacklist["7900800*"] = BlacklistEntry(number="7900800*", comment="спам", created_at=1.5,
                                              blocked_at=[10.0, 20.5])
    st.block_anonymous = True
    st.managers[99] = PersonalManager(id=99, employee_id=eid, customers=[Customer(1, "79001234567", "Клиент")])
    st.contacts[500] = Contact(id=500, name="ООО Ромашка", numbers=["79001234567"], fields={"inn": "7701"},
                               notes=[Note(id=1, text="перезвонить", created_at=3.0, updated_at=4.0, author_id=eid)])
    st.provider_data["vats"] = {"sessions": {"a": [1, 2]}, "gen": 3}
    acc.switches["crm_enabled"] = False
    acc.settings["record_calls"] = False
    acc.crm.url = "http://127.0.0.1:9/crm"
    sim.webhooks.allowed_urls.add(acc.crm.url)
    number = next(iter(st.numbers))
    sim.place_call("vats", "in", "79001234567", number, script=CallScript(outcome="answered", ring_s=2, talk_s=7))
    await sim.clock.advance(60)
    assert len(st.cdrs) == 1


async def change(sim: Simulator) -> None:
    acc = sim.account("vats")
    acc.state.employees.clear()
    acc.state.blacklist["7900800*"].blocked_at.append(99.0)
    acc.state.numbers["74957770000"].route.ivr["1"].work.target = "other"
    acc.state.provider_data["vats"]["gen"] = 4
    acc.state.next_id("employee")
    acc.switches["crm_enabled"] = True
    sim.regenerate("vats")
    number = next(iter(acc.state.numbers))
    sim.place_call("vats", "in", "79005550000", number, script=CallScript(outcome="missed"))
    await sim.clock.advance(600)


# ---- round trip ------------------------------------------------------------------------------

async def test_export_change_import_gives_identical_state(client, sim):
    await enrich(sim)
    before = picture(sim)
    resp = await client.get("/_sim/snapshot?secrets=1")
    assert resp.status == 200 and resp.content_type == "application/json"
    exported = await resp.read()

    await change(sim)
    assert (await client.post("/_sim/accounts", json={"id": "extra", "provider": "t2"})).status == 201
    assert picture(sim) != before                       # the test can tell them apart

    resp = await client.put("/_sim/snapshot", data=exported)
    assert resp.status == 200, await resp.text()
    result = await resp.json()
    assert result["restored"] == ["t2", "vats", "phonet", "cloudpbx"] and result["removed"] == ["extra"]
    assert picture(sim) == before
    # and the restored objects are the domain's, not dicts
    vats = sim.account("vats").state
    assert vats.numbers["74957770000"].route.ivr["1"].work.target == next(iter(vats.departments))
    assert vats.numbers["74957770000"].route.ivr["1"].schedule == {"mon": [(32400, 64800)]}
    assert vats.blacklist_match("79008001234").blocked_at == [10.0, 20.5]
    assert vats.cdrs.get(next(iter(vats.cdrs)).id).legs and isinstance(next(iter(vats.cdrs)).legs[0], tuple)
    assert vats.find_employee("zoe").extra == {"vats": {"telnum": "74950000000"}}
    # a second export of the restored simulator is the same document (but for the clock)
    again = json.loads(await (await client.get("/_sim/snapshot?secrets=1")).read())
    first = json.loads(exported)
    assert again["accounts"] == first["accounts"]


async def test_a_snapshot_masks_secrets_unless_asked_and_restoring_it_keeps_them(client, sim):
    data = json.loads(await (await client.get("/_sim/snapshot")).read())
    assert data["secrets"] == "masked"
    vats = next(a for a in data["accounts"] if a["id"] == "vats")
    real = sim.account("vats")
    assert vats["credentials"] == {"api_key": "****" + real.credentials["api_key"][-4:]}
    assert vats["crm"]["crm_token"] == "****" and vats["config"]["crm"]["crm_token"] == "****"
    assert real.credentials["api_key"] not in json.dumps(data)
    keys = {a: dict(sim.account(a).credentials) for a in sim.accounts}
    data["accounts"].append({**vats, "id": "copy", "config": {**vats["config"], "id": "copy"}})
    resp = await client.put("/_sim/snapshot", json=data)
    assert resp.status == 200, await resp.text()
    assert {a: sim.account(a).credentials for a in keys} == keys        # their own, not the masks
    assert sim.account("vats").crm.crm_token == "vats-crm-token"
    copy = sim.account("copy").credentials["api_key"]
    assert not copy.startswith("****") and len(copy) >= 16              # a new account: new ones
    listed = await (await client.get("/crmapi/v1/users", headers={"X-API-KEY": copy})).json()
    assert listed["items"]


async def test_document_shape(client, sim):
    data = json.loads(await (await client.get("/_sim/snapshot?secrets=1")).read())
    assert data["format"] == FORMAT and data["version"] == VERSION
    assert data["generator"].startswith("pbx-simulator ")
    assert data["seed"] == 7 and set(data["clock"]) == {"now", "mode", "timestamp"}
    account = data["accounts"][1]
    assert set(account) == {"id", "provider", "name", "domain", "config", "credentials", "crm",
                            "settings", "switches", "state"}
    assert account["crm"]["crm_token"] == "vats-crm-token" and account["credentials"]["api_key"]
    assert {"employees", "departments", "numbers", "sims", "blacklist", "block_anonymous", "managers",
            "contacts", "cdrs", "cdr_count", "next_ids", "provider_data"} <= set(account["state"])


async def test_provider_data_that_json_would_change_is_left_out_and_listed(sim):
    pd = sim.account("t2").state.provider_data
    pd.update(ok={"tokens": ["a", "b"]}, int_keys={1: "x"}, tuple=(1, 2), obj=object())
    snap = Snapshot.take(sim)
    t2 = snap.data["accounts"][0]
    assert t2["state"]["provider_data"] == {"ok": {"tokens": ["a", "b"]}}
    assert [s for s in snap.data["skipped"] if s.startswith("t2.")] == [
        "t2.provider_data.int_keys", "t2.provider_data.tuple", "t2.provider_data.obj"]
    pd.clear()
    await Snapshot.parse(snap.to_bytes()).restore(sim)
    assert sim.account("t2").state.provider_data == {"ok": {"tokens": ["a", "b"]}}


async def test_one_snapshot_restores_many_times_with_fresh_objects(sim):
    snap = Snapshot.take(sim)
    before = picture(sim)
    for _ in range(2):
        await snap.restore(sim)
        sim.account("phonet").state.employees.clear()       # the restored objects are changed ...
    await snap.restore(sim)
    assert picture(sim) == before                            # ... and the snapshot is not


# ---- refusing bad ones -----------------------------------------------------------------------

def _good(sim) -> dict:
    return json.loads(Snapshot.take(sim).to_bytes())


BAD = {
    "not json": (lambda d: b"{\"format\": ", "corrupt, not valid JSON"),
    "empty": (lambda d: b"  ", "empty"),
    "binary": (lambda d: b"\xff\xfe\x00", "not UTF-8"),
    "array": (lambda d: b"[]", "not a pbx-simulator snapshot"),
    "foreign": (lambda d: json.dumps({"format": "something-else", "accounts": []}).encode(),
                "not a pbx-simulator snapshot"),
    "no marker": (lambda d: json.dumps({k: v for k, v in d.items() if k != "format"}).encode(),
                  "not a pbx-simulator snapshot"),
    "newer": (lambda d: json.dumps({**d, "version": 99}).encode(), "version 99 was written by a newer"),
    "version text": (lambda d: json.dumps({**d, "version": "1"}).encode(), "no valid \"version\""),
    "unknown field": (lambda d: json.dumps({**d, "extra": 1}).encode(), "extra: unknown field"),
    "no accounts": (lambda d: json.dumps({k: v for k, v in d.items() if k != "accounts"}).encode(),
                    "accounts: Field required"),
    "bad provider": (lambda d: _edit(d, lambda a: a.update(provider="nokia")), "accounts.0.provider"),
    "bad employee id": (lambda d: _edit(d, lambda a: a["state"]["employees"][0].update(id="x")),
                        "accounts.0 (t2).state.employees.0.id"),
    "truncated cdrs": (lambda d: _edit(d, lambda a: a["state"].update(cdr_count=5)), "cdr_count says 5"),
    "duplicate employee": (lambda d: _edit(d, lambda a: a["state"]["employees"].append(a["state"]["employees"][0])),
                           "two items have the same id"),
    "config of another": (lambda d: _edit(d, lambda a: a["config"].update(id="zzz")), "config names account 'zzz'"),
    "twice": (lambda d: json.dumps({**d, "accounts": d["accounts"] + d["accounts"][:1]}).encode(),
              "account 't2' appears twice"),
    "bad crm url": (lambda d: _edit(d, lambda a: a["crm"].update(url="ftp://x")), "crm.url"),
}


def _edit(d: dict, fn) -> bytes:
    d = json.loads(json.dumps(d))
    fn(d["accounts"][0])
    return json.dumps(d).encode()


@pytest.mark.parametrize("case", list(BAD))
async def test_bad_import_is_400_with_a_message_and_changes_nothing(client, sim, case):
    make, message = BAD[case]
    body = make(_good(sim))
    await (await client.post("/_sim/accounts", json={"id": "extra", "provider": "t2"})).read()
    before = picture(sim)
    resp = await client.put("/_sim/snapshot", data=body)
    assert resp.status == 400
    error = (await resp.json())["error"]
    assert message in error and "Traceback" not in error
    assert picture(sim) == before


async def test_bad_query_values(client):
    assert (await client.put("/_sim/snapshot?clock=sideways", data=b"{}")).status == 400


# ---- clock and accounts on import ------------------------------------------------------------

async def test_clock_forward_exact_keep(client, sim):
    exported = await (await client.get("/_sim/snapshot")).read()
    taken = sim.clock.timestamp()
    await sim.clock.advance("2h")
    later = sim.clock.timestamp()
    for mode, expected in (("forward", later), ("keep", later), ("exact", taken)):
        resp = await client.put(f"/_sim/snapshot?clock={mode}", data=exported)
        assert resp.status == 200
        assert sim.clock.timestamp() == expected, mode
    # forward moves a clock that is behind the snapshot up to it
    await client.put("/_sim/snapshot?clock=exact", data=exported)
    ahead = json.loads(exported)
    ahead["clock"]["timestamp"] = taken + 3600
    await client.put("/_sim/snapshot", data=json.dumps(ahead).encode())
    assert sim.clock.timestamp() == taken + 3600


async def test_keep_others_and_reset_after_import(client, sim):
    await (await client.post("/_sim/accounts", json={
        "id": "later", "provider": "vats", "seed": {"generate": {"employees": 3, "calls": 0}}})).read()
    exported = await (await client.get("/_sim/snapshot")).read()
    # a fresh simulator without "later" takes it from the snapshot, configuration included
    fresh = Simulator(parse_config({"server": {"seed": 7}, "accounts": [
        {"id": "mine", "provider": "t2", "seed": {"generate": {"calls": 0}}}]}), Clock("manual"))
    await fresh.start()
    try:
        result = await Snapshot.parse(exported).restore(fresh, keep_others=True)
        assert result["kept"] == ["mine"] and "later" in result["restored"]
        assert list(fresh.accounts)[-1] == "mine"
        seeded = fresh.account("later").state.to_json()
        fresh.account("later").state.employees.clear()
        await fresh.reset("later")                     # back to the seed of its configuration
        assert fresh.account("later").state.to_json()["employees"] == seeded["employees"]
    finally:
        await fresh.close()


async def test_import_hangs_up_live_calls_and_allows_the_snapshot_crm(client, sim):
    sim.account("vats").crm.url = "http://127.0.0.1:9/from-snapshot"
    exported = Snapshot.take(sim).to_bytes()
    sim.webhooks.allowed_urls.clear()
    number = next(iter(sim.account("vats").state.numbers))
    sim.place_call("vats", "in", "79001112233", number, script=CallScript(ring_s=30))
    await sim.clock.advance(1)
    assert sim.engine.live_calls("vats")
    resp = await client.put("/_sim/snapshot", data=exported)
    assert resp.status == 200
    await sim.clock.advance(1)
    assert not sim.engine.live_calls("vats")
    assert sim.webhooks.allowed("http://127.0.0.1:9/from-snapshot")


# ---- the state file --------------------------------------------------------------------------

async def test_state_file_save_and_load(tmp_path, sim):
    path = tmp_path / "state.json"
    state = StateFile(path)
    assert "does not exist yet" in await state.load(sim)
    await enrich(sim)
    before = picture(sim)
    await state.save(sim)
    assert path.is_file() and (path.stat().st_mode & 0o777) == 0o600       # it holds credentials
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]          # no temp file left
    await change(sim)
    message = await StateFile(path).load(sim)
    assert "state loaded from" in message and "4 account(s)" in message
    assert picture(sim) == before


@pytest.mark.parametrize("content, message", [
    (b"{\"format\": \"pbx-simulator/snapshot\", \"vers", "corrupt, not valid JSON"),
    (b"", "empty"),
    (b"{\"hello\": \"world\"}", "not a pbx-simulator snapshot"),
])
async def test_state_file_refuses_corrupt_or_foreign(tmp_path, sim, content, message):
    path = tmp_path / "state.json"
    path.write_bytes(content)
    before = picture(sim)
    with pytest.raises(SnapshotError, match=re.escape(message)) as err:
        await StateFile(path).load(sim)
    assert str(path) in str(err.value)
    assert path.read_bytes() == content and picture(sim) == before


async def test_state_file_in_a_missing_directory_or_a_directory(tmp_path, sim):
    with pytest.raises(SnapshotError, match="does not exist"):
        await StateFile(tmp_path / "nope" / "state.json").load(sim)
    with pytest.raises(SnapshotError, match="is a directory"):
        await StateFile(tmp_path).load(sim)


async def test_write_is_atomic(tmp_path, sim, monkeypatch):
    path = tmp_path / "state.json"
    await StateFile(path).save(sim)
    old = path.read_bytes()
    sim.account("t2").name = "changed"

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError):
        await StateFile(path).save(sim)
    assert path.read_bytes() == old
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]


async def test_periodic_writer_runs_on_real_time_and_leaves_the_clock_alone(tmp_path, sim):
    path = tmp_path / "state.json"
    state = StateFile(path, every=0.05)
    at = sim.clock.timestamp()
    state.start(sim)
    for _ in range(200):           # real time by design; a loaded machine writes slower
        if state.saves >= 2:
            break
        await asyncio.sleep(0.05)
    assert state.saves >= 2 and path.is_file()
    assert sim.clock.timestamp() == at and not sim.clock._sleepers
    sim.account("t2").name = "last words"
    await state.stop(sim)
    saved = Snapshot.read(path).data
    assert saved["accounts"][0]["name"] == "last words"


async def test_periodic_writer_in_instant_mode_does_not_run_the_clock(tmp_path):
    sim = Simulator(parse_config(small_config(clock="instant")))
    await sim.start()
    try:
        state = StateFile(tmp_path / "s.json", every=0.05)
        at = sim.clock.timestamp()
        state.start(sim)
        await asyncio.sleep(0.3)
        await state.stop(sim)
        assert state.saves >= 3 and sim.clock.timestamp() == at
    finally:
        await sim.close()


# ---- the command line ------------------------------------------------------------------------

CLI_CONFIG = """
server: {seed: 3}
accounts:
  - {id: vats, provider: vats, seed: {generate: {employees: 2, numbers: 1, calls: 3}}}
"""


def _start(config: Path, state: Path, *extra: str) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "simulator", "serve", "--config", str(config), "--port", "0",
         "--clock", "manual", "--state-file", str(state), *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    lines = []
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        match = re.search(r"listening on (http://\S+)", line)
        if match:
            return proc, match.group(1)
    proc.kill()
    raise AssertionError("simulator did not start: " + "".join(lines) + proc.stderr.read())


def _http(method: str, url: str, body: dict | None = None) -> dict:
    req = urllib.request.Request(url, method=method, data=json.dumps(body).encode() if body else None,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())


def test_serve_keeps_state_across_a_restart(tmp_path):
    config = tmp_path / "sim.yaml"
    config.write_text(CLI_CONFIG)
    state = tmp_path / "state.json"
    proc, base = _start(config, state)
    try:
        _http("PATCH", base + "/_sim/accounts/vats", {"name": "kept", "switches": {"crm": False}})
        creds = _http("POST", base + "/_sim/accounts/vats/credentials/regenerate")["credentials"]
        _http("POST", base + "/_sim/clock", {"advance": "3h"})
        clock = _http("GET", base + "/_sim/clock")["now"]
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert f"state written to {state}" in out and state.is_file()

    proc, base = _start(config, state)
    try:
        account = _http("GET", base + "/_sim/accounts/vats?secrets=1")
        assert account["name"] == "kept" and account["switches"] == {"crm": False}
        assert account["credentials"] == creds
        assert _http("GET", base + "/_sim/clock")["now"] == clock
        assert len(_http("GET", base + "/_sim/accounts/vats/state")["cdrs"]) == 3
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0


def test_serve_refuses_a_corrupt_state_file_without_a_traceback(tmp_path):
    config = tmp_path / "sim.yaml"
    config.write_text(CLI_CONFIG)
    state = tmp_path / "state.json"
    state.write_text('{"format": "pbx-simulator/snapshot", "version": 1, "accounts": [')
    proc = subprocess.run([sys.executable, "-m", "simulator", "serve", "--config", str(config), "--port", "0",
                           "--state-file", str(state)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert "corrupt, not valid JSON" in proc.stderr and str(state) in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert state.read_text().endswith("[")                   # left as it was


def test_snapshot_every_needs_a_state_file():
    from click.testing import CliRunner

    from simulator.cli import main
    result = CliRunner().invoke(main, ["serve", "--snapshot-every", "5"])
    assert result.exit_code == 2 and "--snapshot-every needs --state-file" in result.output


async def test_snapshot_larger_than_the_body_limit_imports(client, sim):
    sim.config.server.body_limit = 2048          # far below any snapshot
    exported = await (await client.get("/_sim/snapshot")).read()
    assert len(exported) > 2048
    resp = await client.put("/_sim/snapshot", data=exported)
    assert resp.status == 200, await resp.text()
    assert (await client.post("/_sim/accounts", data=b"x" * 4096)).status == 413   # others still limited


async def test_drain_timeout_must_be_a_number(client):
    resp = await client.post("/_sim/webhooks/drain?timeout=abc")
    assert resp.status == 400 and "timeout" in (await resp.json())["error"]


# ---- reading a large snapshot off the loop -----------------------------------------------------

async def test_an_import_is_read_on_a_worker_thread_and_built_once(client, sim, monkeypatch):
    """``PUT /_sim/snapshot`` parses, checks and builds the accounts' states on a worker thread
    (seconds for a large one: the loop goes on answering), builds each state once (checking
    builds it; the restore uses that one), and leaves the cycle collector as it found it."""
    import gc
    import threading

    from simulator.core.store import AccountState

    exported = await (await client.get("/_sim/snapshot?secrets=1")).read()
    threads, built = [], []
    parse, from_json = Snapshot.parse.__func__, AccountState.from_json.__func__

    def spying_parse(cls, raw, source="snapshot"):
        threads.append(threading.current_thread())
        return parse(cls, raw, source)

    def counting_from_json(cls, data):
        built.append((threading.current_thread(), gc.isenabled()))
        return from_json(cls, data)

    monkeypatch.setattr(Snapshot, "parse", classmethod(spying_parse))
    monkeypatch.setattr(AccountState, "from_json", classmethod(counting_from_json))
    resp = await client.put("/_sim/snapshot", data=exported)
    assert resp.status == 200, await resp.text()
    assert threads and all(t is not threading.main_thread() for t in threads)
    assert len(built) == len(sim.accounts) == 4                  # once per account, not twice
    assert all(t is not threading.main_thread() and not collecting for t, collecting in built)
    assert gc.isenabled()
    # a refused document leaves the collector on too
    resp = await client.put("/_sim/snapshot", data=exported.replace(b'"format"', b'"formats"', 1))
    assert resp.status == 400 and gc.isenabled()


async def test_a_bad_call_record_past_the_first_slice_is_named_by_its_place(client, sim):
    from simulator.core.store import CDRS_PER_SLICE

    sim.account("vats").state.cdrs.add(CallRecord(id="c1", direction="in", caller="79101234567",
                                                  callee="74950000001", started_at=100.0, ended_at=160.0,
                                                  outcome="answered", answered_at=110.0))
    data = json.loads(await (await client.get("/_sim/snapshot?secrets=1")).read())
    index, image = next((i, a) for i, a in enumerate(data["accounts"]) if a["state"]["cdrs"])
    record = image["state"]["cdrs"][0]
    n = CDRS_PER_SLICE + 500
    image["state"]["cdrs"] = [{**record, "id": f"x{i}"} for i in range(n)]
    image["state"]["cdrs"][n - 1]["started_at"] = "soon"
    image["state"]["cdr_count"] = n
    before = picture(sim)
    resp = await client.put("/_sim/snapshot", data=json.dumps(data).encode())
    assert resp.status == 400
    assert f"accounts.{index} ({image['id']}).state.cdrs.{n - 1}.started_at" in (await resp.json())["error"]
    assert picture(sim) == before


async def test_restores_run_one_at_a_time(sim, monkeypatch):
    """Two imports at once: the second waits until the first has replaced the accounts (each
    retires and replaces accounts, and the states are built off the loop between)."""
    snap = Snapshot.take(sim)
    retire = Snapshot._retire
    inside, most = 0, 0

    async def slow_retire(sim_, account_id):
        nonlocal inside, most
        inside += 1
        most = max(most, inside)
        await asyncio.sleep(0)
        await retire(sim_, account_id)
        inside -= 1

    monkeypatch.setattr(Snapshot, "_retire", staticmethod(slow_retire))
    await asyncio.gather(snap.restore(sim, clock="keep"), snap.restore(sim, clock="keep"))
    assert most == 1 and sorted(sim.accounts) == sorted(a["id"] for a in snap.data["accounts"])
