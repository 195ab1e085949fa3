"""kpitrack.toml: discovery in parent folders, validation, defaults."""

from __future__ import annotations

from pathlib import Path

import pytest
import tomli_w

from kpitrack.domain.model import Config
from kpitrack.domain.problems import UsageError
from kpitrack.reading.config import config_document, find_config, load_config


def test_defaults_without_a_config(tmp_path: Path) -> None:
    assert load_config(tmp_path) == Config()


def test_found_in_a_parent_folder(tmp_path: Path) -> None:
    (tmp_path / "kpitrack.toml").write_text('grace_days = 5\nfiles = ["kpis"]\n')
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    assert find_config(deep) == tmp_path / "kpitrack.toml"
    config = load_config(deep)
    assert config.grace_days == 5
    assert config.files == ("kpis",)
    assert config.root == str(tmp_path.resolve())


def test_nearest_config_wins(tmp_path: Path) -> None:
    (tmp_path / "kpitrack.toml").write_text("grace_days = 5\n")
    (tmp_path / "team").mkdir()
    (tmp_path / "team" / "kpitrack.toml").write_text("grace_days = 1\n")
    assert load_config(tmp_path / "team").grace_days == 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("grace_days = -1\n", "'grace_days' must be a whole number from 0 to 3660"),
        ("grace_days = 3000000\n", "'grace_days' must be a whole number from 0 to 3660"),
        ("grace_days = true\n", "'grace_days' must be a whole number"),
        ("at_risk_tolerance = 2\n", "'at_risk_tolerance' must be a number from 0 to 1"),
        ("focus_limit = 0\n", "'focus_limit' must be a whole number from 1"),
        ("files = 'kpis.yaml'\n", "'files' must be a list of paths"),
        ("grace_dyas = 3\n", "unknown key 'grace_dyas'"),
        ("grace_days = \n", "invalid TOML"),
    ],
)
def test_bad_config_is_a_usage_error(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "kpitrack.toml").write_text(text)
    with pytest.raises(UsageError, match=message.replace("(", r"\(")):
        load_config(tmp_path)


def test_written_document_reads_back(tmp_path: Path) -> None:
    doc = config_document(files=["kpis.yaml"], measurements_file="measurements.yaml")
    (tmp_path / "kpitrack.toml").write_text(tomli_w.dumps(doc))
    config = load_config(tmp_path)
    assert config.files == ("kpis.yaml",)
    assert config.measurements_file == "measurements.yaml"
    assert (config.grace_days, config.at_risk_tolerance, config.focus_limit) == (3, 0.1, 7)


# ---------------------------------------------------------------- one set of defaults


def test_an_empty_kpitrack_toml_means_config_defaults(tmp_path: Path) -> None:
    import dataclasses

    from kpitrack.domain.model import Config
    from kpitrack.reading.config import read_config

    path = tmp_path / "kpitrack.toml"
    path.write_text("", encoding="utf-8")
    assert read_config(path) == dataclasses.replace(Config(), root=str(tmp_path))


def test_init_writes_the_config_defaults() -> None:
    defaults = Config()
    assert config_document() == {
        "grace_days": defaults.grace_days,
        "at_risk_tolerance": defaults.at_risk_tolerance,
        "focus_limit": defaults.focus_limit,
    }
