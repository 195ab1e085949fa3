"""The layers hold: the core never reaches up into the shell, and no modules import
each other in a circle.

The import graph is read from the source with `ast` (every `import` and
`from … import`, at module level or inside a function; imports under
`if TYPE_CHECKING:` are left out, since they never run). See docs/ARCHITECTURE.md.
"""

from __future__ import annotations

import ast
import functools
import re
from pathlib import Path

import pytest

import kpitrack

PACKAGE = Path(kpitrack.__file__).parent

# The shell: the command line, its commands and the renderers that build Rich objects.
SHELL = {"kpitrack.cli", "kpitrack._entry", "kpitrack.__main__", "kpitrack._typer"}
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


@functools.cache
def _parsed(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), str(path))


def imports_of(path: Path, name: str) -> set[str]:
    """Every module `path` imports when it runs (absolute names)."""
    tree = _parsed(path)
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


@functools.cache
def _graph() -> dict[str, frozenset[str]]:
    return {name: frozenset(deps) for name, deps in _build_graph().items()}


def graph() -> dict[str, set[str]]:
    """The import graph (read once per session; each caller gets its own copy)."""
    return {name: set(deps) for name, deps in _graph().items()}


def _build_graph() -> dict[str, set[str]]:
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


# ---------------------------------------------------------------- layers as folders

# The layers, lowest first: the folder tree is the architecture picture
# (docs/ARCHITECTURE.md). A module may import modules of its own layer and of the
# layers below it, never above.
LAYERS = (
    "domain",
    "evaluation",
    "reading",
    "writing",
    "git",
    "reports",
    "notify",
    "render",
    "commands",
    "shell",
)
# The package's own top-level modules: the shell and the public API facade.
TOP_LEVEL = {
    "kpitrack": "shell",
    "kpitrack.cli": "shell",
    "kpitrack._entry": "shell",
    "kpitrack.__main__": "shell",
    "kpitrack._typer": "shell",
}


def private_imports(name: str) -> set[str]:
    """The private modules of other packages (`typer._click`, `rich._wrap`) it imports."""
    return {
        m
        for m in external_imports(name)
        if not m.startswith("kpitrack") and any(p.startswith("_") for p in m.split(".")[1:])
    }


@pytest.mark.parametrize("name", sorted(graph()))
def test_only_the_typer_shim_imports_private_modules(name: str) -> None:
    """A dependency's private module can change in any release: Typer's are confined to
    kpitrack/_typer.py (each use guarded), and no other module imports one."""
    if name == "kpitrack._typer":
        return
    assert private_imports(name) == set()


def layer_of(name: str) -> str:
    if name in TOP_LEVEL:
        return TOP_LEVEL[name]
    parts = name.split(".")
    if len(parts) >= 2 and parts[1] in LAYERS:
        return parts[1]
    raise AssertionError(f"{name} is in no layer folder: move it into one of {LAYERS}")


def upward_imports(edges: dict[str, set[str]]) -> list[str]:
    rank = {layer: i for i, layer in enumerate(LAYERS)}
    bad = []
    for name, deps in sorted(edges.items()):
        # `kpitrack` itself (`from kpitrack import __version__`, or a subpackage) is the
        # package every import runs anyway; its __init__ imports nothing eagerly but
        # the pure `evaluate`.
        for dep in sorted(deps - {"kpitrack"}):
            if rank[layer_of(dep)] > rank[layer_of(name)]:
                bad.append(f"{name} ({layer_of(name)}) imports {dep} ({layer_of(dep)})")
    return bad


def test_every_module_is_in_a_layer_folder() -> None:
    for name in graph():
        layer_of(name)  # raises with the module's name
    folders = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    assert folders <= set(LAYERS), f"folders not in the layer list: {folders - set(LAYERS)}"


def test_no_layer_imports_a_layer_above_it() -> None:
    bad = upward_imports(graph())
    assert not bad, "\n".join(bad)


