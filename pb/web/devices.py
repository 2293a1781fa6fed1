"""Devices that have proved an account: a signed cookie listing the accounts (by tag) this
browser has logged in to, or unlocked or reset by mail. Such a device is never locked out by
failures elsewhere (see :mod:`pb.services.throttle`)."""

from __future__ import annotations

import secrets

from itsdangerous import BadSignature, URLSafeSerializer
from starlette.requests import Request
from starlette.responses import Response

from pb.web.security import context, make_cookie
from pb.web.state import state

DEVICE_COOKIE = "pb_device"
DEVICE_MAX_AGE = 400 * 24 * 3600
DEVICE_ACCOUNTS = 10


def _device_signer(request: Request) -> URLSafeSerializer:
    return URLSafeSerializer(state(request).settings.secret_key, salt="pb.device")


def read_device(request: Request) -> tuple[str, list[str]]:
    """This browser's device id and the accounts (tags) it has logged in to or unlocked."""
    name = ("__Host-" if context(request).https else "") + DEVICE_COOKIE
    raw = request.cookies.get(name, "")
    try:
        value = _device_signer(request).loads(raw) if raw else None
    except BadSignature:
        value = None
    if isinstance(value, dict) and isinstance(value.get("d"), str):
        tags = [t for t in value.get("a", []) if isinstance(t, str)]
        return value["d"], tags[:DEVICE_ACCOUNTS]
    return secrets.token_urlsafe(16), []


def trust_device(request: Request, response: Response, tag: str) -> None:
    """Remember on this browser that its owner proved ``tag``'s account (password or link)."""
    device, tags = read_device(request)
    tags = [tag, *(t for t in tags if t != tag)][:DEVICE_ACCOUNTS]
    value = _device_signer(request).dumps({"d": device, "a": tags})
    https = context(request).https
    response.headers.append("set-cookie", make_cookie(DEVICE_COOKIE, value, https, DEVICE_MAX_AGE))
