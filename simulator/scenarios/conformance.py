"""``ConformanceCheck``: send a CRM every webhook its provider sends and judge each answer.

A fixed catalogue of calls — every outcome, each webhook type and status, and the edge
cases (unknown number, anonymous caller, Cyrillic names, numbers with and without ``+`` and
with a trunk prefix, duplicated phonet events, UTM batches) — is written as a scenario
and played through an in-process simulator whose account's CRM URL is the CRM under test.
Each webhook sent is then judged from the journal: answered in time, with a 2xx status,
with a body that matches ``schemas/crm/<provider>/<hook>.json``.
"""

from __future__ import annotations

import time as _perf   # the wall time the check took, for the report (not simulated time)
from dataclasses import asdict, dataclass, field
from xml.etree import ElementTree as ET

import yaml

from .loader import parse_scenario
from .report import ScenarioReport, WebhookLine
from .runner import run_scenario

# what each provider sends, by wire signature: the check reports any it could not provoke
EXPECTED_SIGNATURES = {
    "vats": ["contact", "event:INCOMING", "event:OUTGOING", "event:ACCEPTED", "event:COMPLETED",
             "event:CANCELLED", "event:TRANSFERRED", "history:Success", "history:Missed", "history:Cancel",
             "history:Busy", "history:NotAvailable", "history:NotAllowed", "history:NotFound", "rating"],
    "cloudpbx": ["contact", "event:INCOMING", "event:OUTGOING", "event:ACCEPTED", "event:COMPLETED",
                 "event:CANCELLED", "event:TRANSFERRED", "history:Success", "history:Missed", "history:Cancel",
                 "history:Busy", "history:NotAvailable", "history:NotAllowed", "history:NotFound"],
    "phonet": ["call.settings", "call.dial", "call.bridge", "call.hangup", "utm"],
}


def _numbers(provider: str) -> dict[str, str]:
    if provider == "phonet":   # Ukrainian numbers: E.164, without '+', national with 0
        return {"plus": "+380501110001", "plain": "380501110002", "prefix": "0501110003",
                "unknown": "+380939990004", **{f"n{i}": f"+38050111{i:04d}" for i in range(10, 30)}}
    return {"plus": "+79161110001", "plain": "79161110002", "prefix": "89161110003",
            "unknown": "+79039990004", **{f"n{i}": f"7916111{i:04d}" for i in range(10, 30)}}


