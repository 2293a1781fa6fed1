"""The read-only open-data API: a registry of endpoints and the responses they share.

An :class:`Endpoint` names a path under ``/api/v1``, the service function that returns its rows
(``fetch(session, today, path_params)``), and the fields of a row. From that one declaration
come: the JSON route (a list is paginated with ``?page``/``?limit`` and ``links.next``), its
``.csv`` twin (every row, UTF-8 with a BOM, a header row, ``Content-Disposition``), and its
part of the OpenAPI 3.1 document (``pb.web.openapi``). Every answer carries a strong ``ETag``
(a digest of the body) and ``Cache-Control``; ``If-None-Match`` gets 304. Errors are RFC 9457
problem documents. No route needs a login and none ever looks at who is asking: what the
service returns is what anyone may read.

Another area adds its endpoints with :func:`register` (see ``pb.web.views.api``)::

    register(Endpoint("/projects/{project_id:id}/milestones", "Milestones", "Milestone",
                      fields=(Field("id", "integer", "Milestone id"), ...), fetch=tracking.rows))
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import hashlib
import io
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from pb.errors import NotFound
from pb.i18n import gettext as _
from pb.web.routing import Access, GuardedRoute, route
from pb.web.state import state

PREFIX = "/api/v1"
DEFAULT_LIMIT = 100
MAX_LIMIT = 500
CACHE_CONTROL = "public, max-age=60"
Fetch = Callable[[Session, dt.date, dict[str, int]], Any]


@dataclass(frozen=True)
class Field:
    name: str
    type: str  # JSON Schema: integer, number, string, boolean, array
    description: str
    nullable: bool = False
    items: dict[str, Any] | None = None  # for an array: the schema of its items

    def schema(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": [self.type, "null"] if self.nullable else self.type,
            "description": self.description,
        }
        if self.items is not None:
            out["items"] = self.items
        return out


@dataclass(frozen=True)
class Endpoint:
    path: str  # under PREFIX, with {name:id} parameters
    summary: str
    schema: str  # the name of a row's schema in the OpenAPI document
    fields: tuple[Field, ...]
    fetch: Fetch
    many: bool = True  # a paginated list with a .csv twin; else one object
    tag: str = "data"
    description: str = ""
    csv_name: str = ""  # the CSV file's name (without .csv); default from the path
    params: tuple[str, ...] = field(default=())  # path parameters, filled in by register

    @property
    def openapi_path(self) -> str:
        return PREFIX + self.path.replace(":id}", "}")


REGISTRY: list[Endpoint] = []


def register(endpoint: Endpoint) -> Endpoint:
    params = tuple(p.split("}")[0].split(":")[0] for p in endpoint.path.split("{")[1:])
    done = dataclasses.replace(endpoint, params=params)
    REGISTRY.append(done)
    return done


def problem(status: int, detail: str) -> Response:
    titles = {400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed", 413: "Too Large"}
    body = {
        "type": "about:blank",
        "title": titles.get(status, "Error"),
        "status": status,
        "detail": detail,
    }
    return Response(
        json.dumps(body, ensure_ascii=False),
        status_code=status,
        media_type="application/problem+json",
        headers={"cache-control": "no-store", "access-control-allow-origin": "*"},
    )


def cached(request: Request, body: bytes, media_type: str, headers: dict[str, str]) -> Response:
    """The response, or 304 when the client's ``If-None-Match`` names this body's ETag."""
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    common = {
        "etag": etag,
        "cache-control": CACHE_CONTROL,
        "access-control-allow-origin": "*",
        "cross-origin-resource-policy": "cross-origin",  # open data: other sites may read it
    }
    wanted = request.headers.get("if-none-match", "")
    tags = {t.strip().removeprefix("W/") for t in wanted.split(",")}
    if etag in tags or "*" in tags:
        return Response(status_code=304, headers=common)
    return Response(body, media_type=media_type, headers={**common, **headers})


def json_bytes(document: Any) -> bytes:
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


def _positive(request: Request, name: str, default: int, most: int) -> int | None:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not raw.isascii() or not raw.isdigit() or len(raw) > 9 or not 1 <= int(raw) <= most:
        return None
    return int(raw)


def csv_bytes(fields: tuple[Field, ...], rows: list[dict[str, Any]]) -> bytes:
    """UTF-8 with a byte-order mark (so spreadsheets read the accents), a header row, CRLF
    line ends; arrays are left out, empty cells for null, booleans as true/false."""
    columns = [f.name for f in fields if f.type != "array"]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        cells = []
        for name in columns:
            value = row.get(name)
            cells.append(
                ""
                if value is None
                else ("true" if value else "false")
                if isinstance(value, bool)
                else value
            )
        writer.writerow(cells)
    return b"\xef\xbb\xbf" + out.getvalue().encode("utf-8")


def _csv_name(endpoint: Endpoint, params: dict[str, int]) -> str:
    if endpoint.csv_name:
        return endpoint.csv_name
    parts = []
    for piece in endpoint.path.strip("/").split("/"):
        if piece.startswith("{"):
            parts.append(str(params[piece[1:].split(":")[0]]))
        else:
            parts.append(piece)
    return "pb-" + "-".join(parts)


def handler(endpoint: Endpoint, as_csv: bool) -> Callable[[Request], Any]:
    async def respond(request: Request) -> Response:
        app = state(request)
        params = {k: v for k, v in request.path_params.items() if isinstance(v, int)}
        page = _positive(request, "page", 1, 10**9)
        limit = _positive(request, "limit", DEFAULT_LIMIT, MAX_LIMIT)
        if page is None or limit is None:
            return problem(
                400,
                _(
                    "page must be a whole number from 1, and limit one from 1 to %(max)s.",
                    max=MAX_LIMIT,
                ),
            )
        try:
            data = await app.db.read(endpoint.fetch, app.today(), params)
        except NotFound:
            return problem(404, _("There is nothing public at this address."))
        if as_csv:
            name = _csv_name(endpoint, params)
            return cached(
                request,
                csv_bytes(endpoint.fields, data),
                "text/csv; charset=utf-8",
                {"content-disposition": f'attachment; filename="{name}.csv"'},
            )
        if not endpoint.many:
            return cached(request, json_bytes(data), "application/json", {})
        total = len(data)
        pages = max(1, math.ceil(total / limit))
        if page > pages:
            return problem(404, _("There is no page %(page)s.", page=page))
        links = {"self": str(request.url.include_query_params(page=page, limit=limit))}
        if page < pages:
            links["next"] = str(request.url.include_query_params(page=page + 1, limit=limit))
        if page > 1:
            links["prev"] = str(request.url.include_query_params(page=page - 1, limit=limit))
        links["csv"] = str(request.url.replace(path=request.url.path + ".csv", query=""))
        document = {
            "data": data[(page - 1) * limit : page * limit],
            "links": links,
            "meta": {"page": page, "limit": limit, "total": total, "pages": pages},
        }
        return cached(request, json_bytes(document), "application/json", {})

    respond.__name__ = f"api_{endpoint.schema.lower()}{'_csv' if as_csv else ''}"
    return respond


def routes_for(endpoint: Endpoint) -> list[GuardedRoute]:
    path = PREFIX + endpoint.path
    out = [route(path, handler(endpoint, False), access=Access.PUBLIC)]
    if endpoint.many:
        out.append(route(path + ".csv", handler(endpoint, True), access=Access.PUBLIC))
    return out
