"""The simulator's one clock. Nothing else in the package reads the wall clock.

Modes:
- ``real``: virtual time follows the wall clock (plus any offset moved by ``advance``/``set``).
- ``scale:N``: virtual time runs N times faster than the wall clock.
- ``manual``: virtual time stands still; only ``advance``/``set`` move it (tests use this
  to look at a call while it rings).
- ``instant``: like manual, but whenever every coroutine sleeping on the clock is waiting
  and nothing holds the clock, it jumps to the next wake-up: a day of calls runs in
  seconds with the same timestamps as in real time.

Sleepers are kept in a heap, so ``advance`` wakes them in deadline order and lets each
woken task run (and schedule its next sleep) before the next deadline is handled.
"""

from __future__ import annotations

import asyncio
import heapq
import math
import itertools
import re
import time as _wall
from contextlib import asynccontextmanager
from datetime import datetime, timedelta, timezone

MODES = ("real", "manual", "instant", "scale")
HOLD_LIMIT_S = 150.0   # longest a held clock waits for the world outside (2 × the longest CRM timeout)

# The clock's range: every date a provider renders (and a day or a month either side, which
# periods and history windows reach) stays within what datetime and the date formats hold.
EARLIEST = datetime(1970, 1, 2, tzinfo=timezone.utc).timestamp()
LATEST = datetime(3000, 1, 1, tzinfo=timezone.utc).timestamp()
_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, None: 1}


def parse_duration(value: float | int | str) -> float:
    """``90``, ``"90s"``, ``"25h"``, ``"1.5m"`` → seconds."""
    if isinstance(value, bool):
        raise ValueError("a duration is a number of seconds or a string like '25h'")
    if isinstance(value, (int, float)):
        seconds = float(value)
    else:
        match = _DURATION_RE.match(str(value)[:64])
        if not match:
            raise ValueError(f"not a duration: {str(value)[:64]!r} (use seconds or e.g. '90s', '25h', '2d')")
        seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if not math.isfinite(seconds):
        raise ValueError("a duration must be a finite number of seconds")
    return seconds


def parse_mode(text: str) -> tuple[str, float]:
    """``real`` / ``manual`` / ``instant`` / ``scale:N`` → (mode, scale)."""
    text = (text or "real").strip().lower()
    if text.startswith("scale:") or text.startswith("x"):
        raw = text.split(":", 1)[1] if ":" in text else text[1:]
        try:
            scale = float(raw)
        except ValueError:
            raise ValueError(f"clock mode {text!r}: scale must be a number, e.g. scale:10") from None
        if scale <= 0:
            raise ValueError(f"clock mode {text!r}: scale must be positive")
        return "scale", scale
    if text not in ("real", "manual", "instant"):
        raise ValueError(f"clock mode {text!r}: use real, manual, instant or scale:N")
    return text, 1.0


