"""Fault injection for the run-folder lock and the metrics log, with real `dfcvae_train` processes: a second run on a
busy folder is refused and changes nothing; the holder is killed (SIGKILL) while the other waits, and the lock dies
with it; a torn log line does not block the resume; a real small file system fills up while the log is written, and the
run stops with one line. After each, the resumed run's final weights, optimiser state and log are bit-identical to an
uninterrupted run's. The file-system cases need `mount` (root in a container, as in CI); elsewhere they are skipped."""
import json, os, signal, subprocess, time, uuid
from pathlib import Path
import pytest
import torch

pytestmark = pytest.mark.slow   # the full tier: `pytest --slow`

STEPS = 40
ARGS = ['--synthetic', '--preset', 'tiny', '--vgg-weights', 'random', '--device', 'cpu', '--quiet', '--epochs', '100',
        '--n-synthetic', '3200', '--max-steps', str(STEPS), '--checkpoint-every', '10', '--log-every', '1']
ENV = {**os.environ, 'OMP_NUM_THREADS': '1', 'PYTHONWARNINGS': 'ignore'}


def train(*args, **kw):
    return subprocess.run(['dfcvae_train', *map(str, args)], capture_output=True, text=True, env=ENV, timeout=600, **kw)


def start(*args):
    return subprocess.Popen(['dfcvae_train', *map(str, args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)


def logged(out: Path) -> int:
    p = out/'metrics.jsonl'
    return p.read_text().count('\n') if p.exists() else 0


def wait_logged(p, out: Path, n: int):
    deadline = time.time() + 300
    while logged(out) < n and p.poll() is None and time.time() < deadline: time.sleep(0.01)
    assert p.poll() is None and logged(out) >= n, (p.poll(), logged(out))


def snapshot(out: Path) -> dict:
    return {str(f.relative_to(out)): (f.stat().st_mtime_ns, f.read_bytes()) for f in sorted(out.rglob('*')) if f.is_file()}


def final(out: Path) -> tuple:
    ck = torch.load(out/'checkpoints'/'last.pt', weights_only=True)
    rows = [{k: v for k, v in json.loads(l).items() if k != 'time'} for l in (out/'metrics.jsonl').read_text().splitlines()]
    return ck, rows


def assert_same_run(a: Path, b: Path):
    "Final weights, optimiser state and log (all but the wall-clock times) bit-identical."
    (ca, ma), (cb, mb) = final(a), final(b)
    assert ca['step'] == cb['step'] == STEPS
    for k, v in ca['state']['model'].items(): assert torch.equal(v, cb['state']['model'][k]), k
    for i, st in ca['state']['opt']['state'].items():
        for k, v in st.items(): assert torch.equal(v, cb['state']['opt']['state'][i][k]), (i, k)
    assert ma == mb and [r['step'] for r in mb] == list(range(1, STEPS + 1))


@pytest.fixture(scope='module')
def straight(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp('straight')/'run'
    r = train(*ARGS, '--out', out)
    assert r.returncode == 0, r.stderr
    return out


def test_busy_folder_refused_holder_killed_then_torn_line_and_resume(tmp_path, straight):
    out = tmp_path/'run'
    a = start(*ARGS, '--out', out)
    wait_logged(a, out, 12)
    a.send_signal(signal.SIGSTOP)                      # frozen, holding the folder: its files stay still while we compare
    try:
        before = snapshot(out)
        for args in ([*ARGS, '--out', out], ['--resume', out, '--quiet']):   # a second start, new or resumed
            t = time.time(); r = train(*args)
            assert r.returncode == 1 and 'Traceback' not in r.stderr and r.stderr.count('\n') == 1, r.stderr
            assert f"{out} is in use by process {a.pid} on " in r.stderr and 'wait until it ends, stop it, or choose another folder' in r.stderr, r.stderr
            assert time.time() - t < 60                 # refused at once, not after waiting
        assert snapshot(out) == before                 # neither run's files changed
    finally:
        a.send_signal(signal.SIGKILL); a.send_signal(signal.SIGCONT); a.wait()
    with open(out/'metrics.jsonl', 'a') as f: f.write('{"step": 99, "epoch": 0, "lr": 0.0')   # a write cut short by the kill
    r = train('--resume', out, '--quiet')              # the lock died with its process: no wait, no stale lock to remove
    assert r.returncode == 0 and 'Traceback' not in r.stderr, r.stderr
    assert f"{out/'metrics.jsonl'}: its last line was cut short" in r.stderr, r.stderr
    assert_same_run(straight, out)


@pytest.fixture
def small_fs(tmp_path):
    "A real 8 MB tmpfs file system, mounted for the test (skipped where this process may not mount)."
    mnt = tmp_path/'fs'; mnt.mkdir()
    r = subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', str(mnt)], capture_output=True, text=True)
    if r.returncode != 0: pytest.skip(f"cannot mount a small file system here ({r.stderr.strip()[:100]})")
    yield mnt
    subprocess.run(['umount', '-l', str(mnt)])


def fill(mnt: Path) -> Path:
    "Fill the file system until a write fails with ENOSPC; returns the filler file."
    filler = mnt/f'filler-{uuid.uuid4().hex}'
    with open(filler, 'wb', buffering=0) as f:
        try:
            while True: f.write(b'\0' * 65536)
        except OSError as e: assert e.errno == 28, e
        try:
            while True: f.write(b'\0' * 512)
        except OSError: pass
    return filler


def test_disk_fills_while_logging_then_resume(small_fs, straight):
    out = small_fs/'run'
    a = start(*ARGS, '--out', out)
    wait_logged(a, out, 12)                            # after the checkpoint of step 10
    a.send_signal(signal.SIGSTOP); filler = fill(small_fs); a.send_signal(signal.SIGCONT)
    _, err = a.communicate(timeout=300)
    assert a.returncode == 1 and 'Traceback' not in err, err
    line = [l for l in err.splitlines() if l.strip()]
    assert len(line) == 1 and line[0].startswith(f"dfcvae_train: error: {out/'metrics.jsonl'}: could not add to it (the disk is full); "
                                                  "training stopped at step "), err
    assert f"the last good checkpoint is {out/'checkpoints'/'last.pt'} (step 10)" in line[0], err
    text = (out/'metrics.jsonl').read_text()
    assert text.endswith('\n') and all(json.loads(l) for l in text.splitlines())   # no torn line left
    assert torch.load(out/'checkpoints'/'last.pt', weights_only=True)['step'] == 10
    filler.unlink()                                    # space again
    r = train('--resume', out, '--quiet')
    assert r.returncode == 0 and 'Traceback' not in r.stderr, r.stderr
    assert_same_run(straight, out)


def test_read_only_file_system_is_one_line(small_fs):
    (small_fs/'old').mkdir()
    r = subprocess.run(['mount', '-o', 'remount,ro', str(small_fs)], capture_output=True, text=True)
    if r.returncode != 0: pytest.skip(f"cannot remount read-only here ({r.stderr.strip()[:100]})")
    for out in (small_fs/'new', small_fs/'old'):
        r = train(*ARGS, '--out', out)
        assert r.returncode == 1 and 'Traceback' not in r.stderr and r.stderr.count('\n') == 1, r.stderr
        assert f"{out}: cannot create or write the run folder here (the file system is read-only)" in r.stderr, r.stderr
    r = subprocess.run(['dfcvae_reproduce', '--out', str(small_fs/'report')], capture_output=True, text=True, env=ENV)
    assert r.returncode == 2 and 'Traceback' not in r.stderr and r.stderr.count('\n') == 1, r.stderr
    assert f"--out {small_fs/'report'}: cannot create or write it (the file system is read-only)" in r.stderr, r.stderr
