"""The warm-start cache of checked measurement columns (kpitrack/reading/rowcache.py):
cached and cold loads give the same workspace, problems and status, also when the KPI
definitions changed in between; a stale, corrupt, truncated, foreign or crafted cache
file is never trusted; the folder stays bounded; --no-cache and KPITRACK_NO_CACHE turn
it off."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import invoke

from kpitrack import reading
from kpitrack.domain.model import Kind
from kpitrack.domain.problems import Problem
from kpitrack.domain.workspace import Workspace
from kpitrack.evaluation.evaluate import evaluate
from kpitrack.reading import loading, rowcache
from kpitrack.reading.config import Config
from kpitrack.reading.rowcache import RowCache
from kpitrack.render import json as render_json

AS_OF = dt.date(2026, 11, 25)
KPIS = """\
kpis:
  - {id: n, name: N, measure: a count of things, target: 10, frequency: monthly}
  - {id: p, name: P, kind: progress, measure: a count of things, frequency: monthly}
  - {id: q, name: Q, kind: qualitative, scale: [bad, ok, good], target: good,
     measure: a count of things, frequency: weekly}
"""


@pytest.fixture(autouse=True)
def _small_files_cached(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(reading, "ROW_CACHE_MIN_CHARS", 0)  # the test files are small
    folder = reading.row_cache_folder
    yield
    reading.row_cache_folder = folder


def files_only(folder: Path, **options: Any) -> RowCache:
    """A cache of each file's checked columns alone (no whole-load entry)."""
    return RowCache(folder, whole=False, **options)


def load(sources: list[tuple[str, str]], cache: RowCache | None) -> tuple[Workspace, list[Problem]]:
    """Cold: the texts as `load_texts` loads them; with a cache: their UTF-8 bytes as
    `load_workspace` reads them."""
    if cache is None:
        return loading._load(list(sources), config=Config(), as_of=AS_OF)
    raw: list[tuple[str, bytes | Problem]] = [(d, text.encode()) for d, text in sources]
    return loading._load_cached(raw, cache, config=Config(), as_of=AS_OF)


def same(a: tuple[Workspace, list[Problem]], b: tuple[Workspace, list[Problem]]) -> None:
    assert a[1] == b[1]
    assert a[0] == b[0]
    fields = [
        [(m.kpi, m.date, m.value, m.note, m.by, m.loc, m.order) for m in ws.measurements]
        for ws in (a[0], b[0])
    ]
    assert fields[0] == fields[1]
    # The columns as the loader built them, in the same series order (the order KPIs
    # were first measured), and the status the workspace gives.
    columns = [
        [
            (s.kpi, s.dates, list(s.values), s.notes, s.bys, s.files, s.lines, s.columns, s.orders)
            for s in ws.measurements.all_series()
        ]
        for ws in (a[0], b[0])
    ]
    assert columns[0] == columns[1]
    statuses = [render_json.status(evaluate(ws, as_of=AS_OF), as_of=AS_OF) for ws in (a[0], b[0])]
    assert statuses[0] == statuses[1]


_WORDS = ["n", "p", "q", "zz", "2026-01-31", "2026-02-30", "5", "-3.5", "150", "good",
          "'5'", '"ok"', "~", "null", "café ✓", '"a\\"b"', "'it''s'", "x y", "1e400"]  # fmt: skip


@st.composite
def measurement_files(draw: st.DrawFn) -> str:
    lines = ["# measurements", "measurements:"]
    for _ in range(draw(st.integers(1, 8))):
        kpi = draw(st.sampled_from(_WORDS[:4]))
        date = draw(st.sampled_from(["2026-01-31", "2026-10-01", "2027-01-01", *_WORDS]))
        value = draw(st.sampled_from(_WORDS))
        extra = draw(st.sampled_from(["", ", note: late", ", by: ana", ", note: 'x', by: ~"]))
        if draw(st.booleans()):
            lines.append(f"  - {{kpi: {kpi}, date: {date}, value: {value}{extra}}}")
        else:
            lines.append(f"  - kpi: {kpi}\n    date: {date}\n    value: {value}")
            lines += [f"    {pair}" for pair in extra.split(", ")[1:]]
    text = "\n".join(lines) + "\n"
    return text.replace("\n", "\r\n") if draw(st.integers(0, 4)) == 0 else text


