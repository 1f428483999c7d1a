"""CUDA checks, skipped where torch sees no GPU (CI has none; `benchmarks/gpu_session.py` runs them on one first).

A few updates on the GPU with bf16 autocast, channels-last and resident batches, each verified from the trainer's own
state; and a run stopped half way and resumed that ends bit-identical (weights, optimiser state, logged losses) to an
uninterrupted one, with deterministic kernels asked for, as the CPU fault tests do on the CPU."""
import json, os, warnings
import pytest
import torch

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason='no CUDA device')

from dfcvae.config import get_config
from dfcvae.train import make_trainer


def tiny(**kw):
    return get_config('tiny', epochs=100, checkpoint_every=4, **kw)


def quiet_trainer(cfg, out, resume=False):
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')   # the notices that the faces are synthetic and the loss network random
        return make_trainer(cfg, out, resume=resume, device='cuda', progress=False)


def test_a_few_updates_on_cuda_use_bf16_channels_last_and_resident_batches(tmp_path):
    tr = quiet_trainer(tiny(max_steps=6, precision='auto', channels_last=True), tmp_path/'run')
    before = {k: v.detach().clone() for k, v in tr.updater.model.state_dict().items()}
    tr.fit()
    assert tr.step == 6
    ex = tr.execution
    assert ex['device'].startswith('cuda') and ex['precision_used'] == 'bf16', ex          # auto chose bf16 autocast
    assert tr.batches.images is not None and tr.batches.images.is_cuda                    # the images live on the GPU
    convs = [m for m in tr.updater.model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert convs and all(m.weight.is_contiguous(memory_format=torch.channels_last) for m in convs)
    after = tr.updater.model.state_dict()
    assert all(v.is_cuda for v in after.values())
    assert any(not torch.equal(before[k], after[k]) for k in before if before[k].is_floating_point())   # it learned
    rows = [json.loads(l) for l in (tmp_path/'run'/'metrics.jsonl').read_text().splitlines()]
    assert [r['step'] for r in rows] == list(range(1, 7))
    assert all(torch.isfinite(torch.tensor(r['loss'])) for r in rows)


def final(out):
    ck = torch.load(out/'checkpoints'/'last.pt', weights_only=True, map_location='cpu')
    rows = [{k: v for k, v in json.loads(l).items() if k != 'time'} for l in (out/'metrics.jsonl').read_text().splitlines()]
    return ck, rows


def test_resume_on_cuda_ends_bit_identical(tmp_path, monkeypatch):
    monkeypatch.setenv('CUBLAS_WORKSPACE_CONFIG', ':4096:8')
    was = torch.are_deterministic_algorithms_enabled(), torch.backends.cudnn.benchmark
    torch.use_deterministic_algorithms(True); torch.backends.cudnn.benchmark = False
    try:
        quiet_trainer(tiny(max_steps=12), tmp_path/'straight').fit()
        quiet_trainer(tiny(max_steps=6), tmp_path/'hit').fit()
        tr = quiet_trainer(tiny(max_steps=12), tmp_path/'hit', resume=True)
        assert tr.step == 6                                            # it really resumed half way
        tr.fit()
    finally:
        torch.use_deterministic_algorithms(was[0]); torch.backends.cudnn.benchmark = was[1]
    (a, ma), (b, mb) = final(tmp_path/'straight'), final(tmp_path/'hit')
    assert a['step'] == b['step'] == 12
    for k, v in a['state']['model'].items(): assert torch.equal(v, b['state']['model'][k]), k
    oa, ob = a['state']['opt']['state'], b['state']['opt']['state']
    for i in oa:
        for k, v in oa[i].items(): assert torch.equal(v, ob[i][k]), (i, k)
    assert ma == mb
