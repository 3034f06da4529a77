"""How the feature server runs: address, workers, request limits, auth, spec refresh.

`feature-platform serve` builds these from its flags, and uvicorn's worker processes rebuild
them from the environment (`to_environment` / `from_environment`): a worker process is started
from an import string, so the environment is the one channel that reaches it. The store itself
is configured as everywhere else (`StoreConfig.from_env`).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Final

from feature_platform.errors import ConfigurationError

PREFIX: Final = "FEATURE_PLATFORM_SERVER__"
TOKEN_VARIABLE: Final = "FEATURE_PLATFORM_SERVER_TOKEN"
DEFAULT_PORT: Final = 6566  # Feast's feature server port


@dataclass(frozen=True)
class ServerSettings:
    """Settings of one feature server.

    Args:
        host: Address to bind; loopback unless told otherwise.
        port: TCP port.
        workers: Server processes (uvicorn's multi-process mode above 1).
        max_entities: Most entities one read may ask for (413 above it).
        max_body_bytes: Largest request body accepted (413 above it).
        refresh_seconds: How often the applied groups are re-read from the catalog, off the
            request path; a group applied meanwhile is servable after at most this long.
        graceful_seconds: How long SIGTERM waits for in-flight requests before closing them.
        token_variable: The environment variable holding the bearer token; when it is set
            (and not empty), every route but ``/health`` needs ``Authorization: Bearer <token>``.
    """

    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    workers: int = 1
    max_entities: int = 10_000
    max_body_bytes: int = 8 * 1024 * 1024
    refresh_seconds: float = 30.0
    graceful_seconds: float = 30.0
    token_variable: str = TOKEN_VARIABLE

    def __post_init__(self) -> None:
        for name in ("workers", "max_entities", "max_body_bytes"):
            if getattr(self, name) < 1:
                raise ConfigurationError(f"server setting {name} must be at least 1")
        if not 0 <= self.port <= 65535:
            raise ConfigurationError(f"port must be from 0 to 65535, not {self.port}")
        for name in ("refresh_seconds", "graceful_seconds"):
            value = getattr(self, name)
            if not math.isfinite(value) or value <= 0:
                raise ConfigurationError(
                    f"server setting {name} must be a positive number of seconds, not {value}"
                )

    def token(self, environ: Mapping[str, str] | None = None) -> str | None:
        """The bearer token clients must send, or None when auth is off."""
        value = (os.environ if environ is None else environ).get(self.token_variable, "")
        return value or None

    def to_environment(self) -> dict[str, str]:
        """The variables that rebuild these settings in a worker process."""
        return {PREFIX + f.name.upper(): str(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> ServerSettings:
        """Settings from ``FEATURE_PLATFORM_SERVER__<NAME>`` variables; defaults for the rest.

        Raises:
            ConfigurationError: A variable is not a number where one is needed, or out of range.
        """
        env = os.environ if environ is None else environ
        values: dict[str, str | int | float] = {}
        for spec in fields(cls):
            variable = PREFIX + spec.name.upper()
            if variable not in env:
                continue
            text = env[variable]
            kind = type(getattr(cls(), spec.name))
            try:
                values[spec.name] = kind(text)
            except ValueError as exc:
                raise ConfigurationError(
                    f"{variable}={text!r} is not a valid {kind.__name__}"
                ) from exc
        return cls(**values)  # type: ignore[arg-type]
