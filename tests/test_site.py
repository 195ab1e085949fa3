"""`kpitrack site`: the model, the pages, the folder it writes, the command.

The browser checks (layout at 390 and 1280 px, console, requests) are in
tests/test_site_browser.py; the escaping of hostile text is with the report's in
tests/test_report_render.py.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import ClassVar

import pytest
from site_fixtures import (
    EPOCH,
    SAMPLE,
    SAMPLE_AS_OF,
    broken_links,
    scan,
    site_pages,
)
from support import invoke, run_process

from kpitrack.domain.model import Config
from kpitrack.evaluation.evaluate import evaluate
from kpitrack.reading.loading import load_workspace
from kpitrack.render.site_html import render_site
from kpitrack.reports.site import (
    INDEX,
    Provenance,
    build_site,
    chart_of,
    owner_slug,
    owner_slugs,
    relative,
)
from kpitrack.writing.sitefolder import MANIFEST, read_manifest, write_site_folder

GOLDEN = Path(__file__).parent / "golden" / "site_kpi_mrr.txt"
AS_OF = SAMPLE_AS_OF.isoformat()


@pytest.fixture
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder outside any git repository holding the sample as kpis.yaml; cwd."""
    folder = tmp_path / "ws"
    folder.mkdir()
    shutil.copy(SAMPLE, folder / "kpis.yaml")
    monkeypatch.chdir(folder)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    return folder


def build(*extra: str, out: str = "public") -> tuple[int, str, str]:
    ran = invoke("site", "-o", out, "--as-of", AS_OF, *extra)
    return ran.code, ran.stdout, ran.stderr


def sample_site(**kwargs: object) -> dict[str, str]:
    workspace, problems = load_workspace([SAMPLE], config=Config(), as_of=SAMPLE_AS_OF)
    results = [
        r for r in evaluate(workspace, as_of=SAMPLE_AS_OF, config=Config()) if not r.kpi.archived
    ]
    model = build_site(
        workspace,
        results,
        as_of=SAMPLE_AS_OF,
        config=Config(),
        problems=problems,
        **kwargs,  # type: ignore[arg-type]
    )
    return render_site(model)


# ---------------------------------------------------------------- the model


def test_relative_links_work_from_any_page() -> None:
    assert relative("index.html", "kpi/mrr.html") == "kpi/mrr.html"
    assert relative("kpi/mrr.html", "index.html") == "../index.html"
    assert relative("kpi/mrr.html", "kpi/churn.html") == "churn.html"
    assert relative("kpi/mrr.html", "owner/finance.html") == "../owner/finance.html"


@pytest.mark.parametrize(
    ("owner", "slug"),
    [
        ("Finance", "finance"),
        ("Customer Success", "customer-success"),
        ("platform-team", "platform-team"),
        (None, "_none"),
    ],
)
def test_owner_slugs(owner: str | None, slug: str) -> None:
    assert owner_slug(owner) == slug


def test_owner_slugs_never_collide_and_never_escape() -> None:
    names = ["R&D", "R D", "r-d", "Café", "Cafe", "財務", "人事", "../etc", "a" * 300, "A/B"]
    slugs = list(owner_slugs([*names, None]).values())
    assert len(set(slugs)) == len(slugs) == len(names) + 1
    assert owner_slugs(reversed(names)) == owner_slugs(names)  # whatever the order
    for slug in slugs:
        assert slug and "/" not in slug and ".." not in slug and len(slug) <= 70
        assert all(c.isascii() and (c.isalnum() or c in "-_") for c in slug)
    assert owner_slug("財務") == owner_slug("財務")  # stable


def test_chart_path_has_the_expected_corners() -> None:
    workspace, _ = load_workspace([SAMPLE], config=Config(), as_of=SAMPLE_AS_OF)
    result = next(r for r in evaluate(workspace, as_of=SAMPLE_AS_OF) if r.kpi.id == "mrr")
    chart = chart_of(result)
    assert chart is not None
    days = [d.isoformat() for d, _ in chart.expected]
    assert days == ["2026-01-01", "2026-03-31", "2026-06-30", "2026-09-30", "2026-12-31"]
    assert [v for _, v in chart.expected] == [120000, 135000, 155000, 175000, 200000]
    assert len(chart.measured) == len(result.history) and chart.high == 200000
    assert [d.isoformat() for d, _ in chart.milestones] == days[1:4]


