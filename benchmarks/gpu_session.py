"""Everything issue 22 asks of a GPU session, in one prepared script: the CUDA checks, the GPU benchmark, and the
paper-length trainings (12,717 updates each, the paper's schedule in updates) of the balance study's points, of
dfcvae-345 at its own balances, of the PVAE and of the full-width DCGAN, all on one GPU, side by side.

    python benchmarks/gpu_session.py --data CELEBA --vgg VGG19.pth --out OUT [--budget 540] [--tiny --device cpu]
    python benchmarks/gpu_session.py --unpack OUT --runs runs/gpu      # here, afterwards: the run folders back

Study v2 (issue 29; `06b_balance_study`): `--plan v2` trains 40 runs, every configuration with seeds 0 and 1, named
NAME-sK: dfcvae-123 at beta 0.0025 / 0.00625 / 0.0125 / 0.025 with and without `--flip`, the PVAE with and without,
the grid's remedy `--pixel-weight 200` (06_generation: the grid near real faces' in samples at 1,000 updates) at the two contested balances, and the 345 scale's balances with and without
flips; `--half-weights` brings the weights back as float16 (4.6 MB a run, 13 runs a call); `--only A,B,...` trains a
part of a plan. At the GPU step's speed of issue 22 (about 134 s for one run alone) the plan does not fit one call: the
contested pair first (priority 0), the rest in the order of their priority, as the deadline allows. Rehearsed on CPU:

    python benchmarks/gpu_session.py --data CELEBA --vgg VGG19.pth --out /tmp/o --tiny --device cpu --plan v2 \
        --only beta0.00625-s0,beta0.00625-flip-s1,pvae-flip-s0,beta0.025-pix200-s1 --half-weights --skip-bench

It reads only what the runs need: a CelebA folder (the training split is what is trained on; the validation faces
give the per-epoch sample grids) and a VGG19 state_dict holding the layers of the losses (relu1_2 .. relu5_1). It
writes at most 8 files under OUT, the limit of what comes back from the device machine: session.log (everything, as it
happens), results.json (checks, benchmark, every run's steps, rate and state), and bundle-K.tar files of at most
15.5 MiB, which hold each run's config.json, execution.jsonl, metrics.jsonl.xz and its final weights (model only, no
optimiser state: they are for measuring and shipping, not for resuming) as shards `model-I.pt`. A VAE's float32 weights
are 9.3 MB and the full-width DCGAN's 25 MB, so nine runs do not fit in one call's 64 MiB: what did not fit is listed
in results.json (`not_packed`) and stays in /tmp/gpu-runs on the machine, for a second call while it is still warm. `--unpack` turns them
into ordinary run folders that `load_run`, `measure_run` and `DFCVAE_RUNS` read.

Issue 30 (`--plan speed`): the CUDA checks (the graph's among them), the step benchmark with the peer, the eager
step and the graph in each precision and layout (bench_train_step.py), then one `--preset dfcvae` run of 12,717
updates alone, timed end to end (start-up reported apart: the time to its first logged update), then four such runs
side by side to the deadline (their summed updates per second). Rehearsed on CPU:

    python benchmarks/gpu_session.py --data CELEBA --vgg VGG19.pth --out /tmp/o --tiny --device cpu --plan speed --budget 200

Runs are started together (one process each, one CPU thread each) and watched. Each has a priority; when the ones
that matter most would not end before the deadline at the measured rates, the least important running one is stopped
(SIGTERM: it saves its state and exits). At the deadline, whatever still runs is stopped the same way, and results say
which runs ended at 12,717 updates and which did not. dfcvae-123's points and dfcvae-345's come first.
"""
import argparse, io, json, lzma, os, shutil, signal, subprocess, sys, tarfile, time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
UPDATES = 12_717
MIB = 2 ** 20
BUNDLE_MAX = int(15.5 * MIB)
SHARD_MAX = 12 * MIB

