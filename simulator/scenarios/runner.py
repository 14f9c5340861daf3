"""Running a scenario: a fresh in-process simulator with one account of the chosen provider
(or a fresh account in a running simulator), the steps played on its clock through the
same core the provider APIs use, then the expectations checked.

``instant`` runs a day of calls in seconds with the timestamps real time would give;
``real`` lets a person watch the CRM's pop-ups; ``xN`` runs N times faster than real time.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time as _perf   # the wall time a run took, for the JUnit report (not simulated time)
from typing import Callable

from ..config import RouteSeed, ServerConfig, SimConfig
from ..core.clock import Clock, parse_duration, parse_mode
from ..core.engine import Call, CallScript, Conference, Hold, Transfer
from ..core.models import BlacklistEntry, CompanyNumber, Department, DepartmentMember, Employee
from ..core.seed import _route as route_from_seed
from ..sim import Simulator, iso
from .crm import RecordingCrm
from .expectations import SIDES, Observed, evaluate
from .model import PROVIDERS, Scenario, Step
from .office import CRM_TOKEN, account_config, start_time
from .report import ScenarioReport, StepResult, WebhookLine
from .wire import read

log = logging.getLogger("simulator.scenarios")

CALL_END_LIMIT_S = 120.0      # instant mode: a call that does not end in this much real time is stuck
MANUAL_CALL_LIMIT_S = 4 * 3600.0   # manual clock: the run advances it up to this much per call


class StepFailed(Exception):
    pass


def clock_mode(speed: str) -> str:
    """``instant`` / ``real`` / ``xN`` (or ``scale:N``) → a clock mode."""
    text = (speed or "instant").strip().lower()
    try:
        mode, scale = parse_mode(text)
    except ValueError:
        mode = ""
    if mode in ("instant", "real"):
        return mode
    if mode == "scale":
        return f"scale:{scale:g}"
    raise ValueError(f"speed {speed!r}: use instant, real or xN (e.g. x10)")


def providers_of(choice: str | None) -> list[str]:
    if not choice or choice == "all":
        return list(PROVIDERS)
    out = [p.strip() for p in choice.split(",") if p.strip()]
    bad = [p for p in out if p not in PROVIDERS]
    if bad:
        raise ValueError(f"unknown provider {', '.join(bad)} (use {', '.join(PROVIDERS)} or all)")
    return out


def _phone(value) -> str:
    return str(value).strip()


class ScenarioRun:
    """Plays one scenario on one account of a simulator."""

    def __init__(self, scenario: Scenario, sim: Simulator, account_id: str,
                 echo: Callable[[str], None] | None = None):
        self.scenario = scenario
        self.sim = sim
        self.account_id = account_id
        self.calls: dict[str, Call] = {}
        self.echo = echo or (lambda line: None)
        # a person watching (real / xN speed with echo): webhooks are printed as they go
        self.live = echo is not None and sim.clock.mode in ("real", "scale")
        self._echoed = 0
        self.report = ScenarioReport(scenario.name, scenario.source, self.account.provider)

    @property
    def account(self):
        return self.sim.account(self.account_id)

    # ---- the run -------------------------------------------------------------------------
    async def execute(self) -> ScenarioReport:
        started = _perf.perf_counter()
        obs = Observed(self.sim, self.account, self.account.provider, self.calls)
        clock = self.sim.clock
        if clock.mode in ("real", "scale"):
            # the clock follows the wall clock: a few ms of scheduling jitter, scaled, can move a
            # rounded duration by a second or more
            obs.tolerance = max(1.0, round(clock.scale * 0.02))
            self.report.notes.append(f"clock {clock.mode_name}: times and durations compared within "
                                     f"±{obs.tolerance:g} s")
        steps = iter(self.scenario.steps)
        for step in steps:
            result = StepResult(step.index, step.line, step.kind, self._describe(step),
                                at=iso(self.sim.clock.timestamp()))
            self.report.steps.append(result)
            self.echo(f"  {result.at[11:19]}Z {result.text}")
            try:
                if step.kind == "expect":
                    await self._settle()
                    obs.refresh()
                    for exp in step.expectations:
                        self.report.expectations.append(evaluate(exp, obs))
                else:
                    await self._step(step, result)
                    if self.live:
                        self._echo_webhooks()
            except StepFailed as err:
                result.status, result.message = "failed", str(err)
                for rest in steps:
                    self.report.steps.append(StepResult(rest.index, rest.line, rest.kind, self._describe(rest),
                                                        status="skipped"))
                break
        await self._finish_calls()
        await self._settle()
        if self.live:
            self._echo_webhooks()
        obs.refresh()
        if not any(s.status == "failed" for s in self.report.steps):
            for exp in self.scenario.expectations:
                self.report.expectations.append(evaluate(exp, obs))
        self._collect(obs)
        self.report.seconds = round(_perf.perf_counter() - started, 3)
        return self.report.finish()

    async def _settle(self) -> None:
        if not await self.sim.webhooks.drain(30.0):
            self.report.notes.append("some webhooks were still being delivered after 30 s")

    async def _finish_calls(self) -> None:
        for cid, call in self.calls.items():
            if call.live:
                try:
                    await self._await_call(call)
                except StepFailed as err:
                    self.report.notes.append(f"{cid}: {err}")
                    await self.sim.engine.hangup(self.account_id, call.id, "A")

    async def _sleep(self, seconds: float) -> None:
        """Let ``seconds`` of simulated time pass. On a manual clock (a test's server) nobody
        else moves time, so the run moves it, as a test would."""
        if self.sim.clock.mode == "manual":
            await self.sim.clock.advance(max(0.0, seconds))
        else:
            await self.sim.clock.sleep(seconds)

    async def _await_call(self, call: Call) -> None:
        if call.done is None:
            return
        if self.sim.clock.mode == "manual":
            moved = 0.0
            while not call.done.done():
                if moved >= MANUAL_CALL_LIMIT_S:
                    raise StepFailed(f"the call did not end within {MANUAL_CALL_LIMIT_S:g} s of simulated time")
                await self.sim.clock.advance(1.0)
                moved += 1.0
            return
        if self.live:
            while not call.done.done():
                try:
                    await asyncio.wait_for(asyncio.shield(call.done), 0.25)   # wall time: a screen refresh
                except asyncio.TimeoutError:
                    pass
                self._echo_webhooks()
            return
        limit = CALL_END_LIMIT_S if self.sim.clock.mode == "instant" else None
        try:
            await asyncio.wait_for(asyncio.shield(call.done), limit)
        except asyncio.TimeoutError:
            raise StepFailed(f"the call did not end within {CALL_END_LIMIT_S:g} s of real time") from None

    def _echo_webhooks(self) -> None:
        entries = self.sim.webhook_journal.entries(self.account_id)
        for entry in entries[self._echoed:]:
            ms = read(entry)
            answer = entry.error or f"{entry.status} {entry.response_body.strip()[:60]}".rstrip()
            self.echo(f"      {entry.at[11:19]}Z → {ms[0].signature if ms else entry.hook:<18} "
                      f"{_summary(entry.request_body)[:70]}  ← {answer} ({entry.latency_ms:.0f} ms)")
        self._echoed = len(entries)

    # ---- steps ---------------------------------------------------------------------------
    def _describe(self, step: Step) -> str:
        a = step.args
        if step.is_call:
            parts = [f"{step.kind} {a.get('id')}:"]
            if step.kind == "incoming":
                parts.append(f"{a['from']} → {a['to']}")
            elif step.kind == "internal":
                parts.append(f"{a['from']} → {a['to']}")
            else:
                parts.append(f"{a['employee']} → {a['to']}")
            extra = [f"{k}={a[k]}" for k in ("outcome", "answer", "ring", "talk", "hangup", "ivr", "rating",
                                               "record", "pickup", "queue") if k in a]
            if a.get("holds"):
                extra.append(f"{len(a['holds'])} hold(s)")
            if a.get("conference"):
                extra.append("conference with " + ", ".join(str(c["with"]) for c in a["conference"]))
            if a.get("transfers"):
                extra.append("transfer to " + ", ".join(str(t["to"]) for t in a["transfers"]))
            if a.get("utm"):
                extra.append("utm " + ",".join(f"{k}={v}" for k, v in a["utm"].items()))
            if a.get("background"):
                extra.append("in background")
            return " ".join(parts + extra)
        if step.kind == "expect":
            return f"expect {len(step.expectations)} expectation(s)"
        return f"{step.kind} {json.dumps(a, ensure_ascii=False) if isinstance(a, (dict, list)) else a}"

    async def _step(self, step: Step, result: StepResult) -> None:
        a = step.args
        k = step.kind
        if step.is_call:
            await self._call(step)
        elif k == "wait":
            await self._sleep(parse_duration(a))
        elif k == "wait_for":
            for cid in ([a] if isinstance(a, str) else a):
                await self._await_call(self.calls[cid])
        elif k == "hangup":
            call = self.calls[a["call"]]
            side = SIDES[call.direction][a.get("side", "client")]
            if not await self.sim.engine.hangup(self.account_id, call.id, side):
                result.message = "the call had already ended"
        elif k == "hold":
            call = self.calls[a["call"]]
            if not self.sim.engine.hold(self.account_id, call.id, bool(a.get("on", True))):
                result.message = "the call is not answered, has ended, or is already so"
        elif k == "fault":
            from ..core.faults import FaultSpec
            try:
                fault = self.sim.add_fault(FaultSpec.model_validate({**a, "account": self.account_id}))
            except ValueError as err:   # a named error the provider does not have
                raise StepFailed(str(err)) from None
            result.message = f"{fault.id}: {fault.kind}"
        elif k == "set_clock":
            when = start_time(a)
            if when.timestamp() < self.sim.clock.timestamp():
                raise StepFailed(f"{a} is in the past of the simulated clock ({iso(self.sim.clock.timestamp())})")
            await self.sim.clock.set(when)
        else:
            self._setup(k, a)

    def _script(self, a: dict) -> CallScript:
        return CallScript(
            outcome=a.get("outcome"), answer=str(a["answer"]) if a.get("answer") is not None else None,
            ring_s=parse_duration(a["ring"]) if "ring" in a else None,
            talk_s=parse_duration(a["talk"]) if "talk" in a else None,
            hangup=None, transfers=[Transfer(str(t["to"]), parse_duration(t.get("after", 10)))
                                    for t in a.get("transfers", [])],
            ivr=str(a["ivr"]) if a.get("ivr") is not None else None, rating=a.get("rating"),
            record=a.get("record"), utm=dict(a["utm"]) if a.get("utm") else None,
            caller_name=a.get("caller_name"),
            holds=[Hold(parse_duration(h.get("after", 10)), parse_duration(h.get("hold", 20))) for h in a.get("holds", [])],
            pickup=str(a["pickup"]) if a.get("pickup") is not None else None,
            conference=[Conference(str(c["with"]), parse_duration(c.get("after", 10))) for c in a.get("conference", [])],
            queue_s=parse_duration(a["queue"]) if "queue" in a else None)

    async def _call(self, step: Step) -> None:
        a = step.args
        state = self.account.state
        script = self._script(a)
        kind = step.kind
        direction = {"incoming": "in", "outgoing": "out", "click_to_call": "out", "internal": "internal"}[kind]
        if "hangup" in a:
            script.hangup = SIDES[direction][a["hangup"]]
        for ref in [a.get("answer"), a.get("pickup")] + [t["to"] for t in a.get("transfers", [])]:
            if ref is not None and state.find_employee(str(ref)) is None:
                raise StepFailed(f"no employee {ref!r} in the office")
        try:
            if kind == "incoming":
                to = _phone(a["to"])
                if not any(ch.isdigit() for ch in to) or state.employee_by_login(to):
                    emp = state.find_employee(to)
                    if emp is None:
                        raise StepFailed(f"'to' {to!r} is neither a number nor an employee")
                    to = emp.direct_number or emp.ext
                call = self.sim.place_call(self.account_id, "in", _phone(a["from"]), to, script=script)
            elif kind in ("outgoing", "click_to_call"):
                call = self.sim.place_call(self.account_id, "out", str(a["employee"]), _phone(a["to"]),
                                           employee=str(a["employee"]), script=script,
                                           click_to_call=kind == "click_to_call")
            else:
                call = self.sim.place_call(self.account_id, "internal", str(a["from"]), str(a["to"]), script=script)
        except ValueError as err:
            raise StepFailed(str(err)) from None
        self.calls[a["id"]] = call
        if not a.get("background"):
            await self._await_call(call)

    def _employee(self, ref) -> Employee:
        emp = self.account.state.find_employee(str(ref))
        if emp is None:
            raise StepFailed(f"no employee {ref!r} in the office")
        return emp

    def _setup(self, kind: str, a) -> None:
        """Setup steps change the account state the provider APIs read and write."""
        state = self.account.state
        now = self.sim.clock.timestamp()
        if kind == "add_employee":
            if state.employee_by_login(a["login"]) is not None:
                raise StepFailed(f"employee {a['login']!r} exists already")
            ext = str(a.get("ext") or state.free_ext(700))
            if state.employee_by_ext(ext) is not None:
                raise StepFailed(f"extension {ext} is taken")
            eid = state.next_id("employee")
            parts = a["name"].split()
            state.employees[eid] = Employee(
                id=eid, login=a["login"], ext=ext, name=a["name"],
                first_name=parts[1] if len(parts) > 1 else a["name"], last_name=parts[0] if parts else "",
                email=a.get("email") or f"{a['login']}@{self.account.domain}", mobile=str(a.get("mobile", "")),
                direct_number=str(a.get("direct_number", "")), position=a.get("position", "Менеджер"),
                role=a.get("role", "user"), dnd=bool(a.get("dnd", False)), lines=int(a.get("lines", 0)),
                only_internal=bool(a.get("only_internal", False)))
        elif kind == "remove_employee":
            state.remove_employee(self._employee(a).id)
        elif kind == "dnd":
            self._employee(a["employee"]).dnd = bool(a.get("on", True))
        elif kind == "blacklist":
            entry = a if isinstance(a, dict) else {"number": a}
            key = str(entry["number"]).lstrip("+")
            state.blacklist[key] = BlacklistEntry(number=key, comment=entry.get("comment", ""), source="MANUAL",
                                                  created_at=now)
        elif kind == "unblacklist":
            if state.blacklist.pop(str(a).lstrip("+"), None) is None:
                raise StepFailed(f"{a} is not blacklisted")
        elif kind == "block_anonymous":
            state.block_anonymous = bool(a)
        elif kind == "route":
            route = route_from_seed(RouteSeed.model_validate(_route_data(a["route"])))
            number = state.company_number(str(a["number"]))
            if number is None:
                state.numbers[str(a["number"])] = CompanyNumber(number=str(a["number"]), route=route)
            else:
                number.route = route
        elif kind == "number_enabled":
            number = state.company_number(str(a["number"]))
            if number is None:
                raise StepFailed(f"no company number {a['number']}")
            number.enabled = bool(a["enabled"])
        elif kind == "department":
            dept = state.departments.get(a["id"])
            if dept is None:
                dept = Department(id=a["id"], name=a.get("name", a["id"]), ext=str(a.get("ext") or state.free_ext(701)))
                state.departments[dept.id] = dept
            for key in ("name", "call_order", "ring_interval", "timeout", "timeout_target"):
                if key in a:
                    setattr(dept, key, a[key])
            if "timeout_value" in a:
                dept.timeout_value = str(a["timeout_value"])
            if "ext" in a:
                dept.ext = str(a["ext"])
            if "members" in a:
                dept.members = [DepartmentMember(self._employee(m).id) for m in a["members"]]
        elif kind == "record_calls":
            self.account.settings["record_calls"] = bool(a)
        elif kind == "pause":
            self.sim.engine.pause(self.account, self._employee(a["employee"]), bool(a.get("on", True)))
        elif kind == "lines":
            if "employee" in a:
                self._employee(a["employee"]).lines = int(a["lines"])
            else:
                self.account.settings["lines"] = int(a["lines"])
        elif kind == "only_internal":
            self._employee(a["employee"]).only_internal = bool(a.get("on", True))
        elif kind == "white_list":
            state.white_list = [str(n) for n in a]
        elif kind == "max_sessions":
            state.max_sessions = int(a)
        elif kind == "channels":
            number = state.company_number(str(a["number"]))
            if number is None:
                raise StepFailed(f"no company number {a['number']}")
            number.channels = int(a["channels"])
        else:   # the schema allows nothing else
            raise StepFailed(f"unknown step {kind}")

    # ---- the report ----------------------------------------------------------------------
    def _collect(self, obs: Observed) -> None:
        state = self.account.state
        for cid, call in self.calls.items():
            cdr = state.cdrs.get(call.id)
            if cdr is None:
                self.report.calls[cid] = f"{call.state} (not in history)"
                continue
            emp = state.employees.get(cdr.employee_id) if cdr.employee_id is not None else None
            bits = [cdr.outcome]
            if emp:
                bits.append(f"employee {emp.login}")
            if cdr.department_id:
                bits.append(f"department {cdr.department_id}")
            bits.append(f"wait {cdr.wait_s} s, talk {cdr.talk_s} s")
            if cdr.transfers:
                bits.append(f"transfers {cdr.transfer_history}")
            if cdr.record_file:
                bits.append("recorded")
            if cdr.rating is not None:
                bits.append(f"rating {cdr.rating}")
            self.report.calls[cid] = ", ".join(bits)
        for entry in obs.entries:
            ms = read(entry)
            self.report.webhooks.append(WebhookLine(
                at=entry.at, hook=entry.hook, milestones=list(dict.fromkeys(m.name for m in ms)),
                call=obs.call_of(entry, ms) if ms else None, request=_summary(entry.request_body),
                status=entry.status, answer=entry.response_body.strip()[:200], latency_ms=entry.latency_ms,
                error=entry.error, violations=list(entry.contract.get("violations", [])),
                signature=ms[0].signature if ms else entry.hook))


def _route_data(route: dict) -> dict:
    out = {k: (str(v) if k in ("target", "ivr_default") else v) for k, v in route.items()
           if k not in ("ivr", "work", "other", "on_busy")}
    if "ivr" in route:
        out["ivr"] = {str(d): _route_data(r) for d, r in route["ivr"].items()}
    for k in ("work", "other", "on_busy"):
        if route.get(k):
            out[k] = _route_data(route[k])
    return out


def _summary(body: str) -> str:
    text = body.strip()
    if text.startswith("{") or text.startswith("["):
        return text
    from urllib.parse import parse_qsl
    return " ".join(f"{k}={v}" for k, v in parse_qsl(text, keep_blank_values=True) if k != "crm_token")


# ---- entry points ----------------------------------------------------------------------------

def _skipped(scenario: Scenario, provider: str) -> ScenarioReport | None:
    if scenario.applies_to(provider):
        return None
    report = ScenarioReport(scenario.name, scenario.source, provider, status="skipped")
    report.notes.append(f"the scenario is for {', '.join(scenario.providers)} only")
    return report


def _crm_timeout(scenario: Scenario, given: float | None) -> float:
    """--crm-timeout, else the scenario's ``crm.timeout``, else 3 s."""
    if given is not None:
        return given
    if "timeout" in scenario.crm:
        return parse_duration(scenario.crm["timeout"])
    return 3.0


async def run_scenario(scenario: Scenario, provider: str, crm_url: str | None = None, speed: str = "instant",
                       crm_timeout: float | None = None, echo: Callable[[str], None] | None = None,
                       crm_token: str = CRM_TOKEN) -> ScenarioReport:
    """Run ``scenario`` against a fresh in-process simulator with one ``provider`` account."""
    skipped = _skipped(scenario, provider)
    if skipped:
        return skipped
    mode = clock_mode(speed)
    clock = Clock(mode, start=start_time(scenario.start))
    crm = None
    sim = None
    try:
        if not crm_url:
            crm = RecordingCrm(scenario.crm.get("contacts"), crm_token, provider=provider)
            crm_url = await crm.start()
        cfg = SimConfig(server=ServerConfig(seed=scenario.seed, clock=mode),
                        accounts=[account_config(scenario, provider, f"scenario-{provider}", crm_url,
                                                 _crm_timeout(scenario, crm_timeout), crm_token)])
        if crm is not None:
            crm.required_headers = cfg.accounts[0].crm.webhook_headers()
        sim = Simulator(cfg, clock, reproducible=True)
        await sim.start()
        if crm is not None:
            crm.employee_ext = _ext_of(sim, f"scenario-{provider}")
        if mode not in ("instant", "manual"):
            await clock.set(start_time(scenario.start))   # the set-up took wall time: start on time
        return await ScenarioRun(scenario, sim, f"scenario-{provider}", echo).execute()
    except Exception as err:   # a broken provider or core must show up in the report, not as a traceback
        log.exception("scenario %s on %s failed", scenario.name, provider)
        report = ScenarioReport(scenario.name, scenario.source, provider, status="error")
        report.error = f"{type(err).__name__}: {err}"
        return report
    finally:
        if sim is not None:
            await sim.close()
        else:
            await clock.close()
        if crm is not None:
            await crm.stop()


def _ext_of(sim: Simulator, account_id: str) -> Callable[[str], str | None]:
    def ext(ref: str) -> str | None:
        emp = sim.account(account_id).state.find_employee(ref)
        return emp.ext if emp else None
    return ext


async def run_on(sim: Simulator, scenario: Scenario, provider: str, crm_url: str | None = None,
                 crm_timeout: float | None = None) -> ScenarioReport:
    """Run ``scenario`` inside a running simulator, on a fresh account ``scenario-<provider>``
    (replaced on each run; it stays afterwards so its API and journal can be inspected).
    The simulator's clock is shared: the scenario's ``start`` is not applied."""
    skipped = _skipped(scenario, provider)
    if skipped:
        return skipped
    account_id = f"scenario-{provider}"
    crm = None
    try:
        if account_id in sim.accounts:
            for call in sim.engine.live_calls(account_id):
                await sim.engine.hangup(account_id, call.id)
            sim.providers[sim.accounts[account_id].provider].reset(sim, sim.accounts[account_id])
            sim.accounts.pop(account_id)
            sim.account_configs.pop(account_id, None)
            sim.webhook_journal.clear(account_id)
            sim.faults.clear(account_id)
            sim.account_clocks.pop(account_id, None)
        if not crm_url:
            crm = RecordingCrm(scenario.crm.get("contacts"), CRM_TOKEN, _ext_of(sim, account_id), provider)
            crm_url = await crm.start()
        cfg = account_config(scenario, provider, account_id, crm_url, _crm_timeout(scenario, crm_timeout))
        if crm is not None:
            crm.required_headers = cfg.crm.webhook_headers()
        await sim.add_account(cfg)
        report = await ScenarioRun(scenario, sim, account_id).execute()
        if scenario.start:
            report.notes.append("start time not applied: the running simulator's clock is shared")
        return report
    except Exception as err:
        log.exception("scenario %s on %s failed", scenario.name, provider)
        report = ScenarioReport(scenario.name, scenario.source, provider, status="error")
        report.error = f"{type(err).__name__}: {err}"
        return report
    finally:
        if crm is not None:
            await crm.stop()
            acc = sim.accounts.get(account_id)
            if acc is not None:     # the built-in CRM is gone: stop sending to it
                acc.crm.url = acc.crm.lookup_url = acc.crm.events_url = acc.crm.utm_url = None


__all__ = ["ScenarioRun", "run_scenario", "run_on", "clock_mode", "providers_of"]
