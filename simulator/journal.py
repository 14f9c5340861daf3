"""The request journal (every request the simulator answered, newest last) and the console
log the access lines go to."""

from __future__ import annotations

import asyncio
import itertools
import logging
import re
import sys
import time
from collections import deque
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from .core.accounts import Account

# the account a request is for, set by the provider's authentication once it knows it: the
# journal files the request under it (a request without one is filed under the provider
# whose base path it is under)
ACCOUNT_KEY: web.RequestKey["Account"] = web.RequestKey("pbx_account", object)

# Credentials never reach the journal or the log: these query values are masked.
_SECRET_PARAMS = re.compile(r"(?i)\b(token|api_?key|apikey|crm_token|access_token|refresh_token|password)=([^&]*)")


def redact(path_qs: str) -> str:
    if "=" not in path_qs:
        return path_qs
    return _SECRET_PARAMS.sub(lambda m: f"{m.group(1)}=***", path_qs)


class RedactingFilter(logging.Filter):
    """For aiohttp's own server logger: its 'bad request' lines quote the raw request line
    (a cloudpbx ``token=`` in it); log them redacted and without the traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            text = f"{text}: {record.exc_info[1]}"
        record.msg, record.args = redact(text), ()
        record.exc_info = record.exc_text = None
        return True


LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class ConsoleFormatter(logging.Formatter):
    """``LOG_FORMAT``, the time formatted once a second, not once a line. With the lines made
    without records (``AccessLog``) and written a batch at a time (``ConsoleHandler``): on a
    quiet machine, paired wrk rounds against records through a plain ``logging.StreamHandler``
    (``python -m bench.paired throughput``, 7 rounds) served 1.32x the requests a second on t2
    /employees, 1.22x on phonet /rest/users, 1.155x on vats /users, 1.10x on cloudpbx."""

    def __init__(self) -> None:
        super().__init__(LOG_FORMAT)
        self._second = -1
        self._stamp = ""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return self._time(record.created, record.msecs)

    def _time(self, created: float, msecs: float) -> str:
        second = int(created)
        if second != self._second:
            self._second, self._stamp = second, time.strftime(self.default_time_format,
                                                               self.converter(second))
        return f"{self._stamp},{int(msecs):03d}"

    def format(self, record: logging.LogRecord) -> str:
        if record.exc_info or record.exc_text or record.stack_info:
            return super().format(record)
        record.message = record.getMessage()   # LOG_FORMAT, without the generic machinery
        return f"{self.formatTime(record)} {record.levelname} {record.name}: {record.message}"

    def access_lines(self, name: str, lines: list[tuple[float, str, str, int, float]]) -> list[str]:
        """What ``format`` writes for the INFO records of ``AccessLog.write``'s ``lines``."""
        return [f"{self._time(created, (created - int(created)) * 1000)} INFO {name}: "
                f"{method} {path} {status} {latency_ms:.1f}ms"
                for created, method, path, status, latency_ms in lines]


class ConsoleHandler(logging.StreamHandler):
    """stderr, written in batches from the event loop: one write (a system call, stderr being
    unbuffered in containers) per access-log line was a tenth of a request's CPU. A line waits
    at most ``delay`` seconds; a warning or error, a full batch, a line logged outside the
    loop, and logging's own shutdown flush at once."""

    def __init__(self, stream=None, delay: float = 0.1, batch: int = 256) -> None:
        super().__init__(stream if stream is not None else sys.stderr)
        self.setFormatter(ConsoleFormatter())
        self.delay, self.batch = delay, batch
        self._lines: list[str] = []
        self._timer: asyncio.TimerHandle | None = None

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._lines.append(self.format(record))
        except Exception:
            self.handleError(record)
            return
        self._wait(urgent=record.levelno >= logging.WARNING)

    def add_lines(self, lines: list[str]) -> None:
        """Formatted INFO lines (``AccessLog``'s, when this handler is the only one they reach)."""
        self.acquire()
        try:
            self._lines.extend(lines)
        finally:
            self.release()
        self._wait(urgent=False)

    def _wait(self, urgent: bool) -> None:
        if urgent or len(self._lines) >= self.batch:
            self.flush()
        elif self._timer is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:   # another thread, or no loop (start-up, shutdown)
                self.flush()
                return
            self._timer = loop.call_later(self.delay, self.flush)

    def flush(self) -> None:
        self.acquire()
        try:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            lines, self._lines = self._lines, []
            if lines and self.stream is not None:
                self.stream.write("\n".join(lines) + "\n")
                self.stream.flush()
        finally:
            self.release()


