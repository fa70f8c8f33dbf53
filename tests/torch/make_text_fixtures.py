#!/usr/bin/env python3
"""Record one DS-SJE training step of the reference text and image encoders (t2i_text_nets.py)
as a safetensors fixture, for the C++ encoders (common/nn/text_encoder.h) to be tested against.

Regenerate (from the repository root; deterministic, byte-identical on rerun):

    /usr/bin/python3 tests/torch/make_text_fixtures.py [--out-dir tests/data/torch] [--selftest]

writes text_step.safetensors, then re-reads it and checks it against what was meant to be
written. --selftest also runs t2i_text_nets' self-test and checks the recorded step against a
second, independent computation of the loss by loops.

The step runs in float64 from the float32 initial values and inputs and is recorded rounded to
float32 (see record()). Sizes (small, to keep the file under 500 KB): B=4, text encoder c1=c2=c3=16 with a GRU,
emb_dim=16, image encoder ndf=4 (SIZES below; also in __metadata__). float32, CPU,
torch.set_num_threads(1), seed SEED = 4321; every random draw comes from one torch.Generator in
this order: init_text(T), init_image(I), the images' bytes.

Inputs are stored compactly as uint8 and converted identically on both sides:
  in/captions  U8 [B,70,201]  the one-hot captions (metadata caption0..caption3 hold the text,
                              encoded with the rules of common/text/charset.cc)
  in/images    U8 [B,3,64,64] random bytes; the image is float32(byte) / 127.5 - 1
Recorded (names after the prefix are the state_dict / parameter names):
  init/text/<name>, init/image/<name>   state_dicts after init (BN buffers F32,
                                        num_batches_tracked I64 with shape [])
  out/v [B,emb], out/t [B,emb]          ImageEncoder(images) (train mode), TextEncoder(captions)
  out/loss [1]                          dssje_loss(v, t)
  grad/text/<param>, grad/image/<param> its gradients
  step/text/<name>, step/image/<name>   state_dicts after one RMSprop step on each net
                                        (lr 7e-4, alpha 0.99, eps 1e-8, PyTorch's rule)
  norm/out/v, norm/out/t, norm/out/loss, norm/grad/..., norm/step/...
                                        the same from the same init with both embeddings
                                        scaled to L2 norm NORM (train-text --norm) and one Adam
                                        step (lr 2e-4, betas (0.5, 0.999), eps 1e-8): train-text's
                                        default recipe
"""
import argparse
import hashlib
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import t2i_nets  # noqa: E402  (safetensors I/O)
import t2i_text_nets as tn  # noqa: E402

SEED = 4321
SIZES = dict(batch=4, c1=16, c2=16, c3=16, emb_dim=16, ndf=4)
CELL = "gru"
CAPTIONS = [
    "this bird has a red crown and a white belly",
    "A small Yellow bird with black wings, short beak & grey-brown feet.",
    "the flower has five large purple petals; its stamen is bright (pale?) yellow",
    "caf\u00e9-coloured bird: 2 white wing-bars, a long tail... & \"orange\" eyes!",
]
REGENERATE = "/usr/bin/python3 tests/torch/make_text_fixtures.py --out-dir tests/data/torch"
RMSPROP = dict(lr=7e-4, alpha=0.99, eps=1e-8)
ADAM = dict(lr=2e-4, betas=(0.5, 0.999), eps=1e-8)
NORM = 4.0


def _clone_state(prefix, net, rec):
    for name, t in net.state_dict().items():
        t = t.detach().clone()
        rec[prefix + name] = t.float() if t.is_floating_point() else t