# name, priority (0 first; the highest number is stopped first when time runs short), options of dfcvae_train
RUNS_V1 = [
    ('beta0.00625', 0, ['--preset', 'dfcvae', '--beta', '0.00625']),
    ('345-beta0.001', 0, ['--preset', 'dfcvae-345', '--beta', '0.001']),
    ('beta0.025', 1, ['--preset', 'dfcvae', '--beta', '0.025']),
    ('beta0.8', 1, ['--preset', 'dfcvae', '--beta', '0.8']),
    ('345-beta0.004', 1, ['--preset', 'dfcvae-345', '--beta', '0.004']),
    ('beta0.0025', 2, ['--preset', 'dfcvae', '--beta', '0.0025']),
    ('345-beta0.0004', 2, ['--preset', 'dfcvae-345', '--beta', '0.0004']),
    ('pvae', 3, ['--preset', 'pvae', '--max-steps', str(UPDATES), '--epochs', '10000', '--decay-every', '0']),
    ('dcgan', 4, ['--preset', 'dcgan', '--max-steps', str(UPDATES), '--epochs', '10000']),
]

def runs_v2(remedy: float = 200.0) -> list:
    """Study v2 (06b_balance_study): each configuration with seeds 0 and 1 (named NAME-sK, as `seed_groups` reads them),
    beta x horizontal flips for dfcvae-123, the same shape at the 345 scale, the PVAE with and without flips, and the
    grid's remedy (`--pixel-weight`) at the two contested balances. Priority: the contested pair first."""
    runs = []
    for beta, prio in ((0.00625, 0), (0.025, 0), (0.0125, 1), (0.0025, 2)):
        for flip in (False, True):
            runs += [(f"beta{beta:g}{'-flip' if flip else ''}-s{seed}", prio + flip, ['--preset', 'dfcvae', '--beta', str(beta), '--seed', str(seed)] + (['--flip'] if flip else []))
                     for seed in (0, 1)]
    for flip in (False, True):
        runs += [(f"pvae{'-flip' if flip else ''}-s{seed}", 1 + flip, ['--preset', 'pvae', '--max-steps', str(UPDATES), '--epochs', '10000', '--decay-every', '0', '--seed', str(seed)] + (['--flip'] if flip else []))
                 for seed in (0, 1)]
    for beta in (0.00625, 0.025):
        runs += [(f"beta{beta:g}-pix{remedy:g}-s{seed}", 2, ['--preset', 'dfcvae', '--beta', str(beta), '--pixel-weight', str(remedy), '--seed', str(seed)]) for seed in (0, 1)]
    for beta, prio in ((0.001, 3), (0.004, 3), (0.0004, 4), (0.0025, 4)):
        for flip in (False, True):
            runs += [(f"345-beta{beta:g}{'-flip' if flip else ''}-s{seed}", prio + flip, ['--preset', 'dfcvae-345', '--beta', str(beta), '--seed', str(seed)] + (['--flip'] if flip else []))
                     for seed in (0, 1)]
    return runs

def runs_speed() -> list:
    "Issue 30's side-by-side throughput: four paper-length dfcvae-123 runs at once (seeds 0-3), each with the device's defaults."
    return [(f'speed-s{seed}', 0, ['--preset', 'dfcvae', '--seed', str(seed)]) for seed in range(4)]

PLANS = {'v1': lambda: RUNS_V1, 'v2': runs_v2, 'speed': runs_speed}   # --plan: which runs
SPEED_VARIANTS = 'toshikwa,default,eager,graph_bf16,graph_bf16_cl,graph_fp32_cl'   # --plan speed: the benchmark's variants, in one process each
RUNS = RUNS_V1   # the plan in use (set by main)
TINY = ['--max-steps', '24', '--img-size', '32', '--bs', '16', '--widths', '8,16,32', '--z-dim', '16', '--n-grid', '8']

# the launcher: the command line of dfcvae_train, with the per-epoch checkpoint left out (a checkpoint every
# --checkpoint-every updates, at the end and on a stop remain): 113 checkpoints of 28 MB per run would be disk traffic;
# and cuDNN's autotuner on (each process times the convolution algorithms once for its fixed shapes)
LAUNCH = ("import sys, torch, dfcvae.loop as L; L.Checkpoint.after_epoch = lambda self, tr: None; torch.backends.cudnn.benchmark = True; "
          "from dfcvae.cli import main; sys.argv[0] = 'dfcvae_train'; main()")

T0 = time.time()
LOG = None

def log(*a):
    s = f"[{time.time() - T0:7.1f}s] " + ' '.join(str(x) for x in a)
    print(s, flush=True)
    if LOG: LOG.write(s + '\n'); LOG.flush()

