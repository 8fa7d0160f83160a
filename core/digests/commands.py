"""`digest …`: subscribe this channel, list, turn off, pause, resume, weekdays only, preview."""

from __future__ import annotations

import dataclasses

from core.delivery.targets import Target, describe_target, here_target
from core.digests.actions import DigestAction
from core.digests.content import DigestSources, build_content
from core.digests.grammar import HELP, SYNTAX, USAGE, parse_id, parse_pause, parse_subscribe
from core.digests.model import DigestsConfig, Frequency, Subscription
from core.digests.presenters import confirmation, digest_card, list_card
from core.digests.schedule import first_slot_after, zone
from core.digests.store import (
    remove,
    reschedule,
    set_paused,
    subscribe,
    subscriptions_of,
)
from core.kernel.authz import Role
from core.kernel.cards import Reply, Visibility
from core.kernel.context import CommandContext
from core.kernel.errors import NotFoundError, UserInputError
from core.kernel.grammar import ParsedCommand
from core.kernel.routing import ActionSpec, CommandSpec, Router, Subcommand


def _here(ctx: CommandContext) -> Target:
    target = here_target(ctx.requester)
    if target is None:
        raise UserInputError(
            "Digests are posted to a Slack channel or a Teams conversation: run `digest` there.",
            hint="In the terminal, `digest now` is not available either; try `costs`.",
        )
    return target


def _where(target: Target) -> str:
    return describe_target(target, "this conversation")


class DigestCommands:
    def __init__(self, config: DigestsConfig) -> None:
        self.config = config
        self.sources = DigestSources(
            cost_type=config.cost_type,
            forecast_provider=config.forecast_provider,
            movers=config.movers,
            resources_per_mover=config.resources_per_mover,
            recommendations=config.recommendations,
            realized_savings=config.realized_savings,
            rec_decisions=config.rec_decisions,
        )

    def _pick(self, ctx: CommandContext, wanted: int | None) -> list[Subscription]:
        target = _here(ctx)
        found = subscriptions_of(ctx.engine, target)
        if wanted is not None:
            found = [s for s in found if s.id == wanted]
            if not found:
                raise NotFoundError(
                    f"There is no digest #{wanted} in {_where(target)}.",
                    hint="`digest list` shows this channel's digests with their ids.",
                )
        if not found:
            raise NotFoundError(
                f"No digest is scheduled in {_where(target)}.",
                hint="Start one with `digest daily 09:00 Europe/Berlin`.",
            )
        return found

    def _subscribe(self, frequency: Frequency, cmd: ParsedCommand, ctx: CommandContext) -> Reply:
        target = _here(ctx)
        request = parse_subscribe(
            frequency, cmd.args, self.config.default_at, self.config.default_timezone
        )
        sub, created = subscribe(
            ctx.engine,
            target,
            request.schedule,
            request.filters,
            ctx.requester.principal,
            ctx.clock.now(),
        )
        local = sub.next_run_at.astimezone(zone(sub.schedule.timezone))
        verb = "Scheduled" if created else "Rescheduled"
        text = (
            f"{verb} digest #{sub.id} in {_where(target)}: {sub.schedule.describe()}, over "
            f"{sub.describe_scope()}. The first one comes {local:%A %Y-%m-%d %H:%M %Z}."
        )
        return Reply(
            confirmation("Digest scheduled", text, "`digest now` shows a preview (only to you)."),
            visibility=Visibility.PUBLIC,
        )

    def daily(self, cmd: ParsedCommand, ctx: CommandContext) -> Reply:
        return self._subscribe(Frequency.DAILY, cmd, ctx)

    def weekly(self, cmd: ParsedCommand, ctx: CommandContext) -> Reply:
        return self._subscribe(Frequency.WEEKLY, cmd, ctx)

    def list_digests(self, cmd: ParsedCommand, ctx: CommandContext) -> Reply:
        target = _here(ctx)
        found = subscriptions_of(ctx.engine, target)
        view = list_card(found, _where(target), ctx.today())
        return Reply(view, visibility=Visibility.PUBLIC if cmd.public else Visibility.PRIVATE)

    def off(self, cmd: ParsedCommand, ctx: CommandContext) -> Reply:
        found = self._pick(ctx, parse_id(cmd.args))
        count = remove(ctx.engine, [s.id for s in found])
        ids = ", ".join(f"#{s.id}" for s in found)
        return Reply(
            confirmation("Digest off", f"Turned off {count} digest(s) ({ids})."),
            visibility=Visibility.PUBLIC,
        )

    def pause(self, cmd: ParsedCommand, ctx: CommandContext) -> Reply:
        until, wanted = parse_pause(cmd.args, ctx.today())
        found = self._pick(ctx, wanted)
        set_paused(ctx.engine, [s.id for s in found], until, ctx.clock.now())
        ids = ", ".join(f"#{s.id}" for s in found)
        return Reply(
            confirmation(
                "Digest paused",
                f"Paused {ids}: no digest before {until:%Y-%m-%d}; the first one after is "
                "on schedule.",
                "`digest resume` starts it again sooner.",
            ),
            visibility=Visibility.PUBLIC,
        )

    def resume(self, cmd: ParsedCommand, ctx: CommandContext) -> Reply:
        found = self._pick(ctx, parse_id(cmd.args))
        return self._resume(found, ctx)

    def _resume(self, found: list[Subscription], ctx: CommandContext) -> Reply:
        set_paused(ctx.engine, [s.id for s in found], None, ctx.clock.now())
        ids = ", ".join(f"#{s.id}" for s in found)
        return Reply(
            confirmation("Digest resumed", f"Resumed {ids}: the next one comes on schedule."),
            visibility=Visibility.PUBLIC,
            replace_original=True,
        )

    def resume_button(self, value: str, ctx: CommandContext) -> Reply:
        if not value.isascii() or not value.isdigit():
            raise UserInputError("That button carries no digest id.")
        return self._resume(self._pick(ctx, int(value)), ctx)

    def weekdays_only(self, cmd: ParsedCommand, ctx: CommandContext) -> Reply:
        found = [
            s
            for s in self._pick(ctx, parse_id(cmd.args))
            if s.schedule.frequency is Frequency.DAILY
        ]
        if not found:
            raise UserInputError(
                "Only a daily digest can skip weekends; a weekly one runs on its one weekday."
            )
        now = ctx.clock.now()
        for s in found:
            schedule = dataclasses.replace(s.schedule, weekdays_only=True)
            reschedule(ctx.engine, s, schedule, now)
        first = first_slot_after(dataclasses.replace(found[0].schedule, weekdays_only=True), now)
        ids = ", ".join(f"#{s.id}" for s in found)
        return Reply(
            confirmation(
                "Digest on weekdays",
                f"{ids} now skip Saturdays and Sundays; the next one is on "
                f"{first.day:%A %Y-%m-%d}.",
            ),
            visibility=Visibility.PUBLIC,
        )

    def now(self, cmd: ParsedCommand, ctx: CommandContext) -> Reply:
        found = self._pick(ctx, parse_id(cmd.args))
        sub = found[0]
        today = ctx.clock.now().astimezone(zone(sub.schedule.timezone)).date()
        content = build_content(ctx.engine, sub, today, self.sources)
        preview = dataclasses.replace(
            content, subscription=dataclasses.replace(sub, missed_note=None)
        )
        return Reply(digest_card(preview, preview=True), visibility=Visibility.PRIVATE)


