#!/usr/bin/env python3
"""Record one training step of each of the paper's four GAN variants (GAN, GAN-CLS, GAN-INT,
GAN-INT-CLS; PAPER.md section 5) with the reference networks (t2i_nets.py), as one safetensors
fixture for common/nn/gan_step.cc to be tested against (tests/unit/test_gan_variants.cc).

Regenerate (from the repository root; byte-identical on rerun with the same torch and BLAS):

    /usr/bin/python3 tests/torch/make_gan_variant_fixtures.py [--out-dir tests/data/torch]

writes gan_variants.safetensors, then re-reads it and checks it against what was meant.

Sizes (SIZES; also in __metadata__): plain arch, batch B=6 (so the interpolated half batch has 3
rows: batch norm over 2 rows saturates), z_dim=10, emb_dim=24, proj_dim=8, ngf=ndf=2 (small
widths keep the file near 1.2 MB). float32, CPU, torch.set_num_threads(1). Every random draw
comes from one torch.Generator seeded with SEED, in this order: init_weights(G), init_weights(D),
x_real U8 [B,3,64,64] (the networks see x / 127.5 - 1, as train-gan feeds them), emb_right N(0,1) [B,emb], emb_wrong N(0,1) [B,emb], z N(0,1) [B,z], z_int N(0,1) [B/2,z],
z_ms N(0,1) [B,z], then the augmentation draws of int-cls-ms-aug, each int32 [rows,4] of (dy, dx)
uniform in [-8, 8] and (cy, cx) uniform in [0, 63]: aug_real, aug_wrong, aug_fake, aug_gen [B,4],
aug_int [B/2,4] (the shift and centre columns drawn as two randint calls per tensor).

The "wrong" pair of the cls variants is the authors' code's: a wrong real image with the right
text, s_w = D(x_wrong, emb_right), where x_wrong = x_real rolled by one row (x_wrong[i] =
x_real[(i + 1) % B], not stored); emb_wrong is recorded for the Algorithm 1 form
(s_w = D(x_real, emb_wrong)), which the fixture of make_gan_fixtures.py covers.

Every variant starts from the same init/ weights with fresh Adam (lr 2e-4, betas (0.5, 0.999),
eps 1e-8). Per variant V in gan, cls, int, int-cls (cls_weight 0 or 0.5, interp_weight 0 or 1,
beta 0.5), and cls-ms and int-cls-ms (with the mode-seeking term of Mao et al. 2019, ms_weight 1;
int-cls-ms is train-gan's default), and int-cls-ms8 (the term's image distance on 8 x 8 block
means, train-gan --ms-pool 8), and int-cls-ms-aug (int-cls-ms with DiffAugment's translation and
cutout of every image D sees, train-gan --augment translation,cutout: T(x, p) shifts image n by
(dy, dx) with zero fill and zeroes the 32 x 32 square of rows [cy - 16, cy + 16) and columns
[cx - 16, cx + 16), built here from padding, slicing and a mask; the gradient flows through it),
and int-cls-ms8-edges (the term's image distance on the differences of horizontally adjacent 8 x 8
block means, train-gan --ms-pool 8 --ms-image edges), and int-cls-ms-text and cls-text (int-cls-ms and cls with D's
text head, train-gan --text-head 0.75: text(x) = aux(sum over the 4 x 4 positions of D's features
before the text joins them), a Linear(8 ndf, emb_dim) whose init is drawn after everything above,
aux.weight N(0, 0.02) [emb, 8 ndf] then aux.bias 0; D pays 0.75 mse(text(x_real), h), G
0.75 mse(text(fake), h) through s_g's pass), and int-cls-ms-shift (int-cls-ms with G's text shifts,
train-gan --g-text-shift: before bn1, bn2 and bn3 G adds shift1..3(h_proj), bias-free
Linear(proj_dim, channels), at every position; their weights N(0, 0.02), shift1 then shift2 then
shift3, drawn after aux's):
  D step: s_r = D(x, h); [cls] s_w = D(x_wrong, h); s_f = D(fake.detach(), h), fake = G(z, h)
    loss_d = bce(s_r,1) + cls_weight*bce(s_w,0) + (1-cls_weight)*bce(s_f,0)
  G step: s_g = D(fake, h) (the same fake, the stepped D);
    [int] h_int = 0.5*h[:B/2] + 0.5*h[B/2:], fake_int = G(z_int, h_int), s_i = D(fake_int, h_int)
    [ms] fake_ms = G(z_ms, h), r = mean|P(fake) - P(fake_ms)| / mean|z - z_ms|, P the identity,
         or avg_pool2d(8) for int-cls-ms8, or avg_pool2d(8) then p[..., 1:] - p[..., :-1] for
         int-cls-ms8-edges
    loss_g = bce(s_g,1) + interp_weight*bce(s_i,1) + ms_weight / (r + 1e-5)
  [text] loss_d += text_weight * mse(text(x_real), h); loss_g += text_weight * mse(text(fake), h)
  With augmentation every D input above is T(input, in/aug_<pass>): real, wrong, fake (the D
  step), gen (s_g's pass), int (s_i's pass); the mode-seeking distance is on the images themselves.
  Recorded: V/out/{s_r,s_w,s_f,s_g,s_i,ms_ratio,text_real,text_fake,loss_d,loss_g} (s_w, s_i,
  ms_ratio, text_* only where used; text_* the two mse values),
  V/grad/G/<param>, V/step/G/<name>, and for V in gan and cls only (int's D step is gan's,
  int-cls's is cls's: the same D loss from the same start) V/grad/D/<param>, V/step/D/<name>
  (after optD.step()); the ms variants' D steps are cls's too, except int-cls-ms-aug's and
  int-cls-ms-text's and cls-text's and int-cls-ms-shift's, recorded.
Shared: in/x_real (U8), in/emb_right, in/emb_wrong, in/z, in/z_int, in/z_ms, in/aug_* (I32), init/G/*,
init/D/*, init/D_text/* (init/D/* with aux.weight and aux.bias: the -text variants' D), and
init/G_shift/* (init/G/* with shift1..3.weight: the -shift variant's G).
"""
import argparse
import hashlib
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import t2i_nets  # noqa: E402

