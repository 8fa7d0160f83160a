"""Slack user groups' members, for approval roles granted to a group (`slack-group:S0123`).

The core's policy calls this from a worker thread (handlers are synchronous), so it uses
slack_sdk's synchronous `WebClient`; the core caches the answers (`core.approvals.policy`).
"""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from adapters.slack.client import API_TIMEOUT_SECONDS, SLACK_API_URL


class SlackUserGroups:
    """`usergroups.users.list` → the user ids of one group."""

    def __init__(self, bot_token: str, *, api_url: str | None = None) -> None:
        self.client = WebClient(
            token=bot_token, base_url=api_url or SLACK_API_URL, timeout=API_TIMEOUT_SECONDS
        )

    def members(self, workspace_id: str, group_id: str) -> frozenset[str]:
        try:
            # One bot token per workspace: the group id is resolved in the token's workspace.
            response = self.client.usergroups_users_list(usergroup=group_id)
        except SlackApiError as exc:
            raise RuntimeError(
                f"usergroups.users.list failed: {exc.response.get('error')}"
            ) from exc
        users = response.get("users") or []
        return frozenset(str(u) for u in users)
