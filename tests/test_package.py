"""Checks of the package itself, beyond the notebooks' own tests."""
import configparser, importlib, json, shlex
from pathlib import Path
import dfcvae

ROOT = Path(__file__).resolve().parents[1]
CFG = configparser.ConfigParser(delimiters=['=']); CFG.read(ROOT/'settings.ini')


def test_version_matches_settings():
    assert dfcvae.__version__ == CFG['DEFAULT']['version']


def test_every_notebook_exports_an_importable_module():
    for nb in sorted((ROOT/'nbs').glob('[0-9]*.ipynb')):
        src = '\n'.join(c['source'] if isinstance(c['source'], str) else ''.join(c['source'])
                      for c in json.loads(nb.read_text())['cells'][:2])
        assert '#| default_exp' in src, f"{nb.name} has no default_exp cell"
        mod = src.split('#| default_exp', 1)[1].split('\n', 1)[0].strip()
        importlib.import_module(f'dfcvae.{mod}')


def test_requirements_are_ranges_not_torch_pins():
    reqs = shlex.split(CFG['DEFAULT']['requirements'])
    torch = [r for r in reqs if r.startswith('torch') and not r.startswith('torchvision')]
    assert torch and '==' not in torch[0], reqs


def _cells(nb):
    return [(c['cell_type'], c['source'] if isinstance(c['source'], str) else ''.join(c['source']))
            for c in json.loads(Path(nb).read_text())['cells']]


def test_readme_carries_the_index_notebook():
    "README.md is index.ipynb in markdown (Quarto, which nbdev_readme needs, is not available everywhere)."
    readme = (ROOT/'README.md').read_text()
    for kind, src in _cells(ROOT/'nbs'/'index.ipynb'):
        if src.strip().startswith('#|'): continue
        text = src if kind == 'markdown' else f"```python\n{src}\n```"
        assert text.strip() in readme, f"README.md lacks this {kind} cell of nbs/index.ipynb:\n{src[:200]}"


def test_ci_runs_the_readme_commands():
    readme, ci = (ROOT/'README.md').read_text(), (ROOT/'.ci'/'run').read_text()
    block = readme.split('```bash\n', 1)[1].split('```', 1)[0].strip().splitlines()
    assert len(block) == 2
    for line in block: assert line in ci, f".ci/run does not run the README command {line!r}"
