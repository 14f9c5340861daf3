"""``POST /_sim/verify``: did the CRM get the webhooks (or call the API) a test expects?

Reads the two journals as they are (no record of its own): counts the entries a matcher
matches, and when the count is off, names the closest other entries and which fields
differed. ``within`` waits on the simulator clock for the count to come right (on a manual
clock nobody else moves time, so the wait moves it).
"""

from __future__ import annotations

import json
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .core.clock import parse_duration

if TYPE_CHECKING:
    from .sim import Simulator

NEAR_MISSES = 3          # how many of the closest entries a failed verification names
STEP_S = 0.25            # how far the clock moves between two looks while waiting
MAX_WITHIN_S = 600.0
_MISSING = object()


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WebhookMatcher(_Model):
    """Webhooks the simulator sent: every attempt in the webhook journal."""
    account: str | None = None
    hook: str | None = Field(None, description="hook name, a glob (history, event, call.*)")
    call: str | None = None
    fields: dict[str, Any] = Field(default_factory=dict,
                                   description="payload fields (dotted for nested: leg.ext) and their values")
    delivered: bool | None = Field(None, description="true: the CRM answered 2xx")
    status: int | None = Field(None, description="the CRM's answer status")


class RequestMatcher(_Model):
    """Requests the CRM made: every entry in the request journal."""
    account: str | None = None
    method: str | None = None
    path: str | None = Field(None, description="path glob, without the query")
    query: dict[str, str] = Field(default_factory=dict, description="query parameters and their values")
    status: int | None = Field(None, description="the simulator's answer status")

    @field_validator("method")
    @classmethod
    def _upper(cls, v: str | None) -> str | None:
        return None if v in (None, "", "*") else v.upper()


class Count(_Model):
    min: int = Field(1, ge=0)
    max: int | None = Field(None, ge=0)

    @model_validator(mode="after")
    def _order(self) -> "Count":
        if self.max is not None and self.max < self.min:
            raise ValueError("count.max is below count.min")
        return self


class VerifySpec(_Model):
    webhooks: WebhookMatcher | None = None
    requests: RequestMatcher | None = None
    count: Count = Field(default_factory=Count)
    within: float | str = Field(0, description="wait up to this long (simulator time) for the count")

    @field_validator("within")
    @classmethod
    def _within(cls, v: Any) -> float:
        seconds = parse_duration(v)
        if not 0 <= seconds <= MAX_WITHIN_S:
            raise ValueError(f"within must be between 0 and {MAX_WITHIN_S:g} seconds")
        return seconds

    @model_validator(mode="after")
    def _one(self) -> "VerifySpec":
        if (self.webhooks is None) == (self.requests is None):
            raise ValueError("give webhooks or requests (one of them)")
        return self


# ---- reading entries -----------------------------------------------------------------------------

def payload(entry: dict) -> Any:
    """A webhook attempt's body as the CRM read it: JSON, or form fields."""
    text = entry.get("request_body") or ""
    content_type = ""
    for key, value in (entry.get("request_headers") or {}).items():
        if key.lower() == "content-type":
            content_type = value
    if "form" in content_type:
        return dict(parse_qsl(text, keep_blank_values=True))
    try:
        return json.loads(text)
    except ValueError:
        return dict(parse_qsl(text, keep_blank_values=True)) if "=" in text else text


def _dig(data: Any, dotted: str) -> Any:
    if isinstance(data, dict) and dotted in data:
        return data[dotted]
    node = data
    for part in dotted.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return _MISSING
    return node


def _same(actual: Any, expected: Any) -> bool:
    """Equal, or equal as the text a form field would carry ("99" and 99, "true" and True)."""
    if actual is _MISSING:
        return False
    if actual == expected and type(actual) is type(expected):
        return True
    def text(v: Any) -> str:
        return ("true" if v else "false") if isinstance(v, bool) else str(v)
    return not isinstance(actual, (dict, list)) and text(actual) == text(expected)


def _diff(field: str, actual: Any, expected: Any) -> dict:
    return {"field": field, "expected": expected, "actual": None if actual is _MISSING else actual,
            **({"missing": True} if actual is _MISSING else {})}


def webhook_differences(m: WebhookMatcher, entry: dict) -> list[dict]:
    out = []
    for key in ("account", "call"):
        want = getattr(m, key)
        if want is not None and entry.get(key) != want:
            out.append(_diff(key, entry.get(key), want))
    if m.hook is not None and not fnmatchcase(str(entry.get("hook")), m.hook):
        out.append(_diff("hook", entry.get("hook"), m.hook))
    if m.delivered is not None and bool(entry.get("delivered")) != m.delivered:
        out.append(_diff("delivered", entry.get("delivered"), m.delivered))
    if m.status is not None and entry.get("status") != m.status:
        out.append(_diff("status", entry.get("status"), m.status))
    if m.fields:
        body = payload(entry)
        for name, want in m.fields.items():
            got = _dig(body, name)
            if not _same(got, want):
                out.append(_diff(f"fields.{name}", got, want))
    return out


