#include "nn/optim.h"

#include "error.h"

namespace t2i::nn {

namespace {
void save_flat(Backend& be, const Array& a, Checkpoint& ck, const std::string& name) { ck.add(name, download(be, a)); }

void load_flat(Backend& be, const Checkpoint& ck, const std::string& name, Array& a) {
  const Tensor& t = ck.get(name);
  if (t.dtype() != DType::kFloat32 || t.shape() != a.shape)
    fail<InputError>("{}: optimiser state '{}' is {} {}; expected float32 {}", ck.source(), name, dtype_name(t.dtype()),
                     shape_text(t.shape()), shape_text(a.shape));
  be.upload(t.span<float>().data(), a);
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

void Adam::step() { be_->adam_step(h_, ++step_, ps_->data(), ps_->grads(), m_, v_); }

void Adam::save_to(Checkpoint& ck, const std::string& prefix) const {
  save_flat(*be_, m_, ck, prefix + "exp_avg");
  save_flat(*be_, v_, ck, prefix + "exp_avg_sq");
  save_step(step_, ck, prefix + "step");
}

void Adam::load_from(const Checkpoint& ck, const std::string& prefix) {
  load_flat(*be_, ck, prefix + "exp_avg", m_);
  load_flat(*be_, ck, prefix + "exp_avg_sq", v_);
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
}

void Rmsprop::save_to(Checkpoint& ck, const std::string& prefix) const {
  save_flat(*be_, v_, ck, prefix + "square_avg");
  save_step(step_, ck, prefix + "step");
}

void Rmsprop::load_from(const Checkpoint& ck, const std::string& prefix) {
  load_flat(*be_, ck, prefix + "square_avg", v_);
  step_ = load_step(ck, prefix + "step");
}

}  // namespace t2i::nn
