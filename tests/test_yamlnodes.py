"""The strict YAML reader: locations, refused constructs, scalar typing."""

from __future__ import annotations

import math

import pytest

from kpitrack.domain.model import Location
from kpitrack.reading.yamlnodes import Map, Scalar, Seq, YamlFatal, decode, parse, scalar_value


def fatal(text: str) -> str:
    with pytest.raises(YamlFatal) as info:
        parse(text, "f.yaml")
    return info.value.problem.format()


def test_nodes_keep_line_and_column() -> None:
    root, problems = parse("kpis:\n  - id: mrr\n    target: 5\n", "f.yaml")
    assert problems == []
    assert isinstance(root, Map)
    kpis = root.get("kpis")
    assert isinstance(kpis, Seq)
    entry = kpis.items[0]
    assert isinstance(entry, Map)
    assert entry.loc == Location("f.yaml", 2, 5)
    target = entry.get("target")
    assert isinstance(target, Scalar)
    assert (target.text, target.loc, target.end) == (
        "5",
        Location("f.yaml", 3, 13),
        Location("f.yaml", 3, 14),
    )


def test_empty_document_is_none() -> None:
    assert parse("", "f.yaml") == (None, [])
    assert parse("# only a comment\n", "f.yaml") == (None, [])


def test_duplicate_keys_are_reported_with_both_lines() -> None:
    _root, problems = parse("a: 1\nb: 2\na: 3\n", "f.yaml")
    assert [p.format() for p in problems] == [
        "f.yaml:3:1: error KT005 duplicate key 'a' (first at line 1)"
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a: &x 1\nb: *x\n", "f.yaml:1:4: error KT003 anchors and aliases are not allowed (&x)"),
        ("a: !!python/object/apply:os.system ['true']\n", "f.yaml:1:4: error KT003 explicit tags"),
        ("a: !!int 1.5\n", "f.yaml:1:4: error KT003 explicit tags are not allowed"),
        ("<<: {a: 1}\n", "f.yaml:1:1: error KT003 merge keys (<<) are not allowed"),
        ("a: 1\n---\nb: 2\n", "f.yaml:2:1: error KT004 a file holds one YAML document"),
        ("? [a, b]\n: 1\n", "f.yaml:1:3: error KT004 mapping keys must be plain text"),
        ("a: [1, 2\n", "f.yaml:2:1: error KT001 YAML syntax error"),
        ("a: 'unterminated\n", "f.yaml:2:1: error KT001 YAML syntax error"),
        ("[" * 20000, "error KT002 nesting deeper than 64 levels"),
    ],
)
def test_refused_constructs_are_located(text: str, expected: str) -> None:
    assert expected in fatal(text)


def test_alias_bomb_is_refused_before_any_expansion() -> None:
    bomb = 'a: &a ["lol", "lol"]\n' + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}]\n" for i in range(20)
    )
    assert "KT003 anchors and aliases are not allowed (&a)" in fatal(bomb)


def test_decode_accepts_bom_and_locates_bad_bytes() -> None:
    assert decode(b"\xef\xbb\xbfa: 1\r\n", "f.yaml") == "a: 1\r\n"
    with pytest.raises(YamlFatal) as info:
        decode(b"a: 1\nb: caf\xe9\n", "f.yaml")
    assert info.value.problem.format().startswith("f.yaml:2:7: error KT002 not UTF-8 text")
    with pytest.raises(YamlFatal) as info:
        decode(b"a: 1\n\x00\x01\x02", "f.yaml")
    assert "f.yaml:2:1: error KT002 binary file" in info.value.problem.format()
    with pytest.raises(YamlFatal) as info:
        decode(b"a" * 101, "f.yaml", max_bytes=100)
    assert "over the limit of 100 bytes" in info.value.problem.message


def test_crlf_lines_are_counted_once() -> None:
    root, _ = parse(decode(b"a: 1\r\nb: 2\r\n", "f.yaml"), "f.yaml")
    assert isinstance(root, Map)
    assert root.items[1][0].line == 2


def scalar(text: str, plain: bool = True) -> Scalar:
    return Scalar(text, plain, Location("f.yaml", 1, 1))


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("42", 42),
        ("-3", -3),
        ("1.5", 1.5),
        ("1e3", 1000.0),
        ("+.5", 0.5),
        ("true", True),
        ("False", False),
        ("null", None),
        ("~", None),
        ("", None),
        # YAML 1.1 surprises stay text
        ("no", "no"),
        ("yes", "yes"),
        ("0755", "0755"),
        ("1:30", "1:30"),
        (".nan", ".nan"),
        (".inf", ".inf"),
        ("1_000", "1_000"),
        ("0x1F", "0x1F"),
        ("2026-10-31", "2026-10-31"),
    ],
)
def test_scalar_typing_is_strict(text: str, value: object) -> None:
    assert scalar_value(scalar(text)) == value
    assert type(scalar_value(scalar(text))) is type(value)


def test_quoted_scalars_are_always_text() -> None:
    assert scalar_value(scalar("42", plain=False)) == "42"
    assert scalar_value(scalar("true", plain=False)) == "true"


def test_huge_numbers_become_infinite_not_errors() -> None:
    assert scalar_value(scalar("1e400")) == math.inf
    assert scalar_value(scalar("9" * 4301)) == math.inf
    assert scalar_value(scalar("-" + "9" * 4301)) == -math.inf


def test_libyaml_nesting_cap_reads_as_our_nesting_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """Newer libyaml builds stop deep nesting themselves; the message stays ours."""
    import yaml

    def capped(*_args: object, **_kwargs: object) -> object:
        raise yaml.scanner.ScannerError(
            "while increasing flow level", None, "exceeded maximum nesting depth", None
        )

    monkeypatch.setattr(yaml, "parse", capped)
    assert "error KT002 nesting deeper than 64 levels" in fatal("[[[[")


# ---------------------------------------------------------------- the one YAML lexicon


def test_lexicon_words_type_as_documented() -> None:
    from kpitrack.reading.yamlnodes import (
        FALSE_WORDS,
        NULL_WORDS,
        TRUE_WORDS,
        YAML11_BOOLEANS,
        typed_value,
    )

    assert {typed_value(w, True) for w in NULL_WORDS} == {None}
    assert {typed_value(w, True) for w in TRUE_WORDS} == {True}
    assert {typed_value(w, True) for w in FALSE_WORDS} == {False}
    assert {typed_value(w, True) for w in YAML11_BOOLEANS} == set(YAML11_BOOLEANS)  # text
    assert {typed_value(w, False) for w in NULL_WORDS | TRUE_WORDS} == NULL_WORDS | TRUE_WORDS


def test_every_not_text_word_is_written_quoted_and_read_back_as_text() -> None:
    import yaml

    from kpitrack.reading.yamlnodes import NOT_TEXT_WORDS
    from kpitrack.writing.yamlappend import yaml_scalar

    for word in sorted(NOT_TEXT_WORDS):
        written = yaml_scalar(word)
        assert written.startswith('"'), word
        assert yaml.safe_load(f"k: {written}") == {"k": word}  # PyYAML reads YAML 1.1


def test_bom_is_stripped_on_reading_and_shared_with_the_writer() -> None:
    from kpitrack.reading.yamlnodes import BOM, decode
    from kpitrack.writing import yamlappend

    assert "\ufeff".encode() == BOM
    assert yamlappend.BOM is BOM
    assert decode(BOM + b"kpis: []\n", "x.yaml") == "kpis: []\n"
