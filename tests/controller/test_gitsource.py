"""GitSource against real git repositories: each call reads exactly its commit, in a private directory."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from reconciler.controller.gitsource import LAYOUT, GitError, GitSource, InvalidSource
from reconciler.errors import ManifestError

REPO = Path(__file__).resolve().parents[2]


def git(repo: Path, *args: str, stdin: str | None = None) -> str:
    env = dict(
        os.environ,
        GIT_AUTHOR_NAME="t",
        GIT_AUTHOR_EMAIL="t@example.invalid",
        GIT_COMMITTER_NAME="t",
        GIT_COMMITTER_EMAIL="t@example.invalid",
    )
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True, env=env, input=stdin
    ).stdout.strip()


def commit(repo: Path, message: str) -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "--quiet", "--allow-empty", "-m", message)
    return git(repo, "rev-parse", "HEAD")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "desired-state" / "sub").mkdir(parents=True)
    (root / "desired-state" / "a.yaml").write_text("a: 1\n")
    (root / "desired-state" / "sub" / "b.yaml").write_text("b: 1\n")
    (root / "README.md").write_text("outside the manifest directory\n")
    git(root, "init", "--quiet", "--initial-branch", "main")
    commit(root, "initial")
    return root


def tree(root: Path) -> dict[str, str]:
    """Every file under root (links followed), relative path -> content."""
    return {p.relative_to(root).as_posix(): p.read_text() for p in sorted(root.rglob("*")) if p.is_file()}


def work_dirs(cache: Path) -> list[Path]:
    work = cache / LAYOUT / "work"
    return sorted(work.iterdir()) if work.exists() else []


def test_fetch_gives_exactly_the_files_of_the_commit(repo: Path, tmp_path: Path) -> None:
    source = GitSource(str(repo), cache_dir=tmp_path / "cache")
    first = source.fetch()
    assert first.sha == git(repo, "rev-parse", "HEAD")
    assert tree(first.root) == {"a.yaml": "a: 1\n", "sub/b.yaml": "b: 1\n"}
    assert not (first.root.parent / "README.md").exists()  # only the manifest directory is written

    (repo / "desired-state" / "sub" / "b.yaml").unlink()
    (repo / "desired-state" / "a.yaml").write_text("a: 2\n")
    second_sha = commit(repo, "delete b")
    git(repo, "checkout", "--quiet", "-b", "other")
    (repo / "desired-state" / "c.yaml").write_text("c: 1\n")
    commit(repo, "c on another branch")
    git(repo, "checkout", "--quiet", "main")

    second = source.fetch()
    assert second.sha == second_sha
    assert tree(second.root) == {"a.yaml": "a: 2\n"}  # b deleted, c never there
    assert not first.root.exists()  # the previous fetch's files are gone
    assert source.is_ancestor(first.sha, second.sha) and not source.is_ancestor(second.sha, first.sha)
    assert not source.is_ancestor("0" * 40, second.sha) and not source.is_ancestor("not a sha", second.sha)


def test_files_of_an_older_commit_and_cleanup(repo: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    source = GitSource(str(repo), cache_dir=cache)
    old = source.fetch().sha
    (repo / "desired-state" / "a.yaml").unlink()
    (repo / "desired-state" / "new.yaml").write_text("n: 1\n")
    commit(repo, "replace a by new")
    head = source.fetch()
    assert tree(head.root) == {"new.yaml": "n: 1\n", "sub/b.yaml": "b: 1\n"}
    assert source.resolve() == head.sha

    with source.files(old) as root:
        assert tree(root) == {"a.yaml": "a: 1\n", "sub/b.yaml": "b: 1\n"}
        assert root != head.root
        assert len(work_dirs(cache)) == 2  # the head's and this one
        with source.files(old[:12]) as again:  # an abbreviated id works too, in a directory of its own
            assert again != root and tree(again) == tree(root)
    assert not root.exists() and len(work_dirs(cache)) == 1
    assert tree(head.root) == {"new.yaml": "n: 1\n", "sub/b.yaml": "b: 1\n"}  # untouched by files()

    source.close()
    assert not head.root.exists() and work_dirs(cache) == []
    with pytest.raises(GitError, match="not in the git cache"), source.files("1234567" * 5 + "12345"):
        pass
    assert work_dirs(cache) == []


def test_a_missing_manifest_directory_is_a_path_that_does_not_exist(repo: Path, tmp_path: Path) -> None:
    shutil.rmtree(repo / "desired-state")
    sha = commit(repo, "no manifests")
    source = GitSource(str(repo), cache_dir=tmp_path / "cache")
    checkout = source.fetch()
    assert checkout.sha == sha and not checkout.root.exists()
    with source.files(sha) as root:
        assert not root.exists()
    as_file = GitSource(str(repo), path="README.md", cache_dir=tmp_path / "cache")
    assert not as_file.fetch().root.is_dir()
    whole = GitSource(str(repo), path=".", cache_dir=tmp_path / "cache")
    assert tree(whole.fetch().root) == {"README.md": "outside the manifest directory\n"}


def test_two_sources_on_one_cache_with_different_branches_see_only_their_own(repo: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    git(repo, "branch", "extra")
    main = GitSource(str(repo), branch="main", cache_dir=cache)
    extra = GitSource(str(repo), branch="extra", cache_dir=cache)
    for round_ in range(3):
        git(repo, "checkout", "--quiet", "extra")
        (repo / "desired-state" / f"extra-{round_}.yaml").write_text(f"e: {round_}\n")
        extra_sha = commit(repo, f"extra {round_}")
        git(repo, "checkout", "--quiet", "main")
        (repo / "desired-state" / "a.yaml").write_text(f"a: main {round_}\n")
        main_sha = commit(repo, f"main {round_}")
        one = main.fetch()
        two = extra.fetch()
        assert (one.sha, two.sha) == (main_sha, extra_sha)
        assert tree(one.root) == {"a.yaml": f"a: main {round_}\n", "sub/b.yaml": "b: 1\n"}
        assert tree(two.root) == {
            "a.yaml": "a: 1\n",
            "sub/b.yaml": "b: 1\n",
            **{f"extra-{i}.yaml": f"e: {i}\n" for i in range(round_ + 1)},
        }
        with main.files(two.sha) as root:  # one repository per URL: main's object can read extra's commit
            assert tree(root) == tree(two.root)
    assert len(list((cache / LAYOUT / "repos").glob("*.git"))) == 1
    other = tmp_path / "other"
    shutil.copytree(repo, other)
    GitSource(str(other), cache_dir=cache).fetch()
    assert len(list((cache / LAYOUT / "repos").glob("*.git"))) == 2  # another URL, another repository


def test_symlinks_never_lead_a_write_or_a_read_outside(repo: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.yaml").write_text("secret: 1\n")
    (repo / "desired-state" / "self.yaml").symlink_to("a.yaml")  # inside the manifest directory: kept
    (repo / "desired-state" / "sub" / "up.yaml").symlink_to("../a.yaml")
    (repo / "desired-state" / ".hidden").symlink_to(outside)  # never read: hidden
    good = commit(repo, "links inside")
    cache = tmp_path / "cache"
    source = GitSource(str(repo), cache_dir=cache)
    checkout = source.fetch()
    assert checkout.sha == good
    assert tree(checkout.root) == {
        "a.yaml": "a: 1\n",
        "self.yaml": "a: 1\n",
        "sub/b.yaml": "b: 1\n",
        "sub/up.yaml": "a: 1\n",
    }
    assert (checkout.root / "self.yaml").is_symlink()

    (repo / "shared").mkdir()
    (repo / "shared" / "common.yaml").write_text("common: 1\n")
    relative = "../../../../../../../../" + str(outside).lstrip("/")
    for target in (str(outside / "secret.yaml"), relative, "../..", "../shared/common.yaml"):
        link = repo / "desired-state" / "evil.yaml"
        link.unlink(missing_ok=True)
        link.symlink_to(target)
        commit(repo, f"link to {target}")
        with pytest.raises(ManifestError, match=r"desired-state/evil\.yaml.*pointing outside the manifest"):
            source.fetch()
        assert work_dirs(cache) == []  # the refused commit's directory is removed too
    assert sorted(p.name for p in outside.iterdir()) == ["secret.yaml"]


def test_a_crafted_tree_cannot_write_through_a_link(repo: Path, tmp_path: Path) -> None:
    """A tree holding both a link ``evil`` -> outside and a file ``evil/x.yaml`` (git never makes one)."""
    outside = tmp_path / "outside"
    outside.mkdir()
    link = git(repo, "hash-object", "-w", "--stdin", stdin=str(outside))
    blob = git(repo, "hash-object", "-w", "--stdin", stdin="pwned: 1\n")
    sub = git(repo, "mktree", stdin=f"100644 blob {blob}\tx.yaml\n")
    entries = [(b"120000", "evil", link), (b"40000", "evil", sub)]
    raw = b"".join(mode + b" " + name.encode() + b"\0" + bytes.fromhex(sha) for mode, name, sha in entries)
    manifests = (
        subprocess.run(
            ["git", "-C", str(repo), "hash-object", "-t", "tree", "-w", "--literally", "--stdin"],
            input=raw,
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .strip()
    )
    root_tree = git(repo, "mktree", stdin=f"040000 tree {manifests}\tdesired-state\n")
    crafted = git(repo, "commit-tree", root_tree, "-p", "HEAD", "-m", "crafted")
    git(repo, "update-ref", "refs/heads/main", crafted)
    source = GitSource(str(repo), cache_dir=tmp_path / "cache")
    with pytest.raises(GitError):
        source.fetch()
    assert list(outside.iterdir()) == []


def test_an_old_cache_layout_and_leftovers_of_killed_processes_break_nothing(repo: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    git(tmp_path, "clone", "--quiet", str(repo), str(cache))  # the old layout: a non-bare clone in the cache
    (cache / "desired-state" / "stale.yaml").write_text("stale: 1\n")
    source = GitSource(str(repo), cache_dir=cache)
    first = source.fetch()
    assert tree(first.root) == {"a.yaml": "a: 1\n", "sub/b.yaml": "b: 1\n"}

    # A fetch killed while holding a ref lock; a private directory whose owner died long ago; one whose
    # owner is alive (holds its flock) and one just created: only the dead owner's goes.
    bare = next((cache / LAYOUT / "repos").glob("*.git"))
    ref = next((bare / "refs" / "reconciler").iterdir())
    (ref.parent / (ref.name + ".lock")).write_text("")
    work = cache / LAYOUT / "work"
    dead, alive, young = (work / name for name in ("1-dead", "2-alive", "3-young"))
    for path in (dead, alive, young):
        (path / "tree").mkdir(parents=True)
        (path / ".owner").write_text("")
    holder = os.open(alive / ".owner", os.O_RDONLY)
    fcntl.flock(holder, fcntl.LOCK_EX)
    old = time.time() - 3600
    for path in (dead, alive):
        os.utime(path, (old, old))
    try:
        (repo / "desired-state" / "a.yaml").write_text("a: 2\n")
        second = commit(repo, "next")
        checkout = source.fetch()
        assert checkout.sha == second and tree(checkout.root)["a.yaml"] == "a: 2\n"
        assert not dead.exists() and alive.exists() and young.exists()
    finally:
        os.close(holder)
    assert (cache / "desired-state" / "stale.yaml").exists()  # the old clone is left alone


def test_invalid_branch_and_path_are_not_retryable(repo: Path, tmp_path: Path) -> None:
    for branch in ("main:refs/heads/x", "-x", "a..b", "x y", ""):
        with pytest.raises(InvalidSource, match="not a valid branch name") as bad:
            GitSource(str(repo), branch=branch, cache_dir=tmp_path / "cache").resolve()
        assert not bad.value.retryable
    source = GitSource(str(repo), path="../outside", cache_dir=tmp_path / "cache")
    sha = source.resolve()
    with pytest.raises(InvalidSource, match="not inside the repository"), source.files(sha):
        pass
    with pytest.raises(GitError, match="couldn't find remote ref") as missing:
        GitSource(str(repo), branch="no-such-branch", cache_dir=tmp_path / "cache").fetch()
    assert missing.value.retryable
