"""The Jinja environment and the one ``render()`` that decides page or fragment.

A fragment (a named block of the page template) is rendered only for an htmx request that is
not boosted; every response says ``Vary: HX-Request`` so caches keep the two apart, and
``Vary: Accept-Language`` with its ``Content-Language``, as the page's language may follow the
browser's header.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import jinja2
from jinja2_fragments.starlette import Jinja2Blocks
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response

from pb import __version__, auditool, i18n, resources
from pb.web.security import context


def _translate(message: str, **variables: Any) -> str:
    return i18n.gettext(message, **variables)


def _ntranslate(singular: str, plural: str, n: int, **variables: Any) -> str:
    return i18n.ngettext(singular, plural, n, **variables)


def role_label(role: str) -> str:
    labels = {
        "resident": i18n.gettext("Resident"),
        "staff": i18n.gettext("Staff"),
        "auditor": i18n.gettext("Auditor"),
        "admin": i18n.gettext("Administrator"),
    }
    return labels.get(role, role)


def make_environment(templates_dir: Path | None = None) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates_dir or resources.templates_dir()),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    # newstyle gettext: autoescaped, with %(name)s variables passed as keyword arguments.
    env.install_gettext_callables(_translate, _ntranslate, newstyle=True)  # type: ignore[attr-defined]
    env.filters["money"] = i18n.format_money
    env.filters["number"] = i18n.format_number
    env.filters["percent"] = i18n.format_percent
    env.filters["day"] = i18n.format_day
    env.filters["moment"] = i18n.format_moment
    env.filters["isoday"] = dt.date.fromisoformat  # dates kept as ISO text in JSON
    env.globals["language_name"] = i18n.language_name
    env.globals["version"] = __version__
    env.globals["role_label"] = role_label
    env.globals["audit_tool"] = auditool.cached  # built when a page first shows its digest
    return env


class Renderer:
    def __init__(self, env: jinja2.Environment) -> None:
        self.templates = Jinja2Blocks(env=env)

    def render(
        self,
        request: Request,
        template: str,
        values: dict[str, Any] | None = None,
        *,
        status_code: int = 200,
        block: str | None = None,
        background: BackgroundTask | None = None,
    ) -> Response:
        """Render ``template`` as a page, or only ``block`` for a plain htmx request."""
        ctx = context(request)
        is_fragment = (
            block is not None
            and request.headers.get("hx-request") == "true"
            and request.headers.get("hx-boosted") != "true"
        )
        full = {
            "request": request,
            "user": ctx.user,
            "locale": ctx.locale,
            "locales": request.app.state.settings.locales,
            "csrf_token": request.app.state.cookies.csrf_token(ctx.csrf_seed),
            "flashes": [] if is_fragment else ctx.flashes,
            **(values or {}),
        }
        if not is_fragment and ctx.flashes:
            ctx.flashes_shown = True
        response = self.templates.TemplateResponse(
            request,
            template,
            full,
            status_code=status_code,
            block_name=block if is_fragment else None,
            background=background,
        )
        response.headers.append("vary", "HX-Request")
        # The language follows the browser's header when the visitor has not chosen one.
        response.headers.append("vary", "Accept-Language")
        response.headers["content-language"] = ctx.locale
        return response
