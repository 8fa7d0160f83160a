"""Block Kit renderer: a pure function from the core view model to a Slack message payload.

`render_card(card)` returns `{"blocks": [...], "text": fallback}` that always fits Slack's limits:
long text is split across sections, facts are split ten to a section, the first table that fits
becomes Slack's `table` block (full names, right-aligned amounts; one per message) and the others
aligned monospace code blocks, a table's row actions become a button per row, and whatever still
does not fit ends in an "… N more" line instead of an `invalid_blocks` error from Slack.

Core text is plain (no markup), so every string is escaped for mrkdwn (`&`, `<`, `>`): a cost
label or a user's input can never become a mention, a link or `@channel`. The one exception is
the core's channel reference (`core.kernel.cards.channel_reference`), which only a channel id
fits in: it becomes a real channel link, `<#C0123ABCD>`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import Any

from core.kernel.cards import (
    CHANNEL_REFERENCE,
    Actions,
    Align,
    Block,
    Button,
    Card,
    Chart,
    Context,
    Divider,
    Fact,
    Facts,
    Header,
    Severity,
    Table,
    Text,
    plain_references,
)
from core.kernel.charts import chart_caption, sparklines

# Slack's documented limits (docs.slack.dev/reference/block-kit), also checked by slack_sdk models.
MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_FIELDS = 10
MAX_FIELD_TEXT = 2000
MAX_HEADER_TEXT = 150
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2000
MAX_ACTION_ID = 255
MAX_ACTIONS_ELEMENTS = 25
MAX_CONTEXT_TEXT = 2000
#: A fact's value gets what its label (≤ 200) and the markup leave of a field.
FIELD_VALUE_ROOM = MAX_FIELD_TEXT - 210
MAX_CONFIRM_TITLE = 100
MAX_CONFIRM_TEXT = 300
#: Not a Slack limit: the notification/fallback text is a summary, not the whole message.
MAX_FALLBACK_TEXT = 3000

#: Tables wider than this wrap on a laptop screen; the widest left-aligned column gives way.
TABLE_MAX_WIDTH = 80
TABLE_MAX_CELL = 48
TABLE_MIN_CELL = 8
#: A bullet line of a table shown as a list (already escaped) is cut at this length.
TABLE_LIST_LINE = 1000
#: A table may spread over this many sections (each ≤ 3000 characters) before "… N more rows".
TABLE_MAX_SECTIONS = 4
#: Slack's `table` block: at most 100 rows (the header is one) of at most 20 cells, and one
#: table block per message.
NATIVE_TABLE_MAX_ROWS = 100
NATIVE_TABLE_MAX_COLUMNS = 20
#: A cell of a `table` block is cut here (Slack documents no limit; a cell is a name or a figure).
NATIVE_CELL_MAX = 500
#: Longer series are averaged into this many bars so the sparkline stays on one line.
SPARKLINE_MAX_BARS = 60
#: Slack's limit on an image block's alt_text.
MAX_IMAGE_ALT_TEXT = 2000
#: Separates the core action id from the per-message index (Slack wants unique action ids).
ACTION_INDEX_SEPARATOR = "#"

_SEVERITY_PREFIX = {
    Severity.INFO: "",
    Severity.SUCCESS: ":white_check_mark: ",
    Severity.WARNING: ":warning: ",
    Severity.ERROR: ":x: ",
}


class ChartMode(StrEnum):
    #: Draw the series as a Unicode sparkline inside the message.
    SPARKLINE = "sparkline"
    #: The caller uploads a PNG next to the message; the message carries the caption only.
    IMAGE = "image"


Payload = dict[str, Any]
SlackBlock = dict[str, Any]


def render_card(
    card: Card,
    *,
    chart_mode: ChartMode = ChartMode.SPARKLINE,
    nonce: str = "",
    chart_files: Mapping[Chart, str] | None = None,
) -> Payload:
    """The message payload for `card`: `{"blocks": [...], "text": fallback}`.

    `chart_files` maps charts already uploaded (files_upload_v2) to their Slack file ids: those
    are shown in the message as image blocks; the others follow `chart_mode`.

    `nonce` goes into the block ids of action blocks, so two renderings of one card (before and
    after an in-place update) carry different ids; double clicks are recognised by it.
    """
    blocks: list[SlackBlock] = []
    actions_seen = 0
    buttons_seen = 0
    native_free = True  # one `table` block per message: the first table that fits gets it
    for block in card.blocks:
        pending: list[Actions] = []
        if isinstance(block, Actions):
            pending.append(block)
        elif isinstance(block, Table) and block.columns:
            native = native_free and _fits_natively(block)
            native_free = native_free and not native
            blocks.extend(_table(block, native=native))
            row_buttons = tuple(b for b in block.row_actions if b is not None)
            if row_buttons:
                pending.append(Actions(row_buttons))
        else:
            blocks.extend(_render_block(block, card.severity, chart_mode, chart_files or {}))
        for actions in pending:
            rendered = _actions(actions, nonce, actions_seen, buttons_seen)
            actions_seen += len(rendered)
            buttons_seen += len(actions.buttons)
            blocks.extend(rendered)
    text = fallback_text(card)
    if not blocks:  # a card of empty parts still says something
        blocks.append(_section(text))
    return {"blocks": _fit_block_count(blocks), "text": text}


def fallback_text(card: Card) -> str:
    """The `text` Slack shows in notifications and on clients that cannot draw blocks."""
    text = card.summary.strip() or card.title.strip() or "CloudOptima"
    return _escaped(text, MAX_FALLBACK_TEXT)


def core_action_id(slack_action_id: str) -> str:
    """`costs.drilldown#2` → `costs.drilldown` (the index only makes ids unique in a message)."""
    return slack_action_id.rsplit(ACTION_INDEX_SEPARATOR, 1)[0]


def escape(text: str) -> str:
    """Escape the three characters Slack's mrkdwn treats as control characters; the core's
    channel references become channel links."""
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return CHANNEL_REFERENCE.sub(r"<#\1>", escaped) if "\ue000" in escaped else escaped


def chart_blocks(card: Card) -> list[Chart]:
    """The charts of a card that have something to draw (what a caller may upload as PNGs)."""
    return [b for b in card.blocks if isinstance(b, Chart) and b.points]


# -- one view block → Slack blocks -------------------------------------------------------------


def _render_block(
    block: Block, severity: Severity, chart_mode: ChartMode, files: Mapping[Chart, str]
) -> list[SlackBlock]:
    match block:
        case Header(text=text):
            if not text.strip():
                return []
            header = _SEVERITY_PREFIX[severity] + plain_references(text)
            return [
                {
                    "type": "header",
                    "text": {
                        "type": "plain_text",
                        "text": _clip(header, MAX_HEADER_TEXT),
                        "emoji": True,
                    },
                }
            ]
        case Text(text=text):
            if not text.strip():
                return []
            return [_section(chunk) for chunk in _split_text(text, MAX_SECTION_TEXT)]
        case Facts(facts=facts):
            fields = [{"type": "mrkdwn", "text": _fact(f)} for f in facts if _fact(f).strip()]
            return [
                {"type": "section", "fields": fields[i : i + MAX_FIELDS]}
                for i in range(0, len(fields), MAX_FIELDS)
            ]
        case Table():  # rendered by the caller, which gives the first that fits a table block
            return []
        case Chart():
            if block in files and block.points:
                return _chart_image(block, files[block])
            return _chart(block, chart_mode)
        case Context(text=text):
            return [_context(text)] if text.strip() else []
        case Divider():
            return [{"type": "divider"}]
        case Actions():  # rendered by the caller, which numbers buttons across the message
            return []
    raise TypeError(f"unknown view block {type(block).__name__}")  # pragma: no cover


def _fact(fact: Fact) -> str:
    label = _escaped(fact.label, 200) if fact.label.strip() else ""
    value = _escaped(fact.value, FIELD_VALUE_ROOM)
    return f"*{label}*\n{value}" if label else value


def _section(mrkdwn: str) -> SlackBlock:
    return {"type": "section", "text": {"type": "mrkdwn", "text": mrkdwn}}


def _context(text: str) -> SlackBlock:
    return {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": _escaped(text, MAX_CONTEXT_TEXT)}],
    }


# -- tables ------------------------------------------------------------------------------------


def _fits_natively(table: Table) -> bool:
    """Whether Slack's `table` block can hold the table (rows, columns)."""
    return (
        0 < len(table.rows) < NATIVE_TABLE_MAX_ROWS
        and len(table.columns) <= NATIVE_TABLE_MAX_COLUMNS
    )


