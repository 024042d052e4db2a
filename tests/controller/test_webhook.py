"""The git webhook over real HTTP: authenticated deliveries trigger a reconcile, nothing else does."""

from __future__ import annotations

import http.client
import logging
import queue
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.controller.httpserver import HealthServer
from reconciler.controller.metrics import Metrics
from reconciler.controller.webhook import WebhookConfig, WebhookConfigError, sign
from reconciler.logs import configure_logging

SECRET = b"s3cret-webhook-key"
BODY = b'{"ref": "refs/heads/main", "marker": "BODY-MUST-NOT-BE-LOGGED"}'


class Triggers:
    def __init__(self) -> None:
        self.count = 0
        self.event = threading.Event()

    def __call__(self) -> None:
        self.count += 1
        self.event.set()


def post(
    base: str, body: bytes = BODY, *, signature: str | None = None, event: str = "push", path: str = "/hooks/git"
) -> tuple[int, str]:
    headers = {"Content-Type": "application/json", "X-GitHub-Event": event, "X-GitHub-Delivery": "d-1"}
    if signature is not None:
        headers["X-Hub-Signature-256"] = signature
    request = urllib.request.Request(base + path, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return int(answer.status), answer.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


@pytest.fixture
def hook() -> Iterator[tuple[str, Triggers, Metrics]]:
    metrics, triggers = Metrics(), Triggers()
    server = HealthServer(metrics, 0, host="127.0.0.1", webhook=WebhookConfig(SECRET), trigger=triggers).start()
    try:
        yield f"http://127.0.0.1:{server.port}", triggers, metrics
    finally:
        server.stop()


def result_count(metrics: Metrics, result: str) -> float:
    return float(metrics.registry.get_sample_value("reconciler_webhook_requests_total", {"result": result}) or 0)


def test_a_validly_signed_push_triggers(hook: tuple[str, Triggers, Metrics]) -> None:
    base, triggers, metrics = hook
    assert post(base, signature=sign(SECRET, BODY)) == (202, "accepted: fetch and reconcile requested\n")
    assert triggers.count == 1
    assert result_count(metrics, "accepted") == 1


@pytest.mark.parametrize(
    "signature",
    [
        None,
        "",
        "sha256=" + "0" * 64,
        sign(b"another secret", BODY),
        sign(SECRET, BODY + b" "),  # the signature of another body
        sign(SECRET, BODY).replace("sha256=", "sha1="),
        sign(SECRET, BODY)[:-1],
        "sha256=\u00e9",  # not even ASCII
    ],
    ids=["missing", "empty", "zeros", "other-secret", "other-body", "other-prefix", "truncated", "latin-1"],
)
def test_a_missing_or_wrong_signature_is_401_and_triggers_nothing(
    hook: tuple[str, Triggers, Metrics], signature: str | None
) -> None:
    base, triggers, metrics = hook
    code, text = post(base, signature=signature)
    assert code == 401 and text.startswith("unauthorized")
    assert triggers.count == 0
    assert result_count(metrics, "unauthorized") == 1


def test_a_ping_answers_200_and_triggers_nothing(hook: tuple[str, Triggers, Metrics]) -> None:
    base, triggers, _ = hook
    assert post(base, signature=sign(SECRET, BODY), event="ping") == (200, "pong\n")
    assert triggers.count == 0
    assert post(base, event="ping")[0] == 401  # a ping is authenticated too


def test_without_a_webhook_the_path_does_not_exist() -> None:
    triggers = Triggers()
    server = HealthServer(Metrics(), 0, host="127.0.0.1").start()
    try:
        base = f"http://127.0.0.1:{server.port}"
        assert post(base, signature=sign(SECRET, BODY)) == (404, "not found\n")
        with pytest.raises(urllib.error.HTTPError) as get:
            urllib.request.urlopen(base + "/hooks/git", timeout=5)
        assert get.value.code == 404
    finally:
        server.stop()
    assert triggers.count == 0


def test_other_paths_and_methods(hook: tuple[str, Triggers, Metrics]) -> None:
    base, triggers, _ = hook
    assert post(base, signature=sign(SECRET, BODY), path="/hooks/other")[0] == 404
    assert post(base, signature=sign(SECRET, BODY), path="/metrics")[0] == 404
    with pytest.raises(urllib.error.HTTPError) as get:
        urllib.request.urlopen(base + "/hooks/git", timeout=5)
    assert get.value.code == 405 and get.value.headers["Allow"] == "POST"
    assert post(base, signature=sign(SECRET, BODY), path="/hooks/git?x=1")[0] == 202  # a query is ignored
    assert triggers.count == 1


def raw_post(base: str, headers: dict[str, str], body: bytes = b"") -> tuple[int, str]:
    host, port = base.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=5)
    try:
        connection.putrequest("POST", "/hooks/git", skip_accept_encoding=True)
        for name, value in headers.items():
            connection.putheader(name, value)
        connection.endheaders(body or None)
        answer = connection.getresponse()
        return answer.status, answer.read().decode()
    finally:
        connection.close()


