"""pytest plugin: the ``pbx_sim`` fixture, a simulator your CRM's tests can call.

Installed with the package (entry point ``pytest11``: ``pbx_sim``). The simulator runs
in-process, in a thread with its own event loop, on a free port of 127.0.0.1 (real TCP,
so a CRM under test, in-process or not, calls it like the real PBX), once per test session
and configuration; before each test it is put back to the state it started with (a
snapshot: accounts, credentials, state, clock) and its journals are emptied.

    def test_my_crm_sees_the_call(pbx_sim, my_crm):
        pbx_sim.set_crm("vats", my_crm.url)
        cdr = pbx_sim.place_call("vats", "in", from_="79001234567", to="74951234567")
        assert pbx_sim.webhooks(account="vats", hook="history")

Configuration (ini or ``pyproject.toml`` ``[tool.pytest.ini_options]``):
  pbx_sim_config = path/to/config.yaml   # default: the built-in demo accounts
  pbx_sim_clock  = instant               # default instant: calls run through at once
or override the ``pbx_sim_config`` fixture (a dict as the YAML, a path, or None; a dict may
set ``server.clock`` for its tests).

Every method has an awaitable twin on ``pbx_sim.aio`` for async tests whose CRM runs on
the test's own event loop (``await pbx_sim.aio.place_call(...)``): a blocking call there
would stop that CRM from answering the simulator's webhooks.
"""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import pytest

if TYPE_CHECKING:   # the heavy imports wait until a test asks for the fixture
    from .sim import Simulator

STARTUP_TIMEOUT_S = 120.0
CALL_TIMEOUT_S = 60.0
_SCRIPT_FIELDS = ("outcome", "answer", "ring_s", "talk_s", "hangup", "transfers", "ivr", "rating",
                  "record", "utm", "caller_name")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini("pbx_sim_config", "YAML configuration for the pbx_sim fixture "
                  "(relative to the rootdir; default: the built-in demo accounts)", default="")
    parser.addini("pbx_sim_clock", "clock of the pbx_sim fixture (instant | manual | real | scale:N); "
                  "a dict from the pbx_sim_config fixture may set its own", default="instant")


class PbxSimError(RuntimeError):
    """Something the ``pbx_sim`` fixture cannot do; the message says why."""


# ---- the server thread -----------------------------------------------------------------------

class _Server:
    """A simulator served on 127.0.0.1:<free port> by an event loop in a daemon thread."""

    def __init__(self, config: Any):
        self.config = config
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="pbx-sim", daemon=True)
        self.thread.start()
        self.runner = None
        try:
            self.call(self._start(), STARTUP_TIMEOUT_S)
        except BaseException:
            self.close()
            raise

    async def _start(self) -> None:
        from aiohttp import web

        from .app import create_app
        from .sim import SIM
        from .snapshot import Snapshot

        app = await create_app(self.config)
        self.runner = web.AppRunner(app, access_log=None)   # no access log: it would show queries
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.sim: Simulator = app[SIM]
        self.sim.public_url = self.url
        self.initial = Snapshot.take(self.sim)
        self.initial_urls = set(self.sim.webhooks.allowed_urls)

    def call(self, coro, timeout: float | None = CALL_TIMEOUT_S) -> Any:
        """Run ``coro`` on the server's loop and wait for it (from the test's thread)."""
        if threading.current_thread() is self.thread:
            coro.close()
            raise PbxSimError("pbx_sim's blocking methods cannot run on the simulator's own loop")
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result(timeout)
        except TimeoutError:
            future.cancel()
            raise PbxSimError(f"the simulator did not finish within {timeout:g} s") from None

    async def acall(self, coro) -> Any:
        """The same from an async test: the test's loop keeps running while it waits."""
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self.loop))

    def close(self) -> None:
        if self.runner is not None and self.loop.is_running():
            try:
                self.call(self.runner.cleanup(), 30)
            except Exception:   # pragma: no cover - best effort at the end of a session
                pass
        if self.loop.is_running():
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)
        if not self.loop.is_running():
            self.loop.close()


# ---- what a test gets ------------------------------------------------------------------------