def catalogue(provider: str, duplicates: bool = False) -> str:
    """The catalogue of calls for ``provider`` as scenario YAML."""
    n = _numbers(provider)
    main, direct, ivr = "74950000001", "74950000002", "74950000003"
    if duplicates:
        steps = [{"incoming": {"id": "duplicated-events", "from": n["n29"], "to": direct, "talk": "20s"}}]
        return yaml.safe_dump({"name": "check-crm: duplicated events", "account": {"settings": {"duplicate_events": True}},
                               "steps": steps}, allow_unicode=True, sort_keys=False)

    def call(kind, cid, **kw):
        return {kind: {"id": cid, **kw, "background": True}}

    closed = "74950000009"
    steps = [
        {"add_employee": {"login": "yozhikova", "name": "Ёжикова Юлия Щукина-Эльдарова", "ext": "720"}},
        {"add_employee": {"login": "resting", "name": "Отдыхаева Ольга", "ext": "721",
                          "direct_number": "74951110021", "dnd": True}},
        {"blacklist": {"number": n["n24"].lstrip("+"), "comment": "спам"}},
        {"route": {"number": closed, "route": {"type": "schedule", "schedule": {}}}},   # never open
        call("incoming", "answered-plus-number", **{"from": n["plus"], "to": main}, answer="manager2", talk="45s",
             caller_name="Иван Петров"),
        call("incoming", "answered-plain-number", **{"from": n["plain"], "to": direct}, talk="20s"),
        call("incoming", "answered-prefixed-number", **{"from": n["prefix"], "to": direct}, talk="20s"),
        call("incoming", "unknown-number-ivr", **{"from": n["unknown"], "to": ivr}, ivr=1, talk="15s"),
        call("incoming", "missed-to-voicemail", **{"from": n["n10"], "to": main}, outcome="missed"),
        call("incoming", "cancelled-by-client", **{"from": n["n11"], "to": direct}, outcome="cancelled", ring="5s"),
        call("incoming", "transferred", **{"from": n["n12"], "to": direct}, answer="manager1", talk="60s",
             transfers=[{"to": "manager3", "after": "15s"}]),
        call("incoming", "rated", **{"from": n["n13"], "to": direct}, talk="30s", rating=5),
        call("incoming", "anonymous-caller", **{"from": "anonymous", "to": direct}, talk="10s"),
        call("incoming", "utm-tagged", **{"from": n["n14"], "to": direct}, talk="10s",
             utm={"utm_source": "yandex", "utm_medium": "cpc", "utm_campaign": "весна"}),
        call("incoming", "cyrillic-employee", **{"from": n["n15"], "to": "yozhikova"}, talk="10s"),
        call("incoming", "voicemail", **{"from": n["n25"], "to": "74950000005"}),
        call("incoming", "blacklisted-caller", **{"from": n["n24"], "to": direct}),
        call("incoming", "out-of-hours", **{"from": n["n26"], "to": closed}),
        call("incoming", "employee-in-dnd", **{"from": n["n27"], "to": "resting"}),
        call("outgoing", "outgoing-answered", employee="manager1", to=n["n16"], talk="40s"),
        call("outgoing", "outgoing-no-answer", employee="manager1", to=n["n17"], outcome="missed"),
        call("outgoing", "outgoing-busy", employee="manager2", to=n["n18"], outcome="busy"),
        call("outgoing", "outgoing-unavailable", employee="manager2", to=n["n19"], outcome="unavailable"),
        call("outgoing", "outgoing-forbidden", employee="manager3", to=n["n20"], outcome="forbidden"),
        call("outgoing", "outgoing-not-found", employee="manager3", to=n["n21"], outcome="not_found"),
        call("outgoing", "outgoing-cancelled", employee="manager3", to=n["n22"], outcome="cancelled", ring="8s"),
        call("click_to_call", "click-to-call", employee="manager2", to=n["n23"], talk="25s"),
        call("internal", "internal", **{"from": "manager1", "to": "manager2"}, talk="10s"),
        {"wait_for": ["answered-plus-number", "transferred", "outgoing-answered"]},
        {"wait": "2m"},
    ]
    # the calls run side by side: the employees' phones take several at once
    return yaml.safe_dump({"name": "check-crm catalogue", "account": {"settings": {"lines": 10}}, "steps": steps},
                          allow_unicode=True, sort_keys=False)


@dataclass
class WebhookVerdict:
    case: str
    hook: str
    signature: str
    at: str
    ok: bool
    status: int | None
    latency_ms: float
    problems: list[str] = field(default_factory=list)
    request: str = ""
    answer: str = ""


