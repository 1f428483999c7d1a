"""Every notebook in nbs/ is a test case: its cells run with nbdev's test machinery (as `nbdev_test` does).

Cells flagged with a flag from settings.ini's `tst_flags` (e.g. `#| slow`) are skipped unless
DFCVAE_TEST_FLAGS names them (for example DFCVAE_TEST_FLAGS=slow pytest).
"""
import os
from pathlib import Path
import pytest
from nbdev.config import get_config
from nbdev import test as nbdev_test_mod

ROOT = Path(__file__).resolve().parents[1]
NBS = sorted(p for p in (ROOT/'nbs').glob('*.ipynb') if not p.name.startswith('_'))


@pytest.mark.parametrize('nb', NBS, ids=[p.stem for p in NBS])
def test_notebook(nb, monkeypatch):
    monkeypatch.setenv('MPLBACKEND', 'Agg')
    cfg = get_config(path=ROOT)
    force = os.environ.get('DFCVAE_TEST_FLAGS', '').split()
    skip = [f for f in cfg.get('tst_flags', '').split() if f not in force]
    ok, secs = nbdev_test_mod.test_nb(nb, skip_flags=skip, force_flags=force, basepath=ROOT)
    assert ok, f"{nb.name}: a cell failed (run `nbdev_test --path {nb.relative_to(ROOT)}` to see it)"
