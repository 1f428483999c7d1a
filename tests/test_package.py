"""Checks of the package itself, beyond the notebooks' own tests."""
import configparser, importlib, json, shlex
from pathlib import Path
import pytest
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


def _run(*args, **kw):
    import subprocess
    r = subprocess.run([str(a) for a in args], capture_output=True, text=True, **kw)
    assert r.returncode == 0, f"{' '.join(map(str, args))} failed:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    return r.stdout


def test_classifiers_say_alpha_and_apache():
    import sys
    out = _run(sys.executable, 'setup.py', '--classifiers', cwd=ROOT)
    assert 'Development Status :: 3 - Alpha' in out.splitlines(), out      # settings.ini: status = 3
    assert 'License :: OSI Approved :: Apache Software License' in out.splitlines(), out
    assert 'Apache License' in (ROOT/'LICENSE').read_text()[:300]


@pytest.mark.slow
def test_sdist_and_wheel_each_install_into_a_fresh_venv(tmp_path):
    """`python -m build` makes the sdist, then the wheel from the sdist; each is installed into a fresh venv, and there
    `import dfcvae` loads a shipped model, and every shipped file matches the manifest shipped with it. The fresh venvs
    borrow the dependencies (torch...) of this environment through a .pth file, so that the test downloads nothing."""
    import sys, sysconfig
    _run(sys.executable, '-m', 'build', '--no-isolation', '--outdir', tmp_path/'dist', ROOT)
    sdists, wheels = list((tmp_path/'dist').glob('*.tar.gz')), list((tmp_path/'dist').glob('*.whl'))
    assert len(sdists) == 1 and len(wheels) == 1, list((tmp_path/'dist').iterdir())
    deps = sysconfig.get_paths()['purelib']
    for art in sdists + wheels:
        venv = tmp_path/('venv-' + art.name.split('.')[-1])
        _run(sys.executable, '-m', 'venv', venv)
        py = venv/'bin'/'python'
        site = _run(py, '-c', 'import sysconfig; print(sysconfig.get_paths()["purelib"])').strip()
        Path(site, '_deps.pth').write_text(deps + '\n')
        _run(py, '-m', 'pip', 'install', '--no-deps', '--no-build-isolation', '--no-index', art)
        out = _run(py, '-c', "import dfcvae; m, cfg = dfcvae.load_pretrained('dfcvae-123'); "
                             "print(dfcvae.__file__); print(dfcvae.load_pretrained()); print(type(m).__name__, cfg.beta); "
                             "from dfcvae.pretrained import check_sums; print(check_sums())", cwd=tmp_path)
        lines = out.splitlines()
        assert lines[0].startswith(str(venv)), f"{art.name}: imported {lines[0]}, not the installed copy"
        assert "'dfcvae-123'" in lines[1] and "'pvae'" in lines[1] and lines[2].startswith('VAE'), (art.name, out)
        shipped = sorted(l.split('  ', 1)[1] for l in (ROOT/'dfcvae'/'reference'/'SHA256SUMS').read_text().splitlines())
        assert lines[3] == str(shipped), f"{art.name}: the installed models and their manifest differ from the checkout's:\n{out}"


@pytest.mark.slow
def test_nbdev_readme_gets_as_far_as_quarto(tmp_path):
    """nbdev's documentation pass runs only the import cells of each notebook: it must reach Quarto with no warning that
    a cell mixes imports with other code, and where Quarto is missing, stop saying so."""
    import shutil, subprocess, os
    for name in ('nbs', 'dfcvae', 'settings.ini', 'setup.py', 'README.md'):
        (shutil.copytree if (ROOT/name).is_dir() else shutil.copy2)(ROOT/name, tmp_path/name)
    os.utime(tmp_path/'README.md', (0, 0))   # older than index.ipynb, so that nbdev_readme renders
    path = os.pathsep.join(p for p in os.environ['PATH'].split(os.pathsep) if not (Path(p)/'quarto').exists())
    r = subprocess.run(['nbdev_readme'], cwd=tmp_path, capture_output=True, text=True, env={**os.environ, 'PATH': path})
    out = r.stdout + r.stderr
    assert 'Found cells containing imports and other code' not in out, out[-3000:]
    assert 'Traceback' not in out, out[-3000:]
    assert r.returncode != 0 and 'quarto: not found' in out, out[-3000:]


def test_committed_notebooks_are_clean():
    """Committed notebooks carry no widget state, no error or stderr output, no absolute paths of the machine that ran
    them, and an id on every cell (without ids nbdev_export is not reproducible)."""
    import re
    for nb in sorted((ROOT/'nbs').glob('*.ipynb')):
        d = json.loads(nb.read_text())
        assert 'widgets' not in d['metadata'], f"{nb.name}: widget state saved in its metadata (a dead widget)"
        for i, c in enumerate(d['cells']):
            assert c.get('id'), f"{nb.name}: cell {i} has no id"
            assert 'execution' not in c['metadata'], f"{nb.name}: cell {i} carries execution timestamps (run nbdev_clean)"
            for o in c.get('outputs', []):
                assert o['output_type'] != 'error' and o.get('name') != 'stderr', f"{nb.name}: cell {i} has {o['output_type']} {o.get('name', '')} output"
                assert 'application/vnd.jupyter.widget-view+json' not in o.get('data', {}), f"{nb.name}: cell {i} shows a dead widget"
                text = json.dumps(o.get('text', '')) + json.dumps(o.get('data', {}).get('text/plain', ''))
                hit = re.search(r'(/home/|/root/|/work/|/tmp/tmp|/Users/)[^"\s]*', text)
                assert not hit, f"{nb.name}: cell {i} prints a machine path {hit.group(0)}"
