// The style encoder S of Reed et al. (PAPER.md section 6): a CNN shaped like the discriminator's
// image path, without text input, that maps an image to the noise vector z the generator would
// have drawn it from. Trained with a fixed generator on ||z - S(G(z, phi(t)))||^2 (invert-style).
//
//   image [N,3,64,64] -> conv0(3->ndf, 4,2,1) LReLU 0.2 -> conv1(ndf->2ndf, 4,2,1) BN LReLU
//     -> conv2(2ndf->4ndf, 4,2,1) BN LReLU -> conv3(4ndf->8ndf, 4,2,1) BN -> LReLU (plain) or
//     the v2 residual block res3 (as the v2 discriminator) -> conv4(8ndf->z_dim, 4,1,0, bias)
//     = z [N,z_dim]
//
// Parameter names are the discriminator's for the shared layers ("conv0.weight", "bn1.running_var",
// "res3.conv1.weight"), so a PyTorch module of the same shape loads them; conv4 ends the net with
// a bias (z has no batch norm after it).
//
// Checkpoint (safetensors): "style_encoder.<layer>.<param>" tensors and, while training,
// "optimizer.style_encoder.*" Adam states; __metadata__ model "t2igan-style", arch, ndf, z_dim,
// and what the caller adds (invert-style: the generator checkpoint it was trained against).
#pragma once

#include <map>
#include <memory>
#include <string>

#include "checkpoint.h"
#include "nn/gan.h"
#include "nn/layers.h"
#include "nn/optim.h"

namespace t2i::nn {

inline constexpr const char* kStyleModel = "t2igan-style";
inline constexpr const char* kStylePrefix = "style_encoder.";

struct StyleConfig {
  Arch arch = Arch::kPlain;
  i64 ndf = 64, z_dim = 100;

  std::map<std::string, std::string> to_metadata() const;  // with model "t2igan-style"
  // InputError naming the file when the checkpoint is not a style encoder (another model kind is
  // named) or its configuration is malformed: ndf beyond 4096, or weights (names, dtypes,
  // shapes) that differ from the configuration's, checked before anything is allocated.
  static StyleConfig from_checkpoint(const Checkpoint& ck);
};

class StyleEncoder {
 public:
  explicit StyleEncoder(const StyleConfig& cfg);
  void bind(Backend& be);
  ParamSet& params() { return ps_; }
  const StyleConfig& config() const { return cfg_; }

  // images [N,3,64,64] -> z [N,z_dim] (plain). training: batch statistics in the batch norms.
  const Array& forward(int pass, const Array& image, bool training);
  // From dz [N,z_dim]; accumulates parameter gradients (the images' gradient is not needed).
  void backward(int pass, const Array& dz);

 private:
  StyleConfig cfg_;
  ParamSet ps_;
  Backend* be_ = nullptr;
  Conv conv0_, conv1_, conv2_, conv3_, conv4_;
  BatchNorm bn1_, bn2_, bn3_;
  Activation act0_, act1_, act2_, act3_;
  std::unique_ptr<ResBlock> res3_;
  struct Slot {
    Array z, dz4;
  };
  Slots<Slot> slots_;
};

// Writes atomically; opt may be null (a model for inference only).
void save_style(const std::string& path, StyleEncoder& s, const Adam* opt,
                const std::map<std::string, std::string>& extra_metadata = {});
// Loads weights (and the optimiser state, if given) into a bound encoder of the checkpoint's
// configuration; names, dtypes and shapes are checked and the first difference named.
void load_style(const Checkpoint& ck, StyleEncoder& s, Adam* opt = nullptr);

// What a checkpoint's "model" metadata says it is, for messages that refuse it: "a GAN
// checkpoint (model 't2igan-gan')", "a text model checkpoint (model 't2igan-text')", ...
std::string model_kind_text(const Checkpoint& ck);

}  // namespace t2i::nn
