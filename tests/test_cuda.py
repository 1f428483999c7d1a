"""CUDA checks, skipped where torch sees no GPU (CI has none; `benchmarks/gpu_session.py` runs them on one first).

A few updates on the GPU with the device's defaults (the update as one CUDA graph, resident batches) and with bf16
autocast and channels-last under the graph, each verified from the trainer's own state; a run stopped half way and
resumed that ends bit-identical (weights, optimiser state, logged losses) to an uninterrupted one, with the graph and
without, deterministic kernels asked for, as the CPU fault tests do on the CPU; the schedule reaching a captured
update; a capture that fails falling back to eager updates with one line; the DCGAN through the graph.
The same bookkeeping is rehearsed on the CPU in 04d_loop and 05_baselines (`CpuRehearsal`)."""
import json, os, warnings
import pytest
import torch

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason='no CUDA device')

from dfcvae.config import get_config
from dfcvae.execution import DEVICE_DEFAULTS
from dfcvae.loop import GraphedUpdate, Callback, MODELS
from dfcvae.train import make_trainer


def tiny(**kw):
    return get_config('tiny', epochs=100, checkpoint_every=4, **kw)


def quiet_trainer(cfg, out, resume=False):
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')   # the notices that the faces are synthetic and the loss network random
        return make_trainer(cfg, out, resume=resume, device='cuda', progress=False)


def test_the_defaults_on_cuda_are_the_measured_fastest_with_the_update_as_one_graph(tmp_path, monkeypatch):
    monkeypatch.delenv('DFCVAE_AUTO_PRECISION', raising=False)   # 'auto' as the table says, not as the environment forces it
    tr = quiet_trainer(tiny(max_steps=6), tmp_path/'run')
    tr.fit()
    ex, want = tr.execution, DEVICE_DEFAULTS['cuda']
    assert ex['device'].startswith('cuda') and ex['precision_used'] == want['precision'], ex
    assert (ex['channels_last_used'], ex['graph_used']) == (want['channels_last'], want['graph']), ex
    assert isinstance(tr.updater, GraphedUpdate) and tr.updater.replay is not None and tr.updater.failed is None   # captured, replayed
    assert tr.batches.images is not None and tr.batches.images.is_cuda                    # the images live on the GPU


@pytest.mark.parametrize('graph', ['on', 'off'])
def test_a_few_updates_on_cuda_use_bf16_channels_last_and_resident_batches(tmp_path, graph):
    tr = quiet_trainer(tiny(max_steps=6, precision='bf16', channels_last=True, graph=graph), tmp_path/'run')
    before = {k: v.detach().clone() for k, v in tr.updater.model.state_dict().items()}
    tr.fit()
    assert tr.step == 6
    ex = tr.execution
    assert ex['device'].startswith('cuda') and ex['precision_used'] == 'bf16' and ex['graph_used'] == (graph == 'on'), ex
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


@pytest.mark.parametrize('graph', ['on', 'off'])
def test_resume_on_cuda_ends_bit_identical(tmp_path, monkeypatch, graph):
    monkeypatch.setenv('CUBLAS_WORKSPACE_CONFIG', ':4096:8')
    was = torch.are_deterministic_algorithms_enabled(), torch.backends.cudnn.benchmark
    torch.use_deterministic_algorithms(True); torch.backends.cudnn.benchmark = False
    try:
        quiet_trainer(tiny(max_steps=12, graph=graph, decay_every=5), tmp_path/'straight').fit()
        quiet_trainer(tiny(max_steps=6, graph=graph, decay_every=5), tmp_path/'hit').fit()
        tr = quiet_trainer(tiny(max_steps=12, graph=graph, decay_every=5), tmp_path/'hit', resume=True)
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


def weights(tr): return torch.cat([p.detach().flatten().float().cpu() for p in tr.updater.model.parameters()])


@pytest.fixture
def deterministic(monkeypatch):
    "Deterministic kernels, as the bit-identical comparisons need them."
    monkeypatch.setenv('CUBLAS_WORKSPACE_CONFIG', ':4096:8')
    was = torch.are_deterministic_algorithms_enabled(), torch.backends.cudnn.benchmark
    torch.use_deterministic_algorithms(True); torch.backends.cudnn.benchmark = False
    yield
    torch.use_deterministic_algorithms(was[0]); torch.backends.cudnn.benchmark = was[1]


