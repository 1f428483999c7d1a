"""Benchmark of one full DFC-VAE training step (the `paper` preset: batch 64, 64x64, VGG19 relu1_2/relu2_1/relu3_1),
against the step of the closest PyTorch peer (toshikwa/vae.pytorch, re-implemented in `peers.py`), in the same run.

    python benchmarks/bench_train_step.py [--device cpu|cuda] [--iters 10] [--variants toshikwa,default,fp32,...]
    python benchmarks/bench_train_step.py --scaling [--batch-sizes 16,32,64,128,256] [--threads 1,2]

Each variant runs in a fresh process, interleaved with the others `--rounds` times (this machine is shared, so the
variants see the same noise), and reports: the median seconds per step (after warm-up), images/s, achieved GFLOP/s and
its share of the convolution peak measured in the same process (a 256 -> 256 3x3 convolution, 32x32 maps, batch 64, in the
variant's precision and layout, measured after the steps with malloc='keep', its fastest form), the first step
(compilation included), and peak memory (CPU: the process's resident-set high-water mark, VmHWM, Python and torch
included; CUDA: torch.cuda.max_memory_allocated).

FLOPs come from torch's `FlopCounterMode` on one fp32 eager step. GFLOP/s and the shares of the peak use the *model*
FLOPs: the arithmetic of the step as the paper's network defines it, counted with the decoder's literal modules
(upsample, pad, 3x3 convolution: `set_fused(model, False)`). dfcvae's fused decoder (`up_conv`, 02_model) computes the
same function with fewer multiplications; the table also gives the share of the peak of the FLOPs it executes.

Variants:

    toshikwa      the peer's step as its code runs it: its VAE, its VGG19 loss (all of vgg19.features, conv1_1 .. pool5,
                  on both images, although its loss reads only relu1_1, relu2_1, relu3_1), Adam, fp32, NCHW
    toshikwa_cut  the same with the loss network cut after relu3_1: the fairer comparison of the remaining work
    toshikwa_keep the peer's step as written, in a process with glibc's malloc set as dfcvae's default sets it
                  (malloc='keep'): the share of our speed-up that is the allocator, which any code would get
    default     what `dfcvae_train` does with no execution option: precision, layout and CUDA graph as the device's
                DEVICE_DEFAULTS say (CPU: bf16 where native, channels-last; CUDA: fp32, NCHW, the update as one CUDA
                graph), malloc='keep' (freed memory kept in the process; the command's default, CLI_DEFAULTS), the fused decoder
    eager       the default without the CUDA graph (--graph off)
    graph_bf16  --graph on --precision bf16 --no-channels-last
    graph_bf16_cl --graph on --precision bf16 --channels-last
    graph_fp32_cl --graph on --precision fp32 --channels-last
                (on a CPU the graph variants run `GraphedUpdate` with its CPU stand-in, `CpuRehearsal`: a rehearsal of
                the code path, not a timing of anything a GPU does)
    fp32        --precision fp32 (channels-last)
    fp32_system --precision fp32 --malloc system (glibc's malloc as the process has it)
    fp32_literal --precision fp32 with the decoder's literal modules (set_fused(model, False))
    fp32_nchw   --precision fp32 --no-channels-last --malloc system, literal decoder (the default before issue 10)
    bf16        --precision bf16 (channels-last)
    compile     the default with --compile (torch.compile; the first step includes compilation)

The loss network has random weights by default (the arithmetic does not depend on them); --vgg-weights FILE uses a file.
Numbers are medians; quote ratios measured in one run.
"""
import argparse, contextlib, json, os, resource, statistics, subprocess, sys, time, warnings
import torch

