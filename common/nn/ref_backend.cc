// The ref backend: plain C-order arrays in host memory and the loops of ref_kernels.h. Slow and
// obvious: the oracle every other backend is tested against.
#include <cmath>
#include <cstring>
#include <vector>

#include "error.h"
#include "nn/backend.h"
#include "nn/ref_backend.h"

namespace t2i::nn {

namespace {

struct HostArray : ArrayImpl {
  std::shared_ptr<float[]> owner;
  float* data = nullptr;
};

float* ptr(const Array& a) {
  auto* h = dynamic_cast<HostArray*>(a.impl.get());
  if (!h) fail<RuntimeError>("ref backend given an array of another backend");
  return h->data;
}

Array make(const Shape& shape) {
  Array a;
  a.shape = shape;
  auto h = std::make_shared<HostArray>();
  std::size_t n = 1;
  for (i64 d : shape) n *= static_cast<std::size_t>(d);
  h->owner = std::shared_ptr<float[]>(new float[std::max<std::size_t>(n, 1)]());
  h->data = h->owner.get();
  a.impl = h;
  return a;
}

// Makes y an array of this shape, reusing its storage when the shape already matches.
void ensure(Array& y, const Shape& shape) {
  if (y.impl && y.shape == shape && dynamic_cast<HostArray*>(y.impl.get())) return;
  y = make(shape);
}

i64 spatial(const Shape& s) {
  i64 n = 1;
  for (std::size_t i = 2; i < s.size(); ++i) n *= s[i];
  return n;
}

class RefConv : public ConvOp {
 public:
  explicit RefConv(const ConvSpec& s) : s_(s) {}
  void forward(const Array& x, const Array& w, const Array* b, Array& y, std::uint64_t) override {
    check_conv_bias(s_, b, "forward");
    auto d = s_.dims(x.shape);
    ensure(y, s_.output_shape(x.shape));
    if (s_.transposed) ref::conv_transpose2d_forward(d, ptr(x), ptr(w), b ? ptr(*b) : nullptr, ptr(y));
    else ref::conv2d_forward(d, ptr(x), ptr(w), b ? ptr(*b) : nullptr, ptr(y));
  }
  void backward_data(const Array& dy, const Array& w, const Shape& x_shape, Array& dx, std::uint64_t) override {
    auto d = s_.dims(x_shape);
    ensure(dx, x_shape);
    if (s_.transposed) ref::conv_transpose2d_backward_data(d, ptr(dy), ptr(w), ptr(dx));
    else ref::conv2d_backward_data(d, ptr(dy), ptr(w), ptr(dx));
  }
  void backward_weights(const Array& x, const Array& dy, Array& dw, Array* db) override {
    check_conv_bias(s_, db, "backward_weights");
    auto d = s_.dims(x.shape);
    if (s_.transposed) ref::conv_transpose2d_backward_weights(d, ptr(x), ptr(dy), ptr(dw), db ? ptr(*db) : nullptr);
    else ref::conv2d_backward_weights(d, ptr(x), ptr(dy), ptr(dw), db ? ptr(*db) : nullptr);
  }

