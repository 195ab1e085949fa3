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


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    home = tmp_path_factory.mktemp("pre-commit-home")
    return {
        **os.environ,
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "Ann Lead",
        "GIT_AUTHOR_EMAIL": "ann@example.com",
        "GIT_COMMITTER_NAME": "Ann Lead",
        "GIT_COMMITTER_EMAIL": "ann@example.com",
        "PRE_COMMIT_HOME": str(home),  # the hook's environment is built once per module
    }


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


def test_hook_passes_a_good_file_and_fails_a_bad_one(tmp_path: Path, env: dict[str, str]) -> None:
    good = try_repo(make_repo(tmp_path / "good", GOOD, env), env)
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
