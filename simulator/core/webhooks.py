"""Webhook delivery to the CRM: ordered per call, concurrent across calls, journaled.

Providers turn domain events into ``Webhook`` objects (their mapper); this module only
moves them: a bounded queue (overflow is counted, never silent), one sender per call key
so a call's events arrive in order, per-request timeout, retries with exponential backoff
on the simulator clock, and a journal entry per attempt with the contract check of the
CRM's answer against ``schemas/crm/<provider>/<hook>.json``.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import math
import re
import time as _perf
import zlib
from collections import deque
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus, urlsplit

import aiohttp
from jsonschema import Draft202012Validator

from .clock import Clock

log = logging.getLogger("simulator.webhooks")

SCHEMAS_DIR = Path(__file__).resolve().parents[2] / "schemas"


@dataclass
class Webhook:
    account_id: str
    provider: str
    hook: str                       # history / event / contact / call.settings / call.dial ...
    url: str
    body: Any                       # dict (json or form) or list (json)
    encoding: str = "json"          # json / form
    call_id: str | None = None      # ordering key; None: its own key
    headers: dict[str, str] = field(default_factory=dict)
    timeout: float = 3.0
    retries: int = 0
    expects_json: bool = False      # a lookup: the answer must be JSON

    def encoded(self) -> tuple[bytes, str]:
        if self.encoding == "form":
            return form_encode(self.body or {}).encode(), "application/x-www-form-urlencoded"
        return (json.dumps(self.body, ensure_ascii=False, separators=(",", ":")).encode("utf-8"),
                "application/json; charset=UTF-8")


def form_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


_FORM_UNSAFE = re.compile(r"[^A-Za-z0-9_.\-~]").search


@lru_cache(maxsize=16384)
def _form_quote(text: str) -> str:
    """``quote_plus`` (as ``urlencode`` uses it), without its cost for URL-safe text; keys,
    phone numbers, logins, group names repeat from webhook to webhook."""
    return quote_plus(text) if _FORM_UNSAFE(text) else text


def form_encode(body: dict) -> str:
    """``urlencode([(key, form_value(value)), ...])``, byte for byte, in a fraction of its time
    (most keys and values are URL-safe ASCII and need no quoting)."""
    return "&".join([_form_quote(key if type(key) is str else str(key)) + "="
                     + _form_quote(value if type(value) is str else form_value(value))
                     for key, value in body.items()])


@dataclass
class WebhookAttempt:
    id: int
    account: str
    provider: str
    call: str | None
    hook: str
    url: str
    attempt: int
    at: str                         # simulator time of the attempt (ISO-8601)
    request_headers: dict
    request_body: str
    status: int | None = None
    response_body: str = ""
    response_content_type: str = ""
    latency_ms: float = 0.0
    error: str | None = None        # connection refused, timeout ...
    delivered: bool = False
    contract: dict = field(default_factory=lambda: {"ok": True, "violations": []})
    answer: Any = None              # the parsed JSON answer, when there is one

    def to_json(self) -> dict:
        return asdict(self)


@lru_cache(maxsize=64)
def _validator(provider: str, hook: str) -> Draft202012Validator | None:
    path = SCHEMAS_DIR / "crm" / provider / f"{hook}.json"
    if not path.is_file():
        return None
    return Draft202012Validator(json.loads(path.read_text("utf-8")))


def check_answer(provider: str, hook: str, status: int | None, text: str,
                 expects_json: bool) -> tuple[list[str], Any]:
    """Violations of the CRM's answer to ``hook`` (empty when it keeps the contract)."""
    if status is None or len(text) > 4096:
        return _check_answer(provider, hook, status, text, expects_json)
    # a CRM answers alike: each answer text is checked once (per schema), parsed every time
    violations, has_answer = _checked(id(_validator(provider, hook)), provider, hook, status, text,
                                      expects_json)
    return list(violations), (json.loads(text.strip()) if has_answer else None)


@lru_cache(maxsize=1024)
def _checked(schema_id: int, provider: str, hook: str, status: int,
             text: str, expects_json: bool) -> tuple[tuple[str, ...], bool]:
    """``_check_answer`` remembered; the schema's identity is part of the key so a changed
    schema is checked afresh."""
    violations, answer = _check_answer(provider, hook, status, text, expects_json)
    return tuple(violations), answer is not None