 private:
  ConvSpec s_;
};

class RefLinear : public LinearOp {
 public:
  void forward(const Array& x, const Array& w, const Array* b, Array& y) override {
    ensure(y, {x.dim(0), w.dim(0)});
    ref::linear_forward(x.dim(0), w.dim(1), w.dim(0), ptr(x), ptr(w), b ? ptr(*b) : nullptr, ptr(y));
  }
  void backward_data(const Array& dy, const Array& w, Array& dx) override {
    ensure(dx, {dy.dim(0), w.dim(1)});
    ref::linear_backward_data(dy.dim(0), w.dim(1), w.dim(0), ptr(dy), ptr(w), ptr(dx));
  }
  void backward_weights(const Array& x, const Array& dy, Array& dw, Array* db) override {
    ref::linear_backward_weights(x.dim(0), x.dim(1), dy.dim(1), ptr(x), ptr(dy), ptr(dw), db ? ptr(*db) : nullptr);
  }
};

class RefBatchNorm : public BatchNormOp {
 public:
  RefBatchNorm(float eps, bool relu) : eps_(eps), relu_(relu) {}
  void forward_train(const Array& x, const Array& gamma, const Array& beta, Array& running_mean, Array& running_var,
                     float momentum, Array& y, BatchNormSaved& saved) override {
    ensure(y, x.shape);
    ensure(saved.mean, {x.dim(1)});
    ensure(saved.var, {x.dim(1)});
    ref::batchnorm_forward_train(x.dim(0), x.dim(1), spatial(x.shape), ptr(x), ptr(gamma), ptr(beta), eps_, momentum,
                                 ptr(y), ptr(saved.mean), ptr(saved.var), ptr(running_mean), ptr(running_var));
    if (relu_) {
      ref::act_forward(Act::kRelu, 0.0f, y.numel(), ptr(y), ptr(y));
      saved.out = y;
    }
  }
  void forward_infer(const Array& x, const Array& gamma, const Array& beta, const Array& running_mean,
                     const Array& running_var, Array& y) override {
    ensure(y, x.shape);
    ref::batchnorm_forward_infer(x.dim(0), x.dim(1), spatial(x.shape), ptr(x), ptr(gamma), ptr(beta), eps_,
                                 ptr(running_mean), ptr(running_var), ptr(y));
    if (relu_) ref::act_forward(Act::kRelu, 0.0f, y.numel(), ptr(y), ptr(y));
  }
  void backward(const Array& x, const Array& dy, const Array& gamma, const BatchNormSaved& saved, Array& dx,
                Array& dgamma, Array& dbeta) override {
    ensure(dx, x.shape);
    const float* g = ptr(dy);
    std::vector<float> masked;
    if (relu_) {
      masked.resize(static_cast<std::size_t>(dy.numel()));
      ref::act_backward(Act::kRelu, 0.0f, dy.numel(), ptr(saved.out), ptr(dy), masked.data());
      g = masked.data();
    }
    ref::batchnorm_backward(x.dim(0), x.dim(1), spatial(x.shape), ptr(x), g, ptr(gamma), ptr(saved.mean),
                            ptr(saved.var), eps_, ptr(dx), ptr(dgamma), ptr(dbeta));
  }

 private:
  float eps_;
  bool relu_;
};

class RefAct : public ActOp {
 public:
  RefAct(Act a, float alpha) : a_(a), alpha_(alpha) {}
  void forward(const Array& x, Array& y) override {
    ensure(y, x.shape);
    ref::act_forward(a_, alpha_, x.numel(), ptr(x), ptr(y));
  }
  void backward(const Array& y, const Array& dy, Array& dx) override {
    ensure(dx, y.shape);
    ref::act_backward(a_, alpha_, y.numel(), ptr(y), ptr(dy), ptr(dx));
  }

 private:
  Act a_;
  float alpha_;
};

struct HostIndex : ArrayImpl {
  std::vector<i64> idx;
};

class RefMaxPool : public PoolOp {
 public:
  RefMaxPool(i64 k, i64 s) : k_(k), s_(s) {
    if (k < 1 || s < 1) fail<RuntimeError>("max pooling needs kernel and stride >= 1, not {} and {}", k, s);
  }
  void forward(const Array& x, Array& y, PoolSaved& saved) override {
    if (x.shape.size() != 3 || x.dim(2) < k_)
      fail<RuntimeError>("max pooling of kernel {} given {}", k_, shape_text(x.shape));
    const i64 to = ref::maxpool1d_out_len(x.dim(2), k_, s_);
    ensure(y, {x.dim(0), x.dim(1), to});
    auto ix = std::dynamic_pointer_cast<HostIndex>(saved.extra);
    if (!ix) ix = std::make_shared<HostIndex>();
    ix->idx.resize(static_cast<std::size_t>(y.numel()));
    saved.extra = ix;
    saved.x_shape = x.shape;
    ref::maxpool1d_forward(x.dim(0), x.dim(1), x.dim(2), k_, s_, ptr(x), ptr(y), ix->idx.data());
  }
  void backward(const Array& dy, const PoolSaved& saved, Array& dx) override {
    auto ix = std::dynamic_pointer_cast<HostIndex>(saved.extra);
    if (!ix) fail<RuntimeError>("max pooling backward without its forward");
    ensure(dx, saved.x_shape);
    ref::maxpool1d_backward(dx.dim(0), dx.dim(1), dx.dim(2), dy.dim(2), ix->idx.data(), ptr(dy), ptr(dx));
  }

