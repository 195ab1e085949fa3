"""The one module that touches Typer's private API (`typer._click`, `typer._coercion`,
`typer._param_types`), for start-up speed and cosmetics the product does not depend on.

`apply()` installs, each only when the Typer internals it replaces look as expected:

1. **Option values converted without importing pydantic** (start-up). Typer 0.29
   converts each option value through a pydantic `TypeAdapter` that it builds when the
   command runs, so every command imports pydantic: about 60 ms, a third of a short
   command's start-up. For the annotations kpitrack's options have (str, Path, an Enum,
   and lists of str or Path) the adapter only wraps Typer's own conversion
   (`coerce_cli_path`, `coerce_cli_choice`, str()) in a `BeforeValidator` that returns
   the result unchanged; `plain_runtime_param` calls the same functions directly. A
   bool flag's value is already a bool (anything else is left to Typer's adapter). Any
   other annotation still goes through Typer's adapter. `tests/test_shell.py` checks,
   for every parameter of every command, that both give the same value or the same
   error message.
2. **Plain argument names** (cosmetic): usage lines say `KPI`, `VALUE`, `[FOLDER]`
   instead of `{KPI}` and `KPI <str>`.
3. **Option errors without pydantic's "Value error, " prefix** (cosmetic).
4. **Quoted bash completions**: a completed owner with a space (`Product team`) is
   inserted quoted; Typer's own bash script inserts it as two words.

`KPITRACK_NO_TYPER_PATCHES=1` switches all of them off; CI runs the CLI tests that way
too, so the product is shown to work on Typer's own behaviour.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, get_args, get_origin

from typer._click import Command, Context, HelpFormatter
from typer._click.exceptions import NoSuchOption
from typer._coercion import RuntimeParam, TypeDescriptor, build_runtime_param

# Click's types as Typer vendors them, for the shell's annotations.
__all__ = ["Command", "Context", "HelpFormatter", "NoSuchOption", "apply", "patches_enabled"]

Convert = Callable[[Any, Any, Any], Any]  # (value, parameter, context) -> value


def _str(value: Any, param: Any, ctx: Any) -> str:
    """Typer's `_parse_cli_str` (argv is already str; bytes are decoded the same way)."""
    if isinstance(value, bytes):
        from typer._click import _compat

        encoding = _compat._get_argv_encoding()
        try:
            return value.decode(encoding)
        except UnicodeError:
            fs_encoding = sys.getfilesystemencoding()
            if fs_encoding != encoding:
                try:
                    return value.decode(fs_encoding)
                except UnicodeError:
                    return value.decode("utf-8", "replace")
            return value.decode("utf-8", "replace")
    return str(value)


def _leaf(annotation: Any, descriptor: TypeDescriptor) -> Convert | None:
    """The converter of one value of `annotation`, or None to leave it to Typer."""
    from typer._click.exceptions import BadParameter
    from typer._click.utils import _escape_control_characters
    from typer._param_types import coerce_cli_choice, coerce_cli_path, routes_to_path

    info = descriptor.parameter_info
    if info.parser is not None:
        return None
    if annotation is str:
        return _str
    if annotation is bool:
        typer_way: RuntimeParam | None = None  # built on first need: it imports pydantic

        def flag(value: Any, param: Any, ctx: Any) -> Any:
            nonlocal typer_way
            if isinstance(value, bool):
                return value
            if typer_way is None:  # text from an environment variable, say: Typer's parsing
                typer_way = build_runtime_param(descriptor)
            return typer_way._coerce_value(value, param=param, ctx=ctx)

        return flag
    if annotation is int and not info.clamp:
        return _plain_int(descriptor)
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        choices = tuple(annotation)
        case_sensitive = info.case_sensitive

        def choice(value: Any, param: Any, ctx: Any) -> Any:
            try:
                return coerce_cli_choice(
                    value, choices=choices, case_sensitive=case_sensitive, ctx=ctx
                )
            except ValueError as exc:  # what Typer reports from pydantic's ValidationError
                raise BadParameter(
                    _escape_control_characters(str(exc)), ctx=ctx, param=param
                ) from exc

        return choice
    if (
        annotation is Path
        and routes_to_path(annotation, info)
        and info.path_type is None
        and not info.allow_dash
    ):

        def path(value: Any, param: Any, ctx: Any) -> Any:
            # Typer makes the Path first (with pydantic) and then checks it; the checks
            # and their messages are the same on the text, and Path(text) is the value.
            if isinstance(value, Path):
                return coerce_cli_path(value, info, path_type=Path, param=param, ctx=ctx)
            checked = coerce_cli_path(value, info, path_type=None, param=param, ctx=ctx)
            return Path(str(checked))  # text, as path_type is None

        return path
    return None


def _plain_int(descriptor: TypeDescriptor) -> Convert:
    """An int option (`collect --max-periods`): an int, or plain ASCII digits without a
    leading zero, within the option's min and max, is the value as Typer gives it;
    anything else (signs, spaces, underscores, out of range) goes to Typer's own
    conversion, built on first need (it imports pydantic), for its value or message."""
    info = descriptor.parameter_info
    low, high = info.min, info.max
    typer_way: RuntimeParam | None = None

    def integer(value: Any, param: Any, ctx: Any) -> Any:
        nonlocal typer_way
        number: int | None = None
        if type(value) is int:
            number = value
        elif (
            isinstance(value, str)
            and 0 < len(value) <= 18
            and value.isascii()
            and value.isdigit()
            and (value == "0" or value[0] != "0")
        ):
            number = int(value)
        if (
            number is not None
            and (low is None or number >= low)
            and (high is None or number <= high)
        ):
            return number
        if typer_way is None:
            typer_way = build_runtime_param(descriptor)
        return typer_way._coerce_value(value, param=param, ctx=ctx)

    return integer