def test_the_schedule_reaches_the_captured_update(tmp_path, deterministic):
    "The rate a replay reads is the schedule's: a run whose rate halves every 3 updates is not the run at a constant rate."
    halved = quiet_trainer(tiny(max_steps=9, decay_every=3, graph='on'), tmp_path/'halved').fit()
    constant = quiet_trainer(tiny(max_steps=9, decay_every=3, lr_decay=1.0, graph='on'), tmp_path/'constant').fit()
    assert halved.updater.replay is not None
    rate = halved.updater.opt.param_groups[0]['lr']
    assert torch.is_tensor(rate) and rate.is_cuda and float(rate) == float(torch.tensor(5e-4 * 0.5 ** 2))
    assert not torch.equal(weights(halved), weights(constant))
    first = [json.loads(l)['loss'] for l in (tmp_path/'halved'/'metrics.jsonl').read_text().splitlines()]
    second = [json.loads(l)['loss'] for l in (tmp_path/'constant'/'metrics.jsonl').read_text().splitlines()]
    assert first[:4] == second[:4] and first[4] != second[4]     # the same until the first halving reaches an update, and not after it


def test_graphed_updates_are_the_eager_updates(tmp_path, deterministic):
    "The graph computes what the eager loop does (to the rounding of a float32 rate): a warm-up not undone, or Adam's fresh state not zeroed, would show."
    runs = {g: quiet_trainer(tiny(max_steps=6, decay_every=2, graph=g), tmp_path/g).fit() for g in ('on', 'off')}
    assert runs['on'].updater.replay is not None and not hasattr(runs['off'].updater, 'replay')
    losses = {g: torch.tensor([json.loads(l)['loss'] for l in (tmp_path/g/'metrics.jsonl').read_text().splitlines()]) for g in runs}
    assert torch.allclose(losses['on'], losses['off'], rtol=5e-3), losses


@pytest.fixture
def dcgan_registered():
    "The DCGAN registered for one test, and the registry as it was after it (other tests, run in this process, expect it unregistered)."
    was = dict(MODELS)
    import dfcvae.baselines   # registers 'dcgan' the first time
    from dfcvae.baselines import dcgan_model, gan_updater
    from dfcvae.loop import register_model
    register_model('dcgan', dcgan_model, gan_updater)
    yield
    MODELS.clear(); MODELS.update(was)


def test_the_dcgan_trains_through_the_graph(tmp_path, dcgan_registered):
    cfg = get_config('dcgan', z_dim=16, widths=(8, 16, 32), img_size=32, bs=16, n_synthetic=96, n_grid=8, epochs=100, max_steps=6, graph='on')
    tr = quiet_trainer(cfg, tmp_path/'gan')
    before = {k: v.detach().clone() for k, v in tr.updater.model.state_dict().items()}
    tr.fit()
    assert tr.execution['graph_used'] and tr.updater.replay is not None and tr.updater.failed is None
    after = tr.updater.model.state_dict()
    for part in ('G.', 'D.'):   # both players learned
        assert any(not torch.equal(before[k], after[k]) for k in before if k.startswith(part) and before[k].is_floating_point()), part


class SyncInLoss(Callback):
    "Make the update read a value on the host (a synchronisation, which a capture refuses)."
    order = -100
    def before_fit(self, tr):
        inner = tr.updater.updater.loss
        def loss(*a, **kw):
            terms = inner(*a, **kw); float(terms['loss']); return terms
        tr.updater.updater.loss = loss


def test_a_capture_that_fails_says_so_once_and_trains_eagerly(tmp_path, capfd):
    tr = make_trainer(tiny(max_steps=6, graph='on'), tmp_path/'run', device='cuda', progress=False, callbacks=[SyncInLoss()])
    with warnings.catch_warnings():
        warnings.simplefilter('ignore'); tr.fit()
    err = [l for l in capfd.readouterr().err.splitlines() if 'CUDA graph' in l]
    assert len(err) == 1 and err[0].startswith('CUDA graph: the update could not be captured (') and err[0].endswith('updates run eagerly'), err
    assert tr.step == 6 and tr.updater.failed is not None and tr.updater.replay is None
    rows = [json.loads(l) for l in (tmp_path/'run'/'metrics.jsonl').read_text().splitlines()]
    assert [r['step'] for r in rows] == list(range(1, 7)) and all(torch.isfinite(torch.tensor(r['loss'])) for r in rows)
    assert type(tr.updater.opt.param_groups[0]['lr']) is float   # the optimiser as an eager run has it
    ex = [json.loads(l) for l in (tmp_path/'run'/'execution.jsonl').read_text().splitlines()]
    assert len(ex) == 1 and ex[0]['graph_used'] is False and ex[0]['graph_why'].startswith('the capture failed ('), ex
