"""The code's shape the developers' guide fixes: no import cycles between auditor's modules.

The graph is built from each module's top-level imports (``import auditor.x``, ``from auditor.x import y``, where
``y`` is a submodule when one exists); imports inside functions, and under ``if TYPE_CHECKING``, are not edges
(they run later, or never). A package's own ``__init__`` is not counted as imported by a submodule import: that
is Python's machinery, not a dependency in the code.
"""

from __future__ import annotations

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parent.parent / "auditor"


def _modules() -> dict[str, Path]:
    out = {}
    for p in PKG.rglob("*.py"):
        parts = list(p.relative_to(PKG.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = p
    return out


def _top_level_imports(tree: ast.Module, name: str, is_pkg: bool, known: set[str]) -> set[str]:
    deps: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        if isinstance(node, ast.Import):
            deps |= {a.name for a in node.names if a.name.split(".")[0] == "auditor"}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against this module's package
                pkg = name.split(".") if is_pkg else name.split(".")[:-1]
                pkg = pkg[: len(pkg) - node.level + 1]
                base = ".".join(pkg + ([base] if base else []))
            if base.split(".")[0] != "auditor":
                continue
            for a in node.names:
                sub = f"{base}.{a.name}"
                deps.add(sub if sub in known else base)
    return {d for d in deps if d in known and d != name}


def _graph() -> dict[str, set[str]]:
    mods = _modules()
    known = set(mods)
    return {m: _top_level_imports(ast.parse(p.read_text()), m, p.name == "__init__.py", known) for m, p in mods.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_the_graph_is_read():
    g = _graph()
    assert "auditor.rules.identity" in g and "auditor.engine" in g["auditor.rules.identity"]
    # a cycle planted in a copy of the graph is found: the check can fail
    planted = {k: set(v) for k, v in g.items()}
    planted["auditor.engine"].add("auditor.rules.identity")
    assert any("auditor.engine" in c for c in _cycles(planted))


def test_no_import_cycles():
    assert _cycles(_graph()) == []
