"""A fake OpenAI-compatible (and TGI /generate) server on 127.0.0.1 that answers by the calculator rule,
records every request, and injects faults: rate limits, server errors, hangs past the client's timeout,
and connections dropped without an answer."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from providers.scripted import calculator

Fault = Callable[[int, dict[str, Any]], str | None]
"""(request number from 1, request body) -> None to answer, or "429", "500", "hang" or "drop"."""
Raw = Callable[[int, dict[str, Any]], tuple[int, bytes] | None]
"""(request number from 1, request body) -> None to answer, or (status, body bytes) to send instead."""


@dataclass
class FakeState:
    mode: str = "ok"  # ok | auth | missing
    fail_every: int = 0  # every Nth request answers 429 (Retry-After: 0.05)
    fail_500_at: tuple[int, ...] = ()  # these request numbers answer 500
    fault: Fault | None = None
    raw: Raw | None = None
    hang_s: float = 2.0  # how long a "hang" fault waits before it answers
    requests: list[dict[str, Any]] = field(default_factory=list)
    injected: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def _handler(state: FakeState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # quiet
            pass

        def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            try:
                self.send_response(status)
            except (BrokenPipeError, ConnectionResetError):
                return
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            try:
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a "hang" fault past its timeout)

        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            with state.lock:
                state.requests.append(
                    {"path": self.path, "body": body, "authorization": self.headers.get("Authorization")}
                )
                number = len(state.requests)
                fail = None
                if state.mode == "auth":
                    fail = (
                        401,
                        {"error": {"message": "Incorrect API key provided", "code": "invalid_api_key"}},
                    )
                elif state.mode == "missing":
                    fail = (
                        404,
                        {"error": {"message": "The model does not exist", "code": "model_not_found"}},
                    )
                elif state.fail_every and number % state.fail_every == 0:
                    fail = (429, {"error": {"message": "Rate limit reached", "code": "rate_limit"}})
                    state.injected += 1
                elif number in state.fail_500_at:
                    fail = (500, {"error": {"message": "boom\nsecond line"}})
                    state.injected += 1
                action = state.fault(number, body) if state.fault is not None else None
                if action is not None:
                    state.injected += 1
            if action == "drop":  # no status line at all: the client sees the connection close
                self.close_connection = True
                return
            if action == "hang":
                time.sleep(state.hang_s)
            elif action == "429":
                fail = (429, {"error": {"message": "Rate limit reached", "code": "rate_limit"}})
            elif action == "500":
                fail = (500, {"error": {"message": "injected server error"}})
            if fail is not None:
                headers = {"Retry-After": "0.05"} if fail[0] == 429 else {}
                self._send(fail[0], fail[1], headers)
                return
            raw = state.raw(number, body) if state.raw is not None else None
            if raw is not None:
                self._send(*raw)
                return
            path = self.path.split("?")[0]
            if path.endswith("/chat/completions"):
                prompt = body["messages"][-1]["content"]
                answer = calculator(prompt)
                self._send(
                    200,
                    {
                        "id": "c",
                        "object": "chat.completion",
                        "created": 0,
                        "model": body.get("model", "fake"),
                        "choices": [
                            {
                                "index": 0,
                                "message": {"role": "assistant", "content": answer},
                                "finish_reason": "stop",
                            }
                        ],
                        "usage": {"prompt_tokens": 11, "completion_tokens": 2, "total_tokens": 13},
                    },
                )
            elif path.endswith("/completions"):
                answer = calculator(body["prompt"])
                self._send(
                    200,
                    {
                        "id": "c",
                        "object": "text_completion",
                        "created": 0,
                        "model": body.get("model", "fake"),
                        "choices": [{"index": 0, "text": answer + "\n\nQ:", "finish_reason": "stop"}],
                        "usage": {"prompt_tokens": 10, "completion_tokens": 3, "total_tokens": 13},
                    },
                )
            else:  # TGI's native generate API at the server root
                answer = calculator(body["inputs"])
                prefill = []
                if (body.get("parameters") or {}).get("decoder_input_details"):
                    # One token per character after a BOS: a character's log-prob is -0.1 for a digit,
                    # else -1 (so a class's score counts its characters).
                    prefill = [{"id": 1, "text": "<s>", "logprob": None}]
                    for ch in body["inputs"]:
                        prefill.append({"id": ord(ch), "text": ch, "logprob": -0.1 if ch.isdigit() else -1.0})
                details = {
                    "finish_reason": "stop_sequence",
                    "generated_tokens": 3,
                    "seed": None,
                    "prefill": prefill,
                }
                self._send(200, [{"generated_text": answer + "\n", "details": details}])

    return Handler


@dataclass
class Fake:
    url: str
    state: FakeState


@contextmanager
def serve() -> Iterator[Fake]:
    state = FakeState()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield Fake(f"http://127.0.0.1:{server.server_address[1]}/v1", state)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
