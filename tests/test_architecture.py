"""The package's shape: imports run one way, no cycles, no private names across modules.

The import graph is built with :mod:`ast` from the source files, imports inside functions
included, so an import cycle closed by a function-level import is still a cycle here.

Layers, lowest first (a module may import its own layer and the layers below it):

``errors, glossary, schedules, regime`` → ``io`` → ``rules`` → ``scenario`` → ``model`` →
``analysis`` → ``batch`` → ``viz`` → the package root → ``cli``.

The one exception: a plot method (in ``model``, ``analysis`` or ``batch``) may import its chart
module from ``viz`` inside the method. The chart module never imports back, which the cycle
check enforces.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "benefitshare"
PKG = "benefitshare"

LAYERS: tuple[tuple[str, ...], ...] = (
    ("errors", "glossary", "schedules", "regime"),
    ("io",),
    ("rules",),
    ("scenario",),
    ("model",),
    ("analysis",),
    ("batch",),
    ("viz",),
    ("",),  # the package root, benefitshare/__init__.py: the public API
    ("cli",),
)
MAX_LINES = 700

#: Below the model inputs, stages take arrays and small records, never the scenario.
SCENARIO_READERS_IN_MODEL = {"benefitshare.model.inputs", "benefitshare.model.run"}


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    names: tuple[str, ...]
    lazy: bool
    line: int


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(SRC.rglob("*.py")):
        parts = [PKG, *path.relative_to(SRC).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _deepest(name: str) -> str:
    """The module a dotted name refers to (an attribute of a module maps to that module)."""
    parts = name.split(".")
    for i in range(len(parts), 0, -1):
        candidate = ".".join(parts[:i])
        if candidate in MODULES:
            return candidate
    return name


def _edges(module: str, path: Path) -> list[Edge]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_pkg = path.name == "__init__.py"
    edges: list[Edge] = []

    def visit(node: ast.AST, lazy: bool) -> None:
        for child in ast.iter_child_nodes(node):
            in_function = lazy or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
            if isinstance(child, ast.ImportFrom):
                if child.level:
                    base = module.split(".") if is_pkg else module.split(".")[:-1]
                    base = base[: len(base) - (child.level - 1)]
                    target = ".".join(base + ([child.module] if child.module else []))
                else:
                    target = child.module or ""
                if target == PKG or target.startswith(PKG + "."):
                    for alias in child.names:
                        sub = f"{target}.{alias.name}"
                        if sub in MODULES:
                            edges.append(Edge(module, sub, (), lazy, child.lineno))
                        else:
                            edges.append(
                                Edge(module, _deepest(target), (alias.name,), lazy, child.lineno)
                            )
            elif isinstance(child, ast.Import):
                for alias in child.names:
                    if alias.name == PKG or alias.name.startswith(PKG + "."):
                        edges.append(Edge(module, _deepest(alias.name), (), lazy, child.lineno))
            visit(child, in_function)

    visit(tree, False)
    return edges


GRAPH = {m: _edges(m, p) for m, p in MODULES.items()}


def _layer(module: str) -> int:
    rest = module[len(PKG) + 1 :] if module != PKG else ""
    head = rest.split(".")[0]
    for rank, names in enumerate(LAYERS):
        if head in names:
            return rank
    raise AssertionError(f"{module} belongs to no layer; add it to LAYERS in {__name__}")


def _where(edge: Edge) -> str:
    return f"{MODULES[edge.source].relative_to(SRC.parent)}:{edge.line}"


def test_every_module_belongs_to_a_layer():
    for module in MODULES:
        _layer(module)


def test_the_import_graph_has_no_cycle():
    adjacency = {
        m: sorted({e.target for e in edges if e.target != m}) for m, edges in GRAPH.items()
    }
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def dfs(node: str, stack: list[str]) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in adjacency.get(node, []):
            if state.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt) :] + [nxt])
            elif nxt not in state:
                dfs(nxt, stack)
        stack.pop()
        state[node] = 2

    for m in sorted(adjacency):
        if m not in state:
            dfs(m, [])
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_imports_run_down_the_layers():
    wrong = []
    for edges in GRAPH.values():
        for e in edges:
            if _layer(e.target) <= _layer(e.source):
                continue
            lazy_chart = e.lazy and e.target.startswith(f"{PKG}.viz.")
            if not lazy_chart:
                wrong.append(f"{_where(e)}: {e.source} imports {e.target}")
    assert not wrong, "imports against the layer order:\n" + "\n".join(wrong)


def test_no_private_name_is_imported_from_another_module():
    wrong = []
    for edges in GRAPH.values():
        for e in edges:
            for name in e.names:
                if name.startswith("_") and not (name.startswith("__") and name.endswith("__")):
                    wrong.append(f"{_where(e)}: {e.source} imports {name} from {e.target}")
            if any(p.startswith("_") for p in e.target.split(".")) and e.target != e.source:
                wrong.append(f"{_where(e)}: {e.source} imports private module {e.target}")
    assert not wrong, "private names used across modules:\n" + "\n".join(wrong)


def test_the_version_comes_from_package_metadata_not_the_package_root():
    wrong = [
        f"{_where(e)}: {e.source}"
        for edges in GRAPH.values()
        for e in edges
        if e.target == PKG and _layer(e.source) <= _layer(PKG)
    ]
    assert not wrong, "modules importing the package root:\n" + "\n".join(wrong)


def test_below_the_inputs_the_model_never_sees_the_scenario():
    wrong = [
        f"{_where(e)}: {e.source} imports {e.target}"
        for edges in GRAPH.values()
        for e in edges
        if e.source.startswith(f"{PKG}.model.")
        and e.target.startswith(f"{PKG}.scenario")
        and e.source not in SCENARIO_READERS_IN_MODEL
    ]
    assert not wrong, "model stages reading the scenario:\n" + "\n".join(wrong)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_is_over_700_lines(module):
    n = len(MODULES[module].read_text(encoding="utf-8").splitlines())
    assert n <= MAX_LINES, f"{module} has {n} lines; split it by concept (at most {MAX_LINES})"


def test_the_checker_sees_function_level_imports_and_private_names(tmp_path):
    """The graph builder itself: a lazy import and a private name are both recorded."""
    src = tmp_path / "m.py"
    src.write_text("def f():\n    from benefitshare.model.run import _secret\n", encoding="utf-8")
    edges = _edges("benefitshare.fake", src)
    assert [(e.target, e.names, e.lazy) for e in edges] == [
        (_deepest("benefitshare.model.run"), ("_secret",), True)
    ]