def _check_answer(provider: str, hook: str, status: int | None, text: str,
                  expects_json: bool) -> tuple[list[str], Any]:
    violations: list[str] = []
    answer: Any = None
    if status is None:
        return violations, None
    if not 200 <= status < 300:
        violations.append(f"{hook}: answered HTTP {status}, expected 200")
    validator = _validator(provider, hook)
    if not expects_json and validator is None:
        return violations, None
    stripped = text.strip()
    if not stripped:
        if expects_json:
            violations.append(f"{hook}: empty answer, expected JSON")
        return violations, None
    try:
        answer = json.loads(stripped)
    except ValueError:
        if expects_json:
            violations.append(f"{hook}: answer is not valid JSON")
        return violations, None
    if validator is not None:
        for err in sorted(validator.iter_errors(answer), key=lambda e: list(e.path)):
            where = ".".join(str(p) for p in err.path)
            if err.validator == "required":
                missing = err.message.split("'")[1] if "'" in err.message else err.message
                name = f"{where}.{missing}" if where else missing
                violations.append(f"{hook}: {name} missing")
            else:
                violations.append(f"{hook}: {where or 'answer'}: {err.message}")
    return violations, answer


# ---- a lean HTTP/1.1 client for plain http:// CRM URLs ---------------------------------------
# aiohttp's client costs ~150-250 µs of CPU per request; instant mode sends a hundred thousand
# webhooks in seconds, so plain-http requests go through this keep-alive client (~25 µs)
# instead. Anything it does not handle (https, credentials or %-escapes in the URL, headers it
# sets itself) goes through aiohttp as before.

_PLAIN_TARGET = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=:@/?]*")
_OWN_HEADERS = frozenset({"host", "user-agent", "accept", "content-length", "transfer-encoding",
                          "connection"})
USER_AGENT = "pbx-simulator"


class _HttpError(Exception):
    """A broken exchange; ``str()`` is the journal's text (as aiohttp's would read)."""