class _Ops:
    """The coroutines behind each method; they run on the simulator's loop."""

    def __init__(self, server: _Server):
        self._server = server

    @property
    def _sim(self) -> "Simulator":
        return self._server.sim

    async def reset(self) -> None:
        sim = self._sim
        for call in sim.engine.live_calls():
            await sim.engine.hangup(call.account_id, call.id)
        await sim.webhooks.drain(10)           # the last test's webhooks go out first
        sim.webhooks.allowed_urls.clear()
        sim.webhooks.allowed_urls.update(self._server.initial_urls)
        await self._server.initial.restore(sim, keep_others=False, clock="exact")
        sim.webhook_journal.clear()
        sim.requests.clear()
        sim.faults.clear()
        sim.add_configured_faults()

    def _clock(self, account: str | None):
        if account is None:
            return self._sim.clock
        self._account(account)
        return self._sim.account_clock(account)

    async def advance_clock(self, by: float | str, account: str | None = None) -> str:
        return (await self._clock(account).advance(by)).isoformat().replace("+00:00", "Z")

    async def set_clock(self, when: str, account: str | None = None) -> str:
        from datetime import datetime
        moved = await self._clock(account).set(datetime.fromisoformat(when.replace("Z", "+00:00")))
        return moved.isoformat().replace("+00:00", "Z")

    async def add_fault(self, spec: dict) -> dict:
        from pydantic import ValidationError

        from .core.faults import FaultSpec
        from .sim import iso
        try:
            fault = self._sim.add_fault(FaultSpec.model_validate(spec))
        except ValidationError as err:
            raise PbxSimError("faults.add: " + "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'fault'}: {e['msg']}" for e in err.errors())) from None
        except ValueError as err:
            raise PbxSimError(f"faults.add: {err}") from None
        return fault.to_json(iso)

    async def verify(self, spec: dict) -> tuple[dict, str]:
        from pydantic import ValidationError

        from .verify import VerifySpec, describe, verify
        try:
            parsed = VerifySpec.model_validate(spec)
        except ValidationError as err:
            raise PbxSimError("verify: " + "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'verify'}: {e['msg']}" for e in err.errors())) from None
        result = await verify(self._sim, parsed)
        return result, "" if result["ok"] else describe(parsed, result)

    async def list_faults(self, account: str | None = None) -> list[dict]:
        from .sim import iso
        return [f.to_json(iso) for f in self._sim.faults.listed(account)]

    async def remove_fault(self, fault_id: str) -> bool:
        return self._sim.faults.remove(fault_id)

    async def clear_faults(self, account: str | None = None) -> int:
        return self._sim.faults.clear(account)

    async def accounts(self) -> dict[str, dict]:
        return {aid: acc.public(secrets=True) for aid, acc in self._sim.accounts.items()}

    async def state(self, account: str, cdr_limit: int | None = 100) -> dict:
        return self._account(account).state.to_json(cdr_limit=cdr_limit)

    def _account(self, account_id: str):
        from .sim import AccountNotFound
        try:
            return self._sim.account(account_id)
        except AccountNotFound:
            raise PbxSimError(f"no account {account_id!r} (there are {sorted(self._sim.accounts)})") from None

    async def set_crm(self, account: str, url: str | None, **fields: Any) -> dict:
        from pydantic import ValidationError

        from .config import CrmTarget
        acc = self._account(account)
        merged = {**acc.crm.model_dump(), "url": url, **fields}
        try:
            crm = CrmTarget.model_validate(merged)
        except ValidationError as err:
            raise PbxSimError(f"set_crm({account!r}): {err.errors()[0]['loc']}: {err.errors()[0]['msg']}") from None
        problem = self._sim.providers[acc.provider].crm_problem(crm)
        if problem:
            raise PbxSimError(f"set_crm({account!r}): {problem}")
        if crm.encoding is None:
            crm.encoding = acc.crm.encoding
        acc.crm = crm
        for u in (crm.url, crm.lookup_url, crm.events_url, crm.utm_url):
            if u:
                self._sim.webhooks.allowed_urls.add(u)
        return acc.public()["crm"]   # as the admin API answers it: secrets masked

    async def place_call(self, account: str, direction: str = "in", from_: str = "", to: str = "",
                         employee: str | None = None, wait: bool = True, timeout: float = CALL_TIMEOUT_S,
                         click_to_call: bool = False, **script: Any) -> dict:
        from .admin.routes import call_json, cdr_json
        from .core.engine import CallScript, Transfer

        unknown = set(script) - set(_SCRIPT_FIELDS)
        if unknown:
            raise PbxSimError(f"place_call: unknown arguments {sorted(unknown)} (script: {list(_SCRIPT_FIELDS)})")
        if "transfers" in script:
            script["transfers"] = [t if isinstance(t, Transfer) else Transfer(**t) for t in script["transfers"]]
        self._account(account)
        try:
            call = self._sim.place_call(account, direction, from_, to, employee, CallScript(**script),
                                        click_to_call=click_to_call)
        except ValueError as err:
            raise PbxSimError(f"place_call: {err}") from None
        if not wait:
            return call_json(call)
        await self._until_done(call, timeout)
        await self._sim.webhooks.drain(timeout)
        return cdr_json(call.cdr) if call.cdr is not None else call_json(call)

    async def _until_done(self, call, timeout: float) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        clock = self._sim.clock
        while not (call.done is None or call.done.done()) and call.state != "ended":
            if loop.time() > deadline:
                raise PbxSimError(f"call {call.id} did not end within {timeout:g} s")
            if clock.mode == "manual":      # nobody else moves a manual clock: step it
                await clock.advance(1)
            else:
                await asyncio.wait([call.done], timeout=0.05)

    async def hangup(self, account: str, call_id: str, side: str = "B") -> bool:
        return await self._sim.engine.hangup(account, call_id, side)

    async def webhooks(self, account: str | None = None, hook: str | None = None,
                       call: str | None = None, drain: float = 10.0) -> list[dict]:
        if drain:
            await self._sim.webhooks.drain(drain)
        return [e.to_json() for e in self._sim.webhook_journal.entries(account, call, hook)]

    async def requests(self, account: str | None = None) -> list[dict]:
        return [e.to_json() for e in self._sim.requests.entries(account)]

    async def run(self, fn: Callable[["Simulator"], Any]) -> Any:
        result = fn(self._sim)
        if asyncio.iscoroutine(result):
            result = await result
        return result

    async def run_scenario(self, scenario: Any, provider: str = "all", crm_url: str | None = None,
                           crm_timeout: float | None = None) -> Any:
        try:
            from .scenarios.loader import ScenarioError, load_scenario, parse_scenario
            from .scenarios.runner import providers_of, run_on
        except ImportError as err:
            raise PbxSimError("pbx_sim.run_scenario needs simulator.scenarios, which this "
                              f"installation of pbx-simulator does not have ({err})") from None
        try:
            providers = providers_of(provider)
            if isinstance(scenario, Path) or (isinstance(scenario, str) and "\n" not in scenario):
                scenario = load_scenario(scenario)
            elif isinstance(scenario, str):
                scenario = parse_scenario(scenario, "<scenario>")
        except (ScenarioError, ValueError, OSError) as err:
            raise PbxSimError(f"run_scenario: {err}") from None
        reports = [await run_on(self._sim, scenario, p, crm_url, crm_timeout) for p in providers]
        return reports[0] if provider in providers else reports


