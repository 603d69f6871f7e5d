"""Secrets in a --base-url (user:password, query-string tokens) are sent where they belong and written
nowhere: not in the manifest, samples, reports, stdout or stderr."""

from __future__ import annotations

import socket
from pathlib import Path

from tests.helpers.runs import complete_samples

PASSWORD, TOKEN = "secretpw-71", "tok-SECRET-42"
RUN = ["--provider", "openai", "--model", "m", "--task", "arithmetic", "--prompting", "plain", "--limit", "2"]


def _with_secrets(url: str) -> str:
    return url.replace("http://", f"http://user:{PASSWORD}@") + f"?api-version=1&token={TOKEN}"


def _written(out: Path) -> str:
    return "".join(path.read_text(errors="replace") for path in sorted(out.iterdir()) if path.is_file())


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_base_url_password_and_token_are_never_written(bench, fake, tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = bench("run", *RUN, "--base-url", _with_secrets(fake.url), "--out", str(out))
    assert result.code == 0, result.err
    assert all(request["path"].endswith(f"token={TOKEN}") for request in fake.state.requests)  # sent...
    everything = _written(out) + result.out + result.err
    assert PASSWORD not in everything and TOKEN not in everything  # ... and written nowhere
    manifest = (out / "manifest.json").read_text()
    assert "http://***@127.0.0.1" in manifest and "api-version=1&token=***" in manifest


def test_an_unreachable_base_url_with_a_password_keeps_it_out_of_errors(bench, tmp_path: Path) -> None:
    out = tmp_path / "run"
    url = _with_secrets(f"http://127.0.0.1:{_free_port()}/v1")
    result = bench("run", *RUN[:-1], "1", "--base-url", url, "--timeout", "1", "--out", str(out))
    assert result.code == 1, result.err
    [sample] = complete_samples(out)
    assert sample.error is not None and "cannot connect to http://***@127.0.0.1" in sample.error
    everything = _written(out) + result.out + result.err
    assert PASSWORD not in everything and TOKEN not in everything


def test_resume_asks_for_the_secret_again_and_only_the_secret(bench, fake, tmp_path: Path) -> None:
    out = tmp_path / "run"
    url = _with_secrets(fake.url)
    assert bench("run", *RUN, "--base-url", url, "--out", str(out)).code == 0
    missing = bench("run", "--resume", str(out))
    assert missing.code == 2 and "give it again" in missing.err and "--base-url URL" in missing.err
    other = bench("run", "--resume", str(out), "--base-url", url.replace("127.0.0.1", "localhost"))
    assert other.code == 2 and "not change it" in other.err
    resumed = bench("run", "--resume", str(out), "--base-url", url)
    assert resumed.code == 0, resumed.err
    assert PASSWORD not in _written(out) + resumed.err and TOKEN not in _written(out) + resumed.err


def test_families_show_hides_a_member_password(bench, tmp_path: Path) -> None:
    family = tmp_path / "fam.yaml"
    family.write_text(
        "name: fam\nversion: '1'\ndescription: d\nsource: s\nmembers:\n"
        f"  - {{provider: openai, model: m, params: 1B, variant: base, "
        f"base_url: 'http://u:{PASSWORD}@127.0.0.1:9/v1?key={TOKEN}'}}\n"
    )
    result = bench("families", "show", str(family))
    assert result.code == 0, result.err
    assert PASSWORD not in result.out and TOKEN not in result.out and "***@127.0.0.1:9" in result.out


def test_a_base_url_that_is_not_http_is_refused_without_showing_its_secret(bench, tmp_path: Path) -> None:
    result = bench("run", *RUN, "--base-url", f"ftp://user:{PASSWORD}@host/v1", "--out", str(tmp_path / "r"))
    assert result.code == 2 and "Traceback" not in result.err and "not an http" in result.err
    assert PASSWORD not in result.err


def test_the_ctrl_c_hint_asks_for_the_secret_without_showing_it(fake, tmp_path: Path) -> None:
    import signal
    import threading

    from tests.helpers.runs import popen_bench, wait_for

    release = threading.Event()
    fake.state.fault = lambda number, body: release.wait(120) and None
    out, log = tmp_path / "run", tmp_path / "output.log"
    env = {"BENCH_CACHE_DIR": str(tmp_path / "cache")}
    proc = popen_bench(["run", *RUN, "--base-url", _with_secrets(fake.url), "--out", str(out)], env, log)
    try:
        wait_for(lambda: fake.state.requests, "the first request")
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 130
    finally:
        release.set()
    text = log.read_text()
    assert f"bench run --resume {out} --base-url 'http://***@127.0.0.1:" in text
    assert "in place of ***" in text and PASSWORD not in text and TOKEN not in text


BARE, FRAGMENT = "SECRETBARE-9", "FRAGSECRET-8"


def test_a_bare_query_word_and_a_fragment_are_secrets_too(bench, fake, tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = bench("run", *RUN, "--base-url", f"{fake.url}?{BARE}#{FRAGMENT}", "--out", str(out))
    assert result.code == 0, result.err
    assert all(request["path"].endswith(f"?{BARE}") for request in fake.state.requests)  # sent...
    everything = _written(out) + result.out + result.err
    assert BARE not in everything and FRAGMENT not in everything  # ... and written nowhere
    assert f"{fake.url}?***#***" in (out / "manifest.json").read_text()


def test_an_unreachable_base_url_keeps_a_bare_query_word_out_of_errors(bench, tmp_path: Path) -> None:
    out = tmp_path / "run"
    url = f"http://127.0.0.1:{_free_port()}/v1?{BARE}#{FRAGMENT}"
    result = bench("run", *RUN[:-1], "1", "--base-url", url, "--timeout", "1", "--out", str(out))
    assert result.code == 1, result.err
    [sample] = complete_samples(out)
    assert sample.error is not None and "/v1?***#***" in sample.error
    everything = _written(out) + result.out + result.err
    assert BARE not in everything and FRAGMENT not in everything
