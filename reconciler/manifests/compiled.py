"""A compiled form of the manifest schemas: whether a document is valid, with its defaults filled in, as the
interpreted validator of :mod:`reconciler.manifests.schema` would say and fill, in a tenth of its time.

jsonschema builds a validator object for each subschema it descends into and a ``ValidationError`` for each
failed branch of a ``oneOf``, even in a valid document; loading and validating the manifests was a quarter of
``plan``'s CPU time. Here each (inlined) schema becomes nested closures, made once per schema file, that only
answer "valid?". They run the keywords exactly as jsonschema does, for the side effect that matters: the
defaults the ``properties`` keyword fills in (see ``schema._fill_defaults``), including those of a ``oneOf``
branch that fails, in the same order. jsonschema checks all keywords of a schema when it looks for errors and
stops at the first error when it only asks whether a subschema is valid (``not``, ``if``, the ``oneOf`` branches
after the first valid one); so do these closures (``full`` and not).

Only validity: a document that fails gets its filled-in defaults taken out again (``Added``) and is validated by
jsonschema, which names the problems as before, with the same messages and locations. A schema with a keyword
that is not compiled here (``$ref`` left by a recursive schema, ``anyOf``, ``patternProperties``...) is not
compiled (:func:`compile_schema` returns None) and jsonschema validates every document of it.
"""

from __future__ import annotations

import json
import numbers
import re
from collections.abc import Callable, Mapping
from typing import Any

from jsonschema._utils import equal, uniq

#: One compiled (sub)schema: ``check(instance, full, added)`` -> valid; ``full``: every keyword is checked even
#: after one failed (jsonschema's ``iter_errors``), else the first failure ends it (``is_valid``).
Check = Callable[[Any, bool, "Added"], bool]
Added = list[tuple[dict[str, Any], str]]
"""The defaults filled in, as (mapping, key), in order: what to delete to have the document as it was."""


class NotCompiled(Exception):
    """The schema uses a keyword that is not compiled here."""


# The keywords with a meaning for validation here; any other keyword that jsonschema validates (``validates``)
# makes the schema not compiled. ``then`` and ``else`` belong to ``if``.
_TYPES: dict[str, Callable[[Any], bool]] = {
    "array": lambda v: isinstance(v, list),
    "boolean": lambda v: isinstance(v, bool),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),  # as schema._is_integer
    "null": lambda v: v is None,
    "number": lambda v: isinstance(v, numbers.Number) and not isinstance(v, bool),
    "object": lambda v: isinstance(v, dict),
    "string": lambda v: isinstance(v, str),
}


def _always(instance: Any, full: bool, added: Added) -> bool:
    return True


def _never(instance: Any, full: bool, added: Added) -> bool:
    return False


def compile_schema(
    schema: Any,
    validates: frozenset[str],
    pattern: Callable[[str], re.Pattern[str]],
    formats: Mapping[str, Callable[[str], object]] | None = None,
) -> Check | None:
    """``schema`` (inlined: no ``$ref``) compiled, or None when it uses a keyword not compiled here.

    ``validates``: the keywords jsonschema's validator class acts on (the others are annotations, ignored);
    ``pattern``: the regex of a ``pattern`` keyword, as the interpreted validator compiles it; ``formats``: the
    parsers of ``x-format`` (a value is valid when its parser reads it without raising)."""
    try:
        return _Compiler(validates, pattern, formats or {}).node(schema)
    except NotCompiled:
        return None


