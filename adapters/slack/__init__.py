"""Slack: `/optima`, Block Kit cards, buttons and proactive posts (bolt on aiohttp or Socket Mode).

- `app.SlackBot`: the bolt app, its `/slack/events` route and Socket Mode runner.
- `blocks.render_card`: the pure view-model → Block Kit renderer.
- `notifier.SlackNotifier`: `core.delivery.ports.Notifier` for Slack channels.
"""

from adapters.slack.app import EVENTS_PATH, SlackBot
from adapters.slack.blocks import ChartMode, render_card
from adapters.slack.notifier import SlackNotifier

__all__ = ["EVENTS_PATH", "ChartMode", "SlackBot", "SlackNotifier", "render_card"]
