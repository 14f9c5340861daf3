"""What a scenario run found: ``ScenarioReport`` (steps, webhooks with the CRM's answers,
expectations passed / failed / not applicable), rendered for a person or as JUnit XML."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from xml.etree import ElementTree as ET

PASSED, FAILED, NOT_APPLICABLE = "passed", "failed", "n/a"


@dataclass
class StepResult:
    index: int
    line: int
    kind: str
    text: str
    at: str = ""                 # simulated time the step started
    status: str = "ok"           # ok / failed / skipped
    message: str = ""


@dataclass
class WebhookLine:
    at: str
    hook: str
    milestones: list[str]
    call: str | None             # the scenario's call id
    request: str
    status: int | None
    answer: str
    latency_ms: float
    error: str | None
    violations: list[str]
    signature: str = ""          # the wire name: event:INCOMING, history:Success, call.dial ...


@dataclass
class ExpectationResult:
    title: str
    line: int
    status: str                  # passed / failed / n/a
    checks: list[tuple[str, str, str]] = field(default_factory=list)   # (status, what, detail)

    @property
    def failures(self) -> list[str]:
        return [f"{what}: {detail}" if detail else what for st, what, detail in self.checks if st == FAILED]


@dataclass
class ScenarioReport:
    name: str
    source: str
    provider: str
    status: str = PASSED         # passed / failed / skipped / error
    steps: list[StepResult] = field(default_factory=list)
    webhooks: list[WebhookLine] = field(default_factory=list)
    expectations: list[ExpectationResult] = field(default_factory=list)
    calls: dict[str, str] = field(default_factory=dict)   # call id → one-line outcome
    error: str = ""
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.status in (PASSED, "skipped")

    def finish(self) -> "ScenarioReport":
        if self.status in ("skipped", "error"):
            return self
        failed = any(e.status == FAILED for e in self.expectations) or any(s.status == "failed" for s in self.steps)
        self.status = FAILED if failed else PASSED
        return self

    def failures(self) -> list[str]:
        out = [f"line {s.line}: step {s.kind}: {s.message}" for s in self.steps if s.status == "failed"]
        for e in self.expectations:
            if e.status == FAILED:
                out.extend(f"line {e.line}: {e.title}: {f}" for f in e.failures)
        if self.error:
            out.append(self.error)
        return out

    def to_json(self) -> dict:
        data = asdict(self)
        data["passed"] = self.passed
        return data

    # ---- text ----------------------------------------------------------------------------
    def render(self, verbose: bool = True) -> str:
        mark = {PASSED: "PASS", FAILED: "FAIL", "skipped": "SKIP", "error": "ERROR"}[self.status]
        lines = [f"{mark} {self.name} [{self.provider}] ({self.source}, {self.seconds:.2f} s)"]
        if self.status == "skipped":
            lines.extend(f"  {n}" for n in self.notes)
            return "\n".join(lines)
        lines.extend(f"  note: {n}" for n in self.notes)
        if verbose:
            lines.append("  steps:")
            for s in self.steps:
                flag = {"ok": " ", "failed": "✗", "skipped": "-"}[s.status]
                when = s.at[11:19] + "Z" if s.at else " " * 9
                lines.append(f"   {flag} {when} line {s.line:<3} {s.text}"
                             + (f" — {s.message}" if s.message else ""))
            if self.calls:
                lines.append("  calls:")
                lines.extend(f"    {cid}: {text}" for cid, text in self.calls.items())
            if self.webhooks:
                lines.append("  webhooks:")
                for w in self.webhooks:
                    answer = w.error or (f"{w.status} {w.answer[:80]}" if w.answer else f"{w.status}")
                    ok = "✓" if not w.violations else "✗"
                    tag = f"[{', '.join(w.milestones)}]" if w.milestones else ""
                    lines.append(f"    {ok} {w.at[11:19]}Z {w.call or '-':<8} {w.hook:<12} {tag:<22} "
                                 f"{w.request[:100]}")
                    lines.append(f"        ← {answer} ({w.latency_ms:.0f} ms)")
                    lines.extend(f"        ! {v}" for v in w.violations)
        lines.append("  expectations:")
        for e in self.expectations:
            sym = {PASSED: "✓", FAILED: "✗", NOT_APPLICABLE: "–"}[e.status]
            lines.append(f"    {sym} line {e.line:<3} {e.title} — {e.status}")
            for st, what, detail in e.checks:
                if st == FAILED or verbose:
                    s2 = {PASSED: "✓", FAILED: "✗", NOT_APPLICABLE: "–"}[st]
                    lines.append(f"        {s2} {what}" + (f": {detail}" if detail else ""))
        if self.error:
            lines.append(f"  error: {self.error}")
        return "\n".join(lines)


def summary(reports: list[ScenarioReport]) -> str:
    counts = {k: sum(1 for r in reports if r.status == k) for k in (PASSED, FAILED, "error", "skipped")}
    return (f"{len(reports)} runs: {counts[PASSED]} passed, {counts[FAILED]} failed, "
            f"{counts['error']} errors, {counts['skipped']} skipped")


def junit_xml(reports: list[ScenarioReport], suite_name: str = "pbx-sim scenarios") -> str:
    """One testsuite per provider, one testcase per scenario run."""
    root = ET.Element("testsuites", name=suite_name)
    by_provider: dict[str, list[ScenarioReport]] = {}
    for r in reports:
        by_provider.setdefault(r.provider, []).append(r)
    for provider, items in by_provider.items():
        suite = ET.SubElement(root, "testsuite", name=f"{suite_name}.{provider}", tests=str(len(items)),
                              failures=str(sum(r.status == FAILED for r in items)),
                              errors=str(sum(r.status == "error" for r in items)),
                              skipped=str(sum(r.status == "skipped" for r in items)),
                              time=f"{sum(r.seconds for r in items):.3f}")
        for r in items:
            case = ET.SubElement(suite, "testcase", classname=f"{provider}.{_stem(r.source)}", name=r.name,
                                 file=r.source, time=f"{r.seconds:.3f}")
            if r.status == FAILED:
                fails = r.failures()
                el = ET.SubElement(case, "failure", message=fails[0] if fails else "failed", type="ExpectationFailed")
                el.text = "\n".join(fails)
            elif r.status == "error":
                el = ET.SubElement(case, "error", message=r.error.splitlines()[0] if r.error else "error")
                el.text = r.error
            elif r.status == "skipped":
                ET.SubElement(case, "skipped", message="; ".join(r.notes))
            out = ET.SubElement(case, "system-out")
            out.text = r.render()
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _stem(source: str) -> str:
    name = source.replace("\\", "/").rsplit("/", 1)[-1]
    return name.rsplit(".", 1)[0] if "." in name else name


def report_from_json(data: dict) -> ScenarioReport:
    """A report sent back by ``POST /_sim/scenarios/run``."""
    data = dict(data)
    data.pop("passed", None)
    report = ScenarioReport(**{k: v for k, v in data.items()
                               if k not in ("steps", "webhooks", "expectations")})
    report.steps = [StepResult(**s) for s in data.get("steps", [])]
    report.webhooks = [WebhookLine(**w) for w in data.get("webhooks", [])]
    report.expectations = [ExpectationResult(e["title"], e["line"], e["status"],
                                             [tuple(c) for c in e.get("checks", [])])
                           for e in data.get("expectations", [])]
    return report
