"""Git-native commands over real temporary repositories: history, --rev, report sections.

Every repository is built in the test, commit by commit, with a controlled git
environment (author, committer, dates; no global or system configuration).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import support

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")

GIT_ENV = {
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "Ann Lead",
    "GIT_AUTHOR_EMAIL": "ann@example.com",
    "GIT_COMMITTER_NAME": "Ann Lead",
    "GIT_COMMITTER_EMAIL": "ann@example.com",
    "HOME": os.devnull,
}


def git(repo: Path, *args: str, date: str | None = None) -> str:
    env = {**os.environ, **GIT_ENV}
    if date is not None:
        env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = f"{date}T12:00:00+00:00"
    proc = subprocess.run(
        ["git", *args], cwd=repo, env=env, capture_output=True, text=True, check=True
    )
    return proc.stdout


TEAM_V1 = """\
objectives:
  - id: grow
    title: Grow the business
kpis:
  - id: signups
    name: Signups
    measure: count of new accounts created per month
    target: 100
    frequency: monthly
    owner: growth
    objective: grow
    baseline: 0
    start: 2026-01-01
    due: 2026-06-30
  - id: churn
    name: Churn
    measure: percent of paying accounts lost per month
    target: 5
    direction: decrease
    frequency: monthly
    owner: growth
    objective: grow
    unit: "%"
"""

LEGACY = """\
kpis:
  - id: legacy
    name: Legacy visits
    measure: count of visits to the old site per month
    target: 10
    frequency: monthly
    owner: web
    objective: grow
"""

MEASUREMENTS_V1 = """\
measurements:
  - {kpi: signups, date: 2026-01-31, value: 5}
  - {kpi: churn, date: 2026-01-31, value: 4}
