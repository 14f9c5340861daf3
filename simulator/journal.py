"""The request journal: every request the simulator answered, newest last."""

from __future__ import annotations

import itertools
import logging
import re
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


@dataclass
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
    def __init__(self, size: int = 10000):
        self._entries: deque[RequestEntry] = deque(maxlen=size)
        self._ids = itertools.count(1)

    def add(self, **fields) -> RequestEntry:
        entry = RequestEntry(id=next(self._ids), **fields)
        self._entries.append(entry)
        return entry

    def entries(self, account: str | None = None, limit: int | None = None) -> list[RequestEntry]:
        out = [e for e in self._entries if account is None or e.account == account]
        if limit is not None:
            out = out[-limit:] if limit > 0 else []
        return out

    def clear(self, account: str | None = None) -> None:
        if account is None:
            self._entries.clear()
            return
        keep = [e for e in self._entries if e.account != account]
        self._entries.clear()
        self._entries.extend(keep)
