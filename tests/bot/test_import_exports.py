"""Importing Cost Management exports into the store, on SQLite and PostgreSQL: every schema,
totals to the cent against an independent Decimal sum, idempotency, restatement, malformed rows,
mixed currencies."""

from __future__ import annotations

import gzip
import json
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from adapters.exports.parse import MalformedExportError
from bot.imports import ImportOptions, files_from_paths, import_files
from core.costs.breakdown import BreakdownQuery, cost_breakdown
from core.costs.grammar import parse_dimension
from core.costs.model import CostType
from core.costs.periods import parse_period
from core.costs.tables import CostGroup, CostRecord, CostScope
from core.kernel.errors import UserInputError
from tests.support.exports import (
    Line,
    decimal_sum_of_csv,
    export_csv,
    totals,
    totals_by_subscription,
    write_export,
    write_parquet,
)

SUB_A = "8f1c2b9e-4d3a-4e6b-9a7c-2f5d1e0b3c4a"
SUB_B = "1b2c3d4e-5f60-4a7b-8c9d-0e1f2a3b4c5d"
START = date(2026, 10, 1)
DAYS = 10
ACTUAL = ImportOptions(cost_type=CostType.ACTUAL)


def month_lines(days: int = DAYS, *, currency: str = "EUR") -> list[Line]:
    """Two subscriptions, several resources and meters a day, 28-decimal amounts, a purchase."""
    lines = []
    for d in range(days):
        day = START + timedelta(days=d)
        for n in range(6):
            sub = SUB_A if n % 2 == 0 else SUB_B
            for meter in ("Virtual Machines", "Storage"):
                lines.append(
                    Line(
                        day=day,
                        subscription_id=sub,
                        subscription_name="Production" if sub == SUB_A else "Staging",
                        resource_group=f"rg-{n % 3}",
                        resource=f"vm-{n}",
                        meter_category=meter,
                        cost=f"{n + 1}.{d:02d}12345678901234567890123456{n}",
                        cost_usd=f"{n + 2}.5",
                        currency=currency,
                        tags={"Team": f"t{n % 2}", "env": "prod"} if n != 5 else {},
                    )
                )
                # The same meter twice on a day (two meter ids): they add up.
                if n == 0 and meter == "Storage":
                    lines.append(lines[-1].__class__(**{**lines[-1].__dict__, "cost": "0.5"}))
    lines.append(
        Line(
            day=START,
            subscription_id=SUB_A,
            subscription_name="Production",
            resource_group="",
            resource="",
            meter_category="Reservations",
            charge_type="Purchase",
            cost="1200.00",
            quantity="1",
        )
    )
    return lines


def stored_total(engine, cost_type: CostType = CostType.ACTUAL) -> Decimal:
    with Session(engine) as s:
        return s.exec(
            select(func.sum(CostRecord.cost)).where(CostRecord.cost_type == str(cost_type))
        ).scalar() or Decimal(0)


def stored_by_subscription(engine) -> dict[str, Decimal]:
    with Session(engine) as s:
        rows = s.exec(
            select(CostGroup.subscription_id, func.sum(CostRecord.cost))
            .join(CostGroup, CostGroup.id == CostRecord.group_id)
            .where(CostRecord.cost_type == "ActualCost")
            .group_by(CostGroup.subscription_id)
        ).all()
    return {sub: total for sub, total in rows}


def snapshot(engine) -> dict:
    with Session(engine) as s:
        return {
            (r.cost_type, r.usage_date, r.scope_id, r.group_id): (r.cost, r.updated_at)
            for r in s.exec(select(CostRecord)).scalars()
        }


def cents(amount: Decimal) -> Decimal:
    return amount.quantize(Decimal("0.01"))


async def run_import(engine, clock, *paths: Path, options: ImportOptions = ACTUAL):
    return await import_files(engine, clock, files_from_paths(list(paths)), options)


