"""Logging never holds up the event loop that acks Slack: records are captured on the loop and
rendered and written by a thread. Shown deterministically: the log writer is stuck (a stream
whose `write` blocks) while a burst of errors with tracebacks is logged on the loop, and the
next slash command is still acked; every line is written once the writer is free."""

from __future__ import annotations

import asyncio
import io
import logging
import threading

import pytest

from bot import logs
from bot.logs import configure_logging, dropped_lines, flush_logs


class StuckStream(io.StringIO):
    """A log destination that cannot be written to until `release()` (a full pipe, a slow
    disk, a terminal scrolled back)."""

    def __init__(self) -> None:
        super().__init__()
        self.free = threading.Event()

    def write(self, text: str) -> int:
        self.free.wait(30)
        return super().write(text)

    def release(self) -> None:
        self.free.set()


@pytest.fixture(params=["console", "json"])
def stuck_log(request):
    stream = StuckStream()
    configure_logging("INFO", request.param, background=True, stream=stream)
    yield stream
    stream.release()
    logs.stop_background_logging()
    logging.getLogger().handlers[:] = []


def log_a_burst_of_errors(count: int) -> None:
    log = logging.getLogger("tests.burst")
    for n in range(count):
        try:
            raise ConnectionError(f"Slack is down (alert {n})")
        except ConnectionError:
            log.exception("could not deliver alert %d", n)


async def test_a_burst_of_logged_errors_does_not_delay_an_ack(server, stuck_log):
    log_a_burst_of_errors(200)  # on the event loop, with the writer stuck

    # Synchronous logging would never get here: the first record would block the loop.
    response = await asyncio.wait_for(server.command("help", answer_to="r1"), timeout=20)
    assert response.status == 200
    assert "could not deliver" not in stuck_log.getvalue()  # nothing written yet

    stuck_log.release()
    await asyncio.to_thread(flush_logs)
    written = stuck_log.getvalue()
    assert written.count("could not deliver alert") == 200
    assert "Slack is down (alert 199)" in written  # tracebacks rendered by the writer
    await server.bot.drain()


def test_a_full_queue_drops_lines_instead_of_waiting(stuck_log):
    before = dropped_lines()
    for n in range(logs.QUEUE_SIZE + 50):
        logging.getLogger("tests.flood").warning("line %d", n)
    assert dropped_lines() - before >= 49  # the writer holds one record, the queue the rest
