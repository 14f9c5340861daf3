"""Faults a test asks for: the PBX API answering with an error, slowly, not at all, or with
its rate limit; webhooks dropped, sent twice, late or out of order.

One table for the whole server (``Simulator.faults``), consulted by the request middleware
(``for_request``) and by webhook delivery (``for_webhook``). A fault names its account and
matches a request by method and path glob, or a webhook by its hook name. ``times`` and
``for`` bound it (on the account's clock); ``probability`` draws from a generator seeded by
the server seed and the account id, so a run repeats. What a fault does is the caller's
business: this module only decides which fault applies, and says why.
"""

from __future__ import annotations

import itertools
import random
from collections import deque
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any, Callable, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .clock import parse_duration


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


# 200 years: any fault's end (the clock is at most year 3000) is still a date that can be written
MAX_DURATION_S = 200 * 365.25 * 86400


def _seconds(value: Any) -> float | None:
    if value is None:
        return None
    seconds = parse_duration(value)
    if seconds < 0:
        raise ValueError("a duration cannot be negative")
    if seconds > MAX_DURATION_S:
        raise ValueError("a duration of at most 200 years")
    return seconds


class RequestMatch(_Model):
    """Which API requests: ``method`` (any when left out) and a path glob (``*``, ``?``, ``[…]``)."""
    method: str | None = None
    path: str = "*"

    @field_validator("method")
    @classmethod
    def _upper(cls, v: str | None) -> str | None:
        return None if v in (None, "", "*") else v.upper()


class Respond(_Model):
    """What a matched request gets instead of its answer: exactly one of these."""
    status: int | None = Field(None, ge=100, le=599, description="this status with the provider's error body "
                               "(or ``body``)")
    body: Any = Field(None, description="with ``status``: the body to send (JSON; a string as text)")
    error: str | None = Field(None, description="a named error of the provider: GET /_sim/faults/errors")
    reset: bool = Field(False, description="the connection is reset, no answer")
    timeout: bool = Field(False, description="no answer ever: the connection stays open until the client gives up")

    @model_validator(mode="after")
    def _one(self) -> "Respond":
        given = [k for k in ("status", "error") if getattr(self, k) is not None] + \
                [k for k in ("reset", "timeout") if getattr(self, k)]
        if len(given) != 1:
            raise ValueError("respond takes exactly one of status, error, reset, timeout")
        if self.body is not None and self.status is None:
            raise ValueError("respond.body goes with respond.status")
        return self


class RateLimit(_Model):
    """``requests`` matched requests per ``window``; the ones over it get the provider's
    answer for too many requests."""
    requests: int = Field(ge=1)
    window: float | str = Field(description="seconds or e.g. '1s', '1m'")

    @field_validator("window")
    @classmethod
    def _window(cls, v: Any) -> float:
        seconds = _seconds(v)
        if not seconds:
            raise ValueError("window must be longer than zero")
        return seconds


class WebhookMatch(_Model):
    """Which webhooks: the hook name (``history``, ``event``, ``call.dial`` …; a glob)."""
    hook: str = "*"


WEBHOOK_ACTIONS = ("drop", "duplicate", "delay", "reorder")


