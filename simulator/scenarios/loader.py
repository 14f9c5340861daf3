"""Reading a scenario: YAML → data with the line of every node → JSON Schema check
(``schemas/scenario.schema.json``) → cross-checks (call ids, employees) → ``Scenario``.

An invalid file is refused with ``ScenarioError``, whose message names the file, the line,
the field and the reason for each problem."""

from __future__ import annotations

import datetime as _dt
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from .. import assets
from .model import CALL_STEPS, PROVIDERS, Expectation, Scenario, Step



class ScenarioError(Exception):
    """A scenario that cannot run; ``problems`` are (line, field, reason)."""

    def __init__(self, source: str, problems: list[tuple[int | None, str, str]]):
        self.source = source
        self.problems = problems
        lines = [f"{source}: invalid scenario"]
        for line, where, reason in problems:
            at = f"line {line}" if line else "file"
            lines.append(f"  {at}: {where or '(top level)'}: {reason}")
        super().__init__("\n".join(lines))


def schema() -> dict:
    return assets.scenario_schema()


@lru_cache(maxsize=1)
def _validator() -> Draft202012Validator:
    return Draft202012Validator(schema())


# ---- YAML with marks ------------------------------------------------------------------------

MAX_NODES = 100_000   # aliases can make a small text a huge document ("billion laughs")


def _to_data(loader: yaml.SafeLoader, node: yaml.Node, path: tuple, marks: dict, problems: list) -> Any:
    marks[path] = node.start_mark.line + 1
    if len(marks) > MAX_NODES:
        raise ScenarioError("", [(None, "", f"more than {MAX_NODES} values (aliases repeated?)")])
    if isinstance(node, yaml.MappingNode):
        out: dict = {}
        for key_node, value_node in node.value:
            # keys are names: 'on', 'yes', '1' stay text (YAML 1.1 would make 'on' a boolean)
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else \
                str(loader.construct_object(key_node, deep=True))
            if key in out:
                problems.append((key_node.start_mark.line + 1, _where(path + (key,)), "duplicate key"))
            out[key] = _to_data(loader, value_node, path + (key,), marks, problems)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_to_data(loader, item, path + (i,), marks, problems) for i, item in enumerate(node.value)]
    value = loader.construct_object(node, deep=True)
    if isinstance(value, (_dt.datetime, _dt.date)):
        value = value.isoformat()   # unquoted timestamps stay text, as written (ISO-8601)
    return value


def _where(path) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _line(marks: dict, path: tuple) -> int | None:
    path = tuple(path)
    while path and path not in marks:
        path = path[:-1]
    return marks.get(path)


def _reason(err: ValidationError) -> str:
    if err.validator == "additionalProperties":
        return err.message.replace("Additional properties are not allowed", "unknown field") \
            .replace(" was unexpected", "").replace(" were unexpected", "")
    if err.validator == "maxProperties" and isinstance(err.instance, dict):
        return f"exactly one action per item, got {', '.join(sorted(err.instance))}"
    if err.validator == "minProperties" and isinstance(err.instance, dict) and not err.instance:
        return "empty item: give one action"
    if err.validator == "required":
        return err.message.replace("is a required property", "is required")
    if err.validator == "enum":
        return f"{err.instance!r} is not one of {', '.join(map(str, err.validator_value))}"
    if err.validator == "pattern":
        if "ms|s|m|h|d" in str(err.validator_value):
            return f"{err.instance!r} is not a duration (seconds, or e.g. '90s', '2m', '1h')"
        if "\\d{4}-" in str(err.validator_value):
            return f"{err.instance!r} is not an ISO-8601 time like 2026-03-02T10:00:00+03:00"
        return f"{err.instance!r} does not have the expected form ({err.validator_value})"
    if err.validator in ("oneOf", "anyOf") and err.context:
        best = min(err.context, key=lambda e: (len(e.path), e.message))
        return _reason(best)
    return err.message


def load_scenario(path: str | Path) -> Scenario:
    p = Path(path)
    if not p.is_file():
        raise ScenarioError(str(p), [(None, "", "no such file")])
    try:
        text = p.read_text("utf-8")
    except UnicodeDecodeError:
        raise ScenarioError(str(p), [(None, "", "not UTF-8 text")]) from None
    return parse_scenario(text, str(p))


