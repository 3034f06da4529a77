"""Start the feature server under uvicorn, in one process or several.

uvicorn's multi-process mode starts each worker from an import string, so the settings travel
through the environment (`ServerSettings.to_environment`), like the store's own configuration.
uvicorn drains on SIGTERM: it stops accepting connections, lets in-flight requests finish (for
up to `graceful_seconds`), then runs the application's shutdown, which commits buffered pushes;
the process then exits 0.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import shutil
import signal
import sys
import tempfile

import uvicorn

from feature_platform.server.metrics import MULTIPROCESS_VARIABLE
from feature_platform.server.settings import ServerSettings

APP_FACTORY = "feature_platform.server.app:create_app"


def serve(settings: ServerSettings) -> None:
    """Serve until SIGTERM or SIGINT; returns once every worker has drained."""
    os.environ.update(settings.to_environment())
    metrics_folder = None
    if settings.workers > 1 and not os.environ.get(MULTIPROCESS_VARIABLE):
        # Workers count into files of one folder, so any worker's /metrics sums them all.
        metrics_folder = tempfile.mkdtemp(prefix="feature-server-metrics-")
        os.environ[MULTIPROCESS_VARIABLE] = metrics_folder
    if not _loopback(settings.host) and settings.token() is None:
        print(
            f"warning: serving on {settings.host} without auth; set {settings.token_variable} "
            "to require a bearer token",
            file=sys.stderr,
        )
    # uvicorn re-raises the SIGTERM it drained for, after restoring the handler it found: this
    # one, so a drained server exits 0 rather than "killed by SIGTERM" (a clean stop).
    previous = signal.signal(signal.SIGTERM, _drained)
    try:
        _run(settings)
    finally:
        signal.signal(signal.SIGTERM, previous)
        if metrics_folder is not None:
            shutil.rmtree(metrics_folder, ignore_errors=True)


def _drained(signum: int, frame: object) -> None:
    raise SystemExit(0)


def _run(settings: ServerSettings) -> None:
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
        # Inference services keep connections open between bursts (uvicorn's default is 5 s).
        timeout_keep_alive=30,
    )


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
