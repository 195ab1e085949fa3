"""The layers hold: the core never reaches up into the shell, and no modules import
each other in a circle.

The import graph is read from the source with `ast` (every `import` and
`from … import`, at module level or inside a function; imports under
`if TYPE_CHECKING:` are left out, since they never run). See docs/ARCHITECTURE.md.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import kpitrack

PACKAGE = Path(kpitrack.__file__).parent

# The shell: the command line, its commands and the renderers that build Rich objects.
SHELL = {"kpitrack.cli", "kpitrack._entry", "kpitrack.__main__"}
SHELL_PACKAGES = ("kpitrack.commands",)
RICH_RENDERERS = {"kpitrack.render.table", "kpitrack.render.report_rich", "kpitrack.render.checkin"}
FORBIDDEN_IN_CORE = ("typer", "click", "kpitrack.cli", "kpitrack.commands")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _type_checking_only(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports_of(path: Path, name: str) -> set[str]:
    """Every module `path` imports when it runs (absolute names)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _type_checking_only(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            found.add(module)
            # `from kpitrack import loading` imports the submodule kpitrack.reading.loading
            for alias in node.names:
                found.add(f"{module}.{alias.name}")
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def graph() -> dict[str, set[str]]:
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    out: dict[str, set[str]] = {}
    for name, path in modules.items():
        out[name] = {m for m in imports_of(path, name) if m in modules and m != name}
    return out


def is_shell(name: str) -> bool:
    return name in SHELL or name.startswith(tuple(p + "." for p in SHELL_PACKAGES))


def is_core(name: str) -> bool:
    return not is_shell(name) and name not in RICH_RENDERERS


def external_imports(name: str) -> set[str]:
    path = PACKAGE.parent.joinpath(*name.split("."))
    path = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
    return imports_of(path, name)


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of modules (first == last), or None."""
    WHITE, GREY, BLACK = 0, 1, 2
    colour = dict.fromkeys(edges, WHITE)
    stack: list[str] = []

    def dfs(node: str) -> list[str] | None:
        colour[node] = GREY
        stack.append(node)
        for nxt in sorted(edges[node]):
            if colour[nxt] == GREY:
                return [*stack[stack.index(nxt) :], nxt]
            if colour[nxt] == WHITE and (cycle := dfs(nxt)):
                return cycle
        stack.pop()
        colour[node] = BLACK
        return None

    for start in sorted(edges):
        if colour[start] == WHITE and (cycle := dfs(start)):
            return cycle
    return None


def test_the_graph_is_read() -> None:
    edges = graph()
    assert "kpitrack.reading.loading" in edges["kpitrack.cli"] | {
        m for deps in edges.values() for m in deps
    }
    assert any(is_shell(m) for m in edges) and any(is_core(m) for m in edges)


def test_no_import_cycle() -> None:
    cycle = find_cycle(graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


@pytest.mark.parametrize("name", sorted(m for m in graph() if is_core(m)))
def test_core_modules_stay_below_the_shell(name: str) -> None:
    bad = sorted(
        m
        for m in external_imports(name)
        if any(m == f or m.startswith(f + ".") for f in FORBIDDEN_IN_CORE)
    )
    assert not bad, f"{name} imports {bad}"


@pytest.mark.parametrize("name", sorted(m for m in graph() if is_core(m)))
def test_only_the_shell_and_rich_renderers_import_rich(name: str) -> None:
    bad = sorted(m for m in external_imports(name) if m == "rich" or m.startswith("rich."))
    assert not bad, f"{name} imports {bad}"


def test_the_checks_can_fail() -> None:
    """The cycle finder and the layer rule catch what they are meant to catch."""
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
    assert is_shell("kpitrack.commands.check") and is_core("kpitrack.reading.loading")
    assert not is_core("kpitrack.render.table")
    assert any(m.startswith("rich") for m in external_imports("kpitrack.render.table"))
