"""A directory that describes a fleet: Account manifests, selectors, ${account.*} variables, shards."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from fleetdir import ACCOUNTS, example_fleet, small_fleet

from reconciler.errors import ManifestError
from reconciler.kinds import load_directory, load_fleet
from reconciler.manifests.fleet import (
    Placement,
    SelectorError,
    moved_accounts,
    parse_selector,
    placement_of,
    shard_of,
    substitute,
)
from reconciler.manifests.model import Account


def account(name: str, **labels: str) -> Account:
    return Account(
        name, None, account_id="1" * 12, region="eu-west-1", labels=labels, variables={"bucket": "b-" + name}
    )


DEV, PROD, PROD_EU, SANDBOX = (
    account("dev", env="dev", team="ml"),
    account("prod", env="prod", team="ml"),
    account("prod-eu", env="prod", team="data"),
    account("sandbox", env="dev", team="data"),
)
ALL = (DEV, PROD, PROD_EU, SANDBOX)


def chosen(text: str) -> list[str]:
    selector = parse_selector(text)
    return [a.name for a in ALL if selector.matches(a)]


def test_selectors_match_names_patterns_labels_and_exclusions() -> None:
    assert chosen("dev") == ["dev"]
    assert chosen("dev,sandbox") == ["dev", "sandbox"]  # names: any of them
    assert chosen("prod*") == ["prod", "prod-eu"]
    assert chosen("env=prod") == ["prod", "prod-eu"]
    assert chosen("env=prod,team=ml") == ["prod"]  # labels: all of them
    assert chosen("env!=prod") == ["dev", "sandbox"]
    assert chosen("env=prod,!prod-eu") == ["prod"]
    assert chosen("*,!sandbox") == ["dev", "prod", "prod-eu"]
    assert chosen("team=nobody") == []


@pytest.mark.parametrize("text", ["", "dev,", "a=b=c", "=x", "!"])
def test_a_selector_that_cannot_be_read_is_an_error(text: str) -> None:
    with pytest.raises(SelectorError):
        parse_selector(text)


def test_placement_includes_and_excludes() -> None:
    shorthand, problems = placement_of(["env=prod"])
    assert not problems
    assert [a.name for a in ALL if shorthand.matches(a)] == ["prod", "prod-eu"]
    both, _ = placement_of({"include": ["team=data", "dev"], "exclude": ["sandbox"]})
    assert [a.name for a in ALL if both.matches(a)] == ["dev", "prod-eu"]
    assert all(Placement().matches(a) for a in ALL)
    _, problems = placement_of({"include": ["ok", "a=b=c"]})
    assert [path for path, _ in problems] == [("include", 1)]


def test_variables_are_replaced_in_string_values_only() -> None:
    problems: list[tuple[tuple[str | int, ...], str]] = []
    data = {
        "name": "${account.name}-data",
        "arn": "arn:aws:iam::${account.id}:root",
        "list": ["${account.vars.bucket}", "${account.labels.env}", 3],
        "iam": "${aws:username}",  # an IAM policy variable, not ours
        "literal": "$${account.name}",
        "${account.name}": "keys are not replaced",
    }
    out = substitute(data, DEV, lambda path, message: problems.append((path, message)))
    assert out == {
        "name": "dev-data",
        "arn": "arn:aws:iam::111111111111:root",
        "list": ["b-dev", "dev", 3],
        "iam": "${aws:username}",
        "literal": "${account.name}",
        "${account.name}": "keys are not replaced",
    }
    assert not problems


def test_an_unknown_variable_is_reported_where_it_is() -> None:
    problems: list[tuple[tuple[str | int, ...], str]] = []
    substitute({"spec": {"x": ["${account.vars.missing}"]}}, DEV, lambda p, m: problems.append((p, m)))
    ((path, message),) = problems
    assert path == ("spec", "x", 0)
    assert message == "unknown variable ${account.vars.missing} (the account's vars: bucket)"


def test_rendezvous_shards_are_stable_balanced_and_move_little() -> None:
    rng = random.Random(7)
    ids = [f"{rng.randrange(10**12):012d}" for _ in range(2000)]
    for count in (1, 2, 4, 5):
        shards = [shard_of(i, count) for i in ids]
        assert all(0 <= s < count for s in shards)
        assert shards == [shard_of(i, count) for i in ids]  # the same everywhere, every time
        sizes = [shards.count(s) for s in range(count)]
        assert max(sizes) - min(sizes) < 0.15 * len(ids) / count * 2  # balanced
    moved = moved_accounts(ids, 4, 5)
    assert 0.1 * len(ids) < len(moved) < 0.3 * len(ids)  # about 1/5
    assert all(shard_of(i, 5) == 4 for i in moved)  # only to the new shard
    with pytest.raises(ValueError, match="at least 1"):
        shard_of("111111111111", 0)


# ------------------------------------------------------------------------------------------------ loading


def test_the_example_as_a_fleet_has_one_desired_state_per_account(tmp_path: Path) -> None:
    fleet = load_fleet(example_fleet(tmp_path / "fleet"))
    assert fleet.is_fleet
    assert [a.name for a in fleet.accounts] == ["dev", "prod"]
    dev, prod = fleet.states
    assert (dev.settings.account_id, dev.settings.region) == ("111111111111", "ap-northeast-1")
    assert (prod.settings.account_id, prod.settings.region) == ("222222222222", "eu-west-1")  # Account.region wins
    assert sorted(dev.of("Bucket")) == ["dev-sagemaker-rawdata", "dev-sagemaker-result"]
    assert sorted(prod.of("Bucket")) == ["prod-sagemaker-rawdata", "prod-sagemaker-result"]
    assert dev.count() == prod.count() == load_directory(Path(__file__).parents[2] / "desired-state").count()
    # a manifest without variables is built once and shared by every account
    assert dev.get("Group", "engineers") is prod.get("Group", "engineers")
    assert dev.account is not None and dev.account.role_for(read_only=True).endswith(":role/reconciler-spoke-read")


def test_metadata_accounts_places_a_manifest_in_some_accounts(tmp_path: Path) -> None:
    root = small_fleet(tmp_path / "f")
    (root / "prod-only.yaml").write_text(
        "apiVersion: reconciler/v1\nkind: Policy\nmetadata:\n  name: prod-audit\n  accounts: [env=prod]\nspec:\n"
        "  document:\n    Version: '2012-10-17'\n    Statement:\n      - Effect: Allow\n        Action: "
        "['s3:ListBucket']\n        Resource: 'arn:aws:s3:::x'\n",
        encoding="utf-8",
    )
    dev, prod = load_fleet(root).states
    assert "prod-audit" not in dev.of("Policy")
    assert "prod-audit" in prod.of("Policy")
    assert sorted(dev.of("Role")) == ["analyst-ml"]  # ${account.vars.team}


def test_a_problem_only_some_accounts_have_names_them(tmp_path: Path) -> None:
    accounts = {**ACCOUNTS, "lab": ("333333333333", {"env": "lab"}, None)}
    root = small_fleet(tmp_path / "f", accounts)
    text = (root / "accounts.yaml").read_text(encoding="utf-8")
    # lab has no team variable... (its vars.team is "none": make the role name invalid instead)
    (root / "accounts.yaml").write_text(text.replace("team: none", "team: 'bad name'"), encoding="utf-8")
    with pytest.raises(ManifestError) as caught:
        load_fleet(root, display_root="f")
    (problem,) = caught.value.problems
    assert problem.file == "f/iam.yaml"
    assert problem.resource == "Role/analyst-bad name"
    assert problem.message.endswith("(for Account/lab)")
    # selecting the other accounts leaves lab's problem out: only what is selected is expanded
    fleet = load_fleet(root, select=lambda a: a.name != "lab")
    assert [s.account.name for s in fleet.states if s.account] == ["dev", "prod"]


def test_an_unknown_variable_is_a_located_error(tmp_path: Path) -> None:
    root = small_fleet(tmp_path / "f")
    text = (root / "iam.yaml").read_text(encoding="utf-8").replace("${account.vars.team}", "${account.vars.tema}")
    (root / "iam.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(ManifestError) as caught:
        load_fleet(root, display_root="f")
    (problem,) = caught.value.problems
    assert (problem.file, problem.line, problem.field) == ("f/iam.yaml", 17, "metadata.name")
    assert "unknown variable ${account.vars.tema}" in problem.message
    assert "(for" not in problem.message  # every account has it


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda t: t.replace('accountId: "222222222222"', 'accountId: "111111111111"'),
            "111111111111 is also Account/dev's",
        ),
        (lambda t: t.replace("name: prod", "name: dev"), "dev is also Account/dev's"),
        (lambda t: t.replace("name: prod", "name: Prod!"), "metadata.name"),
    ],
    ids=["same-id", "same-name", "bad-name"],
)
def test_accounts_are_unique_and_valid(tmp_path: Path, edit: object, message: str) -> None:
    root = small_fleet(tmp_path / "f")
    path = root / "accounts.yaml"
    path.write_text(edit(path.read_text(encoding="utf-8")), encoding="utf-8")  # type: ignore[operator]
    with pytest.raises(ManifestError) as caught:
        load_fleet(root)
    assert any(message in str(p) for p in caught.value.problems), caught.value.problems


def test_settings_account_id_must_be_the_accounts_own(tmp_path: Path) -> None:
    root = small_fleet(tmp_path / "f")
    (root / "settings.yaml").write_text(
        (root / "settings.yaml").read_text(encoding="utf-8") + '  accountId: "111111111111"\n', encoding="utf-8"
    )
    with pytest.raises(ManifestError) as caught:
        load_fleet(root)
    (problem,) = caught.value.problems
    assert "is not the id of Account/prod (222222222222)" in problem.message
    assert problem.message.endswith("(for Account/prod)")
    # ${account.id} is every account's own
    text = (root / "settings.yaml").read_text(encoding="utf-8").replace('"111111111111"', '"${account.id}"')
    (root / "settings.yaml").write_text(text, encoding="utf-8")
    assert len(load_fleet(root)) == 2


def test_a_directory_of_one_account_refuses_fleet_features(tmp_path: Path) -> None:
    root = tmp_path / "one"
    root.mkdir()
    (root / "settings.yaml").write_text(
        "apiVersion: reconciler/v1\nkind: Settings\nmetadata:\n  name: one\nspec:\n  accountId: '123456789012'\n",
        encoding="utf-8",
    )
    (root / "p.yaml").write_text(
        "apiVersion: reconciler/v1\nkind: Policy\nmetadata:\n  name: p-${account.name}\n  accounts: [dev]\nspec:\n"
        "  document:\n    Version: '2012-10-17'\n    Statement:\n      - Effect: Allow\n        Action: "
        "['s3:ListBucket']\n        Resource: 'arn:aws:s3:::x'\n",
        encoding="utf-8",
    )
    with pytest.raises(ManifestError) as caught:
        load_directory(root, display_root="one")
    messages = [f"{p.line}: {p.message}" for p in caught.value.problems]
    assert any(m.startswith("4: uses ${account.") for m in messages), messages
    assert any(m.startswith("5: metadata.accounts selects Account manifests") for m in messages), messages


def test_load_directory_refuses_a_fleet(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="describes a fleet of 2 account"):
        load_directory(small_fleet(tmp_path / "f"))


def test_variables_in_a_directory_of_one_account_are_found_in_lists_and_merges_not_keys(tmp_path: Path) -> None:
    # The loader looks for them only in the documents whose strings mention one (the parser tells)
    root = tmp_path / "one"
    root.mkdir()
    (root / "settings.yaml").write_text(
        'apiVersion: reconciler/v1\nkind: Settings\nmetadata: {name: s}\nspec: {accountId: "111122223333"}\n'
    )
    (root / "groups.yaml").write_text(
        "apiVersion: reconciler/v1\nkind: Group\nmetadata: {name: g1}\n"
        "spec: {<<: {path: '/${account.name}/'}}\n"
        "---\n"
        "apiVersion: reconciler/v1\nkind: Group\nmetadata: {name: g2}\n"
        "spec: {policies: [x, 'arn:aws:iam::${account.id}:policy/p']}\n"
        "---\n"
        "apiVersion: reconciler/v1\nkind: Group\nmetadata: {name: g3}\nspec: {'${account.name}': x}\n"
    )
    with pytest.raises(ManifestError) as caught:
        load_directory(root, display_root="one")
    found = sorted((p.resource, p.line, p.message.split(" variables")[0]) for p in caught.value.problems)
    assert found == [
        ("Group/g1", 4, "uses ${account.…}"),
        ("Group/g2", 9, "uses ${account.…}"),
        (
            "Group/g3",
            14,
            "unknown field '${account.name}'; allowed: deletionPolicy, inlinePolicies, path, policies, requireMFA",
        ),
    ]
