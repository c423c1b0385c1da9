"""The emulator's HTTP app: fakesnow's server routes, each answer adapted to Snowflake's protocol.

    login           fakesnow's login; the layer keeps a Session (session.py) per token and reports
                    Snowflake's session parameters instead of fakesnow's three
    query           ALTER SESSION / SHOW PARAMETERS of the session's parameters are answered here;
                    anything else runs in fakesnow, one statement at a time (see LOCK), and its
                    answer gets a JSON rowset for JSON clients (results.py), `returned`, `version`
                    and the session's parameters; an HTTP 500 becomes a Snowflake error answer
    session delete  drops the session's temporary tables and views (sql.py) and forgets it
    token-request   renews a session token with the login's master token (Snowflake's RENEW)
    telemetry       the clients' telemetry: accepted and dropped
    /emulator/health  200 once the server answers (the launchers wait for it)
    /emulator/faults  statements held past a client's timeout, expired tokens (faults.py; chaos suite)
"""

from __future__ import annotations

import asyncio
import gzip
import json
import logging
import re
from typing import Any

import fakesnow.server as fakesnow_server
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from snowflake_emulator import results, sql
from snowflake_emulator.faults import FAULTS
from snowflake_emulator.results import json_rowset
from snowflake_emulator.session import FAKESNOW_PARAMETERS, PARAMETERS, Session, SessionError

logger = logging.getLogger("snowflake_emulator")
# "<errno> (<sqlstate>): [<query id or None>: ]" as the connector's errors format their msg
CONNECTOR_PREFIX = re.compile(r"^\d{6} \([0-9A-Z]{5}\): (?:None: |[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12}: )?")

sessions: dict[str, Session] = {}

# fakesnow runs each statement on a thread of its own, all on one DuckDB database. Snowflake runs
# concurrent DML on one table one after the other (table locks); DuckDB runs them optimistically and
# fails the loser with a write-write conflict. Running one statement at a time keeps autocommit
# statements from conflicting, as they do not on Snowflake.
LOCK = asyncio.Lock()


async def _body_json(request: Request) -> dict[str, Any]:
    body = await request.body()
    if request.headers.get("Content-Encoding") == "gzip":
        body = gzip.decompress(body)
    return json.loads(body) if body else {}


def _token(request: Request) -> str | None:
    auth = request.headers.get("Authorization") or ""
    marker = 'Token="'
    return auth[auth.index(marker) + len(marker) : -1] if marker in auth else None


def error_answer(code: int | str, sqlstate: str, message: str, query_id: str | None = None) -> JSONResponse:
    """A failed statement as Snowflake answers it: HTTP 200, success false, a 6-digit code."""
    code_text = f"{int(code):06d}"
    data = {"errorCode": code_text, "sqlState": sqlstate, "queryId": query_id}
    return JSONResponse({"data": data, "code": code_text, "message": message, "success": False})


async def login(request: Request) -> Response:
    body = (await _body_json(request)).get("data") or {}
    session = Session(client=str(body.get("CLIENT_APP_ID") or ""))
    try:
        for name, value in (body.get("SESSION_PARAMETERS") or {}).items():
            if name.upper() in PARAMETERS and name.upper() not in FAKESNOW_PARAMETERS:
                session.set(name, value)
    except SessionError as exc:
        return error_answer(exc.errno, exc.sqlstate, str(exc))
    async with LOCK:
        response = await fakesnow_server.login_request(request)
    answer = json.loads(response.body)
    data = answer.get("data") or {}
    if token := data.get("token"):
        sessions[token] = session
        fakesnow_own = [p for p in data.get("parameters", []) if p["name"] == "AUTOCOMMIT"]
        data["parameters"] = fakesnow_own + session.answer_parameters()
        data.setdefault("sessionId", abs(hash(token)) % 10**15)
        # Snowflake's token pair: the session token lasts an hour, the master token (which renews
        # it) four; neither expires here unless a fault says so (faults.py)
        data["masterToken"] = FAULTS.master_token_for(token)
        data["validityInSeconds"] = 3600
        data["masterValidityInSeconds"] = 14400
    return JSONResponse(answer, status_code=response.status_code)


