"""The product does not depend on kpitrack/_typer.py's patches of Typer internals: the
command-line tests pass with them switched off (KPITRACK_NO_TYPER_PATCHES=1), apart
from the tests of the patches themselves (marked `typer_patches`, skipped then)."""

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


@pytest.mark.slow
@pytest.mark.process
def test_the_cli_tests_pass_with_the_typer_patches_off() -> None:
    env = {**os.environ, "KPITRACK_NO_TYPER_PATCHES": "1"}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-rs",
            "-p",
            "no:cacheprovider",
            "-x",
            *(str(TESTS / name) for name in CLI_TESTS),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert " passed" in done.stdout
    assert "tests a Typer patch, and KPITRACK_NO_TYPER_PATCHES is set" in done.stdout


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
