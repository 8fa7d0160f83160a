"""Reading one export file into cost rows, streamed: CSV (plain or gzip) or Parquet.

Rows come out as the Query API's rows do (`adapters.azure.cost_source`): subscription ids,
resource groups and resource ids lower-cased, tag keys lower-cased, amounts as exact Decimals
(up to the 28 decimals exports carry), currencies upper-cased; each with the scope it belongs
to (its subscription, or the billing account / profile for charges outside any subscription,
or the one scope given) and its cost type (a FOCUS row gives both: billed and effective cost).

Memory is one CSV record or one Parquet batch. The first value that cannot be read stops the
file with a `MalformedExportError` naming the file, the line (the record's first line; the row
number in Parquet) and the column.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
import sys
from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import IO, Any

from adapters.exports.formats import (
    COLUMNS,
    REQUIRED,
    Columns,
    ExportFormat,
    detect_format,
    normalize_header,
)
from core.costs.model import CostType
from core.costs.ports import CostRow
from core.kernel.errors import CloudOptimaError, UserInputError
from core.kernel.scopes import Scope, ScopeKind, parse_scope

csv.field_size_limit(sys.maxsize)  # AdditionalInfo and Tags can be long JSON documents

PARQUET_MAGIC = b"PAR1"
GZIP_MAGIC = b"\x1f\x8b"
PARQUET_BATCH_ROWS = 32_768

Record = tuple[Scope, CostType, CostRow]


class MalformedExportError(CloudOptimaError):
    """A value of an export could not be read; nothing of the import was written."""

    title = "Malformed export"

    def __init__(self, source: str, line: int | None, column: str | None, problem: str) -> None:
        where = source
        if line is not None:
            where += f" line {line}"
        if column is not None:
            where += f", column {column}"
        super().__init__(
            f"{where}: {problem}.",
            hint="Nothing of this import was written. Fix or re-export the file, then import "
            "it again.",
        )
        self.source = source
        self.line = line
        self.column = column


class _Bad(Exception):
    """A value could not be read (the caller knows the line and column)."""


# -- values ------------------------------------------------------------------------------------

_DATES: dict[str, date] = {}
_US_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")


def parse_day(text: str) -> date:
    """`MM/DD/YYYY` (Cost Details), `YYYY-MM-DD`, or an ISO timestamp (FOCUS), as a day."""
    found = _DATES.get(text)
    if found is not None:
        return found
    raw = text.strip()
    try:
        match = _US_DATE.match(raw)
        if match:
            month, day, year = map(int, match.groups())
            found = date(year, month, day)
        elif len(raw) == 10:
            found = date.fromisoformat(raw)
        else:
            found = datetime.fromisoformat(raw.replace(" ", "T", 1)).date()
    except ValueError:
        raise _Bad(f"{text!r} is not a date (MM/DD/YYYY or YYYY-MM-DD expected)") from None
    if len(_DATES) > 4096:
        _DATES.clear()
    _DATES[text] = found
    return found


def parse_amount(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise _Bad(f"{text!r} is not a number") from None
    if not value.is_finite():
        raise _Bad(f"{text!r} is not a finite number")
    return value


@lru_cache(maxsize=16_384)
def parse_tags(text: str) -> tuple[tuple[str, str], ...]:
    """Tags as a JSON object, with or without its braces (`"env": "prod","team": "web"`);
    keys lower-cased, as the Query API's."""
    raw = text.strip()
    if not raw:
        return ()
    if not raw.startswith("{"):
        raw = "{" + raw + "}"
    try:
        parsed = json.loads(raw)
    except ValueError:
        raise _Bad(f'{_clip(text)} is not a list of "key": "value" tags') from None
    if not isinstance(parsed, dict):
        raise _Bad(f'{_clip(text)} is not a list of "key": "value" tags')
    pairs = {str(k).strip().lower(): "" if v is None else str(v) for k, v in parsed.items()}
    return tuple(sorted((k, v) for k, v in pairs.items() if k))


def _clip(text: str, limit: int = 60) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "…")