def request_differences(m: RequestMatcher, entry: dict) -> list[dict]:
    out = []
    if m.account is not None and entry.get("account") != m.account:
        out.append(_diff("account", entry.get("account"), m.account))
    if m.method is not None and entry.get("method") != m.method:
        out.append(_diff("method", entry.get("method"), m.method))
    parts = urlsplit(entry.get("path") or "")
    if m.path is not None and not fnmatchcase(parts.path, m.path):
        out.append(_diff("path", parts.path, m.path))
    if m.status is not None and entry.get("status") != m.status:
        out.append(_diff("status", entry.get("status"), m.status))
    if m.query:
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        for name, want in m.query.items():
            got = query.get(name, _MISSING)
            if not _same(got, want):
                out.append(_diff(f"query.{name}", got, want))
    return out


def _summary(entry: dict, kind: str) -> dict:
    if kind == "webhooks":
        keys = ("id", "account", "hook", "call", "at", "attempt", "status", "delivered")
    else:
        keys = ("id", "account", "method", "path", "status", "at")
    return {k: entry.get(k) for k in keys}


def evaluate(sim: "Simulator", spec: VerifySpec) -> dict:
    """One look at the journals: ``{"ok", "matched"}``, and ``near_misses`` when not ok."""
    if spec.webhooks is not None:
        kind, matcher, differences = "webhooks", spec.webhooks, webhook_differences
        entries = [e.to_json() for e in sim.webhook_journal.entries()]
    else:
        kind, matcher, differences = "requests", spec.requests, request_differences
        entries = [e.to_json() for e in sim.requests.entries()]
        entries = [e for e in entries if not str(e.get("path", "")).startswith("/_sim")]
    matched, misses = 0, []
    for entry in entries:
        diff = differences(matcher, entry)
        if diff:
            misses.append((len(diff), -int(entry.get("id") or 0), entry, diff))
        else:
            matched += 1
    count = spec.count
    ok = matched >= count.min and (count.max is None or matched <= count.max)
    if ok:
        return {"ok": True, "matched": matched}
    misses.sort(key=lambda m: (m[0], m[1]))
    near = [{**_summary(entry, kind), "differences": diff} for _, _, entry, diff in misses[:NEAR_MISSES]]
    return {"ok": False, "matched": matched, "near_misses": near}


async def verify(sim: "Simulator", spec: VerifySpec) -> dict:
    """``evaluate``, looking again while ``within`` lasts on the simulator clock, until the
    count is right (or past its maximum, which waiting cannot mend)."""
    clock = sim.clock
    deadline = clock.timestamp() + float(spec.within)
    while True:
        if spec.within:
            await sim.webhooks.drain(min(10.0, float(spec.within) + 1))   # what is on its way arrives first
        result = evaluate(sim, spec)
        if result["ok"] or (spec.count.max is not None and result["matched"] > spec.count.max):
            return result
        left = deadline - clock.timestamp()
        if left <= 0:
            return result
        step = min(STEP_S, left)
        if clock.mode == "manual":       # nobody else moves a manual clock
            await clock.advance(step)
        else:
            await clock.sleep(step)


def describe(spec: VerifySpec, result: dict) -> str:
    """A failed verification for a person (the pytest helper's assertion message)."""
    kind = "webhooks" if spec.webhooks is not None else "requests"
    matcher = (spec.webhooks or spec.requests).model_dump(exclude_none=True, exclude_defaults=True)
    count = spec.count
    wanted = f"at least {count.min}" if count.max is None else (
        f"exactly {count.min}" if count.max == count.min else f"{count.min} to {count.max}")
    lines = [f"expected {wanted} {kind} matching {json.dumps(matcher, ensure_ascii=False)}"
             f"{f' within {float(spec.within):g} s' if spec.within else ''}, found {result['matched']}"]
    for miss in result.get("near_misses", []):
        what = ", ".join(f"{k}={miss[k]}" for k in ("hook", "method", "path", "call", "at") if miss.get(k))
        lines.append(f"  closest: #{miss['id']} ({what})")
        for d in miss["differences"]:
            got = "missing" if d.get("missing") else json.dumps(d["actual"], ensure_ascii=False)
            lines.append(f"    {d['field']}: expected {json.dumps(d['expected'], ensure_ascii=False)}, got {got}")
    if not result.get("near_misses") and not result["ok"]:
        lines.append(f"  the {kind} journal has nothing else to compare with")
    return "\n".join(lines)


__all__ = ["VerifySpec", "WebhookMatcher", "RequestMatcher", "Count", "evaluate", "verify", "describe"]
