"""The feature server's ASGI application: Feast's routes on the store, with auth and metrics.

Routes: ``POST /get-online-features`` (JSON, or an Arrow IPC stream for ``Accept:
application/vnd.apache.arrow.stream``), ``POST /push``, ``GET /health``, ``GET /metrics``,
``GET /openapi.json`` and ``GET /docs``. Every answer, errors included, is counted by route and
status; every error is JSON (see `problems`). Embedded reads are SQLite lookups well under a
millisecond and run on the event loop; DynamoDB reads wait on the network and run in threads,
so one worker serves many at once.
"""

from __future__ import annotations

import contextlib
import hmac
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import polars as pl
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from feature_platform.online_store.serving import OnlineFeatureReader, ServedFeatures
from feature_platform.server import openapi
from feature_platform.server.catalog import ServedCatalog, TrainingSets, registered_training_sets
from feature_platform.server.metrics import CONTENT_TYPE, ServerMetrics
from feature_platform.server.problems import RequestError, UnknownTrainingSetError, problem
from feature_platform.server.protocol import (
    ARROW_STREAM,
    OnlineRequest,
    arrow_stream,
    encode,
    json_body,
    online_request,
    online_response,
    push_request,
    wants_arrow,
)
from feature_platform.server.settings import ServerSettings
from feature_platform.store import FeatureStore

Handler = Callable[[Request], Awaitable[Response]]
JSON = "application/json"


def json_response(body: Any, status: int = 200) -> Response:
    return Response(encode(body), status_code=status, media_type=JSON)


def error_response(status: int, message: str) -> Response:
    return json_response({"error": message, "status": status}, status)


