"""The Kubernetes manifests in deploy/kubernetes: valid against the Kubernetes API schemas (offline, with
the schemas kubernetes-validate ships, strict: unknown fields are errors), hardened as documented, with
probes sized for the longest reconcile (the budget of deploy/kubernetes/README.md), and, for a fleet, as
many shards as pods."""

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
#: The workloads, each in a file of its own: the reconciler's pods.
WORKLOADS = ("CronJob", "Deployment", "StatefulSet", "Job")
#: The long-running controllers: /metrics, /healthz and /readyz, probes, a grace period for changes in flight.
CONTROLLERS = ("Deployment", "StatefulSet")
#: The sharded workloads (a fleet of accounts): the number of pods, as the number of shards they are told.
SHARDED = ("StatefulSet", "Job")
SHARD_COUNT = "RECONCILER_SHARD_COUNT"
SHARD_INDEX = "RECONCILER_SHARD_INDEX"
#: The label Kubernetes (>= 1.28) writes on a StatefulSet's pods: the pod's ordinal.
POD_INDEX_LABEL = "apps.kubernetes.io/pod-index"


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
    assert kinds == [
        "CronJob",
        "Deployment",
        "Job",
        "Namespace",
        "PrometheusRule",
        "Service",  # the Deployment's metrics
        "Service",  # the StatefulSet's (headless)
        "ServiceAccount",
        "StatefulSet",
    ]
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


def _template(kind: str) -> dict[str, Any]:
    doc = one(kind)
    if kind == "CronJob":
        template: dict[str, Any] = doc["spec"]["jobTemplate"]["spec"]["template"]
        return template
    template = doc["spec"]["template"]
    return template


def _pod(kind: str) -> dict[str, Any]:
    pod: dict[str, Any] = _template(kind)["spec"]
    return pod


def _container(kind: str) -> dict[str, Any]:
    """The pod's one container (the Job's init container aside)."""
    containers: list[dict[str, Any]] = _pod(kind)["containers"]
    assert len(containers) == 1, kind
    return containers[0]


def _args(kind: str) -> list[str]:
    args: list[str] = _container(kind)["args"]
    return args


def _env(kind: str) -> dict[str, dict[str, Any]]:
    """The main container's environment: name -> its entry."""
    return {e["name"]: e for e in _container(kind).get("env", [])}


def _service_of(kind: str) -> dict[str, Any]:
    """The one Service that selects ``kind``'s pods."""
    labels = _template(kind)["metadata"]["labels"]
    found = [
        doc for _, doc in documents() if doc["kind"] == "Service" and doc["spec"]["selector"].items() <= labels.items()
    ]
    assert len(found) == 1, f"expected one Service for the {kind}'s pods, found {len(found)}"
    return found[0]


@pytest.mark.parametrize("kind", WORKLOADS)
def test_pod_is_non_root_read_only_and_limited(kind: str) -> None:
    pod = _pod(kind)
    assert pod["serviceAccountName"] == one("ServiceAccount")["metadata"]["name"]
    assert pod["automountServiceAccountToken"] is False
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == UID
    assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
    volumes = {v["name"]: v for v in pod["volumes"]}
    containers = [*pod.get("initContainers", []), *pod["containers"]]
    for container in containers:
        security = container["securityContext"]
        assert security["runAsNonRoot"] is True
        assert security["runAsUser"] == UID
        assert security["readOnlyRootFilesystem"] is True
        assert security["allowPrivilegeEscalation"] is False
        assert security["privileged"] is False
        assert security["capabilities"]["drop"] == ["ALL"]
        resources = container["resources"]
        for what in ("cpu", "memory"):
            assert resources["requests"][what] and resources["limits"][what]
        # the writable places are emptyDirs: /tmp, and where git clones (the controller's cache, the Job's clone)
        mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
        assert "emptyDir" in volumes[mounts["/tmp"]["name"]], container["name"]
        for mount in mounts.values():
            if not mount.get("readOnly"):
                assert "emptyDir" in volumes[mount["name"]], f"{container['name']}: {mount['mountPath']}"
    cache = [a.split("=", 1)[1] for a in _args(kind) if a.startswith("--cache-dir=")]
    if kind != "Job":  # the controllers clone into their cache; the audit Job's init container clones for it
        assert cache
        assert cache[0] in {m["mountPath"] for m in _container(kind)["volumeMounts"]}