VARIANTS = {
    'toshikwa': None,       # their step as written: all of vgg19.features on both images
    'toshikwa_cut': None,   # their step with the loss network cut after relu3_1, as ours is (their code does not cut it)
    'toshikwa_keep': None,  # their step as written, with glibc's malloc set as dfcvae sets it
    'default': dict(),
    'eager': dict(graph='off'),
    'graph_bf16': dict(graph='on', precision='bf16', channels_last=False),
    'graph_bf16_cl': dict(graph='on', precision='bf16', channels_last=True),
    'graph_fp32_cl': dict(graph='on', precision='fp32', channels_last=True),
    'fp32': dict(precision='fp32', channels_last=True, graph='off'),
    'fp32_system': dict(precision='fp32', channels_last=True, graph='off', malloc='system'),
    'fp32_literal': dict(precision='fp32', channels_last=True, graph='off'),
    'fp32_nchw': dict(precision='fp32', channels_last=False, graph='off', malloc='system'),
    'bf16': dict(precision='bf16', channels_last=True, graph='off'),
    'compile': dict(compile=True),
}
HERE = os.path.dirname(os.path.abspath(__file__))
LITERAL = ('fp32_literal', 'fp32_nchw')   # variants that run the decoder's literal modules


def build(device, variant, vgg_weights, bs):
    "(step, config or None): a callable making one optimiser update on a batch, as the variant trains."
    if variant.startswith('toshikwa'):
        sys.path.insert(0, HERE)
        from peers import PEERS
        if variant == 'toshikwa_keep':
            from dfcvae.execution import set_malloc
            set_malloc('keep')
        return PEERS['toshikwa'](device, vgg_weights, truncate_vgg=variant == 'toshikwa_cut'), None
    from dfcvae.config import get_config, CLI_DEFAULTS
    from dfcvae.execution import set_malloc
    from dfcvae.loop import build_updater, GraphedUpdate, CpuRehearsal
    from dfcvae.execution import resolve_graph
    from dfcvae.model import set_fused
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        cfg = get_config('paper', vgg_weights=vgg_weights, bs=bs, **{**CLI_DEFAULTS, **VARIANTS[variant]})   # as dfcvae_train runs it
        set_malloc(cfg.malloc)   # as make_trainer does, before the run allocates
        up = build_updater(cfg, device)
    set_fused(up.model, variant not in LITERAL)
    if cfg.compile: up.compile()
    if resolve_graph(cfg.graph, device, 1, cfg.compile)[0]: up = GraphedUpdate(up, device)   # as make_trainer does
    elif cfg.graph == 'on' and device.type == 'cpu': up = GraphedUpdate(up, device, backend=CpuRehearsal())   # the code path, rehearsed
    return up, cfg


def sync(device):
    if device.type == 'cuda': torch.cuda.synchronize()


