// The text-conditional DCGAN of Reed et al. (PAPER.md section 4): generator and discriminator,
// the plain nets of the paper and the authors' deeper "v2" with residual bottleneck blocks.
// Module and parameter names are those of tests/torch/t2i_nets.py (PyTorch state_dict names).
#pragma once

#include <map>
#include <memory>
#include <string>

#include "nn/layers.h"

namespace t2i::nn {

enum class Arch { kPlain, kV2 };
Arch arch_from_name(const std::string& name);  // "plain" or "v2"
const char* arch_name(Arch a);

struct GanConfig {
  Arch arch = Arch::kPlain;
  i64 z_dim = 100, emb_dim = 1024, proj_dim = 128, ngf = 128, ndf = 64;
  // D's text head (not in the paper): a linear map from D's pooled 4 x 4 features to the
  // caption embedding, "aux.weight" and "aux.bias" (Discriminator::text).
  bool d_text_head = false;
  // G's text shifts (not in the paper, TextShift "shift1".."shift3"): before its batch norms
  // bn1..bn3 the generator adds a per-channel shift, a linear map of its text projection, at every
  // position, so that the caption reaches every scale and not only the 4 x 4 input.
  bool g_text_shift = false;

  std::map<std::string, std::string> to_metadata() const;
  static GanConfig from_metadata(const std::map<std::string, std::string>& meta);
};

// y = x + W t at every position of x [N,C,H,W], t [N,T], W [C,T] ("<name>.weight"): a per-channel
// shift of a feature map by a text vector. Bias-free: a batch norm follows and takes out any
// constant.
class TextShift {
 public:
  TextShift(ParamSet& ps, const std::string& name, i64 text_dim, i64 channels);
  void bind(Backend& be);
  const Array& forward(int pass, const Array& x, const Array& t);
  // From d y (which is also d x): W's gradient accumulated when param_grads; returns d t.
  const Array& backward(int pass, const Array& dy, bool param_grads = true);

 private:
  Backend* be_ = nullptr;
  Linear lin_;
  struct Slot {
    Array rep, sum, dt;
  };
  Slots<Slot> slots_;
};

// 1x1 (C -> C/4) BN act, 3x3 (C/4 -> C/4) BN act, 3x3 (C/4 -> C) BN, add the input, act.
class ResBlock {
 public:
  ResBlock(ParamSet& ps, const std::string& name, i64 channels, Act act, float alpha);
  void bind(Backend& be);
  const Array& forward(int pass, const Array& x, bool training);
  const Array& backward(int pass, const Array& dy, bool param_grads);

 private:
  Backend* be_ = nullptr;
  bool fused_;  // ReLU blocks fuse it into the batch norms
  Conv conv1_, conv2_, conv3_;
  BatchNorm bn1_, bn2_, bn3_;
  Activation act1_, act2_, act_out_;
  struct Slot {
    Array sum, dx;
  };
  Slots<Slot> slots_;
};

class Generator {
 public:
  explicit Generator(const GanConfig& cfg);
  void bind(Backend& be);  // allocates parameters on the backend and makes the ops
  ParamSet& params() { return ps_; }
  const GanConfig& config() const { return cfg_; }

  // z [N,z_dim], emb [N,emb_dim] -> images [N,3,64,64] in [-1,1].
  const Array& forward(int pass, const Array& z, const Array& emb, bool training);
  // From d images; accumulates parameter gradients.
  void backward(int pass, const Array& dimage);

 private:
  GanConfig cfg_;
  ParamSet ps_;
  Backend* be_ = nullptr;
  Linear fc_;
  Activation fc_act_;
  Conv up0_, up1_, up2_, up3_, up4_;
  BatchNorm bn0_, bn1_, bn2_, bn3_;  // with their ReLU fused, except where a residual block follows
  Activation tanh_;
  std::unique_ptr<ResBlock> res0_, res1_;
  std::unique_ptr<TextShift> shift_[3];  // before bn1, bn2, bn3 (cfg.g_text_shift)
  struct Slot {
    Array h4, x, dx, dz, dh4, dh;
  };
  // x + shift_[i](h) at every position; x itself without the shifts.
  const Array& shifted(int pass, int i, const Array& x, const Array& h);
  Slots<Slot> slots_;
};

class Discriminator {
 public:
  explicit Discriminator(const GanConfig& cfg);
  void bind(Backend& be);
  ParamSet& params() { return ps_; }
  const GanConfig& config() const { return cfg_; }

  // images [N,3,64,64], emb [N,emb_dim] -> logits [N].
  const Array& forward(int pass, const Array& image, const Array& emb, bool training);
  // From d logits [N]; returns d images when need_dimage. param_grads false skips the
  // parameter gradients (the generator's step needs only d images). dtext, with the text
  // head: the gradient with respect to text(pass) (null: none).
  const Array& backward(int pass, const Array& dlogits, bool need_dimage, bool param_grads,
                        const Array* dtext = nullptr);
  // With the text head: the caption embedding D reads from the last forward pass's image,
  // [N, emb_dim]: aux(sum over the 4 x 4 positions of the features the text joins).
  const Array& text(int pass);

 private:
  GanConfig cfg_;
  ParamSet ps_;
  Backend* be_ = nullptr;
  Conv conv0_, conv1_, conv2_, conv3_, conv4_, conv5_;
  BatchNorm bn1_, bn2_, bn3_, bn4_;
  Activation act0_, act1_, act2_, act3_, act4_;
  std::unique_ptr<ResBlock> res3_;
  Linear fc_;
  BatchNorm fc_bn_;
  Activation fc_act_;
  std::unique_ptr<Linear> aux_;  // the text head (cfg.d_text_head)
  struct Slot {
    Array rep, joint, logits, dlogits4, dfeat, drep, dt, dtext2, feat, pooled, dpooled_rep, dfeat_sum;
  };
  Slots<Slot> slots_;
};

}  // namespace t2i::nn
