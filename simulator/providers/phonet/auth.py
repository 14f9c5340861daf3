"""Sessions: ``POST /rest/security/authorize`` → ``Set-Cookie: JSESSIONID``; every other
endpoint but ``/rest/public/…`` needs a live session, else 403 ``Forbidden``.

Idle expiry (``session_idle_timeout_s``, default 1800 s, the servlet default the cookie
name suggests) is computed on use from the simulator clock: no timer runs.
"""

from __future__ import annotations

import hmac
import secrets
from typing import TYPE_CHECKING

from aiohttp import web

from ...http import ACCOUNT_KEY
from ...keys import SIM
from .errors import Forbidden, HostMismatch, InvalidCredentials
from .state import Session, phonet_state, setting

if TYPE_CHECKING:
    from ...core.accounts import Account
    from ...sim import Simulator

COOKIE = "JSESSIONID"
PROVIDER = "phonet"


def _host(request: web.Request) -> str:
    return _bare(request.host or "")


def _bare(host: str) -> str:
    """A host without its port, lower case (``[::1]:8080`` → ``[::1]``)."""
    host = host.strip().lower()
    if host.startswith("["):
        return host.split("]", 1)[0] + "]"
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def login(request: web.Request, domain: str, api_key: str) -> tuple["Account", Session]:
    sim: "Simulator" = request.app[SIM]
    for account in sim.accounts_of(PROVIDER):
        if account.domain.lower() != domain.strip().lower():
            continue
        if not hmac.compare_digest(account.credentials.get("api_key", "").encode(), api_key.encode()):
            break
        # the document: "the authorize request must be sent to the host equal to domain"
        if setting(account, "strict_host") and _host(request) != _bare(account.domain):
            raise HostMismatch(_host(request))
        session = Session(id=secrets.token_hex(16).upper(), account_id=account.id,
                          last_seen=account.clock.timestamp())
        st = phonet_state(account)
        st.sessions[session.id] = session
        if len(st.sessions) >= st.sweep_at or len(st.sessions) > setting(account, "max_sessions"):
            evict(account, session.last_seen)
        request[ACCOUNT_KEY] = account
        return account, session
    raise InvalidCredentials()


def session_cookie(session: Session) -> str:
    # JSESSIONID first (clients take the first ';' part); no Secure over plain HTTP
    return f"{COOKIE}={session.id}; Path=/; HttpOnly"


def session_id(request: web.Request) -> str:
    """The ``JSESSIONID`` of the Cookie header (aiohttp's parser: the last one when repeated)."""
    return request.cookies.get(COOKIE, "")


def identify(request: web.Request) -> "Account | None":
    """The account whose session the request's cookie names (live or expired), without
    touching the session or marking the request."""
    sid = session_id(request)
    if not sid:
        return None
    for account in request.app[SIM].accounts_of(PROVIDER):
        if sid in phonet_state(account).sessions:
            return account
    return None


def authenticated(request: web.Request) -> "Account":
    """The account of the request's live session (touching it), else ``Forbidden``."""
    sid = session_id(request)
    if not sid:
        raise Forbidden()
    sim: "Simulator" = request.app[SIM]
    for account in sim.accounts_of(PROVIDER):
        sessions = phonet_state(account).sessions
        session = sessions.get(sid)
        if session is None:
            continue
        now = account.clock.timestamp()
        if now - session.last_seen > float(setting(account, "session_idle_timeout_s")):
            del sessions[sid]
            break
        if setting(account, "strict_host") and _host(request) != _bare(account.domain):
            break   # a session is used on the host it logged in to
        session.last_seen = now
        request[ACCOUNT_KEY] = account
        return account
    raise Forbidden()


def evict(account: "Account", now: float) -> int:
    """Drop the account's expired sessions (expiry is otherwise only seen when a session is
    used: logins that never come back would stay forever), then, past ``max_sessions``, the
    least recently used down to 90 % of it. Run when the count has doubled since the last
    sweep or passes the cap: amortised O(1) a login. The number dropped."""
    st = phonet_state(account)
    sessions = st.sessions
    idle = float(setting(account, "session_idle_timeout_s"))
    before = len(sessions)
    for sid in [sid for sid, s in sessions.items() if now - s.last_seen > idle]:
        del sessions[sid]
    cap = int(setting(account, "max_sessions"))
    if len(sessions) > cap:    # down to 90 %: the next sweep is a tenth of the cap away
        for s in sorted(sessions.values(), key=lambda s: s.last_seen)[:len(sessions) - cap * 9 // 10]:
            del sessions[s.id]
    st.sweep_at = max(min(256, cap + 1), min(2 * len(sessions), cap + 1))
    return before - len(sessions)


def end_sessions(account: "Account") -> int:
    """Drop every session of the account (regenerated key, admin "expire sessions")."""
    sessions = phonet_state(account).sessions
    n = len(sessions)
    sessions.clear()
    return n