class FaultSpec(_Model):
    """A fault as ``POST /_sim/faults``, the configuration's ``faults:`` list and the scenario
    step ``fault`` give it. An API fault has ``match`` and at least one of ``respond``,
    ``rate_limit``, ``latency``; a webhook fault has ``webhook`` and ``action``."""
    account: str
    match: RequestMatch | None = None
    respond: Respond | None = None
    rate_limit: RateLimit | None = None
    latency: float | str | None = Field(None, description="wait this long (real time) before answering")
    webhook: WebhookMatch | None = None
    action: Literal["drop", "duplicate", "delay", "reorder"] | None = None
    delay: float | str | None = Field(None, description="delay / reorder: how long the webhook is held "
                                      "(simulator time; default 5s)")
    probability: float = Field(1.0, ge=0, le=1)
    times: int | None = Field(None, ge=1, description="at most this many injections, then the fault is gone")
    for_: float | str | None = Field(None, alias="for", description="the fault is gone this long after it was "
                                     "added (the account's clock), e.g. '10m'")

    @field_validator("latency", "delay", "for_")
    @classmethod
    def _duration(cls, v: Any) -> float | None:
        return _seconds(v)

    @model_validator(mode="after")
    def _kind(self) -> "FaultSpec":
        if (self.match is None) == (self.webhook is None):
            raise ValueError("a fault has either match (API requests) or webhook (webhooks)")
        if self.match is not None:
            if self.action is not None or self.delay is not None:
                raise ValueError("action and delay are for webhook faults")
            if self.respond is not None and self.rate_limit is not None:
                raise ValueError("respond and rate_limit are two faults: add them one by one")
            if self.respond is None and self.rate_limit is None and not self.latency:
                raise ValueError("an API fault needs respond, rate_limit or latency")
        else:
            if self.respond is not None or self.rate_limit is not None or self.latency is not None:
                raise ValueError("respond, rate_limit and latency are for API faults")
            if self.action is None:
                raise ValueError(f"a webhook fault needs action: one of {', '.join(WEBHOOK_ACTIONS)}")
            if self.delay is not None and self.action not in ("delay", "reorder"):
                raise ValueError("delay goes with action delay or reorder")
        return self


DEFAULT_WEBHOOK_DELAY_S = 5.0


@dataclass
class Fault:
    id: str
    spec: FaultSpec
    provider: str
    added_at: float                  # the account's clock
    used: int = 0                    # injections so far
    hits: deque = field(default_factory=deque)   # rate limit: times of the requests in the window

    @property
    def account(self) -> str:
        return self.spec.account

    @property
    def is_webhook(self) -> bool:
        return self.spec.webhook is not None

    @property
    def kind(self) -> str:
        spec = self.spec
        if spec.webhook is not None:
            return str(spec.action)
        if spec.rate_limit is not None:
            return "rate_limit"
        respond = spec.respond
        if respond is None:
            return "latency"
        if respond.reset:
            return "reset"
        if respond.timeout:
            return "timeout"
        return "error" if respond.error is not None else "status"

    @property
    def delay_s(self) -> float:
        return DEFAULT_WEBHOOK_DELAY_S if self.spec.delay is None else float(self.spec.delay)

    def expires_at(self) -> float | None:
        return None if self.spec.for_ is None else self.added_at + float(self.spec.for_)

    def to_json(self, iso) -> dict:
        data = {"id": self.id, "kind": self.kind, "provider": self.provider,
                **self.spec.model_dump(by_alias=True, exclude_none=True, exclude_defaults=True),
                "account": self.account, "probability": self.spec.probability,
                "used": self.used, "added_at": iso(self.added_at)}
        if self.spec.respond is not None:
            data["respond"] = self.spec.respond.model_dump(exclude_none=True, exclude_defaults=True)
        expires = self.expires_at()
        data["expires_at"] = iso(expires) if expires is not None else None
        data["remaining"] = None if self.spec.times is None else self.spec.times - self.used
        return data

    def mark(self, why: str, **extra: Any) -> dict:
        """What the journal entry says about this injection."""
        return {"id": self.id, "kind": self.kind, "why": why, **extra}


