"""Outcome policy: how parties nobody scripted behave (click-to-call, ad-hoc calls)."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass

from ..config import PolicyRule

EMPLOYEE_ANSWER_S = 2.0
CLIENT_ANSWER_S = 5.0
TALK_S = 30.0
NO_ANSWER_RING_S = 3600.0   # "never answers": rings until a timeout ends it


@dataclass(slots=True)
class Reaction:
    """What one rung party does."""
    result: str          # answer / no_answer / busy / unavailable
    ring_s: float        # seconds until it answers (or gives its busy/unavailable signal)
    talk_s: float
    hangup: str | None   # A / B / None (undecided)


class OutcomePolicy:
    def __init__(self, rules: list[PolicyRule] | None = None):
        self.rules = list(rules or [])

    def react(self, number: str, side: str, *aliases: str) -> Reaction:
        """The reaction of the party reached at ``number`` (``aliases``: its ext, login...)."""
        candidates = [c for c in (number, *aliases) if c]
        for rule in self.rules:
            if rule.side not in ("any", side):
                continue
            if any(fnmatch.fnmatchcase(c, rule.match) or fnmatch.fnmatchcase(c.lstrip("+"), rule.match)
                   for c in candidates):
                return self._from_rule(rule, side)
        return Reaction("answer", self._default_ring(side), TALK_S, None)

    @staticmethod
    def _default_ring(side: str) -> float:
        return EMPLOYEE_ANSWER_S if side == "employee" else CLIENT_ANSWER_S

    def _from_rule(self, rule: PolicyRule, side: str) -> Reaction:
        if rule.ring_s is not None:
            ring = rule.ring_s
        elif rule.result in ("busy", "unavailable"):
            ring = 0.0
        elif rule.result == "no_answer":
            ring = NO_ANSWER_RING_S
        else:
            ring = self._default_ring(side)
        return Reaction(rule.result, ring, rule.talk_s if rule.talk_s is not None else TALK_S, rule.hangup)