def parse_scenario(text: str, source: str = "<scenario>") -> Scenario:
    marks: dict = {}
    problems: list = []
    loader = None
    try:
        loader = yaml.SafeLoader(text)   # refuses control characters and lone surrogates
        node = loader.get_single_node()
        if node is None:
            raise ScenarioError(source, [(None, "", "the file is empty")])
        data = _to_data(loader, node, (), marks, problems)
    except ScenarioError as err:
        raise ScenarioError(source, err.problems) from None
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        raise ScenarioError(source, [(mark.line + 1 if mark else None, "", f"not valid YAML: {err.problem}")]) from None
    except yaml.YAMLError as err:
        raise ScenarioError(source, [(None, "", f"not valid YAML: {err}")]) from None
    except RecursionError:
        raise ScenarioError(source, [(None, "", "not valid YAML: nested too deeply, or an alias "
                                                "that contains itself")]) from None
    except (ValueError, TypeError, OverflowError) as err:
        # a tagged or implicit scalar its constructor refuses (2001-02-30, !!int abc, a
        # 5,000-digit integer)
        raise ScenarioError(source, [(None, "", f"not valid YAML: {str(err)[:200]}")]) from None
    finally:
        if loader is not None:
            loader.dispose()
    if not isinstance(data, dict):
        raise ScenarioError(source, [(1, "", "the top level must be a mapping with 'name' and 'steps'")])
    for err in sorted(_validator().iter_errors(data), key=lambda e: (_line(marks, e.absolute_path) or 0)):
        problems.append((_line(marks, err.absolute_path), _where(err.absolute_path), _reason(err)))
    if problems:
        raise ScenarioError(source, problems)
    scenario = _build(data, marks, source, text)
    _cross_check(scenario, marks, source)
    return scenario


def _expectations(items: list, base: tuple, marks: dict) -> list[Expectation]:
    out = []
    for i, item in enumerate(items):
        kind, args = next(iter(item.items()))
        out.append(Expectation(kind, args, _line(marks, base + (i,)) or 0, _where(base + (i,))))
    return out


def _build(data: dict, marks: dict, source: str, text: str) -> Scenario:
    steps = []
    for i, item in enumerate(data["steps"]):
        kind, args = next(iter(item.items()))
        step = Step(kind, args, _line(marks, ("steps", i)) or 0, i)
        if kind == "expect":
            step.expectations = _expectations(args, ("steps", i, "expect"), marks)
        steps.append(step)
    return Scenario(
        name=data["name"], steps=steps,
        expectations=_expectations(data.get("expect", []), ("expect",), marks),
        description=data.get("description", ""), tags=list(data.get("tags", [])),
        providers=list(data.get("providers", PROVIDERS)), start=data.get("start"),
        seed=int(data.get("seed", 1)), account=data.get("account", {}), crm=data.get("crm", {}),
        source=source, text=text)


def _cross_check(s: Scenario, marks: dict, source: str) -> None:
    """What a schema cannot say: call ids are unique and defined before they are used."""
    problems = []
    known: set[str] = set()
    auto = 0

    def check_ref(call: str | None, path: tuple, defined: set[str]) -> None:
        if call is not None and call not in defined:
            problems.append((_line(marks, path), _where(path),
                             f"no call {call!r} before this point (calls: {', '.join(sorted(defined)) or 'none'})"))

    every = set(s.call_ids())
    times = [(("start",), s.start)] + [(("steps", st.index, "set_clock"), st.args)
                                       for st in s.steps if st.kind == "set_clock"]
    for path, text in times:
        if text is None:
            continue
        try:
            datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError as err:
            problems.append((_line(marks, path), _where(path), f"{text!r} is not a valid time: {err}"))
    for step in s.steps:
        path = ("steps", step.index, step.kind)
        if step.kind in CALL_STEPS:
            cid = step.args.get("id")
            if cid is None:
                auto += 1
                cid = step.args["id"] = f"call{auto}"
                while cid in every:
                    auto += 1
                    cid = step.args["id"] = f"call{auto}"
            elif cid in known:
                problems.append((_line(marks, path + ("id",)), _where(path + ("id",)), f"call id {cid!r} is used twice"))
            known.add(cid)
            every.add(cid)
        elif step.kind == "wait_for":
            ids = [step.args] if isinstance(step.args, str) else step.args
            for cid in ids:
                check_ref(cid, path, known)
        elif step.kind in ("hangup", "hold"):
            check_ref(step.args["call"], path + ("call",), known)
        elif step.kind == "fault":
            problem = fault_problem(step.args)
            if problem:
                problems.append((_line(marks, path), _where(path), problem))
        elif step.kind == "expect":
            for e in step.expectations:
                check_ref(e.args.get("call"), ("steps", step.index, "expect"), known)
    for e in s.expectations:
        check_ref(e.args.get("call"), ("expect",), known)
    problems.extend(_office_refs(s, marks))
    if problems:
        raise ScenarioError(source, problems)


