// A model's parameters as one block with named views (llm.c's ParameterTensors): trainable
// parameters, their gradients and the optimiser state share one flat layout, so checkpoints,
// gradients and Adam/RMSprop states are single arrays. Batch-norm running statistics live in a
// second block of buffers; num_batches_tracked counters on the host.
//
// Names are the PyTorch state_dict names of the equivalent module (tests/torch/t2i_nets.py),
// so a checkpoint loads into PyTorch with load_state_dict and back.
#pragma once

#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "checkpoint.h"
#include "rng.h"
#include "nn/backend.h"

namespace t2i::nn {

using t2i::Rng;  // common/rng.h: the same numbers on every platform

enum class Init { kNormal002, kOnesNormal002, kZeros, kOnes, kUniform008 };

// The decay of a running average at update t (counted from 1), so that the first updates do not
// keep the initial weights (train-gan --g-ema): min(decay, (1 + t) / (10 + t)), a half-life of about
// 0.077 t; or, with rampup > 0, min(decay, 0.5^(1 / (rampup t))), a half-life of at most rampup t
// updates (the ramp-up ratio of Karras et al. 2022).
double ema_decay(double decay, std::int64_t t, double rampup = 0.0);

class ParamSet {
 public:
  struct Entry {
    std::string name;
    Shape shape;
    i64 offset = 0;
    bool buffer = false;  // running statistics: not trained, no gradient
    Init init = Init::kZeros;
  };

  // Registration, before allocate().
  void add_param(const std::string& name, const Shape& shape, Init init);
  void add_buffer(const std::string& name, const Shape& shape, Init init);
  void add_counter(const std::string& name);  // int64 num_batches_tracked

  void allocate(Backend& be);
  // A short name for the model ("G", "D") used in profiles and messages.
  std::string tag;
  // Fills every parameter from the paper's initialisation, in registration order.
  void init(std::uint64_t seed);

  Array& param(const std::string& name);       // a view into data()
  Array& grad(const std::string& name);        // a view into grads()
  Array& buffer(const std::string& name);      // a view into buffers()
  std::int64_t& counter(const std::string& name);

  Array& data() { return data_; }
  Array& grads() { return grads_; }
  Array& buffers() { return buffers_; }
  i64 size() const { return param_count_; }
  const std::vector<Entry>& entries() const { return entries_; }
  void zero_grads();
  // Changes whenever the parameters' values may have changed (init, load, an optimiser step):
  // backends keep converted copies of weights while it stays the same.
  std::uint64_t version() const { return version_; }
  void bump_version() { version_ = next_version(); }

  // The running average of another set of the same layout (train-gan --g-ema): parameters and
  // batch-norm statistics become decay * own + (1 - decay) * other's (Backend::ema_step), the
  // counters other's; decay 0 copies other exactly. RuntimeError for another layout.
  void average_from(const ParamSet& other, double decay);

  // Every tensor by name (parameters, buffers, counters), as a checkpoint would hold it.
  void save_to(Checkpoint& ck, const std::string& prefix) const;
  // Loads and checks names, dtypes and shapes (prefix + name).
  void load_from(const Checkpoint& ck, const std::string& prefix);
  std::vector<TensorSpec> specs(const std::string& prefix) const;

 private:
  std::vector<Entry> entries_;
  std::map<std::string, std::size_t> index_;
  std::vector<std::string> counter_names_;
  std::map<std::string, std::int64_t> counters_;
  i64 param_count_ = 0, buffer_count_ = 0;
  static std::uint64_t next_version();
  std::uint64_t version_ = next_version();
  Backend* be_ = nullptr;
  Array data_, grads_, buffers_;
  std::map<std::string, Array> views_, grad_views_;
};

}  // namespace t2i::nn
