// One training iteration of the text-conditional DCGAN in the paper's four variants (PAPER.md
// section 5, Algorithm 1 with the authors' losses and their released code's switches):
//   D: s_r = D(x, h), s_w = D(x_wrong, h_wrong), s_f = D(G(z, h), h);
//      L_D = bce(s_r, 1) + cls_weight * bce(s_w, 0) + (1 - cls_weight) * bce(s_f, 0); Adam on D.
//      cls_weight 0 (GAN, GAN-INT) skips the s_w pass: L_D = bce(s_r, 1) + bce(s_f, 0).
//      The "wrong" pair is either a real image of another class with the right text (the
//      authors' code: x_wrong = that image, h_wrong = h) or the real image with another image's
//      text (Algorithm 1: x_wrong = x, h_wrong = that text); the step does not care which.
//   G: s_g = D(G(z, h), h) with the updated D (the fake of the D step, not regenerated);
//      L_G = bce(s_g, 1); with interp_weight > 0 (GAN-INT, GAN-INT-CLS) the generator also gets
//      a half batch of interpolated embeddings h_int[i] = beta h[i] + (1 - beta) h[i + N/2]
//      (interpolate_halves) and fresh noise z_int, in passes of their own (so their batch-norm
//      statistics are those of the half batch; the authors' code runs one pass of 1.5N rows and
//      averages over all of them, see train-gan(1)), and
//      L_G += interp_weight * bce(D(G(z_int, h_int), h_int), 1). D never trains on them.
//   Mode seeking (Mao et al., CVPR 2019; not in the paper, off by default): with ms_weight > 0
//      the generator also draws G(z2, h) for fresh noise z2 and the same texts (a pass of its
//      own), and L_G += ms_weight / (r + 1e-5), r = mean|G(z, h) - G(z2, h)| / mean|z - z2|,
//      so that a generator that ignores z pays for it. D never sees the second draw.
//      ms_pool P > 1 (not in MSGAN either) measures both distances' image side on the images
//      averaged over P x P blocks (an [N,3,64/P,64/P] picture of layout and colour), so the
//      term pays for samples whose coarse content moves with z, not for pixel noise.
//      ms_edges measures it on the differences of horizontally adjacent block means (an
//      [N,3,64/P,64/P-1] picture): a flat or vertically shaded background has none, so a change
//      of its colour is free and the term pays only for layout (where the subject stands, which
//      way it faces) that moves with z.
//   Augmentation (DiffAugment, Zhao et al., NeurIPS 2020; not in the paper, off by default): with
//      aug_shift or aug_cut > 0 every image D sees, real, wrong or generated, in the D step and
//      the G step, is first translated (shift, zero fill) and has a square cut out (Backend::
//      shift_cutout), each D input with draws of its own (set_augment, before run_d); the
//      generator's gradient comes back through the same map. D then cannot learn the few real
//      images by heart, the small-data failure where s_r -> 1 and s_f -> 0 for good.
// Each pass keeps its own activations; the generator's first D pass reuses those of D pass 0.
#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "nn/gan.h"
#include "nn/optim.h"
#include "tensor.h"

namespace t2i::nn {

struct StepLosses {
  float loss_d = 0, loss_g = 0;
};

enum class GanVariant { kGan, kCls, kInt, kIntCls };
GanVariant variant_from_name(const std::string& name);  // "gan", "cls", "int", "int-cls"; UsageError otherwise
const char* variant_name(GanVariant v);

struct GanStepOptions {
  float cls_weight = 0.5f;     // 0: no matching-aware pass
  float interp_weight = 0.0f;  // 0: no interpolated half batch
  float interp_beta = 0.5f;
  float ms_weight = 0.0f;  // 0: no mode-seeking term
  int ms_pool = 1;         // the term's image distance on P x P block means; 1: on pixels (MSGAN)
  bool ms_edges = false;   // the distance on the differences of horizontally adjacent blocks (flat colour is free)
  int aug_shift = 0;       // DiffAugment: largest shift in pixels (DiffAugment's 1/8 of the side); 0: none
  int aug_cut = 0;         // DiffAugment: side of the square cut out (DiffAugment's 1/2 of the side); 0: none
  float text_weight = 0.0f;  // D's text head: weight of its embedding regression; 0: none (needs cfg.d_text_head)
};

// The augmentation draws of one step: 4 values (dy, dx, cy, cx) per image of each D input, the
// ref::shift_cutout_* parameters. real, wrong, fake: run_d's three passes (wrong only with
// mismatched pairs); gen: the G step's pass over the same fakes; interp: the interpolated half
// batch (with interpolation). draw_shift_cutout fills one from uniform integers below(k) in [0, k).
struct AugmentDraws {
  std::vector<std::int32_t> real, wrong, fake, gen, interp;
};
template <typename Below>
std::vector<std::int32_t> draw_shift_cutout(std::int64_t n, std::int64_t size, int shift, Below&& below) {
  std::vector<std::int32_t> p(static_cast<std::size_t>(4 * n));
  for (std::size_t i = 0; i < p.size(); i += 4) {
    p[i] = static_cast<std::int32_t>(below(2 * shift + 1)) - shift;
    p[i + 1] = static_cast<std::int32_t>(below(2 * shift + 1)) - shift;
    p[i + 2] = static_cast<std::int32_t>(below(static_cast<int>(size)));
    p[i + 3] = static_cast<std::int32_t>(below(static_cast<int>(size)));
  }
  return p;
}
// The authors' switches for a variant: cls_weight 0 or cls_weight, interp_weight 0 or interp_weight.
GanStepOptions variant_options(GanVariant v, float cls_weight = 0.5f, float interp_weight = 1.0f,
                               float interp_beta = 0.5f);

// Rows beta * h[i] + (1 - beta) * h[i + N/2] for i < N/2 of a host float32 [N, emb] tensor
// (in float32, as PyTorch computes beta * a + (1 - beta) * b).
Tensor interpolate_halves(const Tensor& h, float beta);

class GanClsStep {
 public:
  GanClsStep(Backend& be, Generator& g, Discriminator& d, float cls_weight = 0.5f);
  GanClsStep(Backend& be, Generator& g, Discriminator& d, const GanStepOptions& options);
  Adam& opt_g() { return opt_g_; }
  Adam& opt_d() { return opt_d_; }
  const GanStepOptions& options() const { return opt_; }
  bool uses_wrong() const { return opt_.cls_weight != 0.0f; }
  bool uses_interp() const { return opt_.interp_weight != 0.0f; }
  bool uses_mode_seeking() const { return opt_.ms_weight != 0.0f; }
  bool uses_augment() const { return opt_.aug_shift > 0 || opt_.aug_cut > 0; }
  bool uses_text_head() const { return opt_.text_weight != 0.0f; }
  // The last run's text-head errors, mean (D's text(x) - h)^2 over the real images and over the
  // generator's fakes (NaN without the head).
  float text_error_real() const { return text_err_real_; }
  float text_error_fake() const { return text_err_fake_; }
  // The next step's augmentation draws (required before run_d when uses_augment(); sizes are
  // checked against the batches when used).
  void set_augment(AugmentDraws draws) { aug_ = std::move(draws); }

