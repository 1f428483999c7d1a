"""Re-implementations of peer DFC-VAE training steps, so a benchmark can time them in the same process as ours.

    from peers import PEERS
    step = PEERS['toshikwa'](device)            # or PEERS['toshikwa'](device, vgg_weights='vgg19.pth')
    step(x)                                     # x: N x 3 x 64 x 64 floats in [0, 1] on `device`; one optimiser update

toshikwa
--------
Repository: toshikwa/vae.pytorch (GitHub; earlier published as ku2482/vae.pytorch), "Deep Feature Consistent
Variational Autoencoder in PyTorch". Read from the stored copies of these files (commit in brackets):

    models/simple_vae.py   (718a94ec7472d4c5e915c4c676beeb3d66c6be9f)  Encoder, Decoder, VAE
    utils/loss.py          (178803995220caa221553985b3d9359e15cbb44a)  _VGG, KLDLoss, FLPLoss with reduction='sum'
    utils/train.py         (718a94ec7472d4c5e915c4c676beeb3d66c6be9f)  the training loop (latest stored version)
    utils/data.py          (718a94ec7472d4c5e915c4c676beeb3d66c6be9f)  CelebA loader: Resize(64) + ToTensor, no Normalize
    run.sh, README.md, requirements.txt (torch==1.0.1, torchvision==0.2.1)
Older stored versions of the same files were also read, to tell the final state apart from the earlier ones
(a KLDivLoss-on-softmax "KL" and a loss with size_average=True, both later replaced). What follows is the state
of the latest commit stored, which pairs train.py's `KLDLoss(reduction='sum')` / `FLPLoss(args.model, device,
reduction='sum')` / `rec_x, mean, logvar = model(x)` with the loss.py and simple_vae.py that match those calls.

Their step, as re-implemented here (the code below is written anew, not copied):
  * VAE (nc=3, nef=ndf=32, nz=100, isize=64), default PyTorch init, train mode.
    Encoder: 4 x [Conv2d 4x4 stride 2 pad 1 -> LeakyReLU(0.2, inplace) -> BatchNorm2d] with 32, 64, 128, 256
    channels (64 -> 4 px); flatten 256*4*4 = 4096; Linear(4096, 100) for the mean and another for the log-variance.
    Reparametrisation: std = exp(0.5 * logvar); the noise is drawn with `torch.FloatTensor(size).normal_()`, i.e. on the
    CPU, and copied to the device every step (done the same way here); z = eps * std + mean.
    Decoder: Linear(100, 4096) -> ReLU(inplace) -> view 256 x 4 x 4; 3 x [UpsamplingNearest2d(x2) -> Conv2d 3x3 pad 1
    -> LeakyReLU(0.2, inplace) -> BatchNorm2d(eps=1e-3)] with 128, 64, 32 channels; UpsamplingNearest2d(x2) ->
    Conv2d(32, 3, 3x3 pad 1). No output activation (no sigmoid/tanh): the reconstruction is unbounded.
  * Loss network: torchvision vgg19().features (pretrained=True in their code), the 37 modules renamed conv1_1 ..
    pool5, all parameters requires_grad=False. Both x and rec_x go in as they are: no ImageNet mean/std
    normalisation (x is ToTensor's [0, 1] RGB). Their forward runs through ALL 37 modules of vgg19.features
    (conv1_1 .. pool5) on each of the two images and keeps the flattened outputs of the content layers:
    'vae-123' (their default): relu1_1, relu2_1, relu3_1; 'vae-345': relu3_1, relu4_1, relu5_1.
  * Feature loss: sum over the content layers of MSELoss(reduction='sum')(feat(rec_x), feat(x)).
    KL: -0.5 * sum(1 + logvar - mean^2 - exp(logvar)), summed over latent dims and over the batch.
    loss = alpha * KL + beta * feature loss, alpha = 1.0, beta = 0.5.
  * Optimiser: Adam(model.parameters(), lr=5e-4), default betas/eps. A StepLR(step_size=1, gamma=0.5) scheduler is
    created but scheduler.step() is never called in the latest train.py, so the lr stays 5e-4.
  * Loop body (train phase): optimizer.zero_grad(); x = x.to(device); rec_x, mean, logvar = model(x); the two
    losses; loss.backward(); optimizer.step(); then `running_loss += loss` (a device-side tensor add; the loss is
    never turned into a Python number per step: no .item(), no print) and `data_num += x.size(0)`.
    Default batch 64, 64 x 64 images.

Deviations and guesses (everything else follows their code):
  1. Data loading/augmentation (ColorJitter, imgaug flips/contrast/blur, Resize, ToTensor) is not part of the step;
     the step takes an already-loaded batch on the device, so `x.to(device)` is a no-op here.
  2. The VGG19 is torchvision's `vgg19()` with random weights (no download, no internet) unless `vgg_weights` is
     a state_dict file (torchvision layout, optional 'features.' prefix). The file must cover the convolutions up to
     the deepest content layer (relu3_1 for vae-123); convolutions it lacks beyond that keep their random weights,
     which cannot change the loss (their outputs are never used), only the arithmetic, which is the same anyway.
  3. NOT truncated by default, because their code does not truncate: `_VGG.forward` runs every module of
     vgg19.features, conv4_x, conv5_x and pool5 included, although vae-123 only reads up to relu3_1 (for a 64 x 64
     image that is about 1.59 GMAC per image per pass against 0.46 GMAC up to conv3_1). `truncate_vgg=True` cuts
     vgg19.features after the deepest content layer instead (faster than what they run; for an apples-to-apples
     comparison of the remaining work only).
  4. They set requires_grad=False on the VGG but never call .eval() on it; vgg19.features has no batch norm or
     dropout, so the mode changes nothing. It is put in eval mode here.
  5. The epoch bookkeeping is kept (`running_loss += loss`, `data_num += N`) but, since the benchmark has no epochs,
     it is never reset; its per-epoch log line (one host read per epoch) and the image dumps (`imsave` at i == 0,
     only when the batch has >= 64 images) are left out, as is the test phase.
  6. They pinned torch 1.0.1, where `zero_grad()` zeroed gradients in place; this calls `optimizer.zero_grad()`
     exactly as their code does, which on current PyTorch sets the gradients to None. `Variable(...)` is a no-op
     on current PyTorch and is dropped. Adam uses current PyTorch's default implementation.
  7. fp32, NCHW, eager, no torch.compile, no AMP, no cudnn.benchmark, as in their code. The loss is returned
     (detached) so a caller can print it; the step itself does not read it on the host.
"""
import warnings

