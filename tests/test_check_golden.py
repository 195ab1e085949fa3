"""`kpitrack check` over every YAML file under tests/ and the shipped sample, against the
output recorded in tests/golden/check.json: codes, messages, lines and columns stay
byte for byte what they were (the loader's rules moved into `rules.py` without a change).

Regenerate after a deliberate change with `KPITRACK_UPDATE_GOLDEN=1 pytest
tests/test_check_golden.py`, and review the diff of check.json like code. The files
under tests/golden/ are invalid on purpose; tests/data/ holds valid ones only.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from support import AS_OF, invoke

ROOT = Path(__file__).parent.parent
GOLDEN = ROOT / "tests" / "golden" / "check.json"


def _cases() -> list[str]:
    """Every YAML file under tests/ alone, every folder of them as one workspace, the sample."""
    files = sorted(
        p.relative_to(ROOT).as_posix()
        for p in (ROOT / "tests").rglob("*")
        if p.suffix in (".yaml", ".yml") and p.is_file()
    )
    folders = sorted({str(Path(f).parent.as_posix()) for f in files})
    return [*files, *folders, "sample_kpis.yaml"]


def _run(case: str) -> dict[str, object]:
    ran = invoke("check", *AS_OF, "-f", case)
    return {"exit": ran.code, "stdout": ran.stdout, "stderr": ran.stderr}


@pytest.fixture(autouse=True)
def _at_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # paths in the output are relative to the repository


def test_golden_covers_every_case() -> None:
    if os.environ.get("KPITRACK_UPDATE_GOLDEN"):
        GOLDEN.write_text(
            json.dumps({case: _run(case) for case in _cases()}, indent=1, ensure_ascii=False)
            + "\n",
            encoding="utf-8",
        )
    assert sorted(json.loads(GOLDEN.read_text(encoding="utf-8"))) == sorted(_cases())


@pytest.mark.parametrize("case", _cases())
def test_check_output_unchanged(case: str) -> None:
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert _run(case) == golden[case]
