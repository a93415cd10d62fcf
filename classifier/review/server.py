"""The review page's local HTTP server (standard library ``http.server``).

It listens on 127.0.0.1 by default. Every API call carries the page's token in a header,
so other sites cannot write (no cookies, no CORS); any other host also requires the token
to open the page; writes also check the Origin. All assets are served from ``static/``
beside this module: nothing is loaded from the network. The server never logs request
texts.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import mimetypes
import secrets
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import parse_qs, urlsplit

from ..estimate import RANDOM_QUEUE
from .session import ReviewError, ReviewSession

__all__ = ["make_server"]

STATIC = Path(__file__).parent / "static"
MAX_BODY = 64 * 1024
TOKEN_HEADER = "X-Review-Token"
SOCKET_TIMEOUT = 30.0  # seconds a connection may stay silent


# ---------------------------------------------------------------------------------------------
# HTTP


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _Handler(BaseHTTPRequestHandler):
    server_version = "tukipyynto-review"
    sys_version = ""
    protocol_version = "HTTP/1.1"
    # a client that stops sending (a body that never arrives, an idle kept-alive connection) frees its thread
    _body_read = False

    def setup(self) -> None:
        self.timeout = self.server.request_timeout  # type: ignore[attr-defined]
        super().setup()

    # never log (the URLs of searches hold words of the catalogue, not of requests, but be quiet anyway)
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass

    # -- responses
    def _send(self, status: int, body: bytes, ctype: str, extra: Mapping[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("X-Frame-Options", "DENY")
        self.send_header("Content-Security-Policy",
                         "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                         "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, obj: Any) -> None:
        self._send(status, json.dumps(obj, ensure_ascii=False).encode("utf-8"), "application/json; charset=utf-8")

    def _error(self, status: int, msg: str) -> None:
        self._json(status, {"error": msg})

    # -- checks
    @property
    def app(self) -> "_ReviewServer":
        return self.server  # type: ignore[return-value]

    def _host_ok(self) -> bool:
        allowed = self.app.allowed_hosts
        return allowed is None or (self.headers.get("Host") or "").lower() in allowed

    def _token_ok(self, given: str | None) -> bool:
        return bool(given) and hmac.compare_digest(str(given).encode(), self.app.token.encode())

    def _origin_ok(self) -> bool:
        origin = self.headers.get("Origin")
        if origin is None:
            return True
        return origin.lower() == f"http://{(self.headers.get('Host') or '').lower()}"

    def _discard_body(self) -> None:
        """Read a refused request's body off the connection, or close it, so it is never parsed as the next request."""
        if self._body_read or self.command in ("GET", "HEAD"):
            return
        self._body_read = True
        try:
            length = int(self.headers.get("Content-Length", "0") or 0)
        except ValueError:
            length = -1
        if self.headers.get("Transfer-Encoding") or length < 0 or length > MAX_BODY:
            self.close_connection = True
            return
        try:
            self.rfile.read(length)
        except OSError:
            self.close_connection = True

    def _read_json(self) -> dict[str, Any] | None:
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if ctype != "application/json":
            self._error(415, "expected Content-Type: application/json")
            return None
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            self._error(411, "Content-Length needed")
            return None
        if length < 0 or length > MAX_BODY:
            self._error(413, f"body larger than {MAX_BODY} bytes")
            self.close_connection = True
            return None
        self._body_read = True
        raw = self.rfile.read(length)
        if len(raw) < length:
            self.close_connection = True
            self._error(400, "body shorter than its Content-Length")
            return None
        try:
            obj = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            self._error(400, "body is not JSON")
            return None
        except RecursionError:
            self._error(400, "body is nested too deeply")
            return None
        if not isinstance(obj, dict):
            self._error(400, "body must be a JSON object")
            return None
        return obj

    # -- dispatch
    def do_GET(self) -> None:  # noqa: N802
        self._guard(self._get)

    def do_HEAD(self) -> None:  # noqa: N802
        self._guard(self._get)

    def do_POST(self) -> None:  # noqa: N802
        self._guard(self._post)

    def _not_allowed(self) -> None:
        self._guard(lambda: self._send(405, b"method not allowed\n", "text/plain; charset=utf-8", {"Allow": "GET, POST"}))

    do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _not_allowed  # noqa: N815

    def _guard(self, fn) -> None:
        self._body_read = False
        try:
            if not self._host_ok():
                self._error(421, "unexpected Host header")
                return
            fn()
        except ReviewError as e:
            self._error(400, str(e))
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            self.close_connection = True
        except Exception as e:  # a bug must not take the server (and the reviewer's session) down
            try:
                self._error(500, f"internal error: {type(e).__name__}")
            except OSError:
                pass
        finally:
            self._discard_body()

    def _get(self) -> None:
        url = urlsplit(self.path)
        q = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        path = url.path
        if path in ("/", "/index.html"):
            if self.app.require_token and not self._token_ok(q.get("token")):
                self._error(403, "open the address printed at start (it carries the access token)")
                return
            html = (STATIC / "index.html").read_text(encoding="utf-8")
            html = html.replace("{{TOKEN}}", self.app.token).replace("{{LANG}}", self.app.session.lang)
            self._send(200, html.encode("utf-8"), "text/html; charset=utf-8")
            return
        if path.startswith("/static/"):
            name = path[len("/static/"):]
            if name not in self.app.assets:
                self._error(404, "no such asset")
                return
            ctype = mimetypes.guess_type(name)[0] or "application/octet-stream"
            if ctype.startswith("text/") or ctype.endswith("javascript"):
                ctype += "; charset=utf-8"
            self._send(200, self.app.assets[name], ctype)
            return
        if path == "/favicon.ico":
            self._send(204, b"", "image/x-icon")
            return
        if not path.startswith("/api/"):
            self._error(404, "not found")
            return
        if not self._token_ok(self.headers.get(TOKEN_HEADER)):
            self._error(403, f"missing or wrong {TOKEN_HEADER} header")
            return
        s = self.app.session
        if path == "/api/state":
            self._json(200, s.state())
        elif path == "/api/next":
            self._json(200, {"id": s.next_id(q.get("queue", RANDOM_QUEUE))})
        elif path == "/api/card":
            self._json(200, s.card(q.get("id", "")))
        elif path == "/api/preview":
            self._json(200, s.preview(q.get("id", ""), q.get("topic"), q.get("guideline_id") or None))
        elif path == "/api/guidelines":
            self._json(200, {"results": s.search(q.get("q", ""), q.get("id") or None)})
        else:
            self._error(404, "unknown API path")

    def _post(self) -> None:
        path = urlsplit(self.path).path
        if not path.startswith("/api/"):
            self._error(404, "not found")
            return
        if not self._token_ok(self.headers.get(TOKEN_HEADER)) or not self._origin_ok():
            self._error(403, "cross-site or unauthenticated write refused")
            return
        body = self._read_json()
        if body is None:
            return
        s = self.app.session
        rid = body.get("id")
        if not isinstance(rid, str):
            raise ReviewError("'id' must be a string")
        if path == "/api/decide":
            self._json(200, s.decide(rid, body.get("topic"), body.get("guideline_id"), body.get("queue")))
        elif path == "/api/skip":
            s.skip(rid)
            self._json(200, {"id": rid, "skipped": True})
        elif path == "/api/undo":
            self._json(200, s.undo(rid))
        else:
            self._error(404, "unknown API path")


