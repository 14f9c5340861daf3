"""The scenario language as Python objects: a ``Scenario`` is an office, what the built-in
CRM answers, ``Step``s and ``Expectation``s. Each keeps the line it came from, so a report
and every error can point back into the YAML."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

PROVIDERS = ("t2", "vats", "phonet", "cloudpbx")
CALL_STEPS = ("incoming", "outgoing", "click_to_call", "internal")
SETUP_STEPS = ("add_employee", "remove_employee", "dnd", "blacklist", "unblacklist", "block_anonymous",
               "route", "number_enabled", "department", "record_calls", "pause", "lines", "only_internal",
               "white_list", "max_sessions", "channels")


@dataclass
class Expectation:
    kind: str                 # webhooks / crm_answers / history / state
    args: dict
    line: int
    where: str                # "steps[4].expect[0]" or "expect[1]"

    def describe(self) -> str:
        call = self.args.get("call")
        return f"{self.kind}{f' {call}' if call else ''}"


@dataclass
class Step:
    kind: str                 # incoming / outgoing / ... / wait / expect / a setup kind
    args: Any
    line: int
    index: int
    expectations: list[Expectation] = field(default_factory=list)   # kind == "expect"

    @property
    def is_call(self) -> bool:
        return self.kind in CALL_STEPS


@dataclass
class Scenario:
    name: str
    steps: list[Step]
    expectations: list[Expectation] = field(default_factory=list)
    description: str = ""
    tags: list[str] = field(default_factory=list)
    providers: list[str] = field(default_factory=lambda: list(PROVIDERS))
    start: str | None = None
    seed: int = 1
    account: dict = field(default_factory=dict)
    crm: dict = field(default_factory=dict)
    source: str = "<scenario>"
    text: str = ""

    def call_ids(self) -> list[str]:
        return [s.args["id"] for s in self.steps if s.is_call and s.args.get("id")]

    def applies_to(self, provider: str) -> bool:
        return provider in self.providers