# The KPI definitions the checks consult, changed: a kind, a scale (other labels, or the
# same labels in another order), a KPI removed or made invalid, and one that changes
# nothing the checks read (its target).
DEFINITIONS = {
    "as is": KPIS,
    "n qualitative": KPIS.replace(
        "{id: n, name: N,", "{id: n, name: N, kind: qualitative, scale: ['5', '150', ok],"
    ).replace(
        "target: 10, frequency: monthly}\n  - {id: p", "target: ok, frequency: monthly}\n  - {id: p"
    ),
    "p quantitative": KPIS.replace("kind: progress, ", "target: 50, "),
    "q scale reordered": KPIS.replace("[bad, ok, good]", "[ok, bad, good]"),
    "q scale other": KPIS.replace("[bad, ok, good]", "[bad, meh, good]"),
    "q removed": KPIS.split("  - {id: q")[0],
    "n invalid": KPIS.replace("target: 10,", "target: ten,"),
    "n target": KPIS.replace("target: 10,", "target: 12,"),
}


# Above this size a file is cached, below it read on every load: every KPI file, so
# that the whole-load entry (named by the cached files) can meet changed definitions.
LARGE = max(map(len, DEFINITIONS.values())) + 1


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    files=st.lists(measurement_files(), min_size=1, max_size=3),
    before=st.sampled_from(sorted(DEFINITIONS)),
    after=st.sampled_from(sorted(DEFINITIONS)),
    whole=st.booleans(),
    small_kpi_files=st.booleans(),
)
def test_cached_and_cold_loads_are_identical(
    files: list[str],
    before: str,
    after: str,
    whole: bool,
    small_kpi_files: bool,
    tmp_path_factory: Any,
) -> None:
    """Filled under some KPI definitions, read under the same or other ones: always the
    cold load's model, problems, columns and status, from each file's entry or from the
    whole load's."""
    folder = tmp_path_factory.mktemp("cache")
    reading.ROW_CACHE_MIN_CHARS = LARGE if small_kpi_files else 0  # undone by the fixture
    if small_kpi_files:
        files = [f"# {'x' * LARGE}\n{text}" for text in files]
    measured = [(f"m{i}.yaml", t) for i, t in enumerate(files)]
    sources = [("kpis.yaml", DEFINITIONS[after]), *measured]
    filling = [("kpis.yaml", DEFINITIONS[before]), *measured]
    first = RowCache(folder, whole=whole)
    same(load(filling, first), load(filling, None))  # fills the cache
    cold = load(sources, None)
    warm = RowCache(folder, whole=whole)
    same(load(sources, warm), cold)  # reads it
    if before == after and first.whole_writes:
        assert (warm.whole_hits, warm.hits, warm.writes, warm.whole_writes) == (1, 0, 0, 0)
    elif before == after:
        assert warm.hits == first.writes + first.hits  # every file written is read back
        assert warm.writes == warm.whole_writes == 0
    again = RowCache(folder, whole=whole)
    same(load(sources, again), cold)  # after a change: what the warm load wrote
    assert again.writes == again.whole_writes == 0


def test_a_changed_definition_is_never_served_the_old_checks(tmp_path: Path) -> None:
    """The same measurement bytes under a KPI made qualitative, then removed: the cold
    results (errors where the values no longer fit), never the cached columns."""
    sources = _files(tmp_path)
    load(sources, RowCache(tmp_path))
    for change in ("n qualitative", "q removed", "n invalid"):
        changed = [("kpis.yaml", DEFINITIONS[change]), sources[1]]
        removed = change == "q removed"  # m.yaml names n only: its columns still hold
        cache = RowCache(tmp_path)
        result = load(changed, cache)
        same(result, load(changed, None))
        assert (cache.hits - cache.stale, cache.writes) == ((1, 0) if removed else (0, 0)), change
    without = [("kpis.yaml", KPIS.replace("{id: n,", "{id: gone,")), sources[1]]
    cache = RowCache(tmp_path)
    workspace, problems = load(without, cache)
    same((workspace, problems), load(without, None))
    assert cache.stale == cache.hits == 1 and any(p.code == "KT024" for p in problems)
    assert len(workspace.measurements) == 0


def test_a_change_the_checks_do_not_read_keeps_the_cache(tmp_path: Path) -> None:
    sources = _files(tmp_path)
    load(sources, RowCache(tmp_path))
    changed = [("kpis.yaml", DEFINITIONS["n target"]), sources[1]]
    cache = RowCache(tmp_path)
    same(load(changed, cache), load(changed, None))
    assert (cache.hits, cache.stale, cache.writes) == (1, 0, 0)