class Clock:
    def __init__(self, mode: str = "real", start: datetime | None = None):
        self.mode, self.scale = parse_mode(mode)
        self._mode_text = mode
        # The only wall-clock reads in the package are here.
        self._wall_anchor = _wall.monotonic()
        if start is None:
            start = datetime.now(timezone.utc).replace(microsecond=0)
        if start.tzinfo is None:
            start = start.replace(tzinfo=timezone.utc)
        self._virtual_anchor = start.timestamp()
        self._sleepers: list[tuple[float, int, asyncio.Future]] = []
        self._seq = itertools.count()
        self._holds = 0
        self._released: asyncio.Event | None = None
        self._changed: asyncio.Event | None = None
        self._driver: asyncio.Task | None = None

    # ---- reading -------------------------------------------------------------------------
    @property
    def mode_name(self) -> str:
        return f"scale:{self.scale:g}" if self.mode == "scale" else self.mode

    def timestamp(self) -> float:
        if self.mode in ("manual", "instant"):
            return self._virtual_anchor
        elapsed = _wall.monotonic() - self._wall_anchor
        return self._virtual_anchor + elapsed * self.scale

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.timestamp(), tz=timezone.utc)

    # ---- moving --------------------------------------------------------------------------
    def _rebase(self, virtual: float) -> None:
        self._wall_anchor = _wall.monotonic()
        self._virtual_anchor = virtual

    async def advance(self, seconds: float | str) -> datetime:
        seconds = parse_duration(seconds)
        if seconds < 0:
            raise ValueError("the clock does not go backwards; use set")
        target = self.timestamp() + seconds
        self._check_range(target)   # before anything moves: a refused move changes nothing
        await self._run_until(target)
        return self.now()

    async def set(self, when: datetime) -> datetime:
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        target = when.timestamp()
        self._check_range(target)
        if target >= self.timestamp():
            await self._run_until(target)
        else:
            self._rebase(target)
            self._notify()
        return self.now()

    @staticmethod
    def _check_range(target: float) -> None:
        if not EARLIEST <= target <= LATEST:
            raise ValueError("the clock stays between 1970-01-02 and 3000-01-01 (UTC)")

    async def _run_until(self, target: float) -> None:
        """Wake every sleeper due by ``target`` in deadline order, then stand at ``target``."""
        while True:
            await self._settle()
            if not self._sleepers or self._sleepers[0][0] > target:
                break
            deadline, _, fut = heapq.heappop(self._sleepers)
            if fut.done():
                continue
            if deadline > self.timestamp():
                self._rebase(deadline)
            fut.set_result(None)
        if target > self.timestamp():
            self._rebase(target)
        self._notify()
        await self._settle()

    async def _settle(self, rounds: int = 8) -> None:
        """Let woken tasks run until every one waits again and nothing holds the clock."""
        ready = getattr(asyncio.get_running_loop(), "_ready", None)
        deadline = None
        while True:
            if ready is None:   # a loop without a visible ready queue (uvloop): a few rounds
                for _ in range(rounds):
                    await asyncio.sleep(0)
            else:
                await asyncio.sleep(0)
                spins = 0
                while len(ready) and spins < 10000:   # other callbacks still to run
                    await asyncio.sleep(0)
                    spins += 1
            if not self._holds:
                return
            # a held clock waits, in real time, for the CRM (whose own timeout bounds this)
            loop = asyncio.get_running_loop()
            if deadline is None:
                deadline = loop.time() + HOLD_LIMIT_S
            if self._released is None:
                self._released = asyncio.Event()
            try:
                await asyncio.wait_for(self._released.wait(), max(0.0, deadline - loop.time()))
            except asyncio.TimeoutError:
                return

    def _notify(self) -> None:
        if self._changed is not None:
            self._changed.set()
            self._changed = None

    # ---- sleeping ------------------------------------------------------------------------
    async def sleep(self, seconds: float, interrupt: asyncio.Future | None = None) -> None:
        """Sleep ``seconds`` of virtual time, or until ``interrupt`` is done (a hang-up)."""
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        deadline = self.timestamp() + seconds
        if self.mode in ("real", "scale"):
            if interrupt is None:
                await self._sleep_wall(deadline)
                return
            sleeper = asyncio.ensure_future(self._sleep_wall(deadline))
            try:
                await asyncio.wait({sleeper, interrupt}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                if not sleeper.done():
                    sleeper.cancel()
            return
        fut = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (deadline, next(self._seq), fut))
        if self.mode == "instant":
            self._ensure_driver()

        def wake(_: asyncio.Future) -> None:
            if not fut.done():
                fut.set_result(None)

        if interrupt is not None:
            interrupt.add_done_callback(wake)
        try:
            await fut
        finally:
            if interrupt is not None:
                interrupt.remove_done_callback(wake)
            if not fut.done():
                fut.cancel()   # left in the heap as done: skipped when its time comes

    async def sleep_until(self, when: datetime) -> None:
        await self.sleep(when.timestamp() - self.timestamp())

    async def _sleep_wall(self, deadline: float) -> None:
        while True:
            remaining = deadline - self.timestamp()
            if remaining <= 0:
                return
            if self._changed is None:
                self._changed = asyncio.Event()
            changed = self._changed
            try:
                await asyncio.wait_for(changed.wait(), remaining / self.scale)
            except asyncio.TimeoutError:
                pass

    def _ensure_driver(self) -> None:
        if self._driver is None or self._driver.done():
            self._driver = asyncio.get_running_loop().create_task(self._drive())

    async def _drive(self) -> None:
        """Instant mode: jump to the next wake-up whenever everything is waiting.

        The same steps as ``_run_until(next deadline)`` in a loop (wake one sleeper, let
        everything run until it waits again, repeat), with one settle per wake-up instead of
        four: a day of calls is hundreds of thousands of wake-ups."""
        sleepers = self._sleepers
        while True:
            await self._settle()
            while sleepers and sleepers[0][2].done():   # cancelled sleeps
                heapq.heappop(sleepers)
            if not sleepers:
                return
            deadline, _, fut = heapq.heappop(sleepers)
            if deadline > self.timestamp():
                self._rebase(deadline)
                self._notify()
            fut.set_result(None)

    @asynccontextmanager
    async def hold(self):
        """Keep instant/manual time still while awaiting something outside the clock
        (a CRM answering a lookup): virtual time must not run on while it waits."""
        self._holds += 1
        try:
            yield
        finally:
            self._holds -= 1
            if not self._holds and self._released is not None:
                self._released.set()
                self._released = None

    async def close(self) -> None:
        if self._driver is not None:
            self._driver.cancel()
        for _, _, fut in self._sleepers:
            if not fut.done():
                fut.cancel()
        self._sleepers.clear()

    def snapshot(self) -> dict:
        return {"now": self.now().isoformat().replace("+00:00", "Z"), "mode": self.mode_name}


