"""Fault injection: a real `dfcvae_train` process is killed (SIGKILL) or stopped (SIGTERM) at random steps and resumed
until it finishes; its final weights, optimiser state and metrics must be bit-identical to an uninterrupted run's."""
import json, os, random, signal, subprocess, time
from pathlib import Path
import pytest
import torch

pytestmark = pytest.mark.slow   # the full tier: `pytest --slow`

STEPS = 30
ARGS = ['--synthetic', '--preset', 'tiny', '--vgg-weights', 'random', '--device', 'cpu', '--quiet',
        '--epochs', '100', '--max-steps', str(STEPS), '--checkpoint-every', '4']
ENV = {**os.environ, 'OMP_NUM_THREADS': '1', 'PYTHONWARNINGS': 'ignore'}


def logged(out: Path) -> int:
    "Steps in the metrics log so far (lines a killed process wrote after its checkpoint are dropped on resume)."
    p = out/'metrics.jsonl'
    return p.read_text().count('\n') if p.exists() else 0


def final(out: Path) -> tuple:
    ck = torch.load(out/'checkpoints'/'last.pt', weights_only=True)
    rows = [{k: v for k, v in json.loads(l).items() if k != 'time'} for l in (out/'metrics.jsonl').read_text().splitlines()]
    return ck, rows


def interrupted_run(out: Path, sig: signal.Signals, rng: random.Random, kills: int = 4, args: list = ARGS, resume_args: list = ()) -> list:
    "Run to the end, interrupting with `sig` `kills` times at random logged steps; returns the steps it was hit at."
    hits, first = [], True
    while True:
        cmd = ['dfcvae_train', *(args + ['--out', str(out)] if first else ['--resume', str(out), *resume_args])]
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
        first = False
        if len(hits) < kills:
            target = min(STEPS - 1, logged(out) + rng.randint(1, 7))
            deadline = time.time() + 240
            while logged(out) < target and p.poll() is None and time.time() < deadline: time.sleep(0.005)
            if p.poll() is None:
                p.send_signal(sig); hits.append(logged(out))
        _, err = p.communicate(timeout=300)
        if sig == signal.SIGTERM and p.returncode == 143: continue
        if sig == signal.SIGKILL and p.returncode == -signal.SIGKILL: continue
        assert p.returncode == 0, (p.returncode, err[-2000:])
        assert 'Traceback' not in err, err
        return hits


@pytest.mark.parametrize('sig', [signal.SIGKILL, signal.SIGTERM], ids=['SIGKILL', 'SIGTERM'])
def test_killed_at_random_steps_ends_bit_identical(tmp_path, sig):
    r = subprocess.run(['dfcvae_train', *ARGS, '--out', str(tmp_path/'straight')], capture_output=True, text=True, env=ENV)
    assert r.returncode == 0, r.stderr
    hits = interrupted_run(tmp_path/'hit', sig, random.Random(int(sig)))
    assert len(hits) >= 3, hits                                    # it really was interrupted, mid-run
    (a, ma), (b, mb) = final(tmp_path/'straight'), final(tmp_path/'hit')
    assert a['step'] == b['step'] == STEPS
    for k, v in a['state']['model'].items(): assert torch.equal(v, b['state']['model'][k]), (k, hits)
    oa, ob = a['state']['opt']['state'], b['state']['opt']['state']
    for i in oa:
        for k, v in oa[i].items(): assert torch.equal(v, ob[i][k]), (i, k, hits)
    assert ma == mb, hits                                          # the same loss curve, line for line
    assert not list((tmp_path/'hit').rglob('*.tmp')), list((tmp_path/'hit').rglob('*.tmp'))   # no orphan left after resuming


def test_images_and_tensorboard_killed_resume_exactly(tmp_path):
    "SIGKILL in an `--images` run with `--tensorboard`: the resumed run ends bit-identical, and TensorBoard shows each step once."
    from PIL import Image
    from dfcvae.data import SyntheticFaces
    img = tmp_path/'img'; img.mkdir()
    faces = SyntheticFaces(120, size=64, seed=1)
    for i in range(120): Image.fromarray(faces.take([i])[0].numpy().transpose(1, 2, 0)).save(img/f'{i:03d}.png')
    args = [a for a in ARGS if a != '--synthetic'] + ['--images', str(img), '--tensorboard', '--log-every', '2']
    r = subprocess.run(['dfcvae_train', *args, '--out', str(tmp_path/'straight')], capture_output=True, text=True, env=ENV)
    assert r.returncode == 0, r.stderr
    hits = interrupted_run(tmp_path/'hit', signal.SIGKILL, random.Random(5), kills=2, args=args, resume_args=['--tensorboard'])
    assert len(hits) >= 2, hits
    (a, ma), (b, mb) = final(tmp_path/'straight'), final(tmp_path/'hit')
    for k, v in a['state']['model'].items(): assert torch.equal(v, b['state']['model'][k]), (k, hits)
    assert ma == mb
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    ea = EventAccumulator(str(tmp_path/'hit'/'tensorboard')); ea.Reload()   # the run as TensorBoard reads it: every event file, in order
    steps = [e.step for e in ea.Scalars('loss/loss')]
    assert sorted(steps) == list(range(1, STEPS + 1)), (hits, steps)    # each step once: the purge drops what followed the checkpoint