@lru_cache(maxsize=256)
def _plain_target(url: str) -> tuple[str, int, str, str] | None:
    """(host, port, Host header, request target) for a URL the lean client can send to."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    host = parts.hostname
    if parts.scheme != "http" or not host or "@" in parts.netloc or not host.isascii() \
            or ":" in host or "%" in host:
        return None
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    if not _PLAIN_TARGET.fullmatch(target):
        return None
    port = port or 80
    return host, port, host if port == 80 else f"{host}:{port}", target


class _Connection(asyncio.Protocol):
    """One keep-alive connection: a request at a time, the answer parsed as it arrives."""

    def __init__(self, client: "_LeanClient", key: tuple[str, int]):
        self.client = client
        self.key = key
        self.transport: asyncio.Transport | None = None
        self.waiter: asyncio.Future | None = None
        self.buf = b""
        self.head: tuple[int, dict, bool, int | None, bool] | None = None
        self.closed = False
        self.idle = False
        self.generation = 0

    # ---- protocol ----
    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        waiter = self.waiter
        if waiter is None or waiter.done():     # nothing asked: the connection is not usable
            self.close()
            return
        self.buf = self.buf + data if self.buf else data
        try:
            result = self._parse()
        except (ValueError, IndexError, zlib.error) as err:
            self.close()
            waiter.set_exception(_HttpError(f"ClientResponseError: invalid HTTP response ({err})"))
            return
        if result is not None:
            self.waiter = None
            waiter.set_result(result)

    def eof_received(self) -> bool:
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            head = self.head
            if head is not None and head[3] is None and not head[4]:   # body until close
                try:
                    waiter.set_result(self._result(head, self.buf, False))
                except zlib.error as err:
                    waiter.set_exception(_HttpError(f"ClientPayloadError: {err}"))
            else:
                waiter.set_exception(_HttpError("ServerDisconnectedError: Server disconnected"))
        if self.idle:
            self.client._discard(self)

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    # ---- the answer ----
    def _parse(self):
        buf = self.buf
        head = self.head
        while head is None:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                if len(buf) > 1 << 17:
                    raise ValueError("header too long")
                self.buf = buf
                return None
            lines = buf[:end].decode("latin-1").split("\r\n")
            version, status_text = lines[0].split(" ", 2)[:2]
            if not version.startswith("HTTP/1."):
                raise ValueError(f"not HTTP/1.x: {lines[0][:40]!r}")
            status = int(status_text)
            buf = buf[end + 4:]
            if 100 <= status < 200:          # an interim answer: the final one follows
                continue
            headers: dict[str, str] = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            connection = headers.get("connection", "").lower()
            keep = "close" not in connection if version == "HTTP/1.1" else "keep-alive" in connection
            chunked = "chunked" in headers.get("transfer-encoding", "").lower()
            length: int | None = None
            if status in (204, 304):
                length = 0
            elif not chunked:
                raw_length = headers.get("content-length")
                if raw_length is not None:
                    length = int(raw_length)
                    if length < 0:
                        raise ValueError("negative Content-Length")
                else:
                    keep = False             # the body runs until the server closes
            head = self.head = (status, headers, keep, length, chunked)
        self.buf = buf
        status, headers, keep, length, chunked = head
        if chunked:
            body, rest = _dechunk(buf)
            if body is None:
                return None
        elif length is not None:
            if len(buf) < length:
                return None
            body, rest = buf[:length], buf[length:]
        else:
            return None                      # until close: connection_lost completes it
        if rest:
            keep = False                     # more than was asked for: do not reuse
        self.buf = b""
        return self._result(head, body, keep)

    def _result(self, head, body: bytes, keep: bool):
        self.head = None
        status, headers, _, _, _ = head
        encoding = headers.get("content-encoding", "").lower()
        if encoding in ("gzip", "x-gzip"):
            body = zlib.decompress(body, 16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            try:
                body = zlib.decompress(body)
            except zlib.error:
                body = zlib.decompress(body, -zlib.MAX_WBITS)
        return status, headers.get("content-type", ""), body, keep


def _dechunk(buf: bytes) -> tuple[bytes | None, bytes]:
    parts = []
    pos = 0
    while True:
        nl = buf.find(b"\r\n", pos)
        if nl < 0:
            return None, b""
        size = int(buf[pos:nl].split(b";", 1)[0].strip(), 16)
        if size == 0:
            if buf[nl + 2:nl + 4] == b"\r\n":
                return b"".join(parts), buf[nl + 4:]
            end = buf.find(b"\r\n\r\n", nl)      # trailers
            if end < 0:
                return None, b""
            return b"".join(parts), buf[end + 4:]
        start = nl + 2
        if len(buf) < start + size + 2:
            return None, b""
        parts.append(buf[start:start + size])
        pos = start + size + 2


WRITE_BATCH_S = 0.002   # queued webhooks go out in batches at most this late (real time)
WRITE_BATCH_MAX = 64    # or as soon as this many wait


TIMEOUT_TICK_S = 0.005  # a request's timeout fires at most this late


class _LeanClient:
    """Keep-alive pool (at most ``limit`` connections in all, like aiohttp's connector)."""

    def __init__(self, limit: int = 256):
        self.limit = limit
        self._idle: dict[tuple[str, int], list[_Connection]] = {}
        self._open = 0
        self._waiters: deque[asyncio.Future] = deque()
        self._writes: list[tuple[_Connection, bytes]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._deadlines: dict[int, set[asyncio.Future]] = {}
        self._generation = 0            # connections of an earlier one close when released

    async def post(self, target: tuple[str, int, str, str], body: bytes, headers: dict[str, str],
                   timeout: float, urgent: bool = True) -> tuple[int, str, bytes]:
        """POST ``body``; (status, Content-Type, answer). ``TimeoutError`` after ``timeout`` s
        in all (connecting included), ``_HttpError``/``OSError`` when the exchange breaks.
        Not ``urgent``: the request may wait up to ``WRITE_BATCH_S`` to go out with others."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        host, port, host_header, path = target
        request = (f"POST {path} HTTP/1.1\r\nHost: {host_header}\r\nUser-Agent: {USER_AGENT}\r\n"
                   f"Accept: */*\r\nContent-Length: {len(body)}\r\n"
                   + "".join([f"{k}: {v}\r\n" for k, v in headers.items()]) + "\r\n").encode() + body
        key = (host, port)
        conn = self._idle_connection(key)
        reused = conn is not None
        if conn is None:
            async with asyncio.timeout_at(deadline):
                conn = await self._acquire(key)
        try:
            return await self._exchange(conn, request, deadline, urgent)
        except _HttpError:
            if not reused or conn.head is not None:
                raise
        # a kept-alive connection the server had closed before reading this request: send it
        # once more on a new one (nothing was answered on the old)
        async with asyncio.timeout_at(deadline):
            conn = await self._acquire(key)
        return await self._exchange(conn, request, deadline, urgent)

    async def _exchange(self, conn: _Connection, request: bytes, deadline: float,
                        urgent: bool) -> tuple[int, str, bytes]:
        loop = asyncio.get_running_loop()
        waiter = conn.waiter = loop.create_future()
        # timeouts share a timer per TIMEOUT_TICK_S: a timer per request costs a heap push and
        # pop of the loop's schedule each
        tick = math.ceil(deadline / TIMEOUT_TICK_S)
        pending = self._deadlines.get(tick)
        if pending is None:
            pending = self._deadlines[tick] = set()
            loop.call_at(tick * TIMEOUT_TICK_S, self._expire, tick)
        pending.add(waiter)
        keep = False
        try:
            if urgent:                  # ahead of the batch, which goes out with it
                self._writes.insert(0, (conn, request))
                self._flush()
            else:
                self._writes.append((conn, request))
                if len(self._writes) >= WRITE_BATCH_MAX:
                    self._flush()
                elif self._timer is None:
                    self._timer = loop.call_later(WRITE_BATCH_S, self._flush)
            status, content_type, raw, keep = await waiter
            return status, content_type, raw
        finally:
            pending.discard(waiter)
            self._release(conn, keep)

    def _expire(self, tick: int) -> None:
        for waiter in self._deadlines.pop(tick, ()):
            if not waiter.done():
                waiter.set_exception(TimeoutError())

    def flush(self) -> bool:
        """Write the batched requests now; False when there were none."""
        if not self._writes:
            return False
        self._flush()
        return True

    def _flush(self) -> None:
        """Write the requests of one loop iteration back to back: the first send wakes the
        receiver, the others find it awake (waking a sleeping process costs ~35 µs a send
        on a VM; back-to-back sends ~4 µs)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        writes, self._writes = self._writes, []
        for conn, request in writes:
            if conn.waiter is not None and not conn.closed and not conn.transport.is_closing():
                conn.transport.write(request)

    def _idle_connection(self, key: tuple[str, int]) -> _Connection | None:
        idle = self._idle.get(key)
        while idle:
            conn = idle.pop()
            conn.idle = False
            if not conn.closed and not conn.transport.is_closing():
                return conn
            self._open -= 1
        return None

    async def _acquire(self, key: tuple[str, int]) -> _Connection:
        """A new connection (waiting while ``limit`` are open), or an idle one freed meanwhile."""
        loop = asyncio.get_running_loop()
        while self._open >= self.limit:
            self._close_an_idle()
            if self._open < self.limit:
                break
            waiter = loop.create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():
                    self._wake()            # pass the wake-up on
                raise
            conn = self._idle_connection(key)
            if conn is not None:
                return conn
        self._open += 1
        generation = self._generation
        try:
            _, conn = await loop.create_connection(lambda: _Connection(self, key), key[0], key[1])
            conn.generation = generation
        except BaseException:
            self._open -= 1
            self._wake()
            raise
        return conn

    def _release(self, conn: _Connection, keep: bool) -> None:
        if keep and not conn.closed and conn.waiter is None and conn.generation == self._generation:
            conn.idle = True
            self._idle.setdefault(conn.key, []).append(conn)
        else:
            conn.waiter = None
            conn.close()
            self._open -= 1
        self._wake()

    def _discard(self, conn: _Connection) -> None:
        """An idle connection the server closed."""
        idle = self._idle.get(conn.key)
        if idle and conn in idle:
            idle.remove(conn)
            conn.idle = False
            self._open -= 1
            self._wake()

    def _close_an_idle(self) -> None:
        for idle in self._idle.values():
            while idle:
                conn = idle.pop()
                conn.idle = False
                conn.close()
                self._open -= 1
                return

    def _wake(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    def close(self) -> None:
        """Close the idle connections; requests under way finish (theirs close after)."""
        self._flush()
        self._generation += 1
        for idle in self._idle.values():
            for conn in idle:
                conn.idle = False
                conn.close()
                self._open -= 1
        self._idle.clear()
        for waiter in self._waiters:
            if not waiter.done():
                waiter.cancel()
        self._waiters.clear()


class WebhookJournal:
    def __init__(self, size: int = 20000):
        self._entries: deque[WebhookAttempt] = deque(maxlen=size)
        self._ids = itertools.count(1)

    def new_id(self) -> int:
        return next(self._ids)

    def add(self, entry: WebhookAttempt) -> None:
        self._entries.append(entry)

    def entries(self, account: str | None = None, call: str | None = None,
                hook: str | None = None, limit: int | None = None) -> list[WebhookAttempt]:
        out = [e for e in self._entries
               if (account is None or e.account == account)
               and (call is None or e.call == call)
               and (hook is None or e.hook == hook)]
        if limit is not None:
            out = out[-limit:]
        return out

    def clear(self, account: str | None = None) -> None:
        if account is None:
            self._entries.clear()
        else:
            keep = [e for e in self._entries if e.account != account]
            self._entries.clear()
            self._entries.extend(keep)


class WebhookDelivery:
    def __init__(self, clock: Clock, journal: WebhookJournal | None = None, queue_limit: int = 100000):
        self.clock = clock
        self.journal = journal or WebhookJournal()
        self.queue_limit = queue_limit
        self._pending: dict[str, deque[Webhook]] = {}
        self._workers: dict[str, asyncio.Task] = {}
        self._size = 0
        self._keys = itertools.count()
        self._session: aiohttp.ClientSession | None = None
        self._lean = _LeanClient(limit=256)
        self._at_ts: float | None = None
        self._draining = 0
        self._at_text = ""
        self._idle: asyncio.Event | None = None
        self.stats = {"queued": 0, "delivered": 0, "failed": 0, "overflow": 0, "attempts": 0}
        # the only URLs webhooks may go to: those set in the configuration or admin API
        self.allowed_urls: set[str] = set()

    # ---- queueing ------------------------------------------------------------------------
    @property
    def pending(self) -> int:
        return self._size

    def enqueue(self, hook: Webhook) -> bool:
        if self._size >= self.queue_limit:
            self.stats["overflow"] += 1
            log.warning("webhook queue full (%d): %s for %s counted as overflow",
                        self.queue_limit, hook.hook, hook.account_id)
            return False
        key = f"{hook.account_id}:{hook.call_id}" if hook.call_id else f"_:{next(self._keys)}"
        self._pending.setdefault(key, deque()).append(hook)
        self._size += 1
        self.stats["queued"] += 1
        if key not in self._workers:
            self._workers[key] = asyncio.get_running_loop().create_task(self._work(key))
        return True

    async def _work(self, key: str) -> None:
        queue = self._pending[key]
        try:
            while queue:
                hook = queue[0]
                try:
                    await self._deliver(hook, batch=True)
                finally:
                    queue.popleft()
                    self._size -= 1
        finally:
            self._pending.pop(key, None)
            self._workers.pop(key, None)
            if not self._workers and self._idle is not None:
                self._idle.set()

    async def drain(self, timeout: float = 10.0) -> bool:
        """Wait (real time) until every queued webhook was attempted. Tests and scenarios."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        self._draining += 1          # no batching while someone waits for the queue to empty
        self._lean.flush()
        try:
            while self._workers:
                self._idle = asyncio.Event()
                remaining = deadline - loop.time()
                if remaining <= 0:
                    return False
                try:
                    await asyncio.wait_for(self._idle.wait(), min(remaining, 0.05))
                except asyncio.TimeoutError:
                    pass
            return True
        finally:
            self._draining -= 1

    # ---- sending -------------------------------------------------------------------------
    async def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=256, force_close=False),
                headers={"User-Agent": "pbx-simulator"})
        return self._session

    async def send(self, hook: Webhook) -> WebhookAttempt:
        """Deliver now (with retries); return the last attempt. Lookups await this."""
        return await self._deliver(hook, batch=False)

    async def _deliver(self, hook: Webhook, batch: bool) -> WebhookAttempt:
        attempt_no = 0
        while True:
            attempt_no += 1
            entry = await self._attempt(hook, attempt_no, batch)
            if entry.delivered or attempt_no > hook.retries or not self.allowed(hook.url):
                break
            await self.clock.sleep(min(60.0, 0.5 * 2 ** (attempt_no - 1)))
        self.stats["delivered" if entry.delivered else "failed"] += 1
        return entry

    def allowed(self, url: str) -> bool:
        """Only CRM URLs from the configuration or admin API (a provider may add a query)."""
        return url in self.allowed_urls or url.split("?", 1)[0] in self.allowed_urls

    def _at(self) -> str:
        """The clock's time as ISO-8601 (instant mode sends many webhooks at one instant)."""
        ts = self.clock.timestamp()
        if ts != self._at_ts:
            self._at_ts = ts
            self._at_text = datetime.fromtimestamp(ts, tz=timezone.utc).isoformat().replace("+00:00", "Z")
        return self._at_text

    async def _attempt(self, hook: Webhook, attempt_no: int, batch: bool = False) -> WebhookAttempt:
        body, content_type = hook.encoded()
        headers = {"Content-Type": content_type, **hook.headers}
        entry = WebhookAttempt(
            id=self.journal.new_id(), account=hook.account_id, provider=hook.provider, call=hook.call_id,
            hook=hook.hook, url=hook.url, attempt=attempt_no,
            at=self._at(),
            request_headers=headers, request_body=body.decode("utf-8", "replace"))
        self.stats["attempts"] += 1
        if not self.allowed(hook.url):     # never sent: journaled as an error, not retried
            entry.error = f"refused: {hook.url} is not a CRM URL set in the configuration or admin API"
            entry.contract = {"ok": False, "violations": [f"{hook.hook}: {entry.error}"]}
            log.warning("webhook %s for %s refused: %s is not an allowed CRM URL",
                        hook.hook, hook.account_id, hook.url.split("?", 1)[0])
            self.journal.add(entry)
            return entry
        started = _perf.perf_counter()
        target = _plain_target(hook.url)
        if target is not None and hook.headers and any(
                k.lower() in _OWN_HEADERS or "\r" in k or "\n" in k or "\r" in v or "\n" in v
                for k, v in hook.headers.items()):
            target = None
        try:
            if target is not None:
                status, content_type, raw = await self._lean.post(target, body, headers, hook.timeout,
                                                                    urgent=not batch or self._draining > 0)
                entry.status = status
                entry.response_content_type = content_type
                entry.response_body = raw.decode("utf-8", "replace")[:65536] if raw else ""
            else:
                session = await self._client()
                async with session.post(hook.url, data=body, headers=headers,
                                        timeout=aiohttp.ClientTimeout(total=hook.timeout)) as resp:
                    raw = await resp.read()
                    entry.status = resp.status
                    entry.response_content_type = resp.headers.get("Content-Type", "")
                    entry.response_body = raw.decode("utf-8", "replace")[:65536]
        except asyncio.TimeoutError:
            entry.error = f"timeout: no answer within {hook.timeout:g} s"
        except _HttpError as err:
            entry.error = str(err)
        except aiohttp.ClientConnectorError as err:
            entry.error = f"connection failed: {err.os_error or err}"
        except aiohttp.ClientError as err:
            entry.error = f"{type(err).__name__}: {err}"
        except OSError as err:
            entry.error = f"connection failed: {err}"
        entry.latency_ms = round((_perf.perf_counter() - started) * 1000, 2)
        if entry.error is None:
            entry.delivered = entry.status is not None and 200 <= entry.status < 300
            violations, answer = check_answer(hook.provider, hook.hook, entry.status,
                                              entry.response_body, hook.expects_json)
            entry.answer = answer
            entry.contract = {"ok": not violations, "violations": violations}
        else:
            entry.contract = {"ok": False, "violations": [f"{hook.hook}: {entry.error}"]}
        self.journal.add(entry)
        return entry

    async def close(self) -> None:
        for task in list(self._workers.values()):
            task.cancel()
        self._workers.clear()
        self._pending.clear()
        self._size = 0
        self._lean.close()
        if self._session is not None:
            await self._session.close()
            self._session = None
