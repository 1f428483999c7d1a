"""Benchmark of one full DFC-VAE training step (the `paper` preset: batch 64, 64x64, VGG19 relu1_2/relu2_1/relu3_1).

    python benchmarks/bench_train_step.py [--device cpu|cuda] [--iters 10] [--variants eager,cl,bf16,bf16_cl,compile,compile_bf16_cl]

For each variant, in a fresh process: median seconds per step (after warm-up), images/s, achieved GFLOP/s and its share of
the peak measured in the same run, and peak memory (CPU: the resident-set high-water mark of the variant's
process, Python and torch included; CUDA: torch.cuda.max_memory_allocated). The FLOPs of one step (forward and backward of the VAE, the loss
network on both images, its backward to the reconstruction) come from the layer shapes through torch's own
`torch.utils.flop_counter.FlopCounterMode`, counted once in fp32 eager mode; every variant does the same arithmetic.
The peak is a large VGG-like convolution (256 -> 256 channels, 3x3, 32x32 maps, batch 64, forward) timed in the same
precision and memory layout as the variant. Variants:

    eager            fp32, NCHW
    cl               fp32, channels-last (NHWC)
    bf16             bfloat16 autocast of the forward passes (weights and optimiser fp32)
    bf16_cl          bfloat16 autocast + channels-last (what `--precision bf16 --channels-last` trains with)
    compile          torch.compile of model + loss (fp32); compile time reported separately
    compile_bf16_cl  torch.compile + bf16 + channels-last

The loss network has random weights by default (the arithmetic does not depend on them); --vgg-weights FILE uses a file.
Numbers are medians; the machine may be shared, so run it alone and quote ratios.
"""
import argparse, contextlib, json, os, resource, statistics, subprocess, sys, time, warnings
import torch

VARIANTS = ['eager', 'cl', 'bf16', 'bf16_cl', 'compile', 'compile_bf16_cl']


def build(device, variant, vgg_weights):
    from dfcvae.train import get_config, build_updater
    cl, bf16 = 'cl' in variant.split('_'), 'bf16' in variant
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        cfg = get_config('paper', vgg_weights=vgg_weights, precision='bf16' if bf16 else 'fp32', channels_last=cl)
        step = build_updater(cfg, device)   # one optimiser update per call
    if variant.startswith('compile'):   # the step object is unchanged; its model and loss become compiled modules
        step.model, step.loss = torch.compile(step.model), torch.compile(step.loss)
    return step, cl, bf16


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


def step_flops(device, vgg_weights):
    from torch.utils.flop_counter import FlopCounterMode
    step, _, _ = build(device, 'eager', vgg_weights)
    x = torch.rand(64, 3, 64, 64, device=device)
    with FlopCounterMode(display=False) as fc: step(x)
    return fc.get_total_flops()


def run_variant(device, variant, iters, vgg_weights):
    device = torch.device(device)
    x = torch.rand(64, 3, 64, 64, device=device)
    t = time.perf_counter()
    step, cl, bf16 = build(device, variant, vgg_weights)
    if cl: x = x.contiguous(memory_format=torch.channels_last)
    if device.type == 'cuda': torch.cuda.reset_peak_memory_stats()
    step(x); sync(device); first = time.perf_counter() - t            # includes compilation for compiled variants
    step(x); sync(device)
    times = []
    for _ in range(iters):
        sync(device); t = time.perf_counter(); step(x); sync(device); times.append(time.perf_counter() - t)
    mem = (torch.cuda.max_memory_allocated() / 2**20 if device.type == 'cuda'
           else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return dict(variant=variant, median_s=statistics.median(times), min_s=min(times), first_s=first, peak_mb=mem,
                peak_gflops=peak_gflops(device, cl, bf16), times=times)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    p.add_argument('--iters', type=int, default=10, help='timed steps per variant (after 2 warm-up steps)')
    p.add_argument('--variants', default=','.join(VARIANTS), help=f"comma-separated, from {VARIANTS}")
    p.add_argument('--vgg-weights', default='random', help="loss-network weights: 'random' (default) or a state_dict file")
    p.add_argument('--one', help=argparse.SUPPRESS)   # internal: run one variant in this process, print JSON
    a = p.parse_args()
    if a.one:
        print(json.dumps(run_variant(a.device, a.one, a.iters, a.vgg_weights))); return
    bad = [v for v in a.variants.split(',') if v not in VARIANTS]
    if bad: p.error(f"--variants: unknown {bad}; choose from {VARIANTS}")
    dev = torch.device(a.device)
    name = torch.cuda.get_device_name(dev) if dev.type == 'cuda' else f"CPU, {os.cpu_count()} cores, {torch.get_num_threads()} torch threads"
    flops = step_flops(dev, a.vgg_weights)
    print(f"device: {name}; torch {torch.__version__}")
    print(f"one training step (batch 64, 64x64): {flops / 1e9:.1f} GFLOP (torch FlopCounterMode, fp32 eager)")
    print(f"{'variant':>16} | {'s/step':>7} | {'images/s':>8} | {'GFLOP/s':>8} | {'peak GFLOP/s':>12} | {'% of peak':>9} | {'first step s':>12} | {'peak MB':>8}")
    base = None
    for v in a.variants.split(','):
        r = subprocess.run([sys.executable, __file__, '--device', a.device, '--iters', str(a.iters), '--vgg-weights', a.vgg_weights,
                            '--one', v], capture_output=True, text=True)
        if r.returncode != 0:
            print(f"{v:>16} | failed: {r.stderr.strip().splitlines()[-1] if r.stderr.strip() else r.returncode}"); continue
        res = json.loads(r.stdout.strip().splitlines()[-1])
        s = res['median_s']; g = flops / s / 1e9; base = base or s
        print(f"{v:>16} | {s:7.3f} | {64 / s:8.1f} | {g:8.1f} | {res['peak_gflops']:12.1f} | {100 * g / res['peak_gflops']:8.0f}% | "
              f"{res['first_s']:12.1f} | {res['peak_mb']:8.0f}   (x{base / s:.2f} vs first variant; steps: "
              f"{', '.join(f'{t:.2f}' for t in res['times'])})", flush=True)


if __name__ == '__main__':
    main()