"""

MEASUREMENTS_V2 = MEASUREMENTS_V1 + "  - {kpi: signups, date: 2026-02-28, value: 10}\n"


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """c1 create; c2 a measurement; c3 target lowered (moved goalpost) and churn's
    target tightened (stretch); c4 due pushed out; c5 file moved to another folder and
    legacy added; c6 churn renamed to churn_rate, legacy's target raised; c7 legacy's
    file deleted."""
    root = tmp_path_factory.mktemp("gitrepo")
    git(root, "init", "-q", "-b", "main")
    team, measurements = root / "kpis" / "team.yaml", root / "measurements" / "2026.yaml"
    write(team, TEAM_V1)
    write(measurements, MEASUREMENTS_V1)
    git(root, "add", "-A")
    git(root, "commit", "-qm", "c1 KPIs", date="2026-01-31")
    write(measurements, MEASUREMENTS_V2)
    git(root, "commit", "-qam", "c2 February", date="2026-03-01")
    write(team, TEAM_V1.replace("target: 100", "target: 60").replace("target: 5", "target: 3"))
    git(root, "commit", "-qam", "c3 targets", date="2026-03-02")
    text = team.read_text(encoding="utf-8").replace("due: 2026-06-30", "due: 2026-09-30")
    write(team, text)
    git(root, "commit", "-qam", "c4 later", date="2026-03-10")
    (root / "teams" / "growth").mkdir(parents=True)
    git(root, "mv", "kpis/team.yaml", "teams/growth/team.yaml")
    write(root / "teams" / "legacy.yaml", LEGACY)
    git(root, "add", "-A")
    git(root, "commit", "-qm", "c5 move", date="2026-03-15")
    team = root / "teams" / "growth" / "team.yaml"
    write(team, team.read_text(encoding="utf-8").replace("id: churn", "id: churn_rate"))
    write(measurements, measurements.read_text(encoding="utf-8").replace("churn,", "churn_rate,"))
    write(root / "teams" / "legacy.yaml", LEGACY.replace("target: 10", "target: 20"))
    git(root, "commit", "-qam", "c6 rename", date="2026-03-20")
    git(root, "rm", "-q", "teams/legacy.yaml")
    git(root, "commit", "-qm", "c7 drop legacy", date="2026-03-25")
    return root


@pytest.fixture
def in_repo(repo: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    for key, value in GIT_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(repo)
    yield repo
    assert git(repo, "status", "--porcelain") == "", "the working tree was touched"


def invoke(*args: str) -> tuple[int, str, str]:
    ran = support.invoke(*args, env={"COLUMNS": "200", "NO_COLOR": "1"})
    return ran.code, ran.stdout, ran.stderr


def sha(repo: Path, rev: str) -> str:
    return git(repo, "rev-parse", "--short=7", rev).strip()


WORKSPACE = ("-f", "teams", "-f", "measurements")


def rows(repo: Path) -> list[dict[str, object]]:
    def row(
        rev: str, date: str, kpi: str, field: str, old: str, new: str, flag: bool
    ) -> dict[str, object]:
        return {
            "commit": sha(repo, rev),
            "date": date,
            "author": "Ann Lead",
            "kpi": kpi,
            "field": field,
            "old": old,
            "new": new,
            "moved_goalpost": flag,
        }

    return [
        row("HEAD~4", "2026-03-02", "signups", "target", "100", "60", True),
        row("HEAD~4", "2026-03-02", "churn", "target", "5", "3", False),
        row("HEAD~3", "2026-03-10", "signups", "due", "2026-06-30", "2026-09-30", True),
        row("HEAD~1", "2026-03-20", "churn_rate", "id", "churn", "churn_rate", False),
        row("HEAD~1", "2026-03-20", "legacy", "target", "10", "20", False),
    ]


def test_history_rows_exact(in_repo: Path) -> None:
    code, out, err = invoke("history", *WORKSPACE, "--format", "json")
    assert code == 0, err
    assert json.loads(out) == {"changes": rows(in_repo)}


def test_history_of_one_kpi_follows_rename(in_repo: Path) -> None:
    code, out, _ = invoke("history", "churn_rate", *WORKSPACE, "--format", "json")
    assert code == 0
    changes = json.loads(out)["changes"]
    assert [(c["kpi"], c["field"]) for c in changes] == [
        ("churn", "target"),
        ("churn_rate", "id"),
    ]


def test_history_csv_markdown_table(in_repo: Path) -> None:
    code, out, _ = invoke("history", "signups", *WORKSPACE, "--format", "csv")
    assert code == 0
    assert out.splitlines() == [
        "commit,date,author,kpi,field,old,new,moved_goalpost",
        f"{sha(in_repo, 'HEAD~4')},2026-03-02,Ann Lead,signups,target,100,60,true",
        f"{sha(in_repo, 'HEAD~3')},2026-03-10,Ann Lead,signups,due,2026-06-30,2026-09-30,true",
    ]
    code, out, _ = invoke("history", "churn_rate", *WORKSPACE, "--format", "markdown")
    assert "| churn | target | 5 → 3 |  |" in out
    code, out, _ = invoke("history", "signups", *WORKSPACE)
    assert code == 0 and out.count("MOVED GOALPOST") == 2


REVS = ["HEAD~6", "HEAD~4", "HEAD~2", "HEAD"]


@pytest.mark.parametrize("rev", REVS)
@pytest.mark.parametrize(
    "command", [["status"], ["overdue"], ["actions"], ["show", "signups"], ["check"]]
)
def test_rev_equals_checkout(
    in_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rev: str, command: list[str]
) -> None:
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(in_repo), str(clone))
    git(clone, "checkout", "-q", git(in_repo, "rev-parse", rev).strip())
    folder = "kpis" if (clone / "kpis").is_dir() else "teams"
    args = [*command, "-f", folder, "-f", "measurements", "--as-of", "2026-04-01"]
    if command == ["check"]:
        args = args[:-2]
    monkeypatch.chdir(clone)
    expected = invoke(*args, "--format", "json")
    monkeypatch.chdir(in_repo)
    got = invoke(*args, "--format", "json", "--rev", rev)
    assert got == expected
    assert got[0] in (0, 1)


def test_report_rev_equals_checkout(
    in_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(in_repo), str(clone))
    git(clone, "checkout", "-q", git(in_repo, "rev-parse", "HEAD~2").strip())
    args = ["report", *WORKSPACE, "--as-of", "2026-03-21", "--format", "markdown"]
    monkeypatch.chdir(clone)
    expected = invoke(*args)
    monkeypatch.chdir(in_repo)
    assert invoke(*args, "--rev", "HEAD~2") == expected


def test_check_rev_reads_the_old_files(in_repo: Path) -> None:
    args = ["-f", "kpis", "-f", "measurements", "--rev", "HEAD~6", "--as-of", "2026-03-01"]
    code, _, err = invoke("check", *args)
    assert code == 0
    assert "ok: 2 files, 2 KPIs, 2 measurements" in err
    code, _, err = invoke("check", "-f", "kpis", "--rev", "HEAD")
    assert code == 2
    assert "no such file or folder at" in err


@pytest.mark.parametrize(
    "rev",
    ["--output=x", "-h", "nope", "HEAD~99", "HEAD:teams", "a b", "HEAD\n", "$(touch x)"],
)
def test_hostile_revisions_refused(in_repo: Path, rev: str) -> None:
    for command in (["status"], ["check"], ["report"], ["show", "signups"]):
        code, out, err = invoke(*command, *WORKSPACE, f"--rev={rev}")
        assert code == 2, (command, rev, err)
        assert "is not a git revision" in err
        assert out == ""
    assert not (in_repo / "x").exists()


def test_rev_outside_a_repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in GIT_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    code, _, err = invoke("status", "--rev", "HEAD")
    assert code == 2
    assert "not inside a git repository" in err


def test_report_definitions_section_every_format(in_repo: Path) -> None:
    base = ["report", *WORKSPACE, "--as-of", "2026-03-26", "--since", "2026-03-05"]
    code, out, _ = invoke(*base, "--format", "json")
    assert code == 0
    section = json.loads(out)["definitions_changed"]
    assert section == {"since": "2026-03-05", "changes": rows(in_repo)[2:]}
    code, out, _ = invoke(*base, "--format", "markdown")
    assert "## Definitions changed since 2026-03-05" in out
    assert "| 2026-06-30 → 2026-09-30 | **moved goalpost** |" in out
    code, out, _ = invoke(*base, "--format", "html")
    assert "<h2>Definitions changed since 2026-03-05</h2>" in out
    assert out.count("moved goalpost</strong>") == 1
    code, out, _ = invoke(*base, "--format", "table")
    assert "Definitions changed since 2026-03-05" in out
    assert "Moved goalpost" in out and out.count("moved goalpost") == 1
    code, out, _ = invoke(*base, "--format", "email", "--to", "lead@example.com")
    assert code == 0
    import email
    import email.policy

    message = email.message_from_string(out, policy=email.policy.default)
    parts = [p.get_content() for p in message.walk() if not p.is_multipart()]
    assert len(parts) == 2  # plain text and HTML
    assert all("Definitions changed since 2026-03-05" in part for part in parts)


def test_report_since_rev(in_repo: Path) -> None:
    base = ["report", *WORKSPACE, "--as-of", "2026-03-26", "--format", "json"]
    code, out, _ = invoke(*base, "--since-rev", "HEAD~2")
    assert code == 0
    assert json.loads(out)["definitions_changed"] == {
        "since": "HEAD~2",
        "changes": rows(in_repo)[3:],
    }
    code, _, err = invoke(*base, "--since-rev", "--exec=x")
    assert code == 2 and "--since-rev" in err


def test_report_outside_a_repository_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, in_repo: Path
) -> None:
    """#22.2: the section is not silently dropped; it says why it is empty."""
    work = tmp_path / "plain"
    shutil.copytree(in_repo / "teams", work / "teams")
    shutil.copytree(in_repo / "measurements", work / "measurements")
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    monkeypatch.chdir(work)
    base = ["report", *WORKSPACE, "--as-of", "2026-03-26"]
    code, out, _ = invoke(*base, "--format", "json")
    assert code == 0
    section = json.loads(out)["definitions_changed"]
    assert section["changes"] == []
    assert section["unavailable"] == "the workspace is not in a git repository"
    for fmt in ("markdown", "html", "table"):
        code, out, _ = invoke(*base, "--format", fmt)
        assert code == 0
        assert "Not available: the workspace is not in a git repository." in out


