"""What keeps the server safe to leave running: the Host check, the access token, body limits, CSRF.

:class:`Guard` is plain ASGI middleware in front of every route:

- the Host header must name the server (localhost, 127.0.0.1, [::1] or the host it is bound
  to) - a page of another site cannot reach it through DNS rebinding (400 otherwise); bound to
  every address (0.0.0.0), any name passes and the token alone guards it;
- a server bound beyond localhost needs its token: ``?token=`` once (it becomes an HttpOnly
  cookie), the cookie, or ``Authorization: Bearer`` (401 otherwise);
- one log line per response: the method, the path with any plan id masked, the status and the
  time - never a query, a header or a body;
- a request body is read up to its route's limit - 1 MiB for forms and case files, the FHIR
  import's bundle limit for a bundle - and refused with 413 beyond it, before any parsing.

Form posts carry a CSRF token that must equal their cookie (:func:`csrf_ok`), and their
Origin, when the browser sends one, must be this server. Every response forbids framing and
any script, style or form target outside the server (Content-Security-Policy).
"""

from __future__ import annotations

import hmac
import json
import logging
import re
import secrets
import time
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ..files.reading import MAX_CASE_BYTES

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

log = logging.getLogger("medmassage.web")
_PLAN_ID = re.compile(r"^/plan/[^/]+")  # a plan's id is its key: never logged
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
WILDCARD_HOSTS = frozenset({"0.0.0.0", "::", "[::]"})
TOKEN_COOKIE = "medmassage_token"
CSRF_COOKIE = "medmassage_csrf"
CSRF_FIELD = "csrf"
FORM_LIMIT = MAX_CASE_BYTES                 # forms and case files (and the API's case)
SECURITY_HEADERS = (
    (b"content-security-policy", b"default-src 'none'; style-src 'self'; img-src 'self' data:; "
                                 b"script-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),  # no-referrer would make a form's Origin "null"
    (b"cache-control", b"no-store"),
)


def is_local(host: str) -> bool:
    return host in LOCAL_HOSTS


def host_name(header: str) -> str:
    """The host of a Host header, without its port: 'localhost:8000' -> 'localhost', '[::1]:80' -> '[::1]'."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[:header.find("]") + 1] if "]" in header else header
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


def new_token() -> str:
    return secrets.token_urlsafe(24)


def csrf_ok(cookie: str | None, field: Any) -> bool:
    """A form's CSRF field equals its cookie (both present, compared in constant time)."""
    if not cookie or not isinstance(field, str):
        return False
    return hmac.compare_digest(cookie.encode("utf-8", "replace"), field.encode("utf-8", "replace"))


class TooLarge(Exception):
    """The body is larger than its route's limit."""


class Guard:
    """Host header, token and body-size checks before the application sees a request."""

    def __init__(self, app: ASGIApp, *, hosts: Iterable[str], token: str | None,
                 limits: dict[str, int], default_limit: int = FORM_LIMIT, own_auth: tuple[str, ...] = ()):
        self.app = app
        hosts = frozenset(h.lower() for h in hosts)
        # bound to every address (0.0.0.0): any name of the machine may be asked for; the token guards it
        self.any_host = bool(hosts & WILDCARD_HOSTS) and token is not None
        self.hosts = hosts | LOCAL_HOSTS
        self.token = token
        self.limits = limits  # path, or path prefix ending in "/", -> the most bytes its body may hold
        self.own_auth = own_auth  # path prefixes that check their own credentials (CDS Hooks: the EHR's JWT)
        self.default_limit = default_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        if not self.any_host and host_name(headers.get("host", "")) not in self.hosts:
            await _plain(send, 400, "invalid Host header")
            return
        extra: list[tuple[bytes, bytes]] = []
        path = str(scope.get("path", ""))
        if self.token is not None and not path.startswith(self.own_auth or ("\0",)):
            how = self._authorised(scope, headers)
            if how is None:
                await _plain(send, 401, "this server needs its access token: open the address it printed")
                return
            if how == "query":  # the address with ?token= was opened: the browser keeps it as a cookie
                extra.append((b"set-cookie", f"{TOKEN_COOKIE}={self.token}; HttpOnly; SameSite=Strict; "
                                             f"Path=/".encode("latin-1")))
        limit = next((n for p, n in self.limits.items() if path == p or (p.endswith("/") and path.startswith(p))),
                     self.default_limit)
        declared = headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await _too_large(scope, send, limit)
            return
        if scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self._run(scope, receive, _with_headers(send, extra, scope))
            return
        body = bytearray()
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if len(body) > limit:
                await _too_large(scope, send, limit)
                return
            more = message.get("more_body", False)
        await self._run(scope, _replay(bytes(body), receive), _with_headers(send, extra, scope))

    async def _run(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The application; an error it did not expect is a plain 500 and one log line naming its type only
        (its message and traceback could quote the case)."""
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)
        try:
            await self.app(scope, receive, tracked)
        except Exception as exc:  # noqa: BLE001 - the one place every unexpected error ends
            log.error("internal error %s on %s %s", type(exc).__name__, scope["method"],
                      _PLAN_ID.sub("/plan/{id}", str(scope.get("path", ""))))
            if not started:
                await _plain(send, 500, "internal error; the case was not planned",
                             json_body=str(scope.get("path", "")).startswith("/api/"))

    def _authorised(self, scope: Scope, headers: dict[str, str]) -> str | None:
        """How the request shows the token ("header", "query" or "cookie"), or None."""
        assert self.token is not None
        offered = [("header", headers.get("authorization", "").removeprefix("Bearer ").strip())]
        offered += [("query", t) for t in parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token", [])]
        cookies = headers.get("cookie", "")
        offered += [("cookie", c.split("=", 1)[1]) for c in cookies.split("; ") if c.startswith(f"{TOKEN_COOKIE}=")]
        token = self.token.encode()
        return next((how for how, o in offered if o and hmac.compare_digest(o.encode("utf-8", "replace"), token)),
                    None)


def same_origin(origin: str | None, host: str | None) -> bool:
    """A browser's Origin header names this server (an absent Origin: a form from a page of the server)."""
    if not origin:
        return True
    parts = urlsplit(origin)
    return bool(host) and parts.netloc.lower() == (host or "").lower()


def _replay(body: bytes, receive: Receive) -> Receive:
    """The body read already, then the client's own messages (a response listens for its disconnect)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}
    return replay


def _with_headers(send: Send, extra: list[tuple[bytes, bytes]], scope: Scope) -> Send:
    """``send`` adding the security headers (and ``extra``), and one log line per response."""
    started = time.perf_counter()

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            log.info("%s %s %d %.0f ms", scope["method"], _PLAN_ID.sub("/plan/{id}", str(scope.get("path", ""))),
                     message["status"], (time.perf_counter() - started) * 1000)
            names = {k.lower() for k, _ in message.get("headers", [])}
            message["headers"] = [*message.get("headers", []), *(h for h in SECURITY_HEADERS if h[0] not in names),
                                  *extra]
        await send(message)
    return wrapped


async def _plain(send: Send, status: int, text: str, *, json_body: bool = False) -> None:
    body = json.dumps({"errors": [f"error: {text}"]}).encode() if json_body else (text + "\n").encode()
    kind = b"application/json" if json_body else b"text/plain; charset=utf-8"
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", kind), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close"), *SECURITY_HEADERS]})
    await send({"type": "http.response.body", "body": body})


async def _too_large(scope: Scope, send: Send, limit: int) -> None:
    size = f"{limit // (1024 * 1024)} MiB" if limit >= 1024 * 1024 else f"{limit // 1024} KiB"
    await _plain(send, 413, f"request body is larger than {size}; refused",
                 json_body=str(scope.get("path", "")).startswith("/api/"))