def test_the_model_lists_every_page_the_renderer_writes() -> None:
    from kpitrack.render.site_html import page_renderers

    workspace, problems = load_workspace([SAMPLE], config=Config(), as_of=SAMPLE_AS_OF)
    results = evaluate(workspace, as_of=SAMPLE_AS_OF)
    site = build_site(workspace, results, as_of=SAMPLE_AS_OF, config=Config(), problems=problems)
    assert list(page_renderers(site)) == site.paths()
    assert len(site.paths()) == len(set(site.paths())) == 28  # the archived KPI too


def test_a_kpi_without_values_has_no_chart() -> None:
    pages = sample_site()
    assert "No measurements to chart yet." in pages["kpi/enps.html"]
    assert "<svg" not in pages["kpi/enps.html"]


# ---------------------------------------------------------------- the pages


def test_every_page_exists_and_every_link_resolves() -> None:
    pages = sample_site()
    assert INDEX in pages and "problems.html" in pages
    assert {"kpi/mrr.html", "objective/grow-revenue.html", "owner/finance.html"} <= set(pages)
    assert "kpi/beta-signups.html" not in pages  # archived: left out without --all
    assert broken_links(pages) == []
    # Every page is reachable from the index by links.
    seen, todo = {INDEX}, [INDEX]
    while todo:
        name = todo.pop()
        for href in scan(pages[name]).links:
            target = os.path.normpath(os.path.join(os.path.dirname(name), href.split("#")[0]))
            if target not in seen:
                seen.add(target)
                todo.append(target)
    assert seen == set(pages)


def test_the_link_checker_catches_broken_links() -> None:
    pages = {
        "index.html": '<a href="kpi/x.html">x</a><a href="https://e.com/">e</a>',
        "kpi/y.html": '<a href="../../up.html">u</a><a href="../index.html#nope">n</a>'
        '<a href="/abs.html">a</a>',
    }
    assert broken_links(pages) == [
        "index.html: kpi/x.html (no such page)",
        "index.html: https://e.com/ (not relative)",
        "kpi/y.html: ../../up.html (outside the site)",
        "kpi/y.html: ../index.html#nope (no such id)",
        "kpi/y.html: /abs.html (not relative)",
    ]


def test_pages_are_self_contained() -> None:
    for name, html in sample_site().items():
        page = scan(html)
        assert not {"script", "link", "img", "iframe", "object", "embed"} & set(page.tags), name
        css = "\n".join(page.styles)
        assert "url(" not in css and "@import" not in css and "@font-face" not in css
        assert "@media print" in css and "prefers-color-scheme: dark" in css
        assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
        assert "https://" not in html


def test_every_page_states_as_of_and_provenance() -> None:
    pages = sample_site(provenance=Provenance(in_repository=True, commit="ab" * 20))
    for name, html in pages.items():
        assert f"As of {AS_OF}" in html, name
        assert "built from commit <code" in html and "abababababab</code>" in html, name
    outside = sample_site()
    assert all("not in a git repository" in html for html in outside.values())
    assert "Definition changes" not in outside[INDEX]
    assert "Not in a git repository: no definition history." in outside["kpi/mrr.html"]


def test_every_chart_has_a_text_alternative() -> None:
    charts = 0
    for name, html in sample_site().items():
        for svg in scan(html).svgs:
            charts += 1
            assert svg.get("role") == "img", name
            label = svg.get("aria-label") or ""
            assert label.startswith("Chart of ") and "status " in label, name
    assert charts >= 9
    mrr = sample_site()["kpi/mrr.html"]
    assert "10 values from 2026-01-31 (121,500 USD) to 2026-10-31 (181,000 USD)" in mrr


