"""``X-API-KEY`` authentication (seed §3.1) and the per-account CRM switches.

The key names the account. Two admin switches make a valid key fail the way the live
service does: ``crm_disabled`` → 401 ``CRM disabled``, ``crm_switched_off`` → 401
``CRM switched off`` (set with ``PATCH /_sim/accounts/{id}`` ``{"switches": {...}}``).
"""

from __future__ import annotations

import hmac
from typing import Awaitable, Callable

from aiohttp import web

from ...core.accounts import Account
from ...http import ACCOUNT_KEY, account_endpoint
from ...keys import SIM
from .errors import CrmDisabled, CrmSwitchedOff, InvalidToken, VatsError

PROVIDER_ID = "vats"
HEADER = "X-API-KEY"

Handler = Callable[[web.Request, Account], Awaitable[web.StreamResponse]]
SyncHandler = Callable[[web.Request, Account], web.StreamResponse]


def identify(request: web.Request) -> Account | None:
    """The account the ``X-API-KEY`` names, without raising or marking the request."""
    key = request.headers.get(HEADER, "").strip()
    if not key:
        return None
    for candidate in request.app[SIM].accounts_of(PROVIDER_ID):
        expected = candidate.credentials.get("api_key", "")
        if expected and hmac.compare_digest(expected.encode(), key.encode()):
            return candidate
    return None


def authenticate(request: web.Request) -> Account:
    key = request.headers.get(HEADER, "").strip()
    if not key:
        raise InvalidToken()
    sim = request.app[SIM]
    account = None
    for candidate in sim.accounts_of(PROVIDER_ID):
        expected = candidate.credentials.get("api_key", "")
        if expected and hmac.compare_digest(expected.encode(), key.encode()):
            account = candidate
            break
    if account is None:
        raise InvalidToken()
    request[ACCOUNT_KEY] = account
    if account.switches.get("crm_disabled"):
        raise CrmDisabled()
    if account.switches.get("crm_switched_off"):
        raise CrmSwitchedOff()
    return account


def authorized(handler: Handler | SyncHandler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """Authenticate, then run the handler; any ``VatsError`` becomes its documented body."""
    return account_endpoint(handler, authenticate, VatsError)
