"""The openai and hf adapters against a fake OpenAI-compatible server: retries, fail-fast on a bad key, no
key on disk, error mapping. Against llama.cpp's real server: tests/e2e/test_openai_llama_server.py."""

from __future__ import annotations

import asyncio
import socket
import time
from pathlib import Path
from typing import Any

import pytest

from benchmark.errors import UsageError
from benchmark.schemas import Manifest, Sample
from providers.base import ErrorKind, GenerateRequest, ProviderError, ProviderOptions, ScoreRequest
from providers.http_api import GREEDY_NOTE
from tests.helpers.fake_openai import Fake

openai = pytest.importorskip("openai", reason="needs the openai package")
httpx2 = pytest.importorskip("httpx2", reason="the openai SDK's HTTP client")

SECRET = "sk-test-SECRET-123"


def _samples(out: Path) -> list[Sample]:
    return [Sample.model_validate_json(x) for x in (out / "samples.jsonl").read_text().splitlines()]


def _error_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("bench: error:")]


# -- fast: the CLI against the fake server -----------------------------------------------------------
def test_rate_limits_and_a_500_are_retried_by_the_runner(cli, fake: Fake, tmp_path: Path) -> None:
    fake.state.fail_every = 3
    fake.state.fail_500_at = (5,)
    out = tmp_path / "run"
    env = {"OPENAI_API_KEY": ""}
    args = ["--provider", "openai", "--base-url", fake.url, "--model", "fake"]
    result = cli("run", *args, "--task", "arithmetic", "--limit", "10", "--out", str(out), env=env)
    assert result.code == 0, result.err
    samples = _samples(out)
    assert len(samples) == len(fake.state.requests) - fake.state.injected
    assert samples and all(s.error is None for s in samples)
    assert all(s.correct for s in samples)  # the fake answers by rule, and the stop "\n" is applied
    assert fake.state.injected >= 4
    assert f"retries: {fake.state.injected}" in result.err
    # auto with --base-url is the completions API, and the placeholder key is sent
    assert all(r["path"] == "/v1/completions" for r in fake.state.requests)
    assert fake.state.requests[0]["authorization"] == "Bearer sk-no-key-needed"
    body = fake.state.requests[0]["body"]
    assert body["temperature"] == 0 and body["stop"] == ["\n"] and body["model"] == "fake"
    [model] = Manifest.model_validate_json((out / "manifest.json").read_text()).models
    assert model.provider == "openai"
    assert model.details == {"api": "completions", "base_url": fake.url, "decoding": GREEDY_NOTE}


def test_bad_key_fails_fast_with_one_line(cli, fake: Fake, tmp_path: Path) -> None:
    fake.state.mode = "auth"
    env = {"OPENAI_API_KEY": SECRET}
    args = ["--provider", "openai", "--base-url", fake.url, "--model", "fake", "--task", "arithmetic"]
    result = cli("run", *args, "--limit", "5", "--out", str(tmp_path / "run"), env=env)
    assert result.code == 2, result.err
    assert "Traceback" not in result.err
    [line] = _error_lines(result.err)
    assert "OPENAI_API_KEY" in line and "401" in line
    assert SECRET not in result.err + result.out
    assert len(fake.state.requests) == 1


def test_unknown_model_is_fatal_and_names_model_and_url(cli, fake: Fake, tmp_path: Path) -> None:
    fake.state.mode = "missing"
    args = ["--provider", "openai", "--base-url", fake.url, "--model", "nonesuch", "--task", "arithmetic"]
    result = cli("run", *args, "--limit", "3", "--out", str(tmp_path / "run"))
    assert result.code == 2, result.err
    [line] = _error_lines(result.err)
    assert "model nonesuch not found at " + fake.url in line
    assert len(fake.state.requests) == 1


