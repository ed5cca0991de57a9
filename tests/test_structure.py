"""The shape of the code: no import cycle in engine/ (between modules or between its packages), no import of
another module's private names, kernels/ free of engine imports, and every store path spelled in
engine/store/layout.py alone. Imports inside functions count; those under ``if TYPE_CHECKING:`` do not."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SECTIONS = ("corpus", "vocab", "activations", "words", "missing", "links", "dictionaries", "selections", "clusters",
            "alignments")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules(package: str) -> dict[str, Path]:
    return {_module_name(p): p for p in sorted((ROOT / package).rglob("*.py"))}


MODULES = {**_modules("engine"), **_modules("kernels")}


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or \
        (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST) -> list[tuple[str, list[str]]]:
    """(module, imported names) of every import executed at some point (TYPE_CHECKING blocks skipped)."""
    found: list[tuple[str, list[str]]] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.extend((alias.name, []) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.append((node.module, [alias.name for alias in node.names]))
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def _edges() -> dict[str, set[str]]:
    """Module -> the project modules it imports (``from a import b`` names module a.b when that is one)."""
    graph: dict[str, set[str]] = {}
    for name, path in MODULES.items():
        targets = set()
        for module, names in _imports(ast.parse(path.read_text(encoding="utf-8"))):
            if module.split(".")[0] not in ("engine", "kernels"):
                continue
            subs = [f"{module}.{n}" for n in names if f"{module}.{n}" in MODULES]
            targets.update(subs)
            if len(subs) < len(names) or not names:
                targets.add(module)
        graph[name] = targets - {name}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def strong(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            strong(v)
    return out


def _unit(module: str) -> str:
    """The package (or top-level module) of ``engine`` a module belongs to: engine.cluster.api -> engine.cluster."""
    parts = module.split(".")
    return ".".join(parts[:2])


def test_no_import_cycle_between_modules():
    graph = {m: {t for t in targets if t.startswith("engine")} for m, targets in _edges().items()
             if m.startswith("engine")}
    # a package's __init__ re-exports its modules; a module importing its own package's names is no cycle of
    # stages, so edges into the importing module's own __init__ are left out
    graph = {m: {t for t in targets if not m.startswith(t + ".")} for m, targets in graph.items()}
    assert _cycles(graph) == []


def test_no_import_cycle_between_packages():
    units: dict[str, set[str]] = {}
    for module, targets in _edges().items():
        if not module.startswith("engine.") or module == "engine":
            continue
        units.setdefault(_unit(module), set()).update(
            _unit(t) for t in targets if t.startswith("engine.") and _unit(t) != _unit(module))
    assert _cycles(units) == []


def test_no_module_imports_another_modules_private_names():
    bad = []
    for name, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        aliases = {}  # local name -> project module imported as a module
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in ("engine", "kernels"):
                for alias in node.names:
                    if f"{node.module}.{alias.name}" in MODULES:
                        aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
                    elif alias.name.startswith("_") and not alias.name.startswith("__"):
                        bad.append(f"{name} imports {node.module}.{alias.name}")
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.attr.startswith("_") \
                    and not node.attr.startswith("__") and node.value.id in aliases:
                bad.append(f"{name} uses {aliases[node.value.id]}.{node.attr}")
    assert bad == []


def test_kernels_import_nothing_from_engine():
    used = {module for name, path in MODULES.items() if name.startswith("kernels")
            for module, _ in _imports(ast.parse(path.read_text(encoding="utf-8")))}
    assert sorted(m for m in used if m.split(".")[0] == "engine") == []


def _strings(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, text) of every string constant and f-string's leading text that is not a docstring."""
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                docstrings.add(id(first.value))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            for part in node.values:
                docstrings.add(id(part))
            head = node.values[0] if node.values else None
            if isinstance(head, ast.Constant) and isinstance(head.value, str):
                out.append((node.lineno, head.value))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            out.append((node.lineno, node.value))
    return out


def _spells_a_store_path(text: str) -> bool:
    layer_member = re.match(r"layer_(\d|\{|$)", text) is not None  # layer_3, layer_{i}; not layer_norm_eps
    return text.startswith(tuple(f"{s}/" for s in SECTIONS)) or text.startswith("calign-") or layer_member or \
        text == "shard_done" or any(f" {s}/" in text or f"'{s}/" in text for s in SECTIONS)


@pytest.mark.parametrize("package", ["engine", "kernels"])
def test_store_paths_are_spelled_in_the_layout_alone(package):
    found = []
    for name, path in MODULES.items():
        if not name.startswith(package) or name == "engine.store.layout":
            continue
        for line, text in _strings(ast.parse(path.read_text(encoding="utf-8"))):
            if _spells_a_store_path(text):
                found.append(f"{path.relative_to(ROOT)}:{line}: {text!r}")
    assert found == []


def test_the_path_check_finds_a_spelled_path():
    tree = ast.parse('def f(lang):\n    """Reads corpus/{lang}."""\n    return f"selections/calign-{lang}", "x"\n')
    assert [text for _, text in _strings(tree) if _spells_a_store_path(text)] == ["selections/calign-"]
    assert [t for t in ("layer_", "layer_3", "layer_norm_eps", "layers") if _spells_a_store_path(t)] == \
        ["layer_", "layer_3"]
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_installed_distribution_ships_another_top_level_kernels_package():
    """This project's ``kernels`` package would shadow (or be shadowed by) another distribution's of the same
    name, e.g. Hugging Face's ``kernels``, which transformers 5.25 depends on and imports when it is present."""
    from importlib.metadata import packages_distributions

    assert set(packages_distributions().get("kernels", [])) <= {"babelscope"}
