"""Static files under versioned names, so browsers may keep them for a year.

``static_url("style.css")`` gives ``/static/<digest>/style.css``, where the digest is the first
12 hex digits of the file's SHA-256, computed once when the app starts. A URL whose digest is
the file's current one is served with ``Cache-Control: public, max-age=31536000, immutable``:
a new release changes the digest, so the page names a new URL and no cache can serve the old
file. Any other URL (the plain ``/static/style.css``, or a digest of an older release still in a
cached page) is served the current file with ``no-cache``, so it is revalidated each time.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
_DIGEST = re.compile(r"[0-9a-f]{12}")


def digests(directory: Path) -> dict[str, str]:
    """Each file's path under ``directory`` (with ``/``) and the start of its SHA-256."""
    found: dict[str, str] = {}
    for path in sorted(directory.rglob("*")):
        if path.is_file():
            name = path.relative_to(directory).as_posix()
            found[name] = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    return found


class VersionedStaticFiles(StaticFiles):
    """Starlette's ``StaticFiles`` that also answers ``/<digest>/<name>`` (see the module)."""

    def __init__(self, directory: Path) -> None:
        super().__init__(directory=directory)
        self.digests = digests(directory)

    def url(self, name: str) -> str:
        """The versioned URL of the static file ``name`` (a KeyError names a missing file)."""
        return f"/static/{self.digests[name]}/{name}"

    def get_path(self, scope: Scope) -> str:
        path = super().get_path(scope)
        head, sep, rest = path.partition(os.sep)
        if sep and _DIGEST.fullmatch(head) and rest.replace(os.sep, "/") in self.digests:
            scope["pb_static_current"] = self.digests[rest.replace(os.sep, "/")] == head
            return rest
        return path

    def file_response(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        current = scope.get("pb_static_current", False)
        response.headers["cache-control"] = IMMUTABLE if current else REVALIDATE
        return response