def test_diff_between_two_revisions(in_repo: Path) -> None:
    code, out, _ = invoke("diff", "HEAD~2", "HEAD", *WORKSPACE, "--format", "json")
    assert code == 0
    assert json.loads(out)["changes"] == [
        {
            "change": "removed",
            "kind": "kpi",
            "id": "legacy",
            "field": None,
            "old": None,
            "new": None,
        },
        {  # followed as `history` follows it, not removed + added (#22.1)
            "change": "renamed",
            "kind": "kpi",
            "id": "churn_rate",
            "field": "id",
            "old": "churn",
            "new": "churn_rate",
        },
    ]
    code, out, _ = invoke("diff", "HEAD~4", "HEAD~3", "-f", "kpis", "--format", "csv")
    assert out.splitlines() == [
        "change,kind,id,field,old,new",
        "redefined,kpi,signups,due,2026-06-30,2026-09-30",
    ]


def test_diff_against_the_working_tree(
    in_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(in_repo), str(clone))
    team = clone / "teams" / "growth" / "team.yaml"
    text = team.read_text(encoding="utf-8").replace("title: Grow the business", "title: Grow")
    write(
        team,
        text.replace(
            "owner: growth\n    objective: grow\n    baseline",
            "owner: sales\n    objective: grow\n    baseline",
        ),
    )
    monkeypatch.chdir(clone)
    code, out, _ = invoke("diff", "HEAD", *WORKSPACE, "--format", "markdown")
    assert code == 0
    assert out.splitlines()[2:] == [
        "| redefined | objective | grow | title | Grow the business → Grow |",
        "| redefined | kpi | signups | owner | growth → sales |",
    ]