def test_status_is_written_not_only_coloured() -> None:
    index = " ".join(scan(sample_site()[INDEX]).text)
    for word in ("on track", "at risk", "off track", "no data"):
        assert word in index


def test_kpi_page_content() -> None:
    page = " ".join(scan(sample_site()["kpi/mrr.html"]).text)
    for text in (
        "Monthly recurring revenue",
        "Sum of active subscription fees",
        "≥ 200,000 USD by 2026-12-31",
        "increase: higher is better",
        "2026-06-30: 155,000 USD",
        "monthly",
        "Finance",
        "Grow recurring revenue to $200k MRR by the end of 2026",
        "Annual-plan discount campaign",
        "Measurements (10)",
        "finance-bot",
    ):
        assert text in page
    # Newest first.
    table = page[page.index("Measurements (10)") :]
    assert table.index("2026-10-31") < table.index("2026-09-30") < table.index("2026-01-31")


class Outline(HTMLParser):
    """A page's structure: one line per element (tag, class, role) and per text,
    indented by depth; the CSS and the chart's coordinates left out."""

    VOID: ClassVar[set[str]] = {"meta", "br", "circle", "rect", "line", "polyline", "polygon"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.depth = 0
        self.skip = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        name = tag + "".join(f".{c}" for c in (a.get("class") or "").split())
        for key in ("role", "href", "data-label", "aria-label", "scope", "id"):
            if a.get(key):
                name += f" {key}={a[key]!r}"
        self.lines.append("  " * self.depth + name)
        self.skip = tag == "style"
        if tag not in self.VOID:
            self.depth += 1

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in self.VOID:
            self.depth -= 1

    def handle_endtag(self, tag: str) -> None:
        if tag not in self.VOID:
            self.depth -= 1
        self.skip = False

    def handle_data(self, data: str) -> None:
        if data.strip() and not self.skip:
            self.lines.append("  " * self.depth + repr(" ".join(data.split())))


def test_golden_kpi_page_structure() -> None:
    """The structure and text of one KPI page. Regenerate after a deliberate change with
    `KPITRACK_UPDATE_GOLDEN=1 pytest tests/test_site.py` and review the diff."""
    outline = Outline()
    outline.feed(sample_site()["kpi/mrr.html"])
    text = "\n".join(outline.lines) + "\n"
    if os.environ.get("KPITRACK_UPDATE_GOLDEN"):
        GOLDEN.write_text(text, encoding="utf-8")
    assert text == GOLDEN.read_text(encoding="utf-8")
    assert outline.depth == 0  # every element closed


def test_objective_tree_slot_renders_children() -> None:
    """Where the roll-up tree slots in: a node's children and progress are shown."""
    from kpitrack.render.site_html import objective_tree
    from kpitrack.reports.site import ObjectiveNode, build_site

    workspace, _ = load_workspace([SAMPLE], config=Config(), as_of=SAMPLE_AS_OF)
    results = evaluate(workspace, as_of=SAMPLE_AS_OF)
    site = build_site(workspace, results, as_of=SAMPLE_AS_OF, config=Config())
    parent, child = site.objectives[0], site.objectives[1]
    tree = (dataclasses.replace(parent, children=(child,), progress=0.5),)
    html = "\n".join(objective_tree(INDEX, site, tree))
    assert '<div class="subtree">' in html and "50%" in html
    assert html.index(parent.title.split()[0]) < html.index("subtree") < html.index(child.path)
    assert isinstance(parent, ObjectiveNode)


# ---------------------------------------------------------------- the command and the folder


def test_build_writes_the_sample_site(ws: Path) -> None:
    code, out, err = build()
    assert (code, err) == (0, "")
    assert "public: 27 pages (27 written, 0 unchanged)" in out
    pages = site_pages(ws / "public")
    assert len(pages) == 27 and broken_links(pages) == []
    manifest = read_manifest(ws / "public")
    assert manifest == set(pages)
    assert "Built 2026-09-21 " in pages[INDEX]
    assert sum("Built " in html for html in pages.values()) == 1  # the one build-time line


def test_build_is_deterministic(ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert build(out="a")[0] == 0
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(int(EPOCH) + 86400 * 3))
    assert build(out="b")[0] == 0
    a, b = ws / "a", ws / "b"
    names = sorted(p.relative_to(a).as_posix() for p in a.rglob("*") if p.is_file())
    assert names == sorted(p.relative_to(b).as_posix() for p in b.rglob("*") if p.is_file())
    differ = [n for n in names if (a / n).read_bytes() != (b / n).read_bytes()]
    assert differ == [INDEX]
    lines_a = (a / INDEX).read_text().splitlines()
    lines_b = (b / INDEX).read_text().splitlines()
    changed = [(x, y) for x, y in zip(lines_a, lines_b, strict=True) if x != y]
    assert len(changed) == 1 and "Built 2026-09-21" in changed[0][0]


def test_rebuild_leaves_unchanged_pages_alone(ws: Path) -> None:
    assert build()[0] == 0
    page = ws / "public" / "kpi" / "mrr.html"
    before = os.stat(page)
    code, out, _ = build()
    assert code == 0 and "(0 written, 27 unchanged)" in out
    after = os.stat(page)
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_stale_pages_are_removed_and_nothing_else(ws: Path) -> None:
    assert build()[0] == 0
    public = ws / "public"
    (public / "CNAME").write_text("kpis.example.com\n")
    (public / "kpi" / "notes.txt").write_text("mine\n")
    text = (ws / "kpis.yaml").read_text(encoding="utf-8")
    (ws / "kpis.yaml").write_text(
        text.replace("id: churn\n", "id: logo-churn\n").replace(
            "[trial-conversion, churn]", "[trial-conversion, logo-churn]"
        )
    )
    (ws / "kpis.yaml").write_text(
        (ws / "kpis.yaml").read_text().replace("kpi: churn,", "kpi: logo-churn,")
    )
    code, out, err = build()
    assert code == 0, err
    assert "1 removed" in out
    assert not (public / "kpi" / "churn.html").exists()
    assert (public / "kpi" / "logo-churn.html").exists()
    assert (public / "CNAME").read_text() == "kpis.example.com\n"
    assert (public / "kpi" / "notes.txt").read_text() == "mine\n"
    assert broken_links(site_pages(public)) == []


def test_a_filtered_build_removes_the_other_pages(ws: Path) -> None:
    assert build()[0] == 0
    code, _, _ = build("--owner", "Finance")
    assert code == 0
    pages = site_pages(ws / "public")
    assert sorted(p for p in pages if p.startswith("kpi/")) == ["kpi/mrr.html"]
    assert sorted(p for p in pages if p.startswith("owner/")) == ["owner/finance.html"]
    assert broken_links(pages) == []


def test_refuses_to_overwrite_files_it_did_not_write(ws: Path) -> None:
    public = ws / "public"
    (public / "kpi").mkdir(parents=True)
    (public / "index.html").write_text("my own page\n")
    (public / "kpi" / "mrr.html").write_text("mine too\n")
    code, _, err = build()
    assert code == 2
    assert "public/index.html exists and was not written by kpitrack site" in err
    assert "nothing written" in err
    assert (public / "index.html").read_text() == "my own page\n"
    assert sorted(p.name for p in public.rglob("*")) == ["index.html", "kpi", "mrr.html"]


def test_refuses_output_that_is_a_file(ws: Path) -> None:
    (ws / "public").write_text("not a folder\n")
    code, _, err = build()
    assert code == 2 and "public: is a file, not a folder" in err
    assert (ws / "public").read_text() == "not a folder\n"


@pytest.mark.parametrize("out", [".", "kpis.yaml"])
def test_refuses_the_workspace_s_own_files(ws: Path, out: str) -> None:
    before = sorted(os.listdir(ws))
    code, _, err = build(out=out)
    assert code == 2
    assert ("holds the workspace's file" in err) or ("is a file, not a folder" in err)
    assert sorted(os.listdir(ws)) == before


def test_an_invalid_workspace_is_refused_with_check_s_messages(ws: Path) -> None:
    text = (ws / "kpis.yaml").read_text(encoding="utf-8")
    (ws / "kpis.yaml").write_text(text.replace("frequency: monthly", "frequency: often", 1))
    code, _, err = build()
    assert code == 2
    assert "kpis.yaml:" in err and "frequency" in err and "run `kpitrack check`" in err
    assert not (ws / "public").exists()


def test_bad_options_are_usage_errors(ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert build("--owner", "nobody")[0] == 2
    ran = invoke("site", "--as-of", AS_OF)
    assert ran.code == 2 and "-o" in ran.stderr
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "yesterday")
    code, _, err = build()
    assert code == 2 and "SOURCE_DATE_EPOCH" in err
    assert not (ws / "public").exists()


def test_manifest_lines_cannot_reach_outside(tmp_path: Path) -> None:
    folder = tmp_path / "site"
    folder.mkdir()
    outside = tmp_path / "precious.html"
    outside.write_text("keep\n")
    (folder / MANIFEST).write_text("../precious.html\n/etc/passwd\nold.html\n")
    (folder / "old.html").write_text("stale\n")
    outcome = write_site_folder(folder, {"index.html": lambda: b"<p>new</p>\n"})
    assert outcome.removed == ("old.html",)
    assert outside.read_text() == "keep\n"
    assert read_manifest(folder) == {"index.html"}


def test_a_killed_build_s_pages_stay_ours(tmp_path: Path) -> None:
    """The manifest is written (old + new pages) before the pages: a build stopped half
    way leaves pages that the next build still recognises."""
    folder = tmp_path / "site"
    write_site_folder(folder, {"a.html": lambda: b"a"})
    manifest_then: list[set[str]] = []

    import kpitrack.writing.sitefolder as sitefolder

    real = sitefolder.atomic_write_bytes

    def spy(path: Path, data: bytes, **kwargs: object) -> None:
        if path.name != MANIFEST:
            manifest_then.append(read_manifest(folder))
        real(path, data, **kwargs)  # type: ignore[arg-type]

    sitefolder.atomic_write_bytes = spy  # type: ignore[assignment]
    try:
        write_site_folder(folder, {"b.html": lambda: b"b", "kpi/c.html": lambda: b"c"})
    finally:
        sitefolder.atomic_write_bytes = real
    assert manifest_then and all(m == {"a.html", "b.html", "kpi/c.html"} for m in manifest_then)
    assert read_manifest(folder) == {"b.html", "kpi/c.html"}


# ---------------------------------------------------------------- git


def _git(repo: Path, *args: str, date: str = "2026-05-01") -> None:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "Ana",
        "GIT_AUTHOR_EMAIL": "ana@example.com",
        "GIT_COMMITTER_NAME": "Ana",
        "GIT_COMMITTER_EMAIL": "ana@example.com",
        "GIT_AUTHOR_DATE": f"{date}T12:00:00+00:00",
        "GIT_COMMITTER_DATE": f"{date}T12:00:00+00:00",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_SYSTEM": os.devnull,
    }
    subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True)