# -- scopes ------------------------------------------------------------------------------------

_GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@lru_cache(maxsize=4096)
def subscription_scope(subscription_id: str) -> Scope:
    if not _GUID.fullmatch(subscription_id):
        raise _Bad(f"{subscription_id!r} is not a subscription id")
    return Scope(path=f"/subscriptions/{subscription_id}", kind=ScopeKind.SUBSCRIPTION)


@lru_cache(maxsize=256)
def billing_scope(account: str, profile: str) -> Scope:
    """The billing scope of a charge outside any subscription (FOCUS gives the whole path)."""
    account, profile = account.strip(), profile.strip()
    if account.startswith("/"):
        return parse_scope(account)
    path = f"/providers/Microsoft.Billing/billingAccounts/{account}"
    if profile:
        path += f"/billingProfiles/{profile}"
    try:
        return parse_scope(path)
    except UserInputError:
        raise _Bad(f"{account!r} is not a billing account id") from None


# -- reading files -----------------------------------------------------------------------------


def open_text(stream: IO[bytes]) -> IO[str]:
    """A binary stream as text: gunzipped when it is gzip, UTF-8 with or without a BOM."""
    head = _peek(stream, 2)
    raw: IO[bytes] = gzip.GzipFile(fileobj=stream) if head == GZIP_MAGIC else stream
    return io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")


def _peek(stream: IO[bytes], size: int) -> bytes:
    peek = getattr(stream, "peek", None)
    if peek is not None:
        return bytes(peek(size)[:size])
    position = stream.tell()
    head = stream.read(size)
    stream.seek(position)
    return head


def is_parquet(stream: IO[bytes]) -> bool:
    return _peek(stream, 4) == PARQUET_MAGIC


def csv_records(text: IO[str]) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    """(header, (line, values) per record); the line is where the record starts."""
    reader = csv.reader(text)
    header = next(reader, None)
    if header is None:
        return [], iter(())

    def records() -> Iterator[tuple[int, list[str]]]:
        line = reader.line_num
        for values in reader:
            start = line + 1
            line = reader.line_num
            if values:
                yield start, values

    return header, records()


def parquet_records(stream: IO[bytes]) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    """(column names, (row number, values as text) per row), one batch in memory."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    parquet = pq.ParquetFile(stream)
    names = list(parquet.schema_arrow.names)

    def as_text(column: Any) -> list[Any]:
        kind = column.type
        if pa.types.is_string(kind) or pa.types.is_large_string(kind):
            return list(column.to_pylist())
        if pa.types.is_map(kind) or pa.types.is_struct(kind):
            return [None if v is None else json.dumps(dict(v)) for v in column.to_pylist()]
        return list(column.cast(pa.string()).to_pylist())

    def records() -> Iterator[tuple[int, list[str]]]:
        number = 0
        for batch in parquet.iter_batches(batch_size=PARQUET_BATCH_ROWS):
            columns = [as_text(batch.column(i)) for i in range(batch.num_columns)]
            for values in zip(*columns, strict=True):
                number += 1
                yield number, ["" if v is None else v for v in values]

    return names, records()


# -- rows --------------------------------------------------------------------------------------


class _Positions:
    """Where each field is in this file's header (-1: absent)."""

    def __init__(self, header: list[str], columns: Columns, names: list[str]) -> None:
        at = {name: i for i, name in reversed(list(enumerate(header)))}
        self.names = names
        for field in Columns.__dataclass_fields__:
            alternatives: tuple[str, ...] = getattr(columns, field)
            setattr(self, field, next((at[n] for n in alternatives if n in at), -1))

    def __getattr__(self, name: str) -> int:  # for type checkers: set in __init__
        raise AttributeError(name)