class _Compiler:
    def __init__(
        self,
        validates: frozenset[str],
        pattern: Callable[[str], re.Pattern[str]],
        formats: Mapping[str, Callable[[str], object]],
    ) -> None:
        self.validates = validates
        self.pattern = pattern
        self.formats = formats

    def node(self, schema: Any) -> Check:
        if schema is True:
            return _always
        if schema is False:
            return _never
        if not isinstance(schema, dict):
            raise NotCompiled(f"a schema that is not a mapping: {schema!r}")
        checks = [self.keyword(key, value, schema) for key, value in schema.items() if key in self.validates]
        if not checks:
            return _always
        if len(checks) == 1:
            return checks[0]

        def check(instance: Any, full: bool, added: Added) -> bool:
            valid = True
            for one in checks:
                if not one(instance, full, added):
                    if not full:
                        return False
                    valid = False
            return valid

        return check

    def keyword(self, key: str, value: Any, schema: Mapping[str, Any]) -> Check:
        make = getattr(self, "k_" + key.replace("$", "_").replace("-", "_"), None)
        if make is None:
            raise NotCompiled(f"keyword {key!r}")
        check: Check = make(value, schema)
        return check

    # ---------------------------------------------------------------- applicators

    def k_properties(self, properties: Mapping[str, Any], schema: Mapping[str, Any]) -> Check:
        for sub in properties.values():
            if isinstance(sub, dict) and "$ref" in sub:
                raise NotCompiled("$ref")
        defaults = [
            (name, json.dumps(sub["default"]))
            for name, sub in properties.items()
            if isinstance(sub, dict) and "default" in sub
        ]
        subs = [(name, self.node(sub)) for name, sub in properties.items()]

        def check(instance: Any, full: bool, added: Added) -> bool:
            if not isinstance(instance, dict):
                return True
            for name, default in defaults:  # schema._fill_defaults: every default first, in order
                if name not in instance:
                    instance[name] = json.loads(default)
                    added.append((instance, name))
            valid = True
            for name, sub in subs:
                if name in instance and not sub(instance[name], full, added):
                    if not full:
                        return False
                    valid = False
            return valid

        return check

    def k_additionalProperties(self, extra: Any, schema: Mapping[str, Any]) -> Check:
        if "patternProperties" in schema:
            raise NotCompiled("patternProperties")
        known = schema.get("properties", {})
        if isinstance(extra, dict):
            sub = self.node(extra)

            def check(instance: Any, full: bool, added: Added) -> bool:
                if not isinstance(instance, dict):
                    return True
                valid = True
                # jsonschema iterates over a set of the extra names: the same order, for the same side effects
                for name in {name for name in instance if name not in known}:
                    if not sub(instance[name], full, added):
                        if not full:
                            return False
                        valid = False
                return valid

            return check
        if extra:
            return _always

        def closed(instance: Any, full: bool, added: Added) -> bool:
            return not isinstance(instance, dict) or all(name in known for name in instance)

        return closed

    def k_items(self, items: Any, schema: Mapping[str, Any]) -> Check:
        if "prefixItems" in schema:
            raise NotCompiled("prefixItems")
        if items is False:
            return lambda instance, full, added: not (isinstance(instance, list) and instance)
        sub = self.node(items)

        def check(instance: Any, full: bool, added: Added) -> bool:
            if not isinstance(instance, list):
                return True
            valid = True
            for item in instance:
                if not sub(item, full, added):
                    if not full:
                        return False
                    valid = False
            return valid

        return check

    def k_propertyNames(self, names: Any, schema: Mapping[str, Any]) -> Check:
        sub = self.node(names)

        def check(instance: Any, full: bool, added: Added) -> bool:
            if not isinstance(instance, dict):
                return True
            valid = True
            for name in instance:
                if not sub(name, full, added):
                    if not full:
                        return False
                    valid = False
            return valid

        return check

    def k_allOf(self, all_of: list[Any], schema: Mapping[str, Any]) -> Check:
        subs = [self.node(sub) for sub in all_of]

        def check(instance: Any, full: bool, added: Added) -> bool:
            valid = True
            for sub in subs:
                if not sub(instance, full, added):
                    if not full:
                        return False
                    valid = False
            return valid

        return check

    def k_oneOf(self, one_of: list[Any], schema: Mapping[str, Any]) -> Check:
        subs = [self.node(sub) for sub in one_of]

        def check(instance: Any, full: bool, added: Added) -> bool:
            # jsonschema: every error of each branch until one is valid, then whether each later one is valid
            for index, sub in enumerate(subs):
                if sub(instance, True, added):
                    more = [later for later in subs[index + 1 :] if later(instance, False, added)]
                    return not more
            return False

        return check

    def k_not(self, not_schema: Any, schema: Mapping[str, Any]) -> Check:
        sub = self.node(not_schema)
        return lambda instance, full, added: not sub(instance, False, added)

    def k_if(self, if_schema: Any, schema: Mapping[str, Any]) -> Check:
        condition = self.node(if_schema)
        then = self.node(schema["then"]) if "then" in schema else _always
        otherwise = self.node(schema["else"]) if "else" in schema else _always

        def check(instance: Any, full: bool, added: Added) -> bool:
            if condition(instance, False, added):
                return then(instance, full, added)
            return otherwise(instance, full, added)

        return check

    # ---------------------------------------------------------------- assertions

    def k_type(self, types: Any, schema: Mapping[str, Any]) -> Check:
        names = [types] if isinstance(types, str) else list(types)
        if any(name not in _TYPES for name in names):
            raise NotCompiled(f"type {types!r}")
        if names == ["object"]:  # the most frequent, without a second call
            return lambda instance, full, added: isinstance(instance, dict)
        if names == ["string"]:
            return lambda instance, full, added: isinstance(instance, str)
        tests = [_TYPES[name] for name in names]
        return lambda instance, full, added: any(test(instance) for test in tests)

    def k_enum(self, options: list[Any], schema: Mapping[str, Any]) -> Check:
        return lambda instance, full, added: any(equal(option, instance) for option in options)

    def k_const(self, value: Any, schema: Mapping[str, Any]) -> Check:
        return lambda instance, full, added: equal(instance, value)

    def k_required(self, names: list[str], schema: Mapping[str, Any]) -> Check:
        return lambda instance, full, added: not isinstance(instance, dict) or all(n in instance for n in names)

    def k_pattern(self, pattern: str, schema: Mapping[str, Any]) -> Check:
        search = self.pattern(pattern).search
        return lambda instance, full, added: not isinstance(instance, str) or search(instance) is not None

    def k_x_format(self, name: str, schema: Mapping[str, Any]) -> Check:
        parse = self.formats.get(name)
        if parse is None:
            raise NotCompiled(f"x-format {name!r}")

        def check(instance: Any, full: bool, added: Added) -> bool:
            if not isinstance(instance, str):
                return True
            try:
                parse(instance)
            except ValueError:  # ScheduleError and ExpiryFormatError are ValueErrors: jsonschema says which
                return False
            return True

        return check

    def k_minLength(self, limit: int, schema: Mapping[str, Any]) -> Check:
        return lambda instance, full, added: not isinstance(instance, str) or len(instance) >= limit

    def k_maxLength(self, limit: int, schema: Mapping[str, Any]) -> Check:
        return lambda instance, full, added: not isinstance(instance, str) or len(instance) <= limit

    def k_minItems(self, limit: int, schema: Mapping[str, Any]) -> Check:
        return lambda instance, full, added: not isinstance(instance, list) or len(instance) >= limit

    def k_maxItems(self, limit: int, schema: Mapping[str, Any]) -> Check:
        return lambda instance, full, added: not isinstance(instance, list) or len(instance) <= limit

    def k_uniqueItems(self, unique: Any, schema: Mapping[str, Any]) -> Check:
        if not unique:
            return _always
        return lambda instance, full, added: not isinstance(instance, list) or bool(uniq(instance))

    def k_minProperties(self, limit: int, schema: Mapping[str, Any]) -> Check:
        return lambda instance, full, added: not isinstance(instance, dict) or len(instance) >= limit

    def k_maxProperties(self, limit: int, schema: Mapping[str, Any]) -> Check:
        return lambda instance, full, added: not isinstance(instance, dict) or len(instance) <= limit

    def k_minimum(self, limit: Any, schema: Mapping[str, Any]) -> Check:
        number = _TYPES["number"]
        return lambda instance, full, added: not number(instance) or not instance < limit

    def k_maximum(self, limit: Any, schema: Mapping[str, Any]) -> Check:
        number = _TYPES["number"]
        return lambda instance, full, added: not number(instance) or not instance > limit

    def k_format(self, _format: str, schema: Mapping[str, Any]) -> Check:
        return _always  # the interpreted validator is made without a format checker: an annotation there too
