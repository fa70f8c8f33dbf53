#!/usr/bin/env python3
"""Independent PyTorch reference for the t2igan joint text/image embedding (PAPER.md section 3):
the char-CNN-RNN text encoder, the jointly trained image CNN and the DS-SJE loss.

The module names are a contract: the C++ parameter names (common/nn/text_encoder.h) are exactly
these state_dict names.

  TextEncoder(alphabet, c1, c2, c3, cell, emb_dim)  forward(onehot [B,alphabet,201]) -> [B,emb_dim]
      conv1..conv3 (nn.Conv1d, k 4) ReLU, MaxPool1d (3,3), (3,3), (3,2); rnn (nn.GRU or
      nn.RNN(nonlinearity='relu'), batch_first, hidden c3); mean over time; fc (nn.Linear).
  ImageEncoder(ndf, emb_dim)                        forward(image [B,3,64,64]) -> [B,emb_dim]
      conv0..conv4 (nn.Conv2d, bias only on conv4), bn1..bn3, LeakyReLU 0.2.
  init_text(module, generator)    every parameter ~ U(-0.08, 0.08) (the CVPR code)
  init_image(module, generator)   conv weights ~ N(0, 0.02), BN weight ~ N(1, 0.02), biases 0
  dssje_loss(v, t)                (1/B^2) sum_{i != j} relu(1 + s_ij - s_ii) + relu(1 + s_ji - s_ii), s = v t^T
  encode_caption(text, length)    symbol indices as common/text/charset.cc (-1: zero column)
  one_hot(captions, length)       [B, 70, length] float32

Self-test: /usr/bin/python3 tests/torch/t2i_text_nets.py --selftest
"""
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

LEAK = 0.2

# Reed's alphabet; '-' appears twice and the later position wins (as in his code).
ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789-,;.!?:'\"/\\|_@#$%^&*~`+-=<>()[]{} "
assert len(ALPHABET) == 70
_INDEX = {}
for _i, _c in enumerate(ALPHABET):
    _INDEX[_c] = _i  # later wins


def encode_caption(text, length=201):
    """Alphabet index per character (code point), -1 for characters outside it; padded/cut."""
    out = []
    for ch in text:
        if ord(ch) < 128:
            out.append(_INDEX.get(ch.lower() if "A" <= ch <= "Z" else ch, -1))
        else:
            out.append(-1)
    out = out[:length]
    return out + [-1] * (length - len(out))


def one_hot(captions, length=201):
    x = torch.zeros(len(captions), len(ALPHABET), length)
    for b, text in enumerate(captions):
        for t, k in enumerate(encode_caption(text, length)):
            if k >= 0:
                x[b, k, t] = 1.0
    return x


class TextEncoder(nn.Module):
    def __init__(self, alphabet=70, c1=384, c2=512, c3=256, cell="gru", emb_dim=1024):
        super().__init__()
        self.conv1 = nn.Conv1d(alphabet, c1, 4)
        self.conv2 = nn.Conv1d(c1, c2, 4)
        self.conv3 = nn.Conv1d(c2, c3, 4)
        if cell == "gru":
            self.rnn = nn.GRU(c3, c3, batch_first=True)
        elif cell == "relu":
            self.rnn = nn.RNN(c3, c3, nonlinearity="relu", batch_first=True)
        else:
            raise ValueError("cell must be 'gru' or 'relu', got %r" % (cell,))
        self.fc = nn.Linear(c3, emb_dim)

    def forward(self, x):
        h = F.max_pool1d(F.relu(self.conv1(x)), 3, 3)
        h = F.max_pool1d(F.relu(self.conv2(h)), 3, 3)
        h = F.max_pool1d(F.relu(self.conv3(h)), 3, 2)
        H, _ = self.rnn(h.transpose(1, 2))
        return self.fc(H.mean(dim=1))