@pytest.mark.process
@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_in_a_repository_pages_name_the_commit_and_the_history(ws: Path) -> None:
    _git(ws, "init", "-q", "-b", "main")
    _git(ws, "add", "kpis.yaml")
    _git(ws, "commit", "-qm", "KPIs")
    text = (ws / "kpis.yaml").read_text(encoding="utf-8")
    (ws / "kpis.yaml").write_text(text.replace("    target: 200000", "    target: 150000"))
    _git(ws, "commit", "-qam", "easier", date="2026-11-20")
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=ws, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert build()[0] == 0
    mrr = (ws / "public" / "kpi" / "mrr.html").read_text(encoding="utf-8")
    assert f'built from commit <code title="{head}">{head[:12]}</code></p>' in mrr
    words = " ".join(scan(mrr).text)
    assert "200000 → 150000" in words and "⚑ moved goalpost" in words
    index = " ".join(scan((ws / "public" / "index.html").read_text(encoding="utf-8")).text)
    this_week = index[index.index("Definition changes") : index.index("New measurements")]
    assert "200000 → 150000" in this_week and "2026-11-20" in this_week
    assert "moved goalpost" in this_week
    churn = (ws / "public" / "kpi" / "churn.html").read_text(encoding="utf-8")
    assert "No change to this definition in the git history." in churn
    (ws / "kpis.yaml").write_text(text)  # uncommitted
    assert build()[0] == 0
    index = (ws / "public" / "index.html").read_text(encoding="utf-8")
    assert "with uncommitted changes to the KPI files" in index