def register(router: Router, config: DigestsConfig) -> None:
    commands = DigestCommands(config)
    viewer = Role.VIEWER
    purpose = "schedule digests"
    router.add_command(
        CommandSpec(
            name="digest",
            usage=USAGE,
            summary="Daily or weekly cost digests in this channel, in its time zone",
            help=HELP,
            role=viewer,
            purpose=purpose,
            aliases=("digests",),
            default_subcommand="list",
            syntax=SYNTAX,
            subcommands=(
                Subcommand(
                    "daily",
                    commands.daily,
                    viewer,
                    purpose,
                    usage="digest daily [09:00] [Europe/Berlin] [filters]",
                    summary="A digest every day (or on weekdays) at this local time",
                ),
                Subcommand(
                    "weekly",
                    commands.weekly,
                    viewer,
                    purpose,
                    usage="digest weekly [mon] [09:00] [Europe/Berlin] [filters]",
                    summary="A digest once a week",
                ),
                Subcommand(
                    "list", commands.list_digests, viewer, "see digests", usage="digest list"
                ),
                Subcommand(
                    "off",
                    commands.off,
                    viewer,
                    purpose,
                    aliases=("stop", "unsubscribe"),
                    usage="digest off [#id]",
                    summary="Stop this channel's digests (or one)",
                ),
                Subcommand(
                    "pause",
                    commands.pause,
                    viewer,
                    purpose,
                    usage="digest pause until YYYY-MM-DD [#id]",
                    summary="No digest before that date (holidays)",
                ),
                Subcommand(
                    "resume",
                    commands.resume,
                    viewer,
                    purpose,
                    usage="digest resume [#id]",
                    summary="Start a paused digest again",
                ),
                Subcommand(
                    "weekdays-only",
                    commands.weekdays_only,
                    viewer,
                    purpose,
                    aliases=("weekdays",),
                    usage="digest weekdays-only [#id]",
                    summary="A daily digest skips Saturdays and Sundays",
                ),
                Subcommand(
                    "now",
                    commands.now,
                    viewer,
                    "see digests",
                    aliases=("preview",),
                    usage="digest now [#id]",
                    summary="A private preview of this channel's digest",
                ),
            ),
        )
    )
    router.add_action(ActionSpec(DigestAction.RESUME, commands.resume_button, viewer, purpose))
