// Layers: explicit forward/backward pairs over a backend (no autograd), each owning its
// backend op (and so its oneDNN primitives) and registering its parameters by PyTorch name.
//
// A network may run several times before its backward passes (the discriminator sees real/right,
// real/wrong and fake/right in one step), so every layer keeps its saved activations and output
// arrays per pass, indexed by a small integer; backward(pass) uses that pass's activations and
// accumulates parameter gradients. Arrays of a pass are reused across iterations.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "nn/backend.h"
#include "nn/params.h"

namespace t2i::nn {

// Per-pass slots, grown on demand.
template <typename Slot>
class Slots {
 public:
  Slot& operator[](int pass) {
    if (pass < 0 || pass > 64) throw std::out_of_range("pass index");
    if (static_cast<std::size_t>(pass) >= slots_.size()) slots_.resize(static_cast<std::size_t>(pass) + 1);
    return slots_[static_cast<std::size_t>(pass)];
  }

 private:
  std::vector<Slot> slots_;
};

class Linear {
 public:
  Linear(ParamSet& ps, std::string name, i64 in, i64 out, bool bias = true);
  void bind(Backend& be);
  const Array& forward(int pass, const Array& x);
  // Returns dx when need_dx, else an empty array.
  const Array& backward(int pass, const Array& dy, bool need_dx, bool param_grads = true);

 private:
  struct Slot {
    Array x, y, dx;
  };
  ParamSet& ps_;
  std::string name_;
  bool bias_;
  std::unique_ptr<LinearOp> op_;
  Slots<Slot> slots_;
};

class Conv {
 public:
  Conv(ParamSet& ps, std::string name, const ConvSpec& spec);
  void bind(Backend& be);
  const Array& forward(int pass, const Array& x);
  const Array& backward(int pass, const Array& dy, bool need_dx, bool param_grads = true);
  const ConvSpec& spec() const { return spec_; }

 private:
  struct Slot {
    Array x, y, dx;
  };
  ParamSet& ps_;
  std::string name_;
  ConvSpec spec_;
  std::unique_ptr<ConvOp> op_;
  Slots<Slot> slots_;
};

class BatchNorm {
 public:
  // fuse_relu: the layer computes relu(batchnorm(x)) in one op where the backend can.
  BatchNorm(ParamSet& ps, std::string name, i64 channels, bool fuse_relu = false, float eps = 1e-5f,
            float momentum = 0.1f);
  void bind(Backend& be);
  // training: batch statistics, running statistics updated; else running statistics.
  const Array& forward(int pass, const Array& x, bool training);
  const Array& backward(int pass, const Array& dy, bool param_grads = true);

 private:
  struct Slot {
    Array x, y, dx;
    BatchNormSaved saved;
  };
  ParamSet& ps_;
  std::string name_;
  float eps_, momentum_;
  bool fuse_relu_;
  std::unique_ptr<BatchNormOp> op_;
  Backend* be_ = nullptr;
  Array scratch_gamma_, scratch_beta_;  // gradient sinks when param_grads is false
  Slots<Slot> slots_;
};

class Activation {
 public:
  Activation(Act act, float alpha = 0.0f) : act_(act), alpha_(alpha) {}
  void bind(Backend& be);
  const Array& forward(int pass, const Array& x);
  const Array& backward(int pass, const Array& dy);

 private:
  struct Slot {
    Array y, dx;
  };
  Act act_;
  float alpha_;
  std::unique_ptr<ActOp> op_;
  Slots<Slot> slots_;
};

}  // namespace t2i::nn
