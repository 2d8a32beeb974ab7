"""The package's shape (docs/architecture.md): imports run one way, no circle, small modules.

Read from the source with ``ast``, so every import counts: at module level and inside
functions (an import inside a function still ties the two modules together), but not those
under ``if TYPE_CHECKING:`` (never run).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "crawler"
MAX_LINES = 500
MAX_PLAIN_MODULES = 6  # .py files directly under crawler/, besides __init__.py

# Layers, lowest first: a module may import its own layer (without a circle) or a lower one.
LAYERS = [
    {"crawler", "crawler.errors", "crawler.urls", "crawler.dates", "crawler.config"},
    {"crawler.discovery", "crawler.warc", "crawler.extract", "crawler.output", "crawler.storage",
     "crawler.state", "crawler.urlstate", "crawler.context", "crawler.demo", "crawler.dataset"},
    {"crawler.crawl", "crawler.replay", "crawler.schedule", "crawler.distributed"},
    {"crawler.cli"},
]


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def all_modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def _type_checking_block(node: ast.AST) -> bool:
    test = getattr(node, "test", None)
    return isinstance(node, ast.If) and (
        (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
        or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"))


def imports_of(path: Path, modules: dict[str, Path]) -> list[tuple[str, int, bool]]:
    """(imported crawler module, line, inside a function) for every import that runs."""
    found: list[tuple[str, int, bool]] = []

    def target(name: str) -> str:  # the deepest module that exists: ``crawler.warc.reader`` or a package
        while name not in modules and "." in name:
            name = name.rpartition(".")[0]
        return name

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if _type_checking_block(child):
                continue
            inner = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
            if isinstance(child, ast.Import):
                for alias in child.names:
                    if alias.name.split(".")[0] == "crawler":
                        found.append((target(alias.name), child.lineno, inner))
            elif isinstance(child, ast.ImportFrom) and child.level == 0 and child.module \
                    and child.module.split(".")[0] == "crawler":
                for alias in child.names:  # ``from crawler.cli import replay`` imports a module
                    sub = f"{child.module}.{alias.name}"
                    found.append((sub if sub in modules else target(child.module), child.lineno, inner))
            visit(child, inner)

    visit(ast.parse(path.read_text(encoding="utf-8")), False)
    return found


def import_graph() -> dict[str, set[str]]:
    modules = all_modules()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        for imported, _line, _inner in imports_of(path, modules):
            if imported != name and not name.startswith(imported + "."):  # a package's own __init__ runs first anyway
                graph[name].add(imported)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return found


def layer_of(name: str) -> int:
    for rank, members in reversed(list(enumerate(LAYERS))):
        if any(name == m or name.startswith(m + ".") for m in members if m != "crawler"):
            return rank
    assert name == "crawler", f"{name}: not in any layer of tests/test_layout.py (add it to LAYERS)"
    return 0


def test_cycle_detection_works():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_circle():
    found = cycles(import_graph())
    assert not found, "import circles (imports inside functions count too): " + "; ".join(
        " <-> ".join(c) for c in found)


def test_imports_run_one_way():
    wrong = [f"{name} imports {imported}" for name, targets in import_graph().items() for imported in targets
             if layer_of(imported) > layer_of(name)]
    assert not wrong, "imports against the layers of docs/architecture.md: " + "; ".join(sorted(wrong))


def _commented(lines: list[str], start: int, end: int) -> bool:
    """A comment on the import, or on the group of imports it belongs to (the lines right above)."""
    if any("#" in line for line in lines[start:end]):
        return True
    i = start - 1
    while i >= 0 and lines[i].strip().startswith(("import ", "from ", "#")):
        if "#" in lines[i]:
            return True
        i -= 1
    return False


def test_imports_inside_functions_say_why():
    """An import inside a function is for an optional dependency or a measured start-up cost, said in a comment."""
    silent = []
    for path in sorted(ROOT.rglob("*.py")):
        lines = path.read_text(encoding="utf-8").splitlines()
        for node in ast.walk(ast.parse("\n".join(lines))):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for inner in ast.walk(node):
                if isinstance(inner, ast.Import | ast.ImportFrom):
                    if not _commented(lines, inner.lineno - 1, inner.end_lineno):
                        silent.append(f"{path.relative_to(ROOT.parent)}:{inner.lineno}")
    assert not silent, "imports inside functions without a comment saying why: " + ", ".join(silent)


def test_modules_are_small():
    big = {str(p.relative_to(ROOT.parent)): n for p in ROOT.rglob("*.py")
           if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert not big, f"modules over {MAX_LINES} lines: {big}"


def test_few_plain_modules_at_the_top():
    plain = sorted(p.name for p in ROOT.glob("*.py") if p.name != "__init__.py")
    assert len(plain) <= MAX_PLAIN_MODULES, f"{len(plain)} plain modules directly under crawler/: {plain}"


@pytest.mark.parametrize("layer", range(len(LAYERS)))
def test_every_layer_exists(layer):
    modules = all_modules()
    for member in LAYERS[layer]:
        assert member in modules, f"{member} is named in LAYERS but does not exist"


def _documented_modules() -> list[str]:
    """The module paths (``crawler/...py``) in the first column of architecture.md's module table."""
    doc = (ROOT.parent / "docs" / "architecture.md").read_text(encoding="utf-8")
    table = doc.split("## Modules (one job each)", 1)[1].split("\n## ", 1)[0]
    found = []
    for line in table.splitlines():
        if m := re.match(r"\| `([^`]+\.py)` \|", line):
            found.append(m.group(1) if m.group(1).startswith("crawler/") else f"crawler/{m.group(1)}")
    return found


def test_architecture_lists_every_module_once_and_only_modules_that_exist():
    """Read at run time: a module added or deleted on any branch shows up here until the table says so."""
    listed = _documented_modules()
    tree = {p.relative_to(ROOT.parent).as_posix() for p in ROOT.rglob("*.py")}
    missing = sorted(p for p in tree - set(listed) if Path(p).name not in ("__init__.py", "__main__.py"))
    assert not missing, f"docs/architecture.md's module table lacks {', '.join(missing)}"
    gone = sorted(set(listed) - tree)
    assert not gone, f"docs/architecture.md's module table lists modules that do not exist: {', '.join(gone)}"
    twice = sorted({p for p in listed if listed.count(p) > 1})
    assert not twice, f"docs/architecture.md's module table lists {', '.join(twice)} more than once"