@pytest.mark.parametrize(
    ("kind", "gzipped", "bom", "braces"),
    [
        ("ea", False, False, False),
        ("ea", True, True, True),
        ("mca", False, True, False),
        ("mca", True, False, True),
        ("focus", False, False, True),
        ("focus", True, True, False),
    ],
)
async def test_every_schema_imports_to_the_cent(
    engine, clock, tmp_path, kind, gzipped, bom, braces
):
    lines = month_lines()
    data = export_csv(kind, lines, bom=bom, braces=braces)
    path = write_export(tmp_path / f"export.csv{'.gz' if gzipped else ''}", data, gzipped=gzipped)
    options = ImportOptions() if kind == "focus" else ACTUAL

    result = await run_import(engine, clock, path, options=options)

    # An independent reading of the file: Python's csv module and Decimal, nothing else.
    column = {"ea": "CostInBillingCurrency", "mca": "costInBillingCurrency", "focus": "BilledCost"}
    expected = decimal_sum_of_csv(data, column[kind])
    assert expected == totals(lines)["EUR"]
    assert cents(stored_total(engine)) == cents(expected)
    assert {s: cents(v) for s, v in stored_by_subscription(engine).items()} == {
        s: cents(v) for s, v in totals_by_subscription(lines).items()
    }
    assert result.rows_read == len(lines)
    kinds = {run.cost_type for run in result.runs}
    assert kinds == ({"ActualCost", "AmortizedCost"} if kind == "focus" else {"ActualCost"})
    with Session(engine) as s:
        scopes = {sc.path for sc in s.exec(select(CostScope)).scalars()}
        groups = list(s.exec(select(CostGroup)).scalars())
    assert scopes == {f"/subscriptions/{SUB_A}", f"/subscriptions/{SUB_B}"}
    # Normalized as the Query API's rows: lower-cased ids, tag keys lower-cased, both tag forms.
    vm0 = next(g for g in groups if g.resource_id.endswith("/vm-0"))
    assert vm0.subscription_id == SUB_A and vm0.resource_group == "rg-0"
    assert vm0.resource_id == vm0.resource_id.lower()
    assert vm0.tags == {"team": "t0", "env": "prod"}
    assert next(g for g in groups if g.resource_id.endswith("/vm-5")).tags == {}
    assert any(g.charge_type == "Purchase" for g in groups)


async def test_focus_gives_billed_and_effective_cost(engine, clock, tmp_path):
    lines = month_lines(3)
    lines[-1].effective_cost = "0"  # the purchase is spread in the amortized view
    path = write_export(tmp_path / "focus.csv", export_csv("focus", lines))

    await run_import(engine, clock, path, options=ImportOptions())

    assert cents(stored_total(engine, CostType.ACTUAL)) == cents(totals(lines)["EUR"])
    amortized = totals(lines, effective=True)["EUR"]
    assert cents(stored_total(engine, CostType.AMORTIZED)) == cents(amortized)
    assert stored_total(engine, CostType.ACTUAL) - stored_total(engine, CostType.AMORTIZED) == 1200


async def test_parquet_is_read_batch_by_batch(engine, clock, tmp_path):
    lines = month_lines(4)
    path = write_parquet(tmp_path / "part_0_0001.parquet", "focus", lines)

    result = await run_import(engine, clock, path, options=ImportOptions())

    assert result.rows_read == len(lines)
    assert cents(stored_total(engine)) == cents(totals(lines)["EUR"])


async def test_importing_twice_changes_nothing(engine, clock, tmp_path):
    path = write_export(tmp_path / "ea.csv", export_csv("ea", month_lines()))
    first = await run_import(engine, clock, path)
    before = snapshot(engine)
    clock.current += timedelta(hours=1)

    again = await run_import(engine, clock, path)

    assert first.counts.inserted > 0
    assert again.counts.inserted == again.counts.updated == again.counts.removed == 0
    assert again.counts.unchanged == first.counts.inserted
    assert snapshot(engine) == before  # not even updated_at moved


