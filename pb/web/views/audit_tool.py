"""The auditors' tool: ``pb-audit.pyz``, built by this pb from its own source (``pb.auditool``).

Its SHA-256 is printed beside the download link on every published results page; anyone can
rebuild the file from the same source and compare. It is built on the first request and kept.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from pb import auditool
from pb.web.routing import Access, route


async def download(request: Request) -> Response:
    tool = await run_in_threadpool(auditool.cached)
    headers = {
        "etag": f'"{tool.sha256}"',
        "cache-control": "public, max-age=3600",
    }
    if request.headers.get("if-none-match") == headers["etag"]:
        return Response(status_code=304, headers=headers)
    headers["content-disposition"] = f'attachment; filename="{auditool.FILENAME}"'
    return Response(tool.data, media_type=auditool.MEDIA_TYPE, headers=headers)


routes = [
    route(auditool.URL, download, access=Access.PUBLIC, name="audit_tool"),
]