  // x [N,3,64,64], h and h_wrong [N,emb], z [N,z_dim], all on the backend (the wrong text with
  // the real image: Algorithm 1). Only for variants without interpolation.
  StepLosses run(const Array& x, const Array& h, const Array& h_wrong, const Array& z) {
    float ld = run_d(x, h, h_wrong, z);
    return {ld, run_g(h)};
  }
  // The two halves: G forward and the D update; then the G update through the updated D.
  float run_d(const Array& x, const Array& h, const Array& h_wrong, const Array& z) {
    return run_d(x, h, x, h_wrong, z);
  }
  // s_w = D(x_wrong, h_wrong); both are ignored (may be empty) when cls_weight is 0.
  float run_d(const Array& x, const Array& h, const Array& x_wrong, const Array& h_wrong, const Array& z);
  // h_int [N/2,emb] (interpolate_halves of h) and z_int [N/2,z_dim]: required when
  // interp_weight is not 0, ignored otherwise. z_ms [N,z_dim], the second noise of the
  // mode-seeking term: required when ms_weight is not 0, ignored otherwise.
  float run_g(const Array& h, const Array& h_int = {}, const Array& z_int = {}, const Array& z_ms = {});

  // What the last run produced, for tests and progress reports.
  const Array& fake() const { return fake_; }
  const Array& fake_interp() const { return fake_int_; }
  const Array& fake_ms() const { return fake_ms_; }
  // The last run's r = mean|G(z, h) - G(z2, h)| / mean|z - z2| (NaN without mode seeking): how
  // much the samples move with the noise.
  float ms_ratio() const { return ms_ratio_; }
  // 0 s_r, 1 s_w (empty without cls), 2 s_f, 3 s_g, 4 s_i (empty without interpolation).
  const Array& logits(int which) const { return logits_[which]; }

 private:
  void pool_images();  // pooled_, pooled_ms_ = the block means of fake_, fake_ms_ (ms_edges: their differences)
  Backend& be_;
  Generator& g_;
  Discriminator& d_;
  GanStepOptions opt_;
  Adam opt_g_, opt_d_;
  Array ones_, zeros_, w_real_, w_wrong_, w_fake_, ones_int_, w_int_;
  Array z_, fake_ms_, dfake_ms_, dfake_sum_;
  std::unique_ptr<ConvOp> pool_;  // ms_pool > 1: a stride-P convolution of block means
  Array pool_w_, pool_out_, pooled_, pooled_ms_, dpooled_, dpool_in_;
  Array fake_, fake_int_, logits_[5], dlogits_[5];  // logits_ are copies, kept after D's slots are reused
  float ms_ratio_ = std::numeric_limits<float>::quiet_NaN();
  float text_err_real_ = std::numeric_limits<float>::quiet_NaN(), text_err_fake_ = std::numeric_limits<float>::quiet_NaN();
  Array dtext_real_, dtext_fake_;
  // D's view of an image batch: itself, or its augmented copy in `buf`.
  const Array& augmented(const Array& x, const std::vector<std::int32_t>& p, Array& buf);
  // The gradient with respect to an augmented batch taken back to the batch itself (in `buf`).
  const Array& unaugmented(const Array& dy, const std::vector<std::int32_t>& p, Array& buf);
  AugmentDraws aug_;
  Array aug_real_, aug_wrong_, aug_fake_, aug_gen_, aug_int_, daug_gen_, daug_int_;
};

using GanStep = GanClsStep;

}  // namespace t2i::nn