def _table(table: Table, *, native: bool = False) -> list[SlackBlock]:
    """Slack's `table` block when `native` (full names, right-aligned figures), else aligned
    monospace in code blocks: legible on every Slack client, copy-pasteable.

    A table of words only (no right-aligned figures) that would lose text to the screen width
    becomes a bullet list instead: nothing is cut, and Slack wraps it nicely.
    """
    footer = table.footer if table.footer and table.footer.strip() else None
    if not table.rows:
        return [_context(footer or "No rows.")]
    if native:
        return [_native_table(table)] + ([_context(footer)] if footer else [])
    widths = _column_widths(table)
    clipped = any(
        len(cell) > widths[i] for row in table.rows for i, cell in enumerate(row[: len(widths)])
    )
    if clipped and all(c.align is Align.LEFT for c in table.columns):
        lines = [_list_line(row) for row in table.rows]
        sections, shown = _pack("", lines, lambda body: body)
    else:
        header = _table_line([c.title for c in table.columns], table, widths)
        rule = "  ".join("-" * w for w in widths)
        lines = [escape(_table_line(row, table, widths)) for row in table.rows]
        head = escape(header) + "\n" + rule
        sections, shown = _pack(head, lines, lambda body: f"```\n{body}\n```")
    notes: list[SlackBlock] = []
    if shown < len(lines):
        notes.append(_context(f"… {len(lines) - shown} more rows not shown: too long for Slack"))
    if footer:
        notes.append(_context(footer))
    return sections + notes


