"""Benchmark of the data pipeline: cache build speed and batch draw time on CPU.

    python benchmarks/bench_data.py --data /path/to/celeba [--repeats 3]

Prints images/s for building the decoded cache (a fresh cache folder each repeat), the time to compute the cache key
(file names, sizes and modification times: what every use of the cache pays) against hashing every image's contents
(what a content-keyed cache would pay on every use), and the median time to draw one training batch
(64 x 3 x 64 x 64 floats) from the cache. Numbers are medians over repeats; the machine is shared.
"""
import argparse, hashlib, os, statistics, tempfile, time
import torch
from dfcvae.data import CelebA, read_celeba, build_cache, cache_key
from dfcvae.batches import Batches

p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
p.add_argument('--data', default=os.environ.get('DFCVAE_DATA'), help='CelebA folder (default $DFCVAE_DATA)')
p.add_argument('--repeats', type=int, default=3, help='cache builds to time')
p.add_argument('--bs', type=int, default=64, help='batch size')
p.add_argument('--workers', type=int, default=None, help='decoding threads (default: all cores)')
a = p.parse_args()
if not a.data: p.error('--data (or DFCVAE_DATA) is required: the benchmark runs on real images')

idx = read_celeba(a.data); n = len(idx.fnames)
print(f"{n} images in {a.data}; torch {torch.__version__}, {os.cpu_count()} cores, {torch.get_num_threads()} torch threads")
rates = []
for r in range(a.repeats):
    with tempfile.TemporaryDirectory() as d:
        t = time.perf_counter()
        build_cache(idx.root/'img_align_celeba', idx.fnames, cache_dir=d, workers=a.workers, progress=False)
        rates.append(n / (time.perf_counter() - t))
print(f"cache build: median {statistics.median(rates):.0f} images/s over {a.repeats} builds (all: {', '.join(f'{x:.0f}' for x in rates)})")

imgdir, key_t, hash_t = idx.root/'img_align_celeba', [], []
for r in range(a.repeats):
    t = time.perf_counter(); cache_key(imgdir, idx.fnames, 'authors', 64); key_t.append(time.perf_counter() - t)
    t = time.perf_counter(); h = hashlib.blake2b()
    for f in idx.fnames: h.update((imgdir/f).read_bytes())
    hash_t.append(time.perf_counter() - t)
mb = sum((imgdir/f).stat().st_size for f in idx.fnames) / 2**20
print(f"cache key (names, sizes, mtimes): median {1000 * statistics.median(key_t):.0f} ms; hashing the contents ({mb:.0f} MB, "
      f"blake2b, files in the page cache): median {1000 * statistics.median(hash_t):.0f} ms, "
      f"{statistics.median(hash_t) / statistics.median(key_t):.0f}x the key")

with tempfile.TemporaryDirectory() as d:
    ds = CelebA(a.data, split='all', cache_dir=d, progress=False)
    t = time.perf_counter(); CelebA(a.data, split='all', cache_dir=d, progress=False)
    print(f"cache reuse (open an existing cache): {1000 * (time.perf_counter() - t):.0f} ms")
    bt = Batches(ds, bs=a.bs, seed=0)
    times = []
    for e in range(3):
        it = bt.epoch(e); t = time.perf_counter()
        for x, _ in it:
            times.append(time.perf_counter() - t); t = time.perf_counter()
    print(f"batch draw ({a.bs} x 3 x 64 x 64 float32 on CPU): median {1000 * statistics.median(times):.2f} ms, "
          f"{a.bs / statistics.median(times):.0f} images/s, over {len(times)} batches")
