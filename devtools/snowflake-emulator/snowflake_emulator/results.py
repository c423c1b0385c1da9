"""Result sets as Snowflake's JSON rowset, for clients that read no Arrow (the Node driver).

fakesnow answers every query in Arrow (`rowsetBase64`, in the layout the Python connector reads:
timestamps as struct{epoch, fraction[, timezone]}, TIME as int64 nanoseconds). Snowflake answers
JSON clients with `rowset`: one list of strings (or null) per row, in Snowflake's wire encoding:

    FIXED / REAL          the number as text ("42", "1.50", "0.25")
    TEXT / VARIANT / ...  the text; VARIANT, OBJECT and ARRAY as JSON text
    BOOLEAN               "1" / "0"
    DATE                  days since 1970-01-01
    TIME                  seconds since midnight, with `scale` fractional digits
    TIMESTAMP_NTZ / _LTZ  seconds since the epoch, with `scale` fractional digits
    TIMESTAMP_TZ          the same, a space, then the UTC offset in minutes + 1440
    BINARY                upper-case hex

The Arrow answers (the Python connector: dbt) keep fakesnow's encoding, with one fix: fakesnow
builds timestamp structs without a validity bitmap, so a NULL TIMESTAMP reaches the connector as
1970-01-01 00:00:00. `install()` makes NULL timestamps null structs.
"""

from __future__ import annotations

import base64
import datetime
from decimal import Decimal
from typing import Any

import fakesnow.arrow
import pyarrow as pa

EPOCH_DAY = datetime.date(1970, 1, 1)


def _fraction(total: int, scale: int) -> str:
    """An integer count of 10^-scale units as a decimal string with `scale` digits."""
    sign = "-" if total < 0 else ""
    whole, frac = divmod(abs(total), 10**scale)
    return f"{sign}{whole}.{frac:0{scale}d}" if scale else f"{sign}{whole}"


def _timestamp(value: dict[str, int], scale: int) -> str | None:
    if value.get("epoch") is None:  # fakesnow builds the struct without a null bitmap
        return None
    nanos = value["epoch"] * 1_000_000_000 + value["fraction"]
    text = _fraction(nanos // 10 ** (9 - scale), scale)
    if "timezone" in value:
        text += f" {value['timezone']}"
    return text


def _cell(value: Any, column: dict[str, Any]) -> str | None:
    if value is None:
        return None  # JSON null
    kind = str(column.get("type", "text")).lower()
    scale = column.get("scale") or 0
    if kind == "boolean":
        return "1" if value else "0"
    if kind == "date":
        return str((value - EPOCH_DAY).days)
    if kind == "time":
        scale = scale if column.get("scale") is not None else 9
        return _fraction(int(value) // 10 ** (9 - scale), scale)
    if kind.startswith("timestamp"):
        return _timestamp(value, scale if column.get("scale") is not None else 9)
    if kind == "binary":
        return bytes(value).hex().upper()
    if kind == "fixed" and isinstance(value, Decimal):
        return f"{value:f}"
    if kind == "real":
        return repr(float(value))
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def json_rowset(rowset_base64: str, rowtype: list[dict[str, Any]]) -> list[list[str | None]]:
    if not rowset_base64:
        return []
    with pa.ipc.open_stream(base64.b64decode(rowset_base64)) as reader:
        table = reader.read_all()
    columns = [table.column(i).to_pylist() for i in range(table.num_columns)]
    return [[_cell(col[r], rowtype[c]) for c, col in enumerate(columns)] for r in range(table.num_rows)]


def install() -> None:
    original = fakesnow.arrow.timestamp_to_sf_struct
    if getattr(original, "emulator_patch", False):
        return

    def timestamp_to_sf_struct(ts: pa.Array | pa.ChunkedArray) -> pa.Array:
        if isinstance(ts, pa.ChunkedArray):
            ts = ts.combine_chunks()
        struct = original(ts)
        if ts.null_count == 0:
            return struct
        fields = [struct.type.field(i) for i in range(struct.type.num_fields)]
        return pa.StructArray.from_arrays(
            [struct.field(i) for i in range(len(fields))], fields=fields, mask=ts.is_null()
        )

    timestamp_to_sf_struct.emulator_patch = True  # type: ignore[attr-defined]
    fakesnow.arrow.timestamp_to_sf_struct = timestamp_to_sf_struct
