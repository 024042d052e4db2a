"""Manifest directories for the tests of ``reconciler check``: the shipped example, with the edits a pull request
would make."""

from __future__ import annotations

import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "desired-state"
SEED = REPO / "tests" / "fixtures" / "seed"
ROLES = Path("roles") / "notebook-roles.yaml"
TYPO = "arn:aws:iam::aws:policy/AmazonSageMakerFullAcess"
FULL_ACCESS = "arn:aws:iam::aws:policy/AmazonSageMakerFullAccess"


def example(root: Path) -> Path:
    """A copy of the shipped example at ``root`` (clean: check exits 0)."""
    shutil.copytree(EXAMPLE, root)
    return root


def attach(root: Path, arn: str, role: str = "notebook-for-engineer-role") -> None:
    """Attach ``arn`` to one of the example's roles (after its Policy manifests)."""
    path = root / ROLES
    text = path.read_text(encoding="utf-8")
    head, sep, tail = text.partition(f"  name: {role}\n")
    assert sep, role
    marker = "    - notebook-logs\n"
    assert marker in tail
    path.write_text(head + sep + tail.replace(marker, marker + f"    - {arn}\n", 1), encoding="utf-8")


def boundary(root: Path, arn: str, role: str = "notebook-for-administrator-role") -> None:
    path = root / ROLES
    text = path.read_text(encoding="utf-8")
    head, sep, tail = text.partition(f"  name: {role}\n")
    marker = "  maxSessionDuration: 3600\n"
    assert sep and marker in tail
    path.write_text(head + sep + tail.replace(marker, marker + f"  permissionsBoundary: {arn}\n", 1), encoding="utf-8")


def except_rule(root: Path, rule: str, resource: str, reason: str = "reviewed in SEC-1") -> None:
    path = root / "settings.yaml"
    text = path.read_text(encoding="utf-8")
    entry = f"  exceptions:\n    - rule: {rule}\n      resource: {resource}\n      reason: {reason}\n"
    entry += "      owner: security\n"
    path.write_text(text + entry, encoding="utf-8")


def line_at(location: str) -> str:
    """The text of the manifest line a ``file:line:col`` location points at (its column checked too)."""
    file, line, col = location.rsplit(":", 2)
    lines = Path(file).read_text(encoding="utf-8").splitlines()
    text = lines[int(line) - 1]
    assert 1 <= int(col) <= len(text), (location, text)
    return text[int(col) - 1 :]
