"""Per-conversation pacing: send no faster than the receiver allows, one conversation at a
time, without holding up the others.

Slack allows about one message per second per channel (short bursts tolerated, then 429 with
Retry-After); Teams documents per-bot, per-conversation limits over several windows (7 per
second, 8 per 2 s, 60 per 30 s, 1800 per hour). A `Pacer` keeps, per target, the times of its
recent sends and hands out turns: `turn(target)` waits until a send would stay within every
window of the target's kind, and reserves that moment. A 429's Retry-After pushes the target's
next turn back (`hold`). Waiting happens per message, so a busy channel never blocks another.

The pacer is per process: replicas delivering to one channel at once are kept within the limit
by the receiver's 429s and Retry-After, which the dispatcher honours.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from core.delivery.targets import Target, TargetKind

Sleep = Callable[[float], Awaitable[None]]
Monotonic = Callable[[], float]


@dataclass(frozen=True, slots=True)
class Window:
    """At most `count` sends in any `seconds`."""

    count: int
    seconds: float


#: Slack: 1 message per second per channel, with a small margin for network jitter.
SLACK_WINDOWS = (Window(1, 1.02),)
#: Teams: the documented per-conversation limits of a bot.
TEAMS_WINDOWS = (Window(7, 1.0), Window(8, 2.0), Window(60, 30.0), Window(1800, 3600.0))
DEFAULT_WINDOWS: Mapping[TargetKind, tuple[Window, ...]] = {
    TargetKind.SLACK: SLACK_WINDOWS,
    TargetKind.TEAMS: TEAMS_WINDOWS,
}


class Pacer:
    def __init__(
        self,
        windows: Mapping[TargetKind, tuple[Window, ...]] = DEFAULT_WINDOWS,
        *,
        monotonic: Monotonic = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.windows = dict(windows)
        self._now = monotonic
        self._sleep = sleep
        self._sent: dict[Target, deque[float]] = {}
        self._held: dict[Target, float] = {}

    def paced(self, target: Target) -> bool:
        return bool(self.windows.get(target.kind))

    def next_free(self, target: Target) -> float:
        """The earliest moment (monotonic) a new send to `target` would be allowed."""
        at = max(self._now(), self._held.get(target, 0.0))
        sent = self._sent.get(target)
        if sent:
            for window in self.windows.get(target.kind, ()):
                if len(sent) >= window.count:
                    at = max(at, sent[-window.count] + window.seconds)
        return at

    def reserve(self, target: Target) -> float:
        """Take the next turn of `target`; how many seconds until it comes."""
        windows = self.windows.get(target.kind, ())
        if not windows:
            return 0.0
        at = self.next_free(target)
        longest = max(w.count for w in windows)
        sent = self._sent.setdefault(target, deque(maxlen=longest))
        sent.append(at)
        return max(at - self._now(), 0.0)

    async def turn(self, target: Target) -> None:
        """Wait for (and take) the next turn of `target`."""
        wait = self.reserve(target)
        if wait > 0:
            await self._sleep(wait)

    def hold(self, target: Target, seconds: float) -> None:
        """The receiver asked for a pause (Retry-After): no turn before it is over."""
        until = self._now() + max(seconds, 0.0)
        self._held[target] = max(self._held.get(target, 0.0), until)

    def backlog(self, target: Target) -> float:
        """Seconds until the next free turn of `target` (0: it could send now)."""
        return max(self.next_free(target) - self._now(), 0.0)

    def saturated(self, horizon: float) -> list[Target]:
        """Targets whose next free turn is more than `horizon` seconds away."""
        return [t for t in list(self._sent) + list(self._held) if self.backlog(t) > horizon]
