"""`align demo` (the README's main job) end to end, where the two spaCy pipelines are installed."""
from __future__ import annotations

import json

import pytest

from conftest import run_cli


def _installed(name: str) -> bool:
    try:
        from align.sources.spacy_vectors import find_pipeline

        find_pipeline(name)
        return True
    except Exception:
        return False


@pytest.mark.skipif(not (_installed("fr_core_news_md") and _installed("spacy_fi_experimental_web_md")),
                    reason="demo pipelines not installed (pip install -e '.[demo]')")
def test_demo_runs_and_reports_both_methods():
    res = run_cli(["demo", "--max-vocab", "5000", "--refine", "1", "--json", "-q"])
    assert res.exit_code == 0, res.stderr
    out = json.loads(res.stdout)
    assert set(out["results"]) == {"procrustes", "procrustes+refine1"}
    for row in out["results"].values():
        assert row["eval"]["csls"]["precision_at_1"] > 20  # unaligned spaces give ~0
        assert row["eval"]["csls"]["n_queries"] > 100
    assert out["translations"]["eau"][0] == "vesi"


def test_demo_missing_dictionaries_is_a_clear_error(tmp_path):
    res = run_cli(["demo", "--dictionaries", tmp_path])
    assert res.exit_code == 2
    assert "fr-fi.train.txt" in res.stderr and len(res.stderr.strip().splitlines()) == 1
