"""dbt-duckdb plugin: take the warehouse lease before dbt opens the DuckDB file.

DuckDB lets one process at a time open the file for writing, and the Temporal worker keeps it open
while state writes flow. Before dbt connects, this plugin writes `<file>.lease` (JSON: pid, host,
holder, since; waiting while another live lease exists), waits until the worker has closed the file,
and removes the lease when dbt exits. The worker never opens the file while someone else's lease
is live (src/warehouse/duckdb/lease.ts, docs/design.md decision 6), so any dbt command — run by
hand, from a scheduler, or by the worker's own refresher — gets the file within a moment instead of
racing the worker for it.

The worker's own dbt runs take the lease in the worker and set POLICY_EXECUTION_WAREHOUSE_LEASE=held
for dbt, so this plugin stands aside. Enabled in profiles.yml (`plugins: [{module: warehouse_lease}]`,
with this directory in `module_paths`).
"""
import atexit
import json
import os
import socket
import sys
import time
from datetime import datetime, timezone

import duckdb
from dbt.adapters.duckdb.plugins import BasePlugin

WAIT_SECONDS = 600
POLL_SECONDS = 0.05


def _alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def _paused(lease_path, info):
    """The lease's holder said it does not use the file for now (pause_between_checks.sql)."""
    try:
        with open(lease_path + "-paused", encoding="utf-8") as f:
            p = json.loads(f.read().strip() or "{}")
    except (OSError, ValueError):
        return False
    return p.get("paused") is True and p.get("pid") == info.get("pid")


def _live_lease(lease_path):
    try:
        with open(lease_path, encoding="utf-8") as f:
            info = json.load(f)
    except (OSError, ValueError):
        return None
    if info.get("host") == socket.gethostname() and not _alive(int(info.get("pid", 0))):
        try:
            os.remove(lease_path)
        except OSError:
            pass
        return None
    return info


class Plugin(BasePlugin):
    def initialize(self, plugin_config):
        self._lease_path = None

    def update_connection_config(self, creds, config):
        if os.environ.get("POLICY_EXECUTION_WAREHOUSE_LEASE") == "held" or self._lease_path:
            return
        path = creds.path
        if not path or path == ":memory:" or "://" in path:
            return
        path = os.path.abspath(path)
        lease_path = path + ".lease"
        body = json.dumps(
            {
                "pid": os.getpid(),
                "host": socket.gethostname(),
                "holder": "dbt " + " ".join(sys.argv[1:3]).strip(),
                "since": datetime.now(timezone.utc).isoformat(),
            }
        )
        deadline = time.monotonic() + WAIT_SECONDS
        said = 0.0
        while True:
            try:
                fd = os.open(lease_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
                with os.fdopen(fd, "w", encoding="utf-8") as f:
                    f.write(body)
                break
            except FileExistsError:
                other = _live_lease(lease_path)
                if other and _paused(lease_path, other):
                    return  # its holder does not use the file now; the DuckDB lock keeps us apart
                if other and time.monotonic() > deadline:
                    raise RuntimeError(
                        f"{path} is leased by {other.get('holder')} (pid {other.get('pid')}); "
                        f"gave up after {WAIT_SECONDS} s"
                    )
                if other and time.monotonic() - said > 10:
                    said = time.monotonic()
                    print(f"waiting for the warehouse lease held by {other.get('holder')}", file=sys.stderr)
                time.sleep(POLL_SECONDS)
        self._lease_path = lease_path
        atexit.register(self._release)
        # The worker closes the file within a moment of seeing the lease: wait for that here, so dbt's
        # own connect (and its retries, which sleep 1, 2, 4 ... s) succeeds at once.
        while os.path.exists(path):
            try:
                duckdb.connect(path).close()
                break
            except duckdb.IOException:
                if time.monotonic() > deadline:
                    break
                time.sleep(POLL_SECONDS)

    def _release(self):
        if self._lease_path:
            try:
                info = _live_lease(self._lease_path)
                if info and info.get("pid") == os.getpid():
                    os.remove(self._lease_path)
                    if os.path.exists(self._lease_path + "-paused"):
                        os.remove(self._lease_path + "-paused")
            except OSError:
                pass
            self._lease_path = None
