"""IAM policy documents compared by meaning, not by spelling.

Policies reach the reconciler from two sides that spell the same thing differently: the YAML
manifests (a mapping, in which YAML may have turned ``true`` into a bool, ``123456789012`` into an
int and an unquoted ``2012-10-17`` into a date) and AWS (a mapping, a JSON string, or a URL-encoded
JSON string, depending on the API). :func:`normalise` maps both to one canonical form, so that an
unchanged policy never shows up in a plan and a changed one can be shown statement by statement
(:func:`diff_documents`, :func:`render_statement`). The security rules read documents through the
same parser (:func:`parse_policy`), so what is compared and what is checked never disagree.

The canonical form (everything is pure: no I/O, no AWS calls):

* ``Version`` is kept; a missing one becomes ``"2008-10-17"``, as AWS does. ``Id`` is kept if present.
* ``Statement`` is always a list, sorted by each statement's canonical JSON, without exact
  duplicates (a repeated statement grants nothing more).
* In each statement: ``Effect`` as written (AWS treats it case-sensitively); ``Sid`` kept (it is not
  semantic, but a renamed Sid is a real change to the stored document) and dropped when empty.
* ``Action``/``NotAction``: a sorted list of unique, **lower-cased** names. IAM matches action
  names case-insensitively (``s3:GetObject`` == ``s3:getobject``); lower case is the one form that
  needs no catalogue of actions. Consequence: canonical statements show lower-case actions.
* ``Resource``/``NotResource``: a sorted list of unique strings, **case kept**: ARNs are
  case-sensitive in their resource part (S3 keys, role names in paths...), so folding case would
  make different resources look equal.
* ``Principal``/``NotPrincipal``: a mapping of principal type -> sorted unique list; ``"*"`` is
  ``{"AWS": ["*"]}``; a bare 12-digit account id under ``AWS`` becomes
  ``arn:aws:iam::<id>:root`` (which is what AWS stores; ids are assumed to be in the ``aws``
  partition). Other values keep their case.
* ``Condition``: operator (as written) -> condition key (lower-cased: IAM condition keys are
  case-insensitive) -> sorted unique list of strings. Values keep their case (``StringEquals`` is
  case-sensitive); ``True``/``False`` become ``"true"``/``"false"``, numbers their decimal string,
  YAML dates/timestamps their ISO 8601 text (UTC as ``Z``). Empty operator blocks and an empty
  ``Condition`` are dropped: they constrain nothing.

Element names (``Statement``, ``Effect``, ...) are case-sensitive and must be the known ones: an
unknown element (usually a typo such as ``Resources``) is an error rather than silently ignored,
as are mutually exclusive pairs (``Action`` with ``NotAction``...) and a condition key that appears
twice under one operator once case is folded.

Modules: ``parse`` (the one parser: a document into typed, normalised :class:`PolicyStatement`
values, in the order written), ``canonical`` (the canonical form, equivalence), ``diff`` (statement
by statement), ``render`` (one line per statement), ``actions`` (action names and wildcards).
"""

from reconciler.policydoc.actions import ActionSet, action_matches, action_regex, action_set, canonical_action
from reconciler.policydoc.canonical import canonical_json, equivalent, normalise, statements
from reconciler.policydoc.diff import StatementDiff, diff_documents
from reconciler.policydoc.parse import (
    DEFAULT_VERSION,
    PolicyDocument,
    PolicyDocumentError,
    PolicyInput,
    PolicyStatement,
    as_list,
    parse_document,
    parse_policy,
    parse_statement,
)
from reconciler.policydoc.render import render_statement

__all__ = [
    "DEFAULT_VERSION",
    "ActionSet",
    "PolicyDocument",
    "PolicyDocumentError",
    "PolicyInput",
    "PolicyStatement",
    "StatementDiff",
    "action_matches",
    "action_regex",
    "action_set",
    "as_list",
    "canonical_action",
    "canonical_json",
    "diff_documents",
    "equivalent",
    "normalise",
    "parse_document",
    "parse_policy",
    "parse_statement",
    "render_statement",
    "statements",
]