class _Aio:
    """``pbx_sim.aio``: the same methods as awaitables (for async tests)."""

    def __init__(self, server: _Server, ops: _Ops):
        self._server, self._ops = server, ops

    def __getattr__(self, name: str):
        op = getattr(self._ops, name, None)
        if name.startswith("_") or op is None or not asyncio.iscoroutinefunction(op):
            raise AttributeError(name)

        async def method(*args, **kwargs):
            return await self._server.acall(op(*args, **kwargs))

        method.__name__ = name
        method.__doc__ = getattr(PbxSim, name).__doc__ if hasattr(PbxSim, name) else None
        return method


class PbxSim:
    """What the ``pbx_sim`` fixture gives a test. The simulator lives in another thread: reach
    it through these methods (or ``run(fn)``), not by changing ``sim`` from the test."""

    def __init__(self, server: _Server):
        self._server = server
        self._ops = _Ops(server)
        self.aio = _Aio(server, self._ops)

    # ---- where it is --------------------------------------------------------------------------
    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:41234``: put it where your CRM has the PBX's."""
        return self._server.url

    @property
    def port(self) -> int:
        return self._server.port

    @property
    def sim(self) -> "Simulator":
        """The simulator object (read it in ``run(fn)``: it belongs to the server's loop)."""
        return self._server.sim

    @property
    def accounts(self) -> dict[str, dict]:
        """Every account as the admin API shows it: id, provider, credentials, crm, switches."""
        return self._server.call(self._ops.accounts())

    def credentials(self, account: str) -> dict[str, str]:
        """The account's current credentials (``{"api_key": ...}``, ``{"token": ...}`` ...)."""
        found = self.accounts.get(account)
        if found is None:
            raise PbxSimError(f"no account {account!r} (there are {sorted(self.accounts)})")
        return found["credentials"]

    def state(self, account: str, cdr_limit: int | None = 100) -> dict:
        """The account's state as ``GET /_sim/accounts/{id}/state`` gives it."""
        return self._server.call(self._ops.state(account, cdr_limit))

    # ---- driving it ---------------------------------------------------------------------------
    def reset(self) -> None:
        """Back to the state the simulator started with (done before every test)."""
        self._server.call(self._ops.reset())

    def advance_clock(self, by: float | str, account: str | None = None) -> str:
        """Move simulated time forward (``90``, ``"25h"``); calls and tokens see it. With
        ``account``, only that account's time moves (its tokens, sessions, periods, calls).
        The new time, ISO-8601."""
        return self._server.call(self._ops.advance_clock(by, account))

    def set_clock(self, when: str, account: str | None = None) -> str:
        """Set simulated time (ISO-8601, ``Z`` allowed), the server's or one account's."""
        return self._server.call(self._ops.set_clock(when, account))

    def verify(self, webhooks: dict | None = None, requests: dict | None = None, count: dict | int | None = None,
               within: float | str = 0) -> dict:
        """Assert what the journals hold, as ``POST /_sim/verify``: ``webhooks={"account": "vats",
        "hook": "history", "fields": {"status": "Success"}}`` or ``requests={"account": …,
        "method": …, "path": …}``; ``count`` ``{"min": 1, "max": 1}`` (an int: exactly that
        many; default at least one); ``within`` waits on the simulator clock. Returns
        ``{"ok": True, "matched": n}``; otherwise fails the test with the closest entries and
        the fields that differed."""
        spec: dict = {"within": within}
        if webhooks is not None:
            spec["webhooks"] = webhooks
        if requests is not None:
            spec["requests"] = requests
        if count is not None:
            spec["count"] = {"min": count, "max": count} if isinstance(count, int) else count
        from .core.clock import parse_duration
        try:
            waits = parse_duration(within)
        except ValueError:
            waits = 0.0          # refused with its reason by verify itself
        result, message = self._server.call(self._ops.verify(spec), CALL_TIMEOUT_S + waits)
        if not result["ok"]:
            raise AssertionError(message)
        return result

    @property
    def faults(self) -> "Faults":
        """Faults on the PBX API and on webhooks, as ``/_sim/faults`` takes them:
        ``pbx_sim.faults.add(account="vats", match={"path": "/crmapi/v1/users*"},
        respond={"status": 503}, times=1)``. Every test starts without any (but the
        configuration's)."""
        return Faults(self)

    def set_crm(self, account: str, url: str | None, **fields: Any) -> dict:
        """Send ``account``'s webhooks to ``url`` (and ``crm_token=``, ``encoding=``,
        ``lookup_url=`` ... as in the configuration's ``crm`` block)."""
        return self._server.call(self._ops.set_crm(account, url, **fields))

    def place_call(self, account: str, direction: str = "in", from_: str = "", to: str = "",
                   employee: str | None = None, wait: bool = True, timeout: float = CALL_TIMEOUT_S,
                   click_to_call: bool = False, **script: Any) -> dict:
        """Place a call (``direction`` in / out / internal) scripted by ``outcome=``,
        ``answer=``, ``ring_s=``, ``talk_s=``, ``hangup=``, ``transfers=``, ``ivr=``,
        ``rating=``, ``record=``, ``utm=``. With ``wait`` (default) it returns the call record
        once the call ended and its webhooks went out; otherwise the live call at once. On a
        manual clock, waiting moves the clock in one-second steps."""
        return self._server.call(self._ops.place_call(
            account, direction, from_, to, employee, wait, timeout, click_to_call, **script), timeout + 30)

    def hangup(self, account: str, call_id: str, side: str = "B") -> bool:
        return self._server.call(self._ops.hangup(account, call_id, side))

    def webhooks(self, account: str | None = None, hook: str | None = None, call: str | None = None,
                 drain: float = 10.0) -> list[dict]:
        """The webhook journal (every attempt: request, CRM answer, contract check), once the
        queued webhooks went out (waits up to ``drain`` seconds)."""
        return self._server.call(self._ops.webhooks(account, hook, call, drain), drain + 30)

    def requests(self, account: str | None = None) -> list[dict]:
        """The request journal: what your CRM asked the simulator."""
        return self._server.call(self._ops.requests(account))

    def run(self, fn: Callable[["Simulator"], Any]) -> Any:
        """Run ``fn(sim)`` (a function or a coroutine function) on the simulator's loop."""
        return self._server.call(self._ops.run(fn))

    def run_scenario(self, scenario: Any, provider: str = "all", crm_url: str | None = None,
                     crm_timeout: float | None = None) -> Any:
        """Run a YAML scenario (a path, its text, or a loaded ``Scenario``) in this simulator,
        on a fresh account ``scenario-<provider>``; its webhooks go to ``crm_url`` (default: a
        recording CRM). One provider named: its ``ScenarioReport`` (``.passed``,
        ``.render()``); ``all`` or a comma list: a list of them."""
        return self._server.call(self._ops.run_scenario(scenario, provider, crm_url, crm_timeout), None)