class AccessLog:
    """The access line of each request: INFO on ``simulator.access``, through ``logging``
    (its handlers, filters, pytest's caplog), carrying the time the request ended. The
    request journal hands the lines over in batches (``write``).

    When the only place a record would go is a ``ConsoleHandler`` with nothing on the way, the
    lines it would write are made without the records (see ``ConsoleFormatter``)."""

    FORMAT = "%s %s %s %.1fms"

    def __init__(self, logger: logging.Logger) -> None:
        self.logger = logger

    def write(self, lines: list[tuple[float, str, str, int, float]]) -> None:
        """``(ended, method, path, status, latency_ms)`` per request: ``ended`` epoch seconds,
        ``path`` redacted (as the journal keeps it)."""
        if not lines or not self.logger.isEnabledFor(logging.INFO):
            return
        console = self._console_only()
        if console is not None:
            console.add_lines(console.formatter.access_lines(self.logger.name, lines))
            return
        logger = self.logger
        for at, method, path, status, latency_ms in lines:
            record = logger.makeRecord(logger.name, logging.INFO, "(unknown file)", 0, self.FORMAT,
                                       (method, path, status, latency_ms), None)
            record.created, record.msecs = at, (at - int(at)) * 1000 // 1
            record.relativeCreated = (at - _STARTED) * 1000
            logger.handle(record)

    def _console_only(self) -> "ConsoleHandler | None":
        """The ``ConsoleHandler`` that is all a record of ``logger`` would reach, with nothing
        that could look at the record on the way (filters, another handler, a formatter of
        its own); else None, and records go through ``logging``. Checked once a batch: pytest's
        caplog, a user's handler or filter added at any time get records."""
        found: list[logging.Handler] = []
        logger: logging.Logger | None = self.logger
        while logger is not None:
            if logger.disabled or logger.filters:
                return None
            found.extend(logger.handlers)
            if not logger.propagate:
                break
            logger = logger.parent
        if len(found) != 1:
            return None
        handler = found[0]
        if type(handler) is not ConsoleHandler or handler.filters or handler.level > logging.INFO \
                or type(handler.formatter) is not ConsoleFormatter:
            return None
        return handler


_STARTED = getattr(logging, "_startTime", time.time())   # what relativeCreated counts from


def configure_console_log(level: str) -> None:
    """The log of ``pbx-sim serve``: one line per request at INFO (``simulator.access``)."""
    root = logging.getLogger()
    root.setLevel(level.upper())
    if not any(isinstance(h, ConsoleHandler) for h in root.handlers):
        root.addHandler(ConsoleHandler())


@dataclass(slots=True)
class RequestEntry:
    id: int
    at: float            # simulator time, epoch seconds (rendered as ISO-8601 in to_json)
    method: str
    path: str            # redacted
    status: int
    latency_ms: float
    account: str | None
    provider: str | None
    remote: str | None
    fault: dict | None = None          # the fault injected into this request, and why
    violations: list | None = None     # strict mode: what the provider's OpenAPI document refuses
    ended: float | None = None         # time.perf_counter() when the request ended (the access line's time)

    def to_json(self) -> dict:
        data = asdict(self)
        del data["ended"]
        data["at"] = datetime.fromtimestamp(self.at, tz=timezone.utc).isoformat().replace("+00:00", "Z")
        for key in ("fault", "violations"):
            if data[key] is None:
                del data[key]
        return data


class RequestJournal:
    """Every request the simulator answered, newest last (at most ``size``), and the source
    of the access log's lines.

    The access lines of new entries are written in batches: at most ``delay`` seconds after
    their request, after ``batch`` requests, before the journal is cleared and at shutdown
    (``flush``); at once outside an event loop. Paired wrk rounds (t2 /employees, vats /users):
    a line through ``logging`` as each request ended served 1.4x fewer requests a second than
    these batches."""

    def __init__(self, size: int = 10000, access_log: AccessLog | None = None,
                 delay: float = 0.05, batch: int = 512) -> None:
        self._entries: deque[RequestEntry] = deque(maxlen=size)
        self._ids = itertools.count(1)
        self.access_log = access_log
        self.delay, self.batch = delay, batch
        self._new: list[RequestEntry] = []   # entries whose access lines are not written yet
        self._timer: asyncio.TimerHandle | None = None
        # called with each batch of new entries as their access lines are written (the live
        # event stream): no cost per request
        self.listeners: list = []

    def add(self, at: float, method: str, path: str, status: int, latency_ms: float,
            account: str | None, provider: str | None, remote: str | None, ended: float | None = None,
            notes: dict | None = None) -> None:
        """``path`` as received (with its query; redacted here); ``ended``: ``time.perf_counter()``
        when the request ended (the access line's time), else now; ``notes``: ``{"fault": …,
        "violations": […]}`` when a fault or strict mode had a say."""
        entry = RequestEntry(next(self._ids), at, method, redact(path), status, round(latency_ms, 3), account,
                             provider, remote, *((notes.get("fault"), notes.get("violations")) if notes else ()),
                             ended=ended)
        self._entries.append(entry)
        self._new.append(entry)
        if len(self._new) >= self.batch:
            self.flush()
        elif self._timer is None:
            try:
                self._timer = asyncio.get_running_loop().call_later(self.delay, self.flush)
            except RuntimeError:   # no loop in this thread
                self.flush()

    def flush(self) -> None:
        """Write the access lines of the entries that have none yet."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        new, self._new = self._new, []
        if not new:
            return
        for listener in self.listeners:
            listener(new)
        if self.access_log is not None:
            now, wall = time.time(), time.time() - time.perf_counter()   # perf_counter → epoch seconds
            self.access_log.write([(now if e.ended is None else e.ended + wall, e.method, e.path, e.status,
                                    e.latency_ms) for e in new])

    def entries(self, account: str | None = None, limit: int | None = None) -> list[RequestEntry]:
        rows = [e for e in self._entries if account is None or e.account == account]
        if limit is not None:
            rows = rows[-limit:] if limit > 0 else []
        return rows

    def clear(self, account: str | None = None) -> None:
        self.flush()
        if account is None:
            self._entries.clear()
            return
        keep = [e for e in self._entries if e.account != account]
        self._entries.clear()
        self._entries.extend(keep)
