"""Benchmark: requests per second of HTTP clients against the 50 ms loopback server, at 32 in flight.

The question (issue 19): may bench's self-hosted path use a maintained client instead of its hand-made
one (providers/http11.py)? The rule: a maintained one that reaches 90% of the ideal replaces it. Each
client sends the same completions request `--requests` times with `--concurrency` in flight
to perf/loopback_server.py (a fresh server per client, so every client starts cold), and the rate is
what the server saw between its first and last request, against the ideal concurrency ÷ latency (640
requests/s for 32 and 50 ms). Clients, in turn, in one run:

  aiohttp          a bare aiohttp session (json out, json in)
  httpx2           a bare httpx2 AsyncClient (the transport the openai SDK uses by default)
  sdk-httpx2       openai.AsyncOpenAI, its default transport
  sdk-aiohttp      openai.AsyncOpenAI(http_client=openai.DefaultAioHttpClient()) (openai[aiohttp])
  http11           providers/http11.py, what bench's openai adapter uses for a --base-url server
  bench-aiohttp    --aiohttp-client FILE: a wrapper of aiohttp with http11's interface, as bench tried
                   (git show 115af30:providers/http_client.py)

    python -m perf.http_clients [--requests 4000] [--concurrency 32] [--latency 0.05]

aiohttp and the SDK's aiohttp transport come with `pip install 'openai[aiohttp]'`; a client that is
missing is skipped with a line saying so.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from perf._lib import ROOT, script
from perf._lib.machine import cpu

BODY = {"model": "loopback", "prompt": "Q: What is 12 plus 30?\n\nA:", "max_tokens": 5, "temperature": 0}

Send = Callable[[], Awaitable[str]]
Client = Callable[[str], Awaitable[tuple[Send, Callable[[], Awaitable[None]]]]]


async def _aiohttp(base: str) -> tuple[Send, Callable[[], Awaitable[None]]]:
    import aiohttp

    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=256))

    async def send() -> str:
        async with session.post(f"{base}/completions", json=BODY) as answer:
            return str((await answer.json())["choices"][0]["text"])

    return send, session.close


async def _httpx2(base: str) -> tuple[Send, Callable[[], Awaitable[None]]]:
    import httpx2

    client = httpx2.AsyncClient(limits=httpx2.Limits(max_connections=256, max_keepalive_connections=256))

    async def send() -> str:
        answer = await client.post(f"{base}/completions", json=BODY)
        return str(answer.json()["choices"][0]["text"])

    return send, client.aclose


async def _sdk(base: str, http_client: Any = None) -> tuple[Send, Callable[[], Awaitable[None]]]:
    import openai

    client = openai.AsyncOpenAI(api_key="sk-none", base_url=base, max_retries=0, http_client=http_client)

    async def send() -> str:
        out = await client.completions.create(**BODY)
        return out.choices[0].text

    return send, client.close


async def _sdk_aiohttp(base: str) -> tuple[Send, Callable[[], Awaitable[None]]]:
    import aiohttp  # noqa: F401 - the SDK's aiohttp client needs it (an ImportError: this client is skipped)
    import openai

    return await _sdk(base, openai.DefaultAioHttpClient())


async def _http11(base: str) -> tuple[Send, Callable[[], Awaitable[None]]]:
    from providers.http11 import HTTP11Client

    client = HTTP11Client(base, {"Authorization": "Bearer sk-none"})

    async def send() -> str:
        answer = await client.post_json("completions", BODY)
        return str(answer.body["choices"][0]["text"])

    return send, client.aclose


def _from_file(path: Path) -> Client:
    spec = importlib.util.spec_from_file_location("tried_client", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["tried_client"] = module
    spec.loader.exec_module(module)

    async def make(base: str) -> tuple[Send, Callable[[], Awaitable[None]]]:
        client = module.JSONClient(base, {"Authorization": "Bearer sk-none"})

        async def send() -> str:
            answer = await client.post_json("completions", BODY)
            return str(answer.body["choices"][0]["text"])

        return send, client.aclose

    return make


async def _drive(client: Client, base: str, requests: int, concurrency: int) -> float:
    send, close = await client(base)
    left = requests

    async def worker() -> None:
        nonlocal left
        while left > 0:
            left -= 1
            assert await send() == " 42"

    start = time.perf_counter()
    try:
        await asyncio.gather(*(worker() for _ in range(concurrency)))
    finally:
        await close()
    return time.perf_counter() - start


def measure(client: Client, requests: int, concurrency: int, latency: float) -> dict[str, float]:
    server = subprocess.Popen(
        script("loopback_server", "--latency", str(latency)), cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        wall = asyncio.run(_drive(client, f"http://127.0.0.1:{port}/v1", requests, concurrency))
    finally:
        server.terminate()
    stats = json.loads(server.communicate(timeout=30)[0].strip().splitlines()[-1])
    return {"rate": stats["requests"] / stats["span_s"], "wall_s": wall, "peak": stats["peak_in_flight"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument(
        "--aiohttp-client", type=Path, default=None, help="a copy of the aiohttp wrapper tried"
    )
    args = parser.parse_args()
    ideal = args.concurrency / args.latency
    clients: dict[str, Client] = {
        "aiohttp": _aiohttp,
        "httpx2": _httpx2,
        "sdk-httpx2": _sdk,
        "sdk-aiohttp": _sdk_aiohttp,
        "http11": _http11,
    }
    if args.aiohttp_client is not None:
        clients["bench-aiohttp"] = _from_file(args.aiohttp_client)
    print(f"machine: {cpu()}; load average {os.getloadavg()}")
    print(
        f"{args.requests} requests, {args.concurrency} in flight, {args.latency * 1000:.0f} ms latency: "
        f"ideal {ideal:.0f}/s"
    )
    for name, client in clients.items():
        try:
            result = measure(client, args.requests, args.concurrency, args.latency)
        except ImportError as exc:
            print(f"{name:12s} skipped: {exc}")
            continue
        print(
            f"{name:12s} {result['rate']:6.1f} requests/s = {result['rate'] / ideal:6.1%} of ideal "
            f"(client wall {result['wall_s']:.2f} s, peak in flight {result['peak']:.0f})"
        )
    print(f"load average at the end {os.getloadavg()}")


if __name__ == "__main__":
    main()