def test_only_files_of_measurements_alone_and_without_problems_are_cached(
    tmp_path: Path,
) -> None:
    body = _files(tmp_path)[1][1]
    mixed = KPIS.replace("kpis:\n", "kpis:\n") + body  # KPIs and measurements in one file
    wrong = body.replace("value: 3,", "value: three,")
    for sources in ([("all.yaml", mixed)], [("kpis.yaml", KPIS), ("m.yaml", wrong)]):
        cache = RowCache(tmp_path)
        same(load(sources, cache), load(sources, None))
        assert cache.writes == 0
        assert not _cache_files(tmp_path)


def _files(tmp_path: Path) -> list[tuple[str, str]]:
    body = "".join(
        f"  - {{kpi: n, date: 2026-{month:02d}-28, value: {month}, note: n{month}}}\n"
        for month in range(1, 13)
    )
    return [("kpis.yaml", KPIS), ("m.yaml", "measurements:\n" + body)]


def _cache_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.rows"))


def test_an_edited_file_is_never_served_the_old_rows(tmp_path: Path) -> None:
    sources = _files(tmp_path)
    load(sources, files_only(tmp_path))
    edited = [sources[0], (sources[1][0], sources[1][1].replace("value: 3,", "value: 33,"))]
    cache = files_only(tmp_path)
    ws, _ = load(edited, cache)
    assert cache.hits == 0 and cache.writes == 1
    assert [m.value for m in ws.measurements][2] == 33.0
    assert len(_cache_files(tmp_path)) == 2  # one per content


