#!/usr/bin/env python3
"""Independent PyTorch reference for the t2igan GAN-CLS networks (Reed et al., ICML 2016).

The module names below are a contract: the C++ checkpoint tensor names are exactly these
state_dict names (e.g. "up0.weight", "res0.conv2.weight", "bn3.running_var").

  Generator(z_dim, emb_dim, proj_dim, ngf, arch, text_shift)
                                                      forward(z [B,z_dim], emb [B,emb_dim]) -> [B,3,64,64];
                                                      with text_shift (train-gan --g-text-shift) adds
                                                      shift1..3(h) at every position before bn1..bn3
  Discriminator(emb_dim, proj_dim, ndf, arch, text_head)
                                                      forward(image [B,3,64,64], emb [B,emb_dim]) -> logits [B];
                                                      with text_head (train-gan --text-head) also sets
                                                      .text [B,emb_dim] = aux(the 4 x 4 features summed)
  init_weights(module, generator)                     DCGAN init, drawn from `generator`
  save_safetensors(path, tensors, metadata) / load_safetensors(path) -> (tensors, metadata)

arch "plain" is the DCGAN-style network; "v2" adds the residual blocks of Reed's icml2016
code (res0/res1 in G after bn0/bn1, res3 in D after bn3; no activation between the BN and the
block, the block's output already includes the final activation).

All convolutions are bias-free; Linear layers have a bias. LeakyReLU slope 0.2. BatchNorm with
PyTorch defaults (eps 1e-5, momentum 0.1). Modules are registered in forward order, but for
the discriminator's text head (aux) and the generator's text shifts (shift1..3, bias-free: the
batch norm after them takes out any constant), registered last.

Self-test (state_dict names/shapes and parameter counts at the default sizes, output shapes):
  /usr/bin/python3 tests/torch/t2i_nets.py --selftest
"""
import json
import struct
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

LEAK = 0.2


def _act(kind, x):
    if kind == "relu":
        return F.relu(x)
    if kind == "lrelu":
        return F.leaky_relu(x, LEAK)
    raise ValueError(kind)


