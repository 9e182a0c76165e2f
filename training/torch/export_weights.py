"""Exports the raw (`model`) or averaged (`ema`) weights of a train_glow.py checkpoint as a reference-format
state_dict, and measures validation bits/dim for both so the better one can be shipped.

  python3 training/torch/export_weights.py --ckpt training/checkpoints/glow-celeba64 --val ../shared/data/celeba64/val
"""
import argparse, json, os, sys
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from glow import Glow  # noqa: E402
from train_glow import load_folder, validate  # noqa: E402

p = argparse.ArgumentParser()
p.add_argument("--ckpt", required=True)
p.add_argument("--val", required=True)
p.add_argument("--val-limit", type=int, default=200)
a = p.parse_args()
ck = torch.load(os.path.join(a.ckpt, "checkpoint.pt"), map_location="cpu")
args = ck["args"]
val = load_folder(a.val, a.val_limit)
scores = {}
for which in ("model", "ema"):
    m = Glow(args["K"], args["L"], args["hidden"], top_step_coupling_bias=args["top_bias"])
    m.load_state_dict(ck[which])
    for mod in m.modules():
        if hasattr(mod, "initialized"):
            mod.initialized.fill_(1)
    scores[which] = validate(m, val, args["n_bits"])
    torch.save(m.state_dict(), os.path.join(a.ckpt, f"glowmodel_{which}.pt"))
best = min(scores, key=scores.get)
cfg = json.load(open(os.path.join(a.ckpt, "configs.json")))
cfg.update({"trained_steps": ck["step"], "train_minutes": round(ck["wall"] / 60, 1), "val_bits_per_dim": round(scores[best], 4),
            "val_bits_per_dim_raw": round(scores["model"], 4), "val_bits_per_dim_ema": round(scores["ema"], 4), "weights": best,
            "val_images": a.val_limit})
json.dump(cfg, open(os.path.join(a.ckpt, "configs.json"), "w"), indent=1)
os.replace(os.path.join(a.ckpt, f"glowmodel_{best}.pt"), os.path.join(a.ckpt, "glowmodel.pt"))
os.remove(os.path.join(a.ckpt, f"glowmodel_{'ema' if best == 'model' else 'model'}.pt"))
print(json.dumps({"step": ck["step"], "minutes": round(ck["wall"] / 60, 1), **scores, "shipped": best}))