import torch
import torch.nn as nn
import torchvision

__all__ = ['PEERS', 'build_toshikwa', 'describe']


# ----------------------------------------------------------------------------------------------------------------
# toshikwa/vae.pytorch
# ----------------------------------------------------------------------------------------------------------------

def _vgg19_names():
    "Names of the 37 modules of torchvision's vgg19().features: conv1_1, relu1_1, ..., pool5."
    names, block, conv = [], 1, 0
    for m in torchvision.models.vgg19().features:
        if isinstance(m, nn.Conv2d): conv += 1; names.append(f'conv{block}_{conv}')
        elif isinstance(m, nn.ReLU): names.append(f'relu{block}_{conv}')
        else: names.append(f'pool{block}'); block, conv = block + 1, 0
    return names


_CONTENT = {'vae-123': ('relu1_1', 'relu2_1', 'relu3_1'), 'vae-345': ('relu3_1', 'relu4_1', 'relu5_1')}


class _TkEncoder(nn.Module):
    "x (N, 3, 64, 64) -> z, mean, logvar (N, 100); conv -> LeakyReLU -> BN blocks, as in their Encoder."

    def __init__(self, device, nc=3, nef=32, nz=100, isize=64):
        super().__init__()
        self.device = device
        chans, layers = [nc, nef, nef * 2, nef * 4, nef * 8], []
        for cin, cout in zip(chans[:-1], chans[1:]):
            layers += [nn.Conv2d(cin, cout, 4, 2, padding=1), nn.LeakyReLU(0.2, inplace=True), nn.BatchNorm2d(cout)]
        self.encoder = nn.Sequential(*layers)
        flat = nef * 8 * (isize // 16) ** 2
        self.mean, self.logvar = nn.Linear(flat, nz), nn.Linear(flat, nz)

    def reparametrize(self, mean, logvar):
        std = logvar.mul(0.5).exp_()
        eps = torch.empty(std.size(), dtype=torch.float32).normal_().to(self.device)   # drawn on the CPU, as theirs
        return eps.mul(std).add_(mean)

    def forward(self, x):
        h = self.encoder(x).view(x.size(0), -1)
        mean, logvar = self.mean(h), self.logvar(h)
        return self.reparametrize(mean, logvar), mean, logvar


class _TkDecoder(nn.Module):
    "z (N, 100) -> (N, 3, 64, 64); dense + ReLU, then nearest-upsample -> conv -> LeakyReLU -> BN(eps 1e-3) blocks."

    def __init__(self, nc=3, ndf=32, nz=100, isize=64):
        super().__init__()
        self.ndf, self.out_size = ndf, isize // 16
        self.decoder_dense = nn.Sequential(nn.Linear(nz, ndf * 8 * self.out_size ** 2), nn.ReLU(inplace=True))
        chans, layers = [ndf * 8, ndf * 4, ndf * 2, ndf], []
        for cin, cout in zip(chans[:-1], chans[1:]):
            layers += [nn.UpsamplingNearest2d(scale_factor=2), nn.Conv2d(cin, cout, 3, padding=1),
                       nn.LeakyReLU(0.2, inplace=True), nn.BatchNorm2d(cout, 1e-3)]
        layers += [nn.UpsamplingNearest2d(scale_factor=2), nn.Conv2d(ndf, nc, 3, padding=1)]
        self.decoder_conv = nn.Sequential(*layers)

    def forward(self, z):
        h = self.decoder_dense(z).view(z.size(0), self.ndf * 8, self.out_size, self.out_size)
        return self.decoder_conv(h)


class _TkVAE(nn.Module):
    def __init__(self, device):
        super().__init__()
        self.encoder, self.decoder = _TkEncoder(device), _TkDecoder()

    def forward(self, x):
        z, mean, logvar = self.encoder(x)
        return self.decoder(z), mean, logvar


class _TkVGG(nn.Module):
    "vgg19().features with named modules, frozen; returns the flattened content-layer outputs, in order."

    def __init__(self, content, vgg_weights='random', truncate=False):
        super().__init__()
        names, feats = _vgg19_names(), torchvision.models.vgg19().features   # random init, no download
        last = max(names.index(c) for c in content)
        if vgg_weights not in (None, 'random'): self._load(feats, vgg_weights, last)
        keep = range(last + 1) if truncate else range(len(feats))
        self.features = nn.Sequential()
        for i in keep: self.features.add_module(names[i], feats[i])
        self.features.requires_grad_(False)   # theirs: param.requires_grad = False for every VGG parameter
        self.content = tuple(content)
        self.eval()                           # no effect on vgg19.features (no BN/dropout); they never call it

    @staticmethod
    def _load(feats, path, last):
        sd = torch.load(path, map_location='cpu', weights_only=True)
        if not isinstance(sd, dict): raise ValueError(f'{path}: not a state_dict')
        sd = {k.removeprefix('features.'): v for k, v in sd.items()}
        convs = [i for i, m in enumerate(feats) if isinstance(m, nn.Conv2d)]
        need = [f'{i}.{p}' for i in convs if i <= last for p in ('weight', 'bias')]
        missing = [k for k in need if k not in sd]
        if missing: raise ValueError(f'{path}: weights missing for the loss layers: {missing}')
        have = {f'{i}.{p}': sd[f'{i}.{p}'] for i in convs for p in ('weight', 'bias') if f'{i}.{p}' in sd}
        feats.load_state_dict(have, strict=False)   # deeper convs absent from the file keep random weights

    def forward(self, x):
        n, out, h = x.size(0), [], x
        for name, m in self.features.named_children():
            h = m(h)
            if name in self.content: out.append(h.view(n, -1))
        return out


class _TkFLPLoss(nn.Module):
    "Sum over content layers of the summed squared feature difference (their FLPLoss with reduction='sum')."

    def __init__(self, vgg):
        super().__init__()
        self.pretrained, self.criterion = vgg, nn.MSELoss(reduction='sum')

    def forward(self, x, recon_x):
        fx, fr = self.pretrained(x), self.pretrained(recon_x)
        total = 0
        for r, t in zip(fr, fx): total = total + self.criterion(r, t)
        return total


def _tk_kld(mean, logvar):
    "KL(q(z|x) || N(0, I)) summed over latent dims and over the batch (their KLDLoss(reduction='sum'))."
    return torch.sum(-0.5 * torch.sum(1 + logvar - mean.pow(2) - logvar.exp(), 1))


class _ToshikwaStep:
    "One iteration of the train phase of their utils/train.py loop, per call."

    def __init__(self, device, vgg_weights='random', model='vae-123', truncate_vgg=False,
                 lr=5e-4, alpha=1.0, beta=0.5):
        if model not in _CONTENT: raise ValueError(f"model={model!r}: 'vae-123' or 'vae-345'")
        self.device = torch.device(device)
        self.model = _TkVAE(self.device).to(self.device)
        self.model.train(True)
        self.loss = _TkFLPLoss(_TkVGG(_CONTENT[model], vgg_weights, truncate_vgg)).to(self.device)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=lr)
        # built but never stepped in their latest train.py; kept only so the objects match
        self.scheduler = torch.optim.lr_scheduler.StepLR(self.optimizer, 1, gamma=0.5, last_epoch=-1)
        self.alpha, self.beta, self.variant, self.truncate_vgg = alpha, beta, model, truncate_vgg
        self.running_loss, self.data_num = 0.0, 0

    def __call__(self, x):
        self.optimizer.zero_grad()
        x = x.to(self.device)
        rec_x, mean, logvar = self.model(x)
        reconst_loss = self.loss(x, rec_x)
        kld_loss = _tk_kld(mean, logvar)
        loss = self.alpha * kld_loss + self.beta * reconst_loss
        loss.backward()
        self.optimizer.step()
        self.running_loss += loss             # their epoch accumulator: a tensor add on the device, no host read
        self.data_num += x.size(0)
        return loss.detach()