class ExportReader:
    """One export file's rows as (scope, cost type, row) records.

    `cost_type` says which cost type an EA or MCA file holds (their actual and amortized files
    share one layout; FOCUS files hold both). `scope` puts every row into that scope instead of
    its subscription's.
    """

    def __init__(
        self,
        stream: IO[bytes],
        source: str,
        *,
        export_format: ExportFormat | None = None,
        cost_type: CostType | None = None,
        scope: Scope | None = None,
    ) -> None:
        self.source = source
        self._stream = stream
        self._requested_format = export_format
        self.cost_type = cost_type
        self.scope = scope
        self.format: ExportFormat | None = None
        self.rows_read = 0

    def __iter__(self) -> Iterator[Record]:
        if is_parquet(self._stream):
            header, records = parquet_records(self._stream)
        else:
            header, records = csv_records(open_text(self._stream))
        if not header:
            return  # an empty file: nothing to import
        normalized = normalize_header(header)
        self.format = self._requested_format or detect_format(normalized, self.source)
        positions = _Positions(normalized, COLUMNS[self.format], header)
        self._check_columns(positions)
        kinds = self._cost_types()
        yield from self._rows(records, positions, kinds, len(header))

    def _check_columns(self, positions: _Positions) -> None:
        missing = [f for f in REQUIRED if getattr(positions, f) < 0]
        if positions.subscription_id < 0 and positions.billing_account < 0 and not self.scope:
            missing.append("subscription_id")
        if self.format is ExportFormat.FOCUS and positions.amortized_cost < 0:
            missing.append("amortized_cost")
        if missing:
            columns = COLUMNS[self.format or ExportFormat.EA]
            wanted = [" or ".join(getattr(columns, f)) or f for f in missing]
            raise MalformedExportError(
                self.source,
                1,
                None,
                f"the {self.format} header lacks {', '.join(wanted)}",
            )

    def _cost_types(self) -> tuple[CostType, ...]:
        if self.format is ExportFormat.FOCUS:
            wanted = (CostType.ACTUAL, CostType.AMORTIZED)
            return tuple(k for k in wanted if self.cost_type in (None, k))
        if self.cost_type is None:
            raise UserInputError(
                f"{self.source}: an {str(self.format).upper()} cost details file does not say "
                "whether it holds actual or amortized cost.",
                hint="Name it with --cost-type ActualCost or --cost-type AmortizedCost (an "
                "export's manifest says it; FOCUS files hold both).",
            )
        return (self.cost_type,)

    def _rows(
        self,
        records: Iterable[tuple[int, list[str]]],
        p: _Positions,
        kinds: tuple[CostType, ...],
        width: int,
    ) -> Iterator[Record]:
        convert = self._converter(p, kinds)
        where = ["?"]
        for line, values in records:
            if len(values) != width:
                raise MalformedExportError(
                    self.source,
                    line,
                    None,
                    f"the row has {len(values)} values where the header has {width}",
                )
            try:
                yield from convert(values, where)
            except _Bad as exc:
                raise MalformedExportError(self.source, line, where[0], str(exc)) from None
            self.rows_read += 1

    def _converter(
        self, p: _Positions, kinds: tuple[CostType, ...]
    ) -> Callable[[list[str], list[str]], list[Record]]:
        """The function that turns one record into its rows (`where[0]`: the column it reads)."""
        focus = self.format is ExportFormat.FOCUS
        text, scope_of, charge_of = _texts(p), self._scope_function(p), _charge_function(p, focus)
        names = p.names

        def name(at: int, default: str) -> str:
            return names[at] if at >= 0 else default

        amounts = _amount_columns(p, kinds, focus)
        i_date, i_cur, i_tags, i_qty = p.usage_date, p.currency, p.tags, p.quantity
        n_date, n_cur = names[i_date], names[i_cur]
        n_sub, n_tags, n_qty = (
            name(p.subscription_id, "SubscriptionId"),
            name(i_tags, "Tags"),
            name(i_qty, "Quantity"),
        )

        def convert(values: list[str], where: list[str]) -> list[Record]:
            where[0] = n_date
            day = parse_day(values[i_date])
            where[0] = n_cur
            currency = values[i_cur].strip().upper()
            if len(currency) != 3 or not currency.isalpha():
                raise _Bad(f"{values[i_cur]!r} is not a currency code")
            where[0] = n_sub
            scope, subscription = scope_of(values)
            where[0] = n_tags
            tags = dict(parse_tags(values[i_tags])) if i_tags >= 0 else {}
            dims, charge = text(values), charge_of(values)
            where[0] = n_qty
            qty = _optional(values, i_qty)
            out = []
            for kind, i_cost, n_cost, i_usd, n_usd in amounts:
                where[0] = n_cost
                cost = parse_amount(values[i_cost])
                where[0] = n_usd
                usd = _optional(values, i_usd)
                row = CostRow(day, subscription, *dims, charge, currency, cost, usd, qty, tags)
                out.append((scope, kind, row))
            return out

        return convert

    def _scope_function(self, p: _Positions) -> Callable[[list[str]], tuple[Scope, str]]:
        i_sub, i_account, i_profile = p.subscription_id, p.billing_account, p.billing_profile
        fixed = self.scope

        def scope_of(values: list[str]) -> tuple[Scope, str]:
            raw = values[i_sub].strip().lower() if i_sub >= 0 else ""
            subscription = raw.rsplit("/", 1)[-1] if raw.startswith("/") else raw
            if fixed is not None:
                return fixed, subscription
            if subscription:
                return subscription_scope(subscription), subscription
            account = values[i_account] if i_account >= 0 else ""
            if not account.strip():
                raise _Bad("the row has neither a subscription nor a billing account")
            profile = values[i_profile] if i_profile >= 0 else ""
            return billing_scope(account, profile), ""

        return scope_of


