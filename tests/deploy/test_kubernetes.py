"""The Kubernetes manifests in deploy/kubernetes: valid against the Kubernetes API schemas (offline, with
the schemas kubernetes-validate ships, strict: unknown fields are errors), hardened as documented, and
with probes sized for the longest reconcile (the budget of deploy/kubernetes/README.md)."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import botocore.retries.standard
import kubernetes_validate
import pytest
import yaml

from reconciler.aws.clients import AwsConfig
from reconciler.controller.metrics import DEFAULT_STALE_AFTER, SLEEP_SLICE
from reconciler.kinds.steps import StepContext

REPO = Path(__file__).resolve().parents[2]
K8S = REPO / "deploy" / "kubernetes"
#: The oldest Kubernetes release the manifests are for (CronJob timeZone is GA since 1.27; 1.30 is the
#: oldest with standard EKS support at the time of writing), and the newest that kubernetes-validate knows.
VERSIONS = ("1.30.0", kubernetes_validate.latest_version())
UID = 10001
PORT = 9102
#: Custom resources: the Kubernetes API schemas do not know them (tests/deploy/test_alerts.py checks them).
CUSTOM_KINDS = frozenset({"PrometheusRule"})


def documents() -> list[tuple[str, dict[str, Any]]]:
    out = []
    for path in sorted(K8S.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if doc:
                out.append((path.name, doc))
    return out


def one(kind: str) -> dict[str, Any]:
    found = [doc for _, doc in documents() if doc["kind"] == kind]
    assert len(found) == 1, f"expected one {kind}, found {len(found)}"
    return found[0]


def test_the_expected_resources_are_there() -> None:
    kinds = sorted(doc["kind"] for _, doc in documents())
    assert kinds == ["CronJob", "Deployment", "Namespace", "PrometheusRule", "Service", "ServiceAccount"]
    assert (K8S / "README.md").is_file()


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(
    ("name", "doc"),
    [(n, d) for n, d in documents() if d["kind"] not in CUSTOM_KINDS],
    ids=lambda v: v if isinstance(v, str) else v["kind"],
)
def test_valid_against_the_kubernetes_schemas(name: str, doc: dict[str, Any], version: str) -> None:
    try:
        kubernetes_validate.validate(doc, version, strict=True)
    except kubernetes_validate.ValidationError as exc:
        pytest.fail(f"{name}: {doc['kind']}/{doc['metadata']['name']} is invalid for Kubernetes {version}: {exc}")


def test_every_namespaced_resource_is_in_the_reconciler_namespace() -> None:
    namespace = one("Namespace")["metadata"]["name"]
    for name, doc in documents():
        if doc["kind"] != "Namespace":
            assert doc["metadata"].get("namespace") == namespace, name


def test_service_account_maps_to_an_iam_role_and_has_no_api_token() -> None:
    account = one("ServiceAccount")
    assert account["metadata"]["annotations"]["eks.amazonaws.com/role-arn"].startswith("arn:aws:iam::")
    assert account["automountServiceAccountToken"] is False


def _pod(kind: str) -> dict[str, Any]:
    doc = one(kind)
    if kind == "CronJob":
        spec: dict[str, Any] = doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        return spec
    pod: dict[str, Any] = doc["spec"]["template"]["spec"]
    return pod


def _args(kind: str) -> list[str]:
    args: list[str] = _pod(kind)["containers"][0]["args"]
    return args


@pytest.mark.parametrize("kind", ["CronJob", "Deployment"])
def test_pod_is_non_root_read_only_and_limited(kind: str) -> None:
    pod = _pod(kind)
    assert pod["serviceAccountName"] == one("ServiceAccount")["metadata"]["name"]
    assert pod["automountServiceAccountToken"] is False
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == UID
    assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
    (container,) = pod["containers"]
    security = container["securityContext"]
    assert security["runAsNonRoot"] is True
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"]["drop"] == ["ALL"]
    resources = container["resources"]
    for what in ("cpu", "memory"):
        assert resources["requests"][what] and resources["limits"][what]
    # the writable places are emptyDirs: /tmp and the git cache the controller clones into
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    assert "emptyDir" in volumes[mounts["/tmp"]]
    cache = next(a.split("=", 1)[1] for a in container["args"] if a.startswith("--cache-dir="))
    assert "emptyDir" in volumes[mounts[cache]]


@pytest.mark.parametrize("kind", ["CronJob", "Deployment"])
def test_runs_the_controller_from_git(kind: str) -> None:
    args = _args(kind)
    assert "run" in args
    source = next(a for a in args if a.startswith("--source="))
    assert "://" in source or "git@" in source


def test_cronjob_runs_once_and_never_overlaps() -> None:
    cron = one("CronJob")
    assert cron["spec"]["concurrencyPolicy"] == "Forbid"
    assert "--once" in _args("CronJob")
    assert _pod("CronJob")["restartPolicy"] == "Never"


def test_deployment_serves_metrics_with_health_probes() -> None:
    deployment = one("Deployment")
    assert deployment["spec"]["replicas"] == 1
    assert "--once" not in _args("Deployment")
    assert f"--metrics-port={PORT}" in _args("Deployment")
    (container,) = _pod("Deployment")["containers"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports["metrics"] == PORT
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    for probe in ("livenessProbe", "readinessProbe"):
        assert container[probe]["httpGet"]["port"] in ("metrics", PORT)
    service = one("Service")
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
    assert service["spec"]["publishNotReadyAddresses"] is True  # scraped while the head fails, too


# --------------------------------------------------------------------------------------------------
# The probes' budget (deploy/kubernetes/README.md, "Probes and their budget"), from the code's own numbers
# --------------------------------------------------------------------------------------------------


def _source_number(relative: str, pattern: str) -> float:
    """A number in a module's source (read, not imported: its module may not import on its own here)."""
    found = [float(m) for m in re.findall(pattern, (REPO / relative).read_text(encoding="utf-8"))]
    assert found, f"{relative}: no match for {pattern!r}; update this test and the README's budget"
    return max(found)


