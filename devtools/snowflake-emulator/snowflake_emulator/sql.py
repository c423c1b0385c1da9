"""SQL gaps of fakesnow 0.12.1, closed by patching it in process.

`install()` applies every patch once, before the server answers anything. Each patch is named after
the gap it closes (README.md lists them). None of them changes what SQL is accepted beyond what
Snowflake accepts: they make Snowflake SQL that fakesnow rejects or runs differently behave as
Snowflake does. They reach into fakesnow's cursor internals, which is why fakesnow is pinned.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import duckdb
import fakesnow.server
import fakesnow.transforms
import snowflake.connector.errors
from fakesnow.cursor import FakeSnowflakeCursor
from fakesnow.transforms.merge import operations as merge_operations
from sqlglot import exp, tokens
from sqlglot.dialects.snowflake import Snowflake

F = TypeVar("F", bound=Callable[..., Any])

# Snowflake's own codes for the errors the patches raise.
UNSUPPORTED = (2, "0A000")  # 000002 Unsupported feature
NOT_NULL = (100072, "22000")  # 100072 NULL result in a non-nullable column
DUPLICATE_MERGE_ROW = (100090, "42P18")  # 100090 Duplicate row detected during DML action

# MERGE ... RETURNING merge_action in DuckDB, by the operation Snowflake counts.
MERGE_ACTIONS = {"inserted": "INSERT", "updated": "UPDATE", "deleted": "DELETE"}


def error(code: tuple[int, str], message: str) -> snowflake.connector.errors.ProgrammingError:
    errno, sqlstate = code
    return snowflake.connector.errors.ProgrammingError(msg=message, errno=errno, sqlstate=sqlstate)


# --- `?::TYPE` (a cast on a bind placeholder) ------------------------------------------------------
# sqlglot's base tokenizer reads `?::` as one token (Databricks' try-cast operator), so Snowflake's
# `?::TIMESTAMP_NTZ` does not parse. Snowflake has no such operator: drop it from its tokenizer.


def placeholder_cast() -> None:
    tokenizer = Snowflake.Tokenizer
    if tokenizer.KEYWORDS.pop("?::", None) is not None:
        # rebuild the keyword trie the class built from KEYWORDS when it was defined
        tokens._TokenizerBase.__init_subclass__.__func__(tokenizer)  # type: ignore[attr-defined]


# --- MERGE ------------------------------------------------------------------------------------------
# fakesnow splits a MERGE into CREATE TEMPORARY TABLE merge_candidates + UPDATE/DELETE/INSERT. That
# (a) fails inside BEGIN ... COMMIT ("a single transaction can only write to a single attached
# database": the temp catalog and the target's), (b) reports dbt's unqualified INSERT VALUES columns
# as ambiguous, (c) is not atomic outside a transaction. DuckDB has MERGE INTO with Snowflake's
# clause forms, so run it natively, count RETURNING merge_action into Snowflake's result columns
# ("number of rows inserted" / "updated" / "deleted"), and raise Snowflake's error for a target row
# joined by several source rows (ERROR_ON_NONDETERMINISTIC_MERGE, on by default), which DuckDB allows.


def native_merge() -> None:
    fakesnow.transforms.merge = lambda expression: [expression]  # the cursor calls transforms.merge
    original = FakeSnowflakeCursor._execute

    def _execute(self: FakeSnowflakeCursor, transformed: exp.Expr, params: Any = None) -> None:
        if not isinstance(transformed, exp.Merge):
            return original(self, transformed, params)
        ops = {op: whens for op, whens in merge_operations(transformed).items() if whens}
        if "updated" in ops or "deleted" in ops:
            _reject_duplicate_matches(self, transformed, params)
        merge = transformed.copy()
        merge.set("returning", exp.Returning(expressions=[exp.column("merge_action")]))
        original(self, merge, params)
        actions = self._arrow_table.column(0).to_pylist() if self._arrow_table is not None else []
        counts = {op: actions.count(MERGE_ACTIONS[op]) for op in ops}
        result_sql = "SELECT " + ", ".join(f'{n}::BIGINT AS "number of rows {op}"' for op, n in counts.items())
        self._duck_conn.execute(result_sql)
        self._arrow_table = self._duck_conn.to_arrow_table()
        self._rowcount = sum(counts.values())
        self._last_sql = result_sql  # what the server DESCRIBEs for the rowtype
        self._last_params = None
        self._conn.results_cache[self._sfqid] = (
            self._arrow_table,
            self._rowcount,
            result_sql,
            None,
            transformed,
        )
        return None

    FakeSnowflakeCursor._execute = _execute  # type: ignore[method-assign]


def _reject_duplicate_matches(cursor: FakeSnowflakeCursor, merge: exp.Merge, params: Any) -> None:
    target = merge.this.copy()
    source = merge.args["using"].copy()
    on = merge.args["on"].copy()
    key = exp.column("rowid", table=target.alias_or_name)
    check = exp.select("1").from_(target).join(source, on=on).group_by(key).having("COUNT(*) > 1").limit(1)
    placeholders = list(check.find_all(exp.Placeholder))
    check_params = params
    if isinstance(params, list) and placeholders and not any(p.this for p in placeholders):
        check_params = params[: len(placeholders)]  # `?` binds: source and ON come first in a MERGE
    sql = check.sql(dialect="duckdb")
    if cursor._duck_conn.execute(sql, check_params if placeholders else None).fetchone():
        raise error(DUPLICATE_MERGE_ROW, "Duplicate row detected during DML action")


# --- statements before fakesnow's transforms ---------------------------------------------------------
# (1) DuckDB keeps temporary objects in its `temp` catalog and rejects a qualified
#     `CREATE TEMPORARY VIEW|TABLE db.schema.name` (dbt-snowflake creates its `__dbt_tmp` relations
#     that way). Create them as ordinary objects at the qualified name and drop them when the
#     session ends (app.py), which is what a temporary object's lifetime is.
# (2) Snowflake does not enforce PRIMARY KEY / UNIQUE (only NOT NULL; a primary key's columns are
#     NOT NULL); DuckDB does. Keep the constraints out of DuckDB so duplicate keys behave as on
#     Snowflake.
# (3) `x::VARIANT` / CAST(x AS VARIANT) wraps x as it is: a string becomes a JSON string, it is not
#     parsed (that is PARSE_JSON). fakesnow casts to DuckDB JSON, which parses a string; use
#     to_json(x), as fakesnow already does for TO_VARIANT(x).

TEMPORARY_OBJECTS = "_emulator_temporary_objects"


def statements() -> None:
    original = FakeSnowflakeCursor._transform

    def _transform(self: FakeSnowflakeCursor, expression: exp.Expr, params: Any) -> exp.Expr:
        if isinstance(expression, exp.Create):
            _qualified_temporary(self, expression)
            if expression.kind == "TABLE":
                _unenforced_keys(expression)
        expression = expression.transform(_variant_cast, copy=False)
        return original(self, expression, params)

    FakeSnowflakeCursor._transform = _transform  # type: ignore[method-assign]


def _variant_cast(node: exp.Expr) -> exp.Expr:
    if type(node) is exp.Cast and node.to.this == exp.DataType.Type.VARIANT:
        return exp.Anonymous(this="TO_JSON", expressions=[node.this])
    return node


def _qualified_temporary(cursor: FakeSnowflakeCursor, create: exp.Create) -> None:
    properties = create.args.get("properties")
    temporary = properties and properties.find(exp.TemporaryProperty)
    table = create.find(exp.Table)
    if not temporary or not table or not (table.catalog or table.db) or create.kind not in ("TABLE", "VIEW"):
        return
    temporary.pop()
    if not properties.expressions:
        create.set("properties", None)
    catalog = table.catalog or cursor._conn.database
    schema = table.db or cursor._conn.schema
    name = f"{catalog}.{schema}.{table.name}".upper()
    objects: set[tuple[str, str]] = getattr(cursor._conn, TEMPORARY_OBJECTS, set())
    objects.add((create.kind, name))
    setattr(cursor._conn, TEMPORARY_OBJECTS, objects)


def _unenforced_keys(create: exp.Create) -> None:
    """Drop PRIMARY KEY / UNIQUE; a primary key's columns stay NOT NULL, as on Snowflake."""
    schema = create.this
    if not isinstance(schema, exp.Schema):
        return
    key_columns: set[str] = set()
    for node in list(schema.find_all(exp.PrimaryKeyColumnConstraint, exp.UniqueColumnConstraint)):
        constraint = node.parent
        if isinstance(constraint, exp.ColumnConstraint):
            if isinstance(node, exp.PrimaryKeyColumnConstraint) and isinstance(constraint.parent, exp.ColumnDef):
                key_columns.add(constraint.parent.name.upper())
            constraint.pop()
    for node in list(schema.expressions):
        key = node if isinstance(node, exp.PrimaryKey) else node.find(exp.PrimaryKey)
        if key is not None:
            key_columns.update(c.name.upper() for c in key.find_all(exp.Identifier))
        if key is not None or isinstance(node, exp.UniqueColumnConstraint) or (
            isinstance(node, exp.Constraint) and node.find(exp.UniqueColumnConstraint)
        ):
            node.pop()
    for column in schema.find_all(exp.ColumnDef):
        if column.name.upper() in key_columns and not column.find(exp.NotNullColumnConstraint):
            constraints = column.args.get("constraints") or []
            column.set("constraints", [*constraints, exp.ColumnConstraint(kind=exp.NotNullColumnConstraint())])