def peak_gflops(device, cl, bf16, iters=10):
    "GFLOP/s of a large VGG-like 3x3 convolution (forward), in the variant's precision and layout."
    conv = torch.nn.Conv2d(256, 256, 3, padding=1).to(device)
    x = torch.randn(64, 256, 32, 32, device=device)
    if cl: conv, x = conv.to(memory_format=torch.channels_last), x.contiguous(memory_format=torch.channels_last)
    flops = 2 * 64 * 256 * 256 * 9 * 32 * 32
    ctx = torch.autocast(device.type, dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()
    times = []
    with torch.no_grad(), ctx:
        for i in range(iters + 2):
            sync(device); t = time.perf_counter(); conv(x); sync(device)
            if i >= 2: times.append(time.perf_counter() - t)
    return flops / statistics.median(times) / 1e9


def step_flops(device, variant, vgg_weights, bs, literal=True):
    """FLOPs of one fp32 eager step of `variant`; for dfcvae, with the decoder's literal modules (the model FLOPs, the
    default) or with its fused form (`literal=False`: the FLOPs it executes)."""
    from torch.utils.flop_counter import FlopCounterMode
    base = variant if variant.startswith('toshikwa') else 'fp32_nchw' if literal else 'fp32'
    step, _ = build(torch.device(device), base, vgg_weights, bs)
    x = torch.rand(bs, 3, 64, 64, device=device)
    with FlopCounterMode(display=False) as fc: step(x)
    return fc.get_total_flops()


def run_variant(device, variant, iters, vgg_weights, bs, threads):
    "One variant in this process: its timings, memory and the peak in its precision and layout (a dict)."
    if threads: torch.set_num_threads(threads)
    device = torch.device(device)
    x = torch.rand(bs, 3, 64, 64, device=device)
    t = time.perf_counter()
    step, cfg = build(device, variant, vgg_weights, bs)
    bf16 = False
    cl = graph = False
    if cfg is not None:
        from dfcvae.execution import resolve_precision, resolve_layout
        bf16 = resolve_precision(cfg.precision, device)[0] == 'bf16'
        cl, graph = resolve_layout(cfg.channels_last, device)[0], hasattr(step, 'replay')
        if cl: x = x.contiguous(memory_format=torch.channels_last)
    if device.type == 'cuda': torch.cuda.reset_peak_memory_stats()
    step(x); sync(device); first = time.perf_counter() - t            # includes compilation for compiled variants
    step(x); sync(device)
    times = []
    for _ in range(iters):
        sync(device); t = time.perf_counter(); step(x); sync(device); times.append(time.perf_counter() - t)
    mem = torch.cuda.max_memory_allocated() / 2**20 if device.type == 'cuda' else peak_rss_mb()
    from dfcvae.execution import set_malloc
    set_malloc('keep')   # the peak in its fastest form, whatever the variant ran with
    if graph and getattr(step, 'failed', None): raise SystemExit(f"{variant}: the CUDA graph was not captured: {step.failed}")
    return dict(variant=variant, bs=bs, threads=torch.get_num_threads(), median_s=statistics.median(times), times=times,
                first_s=first, peak_mb=mem, bf16=bf16, cl=cl, graph=graph, peak_gflops=peak_gflops(device, cl, bf16),
                peak_fp32_gflops=peak_gflops(device, True, False))


def peak_rss_mb():
    """This process's resident-set high-water mark in MB: VmHWM from /proc/self/status (Linux), which starts afresh at
    exec. (getrusage's ru_maxrss does not: a child started by fork + exec inherits its parent's peak as a floor.)"""
    try:
        with open('/proc/self/status') as f:
            return next(int(l.split()[1]) for l in f if l.startswith('VmHWM:')) / 1024
    except (OSError, StopIteration, ValueError): return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def device_name(dev):
    if dev.type == 'cuda': return torch.cuda.get_device_name(dev)
    model = next((l.split(':', 1)[1].strip() for l in open('/proc/cpuinfo') if l.startswith('model name')), 'CPU') if os.path.exists('/proc/cpuinfo') else 'CPU'
    return f"{model}, {os.cpu_count()} cores, {torch.get_num_threads()} torch threads"


def one(a, variant, bs, threads):
    "Run one variant in a fresh process; its result dict, or None (the failure is printed)."
    cmd = [sys.executable, __file__, '--device', a.device, '--iters', str(a.iters), '--vgg-weights', a.vgg_weights,
           '--one', variant, '--bs', str(bs), '--one-threads', str(threads or 0)]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        print(f"{variant:>10} | failed: {r.stderr.strip().splitlines()[-1] if r.stderr.strip() else r.returncode}", flush=True); return None
    return json.loads(r.stdout.strip().splitlines()[-1])


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    p.add_argument('--iters', type=int, default=10, help='timed steps per variant and round (after 2 warm-up steps)')
    p.add_argument('--rounds', type=int, default=1, help='times each variant is run, interleaved with the others')
    p.add_argument('--variants', default=','.join(VARIANTS), help=f"comma-separated, from {list(VARIANTS)}")
    p.add_argument('--vgg-weights', default='random', help="loss-network weights: 'random' (default) or a state_dict file")
    p.add_argument('--scaling', action='store_true', help='the default variant against batch size and threads instead')
    p.add_argument('--batch-sizes', default='16,32,64,128,256')
    p.add_argument('--threads', default='1,2', help="torch threads for --scaling ('0': torch's default)")
    p.add_argument('--json', help='also write every result to this file (one JSON object per line)')
    p.add_argument('--bs', type=int, default=64, help=argparse.SUPPRESS)
    p.add_argument('--one', help=argparse.SUPPRESS)   # internal: run one variant in this process, print JSON
    p.add_argument('--one-threads', type=int, default=0, help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.one:
        print(json.dumps(run_variant(a.device, a.one, a.iters, a.vgg_weights, a.bs, a.one_threads))); return
    variants = a.variants.split(',')
    bad = [v for v in variants if v not in VARIANTS]
    if bad: p.error(f"--variants: unknown {bad}; choose from {list(VARIANTS)}")
    dev = torch.device(a.device)
    print(f"device: {device_name(dev)}; torch {torch.__version__}")
    results = []
    if a.scaling:
        flops64 = step_flops(dev, 'default', a.vgg_weights, 64)
        print(f"the default variant; one step of batch 64: {flops64 / 1e9:.1f} GFLOP (FLOPs scale with the batch)")
        print(f"{'batch':>5} | {'threads':>7} | {'s/step':>7} | {'images/s':>8} | {'GFLOP/s':>8} | {'peak MB':>8}")
        for threads in [int(t) for t in a.threads.split(',')]:
            for bs in [int(b) for b in a.batch_sizes.split(',')]:
                res = one(a, 'default', bs, threads)
                if res is None: continue
                results.append(res); s = res['median_s']
                print(f"{bs:5d} | {res['threads']:7d} | {s:7.3f} | {bs / s:8.1f} | {flops64 * bs / 64 / s / 1e9:8.1f} | {res['peak_mb']:8.0f}", flush=True)
    else:
        key = lambda v: ('toshikwa_cut' if v == 'toshikwa_cut' else 'toshikwa') if v.startswith('toshikwa') else 'dfcvae'
        flops, executed = {}, {}
        for v in variants:
            if key(v) not in flops: flops[key(v)] = executed[key(v)] = step_flops(dev, v, a.vgg_weights, 64)
        if 'dfcvae' in flops: executed['dfcvae'] = step_flops(dev, 'fp32', a.vgg_weights, 64, literal=False)
        for k, f in flops.items(): print(f"one training step of {k} (batch 64, 64x64): {f / 1e9:.1f} GFLOP (FlopCounterMode, fp32 eager)"
                                         + (f"; the fused decoder executes {executed[k] / 1e9:.1f} GFLOP of them" if executed[k] != f else ''))
        runs = {v: [] for v in variants}
        for _ in range(a.rounds):
            for v in variants:
                res = one(a, v, 64, 0)
                if res is not None: runs[v].append(res)
        peers = [v for v in variants if v.startswith('toshikwa') and runs[v]]
        print(f"{'variant':>12} | {'s/step':>7} | {'images/s':>8} | " + ''.join(f"{'vs ' + q:>15} | " for q in peers) +
              f"{'GFLOP/s':>8} | {'% of its peak':>13} | {'% of fp32 peak':>14} | {'executed, %':>11} | {'first step s':>12} | {'peak MB':>8}")
        med = {v: statistics.median([t for r in runs[v] for t in r['times']]) for v in variants if runs[v]}
        for v in variants:
            if not runs[v]: continue
            s, n = med[v], sum(len(r['times']) for r in runs[v])
            g, ge = flops[key(v)] / s / 1e9, executed[key(v)] / s / 1e9
            peak, peak32 = statistics.median(r['peak_gflops'] for r in runs[v]), statistics.median(r['peak_fp32_gflops'] for r in runs[v])
            first, mem = max(r['first_s'] for r in runs[v]), max(r['peak_mb'] for r in runs[v])
            results.append(dict(variant=v, median_s=s, images_s=64 / s, gflops=g, gflops_executed=ge, peak_gflops=peak, peak_fp32_gflops=peak32, first_s=first,
                                peak_mb=mem, bf16=runs[v][0]['bf16'], cl=runs[v][0]['cl'], graph=runs[v][0].get('graph', False), steps=n, **{f'x_{q}': med[q] / s for q in peers}))
            print(f"{v:>12} | {s:7.3f} | {64 / s:8.1f} | " + ''.join(f"{f'x{med[q] / s:.2f}':>15} | " for q in peers) +
                  f"{g:8.1f} | {100 * g / peak:12.0f}% | {100 * g / peak32:13.0f}% | {100 * ge / peak32:10.0f}% | {first:12.1f} | {mem:8.0f}"
                  f"   ({'bf16' if runs[v][0]['bf16'] else 'fp32'}, {'channels-last' if runs[v][0]['cl'] else 'NCHW'}{', CUDA graph' if runs[v][0].get('graph') else ''}; {n} steps)", flush=True)
    if a.json:
        with open(a.json, 'w') as fh:
            for r in results: fh.write(json.dumps(dict(device=device_name(dev), torch=torch.__version__, **r)) + '\n')


if __name__ == '__main__':
    main()
