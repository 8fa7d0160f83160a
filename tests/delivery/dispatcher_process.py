"""A dispatcher in its own process, for the race and crash proofs.

    python -m tests.delivery.dispatcher_process DATABASE_URL [--kill-after-send] [--slack-api URL]

Prints "ready", waits for one line on stdin (a start barrier, so racing processes really
overlap), delivers until nothing is due, then prints its outcomes as one JSON line. With
`--kill-after-send` it SIGKILLs itself after the first successful send, before marking it sent.
It delivers webhooks, or Slack messages to the (fake) Slack Web API at `--slack-api`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys

from adapters.notify.webhook import WebhookNotifier
from adapters.slack import SlackNotifier
from core.delivery.dispatcher import DispatchConfig, Dispatcher
from core.kernel.clock import SystemClock
from core.kernel.db.engine import make_engine
from tests.support.receivers import LOCAL_RECEIVERS, WEBHOOK_SECRET


def kill_self(_message) -> None:
    os.kill(os.getpid(), signal.SIGKILL)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("database_url")
    parser.add_argument("--kill-after-send", action="store_true")
    parser.add_argument("--slack-api")
    args = parser.parse_args()

    engine = make_engine(args.database_url)
    notifier: WebhookNotifier | SlackNotifier
    if args.slack_api:
        notifier = SlackNotifier("xoxb-test", api_url=args.slack_api)
    else:
        notifier = WebhookNotifier(
            WEBHOOK_SECRET, timeout_seconds=10, check_deliveries=True, allowed_hosts=LOCAL_RECEIVERS
        )
    dispatcher = Dispatcher(
        engine,
        {notifier.kind: notifier},
        SystemClock(),
        DispatchConfig(batch_size=5),
        after_send=kill_self if args.kill_after_send else None,
    )
    print("ready", flush=True)
    await asyncio.to_thread(sys.stdin.readline)
    outcomes = await dispatcher.dispatch_until_idle()
    if isinstance(notifier, WebhookNotifier):
        await notifier.close()
    engine.dispose()
    print(json.dumps(outcomes), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