 private:
  i64 k_, s_;
};

class RefRnn : public RnnOp {
 public:
  explicit RefRnn(const RnnSpec& s) : s_(s) {}
  void forward(const Array& x, const Array& w_ih, const Array& w_hh, const Array& b_ih, const Array& b_hh, Array& H,
               RnnSaved& saved) override {
    if (x.shape.size() != 3 || x.dim(2) != s_.input)
      fail<RuntimeError>("recurrent layer of input {} given {}", s_.input, shape_text(x.shape));
    const i64 N = x.dim(0), T = x.dim(1);
    ensure(H, {N, T, s_.hidden});
    ensure(saved.ws, {std::max<i64>(1, ref::rnn_workspace_size(s_.cell, N, T, s_.hidden))});
    ref::rnn_forward(s_.cell, N, T, s_.input, s_.hidden, ptr(x), ptr(w_ih), ptr(w_hh), ptr(b_ih), ptr(b_hh), ptr(H),
                     ptr(saved.ws));
    saved.x = x;
    saved.h = H;
  }
  void backward(const Array& dH, const Array& w_ih, const Array& w_hh, const RnnSaved& saved, Array& dx,
                Array& dw_ih, Array& dw_hh, Array& db_ih, Array& db_hh) override {
    if (saved.x.empty()) fail<RuntimeError>("recurrent layer backward without its forward");
    const i64 N = saved.x.dim(0), T = saved.x.dim(1);
    ensure(dx, saved.x.shape);
    ref::rnn_backward(s_.cell, N, T, s_.input, s_.hidden, ptr(saved.x), ptr(w_ih), ptr(w_hh), ptr(saved.h),
                      ptr(saved.ws), ptr(dH), ptr(dx), ptr(dw_ih), ptr(dw_hh), ptr(db_ih), ptr(db_hh));
  }

 private:
  RnnSpec s_;
};

class RefBackend : public Backend {
 public:
  const char* name() const override { return "ref"; }
  Array zeros(const Shape& shape) override { return make(shape); }
  void upload(const float* src, Array& dst) override {
    ensure(dst, dst.shape);
    std::memcpy(ptr(dst), src, static_cast<std::size_t>(dst.numel()) * sizeof(float));
  }
  void download(const Array& src, float* dst) override {
    std::memcpy(dst, ptr(src), static_cast<std::size_t>(src.numel()) * sizeof(float));
  }
  Array view(const Array& flat, i64 offset, const Shape& shape) override {
    Array v;
    v.shape = shape;
    auto h = std::make_shared<HostArray>();
    h->owner = dynamic_cast<HostArray&>(*flat.impl).owner;
    h->data = ptr(flat) + offset;
    if (offset + v.numel() > flat.numel()) fail<RuntimeError>("view past the end of its array");
    v.impl = h;
    return v;
  }
  void fill(Array& a, float value) override { std::fill(ptr(a), ptr(a) + a.numel(), value); }
  void to_plain(const Array& x, Array& y) override {
    ensure(y, x.shape);
    if (ptr(y) != ptr(x)) std::memcpy(ptr(y), ptr(x), static_cast<std::size_t>(x.numel()) * sizeof(float));
  }

  Array reshape(const Array& x, const Shape& shape) override {
    Array y = x;
    y.shape = shape;
    if (y.numel() != x.numel()) fail<RuntimeError>("cannot reshape {} to {}", shape_text(x.shape), shape_text(shape));
    return y;
  }

