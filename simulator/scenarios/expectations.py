"""Checking a scenario's expectations against what happened.

- ``webhooks``: the neutral milestones of a call (``wire.py``) — order, presence, counts,
  neutral fields — plus an optional block per provider with exact wire names and fields.
  A milestone a provider never sends is "not applicable" there (t2 sends none).
- ``crm_answers``: what the CRM answered — the lookup's name and responsible employee,
  every answer in time, with a status, keeping the contract.
- ``history``: the call record (CDR) in neutral terms.
- ``state``: the account afterwards (employees, blacklist, calls).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..core.clock import parse_duration
from ..core.engine import Call
from ..core.webhooks import WebhookAttempt
from .model import Expectation
from .report import FAILED, NOT_APPLICABLE, PASSED, ExpectationResult
from .wire import Milestone, capabilities, digits, lookup_answer, read

SIDES = {"in": {"client": "A", "caller": "A", "employee": "B", "callee": "B"},
         "out": {"employee": "A", "caller": "A", "client": "B", "callee": "B"},
         "internal": {"caller": "A", "employee": "A", "callee": "B", "client": "B"}}


def _ts(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


@dataclass
class Observed:
    """Everything a run left behind, for the expectations to read."""
    sim: Any
    account: Any
    provider: str
    calls: dict[str, Call]
    entries: list[WebhookAttempt] = field(default_factory=list)
    tolerance: float = 0.0      # seconds; > 0 when the clock follows the wall clock

    def refresh(self) -> None:
        self.entries = self.sim.webhook_journal.entries(self.account.id)

    # ---- which webhooks belong to which call -------------------------------------------
    def call_of(self, entry: WebhookAttempt, milestones: list[Milestone]) -> str | None:
        for cid, call in self.calls.items():
            if self._belongs(call, entry, milestones):
                return cid
        return None

    def _belongs(self, call: Call, entry: WebhookAttempt, milestones: list[Milestone]) -> bool:
        ids = {call.id} | {leg.id for leg in call.legs}
        if entry.call in ids:
            return True
        if any(m.ids & ids for m in milestones):
            return True
        if entry.call is None and any(m.name == "lookup" and not m.ids for m in milestones):
            # a lookup names no call: the same client, while this call was being set up
            phone = milestones[0].fields.get("phone")
            at = _ts(entry.at)
            end = call.ended_at if call.ended_at is not None else float("inf")
            return digits(phone) == digits(call.client) and call.created_at <= at <= end
        return False

    def attempts(self, call: Call | None) -> list[tuple[WebhookAttempt, list[Milestone]]]:
        """Every attempt (retries too) for ``call`` (None: the whole run), with its milestones."""
        out = []
        for entry in self.entries:
            ms = read(entry)
            if call is None or (ms and self._belongs(call, entry, ms)):
                out.append((entry, ms))
        return out

    def milestones(self, call: Call) -> list[Milestone]:
        out = []
        for entry in self.entries:
            if entry.attempt != 1:
                continue    # a retry repeats a webhook already counted (its first attempt)
            ms = read(entry)
            if ms and self._belongs(call, entry, ms):
                out.extend(ms)
        return out

    # ---- neutral comparisons -----------------------------------------------------------
    def employee(self, ref: Any):
        if ref in (None, ""):
            return None
        state = self.account.state
        return state.find_employee(str(ref)) or state.employee_by_email(str(ref))

    def same(self, name: str, expected: Any, actual: Any) -> bool:
        if expected is None:
            return actual in (None, "", [])
        if actual is None:
            return False
        if name in ("phone", "trunk"):
            return digits(expected) == digits(actual)
        if name in ("employee", "callee", "responsible"):
            a, b = self.employee(expected), self.employee(actual)
            return (a is not None and a is b) or str(expected) == str(actual)
        if name == "department":
            dept = self.account.state.departments.get(str(expected))
            return str(actual) in {str(expected), dept.name if dept else None, dept.ext if dept else None}
        if isinstance(expected, bool):
            return (str(actual).lower() in ("1", "true", "yes")) == expected if not isinstance(actual, bool) \
                else actual == expected
        if isinstance(expected, (int, float)):
            try:
                return abs(float(actual) - float(expected)) <= (self.tolerance if name == "duration" else 0)
            except (TypeError, ValueError):
                return False
        return str(expected).lower() == str(actual).lower()


def _verdict(result: ExpectationResult) -> ExpectationResult:
    states = {c[0] for c in result.checks}
    result.status = FAILED if FAILED in states else PASSED if PASSED in states else NOT_APPLICABLE
    return result


def evaluate(exp: Expectation, obs: Observed) -> ExpectationResult:
    result = ExpectationResult(exp.describe(), exp.line, NOT_APPLICABLE)
    fn = {"webhooks": _webhooks, "crm_answers": _crm_answers, "history": _history, "state": _state}[exp.kind]
    fn(exp.args, obs, result)
    return _verdict(result)


def _fmt(names: list[str]) -> str:
    return " → ".join(names) if names else "(nothing)"


def _subsequence(expected: list[str], actual: list[str]) -> str | None:
    """None when ``expected`` occurs in ``actual`` in order; else what is missing."""
    pos = 0
    for name in expected:
        try:
            pos = actual.index(name, pos) + 1
        except ValueError:
            return f"no {name!r}" + (f" after {actual[pos - 1]!r}" if pos else "")
    return None


# ---- webhooks -------------------------------------------------------------------------------

def _webhooks(args: dict, obs: Observed, r: ExpectationResult) -> None:
    calls = [obs.calls[args["call"]]] if args.get("call") else list(obs.calls.values())
    direction = calls[0].direction if len(calls) == 1 else None
    caps = capabilities(obs.provider, direction)
    found: list[Milestone] = []
    for call in calls:
        found.extend(obs.milestones(call))
    actual = [m.name for m in found]

    def na(what: str) -> None:
        r.checks.append((NOT_APPLICABLE, what, f"{obs.provider} does not send it"
                         + (f" for {direction} calls" if direction else "")))

    if "order" in args:
        want = [m for m in args["order"] if m in caps]
        skipped = [m for m in args["order"] if m not in caps]
        if not want:
            na(f"order {_fmt(args['order'])}")
        else:
            miss = _subsequence(want, actual)
            what = f"order {_fmt(want)}" + (f" (not applicable: {', '.join(skipped)})" if skipped else "")
            r.checks.append((FAILED, what, f"{miss}; got {_fmt(actual)}") if miss else (PASSED, what, ""))
    for name in args.get("includes", []):
        if name not in caps:
            na(f"includes {name}")
        elif name in actual:
            r.checks.append((PASSED, f"includes {name}", ""))
        else:
            r.checks.append((FAILED, f"includes {name}", f"not sent; got {_fmt(actual)}"))
    for name in args.get("absent", []):
        if name not in caps:
            na(f"absent {name}")
        elif name in actual:
            r.checks.append((FAILED, f"absent {name}", f"sent {actual.count(name)} time(s); got {_fmt(actual)}"))
        else:
            r.checks.append((PASSED, f"absent {name}", ""))
    for name, n in args.get("count", {}).items():
        if name not in caps:
            na(f"count {name} = {n}")
        else:
            got = actual.count(name)
            r.checks.append((PASSED, f"count {name} = {n}", "") if got == n
                            else (FAILED, f"count {name} = {n}", f"sent {got} time(s)"))
    for name, fields in args.get("fields", {}).items():
        what = f"{name} with {fields}"
        if name not in caps:
            na(what)
            continue
        candidates = [m for m in found if m.name == name]
        if not candidates:
            r.checks.append((FAILED, what, f"no {name} was sent; got {_fmt(actual)}"))
            continue
        known = {k: v for k, v in fields.items() if any(k in m.fields for m in candidates)}
        unknown = sorted(set(fields) - set(known))
        if unknown:
            r.checks.append((NOT_APPLICABLE, f"{name} fields {', '.join(unknown)}",
                             f"{obs.provider}'s {name} does not carry them"))
        if not known:
            continue
        if any(all(obs.same(k, v, m.fields.get(k)) for k, v in known.items()) for m in candidates):
            r.checks.append((PASSED, f"{name} with {known}", ""))
        else:
            seen = "; ".join(str({k: m.fields.get(k) for k in known}) for m in candidates)
            r.checks.append((FAILED, f"{name} with {known}", f"got {seen}"))
    block = args.get(obs.provider)
    if block:
        _wire_block(block, found, obs, r)
    if not r.checks:
        na("webhooks")


def _sig_match(sig: str, m: Milestone) -> bool:
    return m.signature == sig or m.signature.split(":", 1)[0] == sig or m.attempt.hook == sig


def _path(data: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        if isinstance(data, dict):
            data = data.get(part)
        elif isinstance(data, list) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        else:
            return None
    return data


def _wire_same(expected: Any, actual: Any, tolerance: float = 0.0) -> bool:
    if expected is None:
        return actual is None or actual == ""
    if isinstance(expected, bool):
        return actual == expected or str(actual).lower() == str(expected).lower()
    if isinstance(expected, (int, float)) and not isinstance(actual, bool):
        try:
            return abs(float(actual) - float(expected)) <= tolerance
        except (TypeError, ValueError):
            return False
    return str(actual) == str(expected)


def _wire_block(block: dict, found: list[Milestone], obs: Observed, r: ExpectationResult) -> None:
    seen: list[Milestone] = []
    for m in found:   # one entry per request, whatever milestones it stands for
        if not seen or seen[-1].attempt is not m.attempt:
            seen.append(m)
    sigs = [m.signature for m in seen]
    p = obs.provider
    if "order" in block:
        pos, miss = 0, None
        for sig in block["order"]:
            while pos < len(seen) and not _sig_match(sig, seen[pos]):
                pos += 1
            if pos >= len(seen):
                miss = f"no {sig!r} in order"
                break
            pos += 1
        what = f"{p} order {_fmt(block['order'])}"
        r.checks.append((FAILED, what, f"{miss}; got {_fmt(sigs)}") if miss else (PASSED, what, ""))
    for sig in block.get("absent", []):
        hits = [m for m in seen if _sig_match(sig, m)]
        r.checks.append((FAILED, f"{p} absent {sig}", f"sent {len(hits)} time(s)") if hits
                        else (PASSED, f"{p} absent {sig}", ""))
    for sig, fields in block.get("fields", {}).items():
        what = f"{p} {sig} with {fields}"
        cands = [m for m in seen if _sig_match(sig, m)]
        if not cands:
            r.checks.append((FAILED, what, f"no {sig} was sent; got {_fmt(sigs)}"))
        elif any(all(_wire_same(v, _path(m.wire, k), obs.tolerance) for k, v in fields.items()) for m in cands):
            r.checks.append((PASSED, what, ""))
        else:
            got = "; ".join(str({k: _path(m.wire, k) for k in fields}) for m in cands)
            r.checks.append((FAILED, what, f"got {got}"))


# ---- CRM answers ----------------------------------------------------------------------------

def _crm_answers(args: dict, obs: Observed, r: ExpectationResult) -> None:
    call = obs.calls[args["call"]] if args.get("call") else None
    caps = capabilities(obs.provider, call.direction if call else None)
    pairs = obs.attempts(call)
    entries = [entry for entry, _ in pairs]
    found = [m for _, ms in pairs for m in ms]
    if "lookup" in args:
        want = args["lookup"]
        lookups = [m for m in found if m.name == "lookup"]
        what = f"lookup answered {want}"
        if "lookup" not in caps:
            r.checks.append((NOT_APPLICABLE, what, f"{obs.provider} sends no lookup here"))
        elif not lookups:
            r.checks.append((FAILED, what, "no lookup was sent"))
        else:
            attempt = lookups[-1].attempt
            got = lookup_answer(obs.provider, attempt.answer)
            bad = [f"{k} {got.get(k)!r}, expected {v!r}" for k, v in want.items()
                   if not (obs.same("responsible", v, got.get(k)) if k == "responsible"
                           else (v is None and got.get(k) in (None, "")) or got.get(k) == v)]
            if attempt.error:
                bad.insert(0, attempt.error)
            r.checks.append((FAILED, what, "; ".join(bad)) if bad else (PASSED, what, ""))
    checks = [(k, args[k]) for k in ("in_time", "status", "contract") if k in args]
    if checks and not entries:
        for k, v in checks:
            r.checks.append((NOT_APPLICABLE, f"{k} {v}", f"{obs.provider} sent no webhooks here"))
        return
    for k, v in checks:
        if k == "in_time":
            late = [e for e in entries if e.error and e.error.startswith("timeout")]
            bad = [f"{e.hook} at {e.at[11:19]}: {e.error}" for e in late]
            ok = (not late) == v
            r.checks.append((PASSED, f"every answer in time ({len(entries)})", "") if ok
                            else (FAILED, "every answer in time" if v else "some answer late", "; ".join(bad) or
                                  "every answer was in time"))
        elif k == "status":
            bad = [f"{e.hook}: {e.status if e.status is not None else e.error}" for e in entries if e.status != v]
            r.checks.append((FAILED, f"every answer HTTP {v}", "; ".join(bad)) if bad
                            else (PASSED, f"every answer HTTP {v} ({len(entries)})", ""))
        elif k == "contract":
            bad = [v2 for e in entries for v2 in e.contract.get("violations", [])]
            ok = (not bad) == v
            r.checks.append((PASSED, f"answers keep the contract ({len(entries)})", "") if ok
                            else (FAILED, "answers keep the contract" if v else "some answer breaks the contract",
                                  "; ".join(bad) or "no violation"))


# ---- history (CDRs) -------------------------------------------------------------------------

def _range_check(name: str, want: Any, got: int, r: ExpectationResult, tol: float = 0.0) -> None:
    if isinstance(want, dict):
        lo = parse_duration(want["min"]) if "min" in want else None
        hi = parse_duration(want["max"]) if "max" in want else None
        ok = (lo is None or got >= lo - tol) and (hi is None or got <= hi + tol)
        r.checks.append((PASSED if ok else FAILED, f"{name} in [{lo if lo is not None else ''}, "
                         f"{hi if hi is not None else ''}] s", "" if ok else f"was {got} s"))
    else:
        secs = round(parse_duration(want))
        r.checks.append((PASSED, f"{name} {secs} s", "") if abs(got - secs) <= tol
                        else (FAILED, f"{name} {secs} s", f"was {got} s"))


def _history(args: dict, obs: Observed, r: ExpectationResult) -> None:
    call = obs.calls[args["call"]]
    cdr = obs.account.state.cdrs.get(call.id)
    if cdr is None:
        r.checks.append((FAILED, "in history", f"call {args['call']} is not in history (state {call.state})"))
        return
    r.checks.append((PASSED, "in history", ""))
    state = obs.account.state

    def login(emp_id):
        emp = state.employees.get(emp_id) if emp_id is not None else None
        return emp.login if emp else None

    def check(what, ok, got):
        r.checks.append((PASSED, what, "") if ok else (FAILED, what, f"was {got}"))

    if "outcome" in args:
        want = args["outcome"] if isinstance(args["outcome"], list) else [args["outcome"]]
        check(f"outcome {' or '.join(want)}", cdr.outcome in want, cdr.outcome)
    if "direction" in args:
        check(f"direction {args['direction']}", cdr.direction == args["direction"], cdr.direction)
    if "employee" in args:
        want = args["employee"]
        emp = obs.employee(want)
        check(f"employee {want}", (want is None and cdr.employee_id is None) or
              (emp is not None and emp.id == cdr.employee_id), login(cdr.employee_id))
    if "department" in args:
        want = args["department"]
        check(f"department {want}", cdr.department_id == want, cdr.department_id)
    if "destination" in args:
        check(f"destination {args['destination']}", cdr.destination == args["destination"], cdr.destination)
    if "talk" in args:
        _range_check("talk", args["talk"], cdr.talk_s, r, obs.tolerance)
    if "wait" in args:
        _range_check("wait", args["wait"], cdr.wait_s, r, obs.tolerance)
    if "recording" in args:
        check(f"recording {'present' if args['recording'] else 'absent'}",
              bool(cdr.record_file) == args["recording"], cdr.record_file or "none")
    if "rating" in args:
        check(f"rating {args['rating']}", cdr.rating == args["rating"], cdr.rating)
    if "transfers" in args:
        want = [obs.employee(t).ext if obs.employee(t) else str(t) for t in args["transfers"]]
        check(f"transfers {' > '.join(args['transfers'])}", list(cdr.transfers) == want,
              " > ".join(login(state.find_employee(x).id) if state.find_employee(x) else x
                         for x in cdr.transfers) or "none")
    if "rang" in args:
        got = [login(eid) for eid in cdr.employee_ids]
        want = [obs.employee(x).login if obs.employee(x) else x for x in args["rang"]]
        check(f"rang {', '.join(args['rang'])}", got == want, ", ".join(str(g) for g in got) or "nobody")
    if "hangup" in args:
        side = SIDES[cdr.direction][args["hangup"]]
        who = {"in": {"A": "client", "B": "employee"}, "out": {"A": "employee", "B": "client"},
               "internal": {"A": "caller", "B": "callee"}}[cdr.direction].get(cdr.hangup_side, cdr.hangup_side)
        check(f"{args['hangup']} hung up", cdr.hangup_side == side, f"the {who}")


# ---- account state --------------------------------------------------------------------------

def _state(args: dict, obs: Observed, r: ExpectationResult) -> None:
    state = obs.account.state
    if "employee" in args:
        want = args["employee"]
        emp = state.employee_by_login(want["login"])
        if "exists" in want:
            r.checks.append((PASSED if (emp is not None) == want["exists"] else FAILED,
                             f"employee {want['login']} {'exists' if want['exists'] else 'is gone'}", ""))
        if "dnd" in want:
            if emp is None:
                r.checks.append((FAILED, f"employee {want['login']} dnd {want['dnd']}", "no such employee"))
            else:
                r.checks.append((PASSED if emp.dnd == want["dnd"] else FAILED,
                                 f"employee {want['login']} dnd {want['dnd']}", f"dnd is {emp.dnd}"
                                 if emp.dnd != want["dnd"] else ""))
    if "blacklist" in args:
        want = args["blacklist"]
        number = str(want["number"]).lstrip("+")
        entry = state.blacklist.get(number)
        if "listed" in want:
            r.checks.append((PASSED if (entry is not None) == want["listed"] else FAILED,
                             f"{number} {'is' if want['listed'] else 'is not'} blacklisted", ""))
        if "blocked_calls" in want:
            got = len(entry.blocked_at) if entry else 0
            r.checks.append((PASSED if got == want["blocked_calls"] else FAILED,
                             f"{number} blocked {want['blocked_calls']} call(s)",
                             f"blocked {got}" if got != want["blocked_calls"] else ""))
    if "calls" in args:
        want = args["calls"]
        if "total" in want:
            got = len(state.cdrs)
            r.checks.append((PASSED if got == want["total"] else FAILED, f"{want['total']} calls in history",
                             f"{got} in history" if got != want["total"] else ""))
        if "live" in want:
            got = len(obs.sim.engine.live_calls(obs.account.id))
            r.checks.append((PASSED if got == want["live"] else FAILED, f"{want['live']} live calls",
                             f"{got} live" if got != want["live"] else ""))
