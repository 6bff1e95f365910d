"""The knowledge graph in exchange formats: GraphML, GEXF, node-link JSON and Graphviz DOT.

GraphML and GEXF come from networkx's writers, JSON from ``node_link_data``; DOT is written
here as plain text (no pydot needed), every id and value quoted. Node ids stay the
knowledge graph's ``kind:id``, with ``label`` and ``kind`` attributes. GEXF reserves an
edge's ``type`` for directed/undirected, so there the edge type travels as ``relation``.
"""

from __future__ import annotations

import json
from typing import Any

import networkx as nx

FORMATS = ("graphml", "gexf", "json", "dot")


def _simple(value: Any) -> str | int | float | bool:
    """An attribute value every writer accepts."""
    if value is None:
        return ""
    if isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple, set, frozenset)):
        return ", ".join(str(v) for v in value)
    return str(value)


def _portable(graph: nx.MultiDiGraph, edge_type_as: str = "type") -> nx.MultiDiGraph:
    out = nx.MultiDiGraph(**{k: _simple(v) for k, v in graph.graph.items()})
    for node, data in graph.nodes(data=True):
        out.add_node(node, **{k: _simple(v) for k, v in data.items()})
    for a, b, key, data in graph.edges(keys=True, data=True):
        attrs = {(edge_type_as if k == "type" else k): _simple(v) for k, v in data.items()}
        out.add_edge(a, b, key=key, **attrs)
    return out


def _quote(value: Any) -> str:
    text = str(_simple(value)).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{text}"'


def _dot_attrs(data: dict[str, Any]) -> str:
    return ", ".join(f"{_quote(k)}={_quote(v)}" for k, v in data.items())


def to_dot(graph: nx.MultiDiGraph) -> str:
    lines = [f"digraph {_quote(graph.graph.get('name', 'knowledge graph'))} {{"]
    for node, data in graph.nodes(data=True):
        lines.append(f"  {_quote(node)} [{_dot_attrs(data)}];")
    for a, b, data in graph.edges(data=True):
        lines.append(f"  {_quote(a)} -> {_quote(b)} [{_dot_attrs({'label': data.get('type', ''), **data})}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def export_graph(graph: nx.MultiDiGraph, fmt: str) -> str:
    """The graph as text in one of :data:`FORMATS`."""
    if fmt == "graphml":
        return "\n".join(nx.generate_graphml(_portable(graph))) + "\n"
    if fmt == "gexf":
        return "\n".join(nx.generate_gexf(_portable(graph, edge_type_as="relation"))) + "\n"
    if fmt == "json":
        return json.dumps(nx.node_link_data(_portable(graph), edges="edges"), indent=2, ensure_ascii=False) + "\n"
    if fmt == "dot":
        return to_dot(graph)
    raise ValueError(f"unknown graph format {fmt!r} (known: {', '.join(FORMATS)})")
