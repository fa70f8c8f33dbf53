#!/usr/bin/env python3
"""t2igan GAN checkpoints and PyTorch state_dicts are the same thing, both ways:
a checkpoint t2igan wrote loads into tests/torch/t2i_nets.py:TextToImageGAN with
load_state_dict(strict=True) and gives the same outputs; the state_dict PyTorch then saves
loads back into t2igan (names, shapes and dtypes checked) and gives them again.

    state_dict_roundtrip.py <t2i_model_probe> <scratch-dir>
Exit 0 on success, 1 on a mismatch, 77 (skip) when torch is not installed."""
import os
import subprocess
import sys

try:
    import torch
except ImportError:
    print("skipped: no torch (Debian: apt-get install python3-torch)")
    sys.exit(77)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import t2i_nets  # noqa: E402

probe, tmp = sys.argv[1], sys.argv[2]
failures = 0


def check(cond, what):
    global failures
    print(("ok: " if cond else "FAIL: ") + what)
    failures += not cond


def close(a, b, tol=1e-4):
    return float((a - b).norm() / max(float(b.norm()), 1e-6)) < tol


# "+text": the discriminator with its text head (train-gan --text-head), whose reading of the
# image must agree too; "+shift": the generator with its text shifts (train-gan --g-text-shift).
for arch in ("plain", "v2", "plain+text", "v2+shift"):
    ck, io, back, out = (os.path.join(tmp, "%s-%s.safetensors" % (arch, n)) for n in ("t2i", "io", "torch", "out"))
    subprocess.run([probe, "write", arch, ck, io], check=True)
    tensors, meta = t2i_nets.load_safetensors(ck)
    text, shift = "+text" in arch, "+shift" in arch
    check(meta.get("model") == "t2igan-gan" and meta.get("arch") == arch.split("+")[0] and
          (meta.get("d_text_head") == "1") == text and (meta.get("g_text_shift") == "1") == shift,
          "%s: metadata names the model" % arch)
    model = t2i_nets.TextToImageGAN.from_metadata(meta)
    weights = {k: v for k, v in tensors.items() if not k.startswith("optimizer.")}
    result = model.load_state_dict(weights, strict=True)
    check(not result.missing_keys and not result.unexpected_keys, "%s: load_state_dict(strict=True) takes every tensor" % arch)
    check(any(k.startswith("optimizer.generator.") and k.endswith(".exp_avg") for k in tensors),
          "%s: the checkpoint carries the Adam state per parameter" % arch)
    model.eval()
    io_t, _ = t2i_nets.load_safetensors(io)
    with torch.no_grad():
        g = model.generator(io_t["in/z"], io_t["in/emb"])
        d = model.discriminator(io_t["in/image"], io_t["in/emb"])
    check(close(g, io_t["out/g"]) and close(d, io_t["out/d"]), "%s: PyTorch gives t2igan's outputs" % arch)
    if text:
        check(close(model.discriminator.text, io_t["out/text"]), "%s: PyTorch's text head reads the image as t2igan's" % arch)

    # Back: PyTorch's own state_dict, in its own order, into t2igan.
    t2i_nets.save_safetensors(back, model.state_dict(), model.metadata())
    subprocess.run([probe, "run", back, io, out], check=True)
    out_t, _ = t2i_nets.load_safetensors(out)
    check(close(out_t["out/g"], g) and close(out_t["out/d"], d) and
          (not text or close(out_t["out/text"], io_t["out/text"])), "%s: t2igan loads PyTorch's state_dict and agrees" % arch)

    # A state_dict of another width is refused with the tensor that differs.
    wrong = t2i_nets.TextToImageGAN.from_metadata(dict(meta, ngf=str(int(meta["ngf"]) * 2)))
    t2i_nets.save_safetensors(back, wrong.state_dict(), meta)
    r = subprocess.run([probe, "run", back, io, out], capture_output=True, text=True)
    check(r.returncode != 0 and "generator." in r.stderr and "expected" in r.stderr,
          "%s: a checkpoint of other shapes is refused naming the tensor: %s" % (arch, r.stderr.strip()))

sys.exit(1 if failures else 0)