@pytest.mark.parametrize(
    "args", [["--", "--output=x"], ["HEAD", "--", "-x"], ["nope"], ["HEAD", "HEAD~50"]]
)
def test_diff_refuses_bad_revisions(in_repo: Path, args: list[str]) -> None:
    code, out, err = invoke("diff", *WORKSPACE, *args)
    assert code == 2
    assert "is not a git revision" in err and out == ""


def test_history_outside_a_repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    code, out, err = invoke("history")
    assert code == 2 and out == ""
    assert "not inside a git repository" in err


def test_export_rev_equals_checkout(
    in_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(in_repo), str(clone))
    git(clone, "checkout", "-q", git(in_repo, "rev-parse", "HEAD~5").strip())
    for extra in ([], ["--evaluations", "--format", "jsonl"]):
        args = ["export", "-f", "kpis", "-f", "measurements", "--as-of", "2026-04-01", *extra]
        monkeypatch.chdir(clone)
        expected = invoke(*args)
        monkeypatch.chdir(in_repo)
        assert invoke(*args, "--rev", "HEAD~5") == expected
        assert expected[0] == 0 and expected[1]


def test_rev_with_a_path_outside_the_repository(in_repo: Path, tmp_path: Path) -> None:
    outside = tmp_path / "kpis.yaml"
    outside.write_text(TEAM_V1, encoding="utf-8")
    code, _, err = invoke("status", "-f", str(outside), "--rev", "HEAD")
    assert code == 2
    assert "is not inside a git repository" in err  # the file's folder is not in one
    code, _, err = invoke("status", "-f", "teams", "-f", str(outside), "--rev", "HEAD")
    assert code == 2
    assert "outside the git repository" in err


def test_history_of_an_unknown_kpi(in_repo: Path) -> None:
    code, out, err = invoke("history", "churn_rat", *WORKSPACE)
    assert code == 2 and out == ""
    assert "no KPI 'churn_rat' in the git history" in err and "churn_rate" in err
    code, out, _ = invoke("history", "legacy", *WORKSPACE, "--format", "csv")
    assert code == 0 and out.splitlines()[1].endswith("legacy,target,10,20,false")