async def query(request: Request) -> Response:
    token = _token(request)
    if FAULTS.expired_kind(token):
        return error_answer(390112, "08001", "Session token expired")
    session = sessions.get(token) if token else None
    body = await _body_json(request)
    await FAULTS.before_statement(str(body.get("sqlText") or ""))
    statement_parameters = {k.upper(): v for k, v in (body.get("parameters") or {}).items()}
    if session is not None:
        try:
            data = session.statement(str(body.get("sqlText") or ""))
        except SessionError as exc:
            return error_answer(exc.errno, exc.sqlstate, str(exc))
        if data is not None:
            data["parameters"] = session.answer_parameters(statement_parameters)
            data["version"] = 1
            return JSONResponse({"data": data, "code": None, "message": None, "success": True})
    if session is not None and (tag := session.value("QUERY_TAG", statement_parameters)):
        logger.debug("query_tag=%r sql=%r", tag, str(body.get("sqlText"))[:200])
    async with LOCK:
        response = await fakesnow_server.query_request(request)
    try:
        return adapt_answer(response, session, statement_parameters)
    except Exception as exc:  # a bug of ours must not look like an outage to the client (it would retry)
        logger.exception("adapting the answer failed")
        return error_answer(*sql.UNSUPPORTED, f"Snowflake emulator: could not encode the answer: {exc!r}")


def adapt_answer(response: Response, session: Session | None, statement_parameters: dict[str, Any]) -> Response:
    try:
        answer = json.loads(response.body)
    except ValueError:
        answer = None
    if response.status_code >= 500 or not isinstance(answer, dict):
        message = (answer or {}).get("message") if isinstance(answer, dict) else None
        return error_answer(*sql.UNSUPPORTED, f"Unsupported feature in the Snowflake emulator: {message or 'internal error'}")
    data = answer.get("data")
    if not answer.get("success") and isinstance(answer.get("message"), str):
        # fakesnow sends the connector's formatted text ("002003 (42S02): None: ..."); Snowflake
        # sends the bare message and the client adds code and state itself
        answer["message"] = CONNECTOR_PREFIX.sub("", answer["message"], count=1)
    if not answer.get("success") or not isinstance(data, dict) or "rowtype" not in data:
        return JSONResponse(answer, status_code=response.status_code)
    if session is not None and session.json_results and data.get("queryResultFormat") == "arrow":
        data["rowset"] = json_rowset(data.pop("rowsetBase64", "") or "", data["rowtype"])
        data["queryResultFormat"] = "json"
    if "rowset" in data:
        data["returned"] = len(data["rowset"])
    else:
        data.setdefault("returned", data.get("total", 0))
    data.setdefault("version", 1)
    if session is not None:
        data["parameters"] = session.answer_parameters(statement_parameters)
    return JSONResponse(answer)


async def session_request(request: Request) -> Response:
    token = _token(request)
    deleting = bool(request.query_params.get("delete"))
    conn = fakesnow_server.sessions.get(token) if token else None
    async with LOCK:
        response = await fakesnow_server.session(request)
        if deleting and conn is not None and response.status_code == 200:
            sql.drop_temporary_objects(conn)
    if deleting and token:
        sessions.pop(token, None)
    return response


async def token_request(request: Request) -> Response:
    """Snowflake's RENEW: a new session token for the same session, from the master token."""
    renewed = FAULTS.renew(_token(request))
    if isinstance(renewed, str):
        return error_answer(renewed, "08001", "Master token expired")
    old, new = renewed
    if (conn := fakesnow_server.sessions.pop(old, None)) is not None:
        fakesnow_server.sessions[new] = conn
    if (session := sessions.pop(old, None)) is not None:
        sessions[new] = session
    data = {"sessionToken": new, "validityInSecondsST": 3600, "masterToken": _token(request), "validityInSecondsMT": 14400}
    return JSONResponse({"data": data, "code": None, "message": None, "success": True})


async def faults(request: Request) -> Response:
    live = list(fakesnow_server.sessions.keys())
    return JSONResponse(FAULTS.configure(await _body_json(request), live))


async def telemetry(_request: Request) -> Response:
    return JSONResponse({"data": None, "code": None, "message": None, "success": True})


async def health(_request: Request) -> Response:
    return JSONResponse({"ok": True, "sessions": len(sessions)})


def create_app(bare: bool = False) -> Starlette:
    """The layer's app; `bare` serves fakesnow's routes unchanged (to see what the layer closes)."""
    if bare:
        health_route = Route("/emulator/health", health, methods=["GET"])
        return Starlette(routes=[*fakesnow_server.routes, health_route])
    sql.install()
    results.install()
    ours = {
        "/session/v1/login-request": login,
        "/queries/v1/query-request": query,
        "/session": session_request,
    }
    routes = [
        Route(r.path, ours.get(r.path, r.endpoint), methods=list(r.methods or [])) for r in fakesnow_server.routes
    ]
    routes += [
        Route("/telemetry/send", telemetry, methods=["POST"]),
        Route("/emulator/health", health, methods=["GET"]),
        Route("/session/token-request", token_request, methods=["POST"]),
        Route("/emulator/faults", faults, methods=["POST"]),
    ]
    return Starlette(routes=routes)

