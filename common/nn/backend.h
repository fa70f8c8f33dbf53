// The compute backend interface: a small set of ops on float32 arrays that live on a device.
//
// Layers and models are written once against this interface; a backend supplies the arrays and
// the ops. `ref` (plain loops over ref_kernels.h, the oracle), `cpu` (oneDNN primitives in
// blocked layouts), and later `cuda` implement it. Data crosses the interface only through
// upload() and download() in plain C order; between ops a backend may keep an array in its own
// layout (oneDNN's nChw16c), which only it understands.
//
// Ops that carry per-shape state (oneDNN primitives and their memory descriptors, workspaces)
// are objects made once per layer by the backend and reused every iteration; they write their
// outputs into Arrays the caller keeps, reallocating only when a shape changes.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "nn/ref_kernels.h"
#include "tensor.h"

namespace t2i::nn {

using i64 = std::int64_t;
using ref::Act;

// A backend's storage for one array; what lies behind it is the backend's business.
struct ArrayImpl {
  virtual ~ArrayImpl() = default;
};

// A float32 array on a backend: a logical shape (NCHW images, NC vectors) and the storage.
struct Array {
  Shape shape;
  std::shared_ptr<ArrayImpl> impl;

  i64 numel() const;
  bool empty() const { return !impl; }
  i64 dim(int i) const { return shape.at(static_cast<std::size_t>(i)); }
};

struct ConvSpec {
  bool transposed = false;  // ConvTranspose2d: weights [C_in, C_out, KH, KW], as in PyTorch
  i64 in_channels = 0, out_channels = 0;
  i64 kh = 1, kw = 1, sh = 1, sw = 1, ph = 0, pw = 0;
  bool bias = false;

  Shape weight_shape() const;
  // The output shape for an input of `in` [N,C,H,W]; throws if it does not fit.
  Shape output_shape(const Shape& in) const;
  ref::ConvDims dims(const Shape& in) const;
};

class ConvOp {
 public:
  virtual ~ConvOp() = default;
  // y = conv(x, w) + b; b is given exactly when the spec has a bias (RuntimeError otherwise).
  // w_version: a number that changes whenever w's values change (ParamSet::version()), so a
  // backend may keep w converted to its own layout between calls; 0 means unknown.
  virtual void forward(const Array& x, const Array& w, const Array* b, Array& y, std::uint64_t w_version = 0) = 0;
  // dx = d conv / dx applied to dy; x_shape is the forward input's shape.
  virtual void backward_data(const Array& dy, const Array& w, const Shape& x_shape, Array& dx,
                             std::uint64_t w_version = 0) = 0;
  // dw += ..., db += ... (db given exactly when the spec has a bias).
  virtual void backward_weights(const Array& x, const Array& dy, Array& dw, Array* db) = 0;
};

// The bias contract of ConvOp; both backends check it.
void check_conv_bias(const ConvSpec& spec, const Array* bias, const char* what);

class LinearOp {
 public:
  virtual ~LinearOp() = default;
  // x [N,I], w [O,I], b [O] or null, y [N,O].
  virtual void forward(const Array& x, const Array& w, const Array* b, Array& y) = 0;
  virtual void backward_data(const Array& dy, const Array& w, Array& dx) = 0;
  virtual void backward_weights(const Array& x, const Array& dy, Array& dw, Array* db) = 0;
};

// Batch normalisation over N and the spatial dimensions (BatchNorm2d on [N,C,H,W], BatchNorm1d
// on [N,C]). `saved` keeps what backward needs from one forward pass.
struct BatchNormSaved {
  Array mean, var;  // [C]: the batch statistics (biased variance)
  Array out;        // with a fused ReLU: the output, whose sign masks the gradient (ref)
  std::shared_ptr<ArrayImpl> extra;  // backend workspace (oneDNN's ReLU mask)
};

class BatchNormOp {
 public:
  virtual ~BatchNormOp() = default;
  // Batch statistics; moves running_mean/var by momentum (unbiased variance, as PyTorch).
  virtual void forward_train(const Array& x, const Array& gamma, const Array& beta, Array& running_mean,
                             Array& running_var, float momentum, Array& y, BatchNormSaved& saved) = 0;
  virtual void forward_infer(const Array& x, const Array& gamma, const Array& beta, const Array& running_mean,
                             const Array& running_var, Array& y) = 0;
  // dx from dy; dgamma += ..., dbeta += ....
  virtual void backward(const Array& x, const Array& dy, const Array& gamma, const BatchNormSaved& saved, Array& dx,
                        Array& dgamma, Array& dbeta) = 0;
};

class ActOp {
 public:
  virtual ~ActOp() = default;
  virtual void forward(const Array& x, Array& y) = 0;
  // From the output: dx = dy * act'(x), with act' expressed through y.
  virtual void backward(const Array& y, const Array& dy, Array& dx) = 0;
};

// Max pooling over time (MaxPool1d, no padding, floor mode): x [N,C,T] -> y [N,C,(T - k) / s + 1].
// `saved` keeps the argmax of one forward pass, so one op can serve several passes.
struct PoolSaved {
  Shape x_shape;
  std::shared_ptr<ArrayImpl> extra;  // backend workspace (argmax indices, oneDNN's workspace)
};

class PoolOp {
 public:
  virtual ~PoolOp() = default;
  virtual void forward(const Array& x, Array& y, PoolSaved& saved) = 0;
  // dx (overwritten, shape saved.x_shape) routes dy to the first maximum of each window.
  virtual void backward(const Array& dy, const PoolSaved& saved, Array& dx) = 0;
};

// A single-layer, unidirectional recurrent layer over time with h0 = 0, as PyTorch's nn.GRU and
// nn.RNN(nonlinearity='relu') with batch_first (see ref::rnn_forward for the equations).
using ref::RnnCell;
struct RnnSpec {
  RnnCell cell = RnnCell::kGru;
  i64 input = 0, hidden = 0;
  i64 gates() const { return ref::rnn_gates(cell); }
};

// What backward needs from one forward pass. x and H are the caller's arrays, held by handle:
// leave their contents unchanged until backward.
struct RnnSaved {
  Array x, h;
  Array ws;  // the gate workspace (ref::rnn_workspace_size), plain
};

class RnnOp {
 public:
  virtual ~RnnOp() = default;
  // x [N,T,I]; w_ih [G Hd, I], w_hh [G Hd, Hd], b_ih, b_hh [G Hd] (PyTorch's layout and gate
  // order); H [N,T,Hd] receives every hidden state.
  virtual void forward(const Array& x, const Array& w_ih, const Array& w_hh, const Array& b_ih, const Array& b_hh,
                       Array& H, RnnSaved& saved) = 0;
  // Backpropagation through time from dH [N,T,Hd]: dx overwritten; dw_ih, dw_hh, db_ih, db_hh
  // accumulated (+=).
  virtual void backward(const Array& dH, const Array& w_ih, const Array& w_hh, const RnnSaved& saved, Array& dx,
                        Array& dw_ih, Array& dw_hh, Array& db_ih, Array& db_hh) = 0;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual const char* name() const = 0;
  // Waits until every op queued so far has finished (a device backend runs them asynchronously;
  // the host backends have finished already). For timing: results are read with download().
  virtual void synchronize() {}

