"""`command:` sources: a program's one line of output, only where the local config allows.

The argv list runs directly (never through a shell), without stdin, in the KPI
file's folder, in a new session. Its output is read with a cap while reading
(64 KiB of stdout, 1 MiB of stderr); at the timeout or a cap, the whole process
group is killed, and so is every process descended from it: a `setsid`
grandchild leaves the group and may be re-parented, so the processes are also
found through /proc by a token in their environment (`KPITRACK_SOURCE_RUN`).
"""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import subprocess
import time
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from pathlib import Path

from kpitrack.domain.model import Kpi, Source
from kpitrack.domain.problems import Problem, Severity
from kpitrack.reading import rules
from kpitrack.reading.sources.base import (
    Params,
    SourceContext,
    SourceError,
    excerpt,
    kpi_folder,
    register,
)
from kpitrack.reading.yamlnodes import Map, Node, Scalar, Seq

MAX_OUTPUT_BYTES = 64 * 1024
MAX_STDERR_BYTES = 1024 * 1024
RUN_TOKEN = "KPITRACK_SOURCE_RUN"


@dataclass(frozen=True)
class CommandSpec:
    argv: tuple[str, ...]


class CommandKind:
    kind = "command"
    keys: Mapping[str, str] = {
        "command": "a program and its arguments, as a list (never run through a shell)",
    }

    def parse(
        self, out: list[Problem], fields: Mapping[str, Node], node: Map, where: str
    ) -> tuple[Hashable, str] | None:
        argv_node = fields["command"]
        if (
            not isinstance(argv_node, Seq)
            or not argv_node.items
            or not all(isinstance(i, Scalar) and i.text for i in argv_node.items)
        ):
            hint = (
                " (a list like [./count-deploys, --team, web]; it never runs through a shell)"
                if isinstance(argv_node, Scalar)
                else ""
            )
            rules.error(
                out,
                argv_node,
                "KT054",
                f"{where}: command must be a non-empty list of program and arguments, "
                f"got {rules.shape(argv_node)}{hint}",
            )
            return None
        argv = tuple(i.text for i in argv_node.items if isinstance(i, Scalar))
        if "\0" in "".join(argv):
            rules.error(out, argv_node, "KT054", f"{where}: command holds a NUL character")
            return None
        return CommandSpec(argv), argv[0]

    def check(self, kpi: Kpi, source: Source, ctx: SourceContext) -> list[Problem]:
        if ctx.local.allow_commands:
            return []
        return [
            Problem.at(
                source.where("command"),
                Severity.WARNING,
                "KT121",
                f"KPI '{kpi.id}': source: command sources run only when the local config "
                "sets allow_commands = true (or with collect --allow-commands); collect "
                "reports this one as failed",
            )
        ]

    def run(self, kpi: Kpi, source: Source, params: Params, ctx: SourceContext) -> object:
        if not ctx.local.allow_commands:
            raise SourceError(
                "command sources are off: set allow_commands = true in kpitrack.local.toml or "
                "~/.config/kpitrack/config.toml, or pass collect --allow-commands"
            )
        spec = source.spec
        assert isinstance(spec, CommandSpec)
        env = dict(ctx.environ)
        env.update(
            KPITRACK_KPI=kpi.id,
            KPITRACK_PERIOD=params.period.label,
            KPITRACK_PERIOD_START=params.period_start.isoformat(),
            KPITRACK_PERIOD_END=params.period_end.isoformat(),
            KPITRACK_AS_OF=params.as_of.isoformat(),
        )
        out, err, status = run_capped(list(spec.argv), kpi_folder(kpi), env, ctx.timeout(source))
        if status != 0:
            detail = err.decode("utf-8", "replace").strip().splitlines()
            last = f": {excerpt(detail[-1], 200)}" if detail else ""
            raise SourceError(f"the command exited with status {status}{last}")
        text = out.decode("utf-8", "replace").strip()
        if not text or len(text.splitlines()) != 1:
            raise SourceError("the command must print exactly one number or scale label")
        return text