def plain_converter(descriptor: TypeDescriptor) -> Convert | None:
    """How to convert values of this parameter without pydantic, or None."""
    if descriptor.file_annotation is not None:
        return None
    annotation: Any = descriptor.annotation
    if get_origin(annotation) is list:
        (item,) = get_args(annotation)
        if isinstance(item, type) and issubclass(item, Enum):
            return None  # a list of choices: errors are worded by pydantic's nesting
        leaf = _leaf(item, descriptor)
        if leaf is None:
            return None

        def each(value: Any, param: Any, ctx: Any) -> list[Any]:
            values = value if isinstance(value, list | tuple) else [value]
            return [leaf(v, param, ctx) for v in values]

        return each
    if get_origin(annotation) is not None:
        return None
    return _leaf(annotation, descriptor)


@dataclass(frozen=True)
class PlainRuntimeParam(RuntimeParam):
    """Typer's runtime parameter, converting with `convert` instead of an adapter."""

    convert: Convert

    def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
        return self.convert(value, param, ctx)


def plain_runtime_param(descriptor: TypeDescriptor) -> RuntimeParam | None:
    """A Typer runtime parameter that converts without pydantic, or None."""
    convert = plain_converter(descriptor)
    if convert is None:
        return None
    return PlainRuntimeParam(
        parameter_info=descriptor.parameter_info, annotation=descriptor.annotation, convert=convert
    )


def use_plain_coercion() -> None:
    """Make Typer convert kpitrack's option values without pydantic (see the module's
    docstring); a Typer without this layout is left as it is."""
    import typer.core as core

    if getattr(core, "build_runtime_param", None) is not build_runtime_param:
        return  # pragma: no cover - another Typer layout (or already replaced)
    if not hasattr(RuntimeParam, "_coerce_value"):
        return  # pragma: no cover

    def runtime_param(descriptor: TypeDescriptor) -> RuntimeParam:
        return plain_runtime_param(descriptor) or build_runtime_param(descriptor)

    vars(core)["build_runtime_param"] = runtime_param  # not re-exported by typer.core


NO_PATCHES_ENV = "KPITRACK_NO_TYPER_PATCHES"
_error_messages_patched = False


def patches_enabled() -> bool:
    """False when `KPITRACK_NO_TYPER_PATCHES` is set to anything but empty or 0."""
    return os.environ.get(NO_PATCHES_ENV, "") in ("", "0")


def use_plain_argument_names() -> None:
    """Usage lines and help name arguments as `KPI`, `VALUE`, `[FOLDER]`, not this Typer's
    `{KPI}` and `KPI <str>`. (Typer's argument display is not configurable.)"""
    from typer.core import TyperArgument

    if hasattr(TyperArgument, "_usage_display_name"):

        def usage_name(self: TyperArgument) -> str:
            name = str(self.metavar or str(self.name or "").upper())
            optional = not self.required and not name.startswith("[")
            return f"[{name}]" if optional else name

        vars_of = vars(TyperArgument)
        if callable(vars_of.get("_usage_display_name")):
            setattr(TyperArgument, "_usage_display_name", usage_name)  # noqa: B010
    if callable(getattr(TyperArgument, "display_type_rich", None)):
        setattr(TyperArgument, "display_type_rich", lambda self, ctx: None)  # noqa: B010


def use_plain_error_messages() -> None:
    """Option errors say what was wrong, without pydantic's "Value error, " prefix."""
    import typer._coercion as coercion

    global _error_messages_patched
    original = getattr(coercion, "get_error_msg", None)
    if callable(original) and not _error_messages_patched:

        def error_message(exc: object) -> str:
            return str(original(exc)).removeprefix("Value error, ")

        vars(coercion)["get_error_msg"] = error_message
        _error_messages_patched = True


def use_quoted_bash_completions() -> None:
    """bash inserts a completion as Typer's script hands it over, so `Product team` became
    two arguments: quote a value that needs it (`'Product team'`). zsh, fish and
    PowerShell quote what they insert themselves."""
    from typer._completion_classes import BashComplete

    original = getattr(BashComplete, "format_completion", None)
    if not callable(original) or getattr(BashComplete, "_kpitrack_quoted", False):
        return

    def format_completion(self: Any, item: Any) -> str:
        import shlex

        text = str(original(self, item))
        return shlex.quote(text) if text else text

    setattr(BashComplete, "format_completion", format_completion)  # noqa: B010
    setattr(BashComplete, "_kpitrack_quoted", True)  # noqa: B010


def apply() -> bool:
    """Install the patches (unless switched off); whether they were installed."""
    if not patches_enabled():
        return False
    use_plain_argument_names()
    use_plain_error_messages()
    use_quoted_bash_completions()
    use_plain_coercion()
    return True
