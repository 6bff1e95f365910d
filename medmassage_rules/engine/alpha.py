"""Hashed alpha memories: a fact meets only the literal tests its own values can pass.

experta offers a fact to every child of its type node, and each child tests one field:
with hundreds of rules, a diagnosis is compared with every condition id any rule names.
CLIPS instead finds the children by value. :class:`HashedAlphaNode` does the same inside
experta's own network: the children of a node that test a field for equality with a
literal (``L``) - or for membership in a fixed set (a predicate carrying ``members``) - are
indexed by field and value, so a fact reaches the ones its value passes with one dictionary
look-up each; predicates, bindings and anything that cannot be hashed are tested as before,
in their place. The nodes, their checks and what reaches the beta network are experta's:
only the way a token finds them changes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from experta import watchers
from experta.fieldconstraint import L, P
from experta.matchers.rete.check import FeatureCheck, TypeCheck
from experta.matchers.rete.nodes import FeatureTesterNode

from ..kb.condition_operators import compile_condition

_MISSING = object()


def _plain_field(what: Any) -> bool:
    """A field FeatureCheck reads with one ``fact[what]`` (not a nested accessor, not special)."""
    if isinstance(what, bool):
        return False
    if isinstance(what, int):
        return True
    return isinstance(what, str) and "__" not in what and not what.isnumeric()


def hash_keys(check: Any) -> tuple[Any, tuple[Any, ...]] | None:
    """(field, values) a check passes exactly on, when an index can serve it; else None.

    An unbound equal-literal test passes on one value; an unbound predicate that declares
    its ``members`` (the compiler marks set membership so) passes on those values only.
    """
    if not isinstance(check, FeatureCheck) or not _plain_field(check.what):
        return None
    how = check.how
    if isinstance(how, L) and how.__bind__ is None:
        values: tuple[Any, ...] = (how.value,)
    elif isinstance(how, P) and how.__bind__ is None and isinstance(getattr(how.match, "members", None), frozenset):
        values = tuple(how.match.members)
    else:
        return None
    try:
        for value in values:
            hash(value)
    except TypeError:
        return None
    return check.what, values


class HashedAlphaNode(FeatureTesterNode):
    """experta's feature-tester node, finding its literal-testing children by the fact's value."""

    verbose = False          # experta's MATCH/MATCHER loggers want detail: test through experta's own calls
    index: dict[Any, dict[Any, list[HashedAlphaNode]]]
    indexed: dict[Any, list[HashedAlphaNode]]   # field -> every child indexed on it (for a fact lacking it)
    others: list[Any]        # callbacks of the children tested in turn
    fast: bool               # the check is a plain FeatureCheck or a TypeCheck: test it here, without logging

    def prepare(self) -> None:
        """Sort the children: indexed by (field, value) where a hash serves, else in their order."""
        self.index, self.indexed, self.others = {}, {}, []
        check = self.matcher
        self.fast = isinstance(check, TypeCheck) or (isinstance(check, FeatureCheck) and _plain_field(check.what))
        for child in self.children:
            keys = hash_keys(child.node.matcher) if isinstance(child.node, HashedAlphaNode) else None
            if keys is None or child.callback.__name__ != "activate":
                self.others.append(getattr(child.node, child.callback.__name__))
                continue
            what, values = keys
            table = self.index.setdefault(what, {})
            for value in values:
                table.setdefault(value, []).append(child.node)
            self.indexed.setdefault(what, []).append(child.node)

    def test(self, fact: Any) -> Any:
        """The check on ``fact``, as FeatureCheck/TypeCheck compute it (logging only when verbose)."""
        check = self.matcher
        if HashedAlphaNode.verbose or not self.fast:
            return check(fact)
        if isinstance(check, TypeCheck):
            return type(fact) == check.fact_type  # noqa: E721 (experta's TypeCheck compares exactly so)
        try:
            record = fact[check.what]
        except (IndexError, KeyError, TypeError):
            return False
        return check.check(record, check.expected)

    def activate(self, token: Any) -> None:
        if HashedAlphaNode.verbose:
            watchers.MATCHER.debug("Node <%s> activated with token %r", self, token)
        if len(token.data) != 1:
            raise ValueError("an alpha node takes tokens of one fact")
        fact = next(iter(token.data))
        match = self.test(fact)
        if match:
            self.passed(token, fact, match)

    def passed(self, token: Any, fact: Any, match: Any) -> None:
        """The token passed this node's test with ``match``: on to the children."""
        if match is not True:
            token = token.copy()
            if isinstance(match, Mapping):
                context = token.context
                for key, value in match.items():
                    if isinstance(key, tuple):  # negated condition
                        if key[1] in context and context[key[1]] == value:
                            return
                    else:
                        if context.get(key, value) != value:
                            return
                        if (False, key) in context and context[(False, key)] == value:
                            return
                context.update(match)
        for what, table in self.index.items():
            value = dict.get(fact, what, _MISSING)
            try:
                hits = None if value is _MISSING else table.get(value)
            except TypeError:  # an unhashable value: let every child test it
                value = _MISSING
            if value is _MISSING:  # absent (a field default may answer) or unhashable: test each
                if what not in fact.__fields__ and what not in fact:
                    continue  # no such field and no default: every test of it fails (experta's KeyError)
                for child in self.indexed[what]:
                    child.activate(token)
            elif hits:
                for child in hits:
                    child.passed(token, fact, True)
        for callback in self.others:
            callback(token)


def hash_alpha_network(root: Any) -> dict[type, list[HashedAlphaNode]]:
    """Turn every feature-tester node under ``root`` into a hashed one; the type nodes by fact type."""
    pending = [child.node for child in root.children]
    seen: set[int] = set()
    alpha: list[HashedAlphaNode] = []
    while pending:
        node = pending.pop()
        if id(node) in seen or not isinstance(node, FeatureTesterNode):
            continue
        seen.add(id(node))
        node.__class__ = HashedAlphaNode
        alpha.append(node)
        pending += [child.node for child in node.children]
    for node in alpha:
        node.prepare()
    by_type: dict[type, list[HashedAlphaNode]] = {}
    for child in root.children:
        node = child.node
        if isinstance(node, HashedAlphaNode) and isinstance(node.matcher, TypeCheck):
            by_type.setdefault(node.matcher.fact_type, []).append(node)
    return by_type


_PREDICATES: dict[str, Any] = {}


def condition_predicate(spec: dict[str, Any]) -> Any:
    """The predicate of a rule condition, one per distinct condition (so rules testing the same
    condition share one alpha node, as CLIPS shares them). One that passes on a fixed set of
    values names them in ``members`` (``in`` and ``eq`` alone), so an alpha node finds it by value."""
    key = json.dumps(spec, sort_keys=True, default=repr)
    predicate = _PREDICATES.get(key)
    if predicate is None:
        predicate = compile_condition(spec)
        if set(spec) == {"in"}:
            predicate.members = frozenset(spec["in"])  # type: ignore[attr-defined]
        elif set(spec) == {"eq"}:
            predicate.members = frozenset((spec["eq"],))  # type: ignore[attr-defined]
        _PREDICATES[key] = predicate
    return predicate