def _amount_columns(
    p: _Positions, kinds: tuple[CostType, ...], focus: bool
) -> list[tuple[CostType, int, str, int, str]]:
    """(cost type, cost column, its name, USD column, its name) per cost type a record gives."""
    names = p.names

    def name(at: int, default: str) -> str:
        return names[at] if at >= 0 else default

    amounts = []
    if CostType.ACTUAL in kinds or not focus:
        amounts.append(
            (
                kinds[0] if not focus else CostType.ACTUAL,
                p.cost,
                name(p.cost, "Cost"),
                p.cost_usd,
                name(p.cost_usd, "CostInUsd"),
            )
        )
    if focus and CostType.AMORTIZED in kinds:
        amounts.append(
            (
                CostType.AMORTIZED,
                p.amortized_cost,
                name(p.amortized_cost, "EffectiveCost"),
                p.amortized_cost_usd,
                name(p.amortized_cost_usd, "x_EffectiveCostInUsd"),
            )
        )
    return amounts


def _optional(values: list[str], at: int) -> Decimal | None:
    if at < 0:
        return None
    raw = values[at]
    return parse_amount(raw) if raw.strip() else None


def _texts(p: _Positions) -> Callable[[list[str]], tuple[str, ...]]:
    """(subscription name, resource group, resource id, service, meter category, location)."""
    spots = (
        (p.subscription_name, False),
        (p.resource_group, True),
        (p.resource_id, True),
        (p.service_name, False),
        (p.meter_category, False),
        (p.location, False),
    )

    def texts(values: list[str]) -> tuple[str, ...]:
        return tuple(
            "" if at < 0 else values[at].strip().lower() if lower else values[at].strip()
            for at, lower in spots
        )

    return texts


#: FOCUS charge categories as the Query API's charge types; unused commitments as Azure names them.
_UNUSED = {"reservation": "UnusedReservation", "savings plan": "UnusedSavingsPlan"}


def _charge_function(p: _Positions, focus: bool) -> Callable[[list[str]], str]:
    i_charge, i_status, i_type = p.charge_type, p.commitment_status, p.commitment_type

    def charge(values: list[str]) -> str:
        raw = values[i_charge].strip() if i_charge >= 0 else ""
        if focus and i_status >= 0 and values[i_status].strip().lower() == "unused":
            kind = values[i_type].strip().lower() if i_type >= 0 else ""
            return _UNUSED.get(kind, "UnusedReservation")
        return raw or "Usage"

    return charge
