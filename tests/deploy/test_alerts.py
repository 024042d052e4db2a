"""deploy/kubernetes/alerts.yaml: a well-formed PrometheusRule whose alerts use only metrics the controller
really exports (no PromQL engine here: the checks are structural, and the metric names are checked
against a live :class:`Metrics` after every reporting method was called once)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from reconciler.controller.metrics import Metrics
from reconciler.controller.schedule import SUSPENDED, Gate
from reconciler.kinds.context import Grant, Removal
from reconciler.manifests.model import Expiry

REPO = Path(__file__).resolve().parents[2]
RULES = REPO / "deploy" / "kubernetes" / "alerts.yaml"
#: A metric name used in an expression: an identifier starting with reconciler_ (label names never do).
METRIC = re.compile(r"(?<![A-Za-z0-9_:])(reconciler_[A-Za-z0-9_:]*)(?=\s*(?:[{\[)=!<>*/+\-^,]|\s|$))")
DURATION = re.compile(r"^(\d+(ms|s|m|h|d|w|y))+$")


GRANT = Grant(
    "User/bob",
    "membership of Group/raw",
    ("spec", "groups", 0),
    Expiry("2026-12-01", dt.datetime(2026, 12, 2, tzinfo=dt.UTC)),
    (Removal("Group/raw", "members", "bob"),),
)


def rule_file() -> dict[str, Any]:
    (doc,) = [d for d in yaml.safe_load_all(RULES.read_text(encoding="utf-8")) if d]
    assert isinstance(doc, dict)
    return doc


def rules() -> list[dict[str, Any]]:
    return [rule for group in rule_file()["spec"]["groups"] for rule in group["rules"]]


def exported() -> str:
    """What /metrics shows once the loop has called every reporting method."""
    metrics = Metrics(interval=300)
    metrics.set_head("invalid", "a" * 40, "b" * 40, "3 manifest problems")
    metrics.set_synced(False)
    metrics.reconcile_completed(ok=False)
    metrics.observe_plan({"Role": 1}, ["Role", "User"])
    metrics.drift_repaired("Role", 1)
    metrics.lease_waited(1.5, contended=True)
    metrics.webhook_requests.labels("accepted").inc()
    metrics.duration.labels("apply").observe(1)
    metrics.changes.labels("Role", "update", "done").inc()
    metrics.failures.labels("manifests").inc()
    metrics.findings.labels("error").set(0)
    metrics.schedule.set_gate("dev", Gate(SUSPENDED, "suspended by Settings.suspend"))
    metrics.schedule.set_expiring("dev", (GRANT,), dt.datetime(2026, 12, 1, tzinfo=dt.UTC))
    return metrics.render().decode()


def test_a_prometheus_rule_in_the_reconciler_namespace() -> None:
    doc = rule_file()
    assert doc["apiVersion"] == "monitoring.coreos.com/v1"
    assert doc["kind"] == "PrometheusRule"
    assert doc["metadata"]["name"] == "reconciler"
    assert doc["metadata"]["namespace"] == "reconciler"
    assert doc["metadata"]["labels"]["app.kubernetes.io/name"] == "reconciler"
    assert set(doc) == {"apiVersion", "kind", "metadata", "spec"}
    groups = doc["spec"]["groups"]
    assert groups and all(set(g) <= {"name", "interval", "rules"} and g["rules"] for g in groups)
    assert len({g["name"] for g in groups}) == len(groups)


@pytest.mark.parametrize("rule", rules(), ids=lambda r: r["alert"])
def test_every_alert_is_complete(rule: dict[str, Any]) -> None:
    assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}
    assert re.fullmatch(r"Reconciler[A-Z][A-Za-z]+", rule["alert"])
    assert rule["labels"]["severity"] in ("critical", "warning", "info")
    assert rule["annotations"]["summary"].strip() and rule["annotations"]["description"].strip()
    if "for" in rule:
        assert DURATION.match(rule["for"]), rule["for"]
    expr = rule["expr"]
    for opening, closing in ("()", "{}", "[]"):
        depth = 0
        for char in expr:
            depth += (char == opening) - (char == closing)
            assert depth >= 0, expr
        assert depth == 0, expr
    for window in re.findall(r"\[([^\]]*)\]", expr):
        assert DURATION.match(window), window
    assert METRIC.search(expr), f"{rule['alert']} uses no reconciler metric"


def test_alert_names_are_unique() -> None:
    names = [r["alert"] for r in rules()]
    assert len(names) == len(set(names))


def test_every_metric_an_alert_uses_is_exported() -> None:
    text = exported()
    used = {name: r["alert"] for r in rules() for name in METRIC.findall(r["expr"])}
    assert used
    missing = {name: alert for name, alert in used.items() if f"# TYPE {name} " not in text}
    assert not missing, f"alerts use metrics the controller does not export: {missing}"


def test_the_alerts_asked_for() -> None:
    by_name = {r["alert"]: r for r in rules()}
    head = by_name["ReconcilerHeadFailing"]
    assert head["expr"].strip() == 'reconciler_head_status{status!="valid"} == 1' and head["for"] == "15m"
    assert "increase(reconciler_drift_repaired_total[" in by_name["ReconcilerDriftRepaired"]["expr"]
    stalled = by_name["ReconcilerReconcileStalled"]["expr"]
    assert "reconciler_last_reconcile_timestamp_seconds" in stalled and "3 * (reconciler_interval_seconds" in stalled
    assert "increase(reconciler_lease_contention_total[30m])" in by_name["ReconcilerLeaseContention"]["expr"]
    assert "reconciler_lease_wait_seconds_total" in by_name["ReconcilerLeaseWaitLong"]["expr"]


def test_the_metric_regex() -> None:
    expr = (
        'sum by (kind) (increase(reconciler_drift_repaired_total[15m])) > 0 and reconciler_a{x="reconciler_no"}'
        " or reconciler_b>1 or reconciler_c"
    )
    assert METRIC.findall(expr) == ["reconciler_drift_repaired_total", "reconciler_a", "reconciler_b", "reconciler_c"]