def test_the_key_is_never_written(cli, fake: Fake, tmp_path: Path) -> None:
    out = tmp_path / "run"
    args = ["--provider", "openai", "--base-url", fake.url, "--model", "fake", "--api", "chat"]
    result = cli(
        "run",
        *args,
        "--task",
        "arithmetic",
        "--limit",
        "3",
        "--out",
        str(out),
        env={"OPENAI_API_KEY": SECRET, "BENCH_CACHE_DIR": str(tmp_path / "cache")},
    )
    assert result.code == 0, result.err
    assert fake.state.requests[0]["authorization"] == f"Bearer {SECRET}"  # it was used ...
    assert all(r["path"] == "/v1/chat/completions" for r in fake.state.requests)
    files = [p for p in tmp_path.rglob("*") if p.is_file()]  # run directory, reports, response cache
    assert {p.name for p in files} >= {"samples.jsonl", "manifest.json", "report.html", "responses.sqlite"}
    for path in files:  # ... and never saved
        assert SECRET.encode() not in path.read_bytes(), path
    assert SECRET not in result.out + result.err


def test_hf_provider_through_the_cli(bench, fake: Fake, tmp_path: Path) -> None:
    out = tmp_path / "run"
    args = ["--provider", "hf-inference", "--base-url", fake.url, "--model", "fake", "--task", "arithmetic"]
    result = bench("run", *args, "--limit", "3", "--out", str(out), env={"HF_TOKEN": "hf_SECRET_456"})
    assert result.code == 0, result.err
    assert all(r["path"] == "/v1/chat/completions" for r in fake.state.requests)
    assert fake.state.requests[0]["authorization"] == "Bearer hf_SECRET_456"
    assert all(s.correct and s.prompt_tokens == 11 for s in _samples(out))
    for path in out.rglob("*"):
        assert not path.is_file() or b"hf_SECRET_456" not in path.read_bytes()


# -- fast: the adapters directly ----------------------------------------------------------------------
def _request(prompt: str = "Q: What is 2 plus 3?\n\nA:") -> GenerateRequest:
    return GenerateRequest(prompt, 7, ("\n",))


def test_openai_adapter_on_the_fake_server(fake: Fake, monkeypatch: pytest.MonkeyPatch) -> None:
    from providers.openai import OpenAIProvider

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    for api, path in (("completions", "/v1/completions"), ("chat", "/v1/chat/completions")):
        provider = OpenAIProvider.from_spec("fake", ProviderOptions(base_url=fake.url, api=api))
        generation = asyncio.run(provider.generate(_request()))
        provider.close()
        assert generation.text == " 5"
        assert fake.state.requests[-1]["path"] == path
        assert not provider.supports_logprobs and not provider.info.supports_logprobs


def test_openai_429_carries_retry_after(fake: Fake, monkeypatch: pytest.MonkeyPatch) -> None:
    from providers.openai import OpenAIProvider

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    fake.state.fail_every = 1
    provider = OpenAIProvider.from_spec("fake", ProviderOptions(base_url=fake.url))
    with pytest.raises(ProviderError) as caught:
        asyncio.run(provider.generate(_request()))
    assert caught.value.kind is ErrorKind.RATE_LIMIT and caught.value.retry_after == pytest.approx(0.05)
    assert len(fake.state.requests) == 1  # the SDK itself does not retry


def test_hf_adapter_chat_and_tgi_generate(fake: Fake, monkeypatch: pytest.MonkeyPatch) -> None:
    from providers.hf_inference import HFInferenceProvider as HFProvider

    monkeypatch.delenv("HF_TOKEN", raising=False)
    chat = HFProvider.from_spec("fake", ProviderOptions(base_url=fake.url))
    generation = asyncio.run(chat.generate(_request()))
    chat.close()
    assert (generation.text, generation.prompt_tokens, generation.completion_tokens) == (" 5", 11, 2)
    assert fake.state.requests[-1]["body"]["model"] == "fake"
    assert fake.state.requests[-1]["authorization"] == "Bearer hf_no_token_needed"
    # TGI's /generate at the server root (the fake speaks it too): the stop sequence is cut here.
    root = fake.url.removesuffix("/v1")
    tgi = HFProvider.from_spec("fake", ProviderOptions(base_url=root, api="completions"))
    generation = asyncio.run(tgi.generate(_request()))
    tgi.close()
    assert (generation.text, generation.completion_tokens) == (" 5", 3)
    body = fake.state.requests[-1]["body"]
    assert fake.state.requests[-1]["path"] == "/"
    assert body["parameters"]["max_new_tokens"] == 7 and body["parameters"]["stop"] == ["\n"]

    # The chat endpoint gives no prompt log-probs; TGI's /generate does (decoder_input_details).
    assert not chat.supports_logprobs and tgi.supports_logprobs and tgi.info.details["logprobs"]
    tgi = HFProvider.from_spec("fake", ProviderOptions(base_url=root, api="completions"))
    scores = asyncio.run(tgi.score(ScoreRequest("Q: What is 2 plus 3?\n\nA:", (" 5", " five"))))
    tgi.close()
    # The fake's prefill: a BOS, then a token per character (-0.1 a digit, else -1).
    assert scores.logprobs == pytest.approx((-1.1, -5.0)) and scores.continuation_tokens == 7
    assert fake.state.requests[-1]["body"]["parameters"]["decoder_input_details"] is True

    fake.state.fail_every = 1
    with pytest.raises(ProviderError) as caught:
        asyncio.run(HFProvider.from_spec("fake", ProviderOptions(base_url=fake.url)).generate(_request()))
    assert caught.value.kind is ErrorKind.RATE_LIMIT and caught.value.retry_after == pytest.approx(0.05)