def drop_temporary_objects(conn: Any) -> None:
    for kind, name in sorted(getattr(conn, TEMPORARY_OBJECTS, set())):
        try:
            conn._duck_conn.execute(f"DROP {kind} IF EXISTS {name}")
        except duckdb.Error:
            pass  # already gone with its schema or database


# --- errors -----------------------------------------------------------------------------------------
# fakesnow turns an exception it does not expect (an unsupported statement, a DuckDB constraint or
# transaction error) into HTTP 500, which the Python connector retries for minutes. Raise them as
# Snowflake errors instead, so fakesnow answers them as Snowflake does (HTTP 200, success=false,
# code and message) and clients fail at once.


def as_snowflake_error(exc: Exception) -> snowflake.connector.errors.ProgrammingError:
    message = str(exc).split("\n")[0] or type(exc).__name__
    if isinstance(exc, duckdb.ConstraintException) and "NOT NULL" in message:
        return error(NOT_NULL, f"NULL result in a non-nullable column ({message})")
    return error(UNSUPPORTED, f"Unsupported feature in the Snowflake emulator: {type(exc).__name__}: {message}")


def _raising_snowflake_errors(fn: F) -> F:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except snowflake.connector.errors.Error:
            raise
        except Exception as exc:
            raise as_snowflake_error(exc) from exc

    return wrapper  # type: ignore[return-value]


def snowflake_errors() -> None:
    for name in ("execute", "_describe_only", "_describe_last_sql"):
        setattr(FakeSnowflakeCursor, name, _raising_snowflake_errors(getattr(FakeSnowflakeCursor, name)))
    fakesnow.server.describe_as_rowtype = _raising_snowflake_errors(fakesnow.server.describe_as_rowtype)


# --- binds ------------------------------------------------------------------------------------------
# fakesnow passes a REAL bind (the Node driver's type for a non-integer number) on as text.

def real_binds() -> None:
    original = fakesnow.server.from_binding

    def from_binding(binding: dict[str, Any]) -> Any:
        if binding.get("type") == "REAL" and binding.get("value") is not None:
            return float(binding["value"])
        return original(binding)

    fakesnow.server.from_binding = from_binding


_installed = False


def install() -> None:
    global _installed
    if _installed:
        return
    placeholder_cast()
    native_merge()
    statements()
    snowflake_errors()
    real_binds()
    _installed = True
