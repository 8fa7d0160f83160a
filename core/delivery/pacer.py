"""Per-conversation pacing: send no faster than the receiver allows, one conversation at a
time, without holding up the others.

Slack allows about one message per second per channel (short bursts tolerated, then 429 with
Retry-After); Teams documents per-bot, per-conversation limits over several windows (7 per
second, 8 per 2 s, 60 per 30 s, 1800 per hour). A `Pacer` takes turns per target: `turn(target)`
waits until the target's previous send has finished and a new one stays within every window of
the target's kind; `done(target)` ends the turn. The windows count from when sends *finished*
(their answer came back), which is after the receiver got them: however late the event loop
gets a request onto the wire, two posts never reach the receiver closer than the window allows.
A 429's Retry-After pushes the target's next turn back (`hold`). A channel waiting for its turn
holds up no other channel (each message is its own task).

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


#: Slack: 1 message per second per channel.
SLACK_WINDOWS = (Window(1, 1.0),)
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
        self._finished: dict[Target, deque[float]] = {}
        self._held: dict[Target, float] = {}
        self._turns: dict[Target, asyncio.Lock] = {}

    def paced(self, target: Target) -> bool:
        return bool(self.windows.get(target.kind))

    def next_free(self, target: Target) -> float:
        """The earliest moment (monotonic) a new send to `target` may start."""
        at = max(self._now(), self._held.get(target, 0.0))
        finished = self._finished.get(target)
        if finished:
            for window in self.windows.get(target.kind, ()):
                if len(finished) >= window.count:
                    at = max(at, finished[-window.count] + window.seconds)
        return at

    async def turn(self, target: Target) -> None:
        """Wait for the target's turn and take it; `done(target)` must follow."""
        if not self.paced(target):
            return
        lock = self._turns.setdefault(target, asyncio.Lock())
        await lock.acquire()
        try:
            while (wait := self.next_free(target) - self._now()) > 0:
                await self._sleep(wait)  # again: a hold may have come meanwhile
        except BaseException:
            lock.release()
            raise

    def done(self, target: Target) -> None:
        """The send that had the turn finished (delivered or not): the next one may go."""
        windows = self.windows.get(target.kind, ())
        if not windows:
            return
        finished = self._finished.setdefault(target, deque(maxlen=max(w.count for w in windows)))
        finished.append(self._now())
        lock = self._turns.get(target)
        if lock is not None and lock.locked():
            lock.release()

    def hold(self, target: Target, seconds: float) -> None:
        """The receiver asked for a pause (Retry-After): no turn before it is over."""
        until = self._now() + max(seconds, 0.0)
        self._held[target] = max(self._held.get(target, 0.0), until)

    def backlog(self, target: Target) -> float:
        """Seconds until `target` could send (0: now)."""
        return max(self.next_free(target) - self._now(), 0.0)

    def saturated(self, horizon: float) -> list[Target]:
        """Targets that could not send within `horizon` seconds (a long Retry-After)."""
        return [t for t in self._held if self.backlog(t) > horizon]
