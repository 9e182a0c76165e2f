"""Resumable DCGAN training (standard DCGAN: latent 100, ngf = ndf = 64, BCE, Adam 2e-4, beta1 0.5).

Writes into --out: checkpoint.pt (G, D, both Adam states, step, RNG: exact resume with --resume),
dcgan_G.pt (generator state_dict in the reference layout, for `flowprior import-dcgan`), samples.png, log.jsonl.
"""
import argparse, json, os, signal, sys, time
import numpy as np
import torch
import torch.nn as nn
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from train_glow import load_folder, atomic_save  # noqa: E402


class Generator(nn.Module):
    def __init__(self, nz=100, ngf=64):
        super().__init__()
        self.main = nn.Sequential(
            nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False), nn.BatchNorm2d(ngf * 8), nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 4), nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 2), nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf), nn.ReLU(True),
            nn.ConvTranspose2d(ngf, 3, 4, 2, 1, bias=False), nn.Tanh())

    def forward(self, z):
        return self.main(z)


class Discriminator(nn.Module):
    def __init__(self, ndf=64):
        super().__init__()
        self.main = nn.Sequential(
            nn.Conv2d(3, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, True),
            nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 2), nn.LeakyReLU(0.2, True),
            nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 4), nn.LeakyReLU(0.2, True),
            nn.Conv2d(ndf * 4, ndf * 8, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 8), nn.LeakyReLU(0.2, True),
            nn.Conv2d(ndf * 8, 1, 4, 1, 0, bias=False))

    def forward(self, x):
        return self.main(x).flatten()


def init_weights(m):
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(m.weight, 0.0, 0.02)
    elif isinstance(m, nn.BatchNorm2d):
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)


def save_grid(images, path, nrow=8):
    x = ((images.clamp(-1, 1) + 1) / 2 * 255).round().byte().permute(0, 2, 3, 1).numpy()
    n, h, w, c = x.shape
    rows = (n + nrow - 1) // nrow
    grid = np.full((rows * (h + 2) + 2, nrow * (w + 2) + 2, 3), 255, np.uint8)
    for i in range(n):
        r, q = divmod(i, nrow)
        grid[2 + r * (h + 2):2 + r * (h + 2) + h, 2 + q * (w + 2):2 + q * (w + 2) + w] = x[i]
    Image.fromarray(grid).save(path)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--data", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--resume", action="store_true")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--lr", type=float, default=2e-4)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--minutes", type=float, default=0)
    p.add_argument("--max-steps", type=int, default=0)
    p.add_argument("--ckpt-minutes", type=float, default=5)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--train-limit", type=int, default=0)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    os.makedirs(args.out, exist_ok=True)
    torch.manual_seed(args.seed)
    data = load_folder(args.data, args.train_limit or None)
    G, D = Generator(), Discriminator()
    G.apply(init_weights)
    D.apply(init_weights)
    optG = torch.optim.Adam(G.parameters(), lr=args.lr, betas=(0.5, 0.999))
    optD = torch.optim.Adam(D.parameters(), lr=args.lr, betas=(0.5, 0.999))
    gen = torch.Generator().manual_seed(args.seed)
    fixed_z = torch.randn(64, 100, 1, 1, generator=torch.Generator().manual_seed(7))
    step, wall, perm, pos = 0, 0.0, None, 0
    ckpt_path = os.path.join(args.out, "checkpoint.pt")
    if args.resume and os.path.exists(ckpt_path):
        ck = torch.load(ckpt_path)
        G.load_state_dict(ck["G"]); D.load_state_dict(ck["D"])
        optG.load_state_dict(ck["optG"]); optD.load_state_dict(ck["optD"])
        gen.set_state(ck["gen"]); torch.set_rng_state(ck["torch_rng"])
        step, wall, perm, pos = ck["step"], ck["wall"], ck["perm"], ck["pos"]
        print(f"resumed at step {step}", flush=True)
    stop = {"now": False}
    signal.signal(signal.SIGINT, lambda *a: stop.update(now=True))
    signal.signal(signal.SIGTERM, lambda *a: stop.update(now=True))
    log = open(os.path.join(args.out, "log.jsonl"), "a")
    bce = nn.BCEWithLogitsLoss()

    def checkpoint():
        atomic_save({"G": G.state_dict(), "D": D.state_dict(), "optG": optG.state_dict(), "optD": optD.state_dict(),
                     "gen": gen.get_state(), "torch_rng": torch.get_rng_state(), "step": step, "wall": wall,
                     "perm": perm, "pos": pos, "args": vars(args)}, ckpt_path)
        atomic_save(G.state_dict(), os.path.join(args.out, "dcgan_G.pt"))
        G.eval()
        with torch.no_grad():
            save_grid(G(fixed_z), os.path.join(args.out, "samples.png"))
        G.train()
        with open(os.path.join(args.out, "meta.json"), "w") as f:
            json.dump({"trained_steps": step, "train_minutes": round(wall / 60, 1), "batch": args.batch,
                       "trainer": "training/torch/train_dcgan.py"}, f)

    last_ckpt, t_last = time.time(), time.time()
    while not stop["now"]:
        if perm is None or pos + args.batch > len(perm):
            perm, pos = torch.randperm(len(data), generator=gen), 0
        real = data[perm[pos:pos + args.batch]].float() / 127.5 - 1.0
        pos += args.batch
        flip = torch.rand(len(real), generator=gen) < 0.5
        real[flip] = real[flip].flip(3)
        b = len(real)
        z = torch.randn(b, 100, 1, 1, generator=gen)
        fake = G(z)
        lossD = bce(D(real), torch.ones(b)) + bce(D(fake.detach()), torch.zeros(b))
        optD.zero_grad(); lossD.backward(); optD.step()
        lossG = bce(D(fake), torch.ones(b))
        optG.zero_grad(); lossG.backward(); optG.step()
        step += 1
        now = time.time(); wall += now - t_last; t_last = now
        if step % 20 == 0:
            log.write(json.dumps({"step": step, "minutes": round(wall / 60, 2), "lossD": round(lossD.item(), 4),
                                  "lossG": round(lossG.item(), 4)}) + "\n"); log.flush()
            print(f"step {step} {wall / 60:.1f} min D {lossD.item():.3f} G {lossG.item():.3f}", flush=True)
        if now - last_ckpt > args.ckpt_minutes * 60:
            checkpoint(); last_ckpt = time.time()
        if (args.minutes and wall >= args.minutes * 60) or (args.max_steps and step >= args.max_steps):
            break
    checkpoint()
    print(f"stopped at step {step}; checkpoint written", flush=True)


if __name__ == "__main__":
    main()
