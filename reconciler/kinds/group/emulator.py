"""What the embedded emulator (moto 5.2) lacks for groups, added to it: moving a group to another path.

moto's UpdateGroup ignores ``NewPath`` unless the group is renamed too (``NewGroupName``); AWS moves the
group. Added, onto ``IAMBackend``:

  ~ update_group   a NewPath without a NewGroupName sets the group's path

Installed by ``reconciler.sandbox`` when the first emulator starts (``Kind.install_emulator``); moto is
imported only then.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

_installed = False


def install() -> None:
    """Make moto's UpdateGroup move a group to its NewPath. Idempotent."""
    global _installed  # noqa: PLW0603 - once per process
    if _installed:
        return
    from moto.iam.models import IAMBackend  # noqa: PLC0415 - moto only with the sandbox

    setattr(IAMBackend, "update_group", _moving_group(IAMBackend.update_group))  # noqa: B010
    _installed = True


def _moving_group(original: Callable[..., Any]) -> Callable[..., Any]:
    """UpdateGroup with a NewPath and no NewGroupName: moto changes nothing; AWS moves the group."""

    @functools.wraps(original)
    def update_group(self: Any, group_name: str, new_group_name: str | None, new_path: str | None) -> None:
        if new_group_name or not new_path:
            original(self, group_name, new_group_name, new_path)
        else:
            self.get_group(group_name).path = new_path

    return update_group
