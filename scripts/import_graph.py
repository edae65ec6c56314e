"""The import graph of workstation/ and ui/, read from the source (every import, also those inside functions).

``python scripts/import_graph.py`` prints the import cycles in workstation/ (none: exit status 0) and every import of
another module's private name (``from workstation.x import _name``). tests/core/test_architecture.py runs both checks.
"""
from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def modules(package: str) -> dict[str, Path]:
    """Module name -> file, for every .py file of ``package`` (a folder under the repository root)."""
    out = {}
    for f in sorted((ROOT / package).rglob("*.py")):
        parts = list(f.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = f
    return out


def _imports(f: Path, known: dict[str, Path]):
    """(imported module, imported name or None, line) for each import in ``f`` that names a module in ``known``."""
    for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"), str(f))):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name in known:
                    yield a.name, None, node.lineno
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module in known:
            for a in node.names:
                sub = f"{node.module}.{a.name}"
                yield (sub, None, node.lineno) if sub in known else (node.module, a.name, node.lineno)


def graph(package: str = "workstation") -> dict[str, set[str]]:
    """Module -> the modules it imports. A package's own ``__init__`` is left out as a target of its submodules
    (Python runs it first anyway; it is not a dependency between rooms)."""
    known = modules(package)
    g: dict[str, set[str]] = {m: set() for m in known}
    for m, f in known.items():
        for target, _name, _line in _imports(f, known):
            if target != m and not m.startswith(target + "."):
                g[m].add(target)
    return g


def cycles(g: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out = []
    counter = 0
    for root in g:
        if root in index:
            continue
        work = [(root, iter(sorted(g[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on.add(root)
        while work:
            v, it = work[-1]
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(g.get(w, ())))))
                    break
                if w in on:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
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
    return out


def private_imports(*packages: str) -> list[str]:
    """``file:line imports _name from module`` for each import of a private name from another module."""
    known = {}
    for p in packages:
        known.update(modules(p))
    out = []
    for m, f in known.items():
        for target, name, line in _imports(f, known):
            if name and name.startswith("_") and not name.startswith("__") and target != m:
                out.append(f"{f.relative_to(ROOT)}:{line} imports {name} from {target}")
    return out


if __name__ == "__main__":
    found = cycles(graph("workstation"))
    for c in found:
        print("import cycle:", " -> ".join(c))
    private = private_imports("workstation", "ui")
    for p in private:
        print(p)
    print(f"{len(found)} import cycles in workstation/, {len(private)} imports of private names")
    sys.exit(1 if found or private else 0)