def test_the_architecture_doc_lists_the_layers_in_order() -> None:
    doc = (PACKAGE.parent / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
    picture = doc.split("```")[1]
    found = [layer for layer in LAYERS if f"{layer}/" in picture or layer == "shell"]
    positions = [picture.index(f"{layer}/") for layer in found if layer != "shell"]
    assert found == list(LAYERS), f"the picture lacks {set(LAYERS) - set(found)}"
    # The picture draws the highest layer first.
    assert positions == sorted(positions, reverse=True), "layers out of order in the picture"


def _clock_calls(path: Path) -> list[int]:
    """Lines that read the clock: date.today(), datetime.now(), datetime.today()."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in {"today", "now", "utcnow"}
        and isinstance(node.func.value, ast.Name | ast.Attribute)
        and (getattr(node.func.value, "attr", None) or getattr(node.func.value, "id", ""))
        in {"date", "datetime"}
    ]


@pytest.mark.parametrize(
    "name", sorted(m for m in graph() if layer_of(m) not in {"commands", "shell"})
)
def test_nothing_below_the_shell_reads_the_clock(name: str) -> None:
    path = PACKAGE.parent.joinpath(*name.split("."))
    path = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
    assert not _clock_calls(path), f"{name} reads the clock at lines {_clock_calls(path)}"


def test_the_checks_can_fail() -> None:
    """The cycle finder and the layer rule catch what they are meant to catch."""
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
    assert is_shell("kpitrack.commands.check") and is_core("kpitrack.reading.loading")
    assert not is_core("kpitrack.render.table")
    assert any(m.startswith("rich") for m in external_imports("kpitrack.render.table"))
    assert upward_imports({"kpitrack.domain.model": {"kpitrack.reading.rules"}}) != []
    assert upward_imports({"kpitrack.reading.rules": {"kpitrack.domain.model"}}) == []
    with pytest.raises(AssertionError, match="in no layer folder"):
        layer_of("kpitrack.loose")
    sample = PACKAGE.parent / "tests" / "data"
    clock = sample / "_clock_probe.py"
    clock.write_text("import datetime as dt\nx = dt.date.today()\ny = dt.datetime.now()\n")
    try:
        assert _clock_calls(clock) == [2, 3]
    finally:
        clock.unlink()


# ---------------------------------------------------------------- thin commands (#20)

MAX_LINES = 60
MAX_COMPLEXITY = 10
THIN_FILES = [*sorted((PACKAGE / "commands").glob("*.py")), PACKAGE / "cli.py"]


def _complexity(node: ast.AST) -> int:
    """McCabe's count: 1, plus one per branch (if, loop, conditional expression, except,
    with, assert, comprehension), plus one per extra operand of `and`/`or`. A nested
    function or lambda counts towards the function around it too."""
    branches = (ast.If, ast.For, ast.While, ast.IfExp, ast.ExceptHandler, ast.With, ast.Assert)
    score = 1
    for child in ast.walk(node):
        if isinstance(child, (*branches, ast.comprehension)):
            score += 1
        elif isinstance(child, ast.BoolOp):
            score += len(child.values) - 1
    return score


def _too_big(source: str) -> list[str]:
    """Each function of `source` above MAX_LINES lines or MAX_COMPLEXITY, as
    `name: N lines, complexity C`."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            lines = (node.end_lineno or node.lineno) - node.lineno + 1
            score = _complexity(node)
            if lines > MAX_LINES or score > MAX_COMPLEXITY:
                found.append(f"{node.name}: {lines} lines, complexity {score}")
    return found


@pytest.mark.parametrize("path", THIN_FILES, ids=lambda p: p.name)
def test_commands_are_thin(path: Path) -> None:
    """#20: every function in commands/ and cli.py parses options, calls the core and
    hands over: at most 60 lines and McCabe complexity 10."""
    assert not _too_big(path.read_text(encoding="utf-8")), _too_big(path.read_text("utf-8"))


def test_the_thinness_check_can_fail() -> None:
    eleven_branches = "def f(x):\n" + "".join(
        f"    if x == {n}:\n        return {n}\n" for n in range(11)
    )
    assert _complexity(ast.parse(eleven_branches).body[0]) == 12
    assert _too_big(eleven_branches) == ["f: 23 lines, complexity 12"]
    complexity_ten = "def f(x):\n" + "".join(f"    if x == {n}:\n        pass\n" for n in range(9))
    assert _too_big(complexity_ten) == []
    assert _complexity(ast.parse("def g(a, b, c):\n    return a and b or c\n").body[0]) == 3
    long_one = "def h():\n" + "    x = 1\n" * 60
    assert _too_big(long_one) == ["h: 61 lines, complexity 1"]
    assert _too_big("def h():\n" + "    x = 1\n" * 59) == []


def test_every_command_has_its_function() -> None:
    """cli.COMMAND_FUNCTIONS names each command's function (the table replaced a
    `match` that mypy checked for exhaustiveness)."""
    from kpitrack.cli import COMMAND_FUNCTIONS, CommandName

    assert set(COMMAND_FUNCTIONS) == set(CommandName)
    for name in CommandName:
        module, function = COMMAND_FUNCTIONS[name]
        assert (PACKAGE / "commands" / f"{module}.py").is_file(), name
        assert callable(name.function()), name
        assert name.function().__name__ == function


# ---------------------------------------------------------------- doc citations (#20)

SPEC_CITATION = re.compile(r"\bSPEC\b")


def _spec_citations(text: str) -> list[int]:
    """Lines that cite SPEC (`SPEC §3`, `SPEC's`...), a file not in the repository."""
    return [n for n, line in enumerate(text.splitlines(), 1) if SPEC_CITATION.search(line)]


def test_code_cites_the_projects_own_docs() -> None:
    """#20: comments and docstrings cite docs/*.md, never the SPEC file."""
    found = {
        str(path.relative_to(PACKAGE.parent)): lines
        for path in sorted(PACKAGE.rglob("*.py"))
        if (lines := _spec_citations(path.read_text(encoding="utf-8")))
    }
    assert not found, found


def test_the_citation_check_can_fail() -> None:
    assert _spec_citations('"""Status (SPEC §3)."""\nx = 1\n# as SPEC\'s rule says') == [1, 3]
    assert _spec_citations('_SPECIAL = 1\n"""docs/evaluation.md "Status"."""') == []
