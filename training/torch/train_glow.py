"""Resumable maximum-likelihood training of the Glow prior (PyTorch, CPU or GPU).

Writes into --out:
  checkpoint.pt   model + EMA + Adam state + step + RNG states (exact resume with --resume)
  glowmodel.pt    EMA weights in the reference (GlowIP) state_dict layout, for `flowprior import-glowip`
  configs.json    the reference config keys plus squeeze variant and top-step coupling bias
  log.jsonl       one line per logged step and per validation
"""
import argparse, json, math, os, random, signal, sys, time
import numpy as np
import torch
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from glow import Glow, nll_bits_per_dim  # noqa: E402


def load_folder(folder, limit=None):
    names = sorted(f for f in os.listdir(folder) if f.lower().endswith(".png"))
    if limit:
        names = names[:limit]
    arr = np.stack([np.asarray(Image.open(os.path.join(folder, f)).convert("RGB")) for f in names])
    return torch.from_numpy(arr).permute(0, 3, 1, 2).contiguous()  # uint8 NCHW


def preprocess(u8, n_bits, gen):
    """5-bit dequantisation as in the reference: k = floor(v / 2^(8-n_bits)); x = k/2^n_bits - 0.5 + U[0, 1/2^n_bits)."""
    bins = 2 ** n_bits
    k = torch.div(u8, 2 ** (8 - n_bits), rounding_mode="floor").float()
    return k / bins - 0.5 + torch.rand(k.shape, generator=gen) / bins


@torch.no_grad()
def validate(model, val_u8, n_bits, batch=100):
    gen = torch.Generator().manual_seed(1234)  # fixed dequantisation noise: comparable across evaluations
    total = 0.0
    for i in range(0, len(val_u8), batch):
        x = preprocess(val_u8[i:i + batch], n_bits, gen)
        total += nll_bits_per_dim(model, x, n_bits).sum().item()
    return total / len(val_u8)


def atomic_save(obj, path):
    tmp = path + ".tmp"
    torch.save(obj, tmp)
    os.replace(tmp, path)


