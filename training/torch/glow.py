"""Glow in PyTorch with the reference (GlowIP) state_dict layout, so `flowprior import-glowip` loads its checkpoints.

Module list per level l < L: squeeze, K flow steps, split; level L: squeeze, one flow step. Indices in
`glow_modules` follow that list, which is what fixes the state_dict keys.
"""
import math
import torch
import torch.nn as nn
import torch.nn.functional as F


def squeeze_spatial(x):
    n, c, h, w = x.shape
    x = x.reshape(n, c, h // 2, 2, w // 2, 2).permute(0, 1, 3, 5, 2, 4)
    return x.reshape(n, c * 4, h // 2, w // 2)


def unsqueeze_spatial(x):
    n, c, h, w = x.shape
    x = x.reshape(n, c // 4, 2, 2, h, w).permute(0, 1, 4, 2, 5, 3)
    return x.reshape(n, c // 4, h * 2, w * 2)


class ActNorm(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.logs = nn.Parameter(torch.zeros(1, c, 1, 1))
        self.b = nn.Parameter(torch.zeros(1, c, 1, 1))
        self.register_buffer("initialized", torch.tensor(0, dtype=torch.uint8), persistent=False)

    def forward(self, x):
        if not self.initialized:
            with torch.no_grad():
                mean = x.mean(dim=(0, 2, 3), keepdim=True)
                std = x.std(dim=(0, 2, 3), keepdim=True)
                self.b.data.copy_(-mean)
                self.logs.data.copy_(torch.log(1.0 / (std + 1e-6)))
                self.initialized.fill_(1)
        return (x + self.b) * torch.exp(self.logs)

    def reverse(self, y):
        return y * torch.exp(-self.logs) - self.b

    def logdet(self, hw):
        return hw * self.logs.sum()


class InvConv(nn.Module):
    def __init__(self, c):
        super().__init__()
        w = torch.linalg.qr(torch.randn(c, c))[0]
        self.W = nn.Parameter(w.reshape(c, c, 1, 1))

    def forward(self, x):
        return F.conv2d(x, self.W)

    def reverse(self, y):
        c = self.W.shape[0]
        return F.conv2d(y, torch.inverse(self.W.reshape(c, c).double()).float().reshape(c, c, 1, 1))

    def logdet(self, hw):
        c = self.W.shape[0]
        return hw * torch.slogdet(self.W.reshape(c, c).double())[1].float()


class CouplingNet(nn.Module):
    def __init__(self, cin, cout, hidden):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, hidden, 3, padding=1)
        self.actnorm1 = ActNorm(hidden)
        self.conv2 = nn.Conv2d(hidden, hidden, 1)
        self.actnorm2 = ActNorm(hidden)
        self.conv3 = nn.Conv2d(hidden, cout, 3, padding=1)
        self.logs = nn.Parameter(torch.zeros(cout, 1, 1))
        nn.init.normal_(self.conv1.weight, 0, 0.05)
        nn.init.zeros_(self.conv1.bias)
        nn.init.normal_(self.conv2.weight, 0, 0.05)
        nn.init.zeros_(self.conv2.bias)
        nn.init.zeros_(self.conv3.weight)
        nn.init.zeros_(self.conv3.bias)

    def forward(self, c):
        h = F.relu(self.actnorm1(self.conv1(c)))
        h = F.relu(self.actnorm2(self.conv2(h)))
        return self.conv3(h) * torch.exp(self.logs * 3)


class Coupling(nn.Module):
    def __init__(self, c, hidden, scale_bias):
        super().__init__()
        self.net = CouplingNet(c // 2, c, hidden)
        self.scale_bias = scale_bias

    def _st(self, c):
        r = self.net(c)
        s = torch.sigmoid(r[:, 0::2] + 2.0) + self.scale_bias
        t = r[:, 1::2]
        return s, t

    def forward(self, x):
        a, c = x.chunk(2, dim=1)
        s, t = self._st(c)
        return torch.cat([s * a + t, c], dim=1), torch.log(s).flatten(1).sum(1)

    def reverse(self, y):
        a, c = y.chunk(2, dim=1)
        s, t = self._st(c)
        return torch.cat([(a - t) / s, c], dim=1)


class FlowStep(nn.Module):
    def __init__(self, c, hidden, scale_bias=0.0):
        super().__init__()
        self.actnorm = ActNorm(c)
        self.invconv = InvConv(c)
        self.coupling = Coupling(c, hidden, scale_bias)

    def forward(self, x):
        hw = x.shape[2] * x.shape[3]
        x = self.actnorm(x)
        x = self.invconv(x)
        x, ld = self.coupling(x)
        return x, ld + self.actnorm.logdet(hw) + self.invconv.logdet(hw)

    def reverse(self, y):
        return self.actnorm.reverse(self.invconv.reverse(self.coupling.reverse(y)))


class Marker(nn.Module):
    """Squeeze/split placeholders: parameter-free, present only to keep the reference module indices."""

    def __init__(self, kind):
        super().__init__()
        self.kind = kind


class Glow(nn.Module):
    def __init__(self, K, L, hidden, channels=3, top_step_coupling_bias=1.0):
        super().__init__()
        mods = []
        c = channels
        for level in range(L):
            mods.append(Marker("squeeze"))
            c *= 4
            steps = K if level < L - 1 else 1
            for _ in range(steps):
                mods.append(FlowStep(c, hidden, top_step_coupling_bias if level == L - 1 else 0.0))
            if level < L - 1:
                mods.append(Marker("split"))
                c //= 2
        self.glow_modules = nn.ModuleList(mods)

    def encode(self, x):
        """x in image - 0.5 (NCHW) -> (flat z, per-sample logdet)."""
        zs, logdet = [], torch.zeros(x.shape[0], device=x.device)
        h = x
        for m in self.glow_modules:
            if isinstance(m, Marker) and m.kind == "squeeze":
                h = squeeze_spatial(h)
            elif isinstance(m, Marker):
                h, z = h.chunk(2, dim=1)
                zs.append(z.flatten(1))
            else:
                h, ld = m(h)
                logdet = logdet + ld
        zs.append(h.flatten(1))
        return torch.cat(zs, dim=1), logdet

    def latent_shapes(self, size=64, channels=3):
        shapes, c, s = [], channels, size
        for m in self.glow_modules:
            if isinstance(m, Marker) and m.kind == "squeeze":
                c, s = c * 4, s // 2
            elif isinstance(m, Marker):
                c //= 2
                shapes.append((c, s, s))
        shapes.append((c, s, s))
        return shapes

    def decode(self, zflat, size=64):
        shapes = self.latent_shapes(size)
        parts, off = [], 0
        for (c, h, w) in shapes:
            parts.append(zflat[:, off:off + c * h * w].reshape(-1, c, h, w))
            off += c * h * w
        h = parts.pop()
        for m in reversed(self.glow_modules):
            if isinstance(m, Marker) and m.kind == "squeeze":
                h = unsqueeze_spatial(h)
            elif isinstance(m, Marker):
                h = torch.cat([h, parts.pop()], dim=1)
            else:
                h = m.reverse(h)
        return h


def nll_bits_per_dim(model, x, n_bits=5):
    """x: dequantised image - 0.5. bits/dim of the discrete 2^n_bits-level data (no +3 offset)."""
    z, logdet = model.encode(x)
    n = x[0].numel()
    logpz = (-0.5 * z ** 2 - 0.5 * math.log(2 * math.pi)).sum(1)
    logpx = logpz + logdet - n * math.log(2 ** n_bits)
    return -logpx / (n * math.log(2))
