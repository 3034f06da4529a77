"""Every failure of a request as an HTTP status and a JSON body naming the problem.

A client of a feature server cannot read our tracebacks, and a 500 tells it nothing it can fix:
bad input is a 4xx that says what to change, an unreachable online store is a 503 (retry
later), and only a defect of ours is a 500, logged here with its traceback and answered
without one.
"""

from __future__ import annotations

import logging
from typing import Final

from feature_platform.errors import (
    FeatureNameClashError,
    FeatureNotOnlineError,
    FeaturePlatformError,
    InvalidFeatureReferenceError,
    InvalidFrameError,
    InvalidIdentifierError,
    InvalidRequestError,
    OnlineStoreError,
    UnknownFeatureError,
    UnknownFeatureGroupError,
)

logger = logging.getLogger(__name__)


class RequestError(Exception):
    """A request the server refuses, with the status and the message the client gets."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class UnknownTrainingSetError(RequestError):
    def __init__(self, name: str, known: list[str], note: str = "") -> None:
        super().__init__(
            404,
            f"unknown training set {name!r}; known training sets: {known}{note} (or pass a "
            "list of '<group>:<feature>' references)",
        )


# Checked in order: the first class an error is an instance of gives its status.
_STATUSES: Final[tuple[tuple[type[Exception], int], ...]] = (
    (UnknownFeatureGroupError, 404),
    (UnknownFeatureError, 404),
    (InvalidFeatureReferenceError, 400),
    (FeatureNameClashError, 400),
    (FeatureNotOnlineError, 400),
    (InvalidIdentifierError, 400),
    (InvalidFrameError, 400),
    (InvalidRequestError, 400),
    (OnlineStoreError, 503),
)


def problem(exc: Exception) -> tuple[int, str]:
    """The status and message for an exception raised while serving a request."""
    if isinstance(exc, RequestError):
        return exc.status, exc.message
    for kind, status in _STATUSES:
        if isinstance(exc, kind):
            message = str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)
            if status == 503:
                message = f"the online store is unavailable, retry later: {message}"
            return status, message
    if isinstance(exc, FeaturePlatformError):  # e.g. a misconfigured store: the server's fault
        logger.error("request failed: %s", exc)
        return 500, f"the server could not answer: {exc}"
    logger.exception("request failed with an unexpected error")
    return 500, f"internal error ({type(exc).__name__}); the server log has the details"