def _native_table(table: Table) -> SlackBlock:
    """Slack's `table` block: raw text cells (no markup to escape), the header row first."""
    count = len(table.columns)

    def cell(text: str) -> dict[str, str]:
        plain = plain_references(text).strip() or "—"
        return {"type": "raw_text", "text": _clip(plain, NATIVE_CELL_MAX)}

    header = [cell(c.title) for c in table.columns]
    rows = [[cell(row[i] if i < len(row) else "") for i in range(count)] for row in table.rows]
    settings: list[dict[str, Any]] = [
        {"align": "right"} if c.align is Align.RIGHT else {"is_wrapped": True}
        for c in table.columns
    ]
    return {"type": "table", "rows": [header, *rows], "column_settings": settings}


def _pack(head: str, lines: list[str], wrap: Callable[[str], str]) -> tuple[list[SlackBlock], int]:
    """Lines into at most TABLE_MAX_SECTIONS sections (head repeated); returns them and the
    number of lines that fit."""
    overhead = len(wrap(""))
    sections: list[SlackBlock] = []
    index = 0
    while (index < len(lines) or not sections) and len(sections) < TABLE_MAX_SECTIONS:
        body = head
        while index < len(lines):
            candidate = f"{body}\n{lines[index]}" if body else lines[index]
            if len(candidate) + overhead > MAX_SECTION_TEXT:
                break
            body = candidate
            index += 1
        sections.append(_section(wrap(body) if body.strip() else " "))
        if body == head and index < len(lines):
            break  # a single line too long for a section (lines are clipped: cannot happen)
    return sections, index


def _list_line(row: tuple[str, ...]) -> str:
    first, *rest = [cell for cell in row if cell.strip()] or [""]
    text = " — ".join([f"*{_escaped(first, 300)}*" if first else "", *map(escape, rest)])
    return "• " + _escaped_clip(text.removeprefix(" — "), TABLE_LIST_LINE)


def _column_widths(table: Table) -> list[int]:
    count = len(table.columns)
    widths = [max(1, min(len(c.title), TABLE_MAX_CELL)) for c in table.columns]
    for row in table.rows:
        for i, cell in enumerate(row[:count]):
            widths[i] = max(widths[i], min(len(cell), TABLE_MAX_CELL))
    # Shrink the widest left-aligned (label) column until the table fits the screen.
    while sum(widths) + 2 * (count - 1) > TABLE_MAX_WIDTH:
        shrinkable = [
            i
            for i, c in enumerate(table.columns)
            if c.align is Align.LEFT and widths[i] > TABLE_MIN_CELL
        ]
        if not shrinkable:
            break
        widest = max(shrinkable, key=lambda i: widths[i])
        widths[widest] -= 1
    return widths


