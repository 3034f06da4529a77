"""`feature-platform serve`: the HTTP feature server, speaking Feast's protocol.

The handler imports the server only when it runs, and the server never imports Dagster, so the
command starts in the time it takes to open the store.
"""

from __future__ import annotations

import argparse

from feature_platform.server.settings import DEFAULT_PORT, TOKEN_VARIABLE, ServerSettings


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    defaults = ServerSettings()
    serve = commands.add_parser(
        "serve",
        help="serve online features over HTTP (Feast's /get-online-features and /push)",
        description=(
            "Serve the store configured by FEATURE_PLATFORM_* variables. With "
            f"{TOKEN_VARIABLE} set, requests need 'Authorization: Bearer <token>'."
        ),
    )
    serve.add_argument("--host", default=defaults.host, help="address to bind (127.0.0.1)")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port ({DEFAULT_PORT})")
    serve.add_argument("--workers", type=int, default=1, help="server processes (1)")
    serve.add_argument(
        "--max-entities",
        type=int,
        default=defaults.max_entities,
        help=f"most entities (or pushed rows) per request ({defaults.max_entities})",
    )
    serve.add_argument(
        "--max-body-bytes",
        type=int,
        default=defaults.max_body_bytes,
        help=f"largest request body ({defaults.max_body_bytes})",
    )
    serve.add_argument(
        "--refresh-seconds",
        type=float,
        default=defaults.refresh_seconds,
        help=f"how often applied groups are re-read ({defaults.refresh_seconds:g})",
    )
    serve.set_defaults(handler=run_server)


def run_server(args: argparse.Namespace) -> int:
    from feature_platform.server.run import serve

    settings = ServerSettings(
        host=args.host,
        port=args.port,
        workers=args.workers,
        max_entities=args.max_entities,
        max_body_bytes=args.max_body_bytes,
        refresh_seconds=args.refresh_seconds,
    )
    serve(settings)
    return 0
