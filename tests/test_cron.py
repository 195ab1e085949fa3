"""The cron lines of docs/terminal.md, run as cron runs them (issue #22 item 11):
`env -i` with cron's PATH, from another folder."""

from __future__ import annotations

import re
import shutil
import subprocess
from email.parser import Parser
from email.policy import default
from pathlib import Path

import pytest
from support import command

pytestmark = pytest.mark.process

ROOT = Path(__file__).parent.parent
GUIDE = ROOT / "docs" / "terminal.md"
CRON_PATH = "/usr/bin:/bin"
DOCUMENTED_REPO, DOCUMENTED_KPITRACK = "/srv/kpis", "/opt/kpitrack/venv/bin/kpitrack"


def documented_lines() -> list[str]:
    text = GUIDE.read_text(encoding="utf-8")
    block = text.split("<!-- cron-lines:", 1)[1].split("```cron\n", 1)[1].split("```", 1)[0]
    return [line for line in block.splitlines() if line and not line.startswith("#")]


def kpitrack_path() -> str:
    argv = command()
    if len(argv) != 1:
        pytest.skip("kpitrack is not installed as a program here")
    return argv[0]


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    folder = tmp_path / "kpis repo"  # a space: the line must quote nothing by accident
    folder.mkdir()
    sample = (ROOT / "sample_kpis.yaml").read_text(encoding="utf-8")
    (folder / "kpis.yaml").write_text(sample, encoding="utf-8")
    return folder


def as_cron(line: str, *, home: Path) -> subprocess.CompletedProcess[str]:
    """The command part of a crontab line, as cron runs it: sh, an empty environment
    but cron's PATH, HOME as the working folder."""
    fields = line.split(None, 5)
    return subprocess.run(
        ["env", "-i", f"PATH={CRON_PATH}", f"HOME={home}", "/bin/sh", "-c", fields[5]],
        cwd=home,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.slow  # three real cron-like runs of the report
def test_documented_lines_run_under_cron(repo: Path, tmp_path: Path) -> None:
    lines = documented_lines()
    assert len(lines) == 3
    mail = tmp_path / "mail.eml"
    for line in lines:
        runnable = (
            line.replace(DOCUMENTED_REPO, f"'{repo}'")
            .replace(DOCUMENTED_KPITRACK, kpitrack_path())
            .replace("ifne /usr/sbin/sendmail -t", f"cat > '{mail}'")
            .replace("/usr/sbin/sendmail -t", f"cat > '{mail}'")
        )
        done = as_cron(runnable, home=tmp_path)
        assert "not found" not in done.stderr, done.stderr
        assert "Traceback" not in done.stderr and "warning" not in done.stderr, done.stderr
        if "status --fail-on" in line:
            assert done.returncode in (0, 1)  # 1: some KPI is off track (cron mails stderr)
            continue
        assert done.returncode == 0, done.stderr
        message = Parser(policy=default).parsestr(mail.read_text(encoding="utf-8"))
        assert message["From"] == "kpis@example.com"
        assert message["Subject"].startswith("KPI report")
        mail.unlink()


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_the_install_line_writes_absolute_paths(repo: Path, tmp_path: Path) -> None:
    guide = GUIDE.read_text(encoding="utf-8")
    install = re.search(r'\(crontab -l 2>/dev/null; (echo ".*?")\) \| crontab -', guide)
    assert install is not None
    folder = str(Path(kpitrack_path()).parent)
    made = subprocess.run(
        ["bash", "-c", install.group(1)],
        cwd=repo,
        env={"PATH": f"{folder}:{CRON_PATH}"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert f"cd {repo} && {kpitrack_path()} report" in made
    mail = tmp_path / "mail.eml"
    line = made.replace(f"cd {repo}", f"cd '{repo}'").replace(
        "ifne /usr/sbin/sendmail -t", f"cat > '{mail}'"
    )
    done = as_cron(line, home=tmp_path)
    assert done.returncode == 0, done.stderr


def test_the_old_line_fails_under_cron(repo: Path, tmp_path: Path) -> None:
    """Why the lines name kpitrack by its path: cron's PATH does not hold a venv."""
    if shutil.which("kpitrack", path=CRON_PATH):
        pytest.skip("kpitrack is installed in cron's PATH here")
    old = f"0 7 * * 1  cd '{repo}' && kpitrack report --format email --to team@example.com"
    done = as_cron(old, home=tmp_path)
    assert done.returncode == 127 and "not found" in done.stderr