def _table_line(cells: tuple[str, ...] | list[str], table: Table, widths: list[int]) -> str:
    parts = []
    for i, column in enumerate(table.columns):
        cell = _clip(cells[i] if i < len(cells) else "", widths[i])
        parts.append(
            cell.rjust(widths[i]) if column.align is Align.RIGHT else cell.ljust(widths[i])
        )
    return "  ".join(parts).rstrip()


# -- charts ------------------------------------------------------------------------------------


def _chart_image(chart: Chart, file_id: str) -> list[SlackBlock]:
    """An uploaded chart, shown in the message (an image block naming the Slack file)."""
    caption = chart_caption(chart)
    return [
        {
            "type": "image",
            "slack_file": {"id": file_id},
            "alt_text": _clip(caption, MAX_IMAGE_ALT_TEXT),
            "title": {"type": "plain_text", "text": _clip(chart.title or "Chart", MAX_HEADER_TEXT)},
        },
        _context(caption),
    ]


def _chart(chart: Chart, mode: ChartMode) -> list[SlackBlock]:
    if not chart.points:
        return []
    caption = escape(chart_caption(chart))
    if mode is ChartMode.IMAGE:
        return [_context(f"{chart_caption(chart)} (chart attached)")]
    drawn = sparklines(chart, width=SPARKLINE_MAX_BARS)
    if len(drawn) == 1:
        return [_section(f"`{drawn[0][1]}`\n{caption}")]
    lines = [f"`{bars}` {escape(name)}" for name, bars in drawn]
    return [_section(_escaped_clip("\n".join([*lines, caption]), MAX_SECTION_TEXT))]


# -- buttons -----------------------------------------------------------------------------------


def _actions(
    actions: Actions, nonce: str, blocks_before: int, index_start: int
) -> list[SlackBlock]:
    elements = []
    for offset, button in enumerate(actions.buttons):
        element = _button(button, index_start + offset)
        if element is not None:
            elements.append(element)
    blocks = []
    for i in range(0, len(elements), MAX_ACTIONS_ELEMENTS):
        number = blocks_before + len(blocks)
        block_id = f"{nonce}.actions.{number}" if nonce else f"actions.{number}"
        blocks.append(
            {
                "type": "actions",
                "block_id": block_id,
                "elements": elements[i : i + MAX_ACTIONS_ELEMENTS],
            }
        )
    return blocks


def _button(button: Button, index: int) -> SlackBlock | None:
    action_id = f"{button.action_id}{ACTION_INDEX_SEPARATOR}{index}"
    # A value cut short would run a different query: a button that cannot carry it is left out.
    if len(button.value) > MAX_BUTTON_VALUE or len(action_id) > MAX_ACTION_ID:
        return None
    if not button.label.strip():
        return None
    element: SlackBlock = {
        "type": "button",
        "text": {
            "type": "plain_text",
            "text": _clip(plain_references(button.label), MAX_BUTTON_TEXT),
            "emoji": True,
        },
        "action_id": action_id,
    }
    if button.value:  # Slack refuses an empty value; a missing one arrives as ""
        element["value"] = button.value
    if button.style in ("primary", "danger"):
        element["style"] = button.style
    if button.confirm and button.confirm.strip():
        element["confirm"] = {
            "title": {"type": "plain_text", "text": _clip(button.label, MAX_CONFIRM_TITLE)},
            "text": {"type": "plain_text", "text": _clip(button.confirm, MAX_CONFIRM_TEXT)},
            "confirm": {"type": "plain_text", "text": "Yes"},
            "deny": {"type": "plain_text", "text": "Cancel"},
        }
        if button.style == "danger":
            element["confirm"]["style"] = "danger"
    return element


# -- limits ------------------------------------------------------------------------------------


