// Optimisers over a ParamSet's flat parameter block, with PyTorch's update rules and state that
// a checkpoint stores per parameter ("<prefix><param>.exp_avg", "<prefix><param>.exp_avg_sq",
// "<prefix>step"), independent of the block's internal order, so training resumes exactly.
#pragma once

#include <memory>
#include <string>

#include "checkpoint.h"
#include "nn/params.h"

namespace t2i::nn {

// What the training loops need of an optimiser, whichever rule it follows.
class Optimizer {
 public:
  virtual ~Optimizer() = default;
  virtual const char* name() const = 0;  // "adam", "rmsprop"
  virtual void bind(Backend& be, ParamSet& ps) = 0;
  virtual void step() = 0;  // one update from the current gradients
  virtual double lr() const = 0;
  virtual void set_lr(double lr) = 0;
  virtual void save_to(Checkpoint& ck, const std::string& prefix) const = 0;
  virtual void load_from(const Checkpoint& ck, const std::string& prefix) = 0;
};

class Adam : public Optimizer {
 public:
  explicit Adam(ref::AdamHyper h = {}) : h_(h) {}
  const char* name() const override { return "adam"; }
  void bind(Backend& be, ParamSet& ps) override;
  void step() override;
  double lr() const override { return h_.lr; }
  void set_lr(double lr) override { h_.lr = lr; }
  ref::AdamHyper& hyper() { return h_; }
  i64 steps() const { return step_; }
  void save_to(Checkpoint& ck, const std::string& prefix) const override;
  void load_from(const Checkpoint& ck, const std::string& prefix) override;

 private:
  ref::AdamHyper h_;
  Backend* be_ = nullptr;
  ParamSet* ps_ = nullptr;
  Array m_, v_;
  i64 step_ = 0;
};

class Rmsprop : public Optimizer {
 public:
  explicit Rmsprop(ref::RmspropHyper h = {}) : h_(h) {}
  const char* name() const override { return "rmsprop"; }
  void bind(Backend& be, ParamSet& ps) override;
  void step() override;
  double lr() const override { return h_.lr; }
  void set_lr(double lr) override { h_.lr = lr; }
  ref::RmspropHyper& hyper() { return h_; }
  void save_to(Checkpoint& ck, const std::string& prefix) const override;
  void load_from(const Checkpoint& ck, const std::string& prefix) override;

 private:
  ref::RmspropHyper h_;
  Backend* be_ = nullptr;
  ParamSet* ps_ = nullptr;
  Array v_;
  i64 step_ = 0;
};

// An optimiser by name: "adam" (betas (beta1, 0.999), eps 1e-8) or "rmsprop" (alpha 0.99,
// eps 1e-8), with learning rate lr; UsageError for another name.
struct OptimizerConfig {
  std::string kind = "rmsprop";
  double lr = 7e-4, beta1 = 0.5;
};
std::unique_ptr<Optimizer> make_optimizer(const OptimizerConfig& c);

}  // namespace t2i::nn
