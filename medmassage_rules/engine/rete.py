"""A lean Rete matcher: experta's, reading after a firing only the conflict-set nodes a token reached."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from experta.matchers import ReteMatcher
from experta.matchers.rete.nodes import ConflictSetNode
from experta.matchers.rete.token import Token


class LeanToken(Token):
    """experta's Token, whose copy skips the checks its constructor already made.

    Every node copies each token it receives; a fact enters the network by being offered
    to every first-level node, so these copies (each re-checking every fact and the
    context's type) were a quarter of a run.
    """

    def copy(self) -> LeanToken:
        return tuple.__new__(type(self), (self.tag, self.data.copy(), self.context.copy()))


class TrackedConflictSetNode(ConflictSetNode):
    """A conflict-set node that tells its matcher when a token reached it, so that after a
    firing only the nodes that changed are read (not one per rule of the knowledge base)."""

    touched: list[Any]   # the matcher's list of nodes reached since it last read them
    rank: int            # its place among the matcher's conflict-set nodes

    def _activate(self, token: Any) -> None:
        super()._activate(token)
        self.touched.append(self)


class LeanReteMatcher(ReteMatcher):
    """experta's Rete matcher, giving the same activations in the same order for less work per run.

    After every firing experta asks each conflict-set node (one per rule) for its changes,
    and each answers with two new sets; here only the nodes holding changes are read. A
    reset wipes every node's memory from a flat list, not by a recursive walk that logs
    each visit. Facts enter the network as :class:`LeanToken`. Profiling the planner put
    these at about half of a run's time.
    """

    def build_network(self) -> None:
        super().build_network()
        self.conflict_set_nodes = self._get_conflict_set_nodes()
        self.touched: list[Any] = []
        for rank, node in enumerate(self.conflict_set_nodes):
            node.__class__ = TrackedConflictSetNode  # same node, now reporting when it is reached
            node.touched, node.rank = self.touched, rank
        nodes: dict[int, Any] = {}
        pending = [self.root_node]
        while pending:
            node = pending.pop()
            if id(node) not in nodes:
                nodes[id(node)] = node
                pending += [child.node for child in node.children]
        self.nodes = tuple(nodes.values())

    def changes(self, adding: Iterable[Any] | None = None,
                deleting: Iterable[Any] | None = None) -> tuple[list[Any], list[Any]]:
        entry = [child.callback for child in self.root_node.children]
        for fact in deleting or ():
            token = LeanToken.invalid(fact)
            for callback in entry:
                callback(token)
        for fact in adding or ():
            token = LeanToken.valid(fact)
            for callback in entry:
                callback(token)
        added: list[Any] = []
        removed: list[Any] = []
        touched = sorted(set(self.touched), key=lambda n: n.rank)  # the order of the rules, as before
        self.touched.clear()
        for node in touched:
            if node.added:
                added.extend(node.added)
                node.added = set()
            if node.removed:
                removed.extend(node.removed)
                node.removed = set()
        return added, removed

    def reset(self) -> None:
        for node in self.touched:  # nothing read before the reset carries over into the next run
            node.added, node.removed = set(), set()
        self.touched.clear()
        for node in self.nodes:
            node._reset()