class FaultTable:
    """The server's faults, in the order they were added (the first that matches applies)."""

    def __init__(self, seed: int, now_of: Callable[[str], float] | None = None) -> None:
        self.seed = seed
        self.now_of = now_of            # an account's time (its clock): what ``for`` counts on
        self.faults: dict[str, Fault] = {}
        self._ids = itertools.count(1)
        self._rngs: dict[str, random.Random] = {}
        # provider ids with API faults / accounts with webhook faults: what the request
        # path and the delivery look at before anything else (empty: no cost)
        self.api_providers: set[str] = set()
        self.webhook_accounts: set[str] = set()

    # ---- changing ---------------------------------------------------------------------------
    def add(self, spec: FaultSpec, provider: str, now: float) -> Fault:
        fault = Fault(id=f"fault-{next(self._ids)}", spec=spec, provider=provider, added_at=now)
        self.faults[fault.id] = fault
        self._index()
        return fault

    def remove(self, fault_id: str) -> bool:
        found = self.faults.pop(fault_id, None) is not None
        self._index()
        return found

    def clear(self, account: str | None = None) -> int:
        gone = [f.id for f in self.faults.values() if account is None or f.account == account]
        for fid in gone:
            del self.faults[fid]
        if account is None:
            self._rngs.clear()
        else:
            self._rngs.pop(account, None)
        self._index()
        return len(gone)

    def _index(self) -> None:
        self.api_providers = {f.provider for f in self.faults.values() if not f.is_webhook}
        self.webhook_accounts = {f.account for f in self.faults.values() if f.is_webhook}

    def listed(self, account: str | None = None) -> list[Fault]:
        return [f for f in self.faults.values() if account is None or f.account == account]

    # ---- deciding ---------------------------------------------------------------------------
    def rng(self, account: str) -> random.Random:
        rng = self._rngs.get(account)
        if rng is None:
            rng = self._rngs[account] = random.Random(f"{self.seed}:{account}:faults")
        return rng

    def _live(self, fault: Fault, now: float) -> bool:
        expires = fault.expires_at()
        if expires is not None and now >= expires:
            self.remove(fault.id)
            return False
        return True

    def _draw(self, fault: Fault) -> tuple[bool, str]:
        p = fault.spec.probability
        if p >= 1:
            return True, ""
        roll = self.rng(fault.account).random()
        return roll < p, f" (drew {roll:.3f} < {p:g})" if roll < p else ""

    def _used(self, fault: Fault) -> None:
        fault.used += 1
        if fault.spec.times is not None and fault.used >= fault.spec.times:
            self.remove(fault.id)

    def for_request(self, account: str, method: str, path: str, now: float) -> tuple[Fault, str] | None:
        """The API fault to inject into this request of ``account`` (the account's ``now``),
        with why; None for an ordinary answer."""
        for fault in list(self.faults.values()):
            if fault.is_webhook or fault.account != account or not self._live(fault, now):
                continue
            match = fault.spec.match
            if match.method is not None and match.method != method:
                continue
            if not fnmatchcase(path, match.path):
                continue
            why = f"{method} {path} matched {match.method or '*'} {match.path}"
            limit = fault.spec.rate_limit
            if limit is not None:
                hits = fault.hits
                while hits and hits[0] <= now - float(limit.window):
                    hits.popleft()
                hits.append(now)
                if len(hits) <= limit.requests:
                    continue
                why += f": request {len(hits)} in {float(limit.window):g} s, the limit is {limit.requests}"
            hit, drawn = self._draw(fault)
            if not hit:
                continue
            self._used(fault)
            return fault, why + drawn
        return None

    def for_webhook(self, account: str, hook: str, now: float | None = None) -> tuple[Fault, str] | None:
        """The webhook fault for this webhook of ``account``, with why; None to send it as is."""
        if now is None:
            now = self.now_of(account) if self.now_of is not None else 0.0
        for fault in list(self.faults.values()):
            if not fault.is_webhook or fault.account != account or not self._live(fault, now):
                continue
            if not fnmatchcase(hook, fault.spec.webhook.hook):
                continue
            hit, drawn = self._draw(fault)
            if not hit:
                continue
            self._used(fault)
            return fault, f"hook {hook} matched {fault.spec.webhook.hook}{drawn}"
        return None


__all__ = ["FaultSpec", "Fault", "FaultTable", "RequestMatch", "Respond", "RateLimit", "WebhookMatch",
           "WEBHOOK_ACTIONS", "DEFAULT_WEBHOOK_DELAY_S"]