class FeatureServer:
    """The state one worker process serves from: the store, the cached specs, the metrics."""

    def __init__(
        self,
        settings: ServerSettings,
        open_store: Callable[[], FeatureStore] = FeatureStore.from_env,
        training_sets: TrainingSets = registered_training_sets,
    ) -> None:
        self.settings = settings
        self.metrics = ServerMetrics()
        self._open_store = open_store
        self._training_sets = training_sets
        self._token = settings.token()
        self._serving: _Serving | None = None
        self._threaded_reads = True

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> None:
        store = self._open_store()
        catalog = ServedCatalog(store, self.settings.refresh_seconds, self._training_sets)
        reader = OnlineFeatureReader(store.online, catalog.group, spec_refresh_seconds=math.inf)
        catalog.on_change = reader.invalidate  # plans are re-made from the refreshed specs
        self._threaded_reads = store.config.online_store != "embedded"
        catalog.start()
        self._serving = _Serving(store, catalog, reader)

    def stop(self) -> None:
        """Stop refreshing and close the store, committing buffered offline pushes."""
        if self._serving is not None:
            self._serving.catalog.stop()
            self._serving.store.close()

    @contextlib.asynccontextmanager
    async def lifespan(self, app: Starlette) -> AsyncIterator[None]:
        await run_in_threadpool(self.start)
        try:
            yield
        finally:
            await run_in_threadpool(self.stop)

    # -- routes ---------------------------------------------------------------------------------

    def app(self) -> Starlette:
        routes = [
            Route(
                "/get-online-features",
                self._route("get-online-features", self._online),
                methods=["POST"],
            ),
            Route("/push", self._route("push", self._push), methods=["POST"]),
            Route("/health", self._route("health", self._health, public=True), methods=["GET"]),
            Route("/metrics", self._route("metrics", self._metrics), methods=["GET"]),
            Route("/openapi.json", self._route("openapi", self._openapi), methods=["GET"]),
            Route("/docs", self._route("docs", self._docs), methods=["GET"]),
        ]
        return Starlette(
            routes=routes,
            lifespan=self.lifespan,
            exception_handlers={HTTPException: self._http_error},  # type: ignore[dict-item]
        )

    def _route(self, name: str, handler: Handler, *, public: bool = False) -> Handler:
        async def endpoint(request: Request) -> Response:
            started = time.perf_counter()
            try:
                if not public:
                    self._authorize(request)
                response = await handler(request)
            except Exception as exc:  # every failure is answered as JSON, never a traceback
                response = error_response(*problem(exc))
            self.metrics.observe(name, response.status_code, time.perf_counter() - started)
            return response

        return endpoint

    async def _http_error(self, request: Request, exc: HTTPException) -> Response:
        """Unknown paths and wrong methods, answered as JSON like every other error."""
        if exc.status_code == 405:
            message = f"{request.method} is not allowed on {request.url.path}"
        else:
            message = f"no route {request.url.path}; see /docs for the routes"
        self.metrics.observe("unmatched", exc.status_code, 0.0)
        return error_response(exc.status_code, message)

    def _authorize(self, request: Request) -> None:
        if self._token is None:
            return
        given = request.headers.get("authorization", "")
        scheme, _, token = given.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip(), self._token):
            reason = "a wrong bearer token" if token else "no bearer token"
            raise RequestError(
                401, f"this server needs 'Authorization: Bearer <token>'; the request has {reason}"
            )

    async def _online(self, request: Request) -> Response:
        body = json_body(await self._body(request))
        parsed = online_request(body, self.settings.max_entities)
        if self._threaded_reads:
            served = await run_in_threadpool(self._read, parsed)
        else:
            served = self._read(parsed)
        if wants_arrow(request.headers.get("accept")):
            return Response(arrow_stream(served.frame), media_type=ARROW_STREAM)
        return json_response(online_response(served))

    def _read(self, parsed: OnlineRequest) -> ServedFeatures:
        serving = self._running()
        features, full = parsed.features or (), parsed.full_feature_names
        if parsed.training_set is not None:
            training_set = serving.catalog.training_set(parsed.training_set)
            if training_set is None:
                names = serving.catalog.training_set_names()
                raise UnknownTrainingSetError(
                    parsed.training_set, names, serving.catalog.training_sets_note
                )
            features = tuple(training_set.features)
            full = full or training_set.full_feature_names
        return serving.reader.read_served(features, parsed.rows, full_feature_names=full)

    async def _push(self, request: Request) -> Response:
        store = self._running().store
        parsed = push_request(json_body(await self._body(request)), self.settings.max_entities)
        result = await run_in_threadpool(store.write, parsed.group, parsed.rows, parsed.to)
        return json_response(
            {
                "group": result.group,
                "rows": result.rows,
                "online_written": None if result.online is None else result.online.written,
                "offline_committed_rows": sum(c.rows_written for c in result.offline_commits),
                "offline_pending_rows": result.offline_pending_rows,
                "offline_error": result.offline_error,
            }
        )

    async def _health(self, request: Request) -> Response:
        serving = self._running()
        await run_in_threadpool(_probe, serving)
        groups = serving.catalog.online_groups()
        return json_response({"status": "ok", "online_groups": sorted(g.name for g in groups)})

    async def _metrics(self, request: Request) -> Response:
        return Response(self.metrics.exposition(), media_type=CONTENT_TYPE)

    async def _openapi(self, request: Request) -> Response:
        return json_response(openapi.document(self.settings))

    async def _docs(self, request: Request) -> Response:
        return HTMLResponse(openapi.page(openapi.document(self.settings)))

    async def _body(self, request: Request) -> bytes:
        """The body, refused with 413 as soon as it is known to exceed the limit."""
        limit = self.settings.max_body_bytes
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > limit:
            raise RequestError(
                413, f"the body has {length} bytes; the server takes at most {limit}"
            )
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise RequestError(413, f"the body exceeds {limit} bytes, the server's limit")
            chunks.append(chunk)
        return b"".join(chunks)

    def _running(self) -> _Serving:
        if self._serving is None:
            raise RequestError(503, "the server is starting; retry in a moment")
        return self._serving


@dataclass(frozen=True)
class _Serving:
    """What a started server serves from."""

    store: FeatureStore
    catalog: ServedCatalog
    reader: OnlineFeatureReader


def _probe(serving: _Serving) -> None:
    """One lookup in the online store: the server is ready only once the store answers.

    Raises:
        OnlineStoreError: The store did not answer (the route answers 503).
    """
    groups = serving.catalog.online_groups()
    if not groups:
        return
    group = min(groups, key=lambda g: g.name)
    probe = {key: "" if group.entity.key_dtype(key) == "string" else 0 for key in group.join_keys}
    serving.store.online.read(group, pl.DataFrame([probe]), [group.feature_names[0]])


def create_app(settings: ServerSettings | None = None) -> Starlette:
    """The application, for uvicorn's factory mode: settings from the environment by default."""
    return FeatureServer(settings or ServerSettings.from_environment()).app()
