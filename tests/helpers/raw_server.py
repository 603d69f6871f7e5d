"""A TCP server on 127.0.0.1 that answers every HTTP request with bytes of the test's choosing: a whole
answer, or an endless or slow stream (a generator of pieces, each sent after its delay). It reads each
request whole (headers and Content-Length body) before answering, and stops sending when the client
hangs up."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

Answer = Callable[[bytes], Iterable[tuple[float, bytes]]]
"""(the request's bytes) -> (delay in seconds, bytes to send) pieces; the connection closes after."""


class LoopbackServer:
    """A TCP server on 127.0.0.1 in a thread of its own, each connection in another: a subclass says
    how to serve one connection (`_serve`)."""

    def __init__(self, accept_timeout: float = 0.1) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(accept_timeout)
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}/v1"
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        self.stopping.set()
        self.listener.close()
        self.thread.join(timeout=5)


class RawServer(LoopbackServer):
    def __init__(self) -> None:
        self.answer: Answer = lambda request: [(0.0, b"HTTP/1.1 204 No Content\r\n\r\n")]
        self.requests: list[bytes] = []
        super().__init__()

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(10)
        with conn:
            try:
                request = read_request(conn)
                if request is None:
                    return
                self.requests.append(request)
                for delay, data in self.answer(request):
                    if self.stopping.wait(delay):
                        return
                    conn.sendall(data)
            except OSError:
                return  # the client hung up: a limit or a timeout


def read_request(conn: socket.socket) -> bytes | None:
    """One HTTP request, headers and Content-Length body, or None when the client hung up first."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        body += chunk
    return head + b"\r\n\r\n" + body


@contextmanager
def raw_server() -> Iterator[RawServer]:
    server = RawServer()
    try:
        yield server
    finally:
        server.stop()


def response(body: bytes, headers: dict[str, str] | None = None, status: str = "200 OK") -> bytes:
    """A whole HTTP/1.1 answer, its length from `body` unless `headers` give one."""
    fields = {"Content-Type": "application/json", "Content-Length": str(len(body)), **(headers or {})}
    head = "".join(f"{name}: {value}\r\n" for name, value in fields.items())
    return f"HTTP/1.1 {status}\r\n{head}Connection: close\r\n\r\n".encode() + body


def endless(head: bytes, piece: bytes, delay: float = 0.0) -> Iterator[tuple[float, bytes]]:
    """`head` then `piece` again and again, each after `delay` seconds, until the client hangs up."""
    yield 0.0, head
    while True:
        yield delay, piece
