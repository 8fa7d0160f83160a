"""`/optima` over real HTTP: signed requests in, answers captured at the fake response URL."""

from __future__ import annotations

from datetime import date

from core.kernel.context import CoreConfig
from tests.adapters.slack.conftest import seed_costs, signed_headers, slash_body
from tests.support.slack_blocks import assert_valid_message


def section_text(block) -> str:
    return block["text"]["text"] if block["type"] == "section" and "text" in block else ""


async def test_signed_command_is_acked_empty_and_answered_privately(server):
    response = await server.command("help", answer_to="r1")
    await server.bot.drain()

    assert response.status == 200
    assert await response.text() == ""
    [answer] = server.fake.answers["r1"]
    assert answer["response_type"] == "ephemeral"
    assert answer["blocks"][0]["type"] == "header"
    assert "costs" in answer["text"]
    assert_valid_message(answer)


async def test_public_flag_answers_for_the_whole_channel(server):
    await server.command("help --public", answer_to="r1")
    await server.bot.drain()

    [answer] = server.fake.answers["r1"]
    assert answer["response_type"] == "in_channel"


async def test_bad_input_answers_a_friendly_private_error(server):
    await server.command("costs 30d by nonsense --public", answer_to="r1")
    await server.bot.drain()

    [answer] = server.fake.answers["r1"]
    assert answer["response_type"] == "ephemeral"
    shown = str(answer["blocks"])
    assert "nonsense" in shown and "Accepted" in shown
    assert "Traceback" not in shown and "Error(" not in shown
    assert_valid_message(answer)


async def test_unexpected_failure_answers_a_reference_never_the_exception(server, monkeypatch):
    def explode(interaction):
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(server.container.core, "handle", explode)
    response = await server.command("help", answer_to="r1")
    await server.bot.drain()

    assert response.status == 200
    [answer] = server.fake.answers["r1"]
    assert answer["response_type"] == "ephemeral"
    assert "logged as" in answer["text"]
    assert "secret internal detail" not in str(answer)


async def test_redelivered_command_runs_once(server):
    body = slash_body("help", server.fake.response_url("r1"))
    first = await server.post(body, signed_headers(body))
    retry = await server.post(body, {**signed_headers(body), "X-Slack-Retry-Num": "1"})
    await server.bot.drain()

    assert (first.status, retry.status) == (200, 200)
    assert len(server.fake.answers["r1"]) == 1


async def test_two_commands_with_the_same_text_both_answer(server):
    await server.command("help", answer_to="r1")
    await server.command("help", answer_to="r2")
    await server.bot.drain()

    assert len(server.fake.answers["r1"]) == len(server.fake.answers["r2"]) == 1


async def test_costs_on_ingested_data_render_valid_block_kit(serve, engine, clock):
    await seed_costs(engine, clock, first=date(2026, 10, 20), last=date(2026, 11, 26))
    server = await serve(engine)

    await server.command("costs 30d by resource-group", answer_to="r1")
    await server.bot.drain()

    [answer] = server.fake.answers["r1"]
    assert_valid_message(answer)
    blocks = answer["blocks"]
    assert blocks[0]["text"]["text"].startswith("Costs by resource-group")
    # Slack's table block: full names, one cell each.
    table = next(b for b in blocks if b["type"] == "table")
    names = [row[0]["text"] for row in table["rows"][1:]]
    assert "rg-0" in names and "rg-2" in names
    buttons = [e for b in blocks if b["type"] == "actions" for e in b["elements"]]
    assert buttons and all(e["action_id"].startswith("costs.drilldown#") for e in buttons)
    assert len({e["action_id"] for e in buttons}) == len(buttons)
    sparkline = [b for b in blocks if "▁" in section_text(b)]
    assert sparkline, "a private answer draws the chart as a sparkline"
    assert server.fake.calls_to("files.getUploadURLExternal") == []


async def test_public_costs_upload_the_chart_as_png_when_files_write_is_granted(
    serve, sqlite_engine, clock
):
    await seed_costs(sqlite_engine, clock, first=date(2026, 11, 1), last=date(2026, 11, 26))
    server = await serve(sqlite_engine)

    await server.command("costs 7d --public", answer_to="r1")
    await server.bot.drain()

    [answer] = server.fake.answers["r1"]
    assert answer["response_type"] == "in_channel"
    assert not any("▁" in section_text(b) for b in answer["blocks"])
    [complete] = server.fake.calls_to("files.completeUploadExternal")
    assert complete.params["channel_id"] == "C111"
    [png] = server.fake.uploads.values()
    assert png.startswith(b"\x89PNG")


async def test_public_costs_fall_back_to_a_sparkline_without_files_write(
    serve, sqlite_engine, clock
):
    await seed_costs(sqlite_engine, clock, first=date(2026, 11, 1), last=date(2026, 11, 26))
    server = await serve(sqlite_engine)
    server.fake.scopes = "commands,chat:write"

    await server.command("costs 7d --public", answer_to="r1")
    await server.bot.drain()

    [answer] = server.fake.answers["r1"]
    assert any("▁" in section_text(b) for b in answer["blocks"])
    assert server.fake.calls_to("files.getUploadURLExternal") == []
    assert len(server.fake.calls_to("auth.test")) == 1


async def test_command_from_someone_not_allowed_is_refused_privately(server):
    server.container.core.config = CoreConfig(viewers=frozenset({"slack:U999"}))

    await server.command("costs 30d --public", answer_to="r1")
    await server.bot.drain()

    [answer] = server.fake.answers["r1"]
    assert answer["response_type"] == "ephemeral"
    assert "not allowed" in answer["text"]


async def test_ack_goes_back_before_the_command_has_run(server, monkeypatch):
    import threading

    release = threading.Event()
    original = server.container.core.handle

    def slow(interaction):
        release.wait(timeout=30)  # a slow database: the ack must not wait for it
        return original(interaction)

    monkeypatch.setattr(server.container.core, "handle", slow)
    response = await server.command("help", answer_to="r1")

    assert response.status == 200
    assert server.fake.answers["r1"] == []
    release.set()
    await server.bot.drain()
    assert len(server.fake.answers["r1"]) == 1


async def test_over_the_rate_limit_the_ack_is_immediate_and_the_answer_says_slow_down(
    serve, engine
):
    server = await serve(engine, rate_limit_user_per_minute=6, rate_limit_user_burst=2)

    acks = [await server.command("help", answer_to=f"r{i}") for i in range(3)]
    await server.bot.drain()

    assert [(a.status, await a.text()) for a in acks] == [(200, "")] * 3
    answers = [server.fake.answers[f"r{i}"][0] for i in range(3)]
    # Answers run concurrently after their acks: which one was third is not fixed.
    [slow] = [a for a in answers if "Slow down" in a["text"]]
    assert sum("costs" in a["text"] for a in answers) == 2
    assert slow["response_type"] == "ephemeral"
    assert "Slow down" in slow["text"] and "Retry in 10 s" in str(slow["blocks"])
    assert_valid_message(slow)
