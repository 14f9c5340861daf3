"""The one reader of request bodies (JSON and forms) every provider and ``/_sim`` use.

It takes only what the simulator can store, answer with and write to a snapshot: nesting up
to ``MAX_DEPTH``, finite numbers (integers up to ``MAX_INT_DIGITS`` digits: longer ones are
past any range a provider checks, and past Python's 4300-digit conversion), and text without
lone surrogates (which no UTF-8 writer takes) or NUL (which the providers' databases
refuse). Anything else is a ``BodyError``
naming the field, which each caller turns into its provider's documented error; nothing is
stored before the whole body has passed.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

MAX_DEPTH = 32
MAX_INT_DIGITS = 400

# a lone surrogate, or NUL: what cannot be stored as text
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


class BodyError(ValueError):
    """A body that cannot be taken. ``kind``: ``syntax`` (not JSON / not a form), ``shape``
    (nested too deeply), ``text`` (a lone surrogate or NUL), ``number`` (out of range).
    ``field``: where, dotted (``crm.timeout``, ``contacts.0.name``), ``body`` for the whole
    (and for nesting)."""

    REASONS = {"syntax": "is not valid JSON", "shape": f"is nested deeper than {MAX_DEPTH} levels",
               "text": "holds a character that cannot be stored (a lone surrogate or NUL)",
               "number": "is a number out of range"}

    def __init__(self, kind: str, field: str = "body", reason: str | None = None):
        self.kind, self.field = kind, field
        self.reason = reason or self.REASONS[kind]
        super().__init__(f"{field} {self.reason}")


class _Huge(str):
    """An integer literal of too many digits, kept as text until the walk names its field."""


def _parse_int(text: str) -> int | _Huge:
    return _Huge(text) if len(text) > MAX_INT_DIGITS else int(text)


def _refuse_constant(name: str) -> Any:
    raise BodyError("syntax")   # NaN, Infinity: not JSON


def loads(raw: bytes | str, max_depth: int = MAX_DEPTH) -> Any:
    """A JSON document that passes the rules above; ``BodyError`` otherwise."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, (bytes, bytearray)) else raw
        value = json.loads(text, parse_int=_parse_int, parse_constant=_refuse_constant)
    except RecursionError:
        raise BodyError("shape", reason=f"is nested deeper than {max_depth} levels") from None
    except (ValueError, UnicodeDecodeError) as err:
        if isinstance(err, BodyError):
            raise
        raise BodyError("syntax") from None
    check(value, max_depth=max_depth)
    return value


def check(value: Any, field: str = "", max_depth: int = MAX_DEPTH) -> None:
    """Walk a parsed value (iteratively: a deep one must not exhaust the stack)."""
    stack = [(value, field, 0)]
    while stack:
        item, where, depth = stack.pop()
        if isinstance(item, _Huge):
            raise BodyError("number", where or "body")
        if isinstance(item, str):
            if _UNSTORABLE.search(item):
                raise BodyError("text", where or "body")
        elif isinstance(item, float):
            if not math.isfinite(item):
                raise BodyError("number", where or "body")
        elif isinstance(item, (dict, list)):
            if depth >= max_depth:
                raise BodyError("shape", reason=f"is nested deeper than {max_depth} levels")
            pairs = item.items() if isinstance(item, dict) else enumerate(item)
            for key, child in pairs:
                name = f"{where}.{key}" if where else str(key)
                if isinstance(key, str) and _UNSTORABLE.search(key):
                    raise BodyError("text", where or "body")
                stack.append((child, name, depth + 1))


def check_text(value: str, field: str) -> str:
    """``value`` (a form field, a query value to be stored) when it can be stored as text."""
    if _UNSTORABLE.search(value):
        raise BodyError("text", field)
    return value


async def read_json(request: web.Request, empty: Any = None) -> Any:
    """The request's JSON body; ``empty`` when there is none (``BodyError("syntax")`` when
    ``empty`` is None and the body is blank)."""
    raw = await request.read()
    if empty is not None and not raw.strip():
        return empty
    return loads(raw)


async def read_form(request: web.Request) -> dict[str, str]:
    """The text fields of a urlencoded or multipart form (files are left out)."""
    try:
        form = await request.post()
    except (ValueError, AssertionError, LookupError, UnicodeError, HttpProcessingError,
            RecursionError):
        # a broken form (bad boundary, truncated part, unknown charset ...) is bad input
        raise BodyError("syntax", reason="is not a valid form") from None
    fields = {}
    for key, value in form.items():
        if isinstance(value, str):
            check_text(key, "body")
            fields[key] = check_text(value, key)
    return fields


__all__ = ["BodyError", "MAX_DEPTH", "check", "check_text", "loads", "read_form", "read_json"]
