"""The console-script entry point: Ctrl-C while Python is still importing the CLI (Typer
and Rich take a moment) exits 130 without a traceback, like Ctrl-C later on.

While the CLI's modules load, the cyclic garbage collector pauses: importing allocates
thousands of objects and frees almost none, so it would scan them again and again for
nothing (about 5% of `kpitrack check` on a small workspace). What was loaded is then
frozen (`gc.freeze`: modules, classes and functions live as long as the process), so
no later collection scans it either, and collection runs as usual for the command.

PyYAML compiles regular expressions when it is imported that only its pure-Python
reader, resolver and constructor use (`Reader.NON_PRINTABLE` alone is several
milliseconds); kpitrack reads YAML through libyaml's events and never uses them.
`compile_yaml_patterns_later` makes those patterns compile at their first use instead
(docs/PERFORMANCE.md "Start-up")."""

from __future__ import annotations

import gc
import sys
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    import re
    from collections.abc import Sequence
    from importlib.abc import Loader
    from importlib.machinery import ModuleSpec
    from types import ModuleType

# The modules whose import-time patterns wait for their first use.
LATER = frozenset({"yaml.reader", "yaml.resolver", "yaml.constructor"})


class LazyPattern:
    """A compiled pattern that compiles at its first use: every attribute (`match`,
    `search`, `pattern`...) is the compiled pattern's."""

    __slots__ = ("_args", "_compiled")

    def __init__(self, pattern: str, flags: int) -> None:
        self._args = (pattern, flags)
        self._compiled: re.Pattern[str] | None = None

    def __getattr__(self, name: str) -> Any:
        compiled = self._compiled
        if compiled is None:
            import re

            compiled = self._compiled = re.compile(*self._args)
        return getattr(compiled, name)

    def __repr__(self) -> str:
        return f"LazyPattern({self._args[0]!r}, {self._args[1]!r})"


class _LaterLoader:
    """The module's own loader, except that `re.compile` called by the module's own code
    while it is executed returns a `LazyPattern`."""

    def __init__(self, loader: Any) -> None:
        self.loader = loader

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        created: ModuleType | None = self.loader.create_module(spec)
        return created

    def exec_module(self, module: ModuleType) -> None:
        import re

        compile_now = re.compile
        own = module.__dict__

        def compile_later(pattern: Any, flags: Any = 0) -> Any:
            if sys._getframe(1).f_globals is own and isinstance(pattern, str):
                return LazyPattern(pattern, int(flags))
            return compile_now(pattern, flags)

        vars(re)["compile"] = compile_later
        try:
            self.loader.exec_module(module)
        finally:
            vars(re)["compile"] = compile_now

    def __getattr__(self, name: str) -> Any:  # get_source, is_package, ... for tracebacks
        return getattr(self.loader, name)


class _PatternsLater:
    """A meta path finder for the modules in LATER only: found where Python would find
    them, loaded through `_LaterLoader`."""

    @staticmethod
    def find_spec(
        name: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if name not in LATER:
            return None
        from importlib.machinery import PathFinder

        spec = PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return None
        spec.loader = cast("Loader", _LaterLoader(spec.loader))
        return spec


def compile_yaml_patterns_later() -> None:
    """From now on, PyYAML's import-time patterns compile at their first use (no effect
    once PyYAML is imported)."""
    if not any(isinstance(finder, _PatternsLater) for finder in sys.meta_path):
        sys.meta_path.insert(0, _PatternsLater())


def main() -> None:
    collecting = gc.isenabled()
    gc.disable()
    compile_yaml_patterns_later()
    try:
        from kpitrack.cli import main as run
    except KeyboardInterrupt:
        from kpitrack.domain.problems import ExitCode

        sys.stderr.write("kpitrack: interrupted\n")
        sys.exit(int(ExitCode.INTERRUPTED))
    finally:
        if collecting:
            gc.freeze()
            gc.enable()
    run(process=True)
