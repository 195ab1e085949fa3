"""The shipped `kpitrack-check` hook, run by pre-commit itself (`pre-commit try-repo`)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# The venv's own pre-commit first, so the test runs without the venv on PATH.
PRE_COMMIT = shutil.which("pre-commit", path=str(Path(sys.executable).parent)) or shutil.which(
    "pre-commit"
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.process,
    pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed"),
    pytest.mark.skipif(PRE_COMMIT is None, reason="pre-commit is not installed"),
]

GOOD = (ROOT / "tests" / "data" / "check" / "valid.yaml").read_text(encoding="utf-8")
BAD = GOOD.replace("frequency: monthly", "frequncy: monthly", 1)


def hook_env(home: Path) -> dict[str, str]:
    return {
        **os.environ,
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "Ann Lead",
        "GIT_AUTHOR_EMAIL": "ann@example.com",
        "GIT_COMMITTER_NAME": "Ann Lead",
        "GIT_COMMITTER_EMAIL": "ann@example.com",
        "PRE_COMMIT_HOME": str(home),  # the hook's environment is built once, by the first run
    }


class GoodRun:
    """`pre-commit try-repo` on a repository with a good KPI file, started in the
    background (conftest.py): building the hook's environment is most of its time."""

    def __init__(self) -> None:
        import tempfile

        self.base = Path(tempfile.mkdtemp(prefix="kpitrack-pre-commit-"))
        self.env = hook_env(self.base / "home")
        self.proc: subprocess.Popen[str] | None = None
        if PRE_COMMIT is None or shutil.which("git") is None:
            return  # the test skips
        repo = make_repo(self.base / "good", GOOD, self.env)
        self.proc = subprocess.Popen(
            [PRE_COMMIT, "try-repo", str(ROOT), "kpitrack-check", "--all-files"],
            cwd=repo,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def close(self) -> None:
        """Called at the end of the session (conftest.py): the process and its files go."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
        shutil.rmtree(self.base, ignore_errors=True)

    def result(self) -> subprocess.CompletedProcess[str]:
        assert self.proc is not None
        out, err = self.proc.communicate(timeout=600)
        return subprocess.CompletedProcess(self.proc.args, self.proc.returncode, out, err)


def start_good_run() -> GoodRun:
    return GoodRun()


def try_repo(repo: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    assert PRE_COMMIT is not None
    return subprocess.run(
        [PRE_COMMIT, "try-repo", str(ROOT), "kpitrack-check", "--all-files"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def make_repo(path: Path, text: str, env: dict[str, str]) -> Path:
    path.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=path, env=env, check=True)
    (path / "kpis.yaml").write_text(text, encoding="utf-8")
    subprocess.run(["git", "add", "kpis.yaml"], cwd=path, env=env, check=True)
    subprocess.run(["git", "commit", "-qm", "KPIs"], cwd=path, env=env, check=True)
    return path


def test_hook_passes_a_good_file_and_fails_a_bad_one(tmp_path: Path, background: GoodRun) -> None:
    good, env = background.result(), background.env
    if (
        good.returncode != 0
        and "error" in good.stdout.lower()
        and "kpitrack check" not in good.stdout
    ):
        pytest.skip(f"pre-commit could not install the hook here: {good.stdout[-300:]}")
    assert good.returncode == 0, good.stdout + good.stderr
    assert "kpitrack check" in good.stdout and "Passed" in good.stdout
    bad = try_repo(make_repo(tmp_path / "bad", BAD, env), env)
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "Failed" in bad.stdout
    assert "KT015" in bad.stdout and "did you mean 'frequency'" in bad.stdout
