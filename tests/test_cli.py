"""The `dfcvae_train` console script in a fresh process: its help, its one-line errors, and SIGINT/SIGTERM
(exit 130/143 with the checkpoint saved, no traceback, and a resume that ends exactly like an uninterrupted run)."""
import dataclasses, json, os, re, signal, subprocess, sys, time, warnings
from pathlib import Path
import pytest
import torch
from dfcvae.train import TrainConfig, field_help, get_config, load_checkpoint, train, CHECKPOINT

TINY = ['--synthetic', '--preset', 'tiny', '--vgg-weights', 'random', '--device', 'cpu', '--quiet']
ENV = {**os.environ, 'OMP_NUM_THREADS': '1', 'PYTHONWARNINGS': 'ignore'}


def dfcvae_train(*args, **kw):
    return subprocess.run(['dfcvae_train', *map(str, args)], capture_output=True, text=True, env=ENV, **kw)


@pytest.mark.slow   # the installed command in a process of its own (04a_config checks the same help in-process, in the fast tier)
def test_help_lists_every_config_field_with_its_comment():
    r = dfcvae_train('--help')
    assert r.returncode == 0, r.stderr
    text = re.sub(r'\s', '', r.stdout)
    for f in dataclasses.fields(TrainConfig):
        opt = '--' + f.name.replace('_', '-')
        assert opt in r.stdout, opt
        assert re.sub(r'\s', '', field_help(TrainConfig)[f.name]) in text, f.name
    for opt in ('--out', '--resume', '--synthetic', '--device', '--quiet', '--tensorboard', '--no-channels-last'): assert opt in r.stdout


@pytest.mark.parametrize('args, says', [
    (['--synthetic', '--out', 'x', '--widths', '8,x'], "--widths: '8,x': give comma-separated int values"),
    (['--out', 'x', '--preset', 'tiny'], 'give exactly one of --data DIR (CelebA), --images DIR (a folder of your own images) and --synthetic'),
])
def test_mistakes_end_with_one_line(tmp_path, args, says):
    r = dfcvae_train(*args, cwd=tmp_path)
    assert r.returncode != 0 and 'Traceback' not in r.stderr
    assert r.stderr.strip().count('\n') == 0 and says in r.stderr, r.stderr


def run_until_stopped(out, sig, max_steps=10_000):
    "Start a long tiny run, send `sig` once it has logged a step, and return the finished process."
    p = subprocess.Popen(['dfcvae_train', *TINY, '--epochs', '10000', '--max-steps', str(max_steps), '--out', str(out)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    deadline = time.time() + 240
    while not ((out/'metrics.jsonl').exists() and (out/'metrics.jsonl').read_text().count('\n') >= 2):
        assert p.poll() is None, p.communicate()
        assert time.time() < deadline, 'the run logged no step in time'
        time.sleep(0.05)
    p.send_signal(sig)
    stdout, stderr = p.communicate(timeout=240)
    return p.returncode, stdout, stderr


def check_stopped(out, sig, code, rc, stdout, stderr):
    "Exit code `code`, no traceback, one line naming the signal and the checkpoint, nothing logged beyond the checkpoint."
    assert rc == code, (rc, stderr)
    assert 'Traceback' not in stderr, stderr
    lines = [l for l in (stdout + stderr).splitlines() if 'checkpoint' in l]
    assert len(lines) == 1 and str(out/CHECKPOINT) in lines[0] and signal.Signals(sig).name in lines[0], lines
    step = load_checkpoint(out/CHECKPOINT)['step']
    assert step >= 2 and len((out/'metrics.jsonl').read_text().splitlines()) == step
    return step


@pytest.mark.slow   # a real training process, stopped and resumed
def test_sigint_saves_says_where_and_exits_130(tmp_path):
    check_stopped(tmp_path/'run', signal.SIGINT, 130, *run_until_stopped(tmp_path/'run', signal.SIGINT))


@pytest.mark.slow   # a real training process, stopped and resumed
def test_sigterm_exits_143_and_the_resume_ends_like_an_uninterrupted_run(tmp_path):
    out = tmp_path/'run'
    step = check_stopped(out, signal.SIGTERM, 143, *run_until_stopped(out, signal.SIGTERM))
    r = dfcvae_train('--resume', out, '--beta', '0.1', '--z-dim', '5', '--max-steps', step + 1)    # refused: it would change the model
    assert r.returncode != 0 and 'Traceback' not in r.stderr and r.stderr.strip().count('\n') == 0, r.stderr
    assert '--beta --z-dim would change what is trained' in r.stderr, r.stderr
    end = step + 3                                           # mid-epoch, most of the time: 6 updates an epoch
    r = dfcvae_train('--resume', out, '--max-steps', end, '--device', 'cpu', '--quiet')
    assert r.returncode == 0 and 'Traceback' not in r.stderr, r.stderr
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        torch.set_num_threads(1)
        straight = train(get_config('tiny', vgg_weights='random', epochs=10000, max_steps=end), tmp_path/'straight', device='cpu', progress=False)
    resumed = load_checkpoint(out/CHECKPOINT)
    assert resumed['step'] == end
    for k, v in straight.updater.model.state_dict().items(): assert torch.equal(resumed['state']['model'][k], v), k
    assert json.loads((out/'config.json').read_text())['max_steps'] == end



@pytest.mark.slow   # two real training processes
def test_quiet_shows_no_progress_bar_not_even_the_cache_build(tmp_path):
    "--quiet: nothing on stderr but the notices; without it, the first use of a CelebA folder shows the cache's bar."
    from dfcvae.data import make_celeba_fixture
    data = make_celeba_fixture(tmp_path/'celeba', n=40, splits=[0] * 32 + [1] * 4 + [2] * 4)
    args = ['--data', data, '--preset', 'tiny', '--vgg-weights', 'random', '--device', 'cpu', '--bs', '8', '--max-steps', '2']
    for quiet, cache in ((True, 'c1'), (False, 'c2')):
        r = subprocess.run(['dfcvae_train', *map(str, args), '--out', str(tmp_path/f'run-{cache}'), *(['--quiet'] if quiet else [])],
                           capture_output=True, text=True, env={**ENV, 'DFCVAE_CACHE': str(tmp_path/cache)})
        assert r.returncode == 0, r.stderr
        if quiet: assert 'decoding' not in r.stderr and '%|' not in r.stderr, r.stderr   # neither the cache's bar nor the run's
        else: assert 'decoding 40 faces to 32x32' in r.stderr and '%|' in r.stderr, r.stderr
