"""``reconciler run``: the GitOps controller, with its metrics, health endpoints and push webhook."""

from __future__ import annotations

import argparse
import os
import threading
from pathlib import Path
from typing import TextIO

from reconciler.aws.clients import AwsConfig
from reconciler.commands.accounts import check_shards, shard_arguments
from reconciler.commands.common import (
    DEFAULT_DIR,
    Exit,
    Subcommands,
    UsageError,
    allow_deletes_argument,
    aws_arguments,
    lease_arguments,
    stop_on_signals,
)
from reconciler.controller.httpserver import HealthServer
from reconciler.controller.loop import Controller, ControllerConfig, parse_interval
from reconciler.controller.metrics import Metrics
from reconciler.controller.webhook import WebhookConfig, WebhookConfigError
from reconciler.engine.executor import ApplyOptions


def register(commands: Subcommands) -> None:
    """The ``run`` command and its arguments."""
    run = commands.add_parser("run", help="the GitOps controller: pull git, reconcile, repeat")
    run.add_argument("--source", required=True, help="git URL or local repository path")
    run.add_argument("--branch", default="main", help="branch to follow (default main)")
    run.add_argument(
        "--path", default=DEFAULT_DIR, help=f"manifest directory in the repository (default {DEFAULT_DIR})"
    )
    run.add_argument("--interval", default="5m", help="time between reconciles, with 10%% jitter (default 5m)")
    run.add_argument(
        "--resync",
        default=os.environ.get("RECONCILER_RESYNC", "1h"),
        metavar="DURATION",
        help="time between full reads of the account (all drift), with 10%% jitter; in between, a new commit "
        "reads only what it changed, an unchanged one only its last applied commit (default 1h, or RECONCILER_RESYNC; "
        "0 reads everything every cycle)",
    )
    run.add_argument(
        "--mode",
        choices=("apply", "plan"),
        default="apply",
        help="apply (default) converges; plan only reports drift and changes",
    )
    run.add_argument("--once", action="store_true", help="one reconcile, for schedulers; exit status as plan/apply")
    run.add_argument(
        "--allow-rewind", action="store_true", help="apply a commit that is not a descendant of the last applied one"
    )
    run.add_argument(
        "--cache-dir",
        default=os.environ.get("RECONCILER_CACHE_DIR", "/tmp/reconciler-cache"),  # noqa: S108
        help="where the repository is cloned (default /tmp/reconciler-cache)",
    )
    run.add_argument("--metrics-port", type=int, default=None, help="serve /metrics, /healthz and /readyz here")
    run.add_argument(
        "--health-stale-after",
        default="5m",
        metavar="DURATION",
        help="/healthz answers 503 when the loop made no progress for this long (default 5m; a long reconcile "
        "keeps it fresh: every AWS request, lease poll and change is progress)",
    )
    secret = run.add_mutually_exclusive_group()
    secret.add_argument(
        "--webhook-secret-file",
        metavar="PATH",
        default=None,
        help="serve POST /hooks/git on --metrics-port: a push signed with this secret (GitHub's "
        "X-Hub-Signature-256) starts a reconcile at once",
    )
    secret.add_argument(
        "--webhook-secret-env",
        metavar="NAME",
        default=None,
        help="as --webhook-secret-file, the secret read from the environment variable NAME",
    )
    run.add_argument("--adopt", action="store_true", help="take over unowned resources named in git")
    allow_deletes_argument(run)
    lease_arguments(run)
    shard_arguments(run)
    aws_arguments(run, sandbox=False)
    run.set_defaults(handler=cmd_run)


def _webhook(args: argparse.Namespace) -> WebhookConfig | None:
    if args.webhook_secret_file is None and args.webhook_secret_env is None:
        return None
    if args.metrics_port is None:
        raise UsageError("the webhook is served on --metrics-port: give it too")
    if args.webhook_secret_file is not None:
        return WebhookConfig.from_file(Path(args.webhook_secret_file))
    return WebhookConfig.from_env(args.webhook_secret_env)


def cmd_run(args: argparse.Namespace, out: TextIO) -> Exit:
    check_shards(args)
    try:
        interval = parse_interval(args.interval)
        stale_after = parse_interval(args.health_stale_after)
        resync = None if args.resync.strip() in ("0", "0s") else parse_interval(args.resync)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    try:
        webhook = _webhook(args)
    except WebhookConfigError as exc:
        raise UsageError(str(exc)) from None
    config = ControllerConfig(
        source=args.source,
        branch=args.branch,
        path=args.path,
        cache_dir=Path(args.cache_dir),
        interval=interval,
        resync=resync,
        mode=args.mode,
        allow_rewind=args.allow_rewind,
        state_table=args.state_table,
        lease_timeout=args.lease_timeout,
        lease_ttl=args.lease_ttl,
        region=args.region,
        options=ApplyOptions(adopt=args.adopt, allow_deletes=args.allow_deletes),
        shard_index=args.shard_index,
        shard_count=args.shard_count,
    )
    aws = AwsConfig(endpoint_url=args.endpoint_url, region=args.region, profile=args.profile)
    stop = stop_on_signals()
    wake = threading.Event()
    metrics = Metrics(stale_after=stale_after, interval=interval)
    server = None
    if args.metrics_port is not None:
        server = HealthServer(metrics, args.metrics_port, webhook=webhook, trigger=wake.set).start()
    try:
        controller = Controller(config, aws, metrics=metrics, stop=stop, wake=wake)
        if args.once:
            return Exit(controller.reconcile_once())
        return Exit(controller.run_forever())
    finally:
        if server is not None:
            server.stop()
