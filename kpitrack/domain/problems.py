"""Problems found in a workspace, and the error types the core raises.

The core never prints and never exits: it raises a `KpitrackError` subclass and
`cli.py` turns it into a message and an exit code in one place.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import IntEnum
from typing import TYPE_CHECKING

from kpitrack.domain.codes import KT045
from kpitrack.domain.codes import Severity as Severity  # the vocabulary of problems
from kpitrack.domain.records import Record

if TYPE_CHECKING:
    # mypy checks each record as the frozen dataclass it behaves as (domain/records.py).
    from dataclasses import dataclass as record
else:
    from kpitrack.domain.records import record

_setattr = object.__setattr__  # how a record's __init__ sets its fields

if TYPE_CHECKING:  # model.py raises UsageError: no import at run time
    from kpitrack.domain.model import Location


class ExitCode(IntEnum):
    """Every exit status of the `kpitrack` command (documented in the README)."""

    OK = 0
    PROBLEMS = 1  # check found problems, or --fail-on matched
    USAGE = 2  # bad options, no such file, unreadable or invalid input
    INTERNAL = 3  # a bug: an unexpected exception, reported in one line
    INTERRUPTED = 130  # Ctrl-C (128 + SIGINT, the shell's convention)


@record(frozen=True, order=True)
class Problem(Record):
    """One problem: where it is, how bad, its code and what it says (sorted by place)."""

    path: str
    line: int
    column: int
    severity: Severity
    code: str
    message: str

    def __init__(
        self, path: str, line: int, column: int, severity: Severity, code: str, message: str
    ) -> None:
        _setattr(self, "path", path)
        _setattr(self, "line", line)
        _setattr(self, "column", column)
        _setattr(self, "severity", severity)
        _setattr(self, "code", code)
        _setattr(self, "message", message)

    @classmethod
    def at(cls, loc: Location, severity: Severity, code: str, message: str) -> Problem:
        return cls(loc.path, loc.line, loc.column, severity, code, message)

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def format(self) -> str:
        """One line, always: line breaks and control characters in a path or message
        are shown escaped, so text from a file can never forge another
        `path:line:column:` line nor reach the terminal as an escape sequence."""
        from kpitrack.domain.textsafe import visible

        line = f"{self.path}:{self.line}:{self.column}: {self.severity} {self.code} {self.message}"
        return visible(line, line=True)

    def to_dict(self) -> dict[str, object]:
        return {
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "severity": str(self.severity),
            "code": self.code,
            "message": self.message,
        }


# At most this many problems are reported per file; the rest are counted (KT045).
MAX_PROBLEMS_PER_FILE = 1000


class ProblemList(list[Problem]):
    """Problems found so far, plus per file a count of errors and of warnings that were
    counted but never made into a Problem, because they lie beyond what cap_problems
    can show (a mapping with a million unknown keys: see builder._shown; a million
    measurements dated after the as-of date: see rules.after_as_of)."""

    def __init__(self, problems: Iterable[Problem] = ()) -> None:
        super().__init__(problems)
        self.omitted: dict[str, int] = {}
        self.omitted_warnings: dict[str, int] = {}

    def omit(self, path: str, errors: int) -> None:
        """`errors` more errors in `path`, each located after `MAX_PROBLEMS_PER_FILE + 1`
        problems of that file that are in the list."""
        self.omitted[path] = self.omitted.get(path, 0) + errors

    def omit_warnings(self, path: str, warnings: int) -> None:
        """`warnings` more warnings in `path`, located as `omit`'s errors are."""
        self.omitted_warnings[path] = self.omitted_warnings.get(path, 0) + warnings

    def extend(self, problems: Iterable[Problem]) -> None:
        """Add problems; another ProblemList's counts are added to this one's."""
        super().extend(problems)
        if isinstance(problems, ProblemList):
            for path, count in problems.omitted.items():
                self.omit(path, count)
            for path, count in problems.omitted_warnings.items():
                self.omit_warnings(path, count)


def cap_problems(problems: list[Problem], limit: int = MAX_PROBLEMS_PER_FILE) -> list[Problem]:
    """Sorted problems with at most `limit` per file, plus one KT045 line per file
    that had more, saying how many were left out: an error when an error was
    left out, else a warning (left-out warnings never make a file invalid).
    A ProblemList's omitted errors count as left out.

    A file over the limit is not sorted whole: its first `limit + 1` problems are
    picked with a heap (n log limit), so a million problems cost one pass."""
    import heapq

    omitted = problems.omitted if isinstance(problems, ProblemList) else {}
    omitted_warnings = problems.omitted_warnings if isinstance(problems, ProblemList) else {}
    by_path: dict[str, set[Problem]] = {}
    for p in problems:
        by_path.setdefault(p.path, set()).add(p)
    out: list[Problem] = []
    for path, found in by_path.items():
        extra = omitted.get(path, 0)
        extra_warnings = omitted_warnings.get(path, 0)
        if len(found) + extra + extra_warnings <= limit:
            out += found
            continue
        first = heapq.nsmallest(limit + 1, found, key=_problem_key)
        shown, next_hidden = first[:limit], first[limit]
        hidden = len(found) - limit + extra + extra_warnings
        errors = sum(1 for p in found if p.is_error) - sum(1 for p in shown if p.is_error) + extra
        out += shown
        out.append(
            Problem(
                path,
                next_hidden.line,
                next_hidden.column,
                Severity.ERROR if errors else Severity.WARNING,
                KT045,
                f"{hidden:,} more problem(s) in this file not shown ({errors:,} error(s), "
                f"{hidden - errors:,} warning(s)); fix the first {limit:,} and check again",
            )
        )
    return sort_problems(out)


def _problem_key(p: Problem) -> tuple[str, int, int, str, str]:
    return (p.path, p.line, p.column, p.code, p.message)


def sort_problems(problems: list[Problem]) -> list[Problem]:
    """Sorted by file, line, column, then code; exact duplicates removed."""
    return sorted(set(problems), key=_problem_key)


class KpitrackError(Exception):
    """Base of every error the core raises for bad input or a failed operation."""

    exit_code: ExitCode = ExitCode.USAGE


class UsageError(KpitrackError):
    """Bad arguments: no such file, unknown KPI id, impossible date on the command line."""


class InvalidWorkspaceError(KpitrackError):
    """The workspace has errors; carries the same problems `check` would print."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sort_problems(problems)
        errors = sum(1 for p in self.problems if p.is_error)
        super().__init__(f"the workspace has {errors} error(s); run `kpitrack check`")


class WriteError(KpitrackError):
    """A write was refused or failed; the file on disk is unchanged."""
