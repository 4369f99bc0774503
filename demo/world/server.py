"""The replay world's HTTP side: one ThreadingHTTPServer per outlet on 127.0.0.1, standard library only.

Besides the outlets it runs a GDELT-style query API and an "internal" server that no safe crawler may
reach (its hits are counted).
"""

from __future__ import annotations

import hashlib
import socket
import threading
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from .content import BROKEN_STATE, STATES, load_outlets
from .sites import Catalogue, Response

DEFAULT_BASE_PORT = 18100
GDELT = "gdelt"
INTERNAL = "internal"


@dataclass(frozen=True)
class RequestRecord:
    method: str
    path: str  # with query string
    headers: dict[str, str]  # lower-cased names
    status: int


def _not_modified(request_headers, response: Response, etag: str) -> bool:
    if request_headers.get("If-None-Match"):
        return etag in [tag.strip() for tag in request_headers["If-None-Match"].split(",")]
    since = request_headers.get("If-Modified-Since")
    if since and response.last_modified:
        try:
            return response.last_modified.replace(microsecond=0) <= parsedate_to_datetime(since)
        except (TypeError, ValueError):
            return False
    return False


class WorldHandler(BaseHTTPRequestHandler):
    """Serves one site of the world; ``site`` and ``world`` are set on a per-server subclass."""

    site: str
    world: ReplayWorld
    server_version = "ReplayWorld/1.0"

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._answer(send_body=True)

    def do_HEAD(self) -> None:  # noqa: N802
        self._answer(send_body=False)

    def log_message(self, format, *args) -> None:  # noqa: A002 - keep test output quiet
        pass

    def _answer(self, send_body: bool) -> None:
        response = self.world.respond(self.site, self.path)
        status = response.status
        etag = '"' + hashlib.sha1(response.body).hexdigest()[:20] + '"' if response.conditional else ""
        if response.conditional and _not_modified(self.headers, response, etag):
            status = 304
        self.world.record(
            self.site,
            RequestRecord(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, status),
        )
        self.send_response(status)
        self._send_headers(response, etag, status)
        if send_body and status != 304:
            self._write_body(response)

    def _send_headers(self, response: Response, etag: str, status: int) -> None:
        if status != 304:
            self.send_header("Content-Type", response.content_type)
            self.send_header(
                "Content-Length", str(response.length if response.stream else len(response.body))
            )
        if etag:
            self.send_header("ETag", etag)
        if response.last_modified:
            self.send_header("Last-Modified", format_datetime(response.last_modified, usegmt=True))
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()

    def _write_body(self, response: Response) -> None:
        try:
            for chunk in response.stream() if response.stream else [response.body]:
                self.wfile.write(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the crawler hung up (e.g. it hit its size limit on the huge page)


class ReplayWorld:
    """Fictional outlets on 127.0.0.1, each on its own port. Use as a context manager.

    ``outlets`` maps configured outlet names to base URLs; ``discovered_outlets`` the ones reachable
    only through the query API (``gdelt_url``); ``internal_url`` must never be fetched.
    """

    def __init__(self, base_port: int | None = None, scale: int = 0, seed: int = 20251124):
        self.base_port = base_port
        self.scale = scale
        self.seed = seed
        self.state = 1
        self._sites = [o.slug for o in load_outlets()] + [GDELT, INTERNAL]
        self._servers: list[tuple[ThreadingHTTPServer, threading.Thread]] = []
        self._log_lock = threading.Lock()
        self.request_log: dict[str, list[RequestRecord]] = {}
        self.catalogue: Catalogue | None = None
        self.thread_prefix = f"replay-world-{id(self):x}-"

    # Lifecycle ---------------------------------------------------------------------------------
    def start(self) -> ReplayWorld:
        sockets = [self._bind(i) for i in range(len(self._sites))]
        self.bases = {
            site: f"http://127.0.0.1:{sock.getsockname()[1]}"
            for site, sock in zip(self._sites, sockets, strict=True)
        }
        self.catalogue = Catalogue(self.bases, self.bases[INTERNAL], self.scale, self.seed)
        self.request_log = {self.name_of(site): [] for site in self._sites}
        for site, sock in zip(self._sites, sockets, strict=True):
            self._serve(site, sock)
        return self

    def _bind(self, offset: int) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0 if self.base_port is None else self.base_port + offset))
        return sock

    def _serve(self, site: str, sock: socket.socket) -> None:
        handler = type(f"Handler_{site}", (WorldHandler,), {"site": site, "world": self})
        server = ThreadingHTTPServer(sock.getsockname(), handler, bind_and_activate=False)
        server.socket.close()
        server.socket = sock
        server.daemon_threads = True
        server.server_activate()
        thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=f"{self.thread_prefix}{site}",
            daemon=True,
        )
        thread.start()
        self._servers.append((server, thread))

    def stop(self) -> None:
        # Every site's loop is asked to stop at once: one after the other, each waiting for its loop's
        # next poll, a loaded machine took seconds per site.
        stoppers = [threading.Thread(target=server.shutdown) for server, _ in self._servers]
        for stopper in stoppers:
            stopper.start()
        for stopper in stoppers:
            stopper.join()
        for server, thread in self._servers:
            server.server_close()
            thread.join(timeout=5)
        self._servers.clear()

    def __enter__(self) -> ReplayWorld:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # Views ---------------------------------------------------------------------------------------
    def name_of(self, site: str) -> str:
        outlet = next((o for o in load_outlets() if o.slug == site), None)
        return outlet.name if outlet else site

    @property
    def outlets(self) -> dict[str, str]:
        return {o.name: self.bases[o.slug] for o in load_outlets() if o.configured}

    @property
    def discovered_outlets(self) -> dict[str, str]:
        return {o.name: self.bases[o.slug] for o in load_outlets() if not o.configured}

    @property
    def gdelt_url(self) -> str:
        return self.bases[GDELT] + "/api/v2/doc/doc"

    @property
    def internal_url(self) -> str:
        return self.bases[INTERNAL]

    @property
    def internal_hits(self) -> int:
        return len(self.request_log[INTERNAL])

    def set_state(self, state: int) -> None:
        """1 and 2: the hand-written content's two states; 3: state 2 with four outlets broken
        (content/breaks.yaml), from the world's current time on. Back to 2 repairs them."""
        if state not in STATES:
            raise ValueError(f"the replay world has states {', '.join(map(str, STATES))}, not {state!r}")
        if state == BROKEN_STATE and self.state != BROKEN_STATE:
            self.catalogue.broken_since = self.catalogue.now(state)
        self.state = state

    def set_clock(self, now: datetime) -> None:
        """The world's time. The first call starts the publishing clock: from then on every configured
        outlet publishes a generated story every 20 minutes (demo/world/live.py), so cycles an hour
        apart each find new articles, and an outlet's silence means something."""
        self.catalogue.set_clock(now)

    def requests_to(self, name: str, path: str | None = None) -> list[RequestRecord]:
        with self._log_lock:
            records = list(self.request_log[name])
        return [r for r in records if path is None or urlsplit(r.path).path == path]

    def truth(self) -> dict:
        from .truth import build_truth

        return build_truth(self)

    # Serving -------------------------------------------------------------------------------------
    def record(self, site: str, record: RequestRecord) -> None:
        with self._log_lock:
            self.request_log[self.name_of(site)].append(record)

    def respond(self, site: str, raw_path: str) -> Response:
        parts = urlsplit(raw_path)
        if site == INTERNAL:
            return Response(
                200, "text/plain; charset=utf-8", b"internal admin export: you should not be here\n"
            )
        if site == GDELT:
            return self._gdelt(parts.path, parse_qs(parts.query))
        return self.catalogue.resolve(site, self.state, parts.path)

    def _gdelt(self, path: str, query: dict[str, list[str]]) -> Response:
        if path != "/api/v2/doc/doc" or not query.get("query"):
            return Response(
                400, "text/plain; charset=utf-8", b"Invalid query: specify query, mode and format\n"
            )
        if query.get("mode", [""])[0].lower() != "artlist" or query.get("format", [""])[0].lower() != "json":
            return Response(400, "text/plain; charset=utf-8", b"Only mode=ArtList&format=json is recorded\n")
        return Response(200, "application/json; charset=utf-8", self.catalogue.gdelt_artlist(self.state))
