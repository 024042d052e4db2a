# The reconciler's container image.
#
#   docker build -t reconciler .
#   docker run --rm reconciler --version
#   docker run --rm -e AWS_REGION=... reconciler run --source https://git.example.com/org/env.git --once
#
# The default command is the long-running controller; it follows the repository given by --source,
# which every real deployment overrides (the default /repo is only a mount point for a local clone):
#   docker run -v "$PWD:/repo:ro" -p 9102:9102 reconciler                     # a local repository
#   docker run reconciler run --source git@github.com:org/env.git --interval 5m --metrics-port 9102
#
# BASE_IMAGE: any Debian-based image with python3 (>= 3.11) and its venv module, used by both stages,
# e.g. the official python:3.11-slim-bookworm (python in /usr/local) or a Debian bookworm image with
# python3, python3-venv and ca-certificates (python in /usr). The virtual environment built in the
# first stage links to the base image's python, so both stages must use the same BASE_IMAGE.
ARG BASE_IMAGE=python:3.11-slim-bookworm

# --------------------------------------------------------------------------------------------------
# build: a wheel of the project, installed with its dependencies into /opt/reconciler
# --------------------------------------------------------------------------------------------------
FROM ${BASE_IMAGE} AS build

LABEL org.opencontainers.image.title="reconciler-build"

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_PROGRESS_BAR=off \
    PYTHONDONTWRITEBYTECODE=1

RUN python3 -m venv /opt/reconciler

WORKDIR /src
# The dependencies first, in a layer of their own that a rebuild reuses until pyproject.toml changes.
# Every dependency ships binary wheels: no compiler is needed, here or in the runtime image.
COPY pyproject.toml ./
RUN python3 -c 'import tomllib; print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]))' \
        > /tmp/requirements.txt \
    && /opt/reconciler/bin/pip install -r /tmp/requirements.txt

# Then what the wheel is made of: the package, the metadata files pyproject.toml names, and what it
# force-includes: the schemas (as reconciler/_schemas) and the example manifests (reconciler/_example).
COPY README.md ./
COPY schemas/ schemas/
COPY desired-state/ desired-state/
COPY reconciler/ reconciler/

# The wheel is built in an isolated build environment (hatchling from the package index), then
# installed; pip checks that the dependencies installed above satisfy it.
RUN /opt/reconciler/bin/pip wheel --no-deps --wheel-dir /wheels . \
    && /opt/reconciler/bin/pip install /wheels/reconciler-*.whl \
    && /opt/reconciler/bin/reconciler --version

# --------------------------------------------------------------------------------------------------
# runtime: the base image, git (the controller fetches with the git CLI), the venv, a non-root user
# --------------------------------------------------------------------------------------------------
FROM ${BASE_IMAGE}

LABEL org.opencontainers.image.title="reconciler" \
      org.opencontainers.image.description="GitOps reconciler for a secure SageMaker environment on AWS" \
      org.opencontainers.image.licenses="Apache-2.0"

ARG DEBIAN_FRONTEND=noninteractive
# git and openssh-client (git@host:org/repo URLs) track the base image's Debian release: pinning exact
# versions would break the build at the next Debian point release. /repo, the default --source, is a
# mount point whose owner is not the image's user: git must be told to trust it.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates git openssh-client \
    && rm -rf /var/lib/apt/lists/* \
    && git config --system --add safe.directory /repo \
    && git config --system --add safe.directory /repo/.git \
    && groupadd --gid 10001 reconciler \
    && useradd --no-log-init --uid 10001 --gid 10001 --home-dir /home/reconciler --create-home \
        --shell /usr/sbin/nologin reconciler

COPY --from=build /opt/reconciler /opt/reconciler
# The example manifests (also in the package, for `reconciler demo`) at a stable path: from WORKDIR,
# `reconciler validate` and `reconciler plan --sandbox` work on it out of the box.
COPY desired-state/ /usr/share/reconciler/desired-state/

# MALLOC_ARENA_MAX: glibc gives every thread that allocates an arena of its own (up to 8 per core) and keeps
# what each frees; the controller starts its read threads anew every reconcile, and its RSS climbed for cycles
# before settling about 35 MB higher than with two arenas (docs/benchmarks.md, controller memory). The entry
# point sets the same limit itself where the environment does not (reconciler.runtime); here it also holds for
# any other Python program run in the image.
ENV PATH=/opt/reconciler/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    MALLOC_ARENA_MAX=2 \
    HOME=/home/reconciler \
    RECONCILER_CACHE_DIR=/tmp/reconciler-cache

WORKDIR /usr/share/reconciler
# Numeric, so that Kubernetes' runAsNonRoot can verify it.
USER 10001:10001

EXPOSE 9102
# /healthz answers while the controller loop is alive; only meaningful with --metrics-port 9102.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python3", "-c", "import urllib.request as u; u.urlopen('http://127.0.0.1:9102/healthz', timeout=4)"]

ENTRYPOINT ["reconciler"]
CMD ["run", "--source", "/repo", "--interval", "5m", "--metrics-port", "9102"]