def test_a_page_name_too_long_for_the_file_system_is_refused_before_writing(ws: Path) -> None:
    long_id = "k" * 300
    text = (ws / "kpis.yaml").read_text(encoding="utf-8")
    text = text.replace("[trial-conversion, churn]", f"[trial-conversion, {long_id}]")
    text = text.replace("id: churn\n", f"id: {long_id}\n").replace(
        "kpi: churn,", f"kpi: {long_id},"
    )
    (ws / "kpis.yaml").write_text(text)
    code, _, err = build()
    assert code == 2 and "the name is too long for a file (255 bytes)" in err
    assert not (ws / "public").exists()


@pytest.mark.process
def test_the_installed_command_writes_the_site(ws: Path) -> None:
    ran = run_process("site", "-o", "public", "--as-of", AS_OF, cwd=ws)
    assert (ran.code, ran.stderr) == (0, "")
    assert ran.stdout == (
        "kpitrack: wrote the site to public: 27 pages (27 written, 0 unchanged); "
        "open public/index.html\n"
    )
    assert broken_links(site_pages(ws / "public")) == []
    again = run_process("site", "-o", "kpis.yaml", "--as-of", AS_OF, cwd=ws)
    assert again.code == 2 and "Traceback" not in again.stderr
    assert again.stderr.startswith("kpitrack: error: kpis.yaml: is a file, not a folder")


