"""No module of the package imports one that imports it back.

Every ``import`` and ``from ... import`` statement of every module counts,
at module level or inside a function, so a deferred import does not hide a
cycle.
"""

import ast
from pathlib import Path

import sklearn_charrnn

PACKAGE = Path(sklearn_charrnn.__file__).parent
ROOT = "sklearn_charrnn"


def module_names():
    """Dotted name of every module, keyed to its file."""
    names = {}
    for path in PACKAGE.rglob("*.py"):
        parts = [ROOT, *path.relative_to(PACKAGE).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


def imports_of(name, path, modules):
    """The package's modules that the file at ``path`` names in an import."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0]
                source = f"{base}.{node.module}" if node.module else base
            else:
                source = node.module
            for alias in node.names:
                # "from . import _x" imports the module _x; "from . import f"
                # imports the package that defines f
                submodule = f"{source}.{alias.name}"
                found.add(submodule if submodule in modules else source)
    return {target for target in found if target in modules and target != name}


def import_graph():
    modules = module_names()
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def cycles(graph):
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on_stack, result = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                result.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return result


def test_the_walker_sees_deferred_and_relative_imports():
    graph = import_graph()
    assert "sklearn_charrnn._estimator" in graph["sklearn_charrnn"]
    # cli imports the estimator inside its functions
    assert "sklearn_charrnn._estimator" in graph["sklearn_charrnn.cli"]
    assert "sklearn_charrnn.nn.cells" in graph["sklearn_charrnn._estimator"]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycles():
    assert cycles(import_graph()) == []


def test_persistence_knows_no_estimator():
    """The model file format imports no estimator and no network code: its
    version, and how Ctrl-C is held back while a file is made."""
    graph = import_graph()
    assert graph["sklearn_charrnn._persistence"] == {
        "sklearn_charrnn._version",
        "sklearn_charrnn._signals",
    }
    assert graph["sklearn_charrnn._signals"] == set()
    assert "sklearn_charrnn._estimator" not in graph["sklearn_charrnn._charrnn_file"]