  // Memory. New arrays are plain (C order) and zero-filled.
  virtual Array zeros(const Shape& shape) = 0;
  virtual void upload(const float* src, Array& dst) = 0;      // dst keeps its shape; made plain
  virtual void download(const Array& src, float* dst) = 0;    // plain C order out
  // A plain view of elements [offset, offset + numel(shape)) of a plain flat array.
  virtual Array view(const Array& flat, i64 offset, const Shape& shape) = 0;
  virtual void fill(Array& a, float value) = 0;  // keeps a's layout
  // y = x, made plain (for arrays leaving a network or reshaped).
  virtual void to_plain(const Array& x, Array& y) = 0;
  // The same elements under another shape of equal size; plain (copies if x is not).
  virtual Array reshape(const Array& x, const Shape& shape) = 0;

  // Ops with per-shape state.
  virtual std::unique_ptr<ConvOp> make_conv(const ConvSpec& spec) = 0;
  virtual std::unique_ptr<LinearOp> make_linear() = 0;
  // fuse_relu: y = relu(batchnorm(x)) in one op (oneDNN's fuse_norm_relu); backward then takes
  // the gradient with respect to that output.
  virtual std::unique_ptr<BatchNormOp> make_batchnorm(float eps, bool fuse_relu = false) = 0;
  virtual std::unique_ptr<ActOp> make_act(Act act, float alpha) = 0;
  // MaxPool1d(kernel k, stride s).
  virtual std::unique_ptr<PoolOp> make_maxpool1d(i64 k, i64 s) = 0;
  virtual std::unique_ptr<RnnOp> make_rnn(const RnnSpec& spec) = 0;