def test_the_fleet_controller_is_hardened_and_probed_as_the_deployment() -> None:
    """statefulset.yaml mirrors deployment.yaml: what is said of one (README.md) holds for the other."""
    deployment, fleet = _pod("Deployment"), _pod("StatefulSet")
    for key in (
        "serviceAccountName",
        "automountServiceAccountToken",
        "securityContext",
        "terminationGracePeriodSeconds",
    ):
        assert fleet[key] == deployment[key], key
    for key in ("image", "securityContext", "ports", "livenessProbe", "readinessProbe", "resources"):
        assert _container("StatefulSet")[key] == _container("Deployment")[key], key


@pytest.mark.parametrize("kind", ["CronJob", *CONTROLLERS])
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


@pytest.mark.parametrize("kind", CONTROLLERS)
def test_controller_serves_metrics_with_health_probes(kind: str) -> None:
    workload = one(kind)
    assert "--once" not in _args(kind)
    assert f"--metrics-port={PORT}" in _args(kind)
    container = _container(kind)
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports["metrics"] == PORT
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    for probe in ("livenessProbe", "readinessProbe"):
        assert container[probe]["httpGet"]["port"] in ("metrics", PORT)
    service = _service_of(kind)
    assert service["spec"]["selector"] == workload["spec"]["selector"]["matchLabels"]
    assert {p["name"]: p["port"] for p in service["spec"]["ports"]} == {"metrics": PORT}
    assert service["spec"]["publishNotReadyAddresses"] is True  # scraped while the head fails, too


def test_one_deployment_replica_and_never_two_during_a_rollout() -> None:
    deployment = one("Deployment")
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"]["type"] == "Recreate"


def test_each_service_selects_the_pods_of_one_workload() -> None:
    """The Deployment's metrics Service does not scrape the fleet's pods, nor the other way round."""
    for _, service in documents():
        if service["kind"] != "Service":
            continue
        selector = service["spec"]["selector"].items()
        selected = [kind for kind in WORKLOADS if selector <= _template(kind)["metadata"]["labels"].items()]
        assert len(selected) == 1, f"{service['metadata']['name']} selects the pods of {selected}"


# --------------------------------------------------------------------------------------------------
# A fleet of accounts, sharded (deploy/kubernetes/README.md, "A fleet of accounts, sharded")
# --------------------------------------------------------------------------------------------------


def _shard_count(kind: str) -> int:
    entry = _env(kind)[SHARD_COUNT]
    assert set(entry) == {"name", "value"}, f"{kind}: {SHARD_COUNT} is a literal value"
    count = int(entry["value"])
    assert count >= 1
    return count


def test_the_statefulset_has_as_many_shards_as_pods() -> None:
    fleet = one("StatefulSet")["spec"]
    assert _shard_count("StatefulSet") == fleet["replicas"], f"change {SHARD_COUNT} and replicas together"
    # pod reconciler-fleet-I is shard I: its ordinal, from the label Kubernetes writes on the pod (else the
    # reconciler falls back to the ordinal at the end of HOSTNAME)
    assert _env("StatefulSet")[SHARD_INDEX]["valueFrom"] == {
        "fieldRef": {"fieldPath": f"metadata.labels['{POD_INDEX_LABEL}']"}
    }
    assert fleet["podManagementPolicy"] == "Parallel"
    assert fleet["updateStrategy"]["type"] == "RollingUpdate"
    assert "partition" not in fleet["updateStrategy"].get("rollingUpdate", {})  # a rollout reaches every shard
    service = _service_of("StatefulSet")
    assert fleet["serviceName"] == service["metadata"]["name"]
    assert service["spec"]["clusterIP"] == "None"  # headless: the governing Service, one DNS name per pod
    assert "volumeClaimTemplates" not in fleet  # nothing of a shard's outlives its pod


def test_the_audit_job_has_as_many_shards_as_completions() -> None:
    job = one("Job")["spec"]
    assert job["completionMode"] == "Indexed"  # pod I gets JOB_COMPLETION_INDEX=I: its shard index
    assert _shard_count("Job") == job["completions"] == job["parallelism"], (
        f"change {SHARD_COUNT}, completions and parallelism together"
    )
    assert SHARD_INDEX not in _env("Job")  # it would hide JOB_COMPLETION_INDEX
    assert _pod("Job")["restartPolicy"] == "Never"  # required by backoffLimitPerIndex and podFailurePolicy
    # error findings (exit 3) are not retried: the audit would find them again
    rules = job["podFailurePolicy"]["rules"]
    assert {
        "action": "FailIndex",
        "onExitCodes": {"containerName": _container("Job")["name"], "operator": "In", "values": [3]},
    } in rules