def test_connection_refused_is_transient() -> None:
    from providers.hf_inference import HFInferenceProvider as HFProvider
    from providers.openai import OpenAIProvider

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/v1"
    for cls in (OpenAIProvider, HFProvider):
        provider = cls.from_spec("m", ProviderOptions(base_url=url, timeout=5))
        with pytest.raises(ProviderError) as caught:
            asyncio.run(provider.generate(_request()))
        assert caught.value.kind is ErrorKind.TRANSIENT, (cls, caught.value)


def _response(status: int, headers: dict[str, str] | None = None, body: Any = None) -> Any:
    request = httpx2.Request("POST", "http://127.0.0.1:1/v1/completions")
    return httpx2.Response(status, headers=headers or {}, json=body or {}, request=request)


@pytest.mark.parametrize(
    ("exc_class", "status", "kind", "needle"),
    [
        ("RateLimitError", 429, ErrorKind.RATE_LIMIT, "429"),
        ("AuthenticationError", 401, ErrorKind.FATAL, "check OPENAI_API_KEY"),
        ("PermissionDeniedError", 403, ErrorKind.FATAL, "check OPENAI_API_KEY"),
        ("NotFoundError", 404, ErrorKind.FATAL, "model m not found at http://x/v1"),
        ("InternalServerError", 503, ErrorKind.TRANSIENT, "HTTP 503"),
        ("APIStatusError", 408, ErrorKind.TRANSIENT, "HTTP 408"),
        ("ConflictError", 409, ErrorKind.TRANSIENT, "HTTP 409"),
        ("BadRequestError", 400, ErrorKind.FATAL, "HTTP 400: context too long"),
        ("UnprocessableEntityError", 422, ErrorKind.FATAL, "HTTP 422"),
    ],
)
def test_openai_error_mapping(exc_class: str, status: int, kind: ErrorKind, needle: str) -> None:
    from providers.openai import map_error

    body = {"message": f"context too long {SECRET}\nmore", "code": "x"}
    exc = getattr(openai, exc_class)("msg", response=_response(status, {"retry-after": "2"}), body=body)
    error = map_error(exc, "m", "http://x/v1", (SECRET,))
    assert error.kind is kind and needle in error.message, error.message
    assert SECRET not in error.message and "\n" not in error.message
    assert error.retry_after == (2.0 if status == 429 else None)


def test_openai_connection_errors_are_transient() -> None:
    from providers.openai import map_error

    request = httpx2.Request("POST", "http://x/v1/completions")
    for exc in (openai.APITimeoutError(request=request), openai.APIConnectionError(request=request)):
        assert map_error(exc, "m", "http://x/v1").kind is ErrorKind.TRANSIENT


def test_retry_after_headers() -> None:
    from email.utils import formatdate

    from providers.http_api import parse_retry_after

    now = time.time()
    assert parse_retry_after({"Retry-After": "3"}) == 3.0
    assert parse_retry_after({"retry-after": "0.05"}) == pytest.approx(0.05)
    assert parse_retry_after({"retry-after-ms": "250", "retry-after": "9"}) == pytest.approx(0.25)
    assert parse_retry_after({"retry-after": formatdate(now + 30, usegmt=True)}, now=now) == pytest.approx(
        30, abs=1
    )
    assert parse_retry_after({"retry-after": formatdate(now - 30, usegmt=True)}, now=now) == 0.0
    assert parse_retry_after({"retry-after": "soon"}) is None
    assert parse_retry_after({}) is None


