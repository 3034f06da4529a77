"""The server's OpenAPI document (``/openapi.json``) and a readable page of it (``/docs``).

Written out rather than generated: the routes speak Feast's shapes, which no model class of
ours describes, and the page is plain HTML so it renders without fetching any script.
"""

from __future__ import annotations

import html
import json
from typing import Any

from feature_platform.server.settings import ServerSettings

_ERROR = {
    "description": "A JSON error naming the problem",
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "properties": {"error": {"type": "string"}, "status": {"type": "integer"}},
            }
        }
    },
}

_ONLINE_REQUEST = {
    "type": "object",
    "required": ["entities"],
    "properties": {
        "features": {
            "oneOf": [
                {"type": "array", "items": {"type": "string"}, "minItems": 1},
                {"type": "string", "description": "a training set's name"},
            ],
            "description": "'<group>:<feature>' references, or a training set's name",
        },
        "feature_service": {"type": "string", "description": "a training set's name"},
        "entities": {
            "type": "object",
            "additionalProperties": {"type": "array"},
            "description": "join-key columns of equal length, e.g. {'user_id': ['u1', 'u2']}",
        },
        "full_feature_names": {"type": "boolean", "default": False},
    },
}

_ONLINE_RESPONSE = {
    "type": "object",
    "properties": {
        "metadata": {
            "type": "object",
            "properties": {"feature_names": {"type": "array", "items": {"type": "string"}}},
        },
        "results": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "values": {"type": "array"},
                    "statuses": {
                        "type": "array",
                        "items": {"enum": ["PRESENT", "NOT_FOUND", "OUTSIDE_MAX_AGE"]},
                    },
                    "event_timestamps": {
                        "type": "array",
                        "items": {"type": "string", "format": "date-time"},
                    },
                },
            },
        },
    },
}

_PUSH_REQUEST = {
    "type": "object",
    "required": ["push_source_name", "df"],
    "properties": {
        "push_source_name": {"type": "string", "description": "the feature group written"},
        "df": {
            "type": "object",
            "additionalProperties": {"type": "array"},
            "description": "columns: the join keys, event_time, the features (and created_at)",
        },
        "to": {"enum": ["online", "offline", "online_and_offline"], "default": "online"},
    },
}


def _errors(*statuses: int) -> dict[str, Any]:
    return {str(status): _ERROR for status in statuses}


def document(settings: ServerSettings) -> dict[str, Any]:
    """The OpenAPI 3.1 document of the routes this server answers."""
    json_body = {"application/json": {"schema": _ONLINE_REQUEST}}
    online = {
        "summary": "Latest feature values of entities (Feast's protocol)",
        "requestBody": {"required": True, "content": json_body},
        "responses": {
            "200": {
                "description": "One result per column, the key columns first",
                "content": {
                    "application/json": {"schema": _ONLINE_RESPONSE},
                    "application/vnd.apache.arrow.stream": {
                        "schema": {"type": "string", "format": "binary"}
                    },
                },
            },
            **_errors(400, 401, 404, 413, 503),
        },
    }
    push = {
        "summary": "Write rows of a feature group (latest wins online, buffered offline)",
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _PUSH_REQUEST}},
        },
        "responses": {"200": {"description": "What was written"}, **_errors(400, 401, 404, 503)},
    }
    plain = {"responses": {"200": {"description": "OK"}}}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "feature_platform feature server",
            "version": "1",
            "description": (
                f"At most {settings.max_entities} entities and {settings.max_body_bytes} bytes "
                "per request. With a token configured, send 'Authorization: Bearer <token>'."
            ),
        },
        "paths": {
            "/get-online-features": {"post": online},
            "/push": {"post": push},
            "/health": {"get": {"summary": "Ready once the online store answers", **plain}},
            "/metrics": {"get": {"summary": "Prometheus metrics", **plain}},
            "/openapi.json": {"get": {"summary": "This document", **plain}},
            "/docs": {"get": {"summary": "This document as a page", **plain}},
        },
    }


def page(spec: dict[str, Any]) -> str:
    """A self-contained HTML page listing the routes with their schemas."""
    sections = []
    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            detail = html.escape(json.dumps(operation, indent=2))
            sections.append(
                f"<h2>{method.upper()} {html.escape(path)}</h2>"
                f"<p>{html.escape(operation.get('summary', ''))}</p><pre>{detail}</pre>"
            )
    title = html.escape(spec["info"]["title"])
    intro = html.escape(spec["info"]["description"])
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title></head>"
        f"<body><h1>{title}</h1><p>{intro}</p><p><a href='/openapi.json'>openapi.json</a></p>"
        + "".join(sections)
        + "</body></html>"
    )
