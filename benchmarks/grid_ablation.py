"""The grid's cause (issue 29): measure `grid_peaks` on run folders that differ in one thing each, and write one JSON.

    python benchmarks/grid_ablation.py --data CELEBA --runs RUNS_FOLDER NAME [NAME ...] --out nbs/results/grid_ablation.json

Each NAME is a run folder under RUNS_FOLDER. For each: N(0, I) samples at T = 1 and 0.4 (the same z for every run),
and the reconstructions (from mu) of the validation faces (and their mean squared error), all judged against the validation faces, decoded in fp32
with the model in eval mode; the run's config fields that differ from the first run's; its updates; the last logged
loss terms. The validation split only: the test faces choose nothing and are measured once, elsewhere.
"""
import argparse, json, platform, time, warnings
from pathlib import Path
import numpy as np
import torch
from dfcvae.train import load_run
from dfcvae.config import config_to_dict
from dfcvae.data import CelebA
from dfcvae.runs import read_metrics
from dfcvae.latents import reconstruct, decode_latents
from dfcvae.metrics import grid_peaks

def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--data', required=True); p.add_argument('--runs', required=True); p.add_argument('names', nargs='+')
    p.add_argument('--out', required=True); p.add_argument('--seed', type=int, default=0)
    a = p.parse_args()
    with warnings.catch_warnings():
        warnings.simplefilter('ignore'); val = CelebA(a.data, split='val', progress=False)
    x = val.take(np.arange(len(val))).float().div(255)
    res, first = {}, None
    for name in a.names:
        t0 = time.time()
        model, cfg = load_run(Path(a.runs)/name)
        c = config_to_dict(cfg); c.pop('data', None); c.pop('vgg_weights', None); first = first or c
        z = torch.randn(len(x), cfg.z_dim, generator=torch.Generator().manual_seed(a.seed))
        m = read_metrics(Path(a.runs)/name)
        res[name] = dict(differs={k: v for k, v in c.items() if first.get(k) != v and k not in ('dfcvae_version',)},
                         updates=m['step'][-1], last_terms={k: m[k][-1] for k in ('loss', 'kl', 'l_rec') if k in m},
                         grid={f'T={t:g}': grid_peaks(decode_latents(model, t * z), x) for t in (1.0, 0.4)})
        rec = reconstruct(model, x)
        res[name]['grid']['reconstructions'] = grid_peaks(rec, x)
        res[name]['recon_mse'] = float((rec - x).pow(2).mean())
        res[name]['grid']['reconstructions']['n'] = len(x)
        print(name, {k: round(v['grid'], 2) for k, v in res[name]['grid'].items()}, f"({time.time() - t0:.0f} s)", flush=True)
    half = grid_peaks(x[::2], x[1::2])
    with warnings.catch_warnings():
        warnings.simplefilter('ignore'); train = CelebA(a.data, split='train', progress=False)
    real = grid_peaks(train.take(np.arange(len(x))).float().div(255), x)   # as many real training faces as the runs' images: the measure's noise at this n
    out = dict(machine=f"{platform.machine()} CPU, {torch.get_num_threads()} threads", split='val', n=len(x), real_half_against_half=half,
               real_train_against_val=real, runs=res)
    Path(a.out).write_text(json.dumps(out, indent=1) + '\n')

if __name__ == '__main__': main()