def sh(cmd, timeout, env=None, cwd=REPO):
    "Run a command, log its output's tail, return (returncode, output)."
    log('$', ' '.join(map(str, cmd)) if isinstance(cmd, list) else cmd)
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, cwd=cwd, shell=isinstance(cmd, str))
        out = r.stdout + r.stderr; code = r.returncode
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b'').decode(errors='replace') if isinstance(e.stdout, bytes) else (e.stdout or '')
        out += f'\nTIMEOUT after {timeout}s'; code = 'timeout'
    log(f"-> {code}\n" + out[-3000:])
    return code, out

def lines(path: Path) -> int:
    try:
        with open(path, 'rb') as f: return f.read().count(b'\n')
    except FileNotFoundError: return 0

def start_mps(env: dict) -> bool:
    "CUDA MPS lets the runs' small kernels share the GPU at once instead of in time slices; used only if it starts and answers."
    ctl = shutil.which('nvidia-cuda-mps-control')
    if not ctl: log('MPS: no nvidia-cuda-mps-control here; the runs share the GPU by time slicing'); return False
    d = Path('/tmp/mps'); (d/'pipe').mkdir(parents=True, exist_ok=True); (d/'log').mkdir(exist_ok=True)
    env.update(CUDA_MPS_PIPE_DIRECTORY=str(d/'pipe'), CUDA_MPS_LOG_DIRECTORY=str(d/'log'))
    code, _ = sh([ctl, '-d'], 20, env)
    if code == 0:
        code, out = sh([sys.executable, '-c', "import torch; print(torch.ones(4, device='cuda').sum().item())"], 60, env)
        if code == 0 and '4.0' in out: log('MPS: on'); return True
    log('MPS: did not start or answer; stopping it, time slicing instead')
    subprocess.run(f'echo quit | {ctl}', shell=True, env=env, timeout=20)
    for k in ('CUDA_MPS_PIPE_DIRECTORY', 'CUDA_MPS_LOG_DIRECTORY'): env.pop(k, None)
    return False

def train_all(a, env, runs_dir: Path, deadline: float, res: dict):
    "Start every run, watch their steps, stop the least important when the most important would miss the deadline."
    procs, info = {}, {}
    common = ['--data', a.data, '--vgg-weights', a.vgg, '--vgg-convention', 'caffe', '--device', a.device, '--quiet',
              '--checkpoint-every', '1000', '--log-every', '50'] + (TINY if a.tiny else [])
    for name, prio, opts in RUNS:
        out = runs_dir/name
        f = open(runs_dir/f'{name}.out', 'w')
        p = subprocess.Popen([sys.executable, '-c', LAUNCH, *opts, *common, '--out', str(out)], stdout=f, stderr=subprocess.STDOUT,
                             env=env, cwd=REPO, start_new_session=True)
        procs[name] = p
        info[name] = dict(priority=prio, options=opts, started=round(time.time() - T0, 1), hist=[], stopped_by=None)
    target = int(TINY[1]) if a.tiny else UPDATES
    no_more_stops = False; last_stop = 0
    while True:
        time.sleep(2 if a.tiny else 10)
        now = time.time()
        live = {n: p for n, p in procs.items() if p.poll() is None}
        for n in procs: info[n]['hist'].append((now, lines(runs_dir/n/'metrics.jsonl')))
        status = ', '.join(f"{n} {info[n]['hist'][-1][1]}" + ('' if n in live else f" (exit {procs[n].returncode})") for n in procs)
        log('steps:', status)
        if not live: break
        if now >= deadline:
            log('deadline: stopping', list(live))
            for n, p in live.items(): info[n]['stopped_by'] = 'deadline'; p.send_signal(signal.SIGTERM)
            break
        # rates over the last ~40 s; projections only once every live run has logged for a while
        def rate(n):
            h = [x for x in info[n]['hist'] if x[0] >= now - 40]
            return (h[-1][1] - h[0][1]) / (h[-1][0] - h[0][0]) if len(h) > 1 and h[-1][0] > h[0][0] else 0.0
        rates = {n: rate(n) for n in live}
        # no projection in the first 90 s (start-up and the autotuner make the first rates too low: on the H200 a first
        # projection at 10 s stopped the DCGAN needlessly), nor within 45 s of a stop
        if a.tiny or no_more_stops or now - T0 - min(i['started'] for i in info.values()) < 90 or now - last_stop < 45 \
                or any(r <= 0 for r in rates.values()): continue
        left = deadline - now
        late = {n: (target - info[n]['hist'][-1][1]) / rates[n] for n in live}
        worst = {n: t for n, t in late.items() if t > left}
        if not worst: continue
        if last_stop:   # the last stop should have sped the others up; if not, the GPU is not what limits them
            if sum(rates.values()) < 1.1 * res.get('aggregate_before_stop', 0) * len(live) / (len(live) + 1): no_more_stops = True; continue
        victim = max(live, key=lambda n: (info[n]['priority'], RUNS.index(next(r for r in RUNS if r[0] == n))))
        if info[victim]['priority'] == 0: continue
        log(f"projected ends {', '.join(f'{n} {t:.0f}s' for n, t in late.items())} with {left:.0f}s left: stopping {victim}")
        res['aggregate_before_stop'] = sum(rates.values())
        info[victim]['stopped_by'] = 'priority'; procs[victim].send_signal(signal.SIGTERM); last_stop = now
    for n, p in procs.items():
        try: p.wait(timeout=30)
        except subprocess.TimeoutExpired: p.kill(); p.wait(); info[n]['stopped_by'] = (info[n]['stopped_by'] or '') + '+SIGKILL'
    for n in procs:
        h = info[n].pop('hist')
        steps = lines(runs_dir/n/'metrics.jsonl')
        t_first = next((t for t, s in h if s > 0), None)
        info[n].update(returncode=procs[n].returncode, steps=steps, complete=steps >= target,
                       seconds=round(h[-1][0] - T0 - info[n]['started'], 1),
                       steps_per_s=round(steps / (h[-1][0] - t_first), 2) if t_first and h[-1][0] > t_first and steps else None)
        tail = (runs_dir/f'{n}.out').read_text(errors='replace')[-1500:]
        info[n]['output_tail'] = tail
        log(n, {k: v for k, v in info[n].items() if k != 'output_tail'}, '\n' + tail[-600:])
    return info

