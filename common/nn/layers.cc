#include "nn/layers.h"

#include "nn/profile.h"

namespace t2i::nn {

Profile& Profile::get() {
  static Profile p;
  return p;
}

namespace {
// Multiply-adds of one convolution pass over input x (padding taps included): forward,
// backward-data and backward-weights each cost this many.
std::int64_t conv_macs(const ConvSpec& s, const Shape& x) {
  Shape y = s.output_shape(x);
  // Transposed: every input pixel meets every kernel tap and output channel.
  if (s.transposed) return x[0] * x[1] * x[2] * x[3] * s.out_channels * s.kh * s.kw;
  return y[0] * y[1] * y[2] * y[3] * s.in_channels * s.kh * s.kw;
}
}  // namespace

Linear::Linear(ParamSet& ps, std::string name, i64 in, i64 out, bool bias) : ps_(ps), name_(std::move(name)), bias_(bias) {
  ps.add_param(name_ + ".weight", {out, in}, Init::kNormal002);
  if (bias) ps.add_param(name_ + ".bias", {out}, Init::kZeros);
}

void Linear::bind(Backend& be) { op_ = be.make_linear(); }

const Array& Linear::forward(int pass, const Array& x) {
  Slot& s = slots_[pass];
  s.x = x;
  const Array& w = ps_.param(name_ + ".weight");
  ProfileScope scope(ps_.tag + "." + name_, "fwd", 2 * x.dim(0) * w.numel());
  op_->forward(x, w, bias_ ? &ps_.param(name_ + ".bias") : nullptr, s.y);
  return s.y;
}

const Array& Linear::backward(int pass, const Array& dy, bool need_dx, bool param_grads) {
  Slot& s = slots_[pass];
  const Array& w = ps_.param(name_ + ".weight");
  if (param_grads) {
    ProfileScope scope(ps_.tag + "." + name_, "bwd-w", 2 * s.x.dim(0) * w.numel());
    op_->backward_weights(s.x, dy, ps_.grad(name_ + ".weight"), bias_ ? &ps_.grad(name_ + ".bias") : nullptr);
  }
  if (need_dx) {
    ProfileScope scope(ps_.tag + "." + name_, "bwd-d", 2 * s.x.dim(0) * w.numel());
    op_->backward_data(dy, w, s.dx);
  }
  return s.dx;
}

Conv::Conv(ParamSet& ps, std::string name, const ConvSpec& spec) : ps_(ps), name_(std::move(name)), spec_(spec) {
  ps.add_param(name_ + ".weight", spec.weight_shape(), Init::kNormal002);
  if (spec.bias) ps.add_param(name_ + ".bias", {spec.out_channels}, Init::kZeros);
}

void Conv::bind(Backend& be) { op_ = be.make_conv(spec_); }

const Array& Conv::forward(int pass, const Array& x) {
  Slot& s = slots_[pass];
  s.x = x;
  ProfileScope scope(ps_.tag + "." + name_, "fwd", 2 * conv_macs(spec_, x.shape));
  op_->forward(x, ps_.param(name_ + ".weight"), spec_.bias ? &ps_.param(name_ + ".bias") : nullptr, s.y, ps_.version());
  return s.y;
}

const Array& Conv::backward(int pass, const Array& dy, bool need_dx, bool param_grads) {
  Slot& s = slots_[pass];
  if (param_grads) {
    ProfileScope scope(ps_.tag + "." + name_, "bwd-w", 2 * conv_macs(spec_, s.x.shape));
    op_->backward_weights(s.x, dy, ps_.grad(name_ + ".weight"), spec_.bias ? &ps_.grad(name_ + ".bias") : nullptr);
  }
  if (need_dx) {
    ProfileScope scope(ps_.tag + "." + name_, "bwd-d", 2 * conv_macs(spec_, s.x.shape));
    op_->backward_data(dy, ps_.param(name_ + ".weight"), s.x.shape, s.dx, ps_.version());
  }
  return s.dx;
}

BatchNorm::BatchNorm(ParamSet& ps, std::string name, i64 channels, bool fuse_relu, float eps, float momentum)
    : ps_(ps), name_(std::move(name)), eps_(eps), momentum_(momentum), fuse_relu_(fuse_relu) {
  ps.add_param(name_ + ".weight", {channels}, Init::kOnesNormal002);
  ps.add_param(name_ + ".bias", {channels}, Init::kZeros);
  ps.add_buffer(name_ + ".running_mean", {channels}, Init::kZeros);
  ps.add_buffer(name_ + ".running_var", {channels}, Init::kOnes);
  ps.add_counter(name_ + ".num_batches_tracked");
}

void BatchNorm::bind(Backend& be) {
  be_ = &be;
  op_ = be.make_batchnorm(eps_, fuse_relu_);
  const Shape c = ps_.param(name_ + ".weight").shape;
  scratch_gamma_ = be.zeros(c);
  scratch_beta_ = be.zeros(c);
}

const Array& BatchNorm::forward(int pass, const Array& x, bool training) {
  Slot& s = slots_[pass];
  s.x = x;
  ProfileScope scope(ps_.tag + "." + name_, "fwd", 0);
  if (training) {
    op_->forward_train(x, ps_.param(name_ + ".weight"), ps_.param(name_ + ".bias"), ps_.buffer(name_ + ".running_mean"),
                       ps_.buffer(name_ + ".running_var"), momentum_, s.y, s.saved);
    ++ps_.counter(name_ + ".num_batches_tracked");
  } else {
    op_->forward_infer(x, ps_.param(name_ + ".weight"), ps_.param(name_ + ".bias"), ps_.buffer(name_ + ".running_mean"),
                       ps_.buffer(name_ + ".running_var"), s.y);
  }
  return s.y;
}

const Array& BatchNorm::backward(int pass, const Array& dy, bool param_grads) {
  Slot& s = slots_[pass];
  ProfileScope scope(ps_.tag + "." + name_, "bwd", 0);
  if (!param_grads) {
    be_->fill(scratch_gamma_, 0.0f);
    be_->fill(scratch_beta_, 0.0f);
  }
  op_->backward(s.x, dy, ps_.param(name_ + ".weight"), s.saved, s.dx,
                param_grads ? ps_.grad(name_ + ".weight") : scratch_gamma_,
                param_grads ? ps_.grad(name_ + ".bias") : scratch_beta_);
  return s.dx;
}

void Activation::bind(Backend& be) { op_ = be.make_act(act_, alpha_); }

const Array& Activation::forward(int pass, const Array& x) {
  Slot& s = slots_[pass];
  op_->forward(x, s.y);
  return s.y;
}

const Array& Activation::backward(int pass, const Array& dy) {
  Slot& s = slots_[pass];
  op_->backward(s.y, dy, s.dx);
  return s.dx;
}

}  // namespace t2i::nn
