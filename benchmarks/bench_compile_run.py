"""Does `--compile` win a real run? Real `dfcvae_train` runs, eager and compiled, alternated, each timed end to end.

    python benchmarks/bench_compile_run.py --data CELEBA --vgg-weights FILE [--steps 150] [--rounds 2] [--json OUT]

A per-step benchmark (bench_train_step.py) leaves out what a user pays once: torch.compile's warm-up. Here each
variant is a whole `dfcvae_train --preset paper` run of `--steps` updates in a fresh process (decoding the data is cached
before the first timed run). Reported per run: the wall time of the process, the training time (the first update's start
to the last logged update, from metrics.jsonl: start-up apart) and the median seconds per update over the run's second
half (compiled code warm). The decision this feeds (`04b_execution.DEVICE_DEFAULTS`): compile is a device's default only
where its whole run is faster, warm-up included.
"""
import argparse, json, os, statistics, subprocess, sys, tempfile, time
from pathlib import Path


def one_run(a, compile_, out):
    cmd = [sys.executable, '-m', 'dfcvae.train', '--out', str(out), '--preset', 'paper', '--data', a.data, '--vgg-weights', a.vgg_weights,
           '--max-steps', str(a.steps), '--log-every', '1', '--checkpoint-every', str(a.steps), '--quiet', '--device', 'cpu',
           '--compile' if compile_ else '--no-compile']
    t = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t
    if r.returncode: raise SystemExit(f"{'compile' if compile_ else 'eager'} run failed: {r.stderr.strip().splitlines()[-1]}")
    rows = [json.loads(l) for l in (out/'metrics.jsonl').read_text().splitlines()]
    times = [r['time'] for r in rows]
    gaps = [b - c for b, c in zip(times[len(times) // 2 + 1:], times[len(times) // 2:])]
    start = (out/'execution.jsonl').read_text().splitlines()[0]
    return dict(variant='compile' if compile_ else 'eager', steps=len(rows), wall_s=wall, train_s=times[-1] - json.loads(start)['time'],
                warm_step_s=statistics.median(gaps))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--data', required=True); p.add_argument('--vgg-weights', required=True)
    p.add_argument('--steps', type=int, default=150); p.add_argument('--rounds', type=int, default=2)
    p.add_argument('--json', help='write the results here (one JSON object per line)')
    a = p.parse_args()
    import torch
    from dfcvae.config import get_config
    from dfcvae.loop import build_data
    build_data(get_config('paper', data=a.data), 'train', progress=False)   # the decoded-image cache, before any timed run
    cpu = next((l.split(':', 1)[1].strip() for l in open('/proc/cpuinfo') if l.startswith('model name')), 'CPU')
    device = f"{cpu}, {os.cpu_count()} cores, torch {torch.__version__}"
    print(device)
    res = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(a.rounds):
            for c in (False, True):
                r = one_run(a, c, Path(tmp)/f"{'c' if c else 'e'}{i}")
                res.append(dict(device=device, **r))
                print(f"{r['variant']:>8} | {r['steps']} updates | wall {r['wall_s']:6.1f} s | training {r['train_s']:6.1f} s | "
                      f"warm update {r['warm_step_s']:.3f} s", flush=True)
    for v in ('eager', 'compile'):
        w = [r['wall_s'] for r in res if r['variant'] == v]
        print(f"{v:>8}: median wall {statistics.median(w):.1f} s over {len(w)} runs")
    if a.json: Path(a.json).write_text(''.join(json.dumps(r) + '\n' for r in res))


if __name__ == '__main__':
    main()
