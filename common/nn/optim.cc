#include "nn/optim.h"

#include "error.h"

namespace t2i::nn {

namespace {
// A flat state array as one tensor per parameter, named <prefix><param>.<suffix>.
void save_flat(Backend& be, const ParamSet& ps, const Array& a, Checkpoint& ck, const std::string& prefix,
               const std::string& suffix) {
  std::vector<float> flat = to_vector(be, a);
  for (const auto& e : ps.entries()) {
    if (e.buffer) continue;
    Tensor t(DType::kFloat32, e.shape);
    std::copy(flat.begin() + e.offset, flat.begin() + e.offset + t.numel(), t.span<float>().begin());
    ck.add(prefix + e.name + "." + suffix, std::move(t));
  }
}

void load_flat(Backend& be, const ParamSet& ps, const Checkpoint& ck, const std::string& prefix, const std::string& suffix,
               Array& a) {
  std::vector<float> flat(static_cast<std::size_t>(a.numel()));
  for (const auto& e : ps.entries()) {
    if (e.buffer) continue;
    const std::string name = prefix + e.name + "." + suffix;
    const Tensor& t = ck.get(name);
    if (t.dtype() != DType::kFloat32 || t.shape() != e.shape)
      fail<InputError>("{}: optimiser state '{}' is {} {}; expected float32 {}", ck.source(), name, dtype_name(t.dtype()),
                       shape_text(t.shape()), shape_text(e.shape));
    auto src = t.span<float>();
    std::copy(src.begin(), src.end(), flat.begin() + e.offset);
  }
  be.upload(flat.data(), a);
}

void save_step(i64 step, Checkpoint& ck, const std::string& name) {
  Tensor t(DType::kInt64, {});
  t.span<std::int64_t>()[0] = step;
  ck.add(name, std::move(t));
}

i64 load_step(const Checkpoint& ck, const std::string& name) {
  const Tensor& t = ck.get(name);
  if (t.dtype() != DType::kInt64 || t.numel() != 1) fail<InputError>("{}: '{}' is not an int64 scalar", ck.source(), name);
  return t.span<std::int64_t>()[0];
}
}  // namespace

void Adam::bind(Backend& be, ParamSet& ps) {
  be_ = &be, ps_ = &ps;
  m_ = be.zeros(ps.data().shape);
  v_ = be.zeros(ps.data().shape);
  step_ = 0;
}

void Adam::step() {
  be_->adam_step(h_, ++step_, ps_->data(), ps_->grads(), m_, v_);
  ps_->bump_version();
}

void Adam::save_to(Checkpoint& ck, const std::string& prefix) const {
  save_flat(*be_, *ps_, m_, ck, prefix, "exp_avg");
  save_flat(*be_, *ps_, v_, ck, prefix, "exp_avg_sq");
  save_step(step_, ck, prefix + "step");
}

void Adam::load_from(const Checkpoint& ck, const std::string& prefix) {
  load_flat(*be_, *ps_, ck, prefix, "exp_avg", m_);
  load_flat(*be_, *ps_, ck, prefix, "exp_avg_sq", v_);
  step_ = load_step(ck, prefix + "step");
}

void Rmsprop::bind(Backend& be, ParamSet& ps) {
  be_ = &be, ps_ = &ps;
  v_ = be.zeros(ps.data().shape);
  step_ = 0;
}

void Rmsprop::step() {
  ++step_;
  be_->rmsprop_step(h_, ps_->data(), ps_->grads(), v_);
  ps_->bump_version();
}

void Rmsprop::save_to(Checkpoint& ck, const std::string& prefix) const {
  save_flat(*be_, *ps_, v_, ck, prefix, "square_avg");
  save_step(step_, ck, prefix + "step");
}

void Rmsprop::load_from(const Checkpoint& ck, const std::string& prefix) {
  load_flat(*be_, *ps_, ck, prefix, "square_avg", v_);
  step_ = load_step(ck, prefix + "step");
}

std::unique_ptr<Optimizer> make_optimizer(const OptimizerConfig& c) {
  if (c.kind == "adam") {
    ref::AdamHyper h;
    h.lr = c.lr, h.beta1 = c.beta1;
    return std::make_unique<Adam>(h);
  }
  if (c.kind == "rmsprop") {
    ref::RmspropHyper h;
    h.lr = c.lr;
    return std::make_unique<Rmsprop>(h);
  }
  fail<UsageError>("optimiser '{}': expected adam or rmsprop", c.kind);
}

}  // namespace t2i::nn