def record():
    s = SIZES
    B = s["batch"]
    torch.manual_seed(SEED)
    gen = torch.Generator().manual_seed(SEED)
    T = tn.TextEncoder(70, s["c1"], s["c2"], s["c3"], CELL, s["emb_dim"])
    I = tn.ImageEncoder(s["ndf"], s["emb_dim"])
    tn.init_text(T, gen)
    tn.init_image(I, gen)
    images_u8 = torch.randint(0, 256, (B, 3, 64, 64), generator=gen, dtype=torch.int64).to(torch.uint8)
    captions = tn.one_hot(CAPTIONS)
    images = images_u8.to(torch.float32) / 127.5 - 1.0

    rec = {"in/captions": captions.to(torch.uint8), "in/images": images_u8}
    _clone_state("init/text/", T, rec)
    _clone_state("init/image/", I, rec)
    # The step itself runs in float64 from the float32 values (exactly representable) and is
    # recorded rounded to float32: at this initialisation every hinge term is active, the loss is
    # bilinear in v and t, and some gradients are sums that cancel (fc.bias and conv4.bias to
    # exactly zero), which float32 would record as its own rounding noise.
    T.double()
    I.double()
    images = images.double()
    captions = captions.double()

    init_t = {k: v.clone() for k, v in T.state_dict().items()}
    init_i = {k: v.clone() for k, v in I.state_dict().items()}

    def one_step(prefix, make_opt, norm):
        T.load_state_dict(init_t)
        I.load_state_dict(init_i)
        T.train()
        I.train()
        opt_t = make_opt(T.parameters())
        opt_i = make_opt(I.parameters())
        v = I(images)
        t = T(captions)
        if norm > 0:
            v = torch.nn.functional.normalize(v, dim=1) * norm
            t = torch.nn.functional.normalize(t, dim=1) * norm
        loss = tn.dssje_loss(v, t)
        loss.backward()
        rec[prefix + "out/v"] = v.detach().float().clone()
        rec[prefix + "out/t"] = t.detach().float().clone()
        rec[prefix + "out/loss"] = loss.detach().reshape(1).float().clone()
        for name, p in T.named_parameters():
            rec[prefix + "grad/text/" + name] = p.grad.detach().float().clone()
        for name, p in I.named_parameters():
            rec[prefix + "grad/image/" + name] = p.grad.detach().float().clone()
        opt_t.step()
        opt_i.step()
        _clone_state(prefix + "step/text/", T, rec)
        _clone_state(prefix + "step/image/", I, rec)

    one_step("", lambda ps: torch.optim.RMSprop(ps, foreach=False, **RMSPROP), 0.0)
    one_step("norm/", lambda ps: torch.optim.Adam(ps, foreach=False, **ADAM), NORM)

    meta = {**{k: str(v) for k, v in s.items()}, "cell": CELL, "seed": str(SEED),
            "torch_version": torch.__version__, "regenerate": REGENERATE,
            "step": "DS-SJE; RMSprop lr 7e-4 alpha 0.99 eps 1e-8 on both nets",
            "norm": str(NORM), "norm_step": "DS-SJE on embeddings of L2 norm 'norm'; Adam lr 2e-4 betas 0.5,0.999 eps 1e-8"}
    for i, c in enumerate(CAPTIONS):
        meta["caption%d" % i] = c
    return rec, meta


def self_check(path, rec, meta):
    t2i_nets.check_saved(path, rec, meta)


def selftest(rec):
    if tn._selftest() != 0:
        raise SystemExit("t2i_text_nets self-test failed")
    v, t = rec["out/v"].double(), rec["out/t"].double()
    B = v.shape[0]
    s = v @ t.t()
    loss = sum(max(0.0, 1 + s[i, j] - s[i, i]) + max(0.0, 1 + s[j, i] - s[i, i])
               for i in range(B) for j in range(B) if i != j) / (B * B)
    if abs(float(loss) - rec["out/loss"].item()) > 1e-5:
        raise SystemExit("loss by loops %.7f differs from %.7f" % (float(loss), rec["out/loss"].item()))
    # every caption has some symbols, each one-hot column at most one 1
    c = rec["in/captions"].to(torch.int64)
    if int(c.sum(1).max()) != 1 or not (c.sum((1, 2)) > 20).all():
        raise SystemExit("one-hot captions malformed")
    # every gradient is nonzero (the hinge terms are active at this init)
    for name, g in rec.items():
        if name.startswith("grad/") and float(g.abs().max()) == 0.0:
            raise SystemExit("gradient %s is all zero" % name)
    print("selftest ok: loss %.6f (loops %.6f)" % (rec["out/loss"].item(), float(loss)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out-dir", default="tests/data/torch")
    ap.add_argument("--selftest", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(1)
    os.makedirs(args.out_dir, exist_ok=True)
    rec, meta = record()
    if args.selftest:
        selftest(rec)
    path = os.path.join(args.out_dir, "text_step.safetensors")
    n = t2i_nets.save_safetensors(path, rec, meta)
    self_check(path, rec, meta)
    with open(path, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    print("%s: %d bytes, %d tensors, loss %.6f, sha256 %s, re-read ok" % (
        path, n, len(rec), rec["out/loss"].item(), digest))


if __name__ == "__main__":
    main()