class ResBlock(nn.Module):
    """out = act(x + bn3(conv3(act(bn2(conv2(act(bn1(conv1(x)))))))))."""

    def __init__(self, channels, act):
        super().__init__()
        if channels % 4:
            raise ValueError("ResBlock channels must be divisible by 4, got %d" % channels)
        mid = channels // 4
        self.act = act
        self.conv1 = nn.Conv2d(channels, mid, 1, 1, 0, bias=False)
        self.bn1 = nn.BatchNorm2d(mid)
        self.conv2 = nn.Conv2d(mid, mid, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(mid)
        self.conv3 = nn.Conv2d(mid, channels, 3, 1, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(channels)

    def forward(self, x):
        h = _act(self.act, self.bn1(self.conv1(x)))
        h = _act(self.act, self.bn2(self.conv2(h)))
        h = self.bn3(self.conv3(h))
        return _act(self.act, x + h)


def _check_arch(arch):
    if arch not in ("plain", "v2"):
        raise ValueError("arch must be 'plain' or 'v2', got %r" % (arch,))


class Generator(nn.Module):
    def __init__(self, z_dim=100, emb_dim=1024, proj_dim=128, ngf=128, arch="plain", text_shift=False):
        super().__init__()
        _check_arch(arch)
        self.arch, self.z_dim, self.emb_dim, self.proj_dim, self.ngf = arch, z_dim, emb_dim, proj_dim, ngf
        self.text_shift = text_shift
        self.fc = nn.Linear(emb_dim, proj_dim)
        self.up0 = nn.ConvTranspose2d(z_dim + proj_dim, 8 * ngf, 4, 1, 0, bias=False)
        self.bn0 = nn.BatchNorm2d(8 * ngf)
        if arch == "v2":
            self.res0 = ResBlock(8 * ngf, "relu")
        self.up1 = nn.ConvTranspose2d(8 * ngf, 4 * ngf, 4, 2, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(4 * ngf)
        if arch == "v2":
            self.res1 = ResBlock(4 * ngf, "relu")
        self.up2 = nn.ConvTranspose2d(4 * ngf, 2 * ngf, 4, 2, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(2 * ngf)
        self.up3 = nn.ConvTranspose2d(2 * ngf, ngf, 4, 2, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(ngf)
        self.up4 = nn.ConvTranspose2d(ngf, 3, 4, 2, 1, bias=False)
        if text_shift:  # train-gan --g-text-shift: the text projection as a shift at every scale
            self.shift1 = nn.Linear(proj_dim, 4 * ngf, bias=False)
            self.shift2 = nn.Linear(proj_dim, 2 * ngf, bias=False)
            self.shift3 = nn.Linear(proj_dim, ngf, bias=False)

    def _shift(self, i, x, h):
        if not self.text_shift:
            return x
        return x + getattr(self, "shift%d" % i)(h)[:, :, None, None]

    def forward(self, z, emb):
        h = F.leaky_relu(self.fc(emb), LEAK)
        x = torch.cat([z, h], dim=1).view(z.shape[0], self.z_dim + self.proj_dim, 1, 1)
        x = self.bn0(self.up0(x))                                  # [B, 8ngf, 4, 4]
        x = self.res0(x) if self.arch == "v2" else F.relu(x)
        x = self.bn1(self._shift(1, self.up1(x), h))               # [B, 4ngf, 8, 8]
        x = self.res1(x) if self.arch == "v2" else F.relu(x)
        x = F.relu(self.bn2(self._shift(2, self.up2(x), h)))       # [B, 2ngf, 16, 16]
        x = F.relu(self.bn3(self._shift(3, self.up3(x), h)))       # [B, ngf, 32, 32]
        return torch.tanh(self.up4(x))                             # [B, 3, 64, 64]


class Discriminator(nn.Module):
    def __init__(self, emb_dim=1024, proj_dim=128, ndf=64, arch="plain", text_head=False):
        super().__init__()
        _check_arch(arch)
        self.arch, self.emb_dim, self.proj_dim, self.ndf, self.text_head = arch, emb_dim, proj_dim, ndf, text_head
        self.conv0 = nn.Conv2d(3, ndf, 4, 2, 1, bias=False)
        self.conv1 = nn.Conv2d(ndf, 2 * ndf, 4, 2, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(2 * ndf)
        self.conv2 = nn.Conv2d(2 * ndf, 4 * ndf, 4, 2, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(4 * ndf)
        self.conv3 = nn.Conv2d(4 * ndf, 8 * ndf, 4, 2, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(8 * ndf)
        if arch == "v2":
            self.res3 = ResBlock(8 * ndf, "lrelu")
        self.fc = nn.Linear(emb_dim, proj_dim)
        self.fc_bn = nn.BatchNorm1d(proj_dim)
        self.conv4 = nn.Conv2d(8 * ndf + proj_dim, 8 * ndf, 1, 1, 0, bias=False)
        self.bn4 = nn.BatchNorm2d(8 * ndf)
        self.conv5 = nn.Conv2d(8 * ndf, 1, 4, 1, 0, bias=False)
        if text_head:  # train-gan --text-head: the caption embedding read from the image
            self.aux = nn.Linear(8 * ndf, emb_dim)
        self.text = None

    def forward(self, image, emb):
        x = F.leaky_relu(self.conv0(image), LEAK)                  # [B, ndf, 32, 32]
        x = F.leaky_relu(self.bn1(self.conv1(x)), LEAK)            # [B, 2ndf, 16, 16]
        x = F.leaky_relu(self.bn2(self.conv2(x)), LEAK)            # [B, 4ndf, 8, 8]
        x = self.bn3(self.conv3(x))                                # [B, 8ndf, 4, 4]
        x = self.res3(x) if self.arch == "v2" else F.leaky_relu(x, LEAK)
        if self.text_head:
            self.text = self.aux(x.sum(dim=(2, 3)))                # [B, emb_dim]
        t = F.leaky_relu(self.fc_bn(self.fc(emb)), LEAK)           # [B, proj_dim]
        t = t.view(t.shape[0], self.proj_dim, 1, 1).expand(-1, -1, x.shape[2], x.shape[3])
        x = torch.cat([x, t], dim=1)                               # [B, 8ndf+proj_dim, 4, 4]
        x = F.leaky_relu(self.bn4(self.conv4(x)), LEAK)            # [B, 8ndf, 4, 4]
        return self.conv5(x).view(-1)                              # [B]


class TextToImageGAN(nn.Module):
    """Both nets under the names t2igan's GAN checkpoints use ("generator.up0.weight", ...):
    model.load_state_dict(weights) with weights = the checkpoint's tensors named "generator.*" and
    "discriminator.*" (leaving out "optimizer.*" and "embedding_norm.mean"). A train-gan checkpoint
    may hold an embedding standardisation: feed G (emb - mean) * scale with mean = the tensor
    "embedding_norm.mean" and scale = float(metadata["embedding_norm.scale"]) (see train-gan(1))."""

    def __init__(self, z_dim=100, emb_dim=1024, proj_dim=128, ngf=128, ndf=64, arch="plain", text_head=False,
                 text_shift=False):
        super().__init__()
        self.generator = Generator(z_dim=z_dim, emb_dim=emb_dim, proj_dim=proj_dim, ngf=ngf, arch=arch,
                                   text_shift=text_shift)
        self.discriminator = Discriminator(emb_dim=emb_dim, proj_dim=proj_dim, ndf=ndf, arch=arch, text_head=text_head)

    @staticmethod
    def from_metadata(meta):
        return TextToImageGAN(z_dim=int(meta["z_dim"]), emb_dim=int(meta["emb_dim"]), proj_dim=int(meta["proj_dim"]),
                              ngf=int(meta["ngf"]), ndf=int(meta["ndf"]), arch=meta["arch"],
                              text_head=meta.get("d_text_head", "0") == "1",
                              text_shift=meta.get("g_text_shift", "0") == "1")

    def metadata(self):
        g, d = self.generator, self.discriminator
        meta = {"model": "t2igan-gan", "arch": g.arch, "z_dim": str(g.z_dim), "emb_dim": str(g.emb_dim),
                "proj_dim": str(g.proj_dim), "ngf": str(g.ngf), "ndf": str(d.ndf)}
        if d.text_head:
            meta["d_text_head"] = "1"
        if g.text_shift:
            meta["g_text_shift"] = "1"
        return meta


@torch.no_grad()
def init_weights(module, generator):
    """DCGAN init in module registration order (module.modules()): every Conv2d /
    ConvTranspose2d / Linear weight ~ N(0, 0.02), Linear bias = 0; every BatchNorm weight
    ~ N(1, 0.02), bias = 0. Draws come only from `generator` (a torch.Generator)."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            m.weight.normal_(0.0, 0.02, generator=generator)
            if m.bias is not None:
                m.bias.zero_()
        elif isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.weight.normal_(1.0, 0.02, generator=generator)
            m.bias.zero_()


# ---- safetensors, written and read by hand (no safetensors package needed) ----

_DTYPES = {torch.float32: "F32", torch.int64: "I64", torch.int32: "I32", torch.uint8: "U8"}
_FROM_NAME = {v: k for k, v in _DTYPES.items()}


def _raw_bytes(t):
    # Little-endian, C order. numpy gives a byte view independent of the host's torch build.
    import numpy as np
    a = t.detach().cpu().contiguous().numpy()
    return a.astype(a.dtype.newbyteorder("<"), copy=False).tobytes(order="C")


def safetensors_bytes(tensors, metadata=None):
    """tensors: ordered mapping name -> torch tensor (F32, I64, I32 or U8); metadata: str -> str.
    Header: __metadata__ first, then tensors in the given order, data contiguous in that order."""
    header, blobs, pos = {}, [], 0
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    for name, t in tensors.items():
        if t.dtype not in _DTYPES:
            raise TypeError("%s: unsupported dtype %s" % (name, t.dtype))
        b = _raw_bytes(t)
        header[name] = {"dtype": _DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [pos, pos + len(b)]}
        blobs.append(b)
        pos += len(b)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(blobs)


def save_safetensors(path, tensors, metadata=None):
    data = safetensors_bytes(tensors, metadata)
    with open(path, "wb") as f:
        f.write(data)
    return len(data)


def parse_safetensors(data):
    """-> (dict name -> torch tensor, in data-offset order; metadata dict). Validates layout."""
    import numpy as np
    if len(data) < 8:
        raise ValueError("shorter than the 8-byte header length")
    (n,) = struct.unpack("<Q", data[:8])
    if n > len(data) - 8:
        raise ValueError("header length %d past the end" % n)
    header = json.loads(data[8:8 + n].decode("utf-8"))
    body = data[8 + n:]
    metadata = header.pop("__metadata__", {})
    np_types = {"F32": "<f4", "I64": "<i8", "I32": "<i4", "U8": "u1"}
    entries = sorted(header.items(), key=lambda kv: tuple(kv[1]["data_offsets"]))
    out, pos = {}, 0
    for name, e in entries:
        b, end = e["data_offsets"]
        if b != pos:
            raise ValueError("%s: data_offsets %s leave a gap or overlap" % (name, e["data_offsets"]))
        a = np.frombuffer(body[b:end], dtype=np_types[e["dtype"]]).reshape(e["shape"])
        out[name] = torch.from_numpy(a.astype(a.dtype.newbyteorder("="), copy=True))
        assert out[name].dtype == _FROM_NAME[e["dtype"]]
        pos = end
    if pos != len(body):
        raise ValueError("%d trailing data bytes belong to no tensor" % (len(body) - pos))
    return out, metadata


def load_safetensors(path):
    with open(path, "rb") as f:
        return parse_safetensors(f.read())


def check_saved(path, tensors, metadata):
    """Re-reads a fixture and exits with a message unless it holds exactly these tensors (names,
    order, dtypes, shapes, values, all finite) and this metadata."""
    back, bmeta = load_safetensors(path)
    if bmeta != metadata:
        raise SystemExit("%s: metadata differs on re-read" % path)
    if list(back) != list(tensors):
        raise SystemExit("%s: tensor names/order differ on re-read" % path)
    for name, t in tensors.items():
        b = back[name]
        if b.dtype != t.dtype or b.shape != t.shape or not torch.equal(b, t):
            raise SystemExit("%s: tensor %s differs on re-read" % (path, name))
        if t.is_floating_point() and not torch.isfinite(t).all():
            raise SystemExit("%s: tensor %s is not finite" % (path, name))


# ---- self-test ----

def _selftest():
    torch.manual_seed(0)
    ok = True
    for arch in ("plain", "v2"):
        g = Generator(arch=arch)
        d = Discriminator(arch=arch)
        gen = torch.Generator().manual_seed(0)
        init_weights(g, gen)
        init_weights(d, gen)
        for label, net in (("Generator", g), ("Discriminator", d)):
            nparam = sum(p.numel() for p in net.parameters())
            print("== %s arch=%s: %d parameters, %d state_dict tensors" % (label, arch, nparam, len(net.state_dict())))
            for name, t in net.state_dict().items():
                print("  %-28s %-8s %s" % (name, str(t.dtype).replace("torch.", ""), list(t.shape)))
        g.train()
        d.train()
        z = torch.randn(2, g.z_dim)
        emb = torch.randn(2, g.emb_dim)
        img = g(z, emb)
        logits = d(img, emb)
        good = img.shape == (2, 3, 64, 64) and logits.shape == (2,) and bool(img.abs().max() <= 1)
        good = good and bool(torch.isfinite(logits).all())
        print("  forward arch=%s: G -> %s, D -> %s: %s" % (arch, list(img.shape), list(logits.shape), "ok" if good else "FAIL"))
        ok = ok and good
    # safetensors round trip
    ts = {"a": torch.randn(3, 5), "b": torch.tensor(7, dtype=torch.int64), "c": torch.arange(6, dtype=torch.int32).view(2, 3),
          "d": torch.arange(5, dtype=torch.uint8)}
    back, meta = parse_safetensors(safetensors_bytes(ts, {"k": "v"}))
    rt = meta == {"k": "v"} and list(back) == list(ts) and all(
        back[k].dtype == ts[k].dtype and back[k].shape == ts[k].shape and torch.equal(back[k], ts[k]) for k in ts)
    print("safetensors round trip: %s" % ("ok" if rt else "FAIL"))
    ok = ok and rt
    print("selftest: %s" % ("ok" if ok else "FAIL"))
    return 0 if ok else 1


if __name__ == "__main__":
    if sys.argv[1:] == ["--selftest"]:
        sys.exit(_selftest())
    print("usage: %s --selftest" % sys.argv[0], file=sys.stderr)
    sys.exit(1)