def fault_problem(args: dict) -> str | None:
    """Why a ``fault`` step's fault (as POST /_sim/faults takes it, for the scenario's
    account) is not one, else None."""
    from pydantic import ValidationError

    from ..core.faults import FaultSpec
    try:
        FaultSpec.model_validate({**args, "account": "scenario"})
    except ValidationError as err:
        return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'fault'}: {e['msg']}" for e in err.errors())
    return None


def _office_refs(s: Scenario, marks: dict) -> list:
    """Employees, departments and route targets named in the scenario exist in its office
    (the built-in one, the ``account`` block, and ``add_employee`` steps before the use)."""
    from .office import office

    o = office(s)
    problems = []
    people: dict[str, set[str]] = {}      # login → the refs that name them

    def add(e: dict) -> None:
        people[e["login"]] = {str(e["login"]), *(str(e[k]).lstrip("+") for k in ("ext", "direct_number", "mobile")
                                                 if e.get(k) not in (None, ""))}

    for e in o["employees"]:
        add(e)
    departments = {d["id"] for d in o["departments"]}
    ever = set(people)

    def employee(ref, path) -> None:
        if ref is None:
            return
        text = str(ref).lstrip("+")
        if not any(text in refs for refs in people.values()):
            problems.append((_line(marks, path), _where(path), f"no employee {ref!r} in the office "
                             f"(employees: {', '.join(sorted(people))})"))

    def route(r: dict, path: tuple) -> None:
        if r.get("type") == "employee":
            employee(r.get("target"), path + ("target",))
        elif r.get("type") == "department" and str(r.get("target")) not in departments:
            problems.append((_line(marks, path + ("target",)), _where(path + ("target",)),
                             f"no department {r.get('target')!r} (departments: {', '.join(sorted(departments))})"))
        for digit, sub in (r.get("ivr") or {}).items():
            route(sub, path + ("ivr", digit))
        for k in ("work", "other"):
            if r.get(k):
                route(r[k], path + (k,))

    def department(d: dict, path: tuple) -> None:
        for i, m in enumerate(d.get("members", [])):
            employee(m, path + ("members", i))
        if d.get("timeout_target") == "employee":
            employee(d.get("timeout_value"), path + ("timeout_value",))

    acc = s.account
    for i, d in enumerate(acc.get("departments", [])):
        department(d, ("account", "departments", i))
    for i, n in enumerate(acc.get("numbers", [])):
        if "route" in n:
            route(n["route"], ("account", "numbers", i, "route"))
    for step in s.steps:
        a, path = step.args, ("steps", step.index, step.kind)
        if step.kind == "add_employee":
            add(a)
            ever.add(a["login"])
        elif step.kind == "remove_employee":
            employee(a, path)
            people = {k: v for k, v in people.items() if str(a) not in v}
        elif step.kind == "dnd":
            employee(a["employee"], path + ("employee",))
        elif step.kind == "department":
            departments.add(a["id"])
            department(a, path)
        elif step.kind == "route":
            route(a["route"], path + ("route",))
        elif step.kind in ("outgoing", "click_to_call"):
            employee(a["employee"], path + ("employee",))
        elif step.kind == "internal":
            employee(a["from"], path + ("from",))
            employee(a["to"], path + ("to",))
        elif step.kind == "incoming" and not any(ch.isdigit() for ch in str(a["to"])):
            employee(a["to"], path + ("to",))
        if step.is_call:
            employee(a.get("answer"), path + ("answer",))
            for i, t in enumerate(a.get("transfers", [])):
                employee(t["to"], path + ("transfers", i, "to"))
    return problems


__all__ = ["ScenarioError", "load_scenario", "parse_scenario", "schema"]