@pytest.mark.parametrize(
    ("status", "kind", "needle"),
    [
        (429, ErrorKind.RATE_LIMIT, "429"),
        (401, ErrorKind.FATAL, "check HF_TOKEN"),
        (403, ErrorKind.FATAL, "check HF_TOKEN"),
        (404, ErrorKind.FATAL, "model m not found"),
        (500, ErrorKind.TRANSIENT, "HTTP 500"),
        (503, ErrorKind.TRANSIENT, "HTTP 503"),
        (400, ErrorKind.FATAL, "HTTP 400"),
    ],
)
def test_hf_error_mapping(status: int, kind: ErrorKind, needle: str) -> None:
    from huggingface_hub.errors import HfHubHTTPError

    from providers.hf_inference import map_error

    exc = HfHubHTTPError("failed", response=_response(status, {"Retry-After": "1.5"}, {"error": "bad"}))
    error = map_error(exc, "m", "http://x")
    assert error.kind is kind and needle in error.message, error.message
    assert error.retry_after == (1.5 if status == 429 else None)


def test_hf_timeouts_and_connection_errors_are_transient() -> None:
    from huggingface_hub.errors import InferenceTimeoutError

    from providers.hf_inference import map_error

    request = httpx2.Request("POST", "http://x")
    for exc in (InferenceTimeoutError("slow"), httpx2.ConnectError("refused", request=request)):
        assert map_error(exc, "m", "http://x").kind is ErrorKind.TRANSIENT


def test_api_choice() -> None:
    from providers.openai import choose_api

    assert choose_api("gpt-4o-mini", ProviderOptions()) == "chat"
    assert choose_api("gpt-3.5-turbo-instruct", ProviderOptions()) == "completions"
    assert choose_api("davinci-002", ProviderOptions()) == "completions"
    assert choose_api("anything", ProviderOptions(base_url="http://x/v1")) == "completions"
    assert choose_api("davinci-002", ProviderOptions(api="chat")) == "chat"


def test_missing_key_and_model(monkeypatch: pytest.MonkeyPatch) -> None:
    from providers.hf_inference import HFInferenceProvider as HFProvider
    from providers.openai import OpenAIProvider

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("HF_TOKEN", raising=False)
    with pytest.raises(UsageError, match="OPENAI_API_KEY"):
        OpenAIProvider.check_spec("gpt-4o-mini", ProviderOptions())
    with pytest.raises(UsageError, match="--provider openai needs --model"):
        OpenAIProvider.check_spec(None, ProviderOptions(base_url="http://x/v1"))
    with pytest.raises(UsageError, match="HF_TOKEN"):
        HFProvider.check_spec("org/model", ProviderOptions())
    with pytest.raises(UsageError, match="--provider hf-inference needs --model"):
        HFProvider.check_spec(None, ProviderOptions(base_url="http://x"))
    OpenAIProvider.check_spec("m", ProviderOptions(base_url="http://x/v1"))  # no key needed
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    provider = OpenAIProvider.from_spec("gpt-4o-mini", ProviderOptions())
    assert provider.info.details == {"api": "chat", "base_url": "https://api.openai.com/v1"}
    assert SECRET not in provider.info.model_dump_json()
    provider.close()


def test_missing_key_on_the_command_line(bench, tmp_path: Path) -> None:
    env = {"OPENAI_API_KEY": "", "HF_TOKEN": ""}
    result = bench(
        "run", "--provider", "openai", "--model", "gpt-4o-mini", "--out", str(tmp_path / "r"), env=env
    )
    assert result.code == 2 and len(result.err.strip().splitlines()) == 1, result.err
    assert "OPENAI_API_KEY" in result.err and not (tmp_path / "r").exists()


def test_missing_openai_package(bench, tmp_path: Path) -> None:
    pre = "import sys; sys.modules['openai'] = None"
    args = ["--provider", "openai", "--model", "m", "--base-url", "http://127.0.0.1:9/v1"]
    result = bench("run", *args, "--out", str(tmp_path / "r"), pre=pre)
    assert result.code == 2 and len(result.err.strip().splitlines()) == 1, result.err
    assert "'openai'" in result.err and "[openai]" in result.err and "pip install" in result.err
    assert not (tmp_path / "r").exists()