SEED = 4321
SIZES = dict(batch=6, z_dim=10, emb_dim=24, proj_dim=8, ngf=2, ndf=2)
# variant: (cls_weight, interp_weight, ms_weight, ms_pool, augment); "-edges": the mode-seeking
# distance on the differences of horizontally adjacent block means (train-gan --ms-image edges);
# "-text": D's text head with weight TEXT_WEIGHT (train-gan --text-head); "-shift": G's text shifts
# (train-gan --g-text-shift)
VARIANTS = {"gan": (0.0, 0.0, 0.0, 1, False), "cls": (0.5, 0.0, 0.0, 1, False), "int": (0.0, 1.0, 0.0, 1, False),
            "int-cls": (0.5, 1.0, 0.0, 1, False), "cls-ms": (0.5, 0.0, 1.0, 1, False),
            "int-cls-ms": (0.5, 1.0, 1.0, 1, False), "int-cls-ms8": (0.5, 1.0, 1.0, 8, False),
            "int-cls-ms-aug": (0.5, 1.0, 1.0, 1, True), "int-cls-ms8-edges": (0.5, 1.0, 1.0, 8, False),
            "int-cls-ms-text": (0.5, 1.0, 1.0, 1, False), "cls-text": (0.5, 0.0, 0.0, 1, False),
            "int-cls-ms-shift": (0.5, 1.0, 1.0, 1, False)}
TEXT_WEIGHT = 0.75
AUG_SHIFT, AUG_CUT = 8, 32
MS_EPS = 1e-5
BETA = 0.5
REGENERATE = "/usr/bin/python3 tests/torch/make_gan_variant_fixtures.py --out-dir tests/data/torch"


def _adam(net):
    return torch.optim.Adam(net.parameters(), lr=2e-4, betas=(0.5, 0.999), eps=1e-8, foreach=False)


def shift_cutout(x, p, cut):
    """y[n,:,i,j] = x[n,:,i-dy,j-dx] (0 outside), 0 in the cut x cut square around (cy, cx)."""
    _, _, H, W = x.shape
    out = []
    for n, (dy, dx, cy, cx) in enumerate(p.tolist()):
        xp = F.pad(x[n], (W, W, H, H))
        y = xp[:, H - dy:2 * H - dy, W - dx:2 * W - dx]
        mask = torch.ones(H, W)
        y0, x0 = cy - cut // 2, cx - cut // 2
        mask[max(0, y0):max(0, y0 + cut), max(0, x0):max(0, x0 + cut)] = 0
        out.append(y * mask)
    return torch.stack(out)


