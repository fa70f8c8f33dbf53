#include "nn/params.h"

#include <atomic>
#include <cmath>

#include "error.h"

namespace t2i::nn {

namespace {
i64 numel_of(const Shape& s) {
  i64 n = 1;
  for (i64 d : s) n *= d;
  return n;
}
}  // namespace

// Versions are unique across all parameter sets, so a copy keyed by one can never match another.
std::uint64_t ParamSet::next_version() {
  static std::atomic<std::uint64_t> counter{0};
  return ++counter;
}

void ParamSet::add_param(const std::string& name, const Shape& shape, Init init) {
  index_[name] = entries_.size();
  entries_.push_back({name, shape, param_count_, false, init});
  param_count_ += numel_of(shape);
}

void ParamSet::add_buffer(const std::string& name, const Shape& shape, Init init) {
  index_[name] = entries_.size();
  entries_.push_back({name, shape, buffer_count_, true, init});
  buffer_count_ += numel_of(shape);
}

void ParamSet::add_counter(const std::string& name) {
  counter_names_.push_back(name);
  counters_[name] = 0;
}

void ParamSet::allocate(Backend& be) {
  be_ = &be;
  data_ = be.zeros({std::max<i64>(param_count_, 1)});
  grads_ = be.zeros({std::max<i64>(param_count_, 1)});
  buffers_ = be.zeros({std::max<i64>(buffer_count_, 1)});
  for (const Entry& e : entries_) {
    if (e.buffer) {
      views_[e.name] = be.view(buffers_, e.offset, e.shape);
    } else {
      views_[e.name] = be.view(data_, e.offset, e.shape);
      grad_views_[e.name] = be.view(grads_, e.offset, e.shape);
    }
  }
}

void ParamSet::init(std::uint64_t seed) {
  Rng rng(seed);
  std::vector<float> params(static_cast<std::size_t>(param_count_)), buffers(static_cast<std::size_t>(buffer_count_));
  for (const Entry& e : entries_) {
    float* p = (e.buffer ? buffers.data() : params.data()) + e.offset;
    for (i64 i = 0; i < numel_of(e.shape); ++i) {
      switch (e.init) {
        case Init::kNormal002: p[i] = rng.normal(0.0f, 0.02f); break;
        case Init::kOnesNormal002: p[i] = rng.normal(1.0f, 0.02f); break;
        case Init::kZeros: p[i] = 0.0f; break;
        case Init::kOnes: p[i] = 1.0f; break;
        case Init::kUniform008: p[i] = static_cast<float>(-0.08 + 0.16 * rng.uniform()); break;
      }
    }
  }
  Array flat_p = be_->view(data_, 0, {param_count_});
  Array flat_b = be_->view(buffers_, 0, {buffer_count_});
  if (param_count_) be_->upload(params.data(), flat_p);
  if (buffer_count_) be_->upload(buffers.data(), flat_b);
  for (auto& [name, v] : counters_) v = 0;
  zero_grads();
  bump_version();
}

Array& ParamSet::param(const std::string& name) {
  auto it = views_.find(name);
  if (it == views_.end()) fail<RuntimeError>("no parameter '{}'", name);
  return it->second;
}

Array& ParamSet::grad(const std::string& name) {
  auto it = grad_views_.find(name);
  if (it == grad_views_.end()) fail<RuntimeError>("no trainable parameter '{}'", name);
  return it->second;
}

Array& ParamSet::buffer(const std::string& name) { return param(name); }

std::int64_t& ParamSet::counter(const std::string& name) {
  auto it = counters_.find(name);
  if (it == counters_.end()) fail<RuntimeError>("no counter '{}'", name);
  return it->second;
}

void ParamSet::zero_grads() { be_->fill(grads_, 0.0f); }

void ParamSet::save_to(Checkpoint& ck, const std::string& prefix) const {
  std::vector<float> params = to_vector(*be_, data_), buffers = to_vector(*be_, buffers_);
  for (const Entry& e : entries_) {
    Tensor t(DType::kFloat32, e.shape);
    const float* src = (e.buffer ? buffers.data() : params.data()) + e.offset;
    std::copy(src, src + t.numel(), t.span<float>().begin());
    ck.add(prefix + e.name, std::move(t));
  }
  for (const auto& name : counter_names_) {
    Tensor t(DType::kInt64, {});
    t.span<std::int64_t>()[0] = counters_.at(name);
    ck.add(prefix + name, std::move(t));
  }
}

std::vector<TensorSpec> ParamSet::specs(const std::string& prefix) const {
  std::vector<TensorSpec> out;
  for (const Entry& e : entries_) out.push_back({prefix + e.name, DType::kFloat32, e.shape});
  for (const auto& name : counter_names_) out.push_back({prefix + name, DType::kInt64, {}});
  return out;
}

double ema_decay(double decay, std::int64_t t, double rampup) {
  const double tt = static_cast<double>(t);
  const double warm = rampup > 0 ? std::pow(0.5, 1.0 / (rampup * tt)) : (1.0 + tt) / (10.0 + tt);
  return decay < warm ? decay : warm;
}

void ParamSet::average_from(const ParamSet& other, double decay) {
  if (other.param_count_ != param_count_ || other.buffer_count_ != buffer_count_ ||
      other.entries_.size() != entries_.size() || other.counter_names_ != counter_names_ || !be_ || other.be_ != be_)
    fail<RuntimeError>("averaging {} into {}: {} parameters and {} buffers into {} and {} (or another backend); expected "
                       "one layout", other.tag, tag, other.param_count_, other.buffer_count_, param_count_, buffer_count_);
  if (decay == 0.0) {  // an exact copy, whatever the block held before
    be_->upload(to_vector(*be_, other.data_).data(), data_);
    be_->upload(to_vector(*be_, other.buffers_).data(), buffers_);
  } else {
    be_->ema_step(decay, data_, other.data_);
    be_->ema_step(decay, buffers_, other.buffers_);
  }
  counters_ = other.counters_;
  bump_version();
}

void ParamSet::load_from(const Checkpoint& ck, const std::string& prefix) {
  std::vector<float> params(static_cast<std::size_t>(std::max<i64>(param_count_, 1))),
      buffers(static_cast<std::size_t>(std::max<i64>(buffer_count_, 1)));
  for (const Entry& e : entries_) {
    const Tensor& t = ck.get(prefix + e.name);
    if (t.dtype() != DType::kFloat32 || t.shape() != e.shape)
      fail<InputError>("{}: tensor '{}{}' is {} {}; expected float32 {}", ck.source(), prefix, e.name, dtype_name(t.dtype()),
                       shape_text(t.shape()), shape_text(e.shape));
    auto src = t.span<float>();
    std::copy(src.begin(), src.end(), (e.buffer ? buffers.data() : params.data()) + e.offset);
  }
  for (const auto& name : counter_names_) {
    const Tensor& t = ck.get(prefix + name);
    if (t.dtype() != DType::kInt64 || t.numel() != 1)
      fail<InputError>("{}: tensor '{}{}' is {} {}; expected an int64 scalar", ck.source(), prefix, name,
                       dtype_name(t.dtype()), shape_text(t.shape()));
    counters_[name] = t.span<std::int64_t>()[0];
  }
  be_->upload(params.data(), data_);
  be_->upload(buffers.data(), buffers_);
  bump_version();
}

}  // namespace t2i::nn
