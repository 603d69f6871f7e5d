"""The anthropic adapter against a fake Messages API: answers, error classes, retries, no key leaks."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from benchmark.errors import UsageError
from providers.anthropic import AnthropicProvider
from providers.base import ErrorKind, GenerateRequest, Generation, ProviderError, ProviderOptions, cut_at_stop
from providers.http_api import parse_retry_after
from tests.helpers.fake_anthropic import EXPLANATION, serve

KEY = "sk-ant-test-SECRET-42"
QUESTION = "Q: What is 2 plus 3?\nA:"


def assert_one_line_error(result, *needles: str) -> None:
    assert result.code == 2, (result.code, result.out, result.err)
    assert "Traceback" not in result.err
    lines = [line for line in result.err.splitlines() if line.strip()]
    assert len(lines) == 1, result.err
    for needle in needles:
        assert needle in lines[0], lines[0]


async def _generate(url: str, request: GenerateRequest, timeout: float = 0.5) -> Generation:
    provider = AnthropicProvider.from_spec("claude-test", ProviderOptions(base_url=url, timeout=timeout))
    try:
        return await provider.generate(request)
    finally:
        await provider.aclose()


def generate(
    url: str, prompt: str = QUESTION, stop: tuple[str, ...] = (), timeout: float = 0.5
) -> Generation:
    return asyncio.run(_generate(url, GenerateRequest(prompt, 16, stop), timeout))


def failure(url: str, timeout: float = 0.5) -> ProviderError:
    with pytest.raises(ProviderError) as info:
        generate(url, timeout=timeout)
    return info.value


@pytest.fixture
def api_key(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    return KEY


def test_answer_text_and_tokens(api_key: str) -> None:
    with serve() as server:
        generation = generate(server.url)
        assert generation.text == " 5" + EXPLANATION
        assert generation.prompt_tokens is not None and generation.prompt_tokens > 0
        assert generation.completion_tokens is not None and generation.completion_tokens > 0
        [request] = server.requests
    assert request.path == "/v1/messages"
    assert request.api_key == KEY  # SDK 2.x sends it as "authorization: Bearer", not "x-api-key"
    assert request.body["model"] == "claude-test"
    assert "temperature" not in request.body  # the SDK has no such parameter: API default sampling
    assert request.body["max_tokens"] == 16
    assert request.body["messages"] == [{"role": "user", "content": QUESTION}]
    assert "stop_sequences" not in request.body


@pytest.mark.parametrize("action", ["bad-usage", "bad-content", "bad-text"])
def test_a_malformed_answer_is_invalid_not_a_crash(api_key: str, action: str) -> None:
    with serve([action]) as server:
        error = failure(server.url)
    assert error.kind is ErrorKind.INVALID and error.message.startswith("malformed answer")


def test_whitespace_stop_cut_locally(api_key: str) -> None:
    """The API refuses "\\n" as a stop sequence: it is left out of the request and applied here."""
    with serve() as server:
        generation = generate(server.url, stop=("\n", "Explanation"))
        [request] = server.requests
    assert request.body["stop_sequences"] == ["Explanation"]
    assert generation.text == " 5"
    assert cut_at_stop(" Y\n\nQ: next", ("Q:", "\n")) == " Y"
    assert cut_at_stop(" Y", ("\n", "")) == " Y"


def test_rate_limit_with_retry_after(api_key: str) -> None:
    with serve(["429"]) as server:
        error = failure(server.url)
    assert error.kind is ErrorKind.RATE_LIMIT
    assert error.retry_after == 0.0
    assert "429" in error.message


@pytest.mark.parametrize(("action", "retry_after"), [("500", None), ("529", 0.0)])
def test_server_errors_are_transient(api_key: str, action: str, retry_after: float | None) -> None:
    with serve([action]) as server:
        error = failure(server.url)
    assert error.kind is ErrorKind.TRANSIENT
    assert error.retry_after == retry_after
    assert action in error.message


def test_slow_response_is_transient(api_key: str) -> None:
    with serve(["slow"]) as server:
        error = failure(server.url, timeout=0.5)
    assert error.kind is ErrorKind.TRANSIENT
    assert "timed out" in error.message


def test_connection_refused_is_transient(api_key: str) -> None:
    with serve() as server:
        url = server.url
    error = failure(url)  # the server is gone
    assert error.kind is ErrorKind.TRANSIENT


def test_bad_key_is_fatal_and_sticky(api_key: str) -> None:
    async def twice(url: str) -> tuple[ProviderError, ProviderError]:
        provider = AnthropicProvider.from_spec("claude-test", ProviderOptions(base_url=url, timeout=0.5))
        errors = []
        try:
            for _ in range(2):
                with pytest.raises(ProviderError) as info:
                    await provider.generate(GenerateRequest(QUESTION, 16))
                errors.append(info.value)
        finally:
            await provider.aclose()
        return errors[0], errors[1]

    with serve(["401"]) as server:
        first, second = asyncio.run(twice(server.url))
        assert server.count == 1  # the second call fails without a request
    assert first.kind is ErrorKind.FATAL
    assert "ANTHROPIC_API_KEY" in first.message
    assert KEY not in first.message and "SECRET" not in first.message
    assert second is first


@pytest.mark.parametrize(
    ("action", "needle"), [("404", "model 'claude-test' not found"), ("400", "HTTP 400: stop_sequences")]
)
def test_other_client_errors_are_fatal(api_key: str, action: str, needle: str) -> None:
    if action == "400":
        # Reach the server's whitespace check by asking the SDK directly for a "\n" stop sequence.
        async def bad_request(url: str) -> ProviderError:
            provider = AnthropicProvider.from_spec("claude-test", ProviderOptions(base_url=url))
            try:
                await provider.client.messages.create(
                    model="claude-test",
                    max_tokens=4,
                    stop_sequences=["\n"],
                    messages=[{"role": "user", "content": "hi"}],
                )
            except provider._sdk.APIStatusError as exc:
                return provider._classify(exc)
            finally:
                await provider.aclose()
            raise AssertionError("no error")

        with serve() as server:
            error = asyncio.run(bad_request(server.url))
    else:
        with serve([action]) as server:
            error = failure(server.url)
    assert error.kind is ErrorKind.FATAL
    assert needle in error.message


def test_retry_after_headers() -> None:
    assert parse_retry_after({"retry-after": "3"}) == 3.0
    assert parse_retry_after({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    assert parse_retry_after({"retry-after": "3600"}) == 60.0
    assert parse_retry_after({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0
    assert parse_retry_after({"retry-after": "soon"}) is None
    assert parse_retry_after({}) is None


def test_check_spec(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    with pytest.raises(UsageError, match="--model"):
        AnthropicProvider.check_spec(None, ProviderOptions(base_url="http://127.0.0.1:9"))
    with pytest.raises(UsageError, match="ANTHROPIC_API_KEY"):
        AnthropicProvider.check_spec("claude-test", ProviderOptions())
    # A server of one's own (--base-url) needs no key: a placeholder is sent.
    AnthropicProvider.check_spec("claude-test", ProviderOptions(base_url="http://127.0.0.1:9"))


def test_info_has_no_key(api_key: str) -> None:
    provider = AnthropicProvider.from_spec(
        "claude-test", ProviderOptions(base_url="http://user:pw@127.0.0.1:9/x")
    )
    provider.close()  # outside an event loop
    info = provider.info
    assert (info.provider, info.model, info.label, info.params) == (
        "anthropic",
        "claude-test",
        "claude-test",
        None,
    )
    assert not info.scripted and not info.supports_logprobs and not provider.supports_logprobs
    assert info.details["base_url"] == "http://***@127.0.0.1:9/x"
    assert KEY not in info.model_dump_json()


# Through the CLI: one fault of each kind among the first requests (sequential, concurrency 1).
FAULTS = ["429", "ok", "500", "ok", "529", "ok", "slow", "ok"]


def _run_args(url: str, out: Path, *extra: str) -> list[str]:
    return [
        "run",
        "--provider",
        "anthropic",
        "--base-url",
        url,
        "--model",
        "claude-test",
        "--task",
        "hindsight_neglect",
        "--prompting",
        "plain",
        "--limit",
        "6",
        "--timeout",
        "0.5",
        "--out",
        str(out),
        *extra,
    ]


def test_cli_run_retries_faults_and_keeps_the_key_out(cli, tmp_path: Path) -> None:
    out = tmp_path / "run"
    with serve(FAULTS) as server:
        env = {"ANTHROPIC_API_KEY": KEY, "BENCH_CACHE_DIR": str(tmp_path / "cache")}
        result = cli(*_run_args(server.url, out), env=env)
        requests = list(server.requests)
    assert result.code == 0, result.err
    faults = sum(action != "ok" for action in FAULTS)
    assert f"retries: {faults}" in result.err
    samples = [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]
    assert len(samples) == 6
    assert len(requests) == 6 + faults
    for sample in samples:
        assert sample["error"] is None
        assert sample["scoring"] == "generate"
        assert sample["response"] in (" Y", " N")
        assert not sample["extraction_failed"]
        assert sample["provider"] == "anthropic" and sample["scripted"] is False
    assert all(r.api_key == KEY for r in requests)
    assert all("stop_sequences" not in r.body for r in requests)  # "\n" is applied locally
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["models"][0]["supports_logprobs"] is False
    assert (tmp_path / "cache" / "responses.sqlite").is_file()
    for path in tmp_path.rglob("*"):  # run directory, reports and the response cache
        if path.is_file():
            assert b"SECRET-42" not in path.read_bytes(), path
    assert "SECRET-42" not in result.out + result.err


def test_cli_bad_key_fails_fast(cli, tmp_path: Path) -> None:
    with serve(["401"] * 20) as server:
        result = cli(*_run_args(server.url, tmp_path / "run"), env={"ANTHROPIC_API_KEY": KEY})
        count = server.count
    assert result.code == 2, result.err
    assert "Traceback" not in result.err
    lines = [line for line in result.err.splitlines() if "ANTHROPIC_API_KEY" in line]
    assert len(lines) == 1, result.err
    assert lines[0].startswith("bench: error: anthropic claude-test: authentication failed (401)")
    assert "SECRET" not in result.err + result.out
    assert count == 1


def test_cli_missing_key(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.delenv("ANTHROPIC_BASE_URL", raising=False)
    out = tmp_path / "run"
    result = cli("run", "--provider", "anthropic", "--model", "claude-test", "--out", str(out))
    assert_one_line_error(result, "ANTHROPIC_API_KEY")
    assert not out.exists()


def test_cli_missing_model(cli, tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = cli("run", "--provider", "anthropic", "--out", str(out), env={"ANTHROPIC_API_KEY": KEY})
    assert_one_line_error(result, "--model")
    assert not out.exists()


def test_cli_missing_package(bench, tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = bench(
        "run",
        "--provider",
        "anthropic",
        "--model",
        "claude-test",
        "--out",
        str(out),
        env={"ANTHROPIC_API_KEY": KEY},
        pre="import sys; sys.modules['anthropic'] = None",
    )
    assert_one_line_error(result, "pip install", "[anthropic]", "--provider anthropic")
    assert not out.exists()