def test_the_body_size_is_bounded_and_required(hook: tuple[str, Triggers, Metrics]) -> None:
    base, triggers, metrics = hook
    big = str(2 * 1024 * 1024)
    code, text = raw_post(base, {"Content-Length": big, "X-Hub-Signature-256": sign(SECRET, BODY)})
    assert code == 413 and text.startswith("payload too large")  # answered without reading the body
    assert raw_post(base, {"X-Hub-Signature-256": sign(SECRET, BODY)})[0] == 411
    assert raw_post(base, {"Content-Length": "-1"})[0] == 400
    assert raw_post(base, {"Content-Length": "12x"})[0] == 400
    assert raw_post(base, {"Transfer-Encoding": "chunked"}, b"0\r\n\r\n")[0] == 411
    assert triggers.count == 0
    assert result_count(metrics, "too_large") == 1 and result_count(metrics, "bad_request") == 4


def test_a_small_bound_is_honoured() -> None:
    triggers = Triggers()
    server = HealthServer(
        Metrics(), 0, host="127.0.0.1", webhook=WebhookConfig(SECRET, max_body=16), trigger=triggers
    ).start()
    try:
        base = f"http://127.0.0.1:{server.port}"
        assert (
            raw_post(base, {"Content-Length": str(len(BODY)), "X-Hub-Signature-256": sign(SECRET, BODY)}, BODY)[0]
            == 413
        )
        assert post(base, b"{}", signature=sign(SECRET, b"{}"))[0] == 202
    finally:
        server.stop()
    assert triggers.count == 1


def test_the_body_and_the_signature_are_never_logged(
    hook: tuple[str, Triggers, Metrics], caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    base, _, _ = hook
    # Logging as the CLI configures it, writing to this test's captured stderr (an earlier test of the same
    # process may have configured it with another level, or with a stream captured then).
    configure_logging(fmt="json", level="debug")
    caplog.set_level(logging.DEBUG)
    signature = sign(SECRET, BODY)
    assert post(base, signature=signature)[0] == 202
    assert post(base, signature=sign(b"wrong", BODY))[0] == 401
    assert post(base, signature=signature, event="ping")[0] == 200
    out, err = capfd.readouterr()
    logged = caplog.text + out + err
    assert "webhook" in logged  # something is logged: the delivery, without its content
    for secret in (
        "BODY-MUST-NOT-BE-LOGGED",
        signature.removeprefix("sha256="),
        sign(b"wrong", BODY)[7:],
        SECRET.decode(),
    ):
        assert secret not in logged


def test_deliveries_during_a_reconcile_coalesce_into_one_more(hook: tuple[str, Triggers, Metrics]) -> None:
    """The loop's pattern: sleep until the interval passes or a delivery wakes it, reconcile, repeat."""
    base, triggers, metrics = hook
    stop = threading.Event()
    started: queue.Queue[int] = queue.Queue()
    finish: queue.Queue[None] = queue.Queue()

    def loop() -> None:
        cycles = 0
        while not stop.is_set():
            metrics.sleep(stop, 60, triggers.event)
            if stop.is_set():
                return
            cycles += 1
            started.put(cycles)
            finish.get(timeout=30)  # "busy" reconciling until the test lets it finish

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        assert post(base, signature=sign(SECRET, BODY))[0] == 202
        assert started.get(timeout=5) == 1
        for _ in range(3):  # three pushes while the first reconcile runs
            assert post(base, signature=sign(SECRET, BODY))[0] == 202
        finish.put(None)
        assert started.get(timeout=5) == 2  # one more reconcile for the three
        finish.put(None)
        with pytest.raises(queue.Empty):
            started.get(timeout=1.5)  # and no third
        assert triggers.count == 4 and not triggers.event.is_set()
    finally:
        stop.set()
        finish.put(None)
        thread.join(timeout=5)
    assert not thread.is_alive()


def test_a_webhook_needs_a_trigger() -> None:
    with pytest.raises(ValueError, match="trigger"):
        HealthServer(Metrics(), 0, host="127.0.0.1", webhook=WebhookConfig(SECRET))


def test_secret_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "secret"
    path.write_bytes(SECRET + b"\n")
    config = WebhookConfig.from_file(path)
    assert config.secret == SECRET
    assert SECRET.decode() not in repr(config)
    path.write_text("\n")
    with pytest.raises(WebhookConfigError, match="is empty"):
        WebhookConfig.from_file(path)
    with pytest.raises(WebhookConfigError, match="cannot read"):
        WebhookConfig.from_file(tmp_path / "absent")


def test_secret_from_the_environment() -> None:
    assert WebhookConfig.from_env("HOOK", environ={"HOOK": "abc\r\n"}).secret == b"abc"
    with pytest.raises(WebhookConfigError, match=r"HOOK .* is not set"):
        WebhookConfig.from_env("HOOK", environ={})
    with pytest.raises(WebhookConfigError, match="is empty"):
        WebhookConfig.from_env("HOOK", environ={"HOOK": "\n"})
    with pytest.raises(WebhookConfigError, match="empty"):
        WebhookConfig(b"")


def test_signatures_are_what_github_sends() -> None:
    # The example of GitHub's documentation ("Validating webhook deliveries").
    assert sign(b"It's a Secret to Everybody", b"Hello, World!") == (
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    )
