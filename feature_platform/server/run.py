"""Start the feature server under uvicorn, in one process or several.

uvicorn's multi-process mode starts each worker from an import string, so the settings travel
through the environment (`ServerSettings.to_environment`), like the store's own configuration.
uvicorn drains on SIGTERM: it stops accepting connections, lets in-flight requests finish (for
up to `graceful_seconds`), then runs the application's shutdown, which commits buffered pushes.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import sys
import tempfile

from feature_platform.server.metrics import MULTIPROCESS_VARIABLE
from feature_platform.server.settings import ServerSettings

APP_FACTORY = "feature_platform.server.app:create_app"


def serve(settings: ServerSettings) -> None:
    """Serve until SIGTERM or SIGINT; returns once every worker has drained."""
    import uvicorn

    os.environ.update(settings.to_environment())
    if settings.workers > 1 and not os.environ.get(MULTIPROCESS_VARIABLE):
        # Workers count into files of one folder, so any worker's /metrics sums them all.
        os.environ[MULTIPROCESS_VARIABLE] = tempfile.mkdtemp(prefix="feature-server-metrics-")
    if not _loopback(settings.host) and settings.token() is None:
        print(
            f"warning: serving on {settings.host} without auth; set {settings.token_variable} "
            "to require a bearer token",
            file=sys.stderr,
        )
    uvicorn.run(
        APP_FACTORY,
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_level=logging.INFO,
        access_log=False,
        timeout_graceful_shutdown=int(settings.graceful_seconds),
        lifespan="on",
        server_header=False,
    )


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
