"""Webhook delivery to the CRM: ordered per call, concurrent across calls, journaled.

Providers turn domain events into ``Webhook`` objects (their mapper); this module only
moves them: a bounded queue (overflow is counted, never silent), one sender per call key
so a call's events arrive in order, per-request timeout, retries with exponential backoff
on the simulator clock, and a journal entry per attempt with the contract check of the
CRM's answer against ``schemas/crm/<provider>/<hook>.json``.

Everything goes out through one aiohttp ``ClientSession`` per simulator: redirects are not
followed (a webhook goes only to the URL configured for it), no cookies are kept between
CRMs. The request of an attempt is built in one place (``WebhookDelivery.request``) and an
attempt is journaled in one place (``WebhookDelivery.record``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import json
import logging
import time as _perf
from collections import deque
from dataclasses import dataclass, field, fields
from datetime import datetime, timezone
from functools import lru_cache
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlencode

import aiohttp
import yarl

from ..assets import AssetError, answer_schema
from .clock import Clock
from .secrets import mask_headers, mask_url

if TYPE_CHECKING:
    from .faults import Fault, FaultTable

log = logging.getLogger("simulator.webhooks")

USER_AGENT = "pbx-simulator"
ANSWER_LIMIT = 65536            # bytes of a CRM's answer read and journaled
CONNECTIONS = 512               # open connections to CRMs in all (aiohttp's default is 100)


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
    # a lookup holds the call: the provider's answer time bounds all its attempts together
    answer_within: float | None = None

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


def form_encode(body: dict) -> str:
    return urlencode([(key, form_value(value)) for key, value in body.items()])


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
    # the request may have reached the CRM although no answer came (a timeout, a connection
    # closed after sending): a resend may make it see the webhook twice
    may_have_been_received: bool = False
    delivered: bool = False
    # the last attempt of a webhook that failed every attempt: a dead letter (until a resend
    # of it is delivered)
    dead: bool = False
    resend_of: int | None = None    # the id of the dead letter / attempt this one sent again
    contract: dict = field(default_factory=lambda: {"ok": True, "violations": []})
    answer: Any = None              # the parsed JSON answer, when there is one
    fault: dict | None = None       # what a webhook fault did to this one, and why (core/faults.py)
    # what was sent, for a resend; set per entry, outside the journal's record (not a field)
    webhook: ClassVar[Webhook | None] = None

    def to_json(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@lru_cache(maxsize=64)
def _validator(provider: str, hook: str):
    """Every hook has an answer schema; a missing one raises ``AssetError`` (it never means
    "no rules", which would pass any answer)."""
    from jsonschema import Draft202012Validator   # on the first answer: not at start-up
    return Draft202012Validator(answer_schema(provider, hook))


def check_answer(provider: str, hook: str, status: int | None, text: str,
                 expects_json: bool) -> tuple[list[str], Any]:
    """Violations of the CRM's answer to ``hook`` (empty when it keeps the contract), and
    the parsed JSON answer when there is one."""
    violations: list[str] = []
    answer: Any = None
    if status is None:
        return violations, None
    if not 200 <= status < 300:
        violations.append(f"{hook}: answered HTTP {status}, expected 200")
    validator = _validator(provider, hook)
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
    for err in sorted(validator.iter_errors(answer), key=lambda e: list(e.path)):
        where = ".".join(str(p) for p in err.path)
        if err.validator == "required":
            missing = err.message.split("'")[1] if "'" in err.message else err.message
            name = f"{where}.{missing}" if where else missing
            violations.append(f"{hook}: {name} missing")
        else:
            violations.append(f"{hook}: {where or 'answer'}: {err.message}")
    return violations, answer



async def _answer(resp: aiohttp.ClientResponse) -> bytes:
    """The first ``ANSWER_LIMIT`` bytes of an answer (a CRM's error page may be large)."""
    chunks: list[bytes] = []
    size = 0
    while size < ANSWER_LIMIT:
        chunk = await resp.content.read(ANSWER_LIMIT - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


class WebhookJournal:
    def __init__(self, size: int = 20000):
        self._entries: deque[WebhookAttempt] = deque(maxlen=size)
        self._ids = itertools.count(1)
        self.listeners: list = []   # called with each new attempt (the live event stream)

    def new_id(self) -> int:
        return next(self._ids)

    def add(self, entry: WebhookAttempt) -> None:
        self._entries.append(entry)
        for listener in self.listeners:
            listener(entry)

    def entries(self, account: str | None = None, call: str | None = None,
                hook: str | None = None, limit: int | None = None) -> list[WebhookAttempt]:
        out = [e for e in self._entries
               if (account is None or e.account == account)
               and (call is None or e.call == call)
               and (hook is None or e.hook == hook)]
        if limit is not None:
            out = out[-limit:]
        return out

    def get(self, entry_id: int) -> WebhookAttempt | None:
        return next((e for e in reversed(self._entries) if e.id == entry_id), None)

    def dead_letters(self, account: str | None = None, hook: str | None = None,
                     limit: int | None = None) -> list[WebhookAttempt]:
        """Webhooks that failed every attempt and have no delivered resend since."""
        resolved = {e.resend_of for e in self._entries if e.delivered and e.resend_of is not None}
        out = [e for e in self.entries(account, None, hook) if e.dead and e.id not in resolved]
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
    def __init__(self, clock: Clock, journal: WebhookJournal | None = None, queue_limit: int = 100000,
                 faults: "FaultTable | None" = None):
        self.clock = clock
        self.journal = journal or WebhookJournal()
        self.queue_limit = queue_limit
        self.faults = faults            # webhook faults: drop, duplicate, delay, reorder
        self._pending: dict[str, deque[Webhook]] = {}
        self._workers: dict[str, asyncio.Task] = {}
        self._size = 0
        self._keys = itertools.count()
        self._session: aiohttp.ClientSession | None = None
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
                try:
                    await self._deliver(queue[0])
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

    # ---- sending -------------------------------------------------------------------------
    def _client(self) -> aiohttp.ClientSession:
        """The one session of this simulator, made in the running loop on first use."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=CONNECTIONS, limit_per_host=0,
                                               keepalive_timeout=30),
                cookie_jar=aiohttp.DummyCookieJar(),     # a PBX keeps no CRM's cookies
                trust_env=False)
        return self._session

    async def send(self, hook: Webhook) -> WebhookAttempt:
        """Deliver now (with retries); return the last attempt. Lookups await this."""
        return await self._deliver(hook)

    async def _deliver(self, hook: Webhook, fault: dict | None = None) -> WebhookAttempt:
        if fault is None and self.faults is not None and hook.account_id in self.faults.webhook_accounts:
            found = self.faults.for_webhook(hook.account_id, hook.hook)
            if found is not None:
                return await self._faulted(hook, *found)
        loop = asyncio.get_running_loop()
        started = loop.time()
        waited = 0.0                   # backoff slept on the simulator clock
        attempt_no = 0
        while True:
            attempt_no += 1
            timeout = hook.timeout
            if hook.answer_within is not None:
                left = hook.answer_within - waited - (loop.time() - started if attempt_no > 1 else 0)
                timeout = round(min(timeout, left), 3)
            entry = await self._attempt(hook, attempt_no, timeout, fault=fault)
            if entry.delivered or attempt_no > hook.retries or not self.allowed(hook.url):
                break
            backoff = min(60.0, 0.5 * 2 ** (attempt_no - 1))
            if hook.answer_within is not None and \
                    loop.time() - started + waited + backoff >= hook.answer_within:
                break                  # the provider stopped waiting for this lookup's answer
            await self.clock.sleep(backoff)
            waited += backoff
        entry.dead = not entry.delivered
        self.stats["delivered" if entry.delivered else "failed"] += 1
        return entry

    async def resend(self, entry: WebhookAttempt) -> WebhookAttempt:
        """Send a journaled webhook once more, as it was (same URL, headers and body), as a new
        attempt that names the one it repeats (a resend of a resend names the first)."""
        hook = entry.webhook
        if hook is None:
            raise LookupError(f"webhook attempt {entry.id} cannot be sent again")
        again = await self._attempt(hook, 1, hook.timeout, resend_of=entry.resend_of or entry.id)
        self.stats["delivered" if again.delivered else "failed"] += 1
        return again

    def allowed(self, url: str) -> bool:
        """Only CRM URLs from the configuration or admin API (a provider may add a query)."""
        return url in self.allowed_urls or url.split("?", 1)[0] in self.allowed_urls

    def _at(self) -> str:
        """The clock's time as ISO-8601."""
        return datetime.fromtimestamp(self.clock.timestamp(), tz=timezone.utc) \
            .isoformat().replace("+00:00", "Z")

    def request(self, hook: Webhook) -> tuple[str, dict[str, str], bytes]:
        """The URL, headers and body of a request for ``hook``: the one place they are made.
        A ``user:password`` in the CRM URL becomes the Basic header aiohttp would send for it,
        so the journal shows what the CRM really receives."""
        body, content_type = hook.encoded()
        headers = {"User-Agent": USER_AGENT, "Content-Type": content_type, **hook.headers}
        url = hook.url
        try:
            target = yarl.URL(url)
        except ValueError:
            return url, headers, body
        if target.user is not None and not any(n.lower() == "authorization" for n in headers):
            headers["Authorization"] = aiohttp.BasicAuth(target.user, target.password or "").encode()
            url = str(target.with_user(None))
        return url, headers, body

    def record(self, entry: WebhookAttempt) -> WebhookAttempt:
        """Journal an attempt: the one place an attempt becomes a record."""
        self.stats["attempts"] += 1
        self.journal.add(entry)
        return entry

    async def _faulted(self, hook: Webhook, fault: "Fault", why: str) -> WebhookAttempt:
        """What a webhook fault does: drop it (journaled as a dead letter, never sent), send it
        twice, send it late (the call's later webhooks wait: their order is kept), or hold it
        while the call's later webhooks go first (reorder). A lookup the call waits for is
        held in real time within the provider's answer time: the clock stands still meanwhile."""
        mark = fault.mark(why)
        action = fault.kind
        if action == "drop":
            _, headers, body = self.request(hook)
            entry = WebhookAttempt(
                id=self.journal.new_id(), account=hook.account_id, provider=hook.provider, call=hook.call_id,
                hook=hook.hook, url=mask_url(hook.url), attempt=0, at=self._at(), request_headers=mask_headers(headers),
                request_body=body.decode("utf-8", "replace"), error=f"dropped by {fault.id}: not sent",
                dead=True, fault=mark)
            entry.webhook = hook
            self.stats["failed"] += 1
            return self.record(entry)
        if action == "duplicate":
            await self._deliver(hook, {**mark, "copy": 1})
            return await self._deliver(hook, {**mark, "copy": 2})
        delay = fault.delay_s
        mark["delay_s"] = delay
        if hook.answer_within is not None:         # a lookup: the call is waiting for it
            held = min(delay, hook.answer_within)
            await asyncio.sleep(held)
            left = max(0.0, hook.answer_within - held)
            return await self._deliver(dataclasses.replace(hook, answer_within=left, timeout=min(hook.timeout, left)),
                                       mark)
        if action == "reorder":
            # this one leaves the call's queue and waits on its own; the ones behind it go on
            key = f"_:{next(self._keys)}"
            self._size += 1
            self._workers[key] = asyncio.get_running_loop().create_task(self._held(key, hook, delay, mark))
            held_entry = WebhookAttempt(id=0, account=hook.account_id, provider=hook.provider, call=hook.call_id,
                                        hook=hook.hook, url=mask_url(hook.url), attempt=0, at=self._at(),
                                        request_headers={}, request_body="", fault=mark)
            return held_entry
        await self.clock.sleep(delay)
        return await self._deliver(hook, mark)

    async def _held(self, key: str, hook: Webhook, delay: float, mark: dict) -> None:
        try:
            await self.clock.sleep(delay)
            await self._deliver(hook, mark)
        finally:
            self._size -= 1
            self._workers.pop(key, None)
            if not self._workers and self._idle is not None:
                self._idle.set()

    async def _attempt(self, hook: Webhook, attempt_no: int, timeout: float,
                       resend_of: int | None = None, fault: dict | None = None) -> WebhookAttempt:
        url, headers, body = self.request(hook)
        entry = WebhookAttempt(
            id=self.journal.new_id(), account=hook.account_id, provider=hook.provider, call=hook.call_id,
            hook=hook.hook, url=mask_url(hook.url), attempt=attempt_no, at=self._at(),
            # the headers really sent, secrets masked (the webhook itself keeps them for a resend)
            request_headers=mask_headers(headers), request_body=body.decode("utf-8", "replace"),
            resend_of=resend_of, fault=fault)
        entry.webhook = hook
        if not self.allowed(hook.url):     # never sent: journaled as an error, not retried
            entry.error = f"refused: {mask_url(hook.url)} is not a CRM URL set in the configuration or admin API"
            entry.contract = {"ok": False, "violations": [f"{hook.hook}: {entry.error}"]}
            log.warning("webhook %s for %s refused: %s is not an allowed CRM URL",
                        hook.hook, hook.account_id, mask_url(hook.url.split("?", 1)[0]))
            return self.record(entry)
        started = _perf.perf_counter()
        try:
            if timeout <= 0:
                raise asyncio.TimeoutError
            async with self._client().post(url, data=body, headers=headers, allow_redirects=False,
                                           timeout=aiohttp.ClientTimeout(total=timeout)) as resp:
                raw = await _answer(resp)
                entry.status = resp.status
                entry.response_content_type = resp.headers.get("Content-Type", "")
                entry.response_body = raw.decode("utf-8", "replace")
                if 300 <= resp.status < 400:
                    entry.error = f"redirect to {resp.headers.get('Location', '?')} not followed"
        except aiohttp.ConnectionTimeoutError:
            entry.error = f"connection failed: no connection within {timeout:g} s"
        except asyncio.TimeoutError:
            entry.error = f"timeout: no answer within {max(timeout, 0):g} s (the CRM may have received it)"
            entry.may_have_been_received = timeout > 0
        except aiohttp.ClientConnectorError as err:
            entry.error = f"connection failed: {err.os_error or err}"
        except aiohttp.ClientError as err:
            # the request was written before the exchange broke (disconnect, bad answer)
            entry.error = f"{type(err).__name__}: {err}"
            entry.may_have_been_received = True
        except OSError as err:
            entry.error = f"connection failed: {err}"
        except (ValueError, TypeError) as err:   # aiohttp refusing the request itself: journaled, never lost
            entry.error = f"not sent: {err}"
        entry.latency_ms = round((_perf.perf_counter() - started) * 1000, 2)
        if entry.status is not None and entry.error is None:
            entry.delivered = 200 <= entry.status < 300
            try:
                violations, answer = check_answer(hook.provider, hook.hook, entry.status,
                                                  entry.response_body, hook.expects_json)
            except AssetError as err:   # a hook without its schema: judged failed, not passed
                log.error("%s", err)
                violations, answer = [f"{hook.hook}: cannot check the answer: {err}"], None
            entry.answer = answer
            entry.contract = {"ok": not violations, "violations": violations}
        else:
            entry.contract = {"ok": False, "violations": [f"{hook.hook}: {entry.error}"]}
        return self.record(entry)

    async def close(self) -> None:
        for task in list(self._workers.values()):
            task.cancel()
        self._workers.clear()
        self._pending.clear()
        self._size = 0
        if self._session is not None:
            await self._session.close()
            self._session = None
