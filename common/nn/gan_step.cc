#include "nn/gan_step.h"

#include <vector>

namespace t2i::nn {

namespace {
// D's passes in one step. The generator's pass runs after the D step has finished its backward
// passes, so it reuses the activations of pass 0 instead of holding a fourth set.
enum Pass { kRealRight = 0, kRealWrong = 1, kFake = 2, kGenPass = 0 };
enum Logits { kSr = 0, kSw = 1, kSf = 2, kSg = 3 };

Array constant(Backend& be, i64 n, float v) {
  std::vector<float> host(static_cast<std::size_t>(n), v);
  Array a = be.zeros({n});
  be.upload(host.data(), a);
  return a;
}
}  // namespace

GanClsStep::GanClsStep(Backend& be, Generator& g, Discriminator& d, float cls_weight)
    : be_(be), g_(g), d_(d), cls_weight_(cls_weight) {
  opt_g_.bind(be, g.params());
  opt_d_.bind(be, d.params());
}

float GanClsStep::run_d(const Array& x, const Array& h, const Array& h_wrong, const Array& z) {
  const i64 n = x.dim(0);
  if (ones_.empty() || ones_.dim(0) != n) {
    ones_ = constant(be_, n, 1.0f);
    zeros_ = constant(be_, n, 0.0f);
    w_real_ = constant(be_, n, 1.0f);
    w_wrong_ = constant(be_, n, cls_weight_);
    w_fake_ = constant(be_, n, 1.0f - cls_weight_);
  }
  // Generator forward once; its output feeds D as a constant in the D step.
  const Array& fake = g_.forward(0, z, h, /*training=*/true);
  be_.to_plain(fake, fake_);

  // D step: three passes, each with its own activations; gradients accumulate.
  d_.params().zero_grads();
  be_.to_plain(d_.forward(kRealRight, x, h, true), logits_[kSr]);
  be_.to_plain(d_.forward(kRealWrong, x, h_wrong, true), logits_[kSw]);
  be_.to_plain(d_.forward(kFake, fake_, h, true), logits_[kSf]);
  const float loss_d = be_.bce_with_logits(logits_[kSr], ones_, &w_real_, &dlogits_[kSr]) +
                       be_.bce_with_logits(logits_[kSw], zeros_, &w_wrong_, &dlogits_[kSw]) +
                       be_.bce_with_logits(logits_[kSf], zeros_, &w_fake_, &dlogits_[kSf]);
  for (int p : {kRealRight, kRealWrong, kFake}) d_.backward(p, dlogits_[p], /*need_dimage=*/false, /*param_grads=*/true);
  opt_d_.step();
  return loss_d;
}

float GanClsStep::run_g(const Array& h) {
  // G step through the updated D.
  g_.params().zero_grads();
  be_.to_plain(d_.forward(kGenPass, fake_, h, true), logits_[kSg]);
  const float loss_g = be_.bce_with_logits(logits_[kSg], ones_, nullptr, &dlogits_[kSg]);
  const Array& dfake = d_.backward(kGenPass, dlogits_[kSg], /*need_dimage=*/true, /*param_grads=*/false);
  g_.backward(0, dfake);
  opt_g_.step();
  return loss_g;
}

}  // namespace t2i::nn