def run_capped(
    argv: list[str], cwd: Path, env: dict[str, str], timeout: float
) -> tuple[bytes, bytes, int]:
    """Run `argv`; (stdout, stderr tail, exit status). SourceError at the timeout or a cap,
    after killing every process the command started."""
    token = f"{os.getpid()}-{time.monotonic_ns()}-{os.urandom(4).hex()}"
    env = {**env, RUN_TOKEN: token}
    try:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=str(cwd) if str(cwd) else None,
            env=env,
            shell=False,
            start_new_session=True,
        )
    except OSError as exc:
        raise SourceError(f"cannot run {excerpt(argv[0], 60)}: {exc.strerror or exc}") from None
    assert proc.stdout is not None and proc.stderr is not None
    deadline = time.monotonic() + timeout
    out = bytearray()
    err = bytearray()
    err_total = 0
    failure: str | None = None
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stdout, selectors.EVENT_READ, out)
        selector.register(proc.stderr, selectors.EVENT_READ, err)
        while selector.get_map() and failure is None:
            left = deadline - time.monotonic()
            if left <= 0:
                failure = f"the command timed out after {timeout:g} s"
                break
            for key, _events in selector.select(left):
                chunk = os.read(key.fd, 65536)
                if not chunk:
                    selector.unregister(key.fileobj)
                    continue
                if key.data is out:
                    out += chunk
                    if len(out) > MAX_OUTPUT_BYTES:
                        failure = f"the command wrote over {MAX_OUTPUT_BYTES:,} bytes"
                else:
                    err_total += len(chunk)
                    err += chunk
                    del err[: max(0, len(err) - 8192)]  # the tail is enough for the message
                    if err_total > MAX_STDERR_BYTES:
                        failure = f"the command wrote over {MAX_STDERR_BYTES:,} bytes to stderr"
    if failure is None:
        try:
            status = proc.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            failure = f"the command timed out after {timeout:g} s"
    kill_tree(proc, token)
    proc.stdout.close()
    proc.stderr.close()
    if failure is not None:
        raise SourceError(failure)
    return bytes(out), bytes(err), status


def _processes() -> tuple[dict[int, list[int]], list[int]]:
    """Parent pid → child pids, and the pids whose environment holds the run token
    (both empty where there is no /proc)."""
    tree: dict[int, list[int]] = {}
    pids: list[int] = []
    with contextlib.suppress(OSError):
        for name in os.listdir("/proc"):
            if name.isdigit():
                pids.append(int(name))
                try:
                    with open(f"/proc/{name}/stat", "rb") as fh:
                        stat = fh.read()
                except OSError:
                    continue
                fields = stat[stat.rfind(b")") + 2 :].split()
                if len(fields) > 1:
                    tree.setdefault(int(fields[1]), []).append(int(name))
    return tree, pids


def _marked(pids: list[int], token: str) -> list[int]:
    wanted = f"{RUN_TOKEN}={token}".encode()
    found: list[int] = []
    for pid in pids:
        try:
            with open(f"/proc/{pid}/environ", "rb") as fh:
                if wanted in fh.read().split(b"\0"):
                    found.append(pid)
        except OSError:
            continue
    return found


def _tree(pid: int, token: str) -> list[int]:
    """Every live process the command started: its descendants and those marked by `token`."""
    tree, pids = _processes()
    found = _marked(pids, token)
    stack = [pid, *found]
    while stack:
        for child in tree.get(stack.pop(), []):
            if child not in found:
                found.append(child)
                stack.append(child)
    return [p for p in found if p not in (pid, os.getpid())]


def kill_tree(proc: subprocess.Popen[bytes], token: str) -> None:
    """SIGKILL the command's process group and every process it started (also those that
    left the group with setsid); wait for the command itself."""
    for _round in range(5):
        victims = _tree(proc.pid, token)
        with contextlib.suppress(OSError):
            os.killpg(proc.pid, signal.SIGKILL)
        for pid in victims:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(5)
        if not victims:
            break


COMMAND = register(CommandKind())
