#!/usr/bin/env python3
"""Record one GAN-CLS training step of the reference networks (t2i_nets.py) as safetensors
fixtures, for the C++ networks to be tested against.

Regenerate (from the repository root; byte-identical on rerun with the same BLAS behind torch —
switching BLAS, e.g. netlib to OpenBLAS, changes the rounding noise of gradients that are truly
zero, such as biases before batch norm, which the C++ test compares on the net's gradient scale):

    /usr/bin/python3 tests/torch/make_gan_fixtures.py [--out-dir tests/data/torch]

writes gan_step_plain.safetensors and gan_step_v2.safetensors (one per arch) and
gan_step_v2_shift.safetensors (v2 with G's text shifts, train-gan --g-text-shift: shift1..3, their
weights drawn after G's others, and metadata g_text_shift=1), then re-reads each file and checks it
against what was meant to be written.

Sizes (small, to keep the files about 0.5 MB each): batch B=3, z_dim=12, emb_dim=32,
proj_dim=8, ngf=2, ndf=2 (SIZES below; also in each file's __metadata__). B=3 rather than 2:
with 2 samples BatchNorm1d (fc_bn) saturates to +-1 and its gradients become ill-conditioned. float32, CPU,
torch.set_num_threads(1), seed SEED = 1234: torch.manual_seed(SEED), and every random draw
comes from one torch.Generator seeded with SEED, in this order: init_weights(G), init_weights(D)
(module registration order), x_real ~ U[-1,1) [B,3,64,64], emb_right ~ N(0,1) [B,emb_dim],
emb_wrong ~ N(0,1) [B,emb_dim], z ~ N(0,1) [B,z_dim].

Tensors recorded (names after the prefix are the nets' state_dict / parameter names):
  in/x_real, in/emb_right, in/emb_wrong, in/z
  init/G/<name>, init/D/<name>   full state_dicts after init (BN running_mean/var F32,
                                 num_batches_tracked I64 with shape [])
  out/fake                       G(z, emb_right), train mode
  D step (train mode, Adam lr 2e-4, betas (0.5, 0.999), eps 1e-8; three separate D passes):
  out/s_r = D(x_real, emb_right), out/s_w = D(x_real, emb_wrong), out/s_f = D(fake.detach(), emb_right)
                                 logits [B]
  out/loss_d [1]                 bce(s_r,1) + 0.5*(bce(s_w,0) + bce(s_f,0)), bce = BCEWithLogits, mean
  grad/D/<param>                 gradients of loss_d
  step/D/<name>                  D's full state_dict after optD.step() (BN buffers after 3 passes)
  G step (D still in train mode; its BN running stats move again, not recorded):
  out/s_g = D(fake, emb_right)   logits [B] (with the stepped D)
  out/loss_g [1]                 bce(s_g, 1)
  grad/G/<param>                 gradients of loss_g
  step/G/<name>                  G's full state_dict after optG.step()
"""
import argparse
import hashlib
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import t2i_nets  # noqa: E402

SEED = 1234
SIZES = dict(batch=3, z_dim=12, emb_dim=32, proj_dim=8, ngf=2, ndf=2)
REGENERATE = "/usr/bin/python3 tests/torch/make_gan_fixtures.py --out-dir tests/data/torch"
STEP = "GAN-CLS, D: L = bce(s_r,1) + 0.5*(bce(s_w,0)+bce(s_f,0)); G: bce(s_g,1); Adam lr 2e-4 betas 0.5,0.999 eps 1e-8"


def _clone_state(prefix, net, rec):
    for name, t in net.state_dict().items():
        rec[prefix + name] = t.detach().clone()


def _adam(net):
    return torch.optim.Adam(net.parameters(), lr=2e-4, betas=(0.5, 0.999), eps=1e-8, foreach=False)


def record(arch, text_shift=False):
    s = SIZES
    B = s["batch"]
    torch.manual_seed(SEED)
    gen = torch.Generator().manual_seed(SEED)
    G = t2i_nets.Generator(s["z_dim"], s["emb_dim"], s["proj_dim"], s["ngf"], arch, text_shift=text_shift)
    D = t2i_nets.Discriminator(s["emb_dim"], s["proj_dim"], s["ndf"], arch)
    t2i_nets.init_weights(G, gen)
    t2i_nets.init_weights(D, gen)
    x_real = torch.rand(B, 3, 64, 64, generator=gen) * 2 - 1
    emb_right = torch.randn(B, s["emb_dim"], generator=gen)
    emb_wrong = torch.randn(B, s["emb_dim"], generator=gen)
    z = torch.randn(B, s["z_dim"], generator=gen)

    rec = {"in/x_real": x_real, "in/emb_right": emb_right, "in/emb_wrong": emb_wrong, "in/z": z}
    _clone_state("init/G/", G, rec)
    _clone_state("init/D/", D, rec)

    G.train()
    D.train()
    optG, optD = _adam(G), _adam(D)
    ones, zeros = torch.ones(B), torch.zeros(B)
    bce = F.binary_cross_entropy_with_logits

    fake = G(z, emb_right)
    rec["out/fake"] = fake.detach().clone()

    # D step
    optD.zero_grad()
    s_r = D(x_real, emb_right)
    s_w = D(x_real, emb_wrong)
    s_f = D(fake.detach(), emb_right)
    loss_d = bce(s_r, ones) + 0.5 * (bce(s_w, zeros) + bce(s_f, zeros))
    loss_d.backward()
    rec["out/s_r"] = s_r.detach().clone()
    rec["out/s_w"] = s_w.detach().clone()
    rec["out/s_f"] = s_f.detach().clone()
    rec["out/loss_d"] = loss_d.detach().reshape(1).clone()
    for name, p in D.named_parameters():
        rec["grad/D/" + name] = p.grad.detach().clone()
    optD.step()
    _clone_state("step/D/", D, rec)

    # G step
    optG.zero_grad()
    s_g = D(fake, emb_right)
    loss_g = bce(s_g, ones)
    loss_g.backward()
    rec["out/s_g"] = s_g.detach().clone()
    rec["out/loss_g"] = loss_g.detach().reshape(1).clone()
    for name, p in G.named_parameters():
        rec["grad/G/" + name] = p.grad.detach().clone()
    optG.step()
    _clone_state("step/G/", G, rec)

    meta = {"arch": arch, **{k: str(v) for k, v in s.items()}, "seed": str(SEED),
            "torch_version": torch.__version__, "step": STEP, "regenerate": REGENERATE}
    if text_shift:
        meta["g_text_shift"] = "1"
    return rec, meta


def self_check(path, rec, meta):
    t2i_nets.check_saved(path, rec, meta)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out-dir", default="tests/data/torch")
    args = ap.parse_args()
    torch.set_num_threads(1)
    os.makedirs(args.out_dir, exist_ok=True)
    total = 0
    for arch, shift in (("plain", False), ("v2", False), ("v2", True)):
        rec, meta = record(arch, shift)
        path = os.path.join(args.out_dir, "gan_step_%s%s.safetensors" % (arch, "_shift" if shift else ""))
        n = t2i_nets.save_safetensors(path, rec, meta)
        self_check(path, rec, meta)
        with open(path, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        total += n
        print("%s: %d bytes, %d tensors, loss_d %.6f loss_g %.6f, sha256 %s, re-read ok" % (
            path, n, len(rec), rec["out/loss_d"].item(), rec["out/loss_g"].item(), digest))
    print("total %d bytes" % total)


if __name__ == "__main__":
    main()
