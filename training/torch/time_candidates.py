"""Times a training step (batch 16, 2 threads) for candidate Glow architectures; prints a JSON line per candidate."""
import json, sys, time, os, torch
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from glow import Glow, nll_bits_per_dim
torch.set_num_threads(int(os.environ.get("THREADS", "2")))
cands = [(8, 4, 128), (8, 4, 256), (16, 4, 128), (12, 4, 192), (32, 3, 512)][: int(os.environ.get("N", "5"))]
for K, L, h in cands:
    m = Glow(K, L, h)
    opt = torch.optim.Adam(m.parameters(), 1e-4)
    x = torch.rand(16, 3, 64, 64) - 0.5
    ts = []
    for i in range(6):
        t = time.time()
        loss = nll_bits_per_dim(m, x).mean(); opt.zero_grad(); loss.backward(); opt.step()
        ts.append(time.time() - t)
    ts = sorted(ts[1:])
    print(json.dumps({"K": K, "L": L, "hidden": h, "params_M": round(sum(p.numel() for p in m.parameters()) / 1e6, 2),
                      "step_s_median": round(ts[len(ts) // 2], 3)}), flush=True)
