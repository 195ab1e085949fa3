"""The git features of #20-#23: the history engine against the old one (kept as an
oracle in history_oracle.py), the repository of the files (not of the current folder),
a KPI removed and added back, blobs refused from their size, diff in the user's words.

Every repository is built in the test with a controlled git environment.
"""

from __future__ import annotations

import ast
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from git_histories import GIT_ENV, build_history, git
from history_oracle import history as oracle_history
from support import invoke

import kpitrack
from kpitrack.domain.model import Config

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")

WORKSPACE = ("-f", "kpis", "-f", "measurements")


@pytest.fixture(autouse=True)
def git_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in GIT_ENV.items():
        monkeypatch.setenv(key, value)


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def commit(repo: Path, message: str, date: str) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", message, "--allow-empty", date=date)


# ---------------------------------------------------------------- equivalence with the old engine


@pytest.mark.parametrize(
    "seed", [1, *(pytest.param(seed, marks=pytest.mark.slow) for seed in range(2, 10))]
)
def test_history_equals_the_old_engine(
    seed: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The git log --raw engine gives exactly the rows of the old one (every commit's whole
    workspace loaded and compared) on generated histories with records, eased and
    tightened targets, later due dates, renames, additions, drops, file moves, comments,
    broken YAML and commits outside the workspace."""
    from kpitrack.git.changes import history

    repo = build_history(tmp_path, commits=45, seed=seed)
    monkeypatch.chdir(repo)
    paths = [Path("kpis"), Path("measurements")]
    expected = oracle_history(paths, Config())
    known: set[str] = set()
    assert history(paths, Config(), known=known) == expected
    assert any(c.moved_goalpost for c in expected) or seed != 1
    assert {c.field for c in expected} >= {"target"}
    # the report's window reads only its commits and gives the same rows as filtering
    import datetime as dt

    from kpitrack.git.changes import report_definitions

    dates = sorted({c.date for c in expected})
    since = dt.date.fromisoformat(dates[len(dates) // 2])
    as_of = dt.date(2099, 1, 1)
    section = report_definitions(paths, Config(), since=since, as_of=as_of)
    assert list(section.changes) == [c for c in expected if c.date > since.isoformat()]


def test_history_reads_only_changed_blobs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """#23: each blob a commit changed is read once; measurement files are not parsed for
    definitions, and a commit that only records values compares no KPI."""
    from kpitrack.git import changes
    from kpitrack.git.gitrepo import BlobReader
    from kpitrack.reading import loading

    repo = build_history(tmp_path, commits=25, seed=7)
    monkeypatch.chdir(repo)
    reads: list[str] = []
    parsed: list[str] = []
    real_read, real_definitions = BlobReader.read, loading.file_definitions

    def read(self: BlobReader, blob: str, *, limit: int | None = None) -> bytes:
        reads.append(blob)
        return real_read(self, blob, limit=limit)

    def definitions(
        display: str,
        text: str,
        parse: loading.Parsed | None = None,
        memo: loading.EntryMemo | None = None,
    ) -> loading.FileDefinitions:
        if loading.may_define(text):
            parsed.append(display)
        return real_definitions(display, text, parse, memo)

    monkeypatch.setattr(BlobReader, "read", read)
    monkeypatch.setattr(loading, "file_definitions", definitions)
    changes.history([Path("kpis"), Path("measurements")], Config())
    listed = git(repo, "log", "--raw", "--no-abbrev", "--format=", "--", "kpis", "measurements")
    changed = {line.split()[3] for line in listed.splitlines() if line.startswith(":")}
    changed.discard("0" * 40)
    # Goalpost and rename checks read measurement files again: still only changed blobs.
    assert set(reads) <= changed
    assert not any(p.startswith("measurements") for p in parsed)
    assert len(parsed) == len(set(parsed)) or len(parsed) <= len(changed)


def test_edited_values_and_comments_above_are_not_parsed_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """#23: a KPI file version that differs from the last one by one value, by comments
    above the content, or both, is derived from the last one's tree (reading/revision.py),
    not parsed; the rows are still the old engine's, moved goalposts included."""
    from kpitrack.git import changes
    from kpitrack.reading import loading

    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    extra = "    milestones:\n      - date: 2026-06-30\n        target: 100000\n"
    kpis = MRR.format(target=200000) + extra + OTHER
    write(repo / "kpis.yaml", kpis)
    write(repo / "measurements.yaml", MRR_VALUES)
    commit(repo, "start", "2026-03-01")
    steps = [
        ("# reviewed in March\n", "target: 200000", "target: 150000"),  # comment and value
        ("# reviewed in March\n", "due: 2026-12-31", "due: 2027-03-31"),  # value
        ("# reviewed again\n# twice\n", "due: 2027-03-31", "due: 2027-03-31"),  # comments
        ("", "target: 40", "target: 45"),  # comments removed and a value
        ("", "id: nps", "id: promoters"),  # a rename: parsed
        ("", "target: 100000", "target: 90000"),  # a milestone's target
    ]
    for n, (top, old, new) in enumerate(steps):
        kpis = kpis.replace(old, new)
        write(repo / "kpis.yaml", top + kpis)
        commit(repo, f"step {n}", f"2026-03-{n + 2:02d}")
    monkeypatch.chdir(repo)
    parsed: list[str] = []
    real_parse = loading.parse_file

    def parse_file(display: str, text: str, texts: dict[str, str] | None = None) -> object:
        parsed.append(display)
        return real_parse(display, text, texts)

    monkeypatch.setattr(loading, "parse_file", parse_file)
    paths = [Path("kpis.yaml"), Path("measurements.yaml")]
    found = changes.history(paths, Config())
    assert parsed.count("kpis.yaml") == 2  # the first version and the rename
    monkeypatch.setattr(loading, "parse_file", real_parse)
    assert found == oracle_history(paths, Config())
    assert [(c.kpi, c.field, c.moved_goalpost) for c in found] == [
        ("mrr", "target", True),
        ("mrr", "due", True),
        ("nps", "target", False),
        ("promoters", "id", False),
        ("mrr", "milestones", False),
    ]


# ---------------------------------------------------------------- #21: the moved goalpost


MRR = """\
kpis:
  - id: mrr
    name: Monthly recurring revenue
    measure: sum of subscription revenue per month
    target: {target}
    frequency: monthly
    baseline: 0
    start: 2026-01-01
    due: 2026-12-31
"""
OTHER = """\
  - id: nps
    name: Net promoter score
    measure: score from the quarterly survey
    target: 40
    frequency: monthly
"""
MRR_VALUES = """\
measurements:
  - {kpi: mrr, date: 2026-01-31, value: 1000}
  - {kpi: mrr, date: 2026-02-28, value: 2000}
"""


@pytest.fixture
def regoal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """mrr (target 200000, far behind) dropped in one commit, added back with 100000 in
    the next; the measurements file is not touched."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    write(repo / "kpis.yaml", MRR.format(target=200000) + OTHER)
    write(repo / "measurements.yaml", MRR_VALUES)
    commit(repo, "start", "2026-03-01")
    write(repo / "kpis.yaml", "kpis:\n" + OTHER)
    commit(repo, "drop mrr", "2026-03-05")
    write(repo / "kpis.yaml", MRR.format(target=100000) + OTHER)
    commit(repo, "mrr again", "2026-03-06")
    monkeypatch.chdir(repo)
    yield repo


def test_removed_and_readded_kpi_is_a_change(regoal: Path) -> None:
    ran = invoke("history", "--format", "json")
    assert ran.code == 0, ran.stderr
    rows = json.loads(ran.stdout)["changes"]
    assert [(r["kpi"], r["field"], r["old"], r["new"], r["moved_goalpost"]) for r in rows] == [
        ("mrr", "target", "200000", "100000", True)
    ]
    assert rows[0]["date"] == "2026-03-06"
    ran = invoke("report", "--as-of", "2026-03-10", "--since", "2026-03-02", "--format", "json")
    assert ran.code in (0, 1), ran.stderr
    section = json.loads(ran.stdout)["definitions_changed"]
    assert [(c["kpi"], c["field"], c["moved_goalpost"]) for c in section["changes"]] == [
        ("mrr", "target", True)
    ]


# ---------------------------------------------------------------- #22.2: git -C the files


@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, regoal: Path) -> Path:
    """The current folder is outside any repository (as cron's working folder)."""
    cron = tmp_path / "cron"
    cron.mkdir()
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    monkeypatch.chdir(cron)
    return regoal


def test_history_rev_and_report_from_outside_the_repository(elsewhere: Path) -> None:
    kpis, measurements = str(elsewhere / "kpis.yaml"), str(elsewhere / "measurements.yaml")
    ran = invoke("history", "-f", kpis, "-f", measurements, "--format", "json")
    assert ran.code == 0, ran.stderr
    assert [r["field"] for r in json.loads(ran.stdout)["changes"]] == ["target"]
    ran = invoke("status", "-f", kpis, "--rev", "HEAD~1", "--format", "json")
    assert ran.code in (0, 1), ran.stderr
    assert [k["id"] for k in json.loads(ran.stdout)["kpis"]] == ["nps"]
    ran = invoke("report", "-f", kpis, "-f", measurements, "--as-of", "2026-03-10")
    assert "Definitions changed since 2026-03-03" in ran.stdout
    assert "200000 → 100000" in ran.stdout
    ran = invoke("diff", "HEAD~2", "-f", kpis, "--format", "json")
    assert ran.code == 0, ran.stderr
    assert json.loads(ran.stdout)["changes"][0]["new"] == 100000


# ---------------------------------------------------------------- #21: --rev and big blobs


def test_rev_refuses_a_large_blob_without_reading_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kpitrack.git import gitrepo
    from kpitrack.reading import yamlnodes

    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    write(repo / "kpis.yaml", MRR.format(target=1) + "# " + "x" * 5000 + "\n")
    commit(repo, "big", "2026-03-01")
    monkeypatch.chdir(repo)
    monkeypatch.setattr(yamlnodes, "MAX_FILE_BYTES", 4096)
    calls: list[list[str]] = []
    real = gitrepo.run_git

    def spy(args: list[str], cwd: Path, *, check: bool = True) -> object:
        calls.append(list(args))
        return real(args, cwd, check=check)

    monkeypatch.setattr(gitrepo, "run_git", spy)
    ran = invoke("check", "-f", "kpis.yaml", "--rev", "HEAD")
    assert ran.code == 1  # a located KT002 problem, as for a file on disk
    assert "kpis.yaml:1:1: error KT002 file is 5,203 bytes, over the limit" in ran.stdout
    assert not any(a[:2] == ["cat-file", "blob"] for a in calls), calls
    with gitrepo.BlobReader(gitrepo.Repo.find(repo)) as reader:
        (_, blob), *_ = reader.yaml_blobs("HEAD", ["kpis.yaml"])
        reader._batch.proc.kill()  # asking the content process would fail
        reader._batch.proc.wait()
        with pytest.raises(gitrepo.BlobTooLarge):
            reader.read(blob, limit=4096)


# ---------------------------------------------------------------- #22.1: diff as written


SOURCED = """\
kpis:
  - id: signups
    name: Signups
    measure: count of new accounts per month
    target: 100
    frequency: monthly
    milestones: [{date: 2026-06-30, target: 50}]
    action: {plan: Run the spring campaign, owner: ann, due: 2026-11-30}
    source:
      sql: SELECT count(*) AS value FROM accounts
      database: app
  - id: churn
    name: Churn
    measure: percent of accounts lost per month
    target: 5
    direction: decrease
    frequency: monthly
"""


def test_diff_reads_like_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    write(repo / "kpis.yaml", SOURCED)
    commit(repo, "start", "2026-03-01")
    monkeypatch.chdir(repo)
    # A comment line moves every location: nothing is redefined.
    write(repo / "kpis.yaml", "# the growth team's KPIs\n" + SOURCED)
    ran = invoke("diff", "HEAD", "-f", "kpis.yaml", "--format", "json")
    assert ran.code == 0, ran.stderr
    assert json.loads(ran.stdout) == {"changes": []}
    text = SOURCED.replace("target: 100", "target: 120").replace(
        "due: 2026-11-30", "due: 2026-12-15"
    )
    text = text.replace("id: churn", "id: churn_rate")
    write(repo / "kpis.yaml", text)
    ran = invoke("diff", "HEAD", "-f", "kpis.yaml", "--format", "json")
    rows = json.loads(ran.stdout)["changes"]
    assert rows == [
        {"change": "redefined", "kind": "kpi", "id": "signups", "field": "target",
         "old": 100, "new": 120},
        {"change": "redefined", "kind": "kpi", "id": "signups", "field": "action",
         "old": {"plan": "Run the spring campaign", "owner": "ann", "due": "2026-11-30",
                 "status": "open"},
         "new": {"plan": "Run the spring campaign", "owner": "ann", "due": "2026-12-15",
                 "status": "open"}},
        {"change": "renamed", "kind": "kpi", "id": "churn_rate", "field": "id",
         "old": "churn", "new": "churn_rate"},
    ]  # fmt: skip
    ran = invoke("diff", "HEAD", "-f", "kpis.yaml", "--format", "markdown")
    assert "| 100 → 120 |" in ran.stdout
    assert "due: 2026-11-30, status: open} → {plan: Run the spring campaign" in ran.stdout
    for fmt in ("markdown", "csv", "table", "json"):
        out = invoke("diff", "HEAD", "-f", "kpis.yaml", "--format", fmt, env={"COLUMNS": "300"})
        for repr_text in ("ActionPlan(", "datetime.date", "<ActionStatus", "Source(", "Location("):
            assert repr_text not in out.stdout, (fmt, out.stdout)
    csv = SOURCED.replace(
        "      sql: SELECT count(*) AS value FROM accounts\n      database: app\n",
        "      csv: signups.csv\n      date_column: day\n      value_column: n\n"
        "      filter: {region: eu}\n",
    )
    write(repo / "kpis.yaml", csv)
    ran = invoke("diff", "HEAD", "-f", "kpis.yaml", "--format", "json")
    assert json.loads(ran.stdout)["changes"][0]["new"] == {
        "csv": "signups.csv",
        "date_column": "day",
        "value_column": "n",
        "filter": {"region": "eu"},
    }
    write(repo / "kpis.yaml", SOURCED.replace("database: app", "database: warehouse"))
    ran = invoke("diff", "HEAD", "-f", "kpis.yaml", "--format", "csv")
    assert ran.stdout.splitlines()[1:] == [
        "redefined,kpi,signups,source,"
        '"{sql: SELECT count(*) AS value FROM accounts, database: app}",'
        '"{sql: SELECT count(*) AS value FROM accounts, database: warehouse}"'
    ]


# ---------------------------------------------------------------- #20: layers and size


def test_git_layer_never_names_the_reports_layer() -> None:
    """DefinitionChanges lives in the git layer: git/ does not import reports/, not even
    for type checking (no cycle between git/changes.py and reports/digest.py)."""
    folder = Path(kpitrack.__file__).parent / "git"
    for path in folder.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert not node.module.startswith("kpitrack.reports"), path


def test_report_command_is_thin() -> None:
    """#20: commands/report.py only parses options and hands over; the definitions section
    is built by reports.digest.build_report. (Its size and complexity are checked with
    every command's in test_architecture.py.)"""
    path = Path(kpitrack.__file__).parent / "commands" / "report.py"
    source = path.read_text(encoding="utf-8")
    assert "report_definitions" not in source and "git.changes" not in source


def test_commit_info_is_gone() -> None:
    from kpitrack.git import gitrepo

    assert not hasattr(gitrepo.Repo, "commit_info")


def test_diff_from_definitions_equals_diff_of_loaded_workspaces(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """#23: diff reads definitions only (values only to tell a rename); it gives the rows
    of comparing the two fully loaded workspaces."""
    import datetime as dt

    from kpitrack.git.changes import diff_sources, diff_workspaces
    from kpitrack.git.gitrepo import Repo, sources_at
    from kpitrack.reading.loading import load_texts

    repo = build_history(tmp_path, commits=30, seed=11)
    monkeypatch.chdir(repo)
    git_repo = Repo.find(repo)
    paths = [Path("kpis"), Path("measurements")]
    day = dt.date(2999, 12, 31)
    found = 0
    for a, b in [("HEAD~30", "HEAD"), ("HEAD~20", "HEAD~5"), ("HEAD~9", "HEAD~8")]:
        old = sources_at(git_repo, git_repo.resolve(a), paths, defaults=False)
        new = sources_at(git_repo, git_repo.resolve(b), paths, defaults=False)
        expected = diff_workspaces(
            load_texts(old, config=Config(), as_of=day)[0],
            load_texts(new, config=Config(), as_of=day)[0],
        )
        assert diff_sources(old, new) == expected
        found += len(expected)
    assert found


@pytest.mark.slow
@pytest.mark.process
def test_git_benchmark_runs_at_a_tiny_size(tmp_path: Path) -> None:
    """benchmarks/git.py generates its repositories and runs every comparison (no timings
    are asserted)."""
    import subprocess
    import sys

    script = Path(kpitrack.__file__).parent.parent / "benchmarks" / "git.py"
    args = ["--sizes", "30:300", "--runs", "1", "--kpis", "16", "--data", str(tmp_path)]
    done = subprocess.run(
        [sys.executable, str(script), *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if line.startswith("|")]
    assert len(lines) == 2 + 3  # header, rule, three comparisons
    assert "history / status (30 commits, 300 measurements)" in done.stdout


def test_report_in_a_repository_without_commits_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    git(tmp_path, "init", "-q", "-b", "main")
    write(tmp_path / "kpis.yaml", MRR.format(target=100))
    write(tmp_path / "measurements.yaml", MRR_VALUES)
    monkeypatch.chdir(tmp_path)
    ran = invoke("report", "--as-of", "2026-03-10", "--format", "json")
    assert ran.code in (0, 1), ran.stderr
    section = json.loads(ran.stdout)["definitions_changed"]
    assert section["changes"] == [] and "has no commits yet" in section["unavailable"]
    ran = invoke("report", "--as-of", "2026-03-10", "--since-rev", "HEAD")
    assert ran.code == 2 and ran.stdout == ""