async def test_a_restated_month_updates_exactly_those_rows(engine, clock, tmp_path):
    lines = month_lines()
    await run_import(
        engine, clock, write_export(tmp_path / "v1" / "ea.csv", export_csv("ea", lines))
    )
    before = snapshot(engine)
    # Azure restates two lines and drops one resource's storage on the last day.
    restated = [Line(**line.__dict__) for line in lines]
    restated[3].cost = "99.99"
    restated[40].cost = "0.01"
    dropped = next(
        i for i, ln in enumerate(restated)
        if ln.day == START + timedelta(days=DAYS - 1) and ln.resource == "vm-3"
        and ln.meter_category == "Storage"
    )  # fmt: skip
    del restated[dropped]
    clock.current += timedelta(days=1)

    result = await run_import(
        engine, clock, write_export(tmp_path / "v2" / "ea.csv", export_csv("ea", restated))
    )

    c = result.counts
    assert (c.inserted, c.updated, c.removed) == (0, 2, 1)
    after = snapshot(engine)
    changed = {k for k in before if k in after and before[k] != after[k]}
    assert len(changed) == 2 and len(before) - len(after) == 1
    assert cents(stored_total(engine)) == cents(totals(restated)["EUR"])


async def test_a_malformed_line_stops_the_file_and_nothing_is_written(engine, clock, tmp_path):
    data = export_csv("ea", month_lines()).decode()
    rows = data.split("\r\n")
    rows[7] = rows[7].replace("Virtual Machines,", "Virtual Machines,", 1)
    fields = rows[7].split(",")
    cost_at = 17  # CostInBillingCurrency
    fields[cost_at] = "12,5"[:2] + "x5"  # not a number
    rows[7] = ",".join(fields)
    path = write_export(tmp_path / "bad.csv", "\r\n".join(rows).encode())

    with pytest.raises(MalformedExportError) as caught:
        await run_import(engine, clock, path)

    message = caught.value.user_message()
    assert "bad.csv line 8, column CostInBillingCurrency" in message
    assert "'12x5' is not a number" in message and "Nothing of this import was written" in message
    assert stored_total(engine) == 0  # not even the days before that line


async def test_a_line_with_a_quoted_newline_is_counted_by_its_first_line(engine, clock, tmp_path):
    lines = month_lines(2)
    lines[2].subscription_name = "Multi\nline"
    data = export_csv("ea", lines).decode().split("\r\n")
    bad = data[6].split(",")
    bad[7] = "13/45/2026"  # Date
    data[6] = ",".join(bad)
    path = write_export(tmp_path / "bad.csv", "\r\n".join(data).encode())

    with pytest.raises(MalformedExportError) as caught:
        await run_import(engine, clock, path)

    # Records: header (line 1), 2, 3, the two-line record (4-5), 6, 7, then the bad one: 8.
    assert "bad.csv line 8, column Date: '13/45/2026' is not a date" in caught.value.user_message()


async def test_empty_and_header_only_files_import_nothing(engine, clock, tmp_path):
    empty = write_export(tmp_path / "empty.csv", b"")
    header_only = write_export(tmp_path / "header.csv.gz", export_csv("mca", []), gzipped=True)

    result = await run_import(engine, clock, empty, header_only)

    assert result.runs == [] and result.rows_read == 0
    assert stored_total(engine) == 0


async def test_mixed_currencies_are_never_added_up(engine, clock, tmp_path):
    eur = month_lines(3)
    usd = [
        Line(**{**ln.__dict__, "resource": ln.resource + "-us", "currency": "USD"}) for ln in eur
    ]
    path = write_export(tmp_path / "mixed.csv", export_csv("ea", eur + usd))

    result = await run_import(engine, clock, path)

    assert result.currencies == ("EUR", "USD")
    today = START + timedelta(days=3)
    clock.current = clock.current.replace(year=today.year, month=today.month, day=today.day)
    query = BreakdownQuery(parse_period("mtd", today), parse_dimension("service"), CostType.ACTUAL)
    answer = cost_breakdown(engine, query)
    # One currency per answer; the other one is shown apart, never summed in.
    assert answer.currency in ("EUR", "USD")
    other = "USD" if answer.currency == "EUR" else "EUR"
    assert cents(answer.total) == cents(totals(eur + usd)[answer.currency])
    assert cents(answer.other_currencies[other]) == cents(totals(eur + usd)[other])