def _mutations(data: bytes) -> Iterator[tuple[str, bytes]]:
    yield "empty", b""
    for cut in (1, 16, 63, len(data) // 2, len(data) - 1):
        yield f"truncated at {cut}", data[:cut]
    for at in (0, 20, 70, len(data) // 2, len(data) - 1):
        flipped = bytearray(data)
        flipped[at] ^= 0x41
        yield f"byte {at} flipped", bytes(flipped)
    yield "longer", data + b"\x00"
    yield "not ours", b"kpitrack rows\x00\x00\x00" + os.urandom(200)


def test_a_corrupt_truncated_or_foreign_cache_file_is_ignored_and_rebuilt(
    tmp_path: Path,
) -> None:
    sources = _files(tmp_path)
    cold = load(sources, None)
    load(sources, files_only(tmp_path))
    (cached,) = _cache_files(tmp_path)
    good = cached.read_bytes()
    for why, data in _mutations(good):
        cached.write_bytes(data)
        cache = files_only(tmp_path)
        same(load(sources, cache), cold)
        assert cache.hits == 0, why
        assert cache.writes == 1 and cached.read_bytes() == good, why  # rebuilt


def _crafted(checked: rowcache.CheckedFile) -> Iterator[tuple[str, rowcache.CheckedFile]]:
    """Well-formed cache files, with the right MAC, that no load writes."""
    import copy

    def changed(why: str, change: Any) -> tuple[str, rowcache.CheckedFile]:
        other = copy.deepcopy(checked)
        change(other)
        return why, other

    yield changed("date 0", lambda c: c.dates.__setitem__(0, 0))
    yield changed("date after 9999", lambda c: c.dates.__setitem__(0, 3652060))
    yield changed("a run too long", lambda c: c.runs.__setitem__(1, c.runs[1] + 1))
    yield changed("a run before the file", lambda c: c.runs.__setitem__(0, 0))
    yield changed("a run past the file", lambda c: c.runs.__setitem__(0, c.count))
    yield changed("rows miscounted", lambda c: setattr(c, "count", c.count + 1))
    yield changed(
        "a KPI twice", lambda c: (c.kpis.append(c.kpis[0]), c.segments.append(c.segments[0]))
    )
    yield changed(
        "a label off the scale",
        lambda c: c.kpis.__setitem__(0, (c.kpis[0][0], Kind.QUALITATIVE, ("a", "b"))),
    )
    thirteen = tuple(f"l{i}" for i in range(13))  # every value 1-12 a position on it

    def label_at(position: float) -> Any:
        def change(c: rowcache.CheckedFile) -> None:
            c.kpis[0] = (c.kpis[0][0], Kind.QUALITATIVE, thirteen)
            c.values[0] = position

        return change

    yield changed("a label before the scale", label_at(-1.0))
    yield changed("a label at NaN", label_at(float("nan")))
    yield changed("a label at infinity", label_at(float("inf")))
    yield changed(
        "a scale for a number",
        lambda c: c.kpis.__setitem__(0, (c.kpis[0][0], Kind.QUANTITATIVE, ("a",))),
    )
    yield changed(
        "segments out of step",
        lambda c: c.segments.__setitem__(0, (1, *c.segments[0][1:])),
    )


def test_a_crafted_cache_file_with_a_valid_mac_is_still_checked(tmp_path: Path) -> None:
    """Every length, index, date and position is checked before a column is built: a
    file no load writes is ignored even when it carries this folder's MAC."""
    sources = _files(tmp_path)
    cold = load(sources, None)
    load(sources, files_only(tmp_path))
    (cached,) = _cache_files(tmp_path)
    good = cached.read_bytes()
    cache = files_only(tmp_path)
    checked = cache.get(cached, {})
    assert checked is not None and checked.count == 12
    for why, crafted in _crafted(checked):
        cached.unlink()
        cache.put(cached, crafted)
        assert cache.get(cached, {}) is None, why
        fresh = files_only(tmp_path)
        same(load(sources, fresh), cold)
        assert fresh.hits == 0 and cached.read_bytes() == good, why


def test_a_cache_file_from_another_cache_folder_is_not_trusted(tmp_path: Path) -> None:
    """A well-formed file written elsewhere (another secret: a copy from another machine or
    one crafted in a pull request) is ignored."""
    sources = _files(tmp_path)
    mine, theirs = tmp_path / "mine", tmp_path / "theirs"
    load(sources, files_only(mine))
    crafted = [(sources[0]), (sources[1][0], sources[1][1].replace("value: 3,", "value: 99,"))]
    load(crafted, files_only(theirs))
    (their_file,) = _cache_files(theirs)
    (my_file,) = _cache_files(mine)
    my_file.write_bytes(their_file.read_bytes())  # their rows under my file's name
    cache = files_only(mine)
    ws, _ = load(sources, cache)
    assert cache.hits == 0
    assert [m.value for m in ws.measurements][2] == 3.0


def test_another_kpitrack_version_does_not_read_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import kpitrack

    sources = _files(tmp_path)
    load(sources, files_only(tmp_path))
    monkeypatch.setattr(kpitrack, "__version__", "0.0.0-other")
    cache = files_only(tmp_path)
    load(sources, cache)
    assert cache.hits == 0 and cache.writes == 1
    assert len(_cache_files(tmp_path)) == 2


def test_the_folder_is_bounded_and_the_oldest_files_go_first(tmp_path: Path) -> None:
    sources = _files(tmp_path)
    texts = [sources[1][1].replace("note: n1}", f"note: v{i}}}") for i in range(6)]
    for i, text in enumerate(texts):
        before = set(_cache_files(tmp_path))
        load([sources[0], ("m.yaml", text)], files_only(tmp_path))
        (new,) = set(_cache_files(tmp_path)) - before
        os.utime(new, ns=(i * 10**9, i * 10**9))  # used in order i
    size = _cache_files(tmp_path)[0].stat().st_size
    cache = files_only(tmp_path, max_bytes=3 * size)
    load([sources[0], ("m.yaml", texts[0] + "\n")], cache)  # one more file
    cache.evict()
    left = _cache_files(tmp_path)
    assert len(left) == 3
    assert max(p.stat().st_mtime_ns for p in left) > 5 * 10**9  # the new one stays
    assert sorted(p.stat().st_mtime_ns for p in left)[0] == 4 * 10**9  # 0-3 evicted


def test_an_unusable_cache_folder_only_turns_the_cache_off(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    cache = files_only(blocker / "kpitrack")
    sources = _files(tmp_path)
    same(load(sources, cache), load(sources, None))
    assert cache.off and cache.writes == 0


def test_the_cache_lives_in_the_user_cache_folder() -> None:
    folder = reading.default_row_cache_folder
    assert folder({"XDG_CACHE_HOME": "/x/cache"}) == "/x/cache/kpitrack"
    home = os.path.expanduser("~")
    assert folder({}) == os.path.join(home, ".cache", "kpitrack")
    # A relative XDG_CACHE_HOME (against the XDG spec) would land in the workspace: ignored.
    assert folder({"XDG_CACHE_HOME": "cache"}) == os.path.join(home, ".cache", "kpitrack")


def test_without_a_home_folder_there_is_no_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """`~` that cannot be expanded would be a folder named `~` in the current folder."""
    monkeypatch.setattr(os.path, "expanduser", lambda path: path)
    assert reading.default_row_cache_folder({}) is None
    assert reading.default_row_cache_folder({"XDG_CACHE_HOME": "/x"}) == "/x/kpitrack"


@pytest.mark.parametrize(
    ("args", "env", "cached"),
    [
        ((), {}, True),
        (("--no-cache",), {}, False),
        ((), {"KPITRACK_NO_CACHE": "1"}, False),
        ((), {"KPITRACK_NO_CACHE": "0"}, True),
    ],
)
def test_no_cache_and_the_environment_switch_turn_it_off(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    args: tuple[str, ...],
    env: dict[str, str],
    cached: bool,
) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("XDG_CACHE_HOME", str(home))
    for name, text in _files(tmp_path):
        (tmp_path / name).write_text(text)
    argv = [*args, "status", "-f", str(tmp_path), "--as-of", "2026-11-25", "--format", "json"]
    first = invoke(*argv, env=env)
    assert first.code == 0, first.output
    assert bool(_cache_files(home / "kpitrack")) is cached
    again = invoke(*argv, env=env)
    assert again.stdout == first.stdout


def test_the_whole_load_is_read_back_only_when_it_still_holds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One entry holds a whole load's measurements, named by every file's path and
    content: any change is another name, and the files' own entries serve."""
    large = LARGE + 100
    monkeypatch.setattr(reading, "ROW_CACHE_MIN_CHARS", large)  # the KPI file: not its own
    sources = _files(tmp_path)
    assert len(sources[0][1]) + 100 < large <= len(sources[1][1])
    first = RowCache(tmp_path)
    same(load(sources, first), load(sources, None))
    assert (first.writes, first.whole_writes) == (1, 1)

    def again(changed: list[tuple[str, str]]) -> tuple[int, ...]:
        cache = RowCache(tmp_path)
        same(load(changed, cache), load(changed, None))
        return cache.whole_hits, cache.whole_stale, cache.hits, cache.stale, cache.whole_writes

    assert again(sources) == (1, 0, 0, 0, 0)
    assert again([("kpis.yaml", DEFINITIONS["n target"]), sources[1]]) == (0, 0, 1, 0, 1)
    # n made qualitative: the file's entry does not hold either; checked again (errors).
    assert again([("kpis.yaml", DEFINITIONS["n qualitative"]), sources[1]]) == (0, 0, 1, 1, 0)
    also = "measurements:\n  - {kpi: q, date: 2026-03-01, value: ok}\n"
    assert again([("kpis.yaml", KPIS + also), sources[1]]) == (0, 0, 1, 0, 0)  # not alone
    assert again([*sources, ("x.yaml", also)]) == (0, 0, 1, 0, 1)  # small: in the whole
    assert again([*sources, ("x.yaml", also)]) == (1, 0, 0, 0, 0)
    assert again([sources[1], sources[0]])[0] == 0  # another order: another name


def test_a_whole_load_entry_under_another_name_is_still_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Were a whole load's entry found under another load's name, it is used only for
    the same measured files and KPI definitions: else each file is read again."""
    monkeypatch.setattr(reading, "ROW_CACHE_MIN_CHARS", LARGE + 100)
    sources = _files(tmp_path)
    load(sources, files_only(tmp_path))
    (one_file,) = _cache_files(tmp_path)
    load(sources, RowCache(tmp_path))
    (whole,) = set(_cache_files(tmp_path)) - {one_file}
    also = "measurements:\n  - {kpi: q, date: 2026-03-01, value: ok}\n"
    for other in (
        [("kpis.yaml", KPIS + also), sources[1]],  # another measured file
        [("kpis.yaml", DEFINITIONS["n qualitative"]), sources[1]],  # n checked otherwise
    ):
        cache = RowCache(tmp_path)
        digests, _ = cache.names([text.encode() for _, text in other])
        name = cache.workspace_name([display for display, _ in other], digests)
        assert name is not None
        name.write_bytes(whole.read_bytes())
        same(load(other, cache), load(other, None))
        assert (cache.whole_hits, cache.whole_stale, cache.hits) == (1, 1, 1)
        name.unlink()


def test_a_corrupt_whole_load_entry_is_ignored_and_rebuilt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reading, "ROW_CACHE_MIN_CHARS", LARGE)
    sources = _files(tmp_path)
    cold = load(sources, None)
    load(sources, files_only(tmp_path))
    (one_file,) = _cache_files(tmp_path)
    load(sources, RowCache(tmp_path))
    (whole,) = set(_cache_files(tmp_path)) - {one_file}
    good = whole.read_bytes()
    for why, data in _mutations(good):
        whole.write_bytes(data)
        cache = RowCache(tmp_path)
        same(load(sources, cache), cold)
        assert cache.whole_hits == 0 and cache.hits == 1, why
        assert cache.whole_writes == 1 and whole.read_bytes() == good, why  # rebuilt


def test_a_series_forgets_its_date_order_when_it_grows() -> None:
    """`Series.ordered` (set by a load's cache entry, or by the first `until`) is
    forgotten by an append or a truncation, so a history is never served unsorted."""
    from kpitrack.domain.series import Series

    series = Series("n", ["m.yaml"])
    for order, day in enumerate((3, 5, 9), 1):
        series.append(day, float(day), None, None, 0, order, 1, order)
    assert series.until(10).ordinals() == [3, 5, 9] and series.ordered is True
    series.append(4, 4.0, None, None, 0, 4, 1, 4)
    assert series.ordered is None
    assert series.until(10).ordinals() == [3, 4, 5, 9] and series.ordered is False
    series.truncate(3)
    assert series.ordered is None
    assert series.until(10).ordinals() == [3, 5, 9]


def test_an_interrupted_write_leaves_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C while a cache file is written: the interrupt goes on, nothing is left."""
    sources = _files(tmp_path)
    written = rowcache._encode_workspace

    def interrupted(*args: Any) -> Iterator[bytes]:
        parts = written(*args)
        yield next(parts)  # the first part is in the temporary file
        raise KeyboardInterrupt

    monkeypatch.setattr(rowcache, "_encode_workspace", interrupted)
    cache = RowCache(tmp_path)
    with pytest.raises(KeyboardInterrupt):
        load(sources, cache)
    assert cache.writes  # the files' entries were written before the whole load's
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(rowcache.TEMP_SUFFIX)] == []


def test_eviction_removes_the_temporary_files_a_killed_run_left(tmp_path: Path) -> None:
    sources = _files(tmp_path)
    old = tmp_path / f".x{rowcache.SUFFIX}.999{rowcache.TEMP_SUFFIX}"
    recent = tmp_path / f".y{rowcache.SUFFIX}.998{rowcache.TEMP_SUFFIX}"
    for orphan in (old, recent):
        orphan.write_bytes(b"partial")
    os.utime(old, ns=(10**9, 10**9))  # untouched since 1970: its writer is long gone
    cache = files_only(tmp_path)
    load(sources, cache)
    cache.evict()
    assert not old.exists()
    assert recent.exists()  # may be another run's, still writing


# ---------------------------------------------------------------- bytes first


def _on_disk(tmp_path: Path, files: list[tuple[str, bytes]]) -> list[Path]:
    paths = []
    for name, data in files:
        path = tmp_path / "ws" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        paths.append(path)
    return paths


def _from_disk(paths: list[Path], monkeypatch: pytest.MonkeyPatch, folder: Path) -> Any:
    monkeypatch.setattr(reading, "row_cache_folder", str(folder))
    return loading.load_workspace(paths, config=Config(), as_of=AS_OF)


@pytest.mark.parametrize("threaded", [False, True])
def test_the_files_named_by_their_bytes_as_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, threaded: bool
) -> None:
    """A file with a byte order mark reads as the same text as without it, but it is other
    bytes: another name. Hashed as the files are read (in a thread from
    HASH_THREAD_BYTES) or after: the same names, the same loads as without the cache."""
    monkeypatch.setattr(loading, "HASH_THREAD_BYTES", 0 if threaded else 1 << 40)
    (kpis, text), (m, body) = _files(tmp_path)
    plain = [(kpis, text.encode()), (m, body.encode())]
    marked = [(kpis, text.encode()), (m, b"\xef\xbb\xbf" + body.encode())]
    folder = tmp_path / "cache"
    for files in (plain, marked):
        paths = _on_disk(tmp_path, files)
        cold = loading.load_workspace(paths, config=Config(), as_of=AS_OF)
        same(_from_disk(paths, monkeypatch, folder), cold)  # fills the cache
        same(_from_disk(paths, monkeypatch, folder), cold)  # reads it
    names = {p.name for p in _cache_files(folder)}
    prefix = rowcache.content_prefix()
    for data in (body.encode(), b"\xef\xbb\xbf" + body.encode()):
        assert rowcache.content_digest(prefix, data) + rowcache.SUFFIX in names
    assert len(names) == 4  # each file's entry and each load's, twice


def test_hashed_in_a_thread_or_not_the_same_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = [Path(__file__), Path(rowcache.__file__), tmp_path / "missing.yaml"]
    found = []
    for threshold in (0, 1 << 40):
        monkeypatch.setattr(loading, "HASH_THREAD_BYTES", threshold)
        raw, hashing = loading._read_hashing(files)
        assert isinstance(raw[2][1], Problem)  # not read: no name
        digests = hashing.digests() if hashing is not None else None
        assert (digests is not None) is (threshold == 0)
        contents = [data if isinstance(data, bytes) else None for _, data in raw]
        found.append(RowCache(tmp_path / "cache").names(contents, digests))
    assert found[0] == found[1]
    assert found[0][0][2] is None and None not in found[0][0][:2]


def test_a_file_the_whole_load_entry_covers_is_not_decoded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Used, the whole load's entry spares decoding the files it covers, and with the
    load's definitions in it every file; not used (a KPI made qualitative), they are
    decoded and checked as without it."""
    sources = _files(tmp_path)
    cache = RowCache(tmp_path / "cache")
    load(sources, cache)
    assert cache.whole_writes == 1
    decoded: list[str] = []
    real = loading.decode_source

    def counting(display: str, data: Any) -> Any:
        decoded.append(display)
        return real(display, data)

    monkeypatch.setattr(loading, "decode_source", counting)
    warm = RowCache(tmp_path / "cache")
    same(load(sources, warm), load(sources, None))
    assert warm.whole_hits == 1 and decoded == []
    decoded.clear()
    # The entry found under the name of a load whose n is qualitative (as in
    # test_a_whole_load_entry_under_another_name_is_still_checked): not used.
    (whole,) = [
        p for p in _cache_files(tmp_path / "cache")
        if p.read_bytes().startswith(rowcache.WORKSPACE_MAGIC)
    ]  # fmt: skip
    changed = [("kpis.yaml", DEFINITIONS["n qualitative"]), sources[1]]
    stale = RowCache(tmp_path / "cache")
    digests, _ = stale.names([text.encode() for _, text in changed])
    name = stale.workspace_name([display for display, _ in changed], digests)
    assert name is not None
    name.write_bytes(whole.read_bytes())
    same(load(changed, stale), load(changed, None))
    assert (stale.whole_hits, stale.whole_stale) == (1, 1)
    assert decoded == ["kpis.yaml"]  # m.yaml: decoded once the entry was not used


@given(
    st.lists(
        st.sampled_from(["", " ", "  # c", "#", "\r", "measurements:", "measurements: x",
                         "kpis:", "measurement:", "é", "  measurements:"]),
        max_size=5,
    ),
    st.sampled_from(["\n", "\r\n"]),
    st.booleans(),
    st.booleans(),
)  # fmt: skip
def test_the_measurements_key_precheck_on_bytes_is_the_texts(
    lines: list[str], end: str, bom: bool, final: bool
) -> None:
    from kpitrack.reading.yamlnodes import decode, starts_with_measurements_key

    data = end.join(lines).encode() + (end.encode() if final else b"")
    data = b"\xef\xbb\xbf" + data if bom else data
    text = decode(data, "m.yaml")
    assert loading._starts_with_measurements_key(data) is starts_with_measurements_key(text)


# ---------------------------------------------------------------- the load's definitions

RICH = """\
objectives:
  - {id: grow, title: Grow, owner: ana, due: 2027-06-30}
  - {id: sub, title: Sub, parent: grow, weight: 2}
kpis:
  - id: n
    name: N
    measure: a count of things
    target: 10
    baseline: 2
    frequency: monthly
    objective: sub
    owner: ana
    unit: thing
    unit_plural: things
    indicator: lagging
    direction: decrease
    start: 2026-01-01
    due: 2026-12-31
    milestones: [{date: 2026-06-30, target: 6}]
    review: quarterly
    last_reviewed: 2026-10-01
    action: {plan: Do it, owner: bo, due: 2026-12-01, status: open}
    grace_days: 4
    tags: [core, "t ✓"]
    description: "A \\"quoted\\" text"
    weight: 0.5
    drivers: [p]
  - {id: p, name: P, kind: progress, measure: a count of things, frequency: monthly,
     objective: grow, archived: true}
  - {id: q, name: Q, kind: qualitative, scale: [bad, ok, good], target: good,
     measure: a count of things, frequency: weekly, action: call them}
events:
  - {date: 2026-03-01, title: Launch, kpis: [n], note: big}
  - {date: 2026-04-01, title: Outage}
"""


def test_the_definitions_are_kept_with_the_whole_load_and_read_back_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every kind of value a definition holds (objectives, milestones, an action plan,
    enums, dates, tuples, events) comes back equal, and the warm load parses nothing."""
    body = _files(tmp_path)[1][1]
    sources = [
        ("kpis.yaml", RICH),
        ("m.yaml", body + "  - {kpi: q, date: 2026-05-01, value: ok}\n"),
    ]
    cold = load(sources, None)
    assert not [p for p in cold[1] if p.is_error]
    load(sources, RowCache(tmp_path))
    parsed: list[str] = []
    real = loading.parse_file
    monkeypatch.setattr(loading, "parse_file", lambda d, *a: parsed.append(d) or real(d, *a))
    warm = RowCache(tmp_path)
    same(load(sources, warm), cold)
    assert warm.whole_hits == 1 and parsed == []
    workspace = cold[0]
    model = (workspace.objectives, workspace.kpis, workspace.events)
    encoded = rowcache.encode_model(*model)
    assert rowcache.decode_model(encoded) == model


def test_a_load_with_a_problem_keeps_no_definitions(tmp_path: Path) -> None:
    body = _files(tmp_path)[1][1]
    unknown_key = KPIS.replace("frequency: weekly}", "frequency: weekly, colour: red}")
    sources = [("kpis.yaml", unknown_key), ("m.yaml", body)]
    cold = load(sources, None)
    assert cold[1]
    same(load(sources, RowCache(tmp_path)), cold)
    warm = RowCache(tmp_path)
    same(load(sources, warm), cold)
    found = [warm.get_workspace(p, ["kpis.yaml", "m.yaml"]) for p in _cache_files(tmp_path)]
    wholes = [w for w in found if w is not None]
    assert len(wholes) == 1 and wholes[0].model is None


def test_a_kpi_with_a_data_source_keeps_the_definitions_out_of_the_cache() -> None:
    """A source's spec can be any value: such a load's definitions are parsed each time."""
    import dataclasses

    from kpitrack.domain.model import Source

    workspace, _ = load([("kpis.yaml", KPIS)], None)
    kpis = list(workspace.kpis)
    assert rowcache.encode_model((), kpis, ())
    kpis[0] = dataclasses.replace(kpis[0], source=Source(kind="sql", spec=("select 1",)))
    assert rowcache.encode_model((), kpis, ()) == b""


@pytest.mark.parametrize(
    "doc",
    [
        b"",
        b"{}",
        b"[[], []]",
        b'[[], [], {"a": 1}]',
        b'[[{"R": "Objective", "f": ["o", "O"]}], [], []]',  # too few fields
        b'[[], [{"R": "Config", "f": []}], []]',  # not a class of the model
        b'[[], [{"E": "Kind", "v": "cubic"}], []]',  # not one of the enum's values
        b'[[], [{"X": 1}], []]',
        b'[[], [{"D": "2026-01-01"}], []]',
        b'[[], [{"D": 0}], []]',
        b'[[], [{"T": [[1]]}], []]',  # a list inside a tuple
        b'[[], [{"T": [1], "D": 1}], []]',
        b'[[{"R": "Location", "f": ["a", 1, 1]}], [], []]',  # an objective that is not one
        b'[[{"R": "Location", "f": ["a", [1], 1]}], [], []]',
        b"[[], [], [1]]",
        b"[[" * 100_000,
    ],
)
def test_definitions_that_no_load_writes_are_refused(doc: bytes) -> None:
    with pytest.raises(rowcache._Invalid):
        rowcache.decode_model(doc)
