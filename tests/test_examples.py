"""Every example script runs with tiny settings (numpyro's test_examples habit)."""

import runpy
import sys
from pathlib import Path

import pytest

EXAMPLES = {
    "examples/fit_from_script.py": ["--draws", "20", "--tune", "20", "--chains", "1"],
    "examples/compare_sites.py": ["--draws", "20", "--tune", "20", "--chains", "1"],
    "examples/validity_checks.py": ["--draws", "20", "--tune", "20", "--chains", "1"],
    "examples/two_outcomes.py": ["--draws", "20", "--tune", "20", "--chains", "1"],
    "examples/run_sbc.py": [
        "--replicates",
        "3",
        "--units",
        "12",
        "--periods",
        "7",
        "--draws",
        "30",
        "--tune",
        "30",
        "--workers",
        "1",
    ],
}


@pytest.mark.filterwarnings("ignore::staggered.fit.SamplingWarning")
@pytest.mark.parametrize("script", sorted(EXAMPLES))
def test_example_runs(script, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", [script, *EXAMPLES[script], "--out", str(tmp_path)])
    runpy.run_path(str(Path(__file__).resolve().parents[1] / script), run_name="__main__")
    assert "Wrote" in capsys.readouterr().out
