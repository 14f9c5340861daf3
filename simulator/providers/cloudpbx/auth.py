"""Who is asking: the ``token`` field names the account (the PBX key from the web cabinet).

The token travels as a form field (POST) or in the query string (GET); a missing or unknown
token is 401 ``{"error": "Invalid token"}`` before anything else is looked at, so a caller
without the key learns nothing about commands or users.

Recording links are handed to the CRM inside webhooks and the history CSV and are fetched
with a plain GET (players, CRM download jobs), so they cannot carry the API token. Each link
carries ``key`` = HMAC-SHA256(account token, call id), cut to 32 hex digits: only someone who
got the link from this account can fetch it, and regenerating the token revokes old links.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import TYPE_CHECKING

from .errors import InvalidToken

if TYPE_CHECKING:
    from ...core.accounts import Account
    from ...sim import Simulator

PROVIDER_ID = "cloudpbx"


def authenticate(sim: "Simulator", params: dict[str, str]) -> "Account":
    account = sim.find_account(PROVIDER_ID, "token", params.get("token", "").strip())
    if account is None:
        raise InvalidToken()
    return account


def record_key(account: "Account", call_id: str) -> str:
    secret = account.credentials.get("token", "").encode()
    return hmac.new(secret, call_id.encode(), hashlib.sha256).hexdigest()[:32]


def record_key_valid(account: "Account", call_id: str, key: str) -> bool:
    return hmac.compare_digest(record_key(account, call_id).encode(), key.encode())
