#!/usr/bin/env python3
"""Record PyTorch's results for the text-encoder ops of the compute core (nn.GRU, nn.RNN with
ReLU, nn.MaxPool1d, the DS-SJE loss) as a safetensors fixture for tests/unit/test_text_ops_torch.cc.

Regenerate (from the repository root; deterministic, byte-identical on rerun):

    /usr/bin/python3 tests/torch/make_text_op_fixtures.py [--out tests/data/torch/text_ops.safetensors]

float32, CPU, torch.set_num_threads(1); every random draw comes from one torch.Generator seeded
with SEED = 2016, in the order the tensors are listed below. Sizes in SIZES (also in the file's
__metadata__); the file is a few KB.

Tensors (L = sum(out * R) for a fixed random R of out's shape; grad/* are dL/d*):
  gru/x [N,T,I], gru/weight_ih [3H,I], gru/weight_hh [3H,H], gru/bias_ih [3H], gru/bias_hh [3H]
      (U(-1/sqrt(H), 1/sqrt(H)), as nn.GRU's own init), gru/R [N,T,H]
  gru/H [N,T,H]     nn.GRU(I, H, batch_first=True)(x, h0 = 0) output
  gru/grad/x, gru/grad/weight_ih, gru/grad/weight_hh, gru/grad/bias_ih, gru/grad/bias_hh
  rnn_relu/...      the same for nn.RNN(I, H, nonlinearity='relu', batch_first=True)
  maxpool/x [N,C,T], maxpool/R, maxpool/y = nn.MaxPool1d(3, 3)(x), maxpool/grad/x
  dssje/v [B,D], dssje/t [B,D]; s = v t^T;
  dssje/loss [1]    1/B^2 sum_i sum_{j != i} relu(1 + s_ij - s_ii) + relu(1 + s_ji - s_ii)
  dssje/grad/v, dssje/grad/t
"""
import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import t2i_nets  # noqa: E402

SEED = 2016
SIZES = dict(rnn_n=3, rnn_t=7, rnn_i=5, rnn_h=6, pool_n=2, pool_c=4, pool_t=13, dssje_b=6, dssje_d=8)


def record_rnn(prefix, module, gen, rec):
    s = SIZES
    N, T, I, H = s["rnn_n"], s["rnn_t"], s["rnn_i"], s["rnn_h"]
    G = module.weight_ih_l0.shape[0] // H
    k = 1.0 / H ** 0.5
    x = torch.randn(N, T, I, generator=gen)
    params = {
        "weight_ih": (torch.rand(G * H, I, generator=gen) * 2 - 1) * k,
        "weight_hh": (torch.rand(G * H, H, generator=gen) * 2 - 1) * k,
        "bias_ih": (torch.rand(G * H, generator=gen) * 2 - 1) * k,
        "bias_hh": (torch.rand(G * H, generator=gen) * 2 - 1) * k,
    }
    R = torch.randn(N, T, H, generator=gen)
    with torch.no_grad():
        for name, t in params.items():
            getattr(module, name + "_l0").copy_(t)
    x.requires_grad_(True)
    out, _ = module(x)
    (out * R).sum().backward()
    rec[prefix + "x"] = x.detach().clone()
    for name, t in params.items():
        rec[prefix + name] = t
    rec[prefix + "R"] = R
    rec[prefix + "H"] = out.detach().clone()
    rec[prefix + "grad/x"] = x.grad.detach().clone()
    for name in params:
        rec[prefix + "grad/" + name] = getattr(module, name + "_l0").grad.detach().clone()


def dssje(v, t):
    B = v.shape[0]
    s = v @ t.t()
    diag = s.diagonal()
    off = 1.0 - torch.eye(B)
    rows = torch.relu(1 + s - diag[:, None]) * off     # [i, j]: 1 + s_ij - s_ii
    cols = torch.relu(1 + s.t() - diag[:, None]) * off  # [i, j]: 1 + s_ji - s_ii
    return (rows.sum() + cols.sum()) / (B * B)


def record():
    s = SIZES
    torch.manual_seed(SEED)
    gen = torch.Generator().manual_seed(SEED)
    rec = {}
    I, H = s["rnn_i"], s["rnn_h"]
    record_rnn("gru/", torch.nn.GRU(I, H, batch_first=True), gen, rec)
    record_rnn("rnn_relu/", torch.nn.RNN(I, H, nonlinearity="relu", batch_first=True), gen, rec)

    x = torch.randn(s["pool_n"], s["pool_c"], s["pool_t"], generator=gen).requires_grad_(True)
    pool = torch.nn.MaxPool1d(3, 3)
    R = torch.randn(s["pool_n"], s["pool_c"], (s["pool_t"] - 3) // 3 + 1, generator=gen)
    y = pool(x)
    (y * R).sum().backward()
    rec.update({"maxpool/x": x.detach().clone(), "maxpool/R": R, "maxpool/y": y.detach().clone(),
                "maxpool/grad/x": x.grad.detach().clone()})

    B, D = s["dssje_b"], s["dssje_d"]
    v = (torch.randn(B, D, generator=gen) / D ** 0.5).requires_grad_(True)
    t = (torch.randn(B, D, generator=gen) / D ** 0.5 + 0.5 * v.detach()).requires_grad_(True)
    loss = dssje(v, t)
    loss.backward()
    rec.update({"dssje/v": v.detach().clone(), "dssje/t": t.detach().clone(), "dssje/loss": loss.detach().reshape(1),
                "dssje/grad/v": v.grad.detach().clone(), "dssje/grad/t": t.grad.detach().clone()})
    return rec


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "torch",
                                                  "text_ops.safetensors"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    rec = record()
    meta = {"made_by": "tests/torch/make_text_op_fixtures.py", "torch": torch.__version__, "seed": str(SEED)}
    meta.update({k: str(v) for k, v in SIZES.items()})
    n = t2i_nets.save_safetensors(args.out, rec, meta)
    with open(args.out, "rb") as f:
        back, _ = t2i_nets.parse_safetensors(f.read())
    for name, t in rec.items():
        if not torch.equal(back[name], t):
            sys.exit("%s: read back differently" % name)
    print("wrote %s (%d bytes, %d tensors)" % (os.path.normpath(args.out), n, len(rec)))


if __name__ == "__main__":
    main()
