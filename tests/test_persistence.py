"""The state file's rules, one test each: a kill -9 during a write leaves the old file or the new
(and the temporary file it leaves is removed at the next start); text that cannot be written
never reaches the state; a file that cannot be written is logged once per cause, tried again,
and never turns SIGTERM into a traceback; writing does not hold the event loop."""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
import signal
import subprocess
import sys
import textwrap
import time

import orjson

from conftest import small_config
from simulator.config import parse_config
from simulator.core.clock import Clock
from simulator.core.models import CallRecord
from simulator.sim import Simulator
from simulator.snapshot import Snapshot, StateFile

from test_snapshot import CLI_CONFIG, _http, _start

WRITER = textwrap.dedent("""
    import sys
    from simulator.snapshot import write_atomically
    path, pad = sys.argv[1], "x" * (24 << 20)
    for n in range(1, 1000):
        body = ('{"n": %d, "pad": "%s"}' % (n, pad)).encode()
        print("writing", n, flush=True)
        write_atomically(path, body)
""")


def test_kill_9_during_a_write_leaves_a_whole_file_and_the_next_start_removes_the_temp(tmp_path):
    path = tmp_path / "state.json"
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "writing 1"
        assert proc.stdout.readline().strip() == "writing 2"     # the first write is whole
        deadline = time.monotonic() + 20
        while not any(p.name.endswith(".tmp") for p in tmp_path.iterdir()) and time.monotonic() < deadline:
            pass     # the second write has made its temporary file: kill it now
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        proc.kill()
    temps = [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert temps, "the kill should have landed during a write"
    written = orjson.loads(path.read_bytes())          # whole and valid, never a mix
    assert written["n"] >= 1 and len(written["pad"]) == 24 << 20

    removed = StateFile(path).remove_stale_temps()     # what load() does at start
    assert sorted(removed) == sorted(t.name for t in temps)
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]


async def test_load_removes_temp_files_an_interrupted_write_left(tmp_path, sim):
    path = tmp_path / "state.json"
    await StateFile(path).save(sim)
    (tmp_path / ".state.json.abc123.tmp").write_bytes(b'{"format": "pbx-sim')
    (tmp_path / ".other.json.x.tmp").write_bytes(b"not ours")
    await StateFile(path).load(sim)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".other.json.x.tmp", "state.json"]


async def test_surrogate_text_is_refused_and_every_save_still_works(client, sim, tmp_path):
    account = sim.account("phonet")
    resp = await client.post("/rest/security/authorize",
                             json={"domain": account.domain, "apiKey": account.credentials["api_key"]})
    cookie = {"Cookie": f"JSESSIONID={resp.cookies['JSESSIONID'].value}"}
    contact = sorted(account.state.contacts)[0]
    resp = await client.post(f"/rest/crm/contacts/v2/{contact}/notes", data=b'{"content": "\\ud800"}',
                             headers={**cookie, "Content-Type": "application/json"})
    assert resp.status == 400
    assert not account.state.contacts[contact].notes
    assert (await client.get(f"/rest/crm/contacts/v2/{contact}/notes", headers=cookie)).status == 200
    assert (await client.get("/_sim/snapshot")).status == 200
    await StateFile(tmp_path / "state.json").save(sim)
    assert Snapshot.read(tmp_path / "state.json").data["format"] == "pbx-simulator/snapshot"


async def test_an_unwritable_file_is_logged_once_per_cause_and_tried_again(tmp_path, sim, caplog):
    folder = tmp_path / "gone"
    folder.mkdir()
    state = StateFile(folder / "state.json")
    await state.save(sim)
    shutil.rmtree(folder)
    with caplog.at_level(logging.INFO, logger="simulator.snapshot"):
        for _ in range(3):
            try:
                await state.save(sim)
            except OSError:
                pass
        errors = [r for r in caplog.records if r.levelno == logging.ERROR]
        assert len(errors) == 1 and "No such file or directory" in errors[0].getMessage()
        sim.account("t2").name = "\ud800"               # a second cause: logged as such
        try:
            await state.save(sim)
        except UnicodeError:
            pass
        assert len([r for r in caplog.records if r.levelno == logging.ERROR]) == 2
        sim.account("t2").name = "t2"
        folder.mkdir()
        await state.save(sim)                           # retried: written again, said so
    assert state.failures == 4 and state.saves == 2
    assert any("written again after 4 failed" in r.getMessage() for r in caplog.records)
    assert Snapshot.read(folder / "state.json").data["accounts"][0]["name"] == "t2"


def test_sigterm_with_an_unwritable_state_file_exits_with_a_message_not_a_traceback(tmp_path):
    config = tmp_path / "sim.yaml"
    config.write_text(CLI_CONFIG)
    folder = tmp_path / "state"
    folder.mkdir()
    proc, base = _start(config, folder / "state.json")
    try:
        assert _http("GET", base + "/_sim/health")["status"] == "ok"
        shutil.rmtree(folder)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 1
    assert "Traceback" not in out + err
    assert "cannot write state file" in err and "lost" in err


async def test_writing_a_snapshot_lets_the_loop_answer_between_slices():
    """A 20,000-call account: the longest the loop is held while ``encode`` runs is a slice."""
    sim = Simulator(parse_config(small_config()), Clock("manual"))
    await sim.start()
    try:
        cdrs = sim.account("vats").state.cdrs
        base = sim.clock.timestamp() - 86400
        cdrs.extend_sorted(CallRecord(id=f"c{i:06d}", direction="in", caller="79101234567", callee="74950000001",
                                      started_at=base + i, ended_at=base + i + 30, answered_at=base + i + 5,
                                      outcome="answered", legs=((f"c{i:06d}", 1, base + i, base + i + 5, base + i + 30),))
                           for i in range(20_000))
        gaps, last = [], time.perf_counter()

        async def ticker():
            nonlocal last
            while True:
                await asyncio.sleep(0)
                now = time.perf_counter()
                gaps.append(now - last)
                last = now

        task = asyncio.get_running_loop().create_task(ticker())
        await asyncio.sleep(0)
        body = b"".join(await Snapshot.encode(sim))
        task.cancel()
        assert json.loads(body) == json.loads(Snapshot.take(sim).to_bytes())   # the same document
        assert len(gaps) >= 20_000 // 2000          # the loop ran between slices
    finally:
        await sim.close()
