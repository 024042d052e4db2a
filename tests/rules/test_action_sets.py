"""Action sets (exact names, then wildcards grouped by service) answer as the alternation regex they replaced, on
the biggest AWS managed policies against every action of the IAM catalog and against the policies' own patterns."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.policydoc import action_matches, action_regex, action_set, parse_policy
from reconciler.rules.awsmanaged import snapshot
from reconciler.rules.catalog import catalog

# The biggest action lists of the snapshot (AWSSupportServiceRolePolicy: 4,674 patterns), a NotAction one
# (PowerUserAccess) and "*" (AdministratorAccess).
POLICIES = (
    "arn:aws:iam::aws:policy/aws-service-role/AWSSupportServiceRolePolicy",
    "arn:aws:iam::aws:policy/ReadOnlyAccess",
    "arn:aws:iam::aws:policy/aws-service-role/AWSConfigServiceRolePolicy",
    "arn:aws:iam::aws:policy/PowerUserAccess",
    "arn:aws:iam::aws:policy/AdministratorAccess",
    "arn:aws:iam::aws:policy/AmazonSageMakerFullAccess",
    "arn:aws:iam::aws:policy/AmazonSageMakerReadOnly",
)


def _alternation(patterns: tuple[str, ...]) -> re.Pattern[str]:
    """What action_set replaced: one regex, an alternation of every pattern."""
    return re.compile("|".join(f"(?:{action_regex(p).pattern})" for p in patterns), re.DOTALL)


def _action_lists(arn: str) -> list[tuple[str, ...]]:
    document = snapshot().document(arn)
    assert document is not None, arn
    statements = parse_policy(document).statements
    return [lists for s in statements for lists in (s.action, s.not_action) if lists]


@pytest.fixture(scope="module")
def catalog_actions() -> list[str]:
    known = catalog()
    return [a.full for service in sorted(known.services) for a in known.actions(service)]


@pytest.mark.parametrize("arn", POLICIES)
def test_the_set_answers_as_the_alternation_on_every_catalog_action(arn: str, catalog_actions: list[str]) -> None:
    lists = _action_lists(arn)
    assert lists
    for patterns in lists:
        matcher, regex = action_set(patterns), _alternation(patterns)
        # every action of the catalog, as written and in other cases; the patterns themselves as names
        names = [
            *catalog_actions,
            *(a.upper() for a in catalog_actions[::7]),
            *patterns,
            *(p.swapcase() for p in patterns),
        ]
        wrong = [n for n in names if matcher.matches(n) != (regex.fullmatch(n.lower()) is not None)]
        assert wrong == [], (arn, wrong[:10])
    assert sum(len(p) for p in lists) >= 1


def test_the_wildcards_of_a_big_list_are_prefixes() -> None:
    """The point of the structure: ReadOnlyAccess's wildcards are prefixes (``s3:Get*``), so no regex is needed."""
    patterns = [p for lists in _action_lists("arn:aws:iam::aws:policy/ReadOnlyAccess") for p in lists]
    wildcards = [p for p in patterns if "*" in p or "?" in p]
    assert len(patterns) > 3000 and len(wildcards) > 200
    assert [p for p in wildcards if not (p.endswith("*") and "*" not in p[:-1] and "?" not in p)] == []


_PART = st.text(st.sampled_from(list("abgetAB*?.:$")), max_size=6)
_PATTERN = st.builds(lambda s, n: f"{s}:{n}", _PART, _PART) | _PART


@settings(max_examples=400, deadline=None)
@given(st.lists(_PATTERN, min_size=1, max_size=8), st.lists(_PATTERN, min_size=1, max_size=8))
def test_service_shaped_patterns_and_names(patterns: list[str], names: list[str]) -> None:
    """Patterns and names shaped like ``service:Name`` (wildcards in either part, colons in the name, no colon at
    all): the set answers as each pattern in turn."""
    matcher = action_set(tuple(patterns))
    for name in names:
        assert matcher.matches(name) == any(action_matches(p, name) for p in patterns), (patterns, name)
