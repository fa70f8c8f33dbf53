#include "nn/gan_step.h"

#include <cstdint>
#include <limits>
#include <stdexcept>
#include <vector>

#include "error.h"

namespace t2i::nn {

namespace {
// D's passes in one step. The generator's pass runs after the D step has finished its backward
// passes, so it reuses the activations of pass 0 instead of holding a fourth set; the
// interpolated half batch has passes of its own (D 3, G 1).
enum Pass { kRealRight = 0, kRealWrong = 1, kFake = 2, kGenPass = 0, kInterpPass = 3, kGenInterp = 1, kGenMs = 2 };
constexpr float kMsEps = 1e-5f;  // MSGAN's
constexpr std::uint64_t kPoolWeightsVersion = 1;  // ConvOp's w_version: the block-mean weights never change
enum Logits { kSr = 0, kSw = 1, kSf = 2, kSg = 3, kSi = 4 };

Array constant(Backend& be, i64 n, float v) {
  std::vector<float> host(static_cast<std::size_t>(n), v);
  Array a = be.zeros({n});
  be.upload(host.data(), a);
  return a;
}
}  // namespace

GanVariant variant_from_name(const std::string& name) {
  if (name == "gan") return GanVariant::kGan;
  if (name == "cls") return GanVariant::kCls;
  if (name == "int") return GanVariant::kInt;
  if (name == "int-cls") return GanVariant::kIntCls;
  fail<UsageError>("variant '{}': expected gan, cls, int or int-cls", name);
}

const char* variant_name(GanVariant v) {
  switch (v) {
    case GanVariant::kGan: return "gan";
    case GanVariant::kCls: return "cls";
    case GanVariant::kInt: return "int";
    case GanVariant::kIntCls: return "int-cls";
  }
  return "?";
}

GanStepOptions variant_options(GanVariant v, float cls_weight, float interp_weight, float interp_beta) {
  const bool cls = v == GanVariant::kCls || v == GanVariant::kIntCls;
  const bool interp = v == GanVariant::kInt || v == GanVariant::kIntCls;
  return {cls ? cls_weight : 0.0f, interp ? interp_weight : 0.0f, interp_beta};
}

Tensor interpolate_halves(const Tensor& h, float beta) {
  if (h.dtype() != DType::kFloat32 || h.shape().size() != 2 || h.shape()[0] < 2)
    throw std::invalid_argument("interpolate_halves: expected float32 [N>=2, emb]");
  const i64 half = h.shape()[0] / 2, emb = h.shape()[1];
  Tensor out(DType::kFloat32, {half, emb});
  auto src = h.span<float>();
  auto dst = out.span<float>();
  const float a = beta, b = 1.0f - beta;
  for (i64 i = 0; i < half; ++i)
    for (i64 j = 0; j < emb; ++j) {
      const float x = a * src[static_cast<std::size_t>(i * emb + j)];
      const float y = b * src[static_cast<std::size_t>((i + half) * emb + j)];
      dst[static_cast<std::size_t>(i * emb + j)] = x + y;
    }
  return out;
}

GanClsStep::GanClsStep(Backend& be, Generator& g, Discriminator& d, float cls_weight)
    : GanClsStep(be, g, d, GanStepOptions{cls_weight, 0.0f, 0.5f}) {}

GanClsStep::GanClsStep(Backend& be, Generator& g, Discriminator& d, const GanStepOptions& options)
    : be_(be), g_(g), d_(d), opt_(options) {
  if (uses_text_head() && !d.config().d_text_head)
    throw std::invalid_argument("GanClsStep: text_weight needs a discriminator with a text head");
  opt_g_.bind(be, g.params());
  opt_d_.bind(be, d.params());
}

float GanClsStep::run_d(const Array& x, const Array& h, const Array& x_wrong, const Array& h_wrong, const Array& z) {
  const i64 n = x.dim(0);
  if (ones_.empty() || ones_.dim(0) != n) {
    ones_ = constant(be_, n, 1.0f);
    zeros_ = constant(be_, n, 0.0f);
    w_real_ = constant(be_, n, 1.0f);
    w_wrong_ = constant(be_, n, opt_.cls_weight);
    w_fake_ = constant(be_, n, 1.0f - opt_.cls_weight);
  }
  // Generator forward once; its output feeds D as a constant in the D step.
  const Array& fake = g_.forward(0, z, h, /*training=*/true);
  be_.to_plain(fake, fake_);
  if (uses_mode_seeking()) be_.to_plain(z, z_);

  // D step: two or three passes, each with its own activations; gradients accumulate.
  d_.params().zero_grads();
  be_.to_plain(d_.forward(kRealRight, augmented(x, aug_.real, aug_real_), h, true), logits_[kSr]);
  if (uses_wrong())
    be_.to_plain(d_.forward(kRealWrong, augmented(x_wrong, aug_.wrong, aug_wrong_), h_wrong, true), logits_[kSw]);
  else logits_[kSw] = Array();
  be_.to_plain(d_.forward(kFake, augmented(fake_, aug_.fake, aug_fake_), h, true), logits_[kSf]);
  float loss_d = be_.bce_with_logits(logits_[kSr], ones_, &w_real_, &dlogits_[kSr]);
  if (uses_wrong()) loss_d += be_.bce_with_logits(logits_[kSw], zeros_, &w_wrong_, &dlogits_[kSw]);
  loss_d += be_.bce_with_logits(logits_[kSf], zeros_, &w_fake_, &dlogits_[kSf]);
  // The text head learns to read the caption embedding from the real images.
  if (uses_text_head()) {
    text_err_real_ = be_.mse(d_.text(kRealRight), h, &dtext_real_, opt_.text_weight);
    loss_d += opt_.text_weight * text_err_real_;
  }
  for (int p : {kRealRight, kRealWrong, kFake}) {
    if (p == kRealWrong && !uses_wrong()) continue;
    d_.backward(p, dlogits_[p], /*need_dimage=*/false, /*param_grads=*/true,
                p == kRealRight && uses_text_head() ? &dtext_real_ : nullptr);
  }
  opt_d_.step();
  return loss_d;
}

const Array& GanClsStep::augmented(const Array& x, const std::vector<std::int32_t>& p, Array& buf) {
  if (!uses_augment()) return x;
  if (static_cast<i64>(p.size()) != 4 * x.dim(0))
    throw std::invalid_argument("GanClsStep: augmentation needs 4 draws per image of every D input (set_augment)");
  be_.shift_cutout(x, p, opt_.aug_cut, buf);
  return buf;
}

const Array& GanClsStep::unaugmented(const Array& dy, const std::vector<std::int32_t>& p, Array& buf) {
  if (!uses_augment()) return dy;
  be_.shift_cutout_backward(dy, p, opt_.aug_cut, buf);
  return buf;
}

void GanClsStep::pool_images() {
  const i64 c = fake_.dim(1), p = opt_.ms_pool;
  if (fake_.dim(2) % p != 0 || fake_.dim(3) % p != 0)
    throw std::invalid_argument("GanClsStep: ms_pool must divide the image size");
  if (opt_.ms_edges && fake_.dim(3) < 2 * p)
    throw std::invalid_argument("GanClsStep: ms_edges needs at least two blocks in a row (ms_pool at most half the width)");
  if (!pool_) {
    ConvSpec spec;
    spec.in_channels = spec.out_channels = c;
    spec.kh = spec.sh = spec.sw = p;
    spec.kw = opt_.ms_edges ? 2 * p : p;
    pool_ = be_.make_conv(spec);
    // Weights [c, c, p, kw]: channel o averages its own channel's block (edges: the block on the
    // right minus the block on the left), ignores the others.
    const i64 area = p * p, kw = spec.kw;
    std::vector<float> w(static_cast<std::size_t>(c * c * p * kw), 0.0f);
    for (i64 o = 0; o < c; ++o)
      for (i64 y = 0; y < p; ++y)
        for (i64 x = 0; x < kw; ++x)
          w[static_cast<std::size_t>(((o * c + o) * p + y) * kw + x)] =
              (opt_.ms_edges && x < p ? -1.0f : 1.0f) / float(area);
    pool_w_ = be_.zeros(spec.weight_shape());
    be_.upload(w.data(), pool_w_);
  }
  pool_->forward(fake_, pool_w_, nullptr, pool_out_, kPoolWeightsVersion);
  be_.to_plain(pool_out_, pooled_);
  pool_->forward(fake_ms_, pool_w_, nullptr, pool_out_, kPoolWeightsVersion);
  be_.to_plain(pool_out_, pooled_ms_);
}

float GanClsStep::run_g(const Array& h, const Array& h_int, const Array& z_int, const Array& z_ms) {
  // G step through the updated D. The forward passes run in the order PyTorch's would (real
  // text, then the interpolations), so batch-norm running statistics move in the same order.
  if (uses_mode_seeking() && (z_ms.empty() || z_.empty() || z_ms.shape != z_.shape))
    throw std::invalid_argument("GanClsStep::run_g: mode seeking needs z_ms shaped like the step's z");
  if (uses_interp() && (h_int.empty() || z_int.empty() || h_int.dim(0) != z_int.dim(0) || h_int.dim(0) < 1))
    throw std::invalid_argument("GanClsStep::run_g: interpolation needs h_int and z_int of one batch size");
  g_.params().zero_grads();
  be_.to_plain(d_.forward(kGenPass, augmented(fake_, aug_.gen, aug_gen_), h, true), logits_[kSg]);
  float loss_g = be_.bce_with_logits(logits_[kSg], ones_, nullptr, &dlogits_[kSg]);
  // The generator pays when D's text head reads another caption from its image.
  if (uses_text_head()) {
    text_err_fake_ = be_.mse(d_.text(kGenPass), h, &dtext_fake_, opt_.text_weight);
    loss_g += opt_.text_weight * text_err_fake_;
  }
  if (uses_interp()) {
    const i64 m = h_int.dim(0);
    if (ones_int_.empty() || ones_int_.dim(0) != m) {
      ones_int_ = constant(be_, m, 1.0f);
      w_int_ = constant(be_, m, opt_.interp_weight);
    }
    be_.to_plain(g_.forward(kGenInterp, z_int, h_int, /*training=*/true), fake_int_);
    be_.to_plain(d_.forward(kInterpPass, augmented(fake_int_, aug_.interp, aug_int_), h_int, true), logits_[kSi]);
    loss_g += be_.bce_with_logits(logits_[kSi], ones_int_, &w_int_, &dlogits_[kSi]);
  } else {
    logits_[kSi] = Array();
  }
  const Array* dfake =
      &unaugmented(d_.backward(kGenPass, dlogits_[kSg], /*need_dimage=*/true, /*param_grads=*/false,
                               uses_text_head() ? &dtext_fake_ : nullptr),
                   aug_.gen, daug_gen_);
  if (uses_mode_seeking()) {
    be_.to_plain(g_.forward(kGenMs, z_ms, h, /*training=*/true), fake_ms_);
    const float dz = be_.mean_abs_diff(z_, z_ms, 0.0f, nullptr);
    const bool pooled = opt_.ms_pool > 1 || opt_.ms_edges;
    if (pooled) pool_images();
    const Array& a = pooled ? pooled_ : fake_;
    const Array& b = pooled ? pooled_ms_ : fake_ms_;
    const float dimg = be_.mean_abs_diff(a, b, 0.0f, nullptr);
    ms_ratio_ = dimg / dz;
    const float term = opt_.ms_weight / (ms_ratio_ + kMsEps);
    loss_g += term;
    // d term / d a = -ms_weight / (r + eps)^2 * sign(a - b) / (numel * dz), and the opposite
    // for b; pooled, the block means' gradient spreads evenly over each block.
    const float scale = -opt_.ms_weight / ((ms_ratio_ + kMsEps) * (ms_ratio_ + kMsEps) * dz);
    auto image_grad = [&](const Array& p, const Array& q) {
      if (!pooled) {
        be_.mean_abs_diff(p, q, scale, &dfake_ms_);
        return;
      }
      be_.mean_abs_diff(p, q, scale, &dpooled_);
      pool_->backward_data(dpooled_, pool_w_, fake_.shape, dpool_in_, kPoolWeightsVersion);
      be_.to_plain(dpool_in_, dfake_ms_);
    };
    image_grad(a, b);
    be_.add(*dfake, dfake_ms_, dfake_sum_);
    dfake = &dfake_sum_;
    image_grad(b, a);
    g_.backward(kGenMs, dfake_ms_);
  } else {
    ms_ratio_ = std::numeric_limits<float>::quiet_NaN();
  }
  g_.backward(0, *dfake);
  if (uses_interp()) {
    g_.backward(kGenInterp, unaugmented(d_.backward(kInterpPass, dlogits_[kSi], /*need_dimage=*/true, /*param_grads=*/false),
                                        aug_.interp, daug_int_));
  }
  opt_g_.step();
  return loss_g;
}

}  // namespace t2i::nn
