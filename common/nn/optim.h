// Optimisers over a ParamSet's flat parameter block, with PyTorch's update rules and state that
// a checkpoint stores per parameter ("<prefix><param>.exp_avg", "<prefix><param>.exp_avg_sq",
// "<prefix>step"), independent of the block's internal order, so training resumes exactly.
#pragma once

#include <string>

#include "checkpoint.h"
#include "nn/params.h"

namespace t2i::nn {

class Adam {
 public:
  explicit Adam(ref::AdamHyper h = {}) : h_(h) {}
  void bind(Backend& be, ParamSet& ps);
  void step();  // one update from the current gradients
  ref::AdamHyper& hyper() { return h_; }
  i64 steps() const { return step_; }
  void save_to(Checkpoint& ck, const std::string& prefix) const;
  void load_from(const Checkpoint& ck, const std::string& prefix);

 private:
  ref::AdamHyper h_;
  Backend* be_ = nullptr;
  ParamSet* ps_ = nullptr;
  Array m_, v_;
  i64 step_ = 0;
};

class Rmsprop {
 public:
  explicit Rmsprop(ref::RmspropHyper h = {}) : h_(h) {}
  void bind(Backend& be, ParamSet& ps);
  void step();
  ref::RmspropHyper& hyper() { return h_; }
  void save_to(Checkpoint& ck, const std::string& prefix) const;
  void load_from(const Checkpoint& ck, const std::string& prefix);

 private:
  ref::RmspropHyper h_;
  Backend* be_ = nullptr;
  ParamSet* ps_ = nullptr;
  Array v_;
  i64 step_ = 0;
};

}  // namespace t2i::nn
