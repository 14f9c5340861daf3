"""t2 tokens: a pair of HS512 JWTs (access 1 day, refresh 7 days on the simulator clock),
passed raw in ``Authorization`` (a ``Bearer `` prefix is tolerated).

The payload is the one in seed 001's example, decoded:
``{"UserDetailsImpl": {"companyId", "userId", "login"}, "exp", "sub"}`` plus ``iat`` and a
random ``jti`` so two pairs issued in the same second differ. Each account signs with a key
derived from the server seed and its id, so no key is stored; the account's current pair
lives in ``account.credentials`` (``access_token`` / ``refresh_token``), and a token that
verifies but is not the current one of its type was replaced by a refresh or a
regeneration ("The token has already been updated").
"""

from __future__ import annotations

import hashlib
import hmac
import random
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Awaitable, Callable

import jwt
from aiohttp import web

from ...http import ACCOUNT_KEY, account_endpoint
from ...keys import SIM
from .errors import ALREADY_UPDATED, BAD_TOKEN, EXPIRED, HEADER_REQUIRED, INVALID_TYPE, Forbidden, T2Error

if TYPE_CHECKING:
    from ...core.accounts import Account
    from ...sim import Simulator

ACCESS = "ACCESS_OPENAPI_TOKEN"
REFRESH = "REFRESH_OPENAPI_TOKEN"
ACCESS_TTL_S = 86400
REFRESH_TTL_S = 7 * 86400
ALGORITHM = "HS512"
CREDENTIAL_KEY = {ACCESS: "access_token", REFRESH: "refresh_token"}
_DECODE_OPTIONS = {"verify_exp": False, "verify_iat": False, "verify_nbf": False,
                   "require": ["exp", "sub"]}   # expiry is checked on the simulator clock


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str

    def credentials(self) -> dict[str, str]:
        return {"access_token": self.access_token, "refresh_token": self.refresh_token}

    def to_json(self) -> dict[str, str]:
        return {"accessToken": self.access_token, "refreshToken": self.refresh_token}


def company_id(sim: "Simulator", account: "Account") -> int:
    """The account's t2 company id (``settings.company_id``, else stable from seed and id)."""
    configured = account.settings.get("company_id")
    if isinstance(configured, int) and not isinstance(configured, bool):
        return configured
    return 100 + zlib.crc32(f"{sim.seed}:{account.id}".encode()) % 9900


def signing_key(sim: "Simulator", account: "Account") -> bytes:
    return hmac.new(str(sim.seed).encode(), f"t2-openapi:{account.id}".encode(), hashlib.sha512).digest()


def _admin(account: "Account"):
    employees = sorted(account.state.employees.values(), key=lambda e: e.id)
    return next((e for e in employees if e.role == "admin"), employees[0] if employees else None)


def issue_pair(sim: "Simulator", account: "Account", rng: random.Random) -> TokenPair:
    now = int(account.clock.timestamp())
    admin = _admin(account)
    details = {"companyId": company_id(sim, account), "userId": admin.id if admin else 1,
               "login": admin.login if admin else account.id}
    key = signing_key(sim, account)

    def token(sub: str, ttl: int) -> str:
        payload = {"UserDetailsImpl": details, "exp": now + ttl, "sub": sub, "iat": now,
                   "jti": "%016x" % rng.getrandbits(64)}
        return jwt.encode(payload, key, algorithm=ALGORITHM, headers={"typ": None})

    return TokenPair(token(ACCESS, ACCESS_TTL_S), token(REFRESH, REFRESH_TTL_S))


def _raw_token(header: str | None) -> str:
    token = (header or "").strip()
    if token[:7].lower() in ("bearer", "bearer "):
        token = token[6:].strip()
    return token


VERIFIED_CACHE_SIZE = 4096


def _verify(sim: "Simulator", token: str) -> tuple["Account", dict] | None:
    """The account whose key signed ``token`` and the payload; None when nobody's did."""
    cache = sim.providers["t2"].verified
    hit = cache.get(token)
    if hit is not None:
        return sim.accounts[hit[0]], hit[1]
    found = _verify_signature(sim, token)
    if found is not None:
        if len(cache) >= VERIFIED_CACHE_SIZE:
            cache.clear()
        cache[token] = (found[0].id, found[1])
    return found


def _verify_signature(sim: "Simulator", token: str) -> tuple["Account", dict] | None:
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    details = claims.get("UserDetailsImpl")
    wanted = details.get("companyId") if isinstance(details, dict) else None
    for account in sim.accounts_of("t2"):
        if wanted is not None and company_id(sim, account) != wanted:
            continue
        try:
            return account, jwt.decode(token, signing_key(sim, account), algorithms=[ALGORITHM],
                                       options=_DECODE_OPTIONS)
        except jwt.PyJWTError:
            continue
    return None


def authenticate(sim: "Simulator", header: str | None, expected: str,
                 request: web.Request | None = None) -> "Account":
    """The account a token belongs to, or ``Forbidden`` with t2's reason. Checks in the
    order: missing → unparseable → type → replaced → expired."""
    token = _raw_token(header)
    if not token:
        raise Forbidden(HEADER_REQUIRED)
    found = _verify(sim, token)
    if found is None:
        # tokens set verbatim in the configuration need not be JWTs: they are the account's
        # current ones of the type they were configured as, and never expire
        for kind, key in CREDENTIAL_KEY.items():
            account = sim.find_account("t2", key, token)
            if account is not None:
                _mark(request, account)
                if kind != expected:
                    raise Forbidden(INVALID_TYPE)
                return account
        raise Forbidden(BAD_TOKEN)
    account, claims = found
    _mark(request, account)
    sub = claims.get("sub")
    if sub not in CREDENTIAL_KEY:
        raise Forbidden(BAD_TOKEN)
    if sub != expected:
        raise Forbidden(INVALID_TYPE)
    if not _same(account.credentials.get(CREDENTIAL_KEY[sub], ""), token):
        raise Forbidden(ALREADY_UPDATED)
    exp = claims.get("exp")
    if not isinstance(exp, (int, float)) or account.clock.timestamp() >= exp:
        raise Forbidden(EXPIRED)
    return account


def identify(sim: "Simulator", header: str | None) -> "Account | None":
    """The account a token names (valid or not: expired and replaced tokens name it too),
    without raising or marking the request."""
    token = _raw_token(header)
    if not token:
        return None
    found = _verify(sim, token)
    if found is not None:
        return found[0]
    for key in CREDENTIAL_KEY.values():
        account = sim.find_account("t2", key, token)
        if account is not None:
            return account
    return None


def _same(expected: str, given: str) -> bool:
    try:
        return hmac.compare_digest(expected, given)
    except TypeError:   # not ASCII: compared as bytes
        return hmac.compare_digest(expected.encode(), given.encode())


def _mark(request: web.Request | None, account: "Account") -> None:
    if request is not None:
        request[ACCOUNT_KEY] = account   # the request journal files it under the account


Handler = Callable[[web.Request, "Account"], Awaitable[web.StreamResponse]]


def requires(token_type: str) -> Callable[[Handler], Callable[[web.Request], Awaitable[web.StreamResponse]]]:
    """Decorate a handler ``(request, account)``: authenticate with a token of ``token_type``
    and turn any ``T2Error`` into its wire body."""

    def account_of(request: web.Request) -> "Account":
        return authenticate(request.app[SIM], request.headers.get("Authorization"), token_type, request)

    return lambda handler: account_endpoint(handler, account_of, T2Error)