class _ReviewServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr, session: ReviewSession, token: str, require_token: bool,
                 allowed_hosts: set[str] | None) -> None:
        self.session = session
        self.token = token
        self.require_token = require_token
        self.allowed_hosts = allowed_hosts
        self.assets = {p.name: p.read_bytes() for p in STATIC.iterdir() if p.is_file() and p.name != "index.html"}
        super().__init__(addr, _Handler)

    def handle_error(self, request, client_address) -> None:  # never print tracebacks with request data
        pass


def make_server(session: ReviewSession, host: str = "127.0.0.1", port: int = 0,
                token: str | None = None, timeout: float = SOCKET_TIMEOUT) -> _ReviewServer:
    """Bind the review server (not yet serving; call ``serve_forever``).

    Parameters
    ----------
    session : ReviewSession
    host : str
        127.0.0.1 by default. A host that is not a loopback address requires the access
        token (``server.token``) to open the page.
    port : int
        0 picks a free port (``server.server_address[1]``).
    token : str, optional
        The access and write token; a random one by default.
    timeout : float
        Seconds a connection may stay silent (a body that never arrives, an idle
        kept-alive connection) before the server closes it and frees its thread.

    Returns
    -------
    server
        With ``token``, ``require_token`` and ``url`` (the address to open, with the token
        when one is required).
    """
    token = token or secrets.token_urlsafe(24)
    loop = _is_loopback(host)
    srv = _ReviewServer((host, port), session, token, require_token=not loop, allowed_hosts=None)
    srv.request_timeout = timeout
    real_port = srv.server_address[1]
    if loop:
        names = {host, "localhost", "127.0.0.1", "[::1]"}
        srv.allowed_hosts = {f"{n}:{real_port}".lower() for n in names}
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
    srv.url = f"http://{shown}:{real_port}/" + ("" if loop else f"?token={token}")
    return srv
