"""The Kubernetes manifests in deploy/kubernetes: valid against the Kubernetes API schemas (offline, with
the schemas kubernetes-validate ships, strict: unknown fields are errors), and hardened as documented."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
K8S = REPO / "deploy" / "kubernetes"
#: The oldest Kubernetes release the manifests are for (CronJob timeZone is GA since 1.27; 1.30 is the
#: oldest with standard EKS support at the time of writing), and the newest that kubernetes-validate knows.
VERSIONS = ("1.30.0", kubernetes_validate.latest_version())
UID = 10001
PORT = 9102


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
    assert kinds == ["CronJob", "Deployment", "Namespace", "Service", "ServiceAccount"]
    assert (K8S / "README.md").is_file()


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(("name", "doc"), documents(), ids=lambda v: v if isinstance(v, str) else v["kind"])
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