def test_the_audit_job_audits_the_clone_of_its_init_container() -> None:
    (clone,) = _pod("Job")["initContainers"]
    assert clone["image"] == _container("Job")["image"]  # the image's git
    command = clone["command"]
    assert command[:2] == ["git", "clone"] and "--depth=1" in command
    source, target = command[-2:]
    assert "://" in source or "git@" in source
    assert "args" not in clone  # the image's entrypoint (reconciler) is replaced, not given arguments
    args = _args("Job")
    assert args[args.index("audit") + 1].startswith(f"{target}/")
    assert args[args.index("--output") + 1] == "json"
    # the clone is in an emptyDir both see: written by the init container, read-only for the audit
    written = next(m for m in clone["volumeMounts"] if target.startswith(m["mountPath"] + "/"))
    read = next(m for m in _container("Job")["volumeMounts"] if m["name"] == written["name"])
    assert read["mountPath"] == written["mountPath"] and read["readOnly"] is True


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


def _stale_after(kind: str) -> float:
    """--health-stale-after in the controller's args, else the controller's default."""
    given = [a.split("=", 1)[1] for a in _args(kind) if a.startswith("--health-stale-after=")]
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


@pytest.mark.parametrize("kind", CONTROLLERS)
def test_health_stale_after_covers_the_longest_silence_of_a_healthy_loop(kind: str) -> None:
    silence = _longest_silence()
    longest = max(silence.values())
    assert longest == silence["one git command"] == 120  # the README's table says so
    assert _stale_after(kind) >= 2 * longest, silence  # a late beat never fails the probe


@pytest.mark.parametrize("kind", CONTROLLERS)
def test_liveness_never_kills_a_healthy_long_reconcile_and_restarts_a_stuck_one_within_10_minutes(kind: str) -> None:
    probe = _container(kind)["livenessProbe"]
    period, failures, timeout = probe["periodSeconds"], probe["failureThreshold"], probe["timeoutSeconds"]
    assert failures >= 2 and timeout < period
    earliest_kill = _stale_after(kind) + (failures - 1) * period  # seconds after the last beat
    latest_kill = _stale_after(kind) + failures * period + timeout
    assert earliest_kill > 2 * max(_longest_silence().values())
    assert latest_kill <= 600


@pytest.mark.parametrize("kind", CONTROLLERS)
def test_termination_grace_covers_the_changes_in_flight_and_the_lease_release(kind: str) -> None:
    config = AwsConfig().botocore_config()
    attempt = float(config.connect_timeout) + float(config.read_timeout)
    defaults = {f.name: f.default for f in dataclasses.fields(StepContext)}
    consistency, poll = float(defaults["consistency_timeout"]), float(defaults["poll_interval"])
    waiter_polls = _source_number("reconciler/kinds/notebook/steps.py", r'"MaxAttempts": (\d+)')
    # the longest change: a notebook restart (stop, wait until stopped, update retried for IAM, start)
    in_flight = waiter_polls * poll + consistency + attempt
    release = attempt
    assert in_flight + release == 430  # the README's budget says so
    assert _pod(kind)["terminationGracePeriodSeconds"] >= in_flight + release


@pytest.mark.parametrize(
    ("kind", "command"), [("Deployment", "run"), ("CronJob", "run"), ("StatefulSet", "run"), ("Job", "audit")]
)
def test_the_shipped_arguments_are_the_cli_s_own(kind: str, command: str) -> None:
    """Every flag in the manifests (and the commented webhook one, once uncommented) is one the CLI knows; so are
    the shard flags of the fleet's command, whose values the manifests give through the environment."""
    from reconciler.cli import _parser

    args = _args(kind)
    parsed = _parser().parse_args(args)
    assert parsed.command == command
    if kind in SHARDED:
        count = _shard_count(kind)
        flags = ["--shard-index=0", f"--shard-count={count}"]
        try:
            sharded = _parser().parse_args([*args, *flags])
        except SystemExit:
            pytest.fail(f"`reconciler {command}` does not take {' '.join(flags)}: the fleet's shard flags")
        assert (sharded.shard_index, sharded.shard_count) == (0, count)
    if command == "run":
        text = (K8S / "deployment.yaml").read_text(encoding="utf-8")
        webhook = next(line.split("- ", 1)[1] for line in text.splitlines() if "--webhook-secret-file=" in line)
        assert _parser().parse_args([*args, webhook]).webhook_secret_file == "/etc/reconciler/webhook/secret"