def test_rename_detected_with_milestones_on_other_lines() -> None:
    import datetime as dt

    from kpitrack.domain.model import Config
    from kpitrack.git.changes import renames
    from kpitrack.reading.loading import load_texts

    old = (
        "kpis:\n  - id: a\n    name: A\n    measure: count of things per month\n"
        "    target: 10\n    frequency: monthly\n    due: 2026-12-31\n"
        "    milestones: [{date: 2026-06-30, target: 5}]\n"
    )
    new = "# moved down\n\n" + old.replace("id: a", "id: b")
    day = dt.date(2026, 1, 1)
    before, _ = load_texts([("x.yaml", old)], config=Config(), as_of=day)
    after, _ = load_texts([("y.yaml", new)], config=Config(), as_of=day)
    assert renames(before, after) == {"a": "b"}
    changed, _ = load_texts(
        [("y.yaml", new.replace("target: 10", "target: 11"))], config=Config(), as_of=day
    )
    assert renames(before, changed) == {}  # redefined and no measurements: not a rename


def test_history_shows_reviews_and_archiving(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in GIT_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(tmp_path)
    git(tmp_path, "init", "-q", "-b", "main")
    kpis = tmp_path / "kpis.yaml"
    write(
        kpis,
        TEAM_V1.replace("    due: 2026-06-30\n", "    due: 2026-06-30\n    review: quarterly\n"),
    )
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "KPIs", date="2026-01-31")
    code, out, err = invoke("review", "signups", "--date", "2026-04-01", "--note", "still right")
    assert code == 0, out + err
    git(tmp_path, "commit", "-qam", "reviewed", date="2026-04-01")
    text = kpis.read_text(encoding="utf-8")
    write(
        kpis, text.replace("    review: quarterly\n", "    review: quarterly\n    archived: true\n")
    )
    git(tmp_path, "commit", "-qam", "archived", date="2026-07-05")
    code, out, _ = invoke("history", "signups", "-f", "kpis.yaml", "--format", "json")
    assert code == 0
    found = [(r["field"], r["old"], r["new"]) for r in json.loads(out)["changes"]]
    assert found == [("last_reviewed", None, "2026-04-01"), ("archived", None, "true")]


def test_blob_reader_reads_files_folders_and_missing_paths(in_repo: Path) -> None:
    from kpitrack.git.gitrepo import BlobReader, Repo

    repo = Repo.find(in_repo)
    head = repo.resolve("HEAD")
    with BlobReader(repo) as reader:
        found = reader.yaml_blobs(head, ["teams", "measurements/2026.yaml", "nowhere.yaml"])
        assert [path for path, _ in found] == ["teams/growth/team.yaml", "measurements/2026.yaml"]
        for path, blob in found:
            assert reader.read(blob) == repo.read_blob(head, path)
        assert reader.yaml_blobs(head, ["teams"]) == repo.yaml_blobs(head, ["teams"])
        with pytest.raises(Exception, match="not a blob id"):
            reader.read("HEAD:teams")
        with pytest.raises(Exception, match="cannot read blob"):
            reader.read("0" * 40)


def test_blob_reader_says_so_when_git_stops(in_repo: Path) -> None:
    """A cat-file process that dies is an error, never files silently missing."""
    from kpitrack.git.gitrepo import BlobReader, GitStopped, Repo

    repo = Repo.find(in_repo)
    head = repo.resolve("HEAD")
    with BlobReader(repo) as reader:
        (_path, blob), *_ = reader.yaml_blobs(head, ["measurements/2026.yaml"])
        for process in (reader._check.proc, reader._batch.proc):
            process.kill()
            process.wait()
        with pytest.raises(GitStopped):
            reader.yaml_blobs(head, ["measurements/2026.yaml"])
        with pytest.raises(GitStopped):
            reader.read(blob)