def _seconds(text: str) -> float:
    match = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s?)?", text.strip())
    assert match and any(match.groups()), text
    hours, minutes, seconds = (int(g or 0) for g in match.groups())
    return float(hours * 3600 + minutes * 60 + seconds)


def _stale_after() -> float:
    """--health-stale-after in the Deployment's args, else the controller's default."""
    given = [a.split("=", 1)[1] for a in _args("Deployment") if a.startswith("--health-stale-after=")]
    return _seconds(given[0]) if given else DEFAULT_STALE_AFTER


def _retry_backoff_cap() -> float:
    """The longest pause botocore's standard (and adaptive) retries make between two attempts, asked of its
    public backoff policy: the largest jitter, at an attempt long past the point where the pause is capped."""
    backoff = botocore.retries.standard.ExponentialBackoff(random=lambda: 1.0)
    return float(backoff.delay_amount(botocore.retries.standard.RetryContext(attempt_number=64)))


def _longest_silence() -> dict[str, float]:
    """The longest gaps between two heartbeats of a healthy loop, by step (seconds)."""
    config = AwsConfig().botocore_config()
    attempt = float(config.connect_timeout) + float(config.read_timeout)
    backoff = _retry_backoff_cap()
    return {
        "one git command": _source_number("reconciler/controller/gitsource.py", r"timeout: float = (\d+(?:\.\d+)?)"),
        "one AWS attempt, then the retry backoff": attempt + backoff,
        "an IAM consistency pause, then an attempt": _source_number(
            "reconciler/kinds/steps.py", r"delay = min\(delay \* 2, (\d+(?:\.\d+)?)\)"
        )
        + attempt,
        "a lease poll, then an attempt": 2.0 + attempt,
        "a slice of the sleep between reconciles": SLEEP_SLICE,
    }


def test_health_stale_after_covers_the_longest_silence_of_a_healthy_loop() -> None:
    silence = _longest_silence()
    longest = max(silence.values())
    assert longest == silence["one git command"] == 120  # the README's table says so
    assert _stale_after() >= 2 * longest, silence  # a late beat never fails the probe


def test_liveness_never_kills_a_healthy_long_reconcile_and_restarts_a_stuck_one_within_10_minutes() -> None:
    (container,) = _pod("Deployment")["containers"]
    probe = container["livenessProbe"]
    period, failures, timeout = probe["periodSeconds"], probe["failureThreshold"], probe["timeoutSeconds"]
    assert failures >= 2 and timeout < period
    earliest_kill = _stale_after() + (failures - 1) * period  # seconds after the last beat
    latest_kill = _stale_after() + failures * period + timeout
    assert earliest_kill > 2 * max(_longest_silence().values())
    assert latest_kill <= 600


def test_termination_grace_covers_the_changes_in_flight_and_the_lease_release() -> None:
    config = AwsConfig().botocore_config()
    attempt = float(config.connect_timeout) + float(config.read_timeout)
    defaults = {f.name: f.default for f in dataclasses.fields(StepContext)}
    consistency, poll = float(defaults["consistency_timeout"]), float(defaults["poll_interval"])
    waiter_polls = _source_number("reconciler/kinds/notebook/steps.py", r'"MaxAttempts": (\d+)')
    # the longest change: a notebook restart (stop, wait until stopped, update retried for IAM, start)
    in_flight = waiter_polls * poll + consistency + attempt
    release = attempt
    assert in_flight + release == 430  # the README's budget says so
    assert _pod("Deployment")["terminationGracePeriodSeconds"] >= in_flight + release


@pytest.mark.parametrize("kind", ["Deployment", "CronJob"])
def test_the_shipped_arguments_are_the_cli_s_own(kind: str) -> None:
    """Every flag in the manifests (and the commented webhook one, once uncommented) is one the CLI knows."""
    from reconciler.cli import _parser

    args = _args(kind)
    parsed = _parser().parse_args(args)
    assert parsed.command == "run"
    text = (K8S / "deployment.yaml").read_text(encoding="utf-8")
    webhook = next(line.split("- ", 1)[1] for line in text.splitlines() if "--webhook-secret-file=" in line)
    assert _parser().parse_args([*args, webhook]).webhook_secret_file == "/etc/reconciler/webhook/secret"
