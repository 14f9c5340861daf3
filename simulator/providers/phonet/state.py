"""What a Phonet account keeps beyond the neutral domain: sessions, the lookup cache, the
legs being dialled right now, the UTM batch. It lives in ``account.state.provider_data``,
so a reset (a fresh state) forgets it, as a restarted PBX would."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ...core.accounts import Account

KEY = "phonet"

# §1.1 configuration surface: account settings, overridden by admin-API switches.
DEFAULTS: dict[str, Any] = {
    # observed.md: time units differ by place, one switch each (the document says ms everywhere,
    # its examples show seconds): webhooks carry ms, active calls v3 seconds
    "webhook_time_unit": "ms",
    "active_calls_time_unit": "s",
    "session_idle_timeout_s": 1800,
    "max_sessions": 10000,           # live sessions kept per account: past it the least recently used end
    "lookup_cache": True,
    "lookup_cache_new_s": 60,
    "lookup_cache_existing_s": 300,
    "lookup_timeout_ms": 3000,
    "event_timeout_ms": 5000,
    "emit_internal_events": True,
    "emit_pause_events": True,       # §3.2.1: call.dial + call.hangup, lgDirection 32 / 64
    "duplicate_events": False,
    "duplicate_event_rate": 0.0,
    "webhook_forwarded_for": None,
    "chrome_extension_mode": False,
    "strict_host": True,             # the document: authorize is sent to the host equal to domain
    "strict_content_type": False,
    "calls_limit_overflow": "reject",
    "teler_in_other_legs": True,
    "utm_extra_field": False,
    "api_user_id": None,
    "split_recording": True,         # the -rx / -tx recording links exist
    "public_base_url": None,         # base of audioRecUrl; None: the simulator's public URL
}


def setting(account: "Account", key: str) -> Any:
    """A switch flipped at runtime wins over the configured setting, which wins over the default."""
    if key in account.switches:
        return account.switches[key]
    if key in account.settings:
        return account.settings[key]
    return DEFAULTS.get(key)


@dataclass
class Session:
    id: str                 # the JSESSIONID value
    account_id: str
    last_seen: float        # simulator clock; idle expiry is computed on use


@dataclass
class CachedLookup:
    other_leg: dict | None  # the CRM's otherLeg (shape A/B) or None (shape C)
    expires_at: float


@dataclass
class LiveLeg:
    """One Phonet leg between its call.dial and call.hangup (what active calls v3 lists)."""
    uuid: str
    call_id: str
    fields: dict            # webhook fields without event / accountDomain / serverTime
    dial_at: float
    bridge_at: float | None = None
    last_event: str = "call.dial"


@dataclass
class CdrDigest:
    """Facts over all call records, recomputed only when their number changes."""
    size: int = -1
    max_duration: float = 0.0
    last_answered: dict[str, float] = field(default_factory=dict)   # client digits → last end
    answered_size: int = -1


@dataclass
class PhonetState:
    sessions: dict[str, Session] = field(default_factory=dict)
    lookups: dict[str, CachedLookup] = field(default_factory=dict)
    legs: dict[str, LiveLeg] = field(default_factory=dict)
    other_legs: dict[str, list | None] = field(default_factory=dict)   # live call id → otherLegs
    utm_pending: list[dict] = field(default_factory=list)
    utm_task: asyncio.Task | None = None
    digest: CdrDigest = field(default_factory=CdrDigest)
    dialled: set[str] = field(default_factory=set)     # root uuids of live calls already dialled
    sweep_at: int = 256     # sessions swept of expired ones when there are this many (doubles)
    lookups_sweep_at: int = 256   # the same for the lookup cache (webhooks.forget_expired_lookups)


def phonet_state(account: "Account") -> PhonetState:
    data = account.state.provider_data
    st = data.get(KEY)
    if st is None:
        st = data[KEY] = PhonetState()
    return st