def _draws(rows, gen):
    shift = torch.randint(-AUG_SHIFT, AUG_SHIFT + 1, (rows, 2), generator=gen)
    centre = torch.randint(0, 64, (rows, 2), generator=gen)
    return torch.cat([shift, centre], 1).to(torch.int32)


def _nets(s, text_head=False, text_shift=False):
    G = t2i_nets.Generator(s["z_dim"], s["emb_dim"], s["proj_dim"], s["ngf"], "plain", text_shift=text_shift)
    D = t2i_nets.Discriminator(s["emb_dim"], s["proj_dim"], s["ndf"], "plain", text_head=text_head)
    return G, D


def record():
    s = SIZES
    B = s["batch"]
    torch.manual_seed(SEED)
    gen = torch.Generator().manual_seed(SEED)
    G0, D0 = _nets(s)
    t2i_nets.init_weights(G0, gen)
    t2i_nets.init_weights(D0, gen)
    x_real_u8 = torch.randint(0, 256, (B, 3, 64, 64), generator=gen, dtype=torch.uint8)
    emb_right = torch.randn(B, s["emb_dim"], generator=gen)
    emb_wrong = torch.randn(B, s["emb_dim"], generator=gen)
    z = torch.randn(B, s["z_dim"], generator=gen)
    z_int = torch.randn(B // 2, s["z_dim"], generator=gen)
    z_ms = torch.randn(B, s["z_dim"], generator=gen)
    aug = {k: _draws(B // 2 if k == "int" else B, gen) for k in ("real", "wrong", "fake", "gen", "int")}
    rec = {"in/x_real": x_real_u8, "in/emb_right": emb_right,
           "in/emb_wrong": emb_wrong, "in/z": z, "in/z_int": z_int, "in/z_ms": z_ms}
    for k, t in aug.items():
        rec["in/aug_" + k] = t
    for name, t in G0.state_dict().items():
        rec["init/G/" + name] = t.detach().clone()
    for name, t in D0.state_dict().items():
        rec["init/D/" + name] = t.detach().clone()
    D0_text = _nets(s, text_head=True)[1]
    with torch.no_grad():
        D0_text.load_state_dict(D0.state_dict(), strict=False)
        D0_text.aux.weight.copy_(torch.randn(D0_text.aux.weight.shape, generator=gen) * 0.02)
        D0_text.aux.bias.zero_()
    for name, t in D0_text.state_dict().items():
        rec["init/D_text/" + name] = t.detach().clone()
    G0_shift = _nets(s, text_shift=True)[0]
    with torch.no_grad():
        G0_shift.load_state_dict(G0.state_dict(), strict=False)
        for i in (1, 2, 3):
            w = getattr(G0_shift, "shift%d" % i).weight
            w.copy_(torch.randn(w.shape, generator=gen) * 0.02)
    for name, t in G0_shift.state_dict().items():
        rec["init/G_shift/" + name] = t.detach().clone()
    x_real = x_real_u8.float() / 127.5 - 1
    x_wrong = torch.roll(x_real, -1, dims=0)
    bce = F.binary_cross_entropy_with_logits
    h = emb_right
    half = B // 2
    h_int = BETA * h[:half] + (1 - BETA) * h[half:2 * half]

    for v, (cls_w, int_w, ms_w, ms_pool, augment) in VARIANTS.items():
        def T(img, which):
            return shift_cutout(img, aug[which], AUG_CUT) if augment else img

        text_w = TEXT_WEIGHT if v.endswith("-text") else 0.0
        shift = v.endswith("-shift")
        G, D = _nets(s, text_head=text_w > 0, text_shift=shift)
        G.load_state_dict((G0_shift if shift else G0).state_dict())
        D.load_state_dict((D0_text if text_w > 0 else D0).state_dict())
        G.train()
        D.train()
        optG, optD = _adam(G), _adam(D)
        out = {}
        fake = G(z, h)
        optD.zero_grad()
        s_r = D(T(x_real, "real"), h)
        loss_d = bce(s_r, torch.ones(B))
        out["s_r"] = s_r
        if text_w > 0:
            text_real = F.mse_loss(D.text, h)
            loss_d = loss_d + text_w * text_real
            out["text_real"] = text_real.reshape(1)
        if cls_w > 0:
            s_w = D(T(x_wrong, "wrong"), h)
            loss_d = loss_d + cls_w * bce(s_w, torch.zeros(B))
            out["s_w"] = s_w
        s_f = D(T(fake.detach(), "fake"), h)
        loss_d = loss_d + (1 - cls_w) * bce(s_f, torch.zeros(B))
        out["s_f"] = s_f
        loss_d.backward()
        out["loss_d"] = loss_d.reshape(1)
        d_recorded = (int_w == 0 and ms_w == 0) or augment or text_w > 0 or shift
        if d_recorded:
            for name, p in D.named_parameters():
                rec["%s/grad/D/%s" % (v, name)] = p.grad.detach().clone()
        optD.step()
        step_d = {name: t.detach().clone() for name, t in D.state_dict().items()}

        optG.zero_grad()
        s_g = D(T(fake, "gen"), h)
        loss_g = bce(s_g, torch.ones(B))
        out["s_g"] = s_g
        if text_w > 0:
            text_fake = F.mse_loss(D.text, h)
            loss_g = loss_g + text_w * text_fake
            out["text_fake"] = text_fake.reshape(1)
        if int_w > 0:
            fake_int = G(z_int, h_int)
            s_i = D(T(fake_int, "int"), h_int)
            loss_g = loss_g + int_w * bce(s_i, torch.ones(half))
            out["s_i"] = s_i
        if ms_w > 0:
            fake_ms = G(z_ms, h)
            a, b = fake, fake_ms
            if ms_pool > 1:
                a, b = F.avg_pool2d(a, ms_pool), F.avg_pool2d(b, ms_pool)
            if v.endswith("-edges"):
                a, b = a[..., 1:] - a[..., :-1], b[..., 1:] - b[..., :-1]
            ratio = torch.mean(torch.abs(a - b)) / torch.mean(torch.abs(z - z_ms))
            loss_g = loss_g + ms_w / (ratio + MS_EPS)
            out["ms_ratio"] = ratio.reshape(1)
        loss_g.backward()
        out["loss_g"] = loss_g.reshape(1)
        for name, p in G.named_parameters():
            rec["%s/grad/G/%s" % (v, name)] = p.grad.detach().clone()
        optG.step()
        if d_recorded:
            for name, t in step_d.items():
                rec["%s/step/D/%s" % (v, name)] = t
        for name, t in G.state_dict().items():
            rec["%s/step/G/%s" % (v, name)] = t.detach().clone()
        for k, t in out.items():
            rec["%s/out/%s" % (v, k)] = t.detach().clone()

    meta = {"arch": "plain", **{k: str(x) for k, x in s.items()}, "seed": str(SEED), "beta": str(BETA),
            "variants": ",".join("%s:cls_weight=%g,interp_weight=%g,ms_weight=%g%s%s" %
                                 (v, c, i, m, (",ms_pool=%d" % p if p > 1 else "") +
                                  (",ms_image=edges" if v.endswith("-edges") else ""),
                                  (",augment=translation+cutout" if a else "") +
                                  (",text_weight=%g" % TEXT_WEIGHT if v.endswith("-text") else "") +
                                  (",g_text_shift=1" if v.endswith("-shift") else ""))
                                 for v, (c, i, m, p, a) in VARIANTS.items()),
            "torch_version": torch.__version__, "regenerate": REGENERATE}
    return rec, meta


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out-dir", default="tests/data/torch")
    args = ap.parse_args()
    torch.set_num_threads(1)
    os.makedirs(args.out_dir, exist_ok=True)
    rec, meta = record()
    path = os.path.join(args.out_dir, "gan_variants.safetensors")
    n = t2i_nets.save_safetensors(path, rec, meta)
    t2i_nets.check_saved(path, rec, meta)
    with open(path, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    losses = " ".join("%s %.6f/%.6f" % (v, rec[v + "/out/loss_d"].item(), rec[v + "/out/loss_g"].item()) for v in VARIANTS)
    print("%s: %d bytes, %d tensors, loss_d/loss_g %s, sha256 %s, re-read ok" % (path, n, len(rec), losses, digest))


if __name__ == "__main__":
    main()