def export(model_ema, args, out, extra):
    atomic_save(model_ema.state_dict(), os.path.join(out, "glowmodel.pt"))
    cfg = {"K": args.K, "L": args.L, "coupling": "affine", "last_zeros": True, "n_bits_x": args.n_bits,
           "size": 64, "hidden": args.hidden, "squeeze": "spatial", "top_step_coupling_bias": args.top_bias}
    cfg.update(extra)
    with open(os.path.join(out, "configs.json"), "w") as f:
        json.dump(cfg, f, indent=1)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--data", required=True)
    p.add_argument("--val", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--resume", action="store_true")
    p.add_argument("--K", type=int, default=8)
    p.add_argument("--L", type=int, default=4)
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--top-bias", type=float, default=0.0)
    p.add_argument("--n-bits", type=int, default=5)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--warmup", type=int, default=500)
    p.add_argument("--ema", type=float, default=0.999)
    p.add_argument("--no-flip", action="store_true")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--minutes", type=float, default=0, help="stop after this much training wall time (0: never)")
    p.add_argument("--max-steps", type=int, default=0)
    p.add_argument("--val-every", type=int, default=200)
    p.add_argument("--val-limit", type=int, default=200)
    p.add_argument("--ckpt-minutes", type=float, default=5)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cpu")
    p.add_argument("--train-limit", type=int, default=0)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    os.makedirs(args.out, exist_ok=True)
    dev = torch.device(args.device)

    train_u8 = load_folder(args.data, args.train_limit or None)
    val_u8 = load_folder(args.val, args.val_limit)
    model = Glow(args.K, args.L, args.hidden, top_step_coupling_bias=args.top_bias).to(dev)
    ema = Glow(args.K, args.L, args.hidden, top_step_coupling_bias=args.top_bias).to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    gen = torch.Generator().manual_seed(args.seed)
    step, wall, epoch, perm, pos = 0, 0.0, 0, None, 0
    ckpt_path = os.path.join(args.out, "checkpoint.pt")

    if args.resume and os.path.exists(ckpt_path):
        ck = torch.load(ckpt_path, map_location=dev)
        model.load_state_dict(ck["model"])
        ema.load_state_dict(ck["ema"])
        opt.load_state_dict(ck["opt"])
        gen.set_state(ck["gen"])
        torch.set_rng_state(ck["torch_rng"])
        step, wall, epoch, perm, pos = ck["step"], ck["wall"], ck["epoch"], ck["perm"], ck["pos"]
        for m in list(model.modules()) + list(ema.modules()):
            if hasattr(m, "initialized"):
                m.initialized.fill_(1)
        print(f"resumed at step {step} ({wall / 60:.1f} min)", flush=True)
    else:
        # Data-dependent ActNorm initialisation on a larger batch than a training step uses.
        with torch.no_grad():
            model.encode(preprocess(train_u8[torch.randperm(len(train_u8), generator=gen)[:256]], args.n_bits, gen).to(dev))
        ema.load_state_dict(model.state_dict())
        for m in ema.modules():
            if hasattr(m, "initialized"):
                m.initialized.fill_(1)

    stop = {"now": False}

    def on_signal(signum, frame):
        stop["now"] = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    log = open(os.path.join(args.out, "log.jsonl"), "a")

    def checkpoint(val_bpd=None):
        atomic_save({"model": model.state_dict(), "ema": ema.state_dict(), "opt": opt.state_dict(),
                     "gen": gen.get_state(), "torch_rng": torch.get_rng_state(), "step": step, "wall": wall,
                     "epoch": epoch, "perm": perm, "pos": pos, "args": vars(args)}, ckpt_path)
        extra = {"trained_steps": step, "train_minutes": round(wall / 60, 1), "trainer": "training/torch/train_glow.py"}
        if val_bpd is not None:
            extra["val_bits_per_dim"] = round(val_bpd, 4)
        export(ema, args, args.out, extra)

    last_ckpt = time.time()
    t_last = time.time()
    last_val = None
    while not stop["now"]:
        if perm is None or pos + args.batch > len(perm):
            perm, pos, epoch = torch.randperm(len(train_u8), generator=gen), 0, epoch + (perm is not None)
        idx = perm[pos:pos + args.batch]
        pos += args.batch
        x = preprocess(train_u8[idx], args.n_bits, gen)
        if not args.no_flip:
            flip = torch.rand(len(idx), generator=gen) < 0.5
            x[flip] = x[flip].flip(3)
        x = x.to(dev)
        lr = args.lr * min(1.0, (step + 1) / args.warmup)
        for g in opt.param_groups:
            g["lr"] = lr
        loss = nll_bits_per_dim(model, x, args.n_bits).mean()
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_value_(model.parameters(), 5)
        gnorm = torch.nn.utils.clip_grad_norm_(model.parameters(), 100)
        if torch.isfinite(loss):
            opt.step()
            with torch.no_grad():
                for pe, pm in zip(ema.parameters(), model.parameters()):
                    pe.mul_(args.ema).add_(pm, alpha=1 - args.ema)
        step += 1
        now = time.time()
        wall += now - t_last
        t_last = now
        if step % 20 == 0:
            log.write(json.dumps({"step": step, "minutes": round(wall / 60, 2), "train_bpd": round(loss.item(), 4),
                                  "grad_norm": round(float(gnorm), 2), "lr": lr}) + "\n")
            log.flush()
            print(f"step {step} {wall / 60:.1f} min train {loss.item():.3f} bits/dim", flush=True)
        if step % args.val_every == 0:
            last_val = validate(ema, val_u8.to(dev), args.n_bits)
            log.write(json.dumps({"step": step, "minutes": round(wall / 60, 2), "val_bpd_ema": round(last_val, 4)}) + "\n")
            log.flush()
            print(f"step {step} val (EMA) {last_val:.4f} bits/dim", flush=True)
            t_last = time.time()  # validation time is not training time
        if now - last_ckpt > args.ckpt_minutes * 60:
            checkpoint(last_val)
            last_ckpt = time.time()
        if (args.minutes and wall >= args.minutes * 60) or (args.max_steps and step >= args.max_steps):
            break
    checkpoint(last_val)
    print(f"stopped at step {step}; checkpoint written", flush=True)


if __name__ == "__main__":
    main()
