"""Every notebook in nbs/ is a test case: its cells run with nbdev's test machinery (as `nbdev_test` does).

Cells flagged with a flag from settings.ini's `tst_flags` (`#| slow`) are skipped unless asked for: `pytest --slow`,
or DFCVAE_TEST_FLAGS=slow pytest. A failing notebook names the cell, its first lines and the exception.
"""
import json
from pathlib import Path
import pytest
from nbdev.config import get_config
from nbrun import run_nb

ROOT = Path(__file__).resolve().parents[1]
NBS = sorted(p for p in (ROOT/'nbs').glob('*.ipynb') if not p.name.startswith('_'))


@pytest.mark.parametrize('nb', NBS, ids=[p.stem for p in NBS])
def test_notebook(nb, monkeypatch, test_flags):
    monkeypatch.setenv('MPLBACKEND', 'Agg')
    cfg = get_config(path=ROOT)
    skip = [f for f in cfg.get('tst_flags', '').split() if f not in test_flags]
    r = run_nb(nb, skip_flags=skip, force_flags=test_flags, basepath=ROOT)
    assert r.ok, r.message


def _nb(path, sources):
    cells = [dict(cell_type='code', id=f'cell{i}', metadata={}, source=s, outputs=[], execution_count=None)
             for i, s in enumerate(sources)]
    path.write_text(json.dumps(dict(cells=cells, metadata=dict(kernelspec=dict(name='python3', language='python')),
                                    nbformat=4, nbformat_minor=5)))
    return path


def test_a_failing_notebook_says_which_cell_and_why(tmp_path, monkeypatch):
    monkeypatch.setenv('MPLBACKEND', 'Agg')
    nb = _nb(tmp_path/'tiny.ipynb', ["x = 41", "def check(v):\n    if v != 42: raise ValueError(f'wanted 42, got {v}')\ncheck(x)",
                                     "raise SystemExit('never reached')"])
    r = run_nb(nb)
    assert not r.ok and [c.idx for c in r.cells] == [0, 1], r.cells          # it stopped at the failing cell
    for part in ('tiny.ipynb', "cell 1 (id 'cell1')", 'def check(v):', 'check(x)',
                 'ValueError: wanted 42, got 41', "raise ValueError(f'wanted 42, got {v}')"):
        assert part in r.message, (part, r.message)
    assert 'never reached' not in r.message


def test_the_runner_keeps_nbdevs_choice_of_cells(tmp_path, monkeypatch):
    "Flagged cells run only when forced, `#| eval: false` never runs, `nbdev_export(` cells are skipped."
    monkeypatch.setenv('MPLBACKEND', 'Agg')
    nb = _nb(tmp_path/'flags.ipynb', ["ran = []", "#| slow\nran.append('slow')", "#| eval: false\nran.append('eval')",
                                      "from nbdev import nbdev_export; nbdev_export()", "assert ran == [], ran"])
    assert run_nb(nb, skip_flags=['slow']).ok
    r = run_nb(nb, skip_flags=['slow'], force_flags=['slow'])
    assert not r.ok and "AssertionError: ['slow']" in r.message, r.message