@dataclass
class ConformanceReport:
    provider: str
    url: str
    verdicts: list[WebhookVerdict] = field(default_factory=list)
    not_provoked: list[str] = field(default_factory=list)
    error: str = ""
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return not self.error and bool(self.verdicts) and all(v.ok for v in self.verdicts)

    def to_json(self) -> dict:
        return {**asdict(self), "passed": self.passed}

    def render(self, verbose: bool = False) -> str:
        bad = [v for v in self.verdicts if not v.ok]
        lines = [f"check-crm {self.provider} → {self.url}: {'PASS' if self.passed else 'FAIL'} "
                 f"({len(self.verdicts)} webhooks, {len(bad)} failed, {self.seconds:.1f} s)"]
        if self.error:
            lines.append(f"  error: {self.error}")
        unreachable = [v for v in self.verdicts if v.status is None and v.problems
                       and v.problems[0].startswith("connection failed")]
        if self.verdicts and len(unreachable) == len(self.verdicts) and not verbose:
            lines.append(f"  the CRM could not be reached: {unreachable[0].problems[0]}")
            return "\n".join(lines)
        case = None
        order = {c: i for i, c in enumerate(dict.fromkeys(v.case for v in self.verdicts))}
        for v in sorted(self.verdicts, key=lambda v: order[v.case]):
            if v.ok and not verbose:
                continue
            if v.case != case:
                case = v.case
                lines.append(f"  {case}:")
            answer = f"HTTP {v.status}" if v.status is not None else "no answer"
            lines.append(f"    {'✓' if v.ok else '✗'} {v.signature:<22} {answer}, {v.latency_ms:.0f} ms")
            lines.extend(f"        ! {p}" for p in v.problems)
        if self.not_provoked:
            lines.append(f"  not sent by the simulator (not checked): {', '.join(self.not_provoked)}")
        seen = sorted({v.signature for v in self.verdicts})
        lines.append(f"  webhooks checked: {', '.join(seen) if seen else 'none'}")
        return "\n".join(lines)

    def junit_xml(self) -> str:
        root = ET.Element("testsuites", name="pbx-sim check-crm")
        suite = ET.SubElement(root, "testsuite", name=f"check-crm.{self.provider}", tests=str(len(self.verdicts)),
                              failures=str(sum(not v.ok for v in self.verdicts)),
                              errors="1" if self.error else "0", time=f"{self.seconds:.3f}")
        if self.error:
            case = ET.SubElement(suite, "testcase", classname=f"check-crm.{self.provider}", name="run")
            ET.SubElement(case, "error", message=self.error)
        counts: dict[str, int] = {}
        for v in self.verdicts:
            key = f"{v.case}: {v.signature}"
            counts[key] = counts.get(key, 0) + 1
            name = key if counts[key] == 1 else f"{key} #{counts[key]}"
            case = ET.SubElement(suite, "testcase", classname=f"check-crm.{self.provider}.{v.case}", name=name,
                                 time=f"{v.latency_ms / 1000:.3f}")
            if not v.ok:
                el = ET.SubElement(case, "failure", message=v.problems[0] if v.problems else "failed")
                el.text = "\n".join(v.problems + [f"request: {v.request}", f"answer: {v.answer}"])
        for sig in self.not_provoked:
            case = ET.SubElement(suite, "testcase", classname=f"check-crm.{self.provider}", name=f"coverage: {sig}")
            ET.SubElement(case, "skipped", message="the simulator did not send it")
        ET.indent(root)
        return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _verdict(line: WebhookLine, timeout: float) -> WebhookVerdict:
    problems = []
    if line.error:
        if line.error.startswith("timeout"):
            problems.append(f"no answer within {timeout:g} s: the CRM took too long")
        else:
            problems.append(line.error)
    for v in line.violations:
        if line.error and line.error in v:
            continue
        problems.append(v)
    return WebhookVerdict(case=line.call or "-", hook=line.hook, signature=line.signature or line.hook, at=line.at,
                          ok=not problems, status=line.status, latency_ms=line.latency_ms, problems=problems,
                          request=line.request, answer=line.answer)


class ConformanceCheck:
    """Drive the catalogue against the CRM at ``url`` as provider ``provider``."""

    def __init__(self, provider: str, url: str, crm_token: str = "", timeout: float = 3.0):
        self.provider = provider
        self.url = url
        self.crm_token = crm_token
        self.timeout = timeout

    async def run(self) -> ConformanceReport:
        report = ConformanceReport(self.provider, self.url)
        if self.provider not in EXPECTED_SIGNATURES:
            report.error = (f"{self.provider} sends no webhooks to a CRM (its integration is pull-only): "
                            "nothing to check")
            return report
        started = _perf.perf_counter()
        runs: list[ScenarioReport] = []
        for duplicates in ([False, True] if self.provider == "phonet" else [False]):
            scenario = parse_scenario(catalogue(self.provider, duplicates), "<check-crm catalogue>")
            runs.append(await run_scenario(scenario, self.provider, crm_url=self.url, crm_timeout=self.timeout,
                                           crm_token=self.crm_token))
        report.seconds = round(_perf.perf_counter() - started, 3)
        for run in runs:
            if run.status == "error":
                report.error = run.error
            report.verdicts.extend(_verdict(line, self.timeout) for line in run.webhooks)
        seen = {v.signature for v in report.verdicts}
        report.not_provoked = [s for s in EXPECTED_SIGNATURES[self.provider] if s not in seen]
        return report
