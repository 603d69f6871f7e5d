"""A loopback OpenAI-compatible completions server with a fixed latency, for throughput measurements.

asyncio streams with keep-alive, answering every POST to /v1/completions after `--latency` seconds with
the calculator rule's answer (providers/scripted.py) — so the server is never the bottleneck: with 50 ms
latency and 32 requests in flight, the ideal is 640 requests/s. It prints its port on the first line
and, on SIGTERM, one JSON line with the request count and the times of the first and last request.

    python -m perf.loopback_server --latency 0.05
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import time

from providers.scripted import calculator


class Stats:
    def __init__(self) -> None:
        self.requests = 0
        self.first: float | None = None
        self.last: float | None = None
        self.in_flight = 0
        self.peak_in_flight = 0


def _response(body: dict[str, object]) -> bytes:
    prompt = body.get("prompt")
    text = calculator(prompt if isinstance(prompt, str) else "")
    payload = {
        "id": "loopback",
        "object": "text_completion",
        "created": 0,
        "model": body.get("model", "loopback"),
        "choices": [{"index": 0, "text": text, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 2, "total_tokens": 12},
    }
    data = json.dumps(payload).encode()
    head = (
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(data)}\r\nConnection: keep-alive\r\n\r\n"
    )
    return head.encode() + data


async def _serve_connection(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, latency: float, stats: Stats
) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value.strip())
            raw = await reader.readexactly(length) if length else b"{}"
            now = time.perf_counter()
            stats.requests += 1
            stats.first = stats.first if stats.first is not None else now
            stats.in_flight += 1
            stats.peak_in_flight = max(stats.peak_in_flight, stats.in_flight)
            await asyncio.sleep(latency)
            stats.in_flight -= 1
            stats.last = time.perf_counter()
            writer.write(_response(json.loads(raw)))
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description="loopback OpenAI-compatible server")
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--port", type=int, default=0)
    options = parser.parse_args()
    stats = Stats()
    server = await asyncio.start_server(
        lambda r, w: _serve_connection(r, w, options.latency, stats), "127.0.0.1", options.port, backlog=512
    )
    print(server.sockets[0].getsockname()[1], flush=True)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    async with server:
        await stop.wait()
    span = (stats.last - stats.first) if stats.first is not None and stats.last is not None else 0.0
    report = {"requests": stats.requests, "span_s": span, "peak_in_flight": stats.peak_in_flight}
    print(json.dumps(report), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
