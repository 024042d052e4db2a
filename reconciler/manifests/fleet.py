"""A fleet of accounts from one directory: ``Account`` manifests, selectors, ``${account.*}`` variables, and
which shard of the controller reconciles which account.

- An **Account** manifest names an AWS account (``spec.accountId``), its region, the role the reconciler
  assumes in it (hub and spoke), labels and variables. A directory without any keeps working as a single
  account (its Settings' ``accountId``).
- A **selector** picks accounts. Its text form (``--accounts``, and each entry of ``metadata.accounts``) is a
  comma-separated list of terms: account names (``dev``, or a shell pattern ``team-*``; any one of them
  matches), label conditions (``env=prod``, ``env!=prod``; all must hold) and exclusions (``!sandbox``).
- A manifest's **variables** ``${account.name}``, ``${account.id}``, ``${account.region}``,
  ``${account.labels.KEY}`` and ``${account.vars.KEY}`` are replaced in every string value (not in keys);
  ``$${account.`` writes a literal ``${account.``. Other ``${...}`` (IAM's ``${aws:username}``) are left as
  they are. An unknown variable is an error located at the string.
- **Shards**: :func:`shard_of` assigns an account to one of N shards by rendezvous (highest random weight)
  hashing of its id, so going from N to N+1 shards moves only the accounts the new shard wins (about
  1/(N+1) of them), and every shard computes the same assignment with no coordination.
"""

from __future__ import annotations

import fnmatch
import hashlib
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from reconciler.manifests.model import ACCOUNT, Account, DesiredState, Source
from reconciler.manifests.yamlsource import VARIABLE_MARK

__all__ = [
    "ACCOUNT",
    "ACCOUNT_SCHEMA",
    "EVERYWHERE",
    "Account",
    "AccountSelector",
    "Fleet",
    "Placement",
    "SelectorError",
    "VariableError",
    "build_account",
    "moved_accounts",
    "parse_selector",
    "placement_of",
    "shard_of",
    "substitute",
    "uses_variables",
    "variable_paths",
]

ACCOUNT_SCHEMA = "account.schema.json"


def build_account(name: str, labels: Mapping[str, str], spec: Mapping[str, Any], source: Source | None) -> Account:
    """The typed Account of a manifest whose metadata and spec passed the schema."""
    return Account(
        name,
        source,
        account_id=str(spec["accountId"]),
        region=spec.get("region"),
        labels=dict(labels),
        variables={str(k): str(v) for k, v in spec.get("vars", {}).items()},
        role_arn=spec.get("roleArn"),
        read_role_arn=spec.get("readRoleArn"),
        external_id=spec.get("externalId"),
    )


@dataclass(frozen=True)
class Fleet:
    """What a directory describes: the desired state of each selected account of its fleet (by account name), or
    of its one account when it has no Account manifests (``accounts`` is empty then)."""

    states: tuple[DesiredState, ...]
    accounts: tuple[Account, ...]  # every Account manifest, by name
    root: str = ""
    fingerprint: str = ""

    @property
    def is_fleet(self) -> bool:
        return bool(self.accounts)

    def __len__(self) -> int:
        return len(self.states)


# ---------------------------------------------------------------------------------------------- selectors


class SelectorError(ValueError):
    """A selector's text cannot be read."""


_LABEL_KEY = r"[A-Za-z0-9][A-Za-z0-9._/-]*"
_TERM = re.compile(
    rf"^(?:(?P<key>{_LABEL_KEY})\s*(?P<op>!=|==|=)\s*(?P<value>[^,=!]*)|(?P<neg>!)?\s*(?P<name>[^,=!\s]+))$"
)


@dataclass(frozen=True)
class AccountSelector:
    """Accounts whose name matches one of ``names`` (any, when empty), whose labels satisfy every condition,
    and whose name matches none of ``excluded``."""

    names: tuple[str, ...] = ()
    equal: tuple[tuple[str, str], ...] = ()
    unequal: tuple[tuple[str, str], ...] = ()
    excluded: tuple[str, ...] = ()
    text: str = ""

    def matches(self, account: Account) -> bool:
        if self.names and not any(fnmatch.fnmatchcase(account.name, n) for n in self.names):
            return False
        if any(account.labels.get(k) != v for k, v in self.equal):
            return False
        if any(account.labels.get(k) == v for k, v in self.unequal):
            return False
        return not any(fnmatch.fnmatchcase(account.name, n) for n in self.excluded)


def parse_selector(text: str) -> AccountSelector:
    """``dev,staging`` / ``env=prod,team=ml`` / ``env=prod,!prod-eu`` / ``*`` -> a selector."""
    names: list[str] = []
    equal: list[tuple[str, str]] = []
    unequal: list[tuple[str, str]] = []
    excluded: list[str] = []
    terms = [t.strip() for t in text.split(",")]
    if not text.strip() or any(not t for t in terms):
        raise SelectorError(f"empty term in account selector {text!r}")
    for term in terms:
        found = _TERM.match(term)
        if not found:
            raise SelectorError(
                f"cannot read {term!r} in account selector {text!r}: expected NAME, !NAME, KEY=VALUE or KEY!=VALUE"
            )
        if found["key"] is not None:
            (unequal if found["op"] == "!=" else equal).append((found["key"], found["value"].strip()))
        elif found["neg"]:
            excluded.append(found["name"])
        else:
            names.append(found["name"])
    return AccountSelector(tuple(names), tuple(equal), tuple(unequal), tuple(excluded), text.strip())