def _fit_block_count(blocks: list[SlackBlock]) -> list[SlackBlock]:
    """At most 50 blocks: drop from the middle, keep the header and the closing buttons."""
    if len(blocks) <= MAX_BLOCKS:
        return blocks
    tail: list[SlackBlock] = []
    while blocks and blocks[-1]["type"] == "actions" and len(tail) < 5:
        tail.insert(0, blocks.pop())
    keep = MAX_BLOCKS - 1 - len(tail)
    dropped = len(blocks) - keep
    notice = _context(f"… {dropped} more block(s) not shown: the answer is too long for Slack")
    return [*blocks[:keep], notice, *tail]


def _split_text(text: str, limit: int) -> list[str]:
    """Escape `text` and split it at line breaks into chunks of at most `limit` characters.

    A single line longer than `limit` is cut into pieces (between characters, never inside an
    escaped `&amp;`).
    """
    pieces: list[str] = []
    for line in text.split("\n"):
        escaped = escape(line)
        while len(escaped) > limit:
            cut = size = 0
            for char in line:
                size += len(escape(char))
                if size > limit:
                    break
                cut += 1
            pieces.append(escape(line[:cut]))
            line = line[cut:]
            escaped = escape(line)
        pieces.append(escaped)
    chunks: list[str] = []
    current: str | None = None
    for piece in pieces:
        if current is None:
            current = piece
        elif len(current) + 1 + len(piece) <= limit:
            current += "\n" + piece
        else:
            chunks.append(current)
            current = piece
    if current is not None:
        chunks.append(current)
    return [chunk for chunk in chunks if chunk.strip()]


def _escaped(text: str, limit: int) -> str:
    """`escape(text)` in at most `limit` characters, never cutting an `&amp;` in half."""
    escaped = escape(text)
    keep = limit
    while len(escaped) > limit:
        keep -= len(escaped) - limit
        escaped = escape(text[: keep - 1]) + "…"
    return escaped


def _escaped_clip(escaped: str, limit: int) -> str:
    """Cut already-escaped text without splitting an entity such as `&amp;`."""
    if len(escaped) <= limit:
        return escaped
    cut = escaped[: limit - 1]
    amp = cut.rfind("&")
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    return cut + "…"


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# -- forms (a button that asks first: a modal) --------------------------------------------------

#: `callback_id` of CloudOptima's modals; their submissions come back to `view_submission`.
FORM_CALLBACK_ID = "cloudoptima.form"
MAX_MODAL_TITLE = 24
MAX_PRIVATE_METADATA = 3000
FORM_TEXT_BLOCK = "form.text"
FORM_CHOICE_BLOCK = "form.choice"


def modal_view(button: Button, private_metadata: str) -> dict[str, Any]:
    """The modal asking what `button.ask` wants (a reason, a duration) before it acts."""
    ask = button.ask
    assert ask is not None
    blocks: list[SlackBlock] = []
    if ask.choices:
        options = [
            {"text": {"type": "plain_text", "text": _clip(c.label, 75)}, "value": c.value}
            for c in ask.choices[:100]
        ]
        initial = next((o for o in options if o["value"] == ask.default_choice), options[0])
        blocks.append(
            {
                "type": "input",
                "block_id": FORM_CHOICE_BLOCK,
                "label": {"type": "plain_text", "text": _clip(ask.choice_label or "Choose", 2000)},
                "element": {
                    "type": "static_select",
                    "action_id": "choice",
                    "options": options,
                    "initial_option": initial,
                },
            }
        )
    if ask.text_label:
        blocks.append(
            {
                "type": "input",
                "block_id": FORM_TEXT_BLOCK,
                "optional": not ask.text_required,
                "label": {"type": "plain_text", "text": _clip(ask.text_label, 2000)},
                "element": {
                    "type": "plain_text_input",
                    "action_id": "text",
                    "multiline": True,
                    "max_length": min(ask.text_max, 3000),
                },
            }
        )
    return {
        "type": "modal",
        "callback_id": FORM_CALLBACK_ID,
        "private_metadata": private_metadata[:MAX_PRIVATE_METADATA],
        "title": {"type": "plain_text", "text": _clip(ask.title, MAX_MODAL_TITLE)},
        "submit": {"type": "plain_text", "text": _clip(ask.submit, MAX_MODAL_TITLE)},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": blocks,
    }
