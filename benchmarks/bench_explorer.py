"""Benchmark of one update of the latent explorer (dfcvae.explorer) on this machine.

    python benchmarks/bench_explorer.py [--model dfcvae-123] [--n 50] [--threads 1]

An update is what a slider's move ends in: the code is formed from the controls, one 64x64 face is decoded and drawn
as PNG, and the strip of the path (8 faces) is decoded and drawn. The gallery's codes are encoded once, when the
explorer is built, so no update encodes. Prints the median and spread of the face's time (the part the user waits
for, targeted under 100 ms) and of the whole update; the machine is shared, so quote medians.
"""
import argparse, statistics, time, os
import torch
from dfcvae.explorer import explore

p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
p.add_argument('--model', default='dfcvae-123', help='a shipped model')
p.add_argument('--n', type=int, default=50, help='timed updates')
p.add_argument('--threads', type=int, default=1, help='torch threads')
a = p.parse_args()
torch.set_num_threads(a.threads)
ex = explore(a.model, debounce=0)
whole = []
for i in range(a.n):
    t = time.perf_counter(); ex.sliders['Smiling'].value = round(-3 + 6 * (i % 31) / 30, 1)
    whole.append(time.perf_counter() - t)
face = ex.update_times[-a.n:]
ms = lambda v: f"median {1e3 * statistics.median(v):.1f} ms (min {1e3 * min(v):.1f}, max {1e3 * max(v):.1f})"
print(f"explorer update, {a.model}, {a.threads} torch thread(s), {os.cpu_count()} cores, torch {torch.__version__}, {a.n} updates:\n"
      f"  the face (code, decode, PNG): {ms(face)}\n  the whole update (face, path strip of 8, widgets): {ms(whole)}")