def test_pages_are_not_fsynced_one_by_one_but_the_manifest_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[int] = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real(fd))[1])
    write_site_folder(tmp_path / "one", {"index.html": lambda: b"1"})
    with_one = len(synced)
    synced.clear()
    pages = {f"kpi/k{i}.html": (lambda i=i: str(i).encode()) for i in range(20)}
    write_site_folder(tmp_path / "many", {"index.html": lambda: b"1", **pages})
    assert len(synced) == with_one == 4  # the manifest twice: the file and its folder
    assert (tmp_path / "many" / "kpi" / "k7.html").read_bytes() == b"7"


def test_objectives_follow_the_tree_with_rolled_up_progress() -> None:
    """#26 with the alignment work: the index and the objective pages follow the
    objective tree (children under their parent), each with its roll-up."""
    from kpitrack.evaluation.rollup import build_tree

    workspace, problems = load_workspace([SAMPLE], config=Config(), as_of=SAMPLE_AS_OF)
    results = evaluate(workspace, as_of=SAMPLE_AS_OF)
    site = build_site(workspace, results, as_of=SAMPLE_AS_OF, config=Config(), problems=problems)
    roots = {n.objective.id: n for n in site.objectives if n.objective is not None}
    company = roots["brightpath-2026"]
    assert [c.objective.id for c in company.children if c.objective] == [
        "grow-revenue",
        "delight-customers",
    ]
    assert "grow-revenue" not in roots  # a child, not listed again at the top
    rolled = {n.objective.id: n.progress for n in build_tree(workspace, results).objectives()}
    assert company.progress == rolled["brightpath-2026"] and company.progress is not None
    assert company.children[0].progress == rolled["grow-revenue"]
    index = sample_site()["index.html"]
    assert index.index("brightpath-2026") < index.index("grow-revenue")
