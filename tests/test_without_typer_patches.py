"""The product does not depend on kpitrack/_typer.py's patches of Typer internals: the
command-line tests pass with them switched off (KPITRACK_NO_TYPER_PATCHES=1), apart
from the tests of the patches themselves (marked `typer_patches`, skipped then).

The patches-off run is a second pytest process. conftest.py (BACKGROUND) starts it
as soon as collection has finished when this test is selected, so it runs on the machine's other
core while the rest of the suite runs; the test collects its result.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).parent
CLI_TESTS = [
    "test_cli.py",
    "test_check_cli.py",
    "test_evaluating_cli.py",
    "test_recording_cli.py",
    "test_report_cli.py",
    "test_terminal_cli.py",
    "test_shell.py",
]
SKIP_REASON = "tests a Typer patch, and KPITRACK_NO_TYPER_PATCHES is set"


def start_patches_off_run() -> subprocess.Popen[str]:
    """The CLI tests in a pytest process of their own, with the patches switched off."""
    env = {**os.environ, "KPITRACK_NO_TYPER_PATCHES": "1"}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pytest",
            "-rs",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:xdist",  # one process: it runs beside the suite's workers
            "-x",
            *(str(TESTS / name) for name in CLI_TESTS),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.mark.slow
@pytest.mark.process
def test_the_cli_tests_pass_with_the_typer_patches_off(
    background: subprocess.Popen[str],
) -> None:
    out, _ = background.communicate(timeout=900)
    assert background.returncode == 0, out[-4000:]
    assert " passed" in out
    assert SKIP_REASON in out


def test_the_switch_turns_the_patches_off() -> None:
    code = (
        "import os; os.environ['KPITRACK_NO_TYPER_PATCHES'] = '1'\n"
        "import kpitrack.cli, typer.core, kpitrack._typer as t\n"
        "print(t.patches_enabled(), "
        "getattr(typer.core.build_runtime_param, '__module__', ''))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "typer._coercion"]
    code = code.replace("= '1'", "= ''")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "kpitrack._typer"]
