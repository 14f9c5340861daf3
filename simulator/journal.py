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
    """``LOG_FORMAT``, the time formatted once a second, not once a line."""

    def __init__(self) -> None:
        super().__init__(LOG_FORMAT)
        self._second = -1
        self._stamp = ""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        second = int(record.created)
        if second != self._second:
            self._second, self._stamp = second, time.strftime(self.default_time_format,
                                                               self.converter(second))
        return f"{self._stamp},{int(record.msecs):03d}"

    def format(self, record: logging.LogRecord) -> str:
        if record.exc_info or record.exc_text or record.stack_info:
            return super().format(record)
        record.message = record.getMessage()   # LOG_FORMAT, without the generic machinery
        return f"{self.formatTime(record)} {record.levelname} {record.name}: {record.message}"


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
        if record.levelno >= logging.WARNING or len(self._lines) >= self.batch:
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
    (its handlers, filters, pytest's caplog), carrying the time the request ended.

    Lines are handed to ``logging`` in batches, at most ``delay`` seconds after their request
    (at once outside an event loop; ``flush`` at shutdown): logging's dozen functions stay
    in the CPU's caches for a batch, where one line between two requests cost three times as
    much. Each record is a copy of one made at start with the message, arguments and time
    filled in (making a ``LogRecord`` parses a file name and looks up the process)."""

    FORMAT = "%s %s %s %.1fms"

    def __init__(self, logger: logging.Logger, delay: float = 0.05, batch: int = 512) -> None:
        self.logger = logger
        self.delay, self.batch = delay, batch
        self._template = logging.LogRecord(logger.name, logging.INFO, "(unknown file)", 0, self.FORMAT, (),
                                           None).__dict__
        self._pending: list[tuple] = []
        self._timer: asyncio.TimerHandle | None = None

    def add(self, method: str, path: str, status: int, latency_ms: float) -> None:
        """``path`` as received: it is redacted when the line is written."""
        if not self.logger.isEnabledFor(logging.INFO):
            return
        self._pending.append((time.time(), method, path, status, latency_ms))
        if len(self._pending) >= self.batch:
            self.flush()
        elif self._timer is None:
            try:
                self._timer = asyncio.get_running_loop().call_later(self.delay, self.flush)
            except RuntimeError:   # no loop in this thread
                self.flush()

    def flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        pending, self._pending = self._pending, []
        logger, template, new = self.logger, self._template, logging.LogRecord.__new__
        for at, method, path, status, latency_ms in pending:
            record = new(logging.LogRecord)
            fields = record.__dict__
            fields.update(template)
            fields["args"] = (method, redact(path), status, latency_ms)
            fields["created"] = at
            fields["msecs"] = (at - int(at)) * 1000 // 1
            fields["relativeCreated"] = (at - _STARTED) * 1000
            logger.handle(record)


_STARTED = getattr(logging, "_startTime", time.time())   # what relativeCreated counts from


def configure_console_log(level: str) -> None:
    """The log of ``pbx-sim serve``: one line per request at INFO (``simulator.access``)."""
    # the format names no source line, thread or process: don't look them up for every line
    # (the logging HOWTO's "Optimization"); with the two classes above the access line costs a
    # third of what ``basicConfig`` made it cost
    logging._srcfile = None
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    root = logging.getLogger()
    root.setLevel(level.upper())
    if not any(isinstance(h, ConsoleHandler) for h in root.handlers):
        root.addHandler(ConsoleHandler())


@dataclass(slots=True)
class RequestEntry:
    id: int
    at: float            # simulator time, epoch seconds (rendered as ISO-8601 in to_json)
    method: str
    path: str
    status: int
    latency_ms: float
    account: str | None
    provider: str | None
    remote: str | None

    def to_json(self) -> dict:
        data = asdict(self)
        data["at"] = datetime.fromtimestamp(self.at, tz=timezone.utc).isoformat().replace("+00:00", "Z")
        return data


class RequestJournal:
    """Entries are kept as tuples and become ``RequestEntry`` (path redacted) when read: the
    journal is written on every request and read now and then."""

    def __init__(self, size: int = 10000):
        self._entries: deque[tuple] = deque(maxlen=size)
        self._ids = itertools.count(1)

    def add(self, at: float, method: str, path: str, status: int, latency_ms: float,
            account: str | None, provider: str | None, remote: str | None) -> None:
        """``path`` as received (with its query)."""
        self._entries.append((next(self._ids), at, method, path, status, latency_ms, account, provider, remote))

    def entries(self, account: str | None = None, limit: int | None = None) -> list[RequestEntry]:
        rows = [e for e in self._entries if account is None or e[6] == account]
        if limit is not None:
            rows = rows[-limit:] if limit > 0 else []
        return [RequestEntry(i, at, method, redact(path), status, latency, acc, provider, remote)
                for i, at, method, path, status, latency, acc, provider, remote in rows]

    def clear(self, account: str | None = None) -> None:
        if account is None:
            self._entries.clear()
            return
        keep = [e for e in self._entries if e[6] != account]
        self._entries.clear()
        self._entries.extend(keep)
