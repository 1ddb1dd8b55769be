"""A small keep-alive HTTP client for provider APIs: one connection per thread and origin, reused.

Sending thousands of messages a second, a general-purpose client's per-request work (models, hooks, header
objects) costs more than the request itself; `http.client` on a kept-alive connection does the same
exchange for a fraction. Proxies from the environment (`HTTPS_PROXY`, `HTTP_PROXY`, `NO_PROXY`) are
honoured: a tunnel for https, the absolute URL for http.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import threading
import urllib.request
from dataclasses import dataclass
from functools import cache
from urllib.parse import urlsplit

from proactif.messaging._channels.base import UnknownOutcome


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes


@cache
def _tls() -> ssl.SSLContext:
    return ssl.create_default_context()


class HttpClient:
    def __init__(self, timeout: float, connect_timeout: float = 2.0):
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self._local = threading.local()
        self._lock = threading.Lock()
        self._open: set[http.client.HTTPConnection] = set()  # every thread's, for close()

    def _connection(self, scheme: str, host: str, port: int) -> tuple[http.client.HTTPConnection, bool, bool]:
        """The thread's connection to this origin (a new one if there is none), whether it is new, and whether
        requests name the absolute URL (plain http through a proxy)."""
        pool: dict[tuple[str, str, int], tuple[http.client.HTTPConnection, bool]] = self._local.__dict__.setdefault(
            "pool", {})
        existing = pool.get((scheme, host, port))
        if existing is not None:
            return existing[0], False, existing[1]
        proxy = None if urllib.request.proxy_bypass(host) else urllib.request.getproxies().get(scheme)
        target_host, target_port = host, port
        if proxy:
            parts = urlsplit(proxy if "//" in proxy else f"http://{proxy}")
            target_host, target_port = parts.hostname or host, parts.port or 80
        connection: http.client.HTTPConnection
        if scheme == "https":
            connection = http.client.HTTPSConnection(target_host, target_port, timeout=self.connect_timeout,
                                                     context=_tls())
            if proxy:
                connection.set_tunnel(host, port)
        else:
            connection = http.client.HTTPConnection(target_host, target_port, timeout=self.connect_timeout)
        connection.connect()
        if connection.sock is not None:
            connection.sock.settimeout(self.timeout)
            connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        absolute = bool(proxy) and scheme == "http"
        pool[(scheme, host, port)] = (connection, absolute)
        with self._lock:
            self._open.add(connection)
        return connection, True, absolute

    def _drop(self, key: tuple[str, str, int]) -> None:
        entry = self._local.__dict__.get("pool", {}).pop(key, None)
        if entry is not None:
            connection = entry[0]
            connection.close()
            with self._lock:
                self._open.discard(connection)

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> Response:
        """POST `body`. A failure before the request left (refused, unreachable, connect timeout, TLS) raises
        `ConnectionError`: the provider has nothing. A failure after it left (read timeout, reset, no answer)
        raises `UnknownOutcome`: the provider may have it. A kept-alive connection the server closed meanwhile
        is replaced once — the same request with the same idempotency key, to the same provider."""
        parts = urlsplit(url)
        scheme = parts.scheme or "http"
        host = parts.hostname or "localhost"
        port = parts.port or (443 if scheme == "https" else 80)
        path = parts.path or "/"
        if parts.query:
            path = f"{path}?{parts.query}"
        key = (scheme, host, port)
        doubt: Exception | None = None  # an earlier try left and got no answer: whatever follows, unknown
        for attempt in (1, 2):
            try:
                connection, fresh, absolute = self._connection(scheme, host, port)
            except OSError as exc:  # nothing was sent
                if doubt is not None:
                    raise UnknownOutcome(f"sans réponse ({type(doubt).__name__}), puis {type(exc).__name__}") from exc
                raise ConnectionError(f"connexion impossible : {type(exc).__name__}: {exc}") from exc
            target = url if absolute else path
            try:
                # one write (http.client joins headers and a bytes body): when it fails, the request did not
                # leave whole, and a provider acts on nothing incomplete
                connection.request("POST", target, body=body, headers={**headers, "Content-Length": str(len(body))})
            except OSError as exc:
                self._drop(key)
                if not fresh and attempt == 1:
                    continue
                if doubt is not None:
                    raise UnknownOutcome(f"sans réponse ({type(doubt).__name__}), puis {type(exc).__name__}") from exc
                raise ConnectionError(f"envoi impossible : {type(exc).__name__}: {exc}") from exc
            try:
                response = connection.getresponse()
                data = response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError) as exc:
                self._drop(key)
                if not fresh and attempt == 1:  # the server had closed this kept-alive connection
                    doubt = exc
                    continue
                raise UnknownOutcome(f"sans réponse : {type(exc).__name__}: {exc}") from exc
            except Exception as exc:  # read timeout, protocol error: the request had left
                self._drop(key)
                raise UnknownOutcome(f"sans réponse : {type(exc).__name__}: {exc}") from exc
            if response.will_close:
                self._drop(key)
            return Response(response.status, data)
        raise UnknownOutcome("sans réponse")  # pragma: no cover (the loop returns or raises)

    def close(self) -> None:
        """Close every thread's connections (a thread that sends again opens a new one)."""
        with self._lock:
            connections, self._open = self._open, set()
        for connection in connections:
            connection.close()
        self._local = threading.local()