def pack(runs_dir: Path, out: Path, info: dict, slots: int, half: bool = False) -> list:
    "Each run's record and final weights (model only, in shards; float16 with `half`) into at most `slots` tar bundles of at most BUNDLE_MAX."
    import torch
    files = []   # (priority, run, arcname, bytes)
    for name, prio, _ in RUNS:
        d = runs_dir/name
        if not d.exists(): continue
        for f in ('config.json', 'execution.jsonl'):
            if (d/f).exists(): files.append((prio, name, f'{name}/{f}', (d/f).read_bytes()))
        if (d/'metrics.jsonl').exists():
            files.append((prio, name, f'{name}/metrics.jsonl.xz', lzma.compress((d/'metrics.jsonl').read_bytes())))
        files.append((prio, name, f'{name}/session.json', json.dumps(info.get(name, {}), indent=1).encode()))
        ck = d/'checkpoints'/'last.pt'
        if not ck.exists(): continue
        c = torch.load(ck, map_location='cpu', weights_only=True)
        shards, cur, size = [], {}, 0
        for k, v in c['state']['model'].items():
            if half and v.is_floating_point(): v = v.half()
            n = v.numel() * v.element_size()
            if cur and size + n > SHARD_MAX: shards.append(cur); cur, size = {}, 0
            cur[k] = v; size += n
        shards.append(cur)
        for i, s in enumerate(shards):
            buf = io.BytesIO()
            torch.save(dict(step=c['step'], config=c['config'], state=dict(model=s), shard=i, of=len(shards)), buf)
            files.append((prio, name, f'{name}/model-{i}.pt', buf.getvalue()))
    files.sort(key=lambda f: f[0])   # stable: a run's files stay together, the important runs first
    bundles, left = [[] for _ in range(slots)], []
    for f in files:   # first fit, in priority order
        for b in bundles:
            if sum(len(x[3]) for x in b) + len(f[3]) + 4096 * (len(b) + 2) <= BUNDLE_MAX: b.append(f); break
        else: left.append(f[2])
    made = []
    for i, b in enumerate(x for x in bundles if x):
        p = out/f'bundle-{i}.tar'
        with tarfile.open(p, 'w') as t:
            for _, _, arc, data in b:
                ti = tarfile.TarInfo(arc); ti.size = len(data); ti.mtime = int(time.time()); t.addfile(ti, io.BytesIO(data))
        made.append(dict(file=p.name, bytes=p.stat().st_size, members=[x[2] for x in b]))
    if left: log('NOT packed (no room):', left)
    return made, left