@dataclass(frozen=True)
class Placement:
    """``metadata.accounts`` of a manifest: in the accounts one ``include`` selector matches (every account
    when there is none), and in none that an ``exclude`` selector matches."""

    include: tuple[AccountSelector, ...] = ()
    exclude: tuple[AccountSelector, ...] = ()

    def matches(self, account: Account) -> bool:
        if self.include and not any(s.matches(account) for s in self.include):
            return False
        return not any(s.matches(account) for s in self.exclude)


EVERYWHERE = Placement()


def placement_of(raw: Any) -> tuple[Placement, list[tuple[tuple[str | int, ...], str]]]:
    """The placement of a ``metadata.accounts`` value that passed the schema (a list of selectors, or a mapping
    with ``include`` and ``exclude`` lists), and the problems of its selectors: (path under it, message)."""
    lists = {"include": raw} if isinstance(raw, list) else raw
    if not isinstance(lists, dict) or not all(
        isinstance(v, list) and all(isinstance(t, str) for t in v) for v in lists.values()
    ):
        return EVERYWHERE, []  # not the schema's shape: the kind's schema reports it
    problems: list[tuple[tuple[str | int, ...], str]] = []
    parsed: dict[str, list[AccountSelector]] = {"include": [], "exclude": []}
    for part in ("include", "exclude"):
        for index, text in enumerate(lists.get(part, ())):
            path: tuple[str | int, ...] = (index,) if isinstance(raw, list) else (part, index)
            try:
                parsed[part].append(parse_selector(text))
            except SelectorError as exc:
                problems.append((path, str(exc)))
    return Placement(tuple(parsed["include"]), tuple(parsed["exclude"])), problems


# ---------------------------------------------------------------------------------------------- variables


class VariableError(ValueError):
    """A string names a variable the account does not have."""


_VARIABLE = re.compile(r"\$?\$\{account\.([^}]*)\}")
_MARK = VARIABLE_MARK


def variables_of(account: Account) -> dict[str, str]:
    """Every variable of ``account``, by its name after ``account.``."""
    found = {"name": account.name, "id": account.account_id}
    if account.region:
        found["region"] = account.region
    found.update({f"labels.{k}": v for k, v in account.labels.items()})
    found.update({f"vars.{k}": v for k, v in account.variables.items()})
    return found


def _expand(text: str, values: Mapping[str, str]) -> str:
    def replace(match: re.Match[str]) -> str:
        if match.group(0).startswith("$$"):
            return match.group(0)[1:]  # $${account.x} -> the literal ${account.x}
        name = match.group(1)
        if name not in values:
            group, dot, _ = name.partition(".")
            if dot and group in ("vars", "labels"):
                have = sorted(k.split(".", 1)[1] for k in values if k.startswith(group + "."))
                known = f"the account's {group}: {', '.join(have) or 'none'}"
            else:
                known = "use ${account.name}, .id, .region, .labels.KEY or .vars.KEY"
            raise VariableError(f"unknown variable ${{account.{name}}} ({known})")
        return values[name]

    return _VARIABLE.sub(replace, text)


def variable_paths(data: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    """The paths of the string values of ``data`` that mention ``${account.``, in document order."""
    if isinstance(data, str):
        if _MARK in data:
            yield path
    elif isinstance(data, dict):
        for key, value in data.items():
            yield from variable_paths(value, (*path, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from variable_paths(value, (*path, index))


def uses_variables(data: Any) -> bool:
    """Whether any string value of ``data`` mentions ``${account.`` (stops at the first)."""
    return next(variable_paths(data), None) is not None


def substitute(
    data: Any, account: Account, problem: Callable[[tuple[str | int, ...], str], None], path: tuple[str | int, ...] = ()
) -> Any:
    """``data`` with the account's variables replaced in every string value; each unknown variable is reported
    through ``problem(path, message)`` (and the string is left as it was)."""
    return _substitute(data, variables_of(account), account, problem, path)


def _substitute(
    data: Any,
    values: Mapping[str, str],
    account: Account,
    problem: Callable[[tuple[str | int, ...], str], None],
    path: tuple[str | int, ...],
) -> Any:
    if isinstance(data, str):
        if _MARK not in data:
            return data
        try:
            return _expand(data, values)
        except VariableError as exc:
            problem(path, str(exc))
            return data
    if isinstance(data, dict):
        return {k: _substitute(v, values, account, problem, (*path, k)) for k, v in data.items()}
    if isinstance(data, list):
        return [_substitute(v, values, account, problem, (*path, i)) for i, v in enumerate(data)]
    return data


# ---------------------------------------------------------------------------------------------- shards


def _weight(shard: int, account_id: str) -> int:
    digest = hashlib.blake2b(f"{shard}:{account_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def shard_of(account_id: str, count: int) -> int:
    """The shard (0..count-1) that reconciles ``account_id``: the one with the highest hash of (shard, id)."""
    if count < 1:
        raise ValueError(f"the shard count must be at least 1, not {count}")
    return max(range(count), key=lambda shard: _weight(shard, account_id))


def moved_accounts(account_ids: Iterable[str], before: int, after: int) -> list[str]:
    """The accounts whose shard changes when the shard count goes from ``before`` to ``after``."""
    return [a for a in account_ids if shard_of(a, before) != shard_of(a, after)]