class ImageEncoder(nn.Module):
    def __init__(self, ndf=64, emb_dim=1024):
        super().__init__()
        self.conv0 = nn.Conv2d(3, ndf, 4, 2, 1, bias=False)
        self.conv1 = nn.Conv2d(ndf, 2 * ndf, 4, 2, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(2 * ndf)
        self.conv2 = nn.Conv2d(2 * ndf, 4 * ndf, 4, 2, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(4 * ndf)
        self.conv3 = nn.Conv2d(4 * ndf, 8 * ndf, 4, 2, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(8 * ndf)
        self.conv4 = nn.Conv2d(8 * ndf, emb_dim, 4, 1, 0, bias=True)

    def forward(self, x):
        h = F.leaky_relu(self.conv0(x), LEAK)
        h = F.leaky_relu(self.bn1(self.conv1(h)), LEAK)
        h = F.leaky_relu(self.bn2(self.conv2(h)), LEAK)
        h = F.leaky_relu(self.bn3(self.conv3(h)), LEAK)
        return self.conv4(h).flatten(1)


@torch.no_grad()
def init_text(module, generator):
    """Every parameter ~ U(-0.08, 0.08), in named_parameters() order."""
    for _, p in module.named_parameters():
        p.uniform_(-0.08, 0.08, generator=generator)


@torch.no_grad()
def init_image(module, generator):
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            m.weight.normal_(0.0, 0.02, generator=generator)
            if m.bias is not None:
                m.bias.zero_()
        elif isinstance(m, nn.BatchNorm2d):
            m.weight.normal_(1.0, 0.02, generator=generator)
            m.bias.zero_()


def dssje_loss(v, t):
    B = v.shape[0]
    s = v @ t.t()
    diag = s.diagonal().unsqueeze(1)  # s_ii per row i
    off = 1.0 - torch.eye(B, dtype=s.dtype)
    l_img = F.relu(1.0 + s - diag) * off          # relu(1 + s_ij - s_ii), i != j
    l_txt = F.relu(1.0 + s.t() - diag) * off      # relu(1 + s_ji - s_ii), i != j
    return (l_img.sum() + l_txt.sum()) / (B * B)


def _selftest():
    ok = True
    for cell in ("gru", "relu"):
        te = TextEncoder(cell=cell)
        x = one_hot(["this bird has a red crown", "a small yellow bird"])
        y = te(x)
        ok = ok and tuple(y.shape) == (2, 1024)
        names = [n for n, _ in te.named_parameters()]
        ok = ok and names == ["conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias", "conv3.weight",
                              "conv3.bias", "rnn.weight_ih_l0", "rnn.weight_hh_l0", "rnn.bias_ih_l0",
                              "rnn.bias_hh_l0", "fc.weight", "fc.bias"]
    h = F.max_pool1d(F.relu(te.conv3(F.max_pool1d(F.relu(te.conv2(F.max_pool1d(F.relu(te.conv1(x)), 3, 3))), 3, 3))), 3, 2)
    ok = ok and h.shape[2] == 8  # 8 time steps for length 201
    ie = ImageEncoder()
    ok = ok and tuple(ie(torch.randn(2, 3, 64, 64)).shape) == (2, 1024)
    # encoding rules: upper case folds, '-' takes its later index, unknowns are -1
    e = encode_caption("A-é")
    ok = ok and e[:3] == [0, 59, -1] and len(e) == 201
    # the loss against a loop
    v, t = torch.randn(5, 7), torch.randn(5, 7)
    s = v @ t.t()
    ref = sum(max(0.0, 1 + s[i, j] - s[i, i]) + max(0.0, 1 + s[j, i] - s[i, i])
              for i in range(5) for j in range(5) if i != j) / 25
    ok = ok and abs(float(dssje_loss(v, t)) - float(ref)) < 1e-4
    print("selftest", "ok" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    if "--selftest" in sys.argv:
        sys.exit(_selftest())
    print(__doc__)