def unpack(src: Path, runs: Path):
    "The bundles of a session back into run folders: checkpoints/last.pt (model only), config, execution, metrics."
    import torch
    runs.mkdir(parents=True, exist_ok=True)
    for b in sorted(src.glob('bundle-*.tar')):
        with tarfile.open(b) as t: t.extractall(runs, filter='data')
    for d in sorted(p for p in runs.iterdir() if p.is_dir()):
        if (d/'metrics.jsonl.xz').exists():
            (d/'metrics.jsonl').write_bytes(lzma.decompress((d/'metrics.jsonl.xz').read_bytes())); (d/'metrics.jsonl.xz').unlink()
        shards = sorted(d.glob('model-*.pt'), key=lambda p: int(p.stem.split('-')[1]))
        if not shards: continue
        parts = [torch.load(p, weights_only=True) for p in shards]
        if len(parts) != parts[0]['of']: print(f"{d.name}: {len(parts)} of {parts[0]['of']} weight shards came back; left as is"); continue
        model = {k: v.float() if v.dtype == torch.float16 else v for p in parts for k, v in p['state']['model'].items()}   # float16 bundles back to float32
        (d/'checkpoints').mkdir(exist_ok=True)
        torch.save(dict(step=parts[0]['step'], config=parts[0]['config'], state=dict(model=model)), d/'checkpoints'/'last.pt')
        for p in shards: p.unlink()
        print(f"{d.name}: step {parts[0]['step']}, {len(model)} tensors")

def main():
    global LOG
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--data'); ap.add_argument('--vgg'); ap.add_argument('--out')
    ap.add_argument('--budget', type=float, default=540, help='seconds from start to the last file written')
    ap.add_argument('--device', default='cuda'); ap.add_argument('--tiny', action='store_true', help='a CPU rehearsal: tiny networks, 24 updates')
    ap.add_argument('--skip-bench', action='store_true'); ap.add_argument('--no-mps', action='store_true')
    ap.add_argument('--unpack'); ap.add_argument('--runs')
    ap.add_argument('--plan', choices=list(PLANS), default='v1', help='which runs: v1 (the first study) or v2 (seeds, flips, the remedy)')
    ap.add_argument('--only', help='comma-separated run names of the plan to train (default: all of it)')
    ap.add_argument('--half-weights', action='store_true', help='float16 weights in the bundles (twice as many runs per call)')
    a = ap.parse_args()
    global RUNS
    RUNS = PLANS[a.plan]()
    if a.only:
        want = a.only.split(','); unknown = [n for n in want if n not in {r[0] for r in RUNS}]
        if unknown: ap.error(f"--only: {unknown} are not runs of plan {a.plan}")
        RUNS = [r for r in RUNS if r[0] in want]
    if a.unpack: return unpack(Path(a.unpack), Path(a.runs))
    out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
    a.data, a.vgg = str(Path(a.data).resolve()), str(Path(a.vgg).resolve())
    LOG = open(out/'session.log', 'w')
    res = dict(started=time.strftime('%Y-%m-%d %H:%M:%S %Z'), budget_s=a.budget, tiny=a.tiny, device=a.device, plan=a.plan, runs_planned=[r[0] for r in RUNS])
    def save():
        (out/'results.json').write_text(json.dumps(res, indent=1, default=str))
    env = {**os.environ, 'OMP_NUM_THREADS': '1', 'PYTHONUNBUFFERED': '1', 'PYTHONWARNINGS': 'ignore',
           'DFCVAE_CACHE': '/tmp/dfcvae-cache', 'PYTHONPATH': os.pathsep.join(filter(None, [str(REPO), os.environ.get('PYTHONPATH')]))}
    cuda = a.device.startswith('cuda')
    _, res['nvidia_smi'] = sh('nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader' if cuda else 'lscpu | head -20', 20, env)
    _, res['versions'] = sh([sys.executable, '-c', 'import torch, torchvision, sys; print(sys.version.split()[0], torch.__version__, torchvision.__version__, torch.version.cuda, torch.backends.cudnn.version())'], 60, env)
    save()
    # 1. the CUDA checks (tests/test_cuda.py skips itself without a GPU)
    code, o = sh([sys.executable, '-m', 'pytest', '-q', '-p', 'no:cacheprovider', 'tests/test_cuda.py'], 150, env)
    res['cuda_checks'] = dict(returncode=code, output=o[-2500:]); save()
    # 2. the decoded-image cache, built once (the runs then share it), and MPS
    code, o = sh([sys.executable, '-c', f"from dfcvae.data import CelebA; d = CelebA({a.data!r}, 'all', size={32 if a.tiny else 64}, progress=False); print(len(d))"], 120, env)
    res['cache'] = dict(returncode=code, output=o[-500:])
    res['mps'] = start_mps(env) if cuda and not a.no_mps else False
    save()
    if a.plan == 'speed': speed_first(a, env, out, res, save, cuda)
    # 3. the trainings, to a deadline that leaves room for the benchmark and the packing
    runs_dir = Path('/tmp/gpu-runs'); shutil.rmtree(runs_dir, ignore_errors=True); runs_dir.mkdir(parents=True)
    reserve = 30 + (0 if a.skip_bench or a.plan == 'speed' else 80)
    res['runs'] = train_all(a, env, runs_dir, T0 + a.budget - reserve, res); save()
    if res['mps']: subprocess.run('echo quit | nvidia-cuda-mps-control', shell=True, env=env, timeout=20); env.pop('CUDA_MPS_PIPE_DIRECTORY', None)
    # 4. the bundles: the runs' weights and records
    res['bundles'], res['not_packed'] = pack(runs_dir, out, res['runs'], slots=6, half=a.half_weights); save()
    # 5. the benchmark (the GPU is free now), in the time that is left
    if not a.skip_bench and a.plan != 'speed':
        left = T0 + a.budget - time.time() - 10
        if left > 25:
            res['bench'] = run_bench(a, env, out, 'toshikwa,default,fp32,fp32_nchw', '30' if cuda else '3', int(left))
        else: res['bench'] = f'skipped: {left:.0f}s left'
    res['seconds'] = round(time.time() - T0, 1); save()
    log('done in', res['seconds'], 's')