async def test_ea_files_need_their_cost_type_and_a_known_header(engine, clock, tmp_path):
    path = write_export(tmp_path / "ea.csv", export_csv("ea", month_lines(1)))
    with pytest.raises(UserInputError) as caught:
        await run_import(engine, clock, path, options=ImportOptions())
    assert "does not say whether it holds actual or amortized" in caught.value.user_message()
    assert "--cost-type AmortizedCost" in caught.value.user_message()
    other = write_export(tmp_path / "other.csv", b"a,b,c\n1,2,3\n")
    with pytest.raises(UserInputError, match="not a Cost Management export"):
        await run_import(engine, clock, other)


async def test_a_run_with_its_manifest_is_one_import(engine, clock, tmp_path):
    """Partition files of one run: a day split across files is complete; the manifest says
    the cost type and the days covered (a day without rows any more is emptied)."""
    lines = month_lines(4)
    run = tmp_path / "exports" / "daily" / "20261001-20261031" / "run-1"
    half = len(lines) // 2
    write_export(run / "part_0_0001.csv.gz", export_csv("ea", lines[:half]), gzipped=True)
    write_export(run / "part_0_0002.csv.gz", export_csv("ea", lines[half:]), gzipped=True)
    manifest = {
        "manifestVersion": "2024-04-01",
        "exportConfig": {"exportName": "daily", "type": "AmortizedCost"},
        "runInfo": {"runId": "run-1", "startDate": "2026-10-01T00:00:00",
                    "endDate": "2026-10-05T00:00:00"},
        "blobs": [{"blobName": "part_0_0001.csv.gz"}, {"blobName": "part_0_0002.csv.gz"}],
    }  # fmt: skip
    (run / "manifest.json").write_text(json.dumps(manifest))

    result = await run_import(engine, clock, tmp_path / "exports", options=ImportOptions())

    assert {r.cost_type for r in result.runs} == {"AmortizedCost"}
    assert {(r.window.start, r.window.end) for r in result.runs} == {
        (date(2026, 10, 1), date(2026, 10, 5))
    }
    assert cents(stored_total(engine, CostType.AMORTIZED)) == cents(totals(lines)["EUR"])
    assert gzip.decompress((run / "part_0_0001.csv.gz").read_bytes()).startswith(b"Invoice")


def test_cloudoptima_import_needs_no_scope_and_answers_from_the_export(tmp_path):
    """An export-only deployment: no scope, no Azure access; then `costs` answers from it."""
    from tests.bot.test_cli import run

    lines = month_lines()
    write_export(tmp_path / "exports" / "ea.csv.gz", export_csv("ea", lines), gzipped=True)
    env = {"CLOUDOPTIMA_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}"}

    first = run(["import", "exports", "--cost-type", "ActualCost"], tmp_path, **env)
    again = run(["import", "exports", "--cost-type", "ActualCost"], tmp_path, **env)
    bad = run(["import", "exports"], tmp_path, **env)

    assert first.returncode == 0, first.stderr[-2000:]
    assert f"{len(lines)} row(s) read" in first.stdout and "121 new" in first.stdout
    assert "0 new, 0 changed, 121 unchanged, 0 removed" in again.stdout
    assert bad.returncode == 1 and "--cost-type ActualCost" in bad.stderr
    assert "Traceback" not in first.stderr + again.stderr + bad.stderr
    answer = run(
        ["chat", "-c", "costs 2026-10-01..2026-10-10 by subscription"],
        tmp_path,
        CLOUDOPTIMA_EXPORT_ONLY="true",
        **env,
    )
    assert answer.returncode == 0, answer.stderr[-2000:]
    total = f"{cents(totals(lines)['EUR']):,}"
    assert total in answer.stdout, answer.stdout
