"""A small stand-in for Anthropic's Messages API, for tests: scripted failures, recorded requests.

    with serve(["429", "ok", "slow"]) as server:
        ... AnthropicProvider with ProviderOptions(base_url=server.url) ...
        assert server.count == 4

The script says what each request gets, in order; once it runs out every request is answered
("ok"). It may also be a function of the request's number (from 0) and its JSON body. Actions:

- "ok": a Messages API response whose text is `providers.scripted.calculator`'s answer to the
  prompt followed by "\\n\\nExplanation: ..." (so a client must stop at "\\n" itself);
- "429" (with `retry-after: 0`), "500", "529" (overloaded_error, `retry-after: 0`), "401", "404";
- "slow": an answer after `SLOW_S` seconds, longer than the tests' client timeout;
- "bad-usage", "bad-content", "bad-text": a 200 answer with a string token count, content that is a
  string, or a text block whose text is a number (a misbehaving server).

Like the real API, a request whose stop_sequences hold a whitespace-only entry gets a 400, and one
without a key (`x-api-key`, or `authorization: Bearer` as SDK 2.x sends it) gets a 401. Binds 127.0.0.1 only.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from providers.scripted import calculator

SLOW_S = 2.0
EXPLANATION = "\n\nExplanation: worked out step by step."

Script = Sequence[str] | Callable[[int, dict[str, Any]], str]


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def api_key(self) -> str | None:
        """The key the client sent: `x-api-key`, or `authorization: Bearer` (the SDK 2.x way)."""
        if self.headers.get("x-api-key"):
            return self.headers["x-api-key"]
        scheme, _, token = self.headers.get("authorization", "").partition(" ")
        return token if scheme.lower() == "bearer" and token else None


@dataclass
class FakeAnthropic:
    script: Script
    url: str = ""
    requests: list[Recorded] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stopping: threading.Event = field(default_factory=threading.Event)

    @property
    def count(self) -> int:
        with self.lock:
            return len(self.requests)

    def record(self, path: str, headers: dict[str, str], body: dict[str, Any]) -> int:
        with self.lock:
            self.requests.append(Recorded(path, headers, body))
            return len(self.requests) - 1

    def action(self, number: int, body: dict[str, Any]) -> str:
        if callable(self.script):
            return self.script(number, body)
        return self.script[number] if number < len(self.script) else "ok"


def _error_body(kind: str, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": kind, "message": message}}


def answer(body: dict[str, Any]) -> dict[str, Any]:
    """The Messages API response to `body`: the calculator's answer, then an explanation."""
    messages = body.get("messages") or [{}]
    content = messages[-1].get("content", "")
    if isinstance(content, list):
        content = "".join(part.get("text", "") for part in content if isinstance(part, dict))
    text = calculator(str(content)) + EXPLANATION
    stop_reason, stop_sequence = "end_turn", None
    for stop in body.get("stop_sequences") or []:
        if stop in text:
            text, stop_reason, stop_sequence = text[: text.index(stop)], "stop_sequence", stop
    return {
        "id": "msg_fake_01",
        "type": "message",
        "role": "assistant",
        "model": body.get("model", "claude-test"),
        "content": [{"type": "text", "text": text}],
        "stop_reason": stop_reason,
        "stop_sequence": stop_sequence,
        "usage": {"input_tokens": max(1, len(str(content)) // 4), "output_tokens": max(1, len(text) // 4)},
    }


MALFORMED: dict[str, dict[str, Any]] = {
    "bad-usage": {"usage": {"input_tokens": "lots", "output_tokens": 1}},
    "bad-content": {"content": "not a list of blocks"},
    "bad-text": {"content": [{"type": "text", "text": 123}]},
}


def _handler(server: FakeAnthropic) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
            pass

        def send_json(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
            data = json.dumps(body).encode()
            try:
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.send_header("request-id", "req_fake")
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)
            except OSError:  # the client gave up (timeout) and closed the connection
                self.close_connection = True

        def do_POST(self) -> None:  # noqa: N802 - the http.server name
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length) if length else b"{}"
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                body = {}
            headers = {name.lower(): value for name, value in self.headers.items()}
            number = server.record(self.path, headers, body)
            if self.path.split("?")[0] != "/v1/messages":
                self.send_json(404, _error_body("not_found_error", f"no route {self.path}"))
                return
            if not server.requests[number].api_key:
                message = "an x-api-key or authorization header is required"
                self.send_json(401, _error_body("authentication_error", message))
                return
            if any(not str(stop).strip() for stop in body.get("stop_sequences") or []):
                message = "stop_sequences: each stop sequence must contain non-whitespace"
                self.send_json(400, _error_body("invalid_request_error", message))
                return
            action = server.action(number, body)
            if action == "ok":
                self.send_json(200, answer(body))
            elif action == "slow":
                if not server.stopping.wait(SLOW_S):
                    self.send_json(200, answer(body))
            elif action in MALFORMED:
                self.send_json(200, answer(body) | MALFORMED[action])
            elif action == "429":
                self.send_json(
                    429,
                    _error_body("rate_limit_error", "Number of requests has exceeded your rate limit"),
                    {"retry-after": "0"},
                )
            elif action == "500":
                self.send_json(500, _error_body("api_error", "Internal server error"))
            elif action == "529":
                self.send_json(529, _error_body("overloaded_error", "Overloaded"), {"retry-after": "0"})
            elif action == "401":
                self.send_json(401, _error_body("authentication_error", "invalid x-api-key"))
            elif action == "404":
                self.send_json(404, _error_body("not_found_error", f"model: {body.get('model')}"))
            else:
                raise ValueError(f"unknown scripted action {action!r}")

    return Handler


@contextmanager
def serve(script: Script = ()) -> Iterator[FakeAnthropic]:
    """Run the fake API on 127.0.0.1 (a free port) in a daemon thread; `.url` is its base URL."""
    fake = FakeAnthropic(script)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    httpd.daemon_threads = True
    httpd.block_on_close = False
    fake.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        fake.stopping.set()
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)
