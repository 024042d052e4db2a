"""Deterministic, readable YAML for manifests: the style of the shipped example in ``desired-state/``.

- keys in the order they were built (the converter follows the schemas), never sorted or reordered;
- block style, sequences indented under their key, no line folding, no anchors or aliases;
- strings quoted only when YAML would read them as something else (``"123456789012"``,
  ``"2012-10-17"``, ``"*"``, ``"true"``), and then with double quotes; non-ASCII text kept as is.

What the loader (``reconciler.manifests.yamlsource``) reads back is exactly the data dumped here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import yaml

__all__ = ["dump_documents"]


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)

    def choose_scalar_style(self) -> str:
        style = super().choose_scalar_style()
        return '"' if style == "'" else str(style)


def dump_documents(documents: Sequence[Any], header: Sequence[str] = ()) -> str:
    """YAML text of ``documents`` (separated by ``---``), after ``header`` comment lines."""
    body = yaml.dump_all(
        list(documents),
        Dumper=_Dumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=1_000_000,
        explicit_start=False,
    )
    return "".join(f"# {line}\n" for line in header) + body