def run_bench(a, env, out: Path, variants: str, iters: str, timeout: int) -> dict:
    "benchmarks/bench_train_step.py with these variants, in a process of its own: its command, output and rows (its JSON file read and removed)."
    bench = ['--device', a.device, '--variants', variants, '--iters', iters, '--vgg-weights', a.vgg, '--json', str(out/'bench.jsonl')]
    code, o = sh([sys.executable, str(HERE/'bench_train_step.py'), *bench], timeout, env)
    r = dict(returncode=code, output=o[-6000:], command='python benchmarks/bench_train_step.py ' + ' '.join(bench))
    if (out/'bench.jsonl').exists():
        r['rows'] = [json.loads(l) for l in (out/'bench.jsonl').read_text().splitlines() if l.strip()]; (out/'bench.jsonl').unlink()
    return r

def speed_first(a, env, out: Path, res: dict, save, cuda: bool):
    "--plan speed: the step benchmark (the GPU free), then one paper-length dfcvae run alone, timed."
    if not a.skip_bench:
        res['bench'] = run_bench(a, env, out, SPEED_VARIANTS, '30' if cuda else '2', 240); save()
    solo = Path('/tmp/gpu-solo'); shutil.rmtree(solo, ignore_errors=True)
    cmd = [sys.executable, '-m', 'dfcvae.train', '--out', str(solo), '--preset', 'dfcvae', '--data', a.data, '--vgg-weights', a.vgg,
           '--vgg-convention', 'caffe', '--device', a.device, '--quiet', '--checkpoint-every', '5000', '--log-every', '50'] + (TINY if a.tiny else [])
    t = time.time(); code, o = sh(cmd, 150, env); wall = time.time() - t
    r = dict(returncode=code, wall_s=round(wall, 1), output=o[-1500:])
    if (solo/'metrics.jsonl').exists() and (solo/'execution.jsonl').exists():
        rows = [json.loads(l) for l in (solo/'metrics.jsonl').read_text().splitlines() if l.strip()]
        ex = json.loads((solo/'execution.jsonl').read_text().splitlines()[0])
        r.update(steps=rows[-1]['step'], execution=ex, train_s=round(rows[-1]['time'] - ex['time'], 1), startup_s=round(ex['time'] - t, 1),
                 first_logged_s=round(rows[0]['time'] - ex['time'], 1))
        log(f"solo: {r['steps']} updates, {r['train_s']} s of training after {r['startup_s']} s of start-up (wall {r['wall_s']} s)")
    res['solo'] = r; save()


if __name__ == '__main__':
    main()
