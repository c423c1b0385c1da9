"""A warm dbt process for the worker's model refreshes.

Starting the dbt CLI costs seconds (Python imports, project parsing) for a model that runs in well
under a second. The worker keeps this process and sends it one dbt command at a time:

    stdin  (JSON lines): {"id": 1, "args": ["run", "--select", "policy_execution_model", ...]}
    stdout (JSON lines): {"id": 1, "success": true, "error": null, "rows_affected": null, "elapsed_ms": 512}

It runs each command with dbt's documented programmatic entry point (dbt.cli.main.dbtRunner) and,
after each one, closes dbt-duckdb's connection so the DuckDB file is released between commands (the
adapter would otherwise keep it open, and nobody else could write it). On the Snowflake target
dbt-duckdb is never loaded and there is nothing to release. dbt's own log output goes to
stderr. The environment (WAREHOUSE_PATH, DBT_PROFILES_DIR, ...) is the one it was started with.
"""
import json
import os
import sys
import time

# The protocol owns the real stdout; everything dbt prints goes to stderr.
protocol = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
sys.stdout = sys.stderr

from dbt.cli.main import dbtRunner  # noqa: E402


def release_duckdb():
    """Close dbt-duckdb's connection, if this process has one (never on another target: a no-op)."""
    connections = sys.modules.get("dbt.adapters.duckdb.connections")
    if connections is None:  # dbt-duckdb never loaded (e.g. the Snowflake target): nothing to release
        return
    manager = connections.DuckDBConnectionManager
    env = getattr(manager, "_ENV", None)
    if env is not None and getattr(env, "conn", None) is not None:
        env.close()
    manager.close_all_connections()


def describe_failure(res):
    if res.exception is not None:
        return f"{type(res.exception).__name__}: {res.exception}"
    messages = []
    for node in getattr(res.result, "results", None) or []:
        status = str(getattr(node, "status", "")).lower()
        if any(s in status for s in ("error", "fail")):
            name = getattr(getattr(node, "node", None), "unique_id", "?")
            messages.append(f"{name}: {getattr(node, 'message', '')}")
    return "; ".join(messages) or "dbt reported failure"


def rows_affected(res):
    total = None
    for node in getattr(res.result, "results", None) or []:
        n = (getattr(node, "adapter_response", None) or {}).get("rows_affected")
        if isinstance(n, int) and n >= 0:
            total = (total or 0) + n
    return total


def main():
    runner = dbtRunner()
    protocol.write(json.dumps({"ready": True}) + "\n")
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        request = json.loads(line)
        started = time.monotonic()
        try:
            res = runner.invoke(list(request["args"]))
            reply = {
                "success": bool(res.success),
                "error": None if res.success else describe_failure(res),
                "rows_affected": rows_affected(res) if res.success else None,
            }
        except BaseException as exc:  # noqa: BLE001 - report, keep serving
            reply = {"success": False, "error": f"{type(exc).__name__}: {exc}", "rows_affected": None}
        finally:
            release_duckdb()
        reply["id"] = request.get("id")
        reply["elapsed_ms"] = round((time.monotonic() - started) * 1000)
        protocol.write(json.dumps(reply) + "\n")


if __name__ == "__main__":
    main()