class Faults:
    """``pbx_sim.faults``: add, list, remove and clear faults."""

    def __init__(self, sim: PbxSim):
        self._sim = sim

    def add(self, spec: dict | None = None, /, **fields: Any) -> dict:
        """Add a fault (a dict as ``POST /_sim/faults`` takes, or its fields as keywords;
        ``for_=`` for ``for``); the fault with its ``id``."""
        body = {**(spec or {}), **{("for" if k == "for_" else k): v for k, v in fields.items()}}
        return self._sim._server.call(self._sim._ops.add_fault(body))

    def list(self, account: str | None = None) -> list[dict]:
        return self._sim._server.call(self._sim._ops.list_faults(account))

    def remove(self, fault_id: str) -> bool:
        return self._sim._server.call(self._sim._ops.remove_fault(fault_id))

    def clear(self, account: str | None = None) -> int:
        return self._sim._server.call(self._sim._ops.clear_faults(account))


# ---- fixtures --------------------------------------------------------------------------------

def _load(request: pytest.FixtureRequest, given: Any):
    from .config import ConfigError, load_config, parse_config

    clock = request.config.getini("pbx_sim_clock") or "instant"
    try:
        if given is None:
            ini = request.config.getini("pbx_sim_config")
            cfg = load_config(request.config.rootpath / ini if ini else None)
        elif isinstance(given, dict):
            cfg = parse_config(json.loads(json.dumps(given)), "pbx_sim_config")
        elif isinstance(given, (str, Path)):
            cfg = load_config(given)
        else:
            raise PbxSimError("pbx_sim_config must be a dict (as the YAML), a path, or None")
    except ConfigError as err:
        raise PbxSimError(str(err)) from None
    # the clock is the ini option's (default instant: a test does not wait for calls), also
    # over a YAML file's `clock: real`; only a dict from the pbx_sim_config fixture may set it
    if not (isinstance(given, dict) and "clock" in cfg.server.model_fields_set):
        from .core.clock import parse_mode
        try:
            parse_mode(clock)
        except ValueError as err:
            raise PbxSimError(f"pbx_sim_clock: {err}") from None
        cfg.server.clock = clock
    cfg.server.host, cfg.server.port = "127.0.0.1", 0
    return cfg


@pytest.fixture
def pbx_sim_config(request: pytest.FixtureRequest) -> Any:
    """The simulator's configuration: override it to give a dict (as the YAML file), a path,
    or None for the ``pbx_sim_config`` ini option (else the built-in demo accounts)."""
    return None


@pytest.fixture(scope="session")
def _pbx_sim_servers():
    servers: dict[str, _Server] = {}
    yield servers
    for server in servers.values():
        server.close()


@pytest.fixture
def pbx_sim(request: pytest.FixtureRequest, pbx_sim_config, _pbx_sim_servers) -> PbxSim:
    """A pbx-simulator on 127.0.0.1 for this test, in the state it started with."""
    cfg = _load(request, pbx_sim_config)
    key = cfg.model_dump_json()
    server = _pbx_sim_servers.get(key)
    if server is None:
        server = _pbx_sim_servers[key] = _Server(cfg)
        handle = PbxSim(server)
    else:
        handle = PbxSim(server)
        handle.reset()
    return handle


__all__ = ["PbxSim", "PbxSimError", "Faults", "pbx_sim", "pbx_sim_config"]
