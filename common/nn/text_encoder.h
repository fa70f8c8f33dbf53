// The joint text/image embedding of PAPER.md section 3: the char-CNN-RNN text encoder phi(t)
// and an image encoder, trained together with the DS-SJE loss.
//
// Module and parameter names are those of tests/torch/t2i_text_nets.py (PyTorch state_dict
// names): the text encoder's temporal convolutions are nn.Conv1d ("conv1".."conv3", weights
// [out, in, k], viewed as Conv2d weights [out, in, 1, k] for the backend), its recurrent layer
// nn.GRU / nn.RNN(nonlinearity='relu') "rnn", its projection nn.Linear "fc".
//
// Deviation from the paper (documented in PAPER.md section 3): the authors embedded images with
// fixed, pretrained GoogLeNet features; no pretrained network is available here, so ImageEncoder
// is a DCGAN-style CNN trained jointly from scratch.
#pragma once

#include <memory>

#include "nn/layers.h"
#include "nn/optim.h"

namespace t2i::nn {

struct TextEncoderConfig {
  i64 alphabet = 70, length = 201;
  // Temporal conv widths. The paper / CVPR code: 384, 512, 256; the CUB encoder used by the GAN
  // code had width 512 for all three.
  i64 c1 = 384, c2 = 512, c3 = 256;
  RnnCell cell = RnnCell::kGru;  // kGru or kRelu (the CVPR code's 256-d ReLU RNN)
  i64 emb_dim = 1024;
  // > 0: the embedding is scaled to this L2 norm (the compatibility is then a scaled cosine);
  // 0: the raw projection, as the paper. See train-text(1) --norm.
  float norm = 0;

  i64 hidden() const { return c3; }
  // Time steps left after the three conv/pool stages (8 for length 201); throws if none.
  i64 steps() const;
};

// A temporal convolution (nn.Conv1d with bias) run as a 1 x k Conv2d on [N, C, 1, T].
class TemporalConv {
 public:
  TemporalConv(ParamSet& ps, std::string name, i64 in, i64 out, i64 k, Init init);
  void bind(Backend& be);
  const Array& forward(int pass, const Array& x);  // x [N, in, 1, T] -> [N, out, 1, T - k + 1]
  const Array& backward(int pass, const Array& dy, bool need_dx);

 private:
  struct Slot {
    Array x, y, dx;
  };
  ParamSet& ps_;
  std::string name_;
  ConvSpec spec_;
  Array w4_, dw4_;  // the Conv1d weight and its gradient viewed as [out, in, 1, k]
  std::unique_ptr<ConvOp> op_;
  Slots<Slot> slots_;
};

class TextEncoder {
 public:
  explicit TextEncoder(const TextEncoderConfig& cfg);
  void bind(Backend& be);  // allocates parameters and makes the ops
  ParamSet& params() { return ps_; }
  const TextEncoderConfig& config() const { return cfg_; }

  // One-hot captions [N, alphabet, length] -> embeddings [N, emb_dim].
  const Array& forward(int pass, const Array& onehot);
  // From d embeddings [N, emb_dim]; accumulates every parameter gradient.
  void backward(int pass, const Array& demb);

 private:
  TextEncoderConfig cfg_;
  ParamSet ps_;
  Backend* be_ = nullptr;
  TemporalConv conv1_, conv2_, conv3_;
  Activation relu1_, relu2_, relu3_;
  std::unique_ptr<PoolOp> pool1_, pool2_, pool3_;
  std::unique_ptr<RnnOp> rnn_;
  std::unique_ptr<LinearOp> fc_;
  struct Slot {
    PoolSaved ps1, ps2, ps3;
    Array p1, p2, p3;      // pool outputs [N, C, T]
    Array seq, H, mean;    // RNN input [N, T, c3], hidden states [N, T, hidden], their mean
    RnnSaved rnn;
    Array out, raw, draw;  // [N, emb_dim]: the output, and before normalisation (norm > 0)
    Array dmean, dH, dseq, dp3, dq3, dq2, dq1;  // dq: the pools' input gradients
  };
  Slots<Slot> slots_;
};

struct ImageEncoderConfig {
  i64 ndf = 64, emb_dim = 1024;
  float norm = 0;  // as TextEncoderConfig::norm
};

// image [N, 3, 64, 64] -> conv(3->ndf, 4,2,1) LReLU -> conv(ndf->2ndf) BN LReLU -> conv(2ndf->4ndf)
// BN LReLU -> conv(4ndf->8ndf) BN LReLU -> conv(8ndf->emb_dim, 4,1,0, with bias) -> [N, emb_dim].
// Convolutions bias-free except the last; N(0, 0.02) weights, BN gamma N(1, 0.02). With norm > 0
// the output is scaled to that L2 norm.
class ImageEncoder {
 public:
  explicit ImageEncoder(const ImageEncoderConfig& cfg);
  void bind(Backend& be);
  ParamSet& params() { return ps_; }
  const ImageEncoderConfig& config() const { return cfg_; }

  const Array& forward(int pass, const Array& image, bool training);
  void backward(int pass, const Array& demb);

 private:
  ImageEncoderConfig cfg_;
  ParamSet ps_;
  Backend* be_ = nullptr;
  Conv conv0_, conv1_, conv2_, conv3_, conv4_;
  BatchNorm bn1_, bn2_, bn3_;
  Activation act0_, act1_, act2_, act3_;
  struct Slot {
    Array out, normed, d4, draw;
  };
  Slots<Slot> slots_;
};

// One DS-SJE step on B (image, caption) pairs from B distinct classes: v = image encoder
// (training mode), t = text encoder, L = dssje_loss(v, t), backward through both, an optimiser
// step on each. The default optimiser is the CVPR code's: RMSprop lr 0.0007, with PyTorch's
// alpha 0.99 and eps 1e-8 (PAPER.md names no others); train-text defaults to Adam (see its man
// page for why). The per-epoch lr decay (x0.98) is the training loop's business.
class TextEmbeddingStep {
 public:
  TextEmbeddingStep(Backend& be, ImageEncoder& image, TextEncoder& text, const OptimizerConfig& opt = {});
  // images [B, 3, 64, 64], captions one-hot [B K, alphabet, length]; returns the loss. With
  // K > 1 (captions a multiple of the images), a row's text feature is the mean of its K
  // consecutive captions' embeddings (rows b K .. b K + K - 1): the class-mean compatibility of
  // the paper's zero-shot score, trained directly; K = 1 is the paper's one caption per pair.
  float run(const Array& images, const Array& captions);
  Optimizer& opt_image() { return *opt_image_; }
  Optimizer& opt_text() { return *opt_text_; }
  // The last run's features, plain [B, emb_dim] (the text side: the K-caption means).
  const Array& image_features() const { return v_; }
  const Array& text_features() const { return t_; }

 private:
  Backend& be_;
  ImageEncoder& image_;
  TextEncoder& text_;
  std::unique_ptr<Optimizer> opt_image_, opt_text_;
  Array v_, t_, dv_, dt_, t_all_, dt_all_;  // t_all_, dt_all_: the B K caption rows when K > 1
};

}  // namespace t2i::nn
