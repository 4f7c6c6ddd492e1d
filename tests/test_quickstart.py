"""The README Quick start's main job, run on a small budget."""

import subprocess
import sys

from sklearn_charrnn import cli


def _indented_lines_after(lines, header):
    start = lines.index(header) + 1
    block = []
    for line in lines[start:]:
        if not line.startswith("  "):
            break
        block.append(line.strip())
    return block


def test_demo_prints_ten_names_and_three_completions(capsys):
    assert cli.main(["demo", "--max-iter", "2", "--prefix", "tyra"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("Trained on 1530 dinosaur names")
    assert "rnn: 2 epochs" in lines[0] and "weights rnn" in lines[0]
    names = _indented_lines_after(lines, "Ten new names:")
    assert len(names) == 10
    assert all(name.isalpha() and name.islower() for name in names)
    completions = _indented_lines_after(lines, "Three completions of 'tyra':")
    assert len(completions) == 3
    assert all(c.startswith("tyra") for c in completions)


def test_python_dash_m_runs_the_demo():
    result = subprocess.run(
        [sys.executable, "-m", "sklearn_charrnn", "demo", "--max-iter", "1"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "Ten new names:" in result.stdout
    assert "Three completions of 'tyra':" in result.stdout
