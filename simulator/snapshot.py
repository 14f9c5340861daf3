"""Snapshots: the whole simulator's state as one JSON document, and the ``--state-file``.

A snapshot holds, per account, its configuration (so a reset still goes back to the seed),
credentials, switches, settings, CRM target and the whole ``AccountState`` (every CDR, the
next ids, ``provider_data`` where it survives JSON unchanged), plus a format marker, a
version and the clock's time. Live calls are not in it: a snapshot is what the PBX holds
between calls.

- ``GET /_sim/snapshot`` exports one, ``PUT /_sim/snapshot`` imports one (all or nothing:
  a bad document is refused with 400 and a message, and the state is unchanged).
- ``pbx-sim serve --state-file FILE [--snapshot-every N]`` loads FILE at start and writes it
  on SIGTERM/SIGINT and every N seconds, atomically (temp file, fsync, ``os.replace``, fsync
  of the directory); temporary files a crash left behind are removed at start. A file that
  cannot be written is logged once per cause and tried again at the next write.

Writing never holds the event loop for long: ``encode`` takes the picture on the loop in one
go (the call records as a list of the record objects, which are never changed once made),
then serialises the records in slices with orjson, letting the loop answer requests between
slices (``bench/snapshot.py``: health stays responsive while a 150,000-call account is written).
Reading is done on a worker thread (``parse``: decode, check, build the states), and only the
swap of the accounts runs on the loop, one restore at a time.
"""

from __future__ import annotations

import asyncio
import copy
import gc
import json
import logging
import os
import random
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

import orjson
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from . import __version__, body
from .admin.routes import wants_secrets
from .config import AccountConfig, CrmTarget
from .core.accounts import Account, mask
from .core.clock import EARLIEST, LATEST
from .core.policy import OutcomePolicy
from .core.store import AccountState
from .sim import SIM, Simulator

log = logging.getLogger("simulator.snapshot")

FORMAT = "pbx-simulator/snapshot"
VERSION = 1
CLOCK_MODES = ("forward", "exact", "keep")
MAX_SNAPSHOT_BYTES = 1024 ** 3   # a snapshot may be far larger than an API request
SNAPSHOT_DEPTH = 64              # accounts → state → provider_data → what providers keep there
RECORDS_PER_SLICE = 1000         # call records serialised between two turns of the event loop


