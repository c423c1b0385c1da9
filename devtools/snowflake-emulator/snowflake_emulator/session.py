"""Session parameters: what a Snowflake session reports to its client and lets it set.

fakesnow keeps no session parameters beyond AUTOCOMMIT, reports only TIMEZONE with query answers,
answers `ALTER SESSION SET QUERY_TAG` (or any other parameter) with HTTP 500 and lists two
parameters in SHOW PARAMETERS. Clients need more: the Node driver formats dates and timestamps with
the *_OUTPUT_FORMAT parameters of each answer and decides on array binding with
CLIENT_STAGE_ARRAY_BINDING_THRESHOLD (fakesnow sends 0, which the Node driver reads as "always
upload binds to a stage"); dbt and the Node driver set QUERY_TAG at login or with ALTER SESSION.

A Session holds the values of PARAMETERS for one login: Snowflake's defaults, then the login's
SESSION_PARAMETERS, then ALTER SESSION SET / UNSET; a statement's own `parameters` apply to that
statement's answer only. The emulator computes in UTC, so TIMEZONE accepts UTC only.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError

from snowflake_emulator.sql import UNSUPPORTED


@dataclass(frozen=True)
class Parameter:
    default: str
    type: str
    description: str
    in_answers: bool = True  # sent in every answer's `parameters` (the ones clients read)


# Snowflake's defaults, except TIMEZONE (Snowflake: America/Los_Angeles), see the module comment.
PARAMETERS: dict[str, Parameter] = {
    "QUERY_TAG": Parameter("", "STRING", "String (up to 2000 characters) tagging the session's queries", False),
    "TIMEZONE": Parameter("Etc/UTC", "STRING", "Time zone of the session (the emulator runs in UTC)"),
    "TIMESTAMP_OUTPUT_FORMAT": Parameter("YYYY-MM-DD HH24:MI:SS.FF3 TZHTZM", "STRING", "Timestamp output format"),
    "TIMESTAMP_NTZ_OUTPUT_FORMAT": Parameter("YYYY-MM-DD HH24:MI:SS.FF3", "STRING", "TIMESTAMP_NTZ output format"),
    "TIMESTAMP_LTZ_OUTPUT_FORMAT": Parameter("", "STRING", "TIMESTAMP_LTZ output format"),
    "TIMESTAMP_TZ_OUTPUT_FORMAT": Parameter("", "STRING", "TIMESTAMP_TZ output format"),
    "DATE_OUTPUT_FORMAT": Parameter("YYYY-MM-DD", "STRING", "Date output format"),
    "TIME_OUTPUT_FORMAT": Parameter("HH24:MI:SS", "STRING", "Time output format"),
    "BINARY_OUTPUT_FORMAT": Parameter("HEX", "STRING", "Binary output format"),
    "CLIENT_STAGE_ARRAY_BINDING_THRESHOLD": Parameter("65280", "NUMBER", "Binds above which clients stage them"),
    "CLIENT_SESSION_KEEP_ALIVE_HEARTBEAT_FREQUENCY": Parameter("3600", "NUMBER", "Heartbeat interval (s)"),
    "JS_TREAT_INTEGER_AS_BIGINT": Parameter("false", "BOOLEAN", "Node driver: integers as BigInt"),
    "PYTHON_CONNECTOR_QUERY_RESULT_FORMAT": Parameter("ARROW", "STRING", "Python connector result format"),
    "QUOTED_IDENTIFIERS_IGNORE_CASE": Parameter("false", "BOOLEAN", "Ignore the case of quoted identifiers"),
}
# handled by fakesnow itself (it rejects QUOTED_IDENTIFIERS_IGNORE_CASE = true)
FAKESNOW_PARAMETERS = {"AUTOCOMMIT", "QUOTED_IDENTIFIERS_IGNORE_CASE"}
UTC_NAMES = {"UTC", "ETC/UTC", "GMT", "ETC/GMT", "Z"}

SCL_STATEMENT = 0x4000  # Snowflake statementTypeId of session control statements
SHOW_STATEMENT = 0x4400
TEXT_COLUMN = {"type": "text", "nullable": True, "length": 16777216, "byteLength": 16777216, "scale": None,
               "precision": None, "database": "", "schema": "", "table": "", "collation": None}


class SessionError(Exception):
    def __init__(self, code: tuple[int, str], message: str) -> None:
        super().__init__(message)
        self.errno, self.sqlstate = code


def _value_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@dataclass
class Session:
    client: str  # CLIENT_APP_ID of the login: "JavaScript", "PythonConnector", ...
    values: dict[str, str] = field(default_factory=dict)

    def set(self, name: str, value: Any) -> None:
        name = name.upper()
        text = _value_text(value)
        if name == "TIMEZONE" and text.upper() not in UTC_NAMES:
            raise SessionError(UNSUPPORTED, f"The Snowflake emulator runs in UTC only; TIMEZONE '{text}' is not supported")
        self.values[name] = text

    def value(self, name: str, statement: dict[str, Any] | None = None) -> str:
        if statement and name in statement:
            return _value_text(statement[name])
        return self.values.get(name, PARAMETERS[name].default)

    @property
    def json_results(self) -> bool:
        """Snowflake answers the Python connector in Arrow unless it asks for JSON; the rest in JSON."""
        return self.client != "PythonConnector" or self.value("PYTHON_CONNECTOR_QUERY_RESULT_FORMAT").upper() == "JSON"

    def answer_parameters(self, statement: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """The `parameters` of an answer, typed as Snowflake sends them."""
        out = []
        for name, p in PARAMETERS.items():
            if not p.in_answers:
                continue
            text = self.value(name, statement)
            value: Any = text
            if p.type == "NUMBER":
                value = int(text)
            elif p.type == "BOOLEAN":
                value = text.lower() == "true"
            out.append({"name": name, "value": value})
        return out

    def statement(self, sql_text: str) -> dict[str, Any] | None:
        """The answer `data` of ALTER SESSION / SHOW PARAMETERS when the session handles it, else None."""
        text = sql_text.strip().rstrip(";").strip()
        head = text[:32].upper().split()
        if head[:2] == ["SHOW", "PARAMETERS"]:
            return self._show(text)
        if head[:2] == ["ALTER", "SESSION"]:
            return self._alter(text)
        return None

    def _alter(self, text: str) -> dict[str, Any] | None:
        try:
            tree = sqlglot.parse_one(text, read="snowflake")
        except ParseError:
            return None
        action = tree.find(exp.AlterSession)
        if action is None:
            return None
        changes: list[tuple[str, Any]] = []
        for item in action.expressions:
            if not isinstance(item, exp.SetItem):
                return None
            if action.args.get("unset"):
                ident = item.find(exp.Identifier)
                name, value = (ident.name.upper() if ident else ""), None
            elif isinstance(item.this, exp.EQ):
                name = item.this.this.name.upper()
                rhs = item.this.expression
                value = rhs.this if isinstance(rhs, (exp.Literal, exp.Boolean)) else rhs.sql(dialect="snowflake")
            else:
                return None
            if name not in PARAMETERS or name in FAKESNOW_PARAMETERS:
                return None  # fakesnow's (AUTOCOMMIT, ...) or unknown: let fakesnow answer
            changes.append((name, value))
        for name, value in changes:
            if value is None:
                self.values.pop(name, None)
            else:
                self.set(name, value)
        return rows_answer(["status"], [["Statement executed successfully."]], SCL_STATEMENT)

    def _show(self, text: str) -> dict[str, Any]:
        rest = text.split(None, 2)[2:]  # after SHOW PARAMETERS
        tail = rest[0] if rest else ""
        pattern = None
        toks = sqlglot.tokenize(tail, read="snowflake") if tail else []
        if len(toks) >= 2 and toks[0].token_type == sqlglot.TokenType.LIKE:
            pattern = toks[1].text
            toks = toks[2:]
        if [t.text.upper() for t in toks] not in ([], ["IN", "SESSION"], ["FOR", "SESSION"]):
            raise SessionError(UNSUPPORTED, "The Snowflake emulator shows session parameters only (SHOW PARAMETERS IN SESSION)")
        rows = []
        for name, p in PARAMETERS.items():
            if pattern is not None and not fnmatch.fnmatchcase(name, _like_to_glob(pattern.upper())):
                continue
            level = "SESSION" if name in self.values else ("ACCOUNT" if name == "TIMEZONE" else "")
            default = "America/Los_Angeles" if name == "TIMEZONE" else p.default
            rows.append([name, self.value(name), default, level, p.description, p.type])
        return rows_answer(["key", "value", "default", "level", "description", "type"], rows, SHOW_STATEMENT)


def _like_to_glob(pattern: str) -> str:
    glob = pattern.replace("[", "[[]").replace("*", "[*]").replace("?", "[?]")
    return glob.replace("%", "*").replace("_", "?")


def rows_answer(names: list[str], rows: list[list[str]], statement_type: int) -> dict[str, Any]:
    return {
        "rowtype": [{"name": n, **TEXT_COLUMN} for n in names],
        "rowset": rows,
        "total": len(rows),
        "returned": len(rows),
        "queryResultFormat": "json",
        "statementTypeId": statement_type,
    }
