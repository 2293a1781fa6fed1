"""The OpenAPI 3.1 description of the open-data API, built from the endpoint registry (so a
registered endpoint is documented by construction)."""

from __future__ import annotations

from typing import Any

from pb import __version__
from pb.web.opendata import MAX_LIMIT, Endpoint

PROBLEM = {"$ref": "#/components/schemas/Problem"}


def _parameters(endpoint: Endpoint, paginated: bool) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": {"type": "integer", "minimum": 1},
        }
        for name in endpoint.params
    ]
    if paginated:
        out += [
            {
                "name": "page",
                "in": "query",
                "description": "Page number, from 1.",
                "schema": {"type": "integer", "minimum": 1, "default": 1},
            },
            {
                "name": "limit",
                "in": "query",
                "description": "Rows per page.",
                "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": 100},
            },
        ]
    out.append(
        {
            "name": "If-None-Match",
            "in": "header",
            "description": "An ETag from an earlier answer: 304 when nothing changed.",
            "schema": {"type": "string"},
        }
    )
    return out


def _errors(paginated: bool) -> dict[str, Any]:
    problem = {"content": {"application/problem+json": {"schema": PROBLEM}}}
    out: dict[str, Any] = {
        "304": {"description": "Not modified since the ETag given in If-None-Match."},
        "404": {"description": "Missing, or not public (yet).", **problem},
    }
    if paginated:
        out["400"] = {"description": "A bad page or limit.", **problem}
    return out


def _operation(endpoint: Endpoint, as_csv: bool) -> dict[str, Any]:
    row: dict[str, Any] = {"$ref": f"#/components/schemas/{endpoint.schema}"}
    if as_csv:
        content: dict[str, Any] = {"text/csv": {"schema": {"type": "string"}}}
        summary = endpoint.summary + " (CSV)"
    elif endpoint.many:
        content = {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["data", "links", "meta"],
                    "properties": {
                        "data": {"type": "array", "items": row},
                        "links": {"$ref": "#/components/schemas/Links"},
                        "meta": {"$ref": "#/components/schemas/Meta"},
                    },
                }
            }
        }
        summary = endpoint.summary
    else:
        content = {"application/json": {"schema": row}}
        summary = endpoint.summary
    paginated = endpoint.many and not as_csv
    return {
        "summary": summary,
        "description": endpoint.description
        or ("Every row, UTF-8 with a BOM and a header row." if as_csv else summary + "."),
        "operationId": f"{endpoint.schema[0].lower()}{endpoint.schema[1:]}"
        + ("List" if endpoint.many else "")
        + ("Csv" if as_csv else ""),
        "tags": [endpoint.tag],
        "parameters": _parameters(endpoint, paginated),
        "responses": {"200": {"description": "OK", "content": content}, **_errors(paginated)},
    }


def document(endpoints: list[Endpoint], extra_paths: dict[str, Any]) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {
        "Problem": {
            "type": "object",
            "description": "An error (RFC 9457).",
            "properties": {
                "type": {"type": "string"},
                "title": {"type": "string"},
                "status": {"type": "integer"},
                "detail": {"type": "string"},
            },
        },
        "Links": {
            "type": "object",
            "properties": {
                "self": {"type": "string", "format": "uri"},
                "next": {"type": "string", "format": "uri", "description": "Not on the last page"},
                "prev": {"type": "string", "format": "uri"},
                "csv": {"type": "string", "format": "uri", "description": "Every row as CSV."},
            },
            "required": ["self"],
        },
        "Meta": {
            "type": "object",
            "properties": {
                "page": {"type": "integer"},
                "limit": {"type": "integer"},
                "total": {"type": "integer"},
                "pages": {"type": "integer"},
            },
        },
    }
    for endpoint in endpoints:
        paths[endpoint.openapi_path] = {"get": _operation(endpoint, False)}
        if endpoint.many:
            paths[endpoint.openapi_path + ".csv"] = {"get": _operation(endpoint, True)}
        schemas[endpoint.schema] = {
            "type": "object",
            "properties": {f.name: f.schema() for f in endpoint.fields},
            "required": [f.name for f in endpoint.fields],
        }
    paths.update(extra_paths)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "pb open data",
            "version": __version__,
            "description": "Read-only data of a town's participatory budget and crowdfunding: "
            "only what is already public on the site. Money is in minor units (cents) of the "
            "row's currency. No authentication. See docs/api.md.",
        },
        "servers": [{"url": "/"}],
        "paths": dict(sorted(paths.items())),
        "components": {"schemas": schemas},
        "tags": [
            {"name": "rounds", "description": "Participatory-budgeting rounds and their results."},
            {"name": "town", "description": "The town's districts."},
            {"name": "funding", "description": "Crowdfunding calls and campaigns."},
            {"name": "projects", "description": "Funded projects."},
        ],
    }
