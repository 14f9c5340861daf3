"""What the admin API and the journals show of secrets: enough to recognise them, never the
secret itself. A CRM URL keeps its scheme, host and path (its password becomes ``***``); a
header keeps its name, and an ``Authorization`` header its scheme (``Bearer ***``)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

MASK = "***"
# header names that carry a secret whatever their value (X-CRM-Token, X-Api-Key, Cookie …)
_SECRET_NAME = re.compile(r"token|secret|key|passw|auth|cookie|signature|session", re.I)


def mask_url(url: str | None) -> str | None:
    """``http://user:pass@host/path`` → ``http://user:***@host/path``; anything else as is."""
    if not url or "@" not in url:
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    netloc = f"{parts.username or ''}:{MASK}@{host}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def mask_header(name: str, value: str, secrets: tuple[str, ...] = ()) -> str:
    """The value of header ``name`` as a journal may show it."""
    if name.lower() in ("authorization", "proxy-authorization"):
        scheme, _, rest = value.partition(" ")
        return f"{scheme} {MASK}" if rest else MASK
    if _SECRET_NAME.search(name) or any(s and s in value for s in secrets):
        return MASK
    return value


def mask_headers(headers: dict[str, str], secrets: tuple[str, ...] = ()) -> dict[str, str]:
    return {name: mask_header(name, value, secrets) for name, value in headers.items()}