  std::unique_ptr<ConvOp> make_conv(const ConvSpec& spec) override { return std::make_unique<RefConv>(spec); }
  std::unique_ptr<LinearOp> make_linear() override { return std::make_unique<RefLinear>(); }
  std::unique_ptr<BatchNormOp> make_batchnorm(float eps, bool fuse_relu) override {
    return std::make_unique<RefBatchNorm>(eps, fuse_relu);
  }
  std::unique_ptr<ActOp> make_act(Act act, float alpha) override { return std::make_unique<RefAct>(act, alpha); }
  std::unique_ptr<PoolOp> make_maxpool1d(i64 k, i64 s) override { return std::make_unique<RefMaxPool>(k, s); }
  std::unique_ptr<RnnOp> make_rnn(const RnnSpec& spec) override { return std::make_unique<RefRnn>(spec); }

  void replicate(const Array& x, i64 h, i64 w, Array& y) override {
    ensure(y, {x.dim(0), x.dim(1), h, w});
    ref::replicate_forward(x.dim(0), x.dim(1), h * w, ptr(x), ptr(y));
  }
  void replicate_backward(const Array& dy, Array& dx) override {
    ensure(dx, {dy.dim(0), dy.dim(1)});
    ref::replicate_backward(dy.dim(0), dy.dim(1), dy.dim(2) * dy.dim(3), ptr(dy), ptr(dx));
  }
  void concat(const Array& a, const Array& b, Array& y) override {
    ensure(y, {a.dim(0), a.dim(1) + b.dim(1), a.dim(2), a.dim(3)});
    ref::concat_forward(a.dim(0), a.dim(1), b.dim(1), a.dim(2) * a.dim(3), ptr(a), ptr(b), ptr(y));
  }
  void concat_backward(const Array& dy, i64 ca, Array& da, Array& db) override {
    ensure(da, {dy.dim(0), ca, dy.dim(2), dy.dim(3)});
    ensure(db, {dy.dim(0), dy.dim(1) - ca, dy.dim(2), dy.dim(3)});
    ref::concat_backward(dy.dim(0), ca, dy.dim(1) - ca, dy.dim(2) * dy.dim(3), ptr(dy), ptr(da), ptr(db));
  }
  void add(const Array& a, const Array& b, Array& y) override {
    ensure(y, a.shape);
    ref::add_forward(a.numel(), ptr(a), ptr(b), ptr(y));
  }
  void accumulate(const Array& x, Array& acc) override {
    float* p = ptr(acc);
    const float* q = ptr(x);
    for (i64 i = 0; i < x.numel(); ++i) p[i] += q[i];
  }
  void mean_time(const Array& h, Array& y) override {
    ensure(y, {h.dim(0), h.dim(2)});
    ref::mean_time_forward(h.dim(0), h.dim(1), h.dim(2), ptr(h), ptr(y));
  }
  void mean_time_backward(const Array& dy, i64 t, Array& dh) override {
    ensure(dh, {dy.dim(0), t, dy.dim(1)});
    ref::mean_time_backward(dy.dim(0), t, dy.dim(1), ptr(dy), ptr(dh));
  }
  void transpose_ct(const Array& x, Array& y) override {
    if (x.shape.size() != 3) fail<RuntimeError>("transpose_ct given {}", shape_text(x.shape));
    ensure(y, {x.dim(0), x.dim(2), x.dim(1)});
    ref::transpose_ct_forward(x.dim(0), x.dim(1), x.dim(2), ptr(x), ptr(y));
  }
  void transpose_ct_backward(const Array& dy, Array& dx) override {
    if (dy.shape.size() != 3) fail<RuntimeError>("transpose_ct_backward given {}", shape_text(dy.shape));
    ensure(dx, {dy.dim(0), dy.dim(2), dy.dim(1)});
    ref::transpose_ct_backward(dy.dim(0), dy.dim(2), dy.dim(1), ptr(dy), ptr(dx));
  }
  void normalize_rows(const Array& x, float scale, Array& y) override {
    if (x.shape.size() != 2) fail<RuntimeError>("normalize_rows given {}", shape_text(x.shape));
    ensure(y, x.shape);
    ref::normalize_rows_forward(x.dim(0), x.dim(1), scale, ptr(x), ptr(y));
  }
  void normalize_rows_backward(const Array& x, const Array& dy, float scale, Array& dx) override {
    if (x.shape.size() != 2 || dy.shape != x.shape)
      fail<RuntimeError>("normalize_rows_backward given {} and {}", shape_text(x.shape), shape_text(dy.shape));
    ensure(dx, x.shape);
    ref::normalize_rows_backward(x.dim(0), x.dim(1), scale, ptr(x), ptr(dy), ptr(dx));
  }
  float dssje_loss(const Array& v, const Array& t, Array* dv, Array* dt) override {
    if (v.shape.size() != 2 || v.shape != t.shape)
      fail<RuntimeError>("dssje_loss given {} and {}", shape_text(v.shape), shape_text(t.shape));
    if (dv) ensure(*dv, v.shape);
    if (dt) ensure(*dt, t.shape);
    return ref::dssje_loss(v.dim(0), v.dim(1), ptr(v), ptr(t), dv ? ptr(*dv) : nullptr, dt ? ptr(*dt) : nullptr);
  }
  float bce_with_logits(const Array& z, const Array& t, const Array* w, Array* dz) override {
    if (dz) ensure(*dz, z.shape);
    return ref::bce_with_logits(z.numel(), ptr(z), ptr(t), w ? ptr(*w) : nullptr, dz ? ptr(*dz) : nullptr);
  }
  using Backend::mse;
  float mse(const Array& a, const Array& b, Array* da, float grad_scale) override {
    if (da) ensure(*da, a.shape);
    return ref::mse(a.numel(), ptr(a), ptr(b), da ? ptr(*da) : nullptr, grad_scale);
  }
  void shift_cutout(const Array& x, const std::vector<std::int32_t>& p, i64 cut, Array& y) override {
    check_shift_cutout(x, p, cut);
    ensure(y, x.shape);
    ref::shift_cutout_forward(x.dim(0), x.dim(1), x.dim(2), x.dim(3), p.data(), cut, ptr(x), ptr(y));
  }
  void shift_cutout_backward(const Array& dy, const std::vector<std::int32_t>& p, i64 cut, Array& dx) override {
    check_shift_cutout(dy, p, cut);
    ensure(dx, dy.shape);
    ref::shift_cutout_backward(dy.dim(0), dy.dim(1), dy.dim(2), dy.dim(3), p.data(), cut, ptr(dy), ptr(dx));
  }
  float mean_abs_diff(const Array& a, const Array& b, float grad_scale, Array* da) override {
    if (da) ensure(*da, a.shape);
    return ref::mean_abs_diff(a.numel(), ptr(a), ptr(b), grad_scale, da ? ptr(*da) : nullptr);
  }
  void ema_step(double decay, Array& avg, const Array& x) override {
    if (avg.numel() != x.numel()) fail<RuntimeError>("ema_step: avg holds {} values, x {}; expected the same count", avg.numel(), x.numel());
    ref::ema_step(decay, avg.numel(), ptr(avg), ptr(x));
  }
  void adam_step(const ref::AdamHyper& h, i64 step, Array& p, const Array& g, Array& m, Array& v) override {
    ref::adam_step(h, step, p.numel(), ptr(p), ptr(g), ptr(m), ptr(v));
  }
  void rmsprop_step(const ref::RmspropHyper& h, Array& p, const Array& g, Array& v) override {
    ref::rmsprop_step(h, p.numel(), ptr(p), ptr(g), ptr(v));
  }
};

}  // namespace

std::unique_ptr<Backend> make_ref_backend() { return std::make_unique<RefBackend>(); }

}  // namespace t2i::nn
