"""Edits of a copy of the shipped example (``desired-state/``) that tests make, as a person would commit them."""

from __future__ import annotations

from pathlib import Path


def without_documents(text: str, kind: str, *names: str) -> str:
    """``text`` (a multi-document manifest file) without the ``kind`` manifests named ``names`` (each must be
    there: an edit that silently does nothing would make its test meaningless)."""
    documents = text.split("---\n")
    kept = [d for d in documents if not any(f"kind: {kind}\nmetadata:\n  name: {name}\n" in d for name in names)]
    assert len(documents) - len(kept) == len(names), f"not every {kind} of {names} found"
    return "---\n".join(kept)


def remove_users(desired_state: Path, *names: str) -> None:
    """Revoke these users: their User manifests go, and so do their Studio profiles (a profile's
    ``for.user`` must name a User manifest; a profile is Retain by default, so it is released, not deleted)."""
    for rel, kind in (("users/users.yaml", "User"), ("studio/studio.yaml", "StudioUserProfile")):
        path = desired_state / rel
        path.write_text(without_documents(path.read_text(), kind, *names))
