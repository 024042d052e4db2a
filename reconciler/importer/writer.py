"""The files of an import: ``settings.yaml`` and one file per resource in a folder per kind.

Nothing is written when a file would overwrite an existing one, unless ``force`` says so: the check
covers every file before the first one is written.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from reconciler.errors import ReconcilerError
from reconciler.importer.convert import Manifest
from reconciler.importer.yamlout import dump_documents

__all__ = ["FOLDERS", "ImportRefused", "layout", "write_files"]

#: The folder of each kind, as in the shipped example (desired-state/).
FOLDERS: Mapping[str, str] = {
    "Policy": "policies",
    "Role": "roles",
    "Group": "groups",
    "User": "users",
    "Bucket": "buckets",
    "NotebookInstance": "notebooks",
}

SETTINGS_FILE = "settings.yaml"


class ImportRefused(ReconcilerError):
    """The import would overwrite files (without --force), or cannot write where it was asked to."""


def _file_name(name: str, taken: set[str]) -> str:
    # The loader skips hidden files: a name starting with "." (IAM allows it) gets a visible file name.
    base = f"_{name}" if name.startswith(".") else name
    candidate, n = base, 2
    while candidate.lower() in taken:  # case-insensitive file systems
        candidate, n = f"{base}~{n}", n + 1
    taken.add(candidate.lower())
    return f"{candidate}.yaml"


def layout(settings: Manifest, manifests: Sequence[Manifest], header: Sequence[str]) -> dict[str, str]:
    """Relative path -> file text, in a deterministic order."""
    files = {SETTINGS_FILE: dump_documents([settings.data], header)}
    taken: dict[str, set[str]] = {}
    for manifest in manifests:
        folder = FOLDERS[manifest.kind]
        files[f"{folder}/{_file_name(manifest.name, taken.setdefault(folder, set()))}"] = dump_documents(
            [manifest.data]
        )
    return files


def write_files(out: Path, files: Mapping[str, str], *, force: bool, display: str) -> None:
    """Write ``files`` under ``out``; refuse (writing nothing) to overwrite a file without ``force``."""
    if out.exists() and not out.is_dir():
        raise ImportRefused(f"{display} exists and is not a directory")
    if not force:
        existing = [rel for rel in files if (out / rel).exists()]
        if existing:
            shown = ", ".join(f"{display.rstrip('/')}/{rel}" for rel in existing[:5])
            more = f" and {len(existing) - 5} more" if len(existing) > 5 else ""
            raise ImportRefused(
                f"{len(existing)} file(s) already exist ({shown}{more}); nothing was written. "
                "Use --force to overwrite them, or choose another --out"
            )
    for rel, text in files.items():
        path = out / rel
        if path.is_dir():
            raise ImportRefused(f"{display.rstrip('/')}/{rel} is a directory")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="\n")