class SnapshotError(ValueError):
    """A snapshot that cannot be used; the message is meant for a person."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _ClockImage(_Model):
    now: str
    mode: str
    timestamp: float


class _AccountImage(_Model):
    id: str
    provider: Literal["t2", "vats", "phonet", "cloudpbx"]
    name: str
    domain: str
    config: AccountConfig
    credentials: dict[str, str]
    crm: CrmTarget
    settings: dict[str, Any]
    switches: dict[str, Any]
    state: dict[str, Any]
    clock_offset_s: float = 0.0   # the account's own clock offset (POST /_sim/clock {"account": …})


class _Document(_Model):
    format: str
    version: int
    generator: str = ""
    seed: int
    clock: _ClockImage
    accounts: list[_AccountImage]
    skipped: list[str] = Field(default_factory=list)
    # "masked": exported without ?secrets=1; restoring it keeps the accounts' own secrets
    secrets: Literal["included", "masked"] = "included"


def _json_safe(value: Any) -> bool:
    """True when ``value`` comes back from JSON equal, types and all (no tuples, no int keys)."""
    try:
        return json.loads(json.dumps(value)) == value
    except (TypeError, ValueError):
        return False


@dataclass
class Snapshot:
    """One simulator's state as a JSON document (``data``), checked when read."""
    data: dict
    _doc: "_Document | None" = field(default=None, repr=False)
    # the states checking built, handed to the first restore (building them is most of an
    # import's time: a 150,000-call account takes seconds); later restores build fresh ones
    _states: "dict[str, AccountState] | None" = field(default=None, repr=False)

    # ---- taking ----------------------------------------------------------------------------
    @classmethod
    def take(cls, sim: Simulator, *, records: bool = True, secrets: bool = True) -> "Snapshot":
        """The picture, on the loop. ``records=False``: ``cdrs`` left empty (``encode`` adds
        them slice by slice). ``secrets=False``: credentials and CRM tokens masked
        (``GET /_sim/snapshot`` without ``?secrets=1``; the state file always has them)."""
        accounts, skipped = [], []
        for account in sim.accounts.values():
            state = account.state.to_json(cdr_limit=None if records else 0)
            provider_data = {}
            for key, value in account.state.provider_data.items():
                if _json_safe(value):
                    provider_data[key] = copy.deepcopy(value)
                else:
                    skipped.append(f"{account.id}.provider_data.{key}")
            state["provider_data"] = provider_data
            accounts.append({
                "id": account.id, "provider": account.provider, "name": account.name,
                "domain": account.domain,
                "config": account.config.model_dump(mode="json"),
                "credentials": dict(account.credentials),
                "crm": account.crm.model_dump(mode="json"),
                "settings": copy.deepcopy(account.settings),
                "switches": copy.deepcopy(account.switches),
                "state": state,
                # an account's own clock offset, when it has one (POST /_sim/clock {"account": …})
                **({"clock_offset_s": account.clock.offset} if account.clock is not None and account.clock.offset
                   else {}),
            })
            if not secrets:
                image = accounts[-1]
                for holder in (image, image["config"]):
                    holder["credentials"] = {k: mask(v) for k, v in holder["credentials"].items()}
                for crm in (image["crm"], image["config"]["crm"]):
                    crm["crm_token"] = mask(crm.get("crm_token"))
        for item in skipped:
            log.debug("snapshot: %s is not JSON-serialisable as it is; left out", item)
        return cls({
            "format": FORMAT, "version": VERSION, "generator": f"pbx-simulator {__version__}",
            "seed": sim.seed,
            "clock": {**sim.clock.snapshot(), "timestamp": sim.clock.timestamp()},
            "accounts": accounts,
            "skipped": skipped,
            **({} if secrets else {"secrets": "masked"}),
        })

    def to_bytes(self) -> bytes:
        return json.dumps(self.data, ensure_ascii=False, separators=(",", ":"), default=_not_json).encode("utf-8")

    @classmethod
    async def encode(cls, sim: Simulator, secrets: bool = True) -> list[bytes]:
        """The document of ``sim`` (``take(sim).to_bytes()``'s, as pieces to write or join one
        after the other) without holding the loop: everything but the call records now, the
        records slice by slice, the loop free between slices.

        Every piece is orjson's: the frame (the document with a marker where each account's
        records go) and the slices of the record arrays. A marker is ``\\0<n>\\0``, which no
        JSON text holds unescaped, so splitting the frame there is unambiguous. Joining the
        pieces is left to the writer (a thread, where a join of large bytes lets the loop run):
        joining 90 MB on the loop held it half a second."""
        snap = cls.take(sim, records=False, secrets=secrets)
        # the same instant as the picture: records are only ever added (or dropped by
        # retention), and a record object is not changed once made
        records = [list(account.state.cdrs) for account in sim.accounts.values()]
        try:
            arrays: list[list[bytes]] = []
            for n, (image, cdrs) in enumerate(zip(snap.data["accounts"], records)):
                pieces = [b"["]
                for i in range(0, len(cdrs), RECORDS_PER_SLICE):
                    if i:
                        pieces.append(b",")
                    pieces.append(orjson.dumps(cdrs[i:i + RECORDS_PER_SLICE], default=_not_json,
                                               option=orjson.OPT_NON_STR_KEYS)[1:-1])
                    await asyncio.sleep(0)
                pieces.append(b"]")
                arrays.append(pieces)
                image["state"]["cdrs"] = orjson.Fragment(b"\0%d\0" % n)
            frame = orjson.dumps(snap.data, default=_not_json, option=orjson.OPT_NON_STR_KEYS)
        except TypeError:
            # something orjson does not write (an integer past 64 bits in a setting ...): the
            # standard library's writer, on the loop, for this rare document
            log.debug("snapshot: written by the standard library (a value orjson does not take)")
            return [cls.take(sim, secrets=secrets).to_bytes()]
        out: list[bytes] = []
        for i, part in enumerate(frame.split(b"\0")):
            if i % 2:
                out.extend(arrays[int(part)])
            else:
                out.append(part)
        return out

    # ---- reading ---------------------------------------------------------------------------
    @classmethod
    def parse(cls, raw: bytes | str, source: str = "snapshot") -> "Snapshot":
        """Check a document from a file or a request; ``SnapshotError`` says what is wrong.
        Meant for a worker thread (the serving loop goes on meanwhile): it takes seconds for a
        large snapshot, and holds the interpreter only in short stretches."""
        with _no_cycle_collection():
            return cls._parse(raw, source)

    @classmethod
    def _parse(cls, raw: bytes | str, source: str) -> "Snapshot":
        if isinstance(raw, bytes):
            try:
                raw = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise SnapshotError(f"{source}: not a pbx-simulator snapshot (not UTF-8 text)") from None
        if not raw.strip():
            raise SnapshotError(f"{source}: empty, not a pbx-simulator snapshot")
        try:
            data = body.loads(raw, max_depth=SNAPSHOT_DEPTH)
        except body.BodyError as err:
            if err.kind == "syntax":
                try:                     # the parser's own words: where the document breaks
                    json.loads(raw)
                except (ValueError, RecursionError) as detail:
                    raise SnapshotError(f"{source}: corrupt, not valid JSON ({detail})") from None
            raise SnapshotError(f"{source}: cannot be taken: {err}") from None
        return cls.from_json(data, source)

    @classmethod
    def from_json(cls, data: Any, source: str = "snapshot") -> "Snapshot":
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise SnapshotError(f"{source}: not a pbx-simulator snapshot "
                                f"(it has no \"format\": \"{FORMAT}\" marker)")
        version = data.get("version")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise SnapshotError(f"{source}: snapshot has no valid \"version\"")
        if version > VERSION:
            raise SnapshotError(f"{source}: snapshot version {version} was written by a newer "
                                f"pbx-simulator; this one reads version {VERSION}")
        try:
            doc = _Document.model_validate(data)
        except ValidationError as err:
            raise SnapshotError(f"{source}: invalid snapshot: " + "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or '(top level)'}: "
                f"{'unknown field' if e['type'] == 'extra_forbidden' else e['msg']}"
                for e in err.errors()[:8])) from None
        if not EARLIEST <= doc.clock.timestamp <= LATEST:
            raise SnapshotError(f"{source}: clock.timestamp {doc.clock.timestamp!r} is outside the "
                                "clock's range (1970-01-02 to 3000-01-01)")
        seen: set[str] = set()
        states: dict[str, AccountState] = {}
        for i, image in enumerate(doc.accounts):
            where = f"accounts.{i} ({image.id})"
            if image.id in seen:
                raise SnapshotError(f"{source}: account {image.id!r} appears twice")
            seen.add(image.id)
            if image.config.id != image.id or image.config.provider != image.provider:
                raise SnapshotError(f"{source}: {where}: config names account "
                                    f"{image.config.id!r} of {image.config.provider!r}")
            try:
                states[image.id] = AccountState.from_json(_own_copy(image.state))
            except ValueError as err:
                raise SnapshotError(f"{source}: {where}.state.{err}") from None
        return cls(data, doc, states)

    @classmethod
    def read(cls, path: str | os.PathLike) -> "Snapshot":
        p = Path(path)
        try:
            raw = p.read_bytes()
        except IsADirectoryError:
            raise SnapshotError(f"{p}: is a directory, not a snapshot file") from None
        except OSError as err:
            raise SnapshotError(f"{p}: cannot read: {err.strerror or err}") from None
        return cls.parse(raw, str(p))

    def write(self, path: str | os.PathLike) -> None:
        write_atomically(path, self.to_bytes())

    # ---- restoring -------------------------------------------------------------------------
    async def restore(self, sim: Simulator, *, keep_others: bool = False,
                      clock: str = "forward") -> dict:
        """Make ``sim`` hold this snapshot's accounts. Accounts the snapshot does not have are
        removed unless ``keep_others``. The clock: ``forward`` moves it to the snapshot's time
        when that is later (never back: what happened since stays in the past), ``exact`` sets
        it to the snapshot's time, ``keep`` leaves it."""
        if clock not in CLOCK_MODES:
            raise SnapshotError(f"clock must be one of {', '.join(CLOCK_MODES)}")
        async with sim.restore_lock:     # the states are built off the loop: two must not interleave
            return await self._restore(sim, keep_others, clock)

    async def _restore(self, sim: Simulator, keep_others: bool, clock: str) -> dict:
        if self._doc is None:         # built by take(): check it like a document from outside
            self._doc = (await asyncio.to_thread(Snapshot.from_json, json.loads(self.to_bytes())))._doc
        doc = self._doc
        # fresh objects on every restore: one snapshot may be restored many times (the pytest
        # plugin restores the same one before each test), and tests change what they get.
        # Built on a worker thread: a large state takes seconds, and the loop keeps answering
        states, self._states = self._states, None
        if states is None:
            states = await asyncio.to_thread(
                lambda: {image.id: AccountState.from_json(_own_copy(image.state)) for image in doc.accounts})
        restored = [image.id for image in doc.accounts]
        # a masked snapshot's accounts keep the secrets they have here (new ones get new ones)
        own = {aid: sim.accounts[aid] for aid in restored if aid in sim.accounts} if doc.secrets == "masked" else None
        removed = [aid for aid in sim.accounts if aid not in restored and not keep_others]
        for aid in [*restored, *removed]:
            await self._retire(sim, aid)
        kept = {aid: sim.accounts[aid] for aid in sim.accounts if aid not in restored and aid not in removed}
        sim.accounts.clear()
        for image in doc.accounts:
            sim.accounts[image.id] = self._account(sim, image, states[image.id], own)
            sim.account_configs[image.id] = sim.accounts[image.id].config
        sim.accounts.update(kept)
        for aid in removed:
            sim.account_configs.pop(aid, None)
        for image in doc.accounts:
            sim.retain(sim.accounts[image.id])
            sim.providers[image.provider].attach(sim, sim.accounts[image.id])
        when = doc.clock.timestamp
        if clock == "exact" or (clock == "forward" and when > sim.clock.timestamp()):
            await sim.clock.set(datetime.fromtimestamp(when, tz=timezone.utc))
        if clock != "keep":
            for image in doc.accounts:
                sim.account_clock(image.id).offset = image.clock_offset_s
        sim.refresh_strict()
        return {"restored": restored, "removed": removed, "kept": list(kept),
                "clock": sim.clock.snapshot(), "skipped": list(doc.skipped)}

    @staticmethod
    async def _retire(sim: Simulator, account_id: str) -> None:
        old = sim.accounts.get(account_id)
        if old is None:
            return
        calls = sim.engine.live_calls(account_id)
        for call in calls:
            await sim.engine.hangup(account_id, call.id)
        # let them end while the old account is still the one their events are mapped for
        pending = [c.done for c in calls if c.done is not None and not c.done.done()]
        if pending:
            await asyncio.wait(pending, timeout=5)
        sim.providers[old.provider].reset(sim, old)

    @staticmethod
    def _account(sim: Simulator, image: _AccountImage, state: AccountState,
                 own: dict[str, Account] | None = None) -> Account:
        crm = image.crm.model_copy(deep=True)
        config = image.config.model_copy(deep=True)
        credentials = dict(image.credentials)
        if own is not None:                  # masked: the secrets are not in the document
            here = own.get(image.id)
            credentials = dict(here.credentials) if here is not None else {}
            crm.crm_token = here.crm.crm_token if here is not None else None
            config.credentials = dict(here.config.credentials) if here is not None else {}
            config.crm.crm_token = here.config.crm.crm_token if here is not None else None
        if crm.encoding is None:
            crm.encoding = sim.providers[image.provider].default_encoding
        for url in (crm.url, crm.lookup_url, crm.events_url, crm.utm_url):
            if url:
                sim.webhooks.allowed_urls.add(url)
        account = Account(
            id=image.id, provider=image.provider, name=image.name, domain=image.domain,
            config=config, crm=crm, settings=copy.deepcopy(image.settings),
            state=state, policy=OutcomePolicy(image.config.outcome_policy),
            rng=random.Random(f"{sim.seed}:{image.id}:runtime"),
            credentials=credentials, switches=copy.deepcopy(image.switches), clock=sim.account_clock(image.id))
        if not account.credentials:          # masked, and new here: fresh ones
            account.credentials = sim.providers[image.provider].new_credentials(sim, account, account.rng)
        return account