def build_toshikwa(device, vgg_weights='random', model='vae-123', truncate_vgg=False):
    """The training step of toshikwa/vae.pytorch as a callable `step(x)` (one Adam update on batch x).

    device: where the model, loss network and batch live. vgg_weights: 'random' (torchvision's init; their code
    uses ImageNet weights, which do not change the arithmetic) or a path to a VGG19 state_dict file.
    model: their --model, 'vae-123' (default) or 'vae-345'. truncate_vgg: False (default) runs all of
    vgg19.features as their code does; True stops at the deepest content layer."""
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        return _ToshikwaStep(device, vgg_weights, model, truncate_vgg)


def describe():
    "One paragraph on what the toshikwa step contains, for the benchmark's printout."
    return ("toshikwa/vae.pytorch (vae-123, their default): VAE with a 4-block encoder "
            "[Conv 4x4/s2 -> LeakyReLU(0.2) -> BN] 3->32->64->128->256 ch (64->4 px), two Linear(4096,100) heads for "
            "mean/logvar, reparametrisation noise drawn on the CPU and copied to the device each step; decoder "
            "Linear(100,4096)+ReLU -> 3 x [nearest-upsample x2 -> Conv 3x3 -> LeakyReLU(0.2) -> BN(eps 1e-3)] "
            "256->128->64->32 ch -> upsample x2 -> Conv 3x3 to 3 ch, no output activation. Loss: 1.0 * KL (summed) + "
            "0.5 * sum of summed-squared-error VGG19 features at relu1_1, relu2_1, relu3_1 of x and the reconstruction, "
            "fed un-normalised [0,1] images; the frozen VGG19 runs all of its 16 convolutions (conv1_1..pool5) on both "
            "images each step, as their code does, although only layers up to relu3_1 enter the loss. "
            "Adam lr 5e-4 (default betas; StepLR built but never stepped), fp32 NCHW eager, zero_grad/forward/"
            "backward/step with no per-step .item() (the loss is accumulated on the device).")


PEERS = {'toshikwa': build_toshikwa}
