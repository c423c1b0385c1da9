"""Run the emulator: `python -m snowflake_emulator [--host H] [--port P] [--data-dir D]`.

Binds host:port (port 0: a free port), then prints one line to stdout,

    snowflake-emulator listening on http://127.0.0.1:PORT

once it answers. SIGINT / SIGTERM stop it. Any account, user and password log in; the database and
schema named at login are created if missing.
"""

from __future__ import annotations

import argparse
import logging
import socket
import sys
import warnings

import uvicorn


class _Server(uvicorn.Server):
    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started and sockets:
            host, port = sockets[0].getsockname()[:2]
            print(f"snowflake-emulator listening on http://{host}:{port}", flush=True)
            print(
                f"  connect with SNOWFLAKE_HOST={host} SNOWFLAKE_PORT={port} SNOWFLAKE_PROTOCOL=http"
                " (any account, user and password)",
                flush=True,
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="snowflake_emulator", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port to bind (default 0: a free port)")
    parser.add_argument("--data-dir", help="keep each database in DIR/<DATABASE>.db (default: in memory)")
    parser.add_argument("--bare", action="store_true", help="fakesnow's server without the layer (for comparison)")
    parser.add_argument("--log-level", default="warning", choices=["debug", "info", "warning", "error"])
    args = parser.parse_args(argv)

    # fakesnow reads every result through DuckDB's DB-API to_arrow_table(), which warns on each call site
    warnings.filterwarnings("ignore", message="Arrow output on a DB-API result")
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(name)s %(levelname)s %(message)s")
    import fakesnow.server
    from fakesnow.instance import FakeSnow

    from snowflake_emulator.app import create_app

    logging.getLogger("fakesnow.server").setLevel(args.log_level.upper())
    if args.data_dir:
        fakesnow.server.shared_fs = FakeSnow(db_path=args.data_dir)

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    config = uvicorn.Config(
        create_app(bare=args.bare), log_level=args.log_level, access_log=args.log_level == "debug", timeout_graceful_shutdown=2
    )
    try:
        _Server(config).run(sockets=[sock])
    except KeyboardInterrupt:  # uvicorn re-raises the Ctrl-C it shut down on
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