class AccountClock:
    """One account's view of the server clock: the server's time plus the account's own
    offset (``POST /_sim/clock {"account": …}``). Everything that reads time for an account
    (tokens, sessions, periods, its calls) asks this; moving it moves that account alone.

    Sleeps run on the server clock; the view also keeps its sleepers so that moving the
    account wakes the ones due, in deadline order, as moving the server does."""

    def __init__(self, clock: Clock, offset: float = 0.0) -> None:
        self.clock = clock
        self.offset = offset
        self._sleepers: list[tuple[float, int, asyncio.Future]] = []
        self._seq = itertools.count()

    @property
    def mode(self) -> str:
        return self.clock.mode

    @property
    def mode_name(self) -> str:
        return self.clock.mode_name

    def timestamp(self) -> float:
        return self.clock.timestamp() + self.offset

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.timestamp(), tz=timezone.utc)

    def hold(self):
        return self.clock.hold()

    async def sleep(self, seconds: float, interrupt: asyncio.Future | None = None) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        deadline = self.timestamp() + seconds
        loop = asyncio.get_running_loop()
        while True:
            remaining = deadline - self.timestamp()
            if remaining <= 0 or (interrupt is not None and interrupt.done()):
                return
            wake = loop.create_future()
            heapq.heappush(self._sleepers, (deadline, next(self._seq), wake))

            def woken(_: asyncio.Future, wake: asyncio.Future = wake) -> None:
                if not wake.done():
                    wake.set_result(None)

            if interrupt is not None:
                interrupt.add_done_callback(woken)
            try:
                await self.clock.sleep(remaining, wake)
            finally:
                if interrupt is not None:
                    interrupt.remove_done_callback(woken)
                if not wake.done():
                    wake.cancel()   # left in the heap as done: skipped
                sleepers = self._sleepers
                while sleepers and sleepers[0][2].done():   # the finished ones at the top go
                    heapq.heappop(sleepers)

    async def sleep_until(self, when: datetime) -> None:
        await self.sleep(when.timestamp() - self.timestamp())

    async def advance(self, seconds: float | str) -> datetime:
        """Move this account's time on by ``seconds``; its sleepers due meanwhile wake in order."""
        seconds = parse_duration(seconds)
        if seconds < 0:
            raise ValueError("the clock does not go backwards; use set")
        target = self.timestamp() + seconds
        Clock._check_range(target)   # before anything moves
        while True:
            await self.clock._settle()
            while self._sleepers and self._sleepers[0][2].done():
                heapq.heappop(self._sleepers)
            if not self._sleepers or self._sleepers[0][0] > target:
                break
            deadline, _, wake = heapq.heappop(self._sleepers)
            if deadline > self.timestamp():
                self.offset += deadline - self.timestamp()
            wake.set_result(None)
        if target > self.timestamp():
            self.offset += target - self.timestamp()
        await self.clock._settle()
        return self.now()

    async def set(self, when: datetime) -> datetime:
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        target = when.timestamp()
        Clock._check_range(target)
        if target >= self.timestamp():
            return await self.advance(target - self.timestamp())
        self.offset -= self.timestamp() - target
        return self.now()

    def snapshot(self) -> dict:
        return {**{"now": self.now().isoformat().replace("+00:00", "Z"), "mode": self.mode_name},
                "offset_s": round(self.offset, 6)}


PERIODS = ("today", "yesterday", "this_week", "last_week", "this_month", "last_month")


def period_window(period: str, now: float, utc_offset: float) -> tuple[float, float]:
    """[start, end) epoch seconds of a named period (``PERIODS``) around ``now``, in the zone
    ``utc_offset`` hours from UTC; weeks start on Monday."""
    tz = timezone(timedelta(hours=utc_offset))
    today = datetime.fromtimestamp(now, tz).replace(hour=0, minute=0, second=0, microsecond=0)
    day = timedelta(days=1)
    if period == "today":
        a, b = today, today + day
    elif period == "yesterday":
        a, b = today - day, today
    elif period in ("this_week", "last_week"):
        monday = today - timedelta(days=today.weekday())
        a = monday if period == "this_week" else monday - 7 * day
        b = a + 7 * day
    elif period in ("this_month", "last_month"):
        first = today.replace(day=1)
        following = (first + 32 * day).replace(day=1)
        a, b = (first, following) if period == "this_month" else ((first - day).replace(day=1), first)
    else:
        raise ValueError(f"unknown period {period!r}")
    return a.timestamp(), b.timestamp()


def utc(dt: datetime) -> datetime:
    return dt.astimezone(timezone.utc)


def day_start(dt: datetime) -> datetime:
    return dt.replace(hour=0, minute=0, second=0, microsecond=0)


__all__ = ["Clock", "AccountClock", "PERIODS", "parse_duration", "parse_mode", "period_window", "utc", "day_start", "timedelta"]