@contextmanager
def _no_cycle_collection():
    """The cycle collector paused while a snapshot is read. Reading one makes millions of
    objects, and each full collection they set off walks them all while holding the
    interpreter: 9 collections of 0.2–0.4 s each for a 150,000-call snapshot, each a pause of
    the serving loop (``bench/snapshot.py``, health during the import: p99 191 ms, max 1.1 s
    with the collector running; p99 35 ms, max 125 ms paused). Counting references still frees what is dropped;
    cycles wait until the collector runs again after the read. Then what the read made is moved
    to the oldest generation as it is (``freeze`` + ``unfreeze``: two list splices): left young,
    the first collection after the read would walk it all at once."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.unfreeze()
        if was:
            gc.enable()


def _own_copy(state: dict) -> dict:
    """``state`` with nothing shared with the document: every part copied deeply but the call
    records, which validation turns into new records anyway (their values are plain numbers and
    strings, ``utm`` a copied dict) and which are never changed once made. Copying 150,000
    records deeply took longer than the rest of a restore."""
    return {key: value if key == "cdrs" else copy.deepcopy(value) for key, value in state.items()}


def temp_prefix(path: Path) -> str:
    return f".{path.name}."


TEMP_SUFFIX = ".tmp"


def write_atomically(path: str | os.PathLike, body: bytes | list[bytes]) -> None:
    """A temp file beside ``path`` (mode 0600: it holds credentials), flushed to disk, renamed
    over ``path``, and the directory flushed too (the rename itself must survive a crash).
    A crash at any point leaves the old file or the new one, never a mix."""
    p = Path(path)
    directory = p.parent or Path(".")
    fd, tmp = tempfile.mkstemp(prefix=temp_prefix(p), suffix=TEMP_SUFFIX, dir=directory)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.writelines([body] if isinstance(body, bytes) else body)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, p)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    try:
        dir_fd = os.open(directory, os.O_RDONLY)
    except OSError:      # a platform without directory handles (Windows): the rename is done
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


def _not_json(value: Any) -> Any:
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable")


# ---- the state file --------------------------------------------------------------------------

class StateFile:
    """``--state-file``: loaded at start, written on shutdown and every ``every`` seconds."""

    def __init__(self, path: str | os.PathLike, every: float | None = None):
        self.path = Path(path)
        self.every = every if every and every > 0 else None
        self._task: asyncio.Task | None = None
        self._lock = asyncio.Lock()
        self.saves = 0
        self.failures = 0
        self._failing: str | None = None    # the cause last logged, until a write succeeds

    def remove_stale_temps(self) -> list[str]:
        """Temporary files of this state file that a crash (kill -9 during a write) left."""
        removed = []
        try:
            names = [p for p in self.path.parent.iterdir()
                     if p.name.startswith(temp_prefix(self.path)) and p.name.endswith(TEMP_SUFFIX)]
        except OSError:
            return removed
        for stale in names:
            try:
                stale.unlink()
                removed.append(stale.name)
            except OSError as err:
                log.warning("cannot remove stale temporary file %s: %s", stale, err.strerror or err)
        if removed:
            log.info("removed %d temporary file(s) an interrupted write left: %s", len(removed), ", ".join(removed))
        return removed

    async def load(self, sim: Simulator) -> str:
        """Restore the file into ``sim``; a line for a person. ``SnapshotError`` when the file
        is corrupt or foreign (then it is left as it is and nothing is written over it)."""
        if self.path.parent.is_dir():
            self.remove_stale_temps()
        if not self.path.exists():
            if not self.path.parent.is_dir():
                raise SnapshotError(f"{self.path}: directory {self.path.parent} does not exist")
            return f"state file {self.path} does not exist yet: starting from the configuration"
        snap = await asyncio.to_thread(Snapshot.read, self.path)   # seconds for a large file
        # accounts added to the configuration since the file was written are kept
        result = await snap.restore(sim, keep_others=True, clock="forward")
        return (f"state loaded from {self.path}: {len(result['restored'])} account(s), "
                f"clock {result['clock']['now']}")

    async def save(self, sim: Simulator) -> None:
        """Write the file; raises what stopped it (after logging it, once per cause)."""
        async with self._lock:
            started = time.perf_counter()
            try:
                body = await Snapshot.encode(sim)
                await asyncio.to_thread(write_atomically, self.path, body)   # the disk, off the loop
            except Exception as err:
                self.failures += 1
                cause = _cause(err)
                if cause != self._failing:
                    self._failing = cause
                    log.error("cannot write state file %s: %s (tried again at the next write; "
                              "this is logged once per cause)", self.path, cause)
                raise
            self.saves += 1
            if self._failing is not None:
                log.warning("state file %s written again after %d failed write(s)", self.path, self.failures)
                self._failing = None
            log.info("state written to %s (%d bytes, %.0f ms)", self.path, sum(map(len, body)),
                     (time.perf_counter() - started) * 1000)

    def start(self, sim: Simulator) -> None:
        if self.every and self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._periodic(sim))

    async def _periodic(self, sim: Simulator) -> None:
        # Real asyncio time on purpose, not sim.clock: "every N seconds" is about how much work
        # a crash may lose (persistence), not about simulated time. A loop sleeping on
        # sim.clock would never fire in manual mode, and in instant mode it would always be a
        # sleeper to wake, so the clock would jump ahead forever.
        while True:
            await asyncio.sleep(self.every)
            try:
                await self.save(sim)
            except Exception:       # a full disk must not stop the server: logged, tried again
                pass

    async def stop(self, sim: Simulator, attempts: int = 3, pause: float = 0.5) -> None:
        """Stop the periodic writer and write the file one last time (``attempts`` tries,
        ``pause`` seconds apart: a disk that was full a moment ago may have room now). Raises
        the last error when every try failed, already logged."""
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        for attempt in range(attempts):
            try:
                await self.save(sim)
                return
            except Exception:
                if attempt + 1 == attempts:
                    raise
                await asyncio.sleep(pause)


def _cause(err: BaseException) -> str:
    """What went wrong, for a person and as the key of "logged once per cause"."""
    if isinstance(err, OSError):   # not the file name: a temp file's is new every time
        return err.strerror or type(err).__name__
    return f"{type(err).__name__}: {err}"


# ---- admin API -------------------------------------------------------------------------------

routes = web.RouteTableDef()


@routes.get("/_sim/snapshot")
async def export_snapshot(request: web.Request) -> web.Response:
    pieces = await Snapshot.encode(request.app[SIM], secrets=wants_secrets(request))
    body = await asyncio.to_thread(b"".join, pieces)   # a large join lets the loop run there
    return web.Response(body=body, content_type="application/json", charset="utf-8")


async def _read_body(request: web.Request) -> bytes:
    """The whole body, past the server's request limit (client_max_size), up to a snapshot's."""
    chunks, size = [], 0
    async for chunk in request.content.iter_chunked(1 << 20):
        size += len(chunk)
        if size > MAX_SNAPSHOT_BYTES:
            raise SnapshotError(f"snapshot: larger than {MAX_SNAPSHOT_BYTES} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


@routes.put("/_sim/snapshot")
async def import_snapshot(request: web.Request) -> web.Response:
    clock = request.query.get("clock", "forward")
    if clock not in CLOCK_MODES:
        return web.json_response({"error": f"clock must be one of {', '.join(CLOCK_MODES)}"}, status=400)
    keep_others = request.query.get("keep_others", "").lower() in ("1", "true", "yes")
    try:
        raw = await _read_body(request)
        # checked on a worker thread: a 150,000-call snapshot takes seconds to parse and check
        snap = await asyncio.to_thread(Snapshot.parse, raw, "snapshot")
    except SnapshotError as err:
        return web.json_response({"error": str(err)}, status=400)
    result = await snap.restore(request.app[SIM], keep_others=keep_others, clock=clock)
    return web.json_response(result)


__all__ = ["FORMAT", "VERSION", "Snapshot", "SnapshotError", "StateFile", "routes"]