  // Plumbing. Outputs are (re)allocated as needed.
  // x [N,C] -> y [N,C,H,W]; backward sums over H,W.
  virtual void replicate(const Array& x, i64 h, i64 w, Array& y) = 0;
  virtual void replicate_backward(const Array& dy, Array& dx) = 0;
  // Channel concatenation of a [N,CA,H,W] and b [N,CB,H,W]; backward splits.
  virtual void concat(const Array& a, const Array& b, Array& y) = 0;
  virtual void concat_backward(const Array& dy, i64 ca, Array& da, Array& db) = 0;
  // y = a + b (same shape; any layouts).
  virtual void add(const Array& a, const Array& b, Array& y) = 0;
  // acc += x (same shape).
  virtual void accumulate(const Array& x, Array& acc) = 0;
  // The mean over time of h [N,T,D] -> y [N,D]; backward spreads dy [N,D] over t steps.
  virtual void mean_time(const Array& h, Array& y) = 0;
  virtual void mean_time_backward(const Array& dy, i64 t, Array& dh) = 0;

  // x [N,C,T] -> y [N,T,C] (Conv1d features to batch-first RNN input); backward takes dy
  // [N,T,C] back to dx [N,C,T].
  virtual void transpose_ct(const Array& x, Array& y) = 0;
  virtual void transpose_ct_backward(const Array& dy, Array& dx) = 0;

  // Row normalisation of plain x [N,D] (ref::normalize_rows_*): y = scale * x / |x| per row;
  // backward takes the forward's input x and dy to dx.
  virtual void normalize_rows(const Array& x, float scale, Array& y) = 0;
  virtual void normalize_rows_backward(const Array& x, const Array& dy, float scale, Array& dx) = 0;

  // DiffAugment's translation and cutout of plain images x [N,C,H,W] (ref::shift_cutout_*):
  // p holds (dy, dx, cy, cx) per image, 4 N values; cut the cutout square's side (0: none).
  // The backward takes dy to dx with the same p.
  virtual void shift_cutout(const Array& x, const std::vector<std::int32_t>& p, i64 cut, Array& y) = 0;
  virtual void shift_cutout_backward(const Array& dy, const std::vector<std::int32_t>& p, i64 cut, Array& dx) = 0;

  // Losses over plain arrays; return the loss and write the gradient (if dz non-null).
  // logits and targets [N]; weights [N] or null; mean over N.
  virtual float bce_with_logits(const Array& z, const Array& t, const Array* w, Array* dz) = 0;
  // mean (a - b)^2; da, when given, receives grad_scale * 2 (a - b) / numel.
  virtual float mse(const Array& a, const Array& b, Array* da, float grad_scale) = 0;
  float mse(const Array& a, const Array& b, Array* da) { return mse(a, b, da, 1.0f); }
  // mean |a - b| over all elements (a and b of one shape); da, when given, receives
  // grad_scale * sign(a - b) / numel (the mode-seeking term's gradient, scaled by the caller).
  virtual float mean_abs_diff(const Array& a, const Array& b, float grad_scale, Array* da) = 0;
  // The DS-SJE symmetric hinge (ref::dssje_loss) of image features v [B,D] against text
  // features t [B,D]; dv and dt (either may be null) are overwritten with the gradient.
  virtual float dssje_loss(const Array& v, const Array& t, Array* dv, Array* dt) = 0;

  // Optimisers over flat plain arrays.
  virtual void adam_step(const ref::AdamHyper& h, i64 step, Array& p, const Array& g, Array& m, Array& v) = 0;
  virtual void rmsprop_step(const ref::RmspropHyper& h, Array& p, const Array& g, Array& v) = 0;
  // avg = decay * avg + (1 - decay) * x over two flat blocks of one size (ref::ema_step).
  virtual void ema_step(double decay, Array& avg, const Array& x) = 0;
};

// Throws std::invalid_argument unless x is [N,C,H,W] and p holds 4 N values with shifts and
// centres inside the image (|dy| < H, |dx| < W, 0 <= cy < H, 0 <= cx < W) and 0 <= cut <= min(H, W).
void check_shift_cutout(const Array& x, const std::vector<std::int32_t>& p, i64 cut);

// "ref" or "cpu" (and "cuda" where built). Throws UsageError for an unknown name.
std::unique_ptr<Backend> make_backend(const std::string& name);

// Helpers over the interface.
Tensor download(Backend& be, const Array& a);          // to a host float32 tensor
Array upload(Backend& be, const Tensor& t);             // from a host float32 tensor
std::vector<float> to_vector(Backend& be, const Array& a);

}  // namespace t2i::nn
