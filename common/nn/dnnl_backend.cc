// The cpu backend: oneDNN primitives on host memory.
//
// Every array is a dnnl::memory. Arrays that come from outside (uploads, parameter views) are
// plain C order; convolution, batch-norm and activation outputs keep whatever blocked layout the
// primitives chose (format_tag::any, so the fast jit:avx512/avx2 kernels run), and the next op
// reorders only when its primitive wants another layout. Each op object builds its primitives
// once per input shape and layout and reuses them, with their workspaces and the reorder buffers,
// every iteration.
#include <oneapi/dnnl/dnnl.hpp>

#include <cmath>
#include <cstring>
#include <map>
#include <mutex>
#include <tuple>
#include <unordered_map>

#include "error.h"
#include "nn/backend.h"
#include "nn/dnnl_deconv_gemm.h"
#include "nn/ref_backend.h"

namespace t2i::nn {

namespace {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

dnnl::engine& engine() {
  static dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}

dnnl::stream& stream() {
  static dnnl::stream s(engine());
  return s;
}

struct DnnlArray : ArrayImpl {
  memory mem;
  std::shared_ptr<ArrayImpl> parent;  // keeps the flat array of a view alive
};

memory::dims dims_of(const Shape& s) {
  if (s.empty()) return {1};
  return memory::dims(s.begin(), s.end());
}

tag plain_tag(std::size_t rank) {
  switch (rank) {
    case 0:
    case 1: return tag::a;
    case 2: return tag::ab;
    case 3: return tag::abc;
    case 4: return tag::abcd;
    case 5: return tag::abcde;
  }
  fail<RuntimeError>("cpu backend: rank {} arrays are not supported", rank);
}

memory::desc plain_md(const Shape& s) { return memory::desc(dims_of(s), dt::f32, plain_tag(s.size())); }
memory::desc any_md(const Shape& s) { return memory::desc(dims_of(s), dt::f32, tag::any); }

const memory& mem(const Array& a) {
  auto* d = dynamic_cast<DnnlArray*>(a.impl.get());
  if (!d) fail<RuntimeError>("cpu backend given an array of another backend");
  return d->mem;
}

float* data(const Array& a) { return static_cast<float*>(mem(a).get_data_handle()); }
bool is_plain(const Array& a) { return mem(a).get_desc() == plain_md(a.shape); }

Array wrap(const Shape& shape, memory m, std::shared_ptr<ArrayImpl> parent = nullptr) {
  auto impl = std::make_shared<DnnlArray>();
  impl->mem = std::move(m);
  impl->parent = std::move(parent);
  Array a;
  a.shape = shape;
  a.impl = impl;
  return a;
}

// A zero-filled memory of this desc (padding of blocked layouts included).
memory new_memory(const memory::desc& md) {
  memory m(md, engine());
  std::memset(m.get_data_handle(), 0, md.get_size());
  return m;
}

// Makes y an array of this shape and desc, reusing its storage when both already match.
void ensure(Array& y, const Shape& shape, const memory::desc& md) {
  if (y.impl && y.shape == shape) {
    auto* d = dynamic_cast<DnnlArray*>(y.impl.get());
    if (d && d->mem.get_desc() == md) return;
  }
  y = wrap(shape, new_memory(md));
}

void execute(const dnnl::primitive& p, const std::unordered_map<int, memory>& args) { p.execute(stream(), args); }

// Reorder primitives, made once per pair of layouts and reused (the set is small: the layouts
// of a network's edges).
void reorder(const memory& src, const memory& dst) {
  struct Entry {
    memory::desc from, to;
    dnnl::reorder prim;
  };
  static dnnl::engine& eng = engine();  // made first, so it outlives the cached primitives
  static std::vector<Entry> cache;
  const memory::desc from = src.get_desc(), to = dst.get_desc();
  dnnl::reorder* prim = nullptr;
  for (Entry& e : cache)
    if (e.from == from && e.to == to) prim = &e.prim;
  if (!prim) {
    cache.push_back({from, to, dnnl::reorder(dnnl::reorder::primitive_desc(eng, from, eng, to))});
    prim = &cache.back().prim;
  }
  prim->execute(stream(), const_cast<memory&>(src), const_cast<memory&>(dst));
}

// The memory of x in layout md: x itself when it already is, else x reordered into buf (kept by
// the caller and reused while the layout stays the same).
const memory& as(const Array& x, const memory::desc& md, memory& buf) {
  const memory& m = mem(x);
  if (m.get_desc() == md) return m;
  if (!buf || buf.get_desc() != md) buf = new_memory(md);
  reorder(m, buf);
  return buf;
}

// acc += the contents of src (any layout), through a scratch buffer in acc's layout; acc must be
// dense (plain, or a permuted plain such as iohw), so elements pair up by offset.
void add_into(const memory& src, const Array& acc, memory& scratch) {
  const memory::desc pmd = mem(acc).get_desc();
  const float* s;
  if (src.get_desc() == pmd) {
    s = static_cast<const float*>(src.get_data_handle());
  } else {
    if (!scratch || scratch.get_desc() != pmd) scratch = new_memory(pmd);
    reorder(src, scratch);
    s = static_cast<const float*>(scratch.get_data_handle());
  }
  float* d = data(acc);
  const i64 n = acc.numel();
#pragma omp parallel for simd schedule(static) if (n > 65536)
  for (i64 i = 0; i < n; ++i) d[i] += s[i];
}

// ---- Convolution and transposed convolution ---------------------------------------------
class DnnlConv : public ConvOp {
 public:
  explicit DnnlConv(const ConvSpec& s) : s_(s) {}

  void forward(const Array& x, const Array& w, const Array* b, Array& y, std::uint64_t w_version) override {
    check_conv_bias(s_, b, "forward");
    Plan& p = plan(x.shape);
    if (p.gemm) {  // small-input transposed conv: GEMM + col2im, output in the usual layout
      const memory& src = as(x, memory::desc(dims_of(x.shape), dt::f32, tag::nhwc), p.src_buf);
      if (!p.gemm_out) p.gemm_out = new_memory(plain_md(p.out_shape));
      p.gemm->run(static_cast<const float*>(src.get_data_handle()), data(w), b ? data(*b) : nullptr,
                  static_cast<float*>(p.gemm_out.get_data_handle()), stream());
      ensure(y, p.out_shape, p.fwd.dst_desc());
      if (mem(y).get_desc() == p.gemm_out.get_desc()) std::memcpy(data(y), p.gemm_out.get_data_handle(), p.gemm_out.get_desc().get_size());
      else reorder(p.gemm_out, mem(y));
      return;
    }
    const memory& src = as(x, p.fwd.src_desc(), p.src_buf);
    const memory& wts = weights(w, p.fwd.weights_desc(), p.wts_buf, p.wts_version, w_version);
    ensure(y, p.out_shape, p.fwd.dst_desc());
    std::unordered_map<int, memory> args{{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, wts}, {DNNL_ARG_DST, mem(y)}};
    if (b) args[DNNL_ARG_BIAS] = mem(*b);
    execute(p.fwd_prim, args);
  }

  void backward_data(const Array& dy, const Array& w, const Shape& x_shape, Array& dx, std::uint64_t w_version) override {
    Plan& p = plan(x_shape);
    const memory& ddst = as(dy, p.bwd_data.diff_dst_desc(), p.ddst_buf_data);
    const memory& wts = weights(w, p.bwd_data.weights_desc(), p.wts_buf_bwd, p.wts_bwd_version, w_version);
    ensure(dx, x_shape, p.bwd_data.diff_src_desc());
    execute(p.bwd_data_prim, {{DNNL_ARG_DIFF_DST, ddst}, {DNNL_ARG_WEIGHTS, wts}, {DNNL_ARG_DIFF_SRC, mem(dx)}});
  }

  void backward_weights(const Array& x, const Array& dy, Array& dw, Array* db) override {
    check_conv_bias(s_, db, "backward_weights");
    Plan& p = plan(x.shape);
    const memory& src = as(x, p.bwd_w.src_desc(), p.src_buf_w);
    const memory& ddst = as(dy, p.bwd_w.diff_dst_desc(), p.ddst_buf_w);
    if (!p.dw || p.dw.get_desc() != p.bwd_w.diff_weights_desc()) p.dw = new_memory(p.bwd_w.diff_weights_desc());
    std::unordered_map<int, memory> args{{DNNL_ARG_SRC, src}, {DNNL_ARG_DIFF_DST, ddst}, {DNNL_ARG_DIFF_WEIGHTS, p.dw}};
    if (db) {
      if (!p.db) p.db = new_memory(p.bwd_w.diff_bias_desc());
      args[DNNL_ARG_DIFF_BIAS] = p.db;
    }
    execute(p.bwd_w_prim, args);
    add_into(p.dw, dw, p.dw_plain);
    if (db) add_into(p.db, *db, p.db_plain);
  }

 private:
  // Primitives for one input shape, built on first use.
  struct Plan {
    Shape out_shape;
    dnnl::convolution_forward::primitive_desc cfwd;
    dnnl::convolution_backward_data::primitive_desc cbwd_data;
    dnnl::convolution_backward_weights::primitive_desc cbwd_w;
    dnnl::deconvolution_forward::primitive_desc dfwd;
    dnnl::deconvolution_backward_data::primitive_desc dbwd_data;
    dnnl::deconvolution_backward_weights::primitive_desc dbwd_w;
    // Views onto whichever set is in use.
    struct Fwd {
      memory::desc s, w, d;
      memory::desc src_desc() const { return s; }
      memory::desc weights_desc() const { return w; }
      memory::desc dst_desc() const { return d; }
    } fwd;
    struct BwdData {
      memory::desc ds, w, dd;
      memory::desc diff_src_desc() const { return ds; }
      memory::desc weights_desc() const { return w; }
      memory::desc diff_dst_desc() const { return dd; }
    } bwd_data;
    struct BwdW {
      memory::desc s, dw, db, dd;
      memory::desc src_desc() const { return s; }
      memory::desc diff_weights_desc() const { return dw; }
      memory::desc diff_bias_desc() const { return db; }
      memory::desc diff_dst_desc() const { return dd; }
    } bwd_w;
    dnnl::primitive fwd_prim, bwd_data_prim, bwd_w_prim;
    memory src_buf, wts_buf, wts_buf_bwd, ddst_buf_data, src_buf_w, ddst_buf_w, dw, db, dw_plain, db_plain;
    // The weights version (and storage) the reordered copies hold; 0: none.
    std::uint64_t wts_version = 0, wts_bwd_version = 0;
    // Forward of a small-input transposed conv as GEMM + col2im (DeconvGemm::suits).
    std::unique_ptr<DeconvGemm> gemm;
    memory gemm_out;
  };

  // The weights in the primitive's layout, reordered only when they changed since the last call
  // (a known, equal version of the same storage).
  static const memory& weights(const Array& w, const memory::desc& md, memory& buf, std::uint64_t& held,
                               std::uint64_t version) {
    const memory& m = mem(w);
    if (m.get_desc() == md) return m;
    if (version != 0 && held == version && buf && buf.get_desc() == md) return buf;
    held = version;
    return as(w, md, buf);
  }

  Plan& plan(const Shape& in) {
    auto it = plans_.find(in);
    if (it != plans_.end()) return it->second;
    Plan& p = plans_[in];
    p.out_shape = s_.output_shape(in);
    const memory::dims strides{s_.sh, s_.sw}, pad{s_.ph, s_.pw};
    const auto src = any_md(in), dst = any_md(p.out_shape);
    // Weights as the array holds them: oihw for Conv2d; PyTorch's [in, out, kh, kw] for
    // ConvTranspose2d is oneDNN's {out, in, kh, kw} in iohw order.
    const memory::dims wdims{s_.out_channels, s_.in_channels, s_.kh, s_.kw};
    const auto wts = memory::desc(wdims, dt::f32, tag::any);
    const auto bias = memory::desc({s_.out_channels}, dt::f32, tag::a);
    using dnnl::algorithm;
    using dnnl::prop_kind;
    if (!s_.transposed) {
      auto fd = s_.bias ? dnnl::convolution_forward::desc(prop_kind::forward_training, algorithm::convolution_direct, src,
                                                          wts, bias, dst, strides, pad, pad)
                        : dnnl::convolution_forward::desc(prop_kind::forward_training, algorithm::convolution_direct, src,
                                                          wts, dst, strides, pad, pad);
      p.cfwd = {fd, engine()};
      p.cbwd_data = {dnnl::convolution_backward_data::desc(algorithm::convolution_direct, src, wts, dst, strides, pad, pad),
                     engine(), p.cfwd};
      auto wd = s_.bias ? dnnl::convolution_backward_weights::desc(algorithm::convolution_direct, src, wts, bias, dst,
                                                                    strides, pad, pad)
                        : dnnl::convolution_backward_weights::desc(algorithm::convolution_direct, src, wts, dst, strides,
                                                                    pad, pad);
      p.cbwd_w = {wd, engine(), p.cfwd};
      p.fwd = {p.cfwd.src_desc(), p.cfwd.weights_desc(), p.cfwd.dst_desc()};
      p.bwd_data = {p.cbwd_data.diff_src_desc(), p.cbwd_data.weights_desc(), p.cbwd_data.diff_dst_desc()};
      p.bwd_w = {p.cbwd_w.src_desc(), p.cbwd_w.diff_weights_desc(), s_.bias ? p.cbwd_w.diff_bias_desc() : memory::desc(),
                 p.cbwd_w.diff_dst_desc()};
      p.fwd_prim = dnnl::convolution_forward(p.cfwd);
      p.bwd_data_prim = dnnl::convolution_backward_data(p.cbwd_data);
      p.bwd_w_prim = dnnl::convolution_backward_weights(p.cbwd_w);
    } else {
      auto fd = s_.bias ? dnnl::deconvolution_forward::desc(prop_kind::forward_training, algorithm::deconvolution_direct,
                                                            src, wts, bias, dst, strides, pad, pad)
                        : dnnl::deconvolution_forward::desc(prop_kind::forward_training, algorithm::deconvolution_direct,
                                                            src, wts, dst, strides, pad, pad);
      p.dfwd = {fd, engine()};
      p.dbwd_data = {
          dnnl::deconvolution_backward_data::desc(algorithm::deconvolution_direct, src, wts, dst, strides, pad, pad),
          engine(), p.dfwd};
      auto wd = s_.bias ? dnnl::deconvolution_backward_weights::desc(algorithm::deconvolution_direct, src, wts, bias, dst,
                                                                      strides, pad, pad)
                        : dnnl::deconvolution_backward_weights::desc(algorithm::deconvolution_direct, src, wts, dst,
                                                                      strides, pad, pad);
      p.dbwd_w = {wd, engine(), p.dfwd};
      p.fwd = {p.dfwd.src_desc(), p.dfwd.weights_desc(), p.dfwd.dst_desc()};
      p.bwd_data = {p.dbwd_data.diff_src_desc(), p.dbwd_data.weights_desc(), p.dbwd_data.diff_dst_desc()};
      p.bwd_w = {p.dbwd_w.src_desc(), p.dbwd_w.diff_weights_desc(), s_.bias ? p.dbwd_w.diff_bias_desc() : memory::desc(),
                 p.dbwd_w.diff_dst_desc()};
      p.fwd_prim = dnnl::deconvolution_forward(p.dfwd);
      if (DeconvGemm::suits(s_, in)) p.gemm = std::make_unique<DeconvGemm>(s_, in, engine());
      p.bwd_data_prim = dnnl::deconvolution_backward_data(p.dbwd_data);
      p.bwd_w_prim = dnnl::deconvolution_backward_weights(p.dbwd_w);
    }
    return p;
  }

  ConvSpec s_;
  std::map<Shape, Plan> plans_;
};

// The weights array of a conv as oneDNN should read it: plain oihw, or iohw for transposed.
// Parameter views are created plain by the backend with the PyTorch shape; DnnlConv's `as`
// compares against the primitive's desc, so the view must carry the right logical dims. This
// wrapper makes that view once per weights array.
class ConvWeights {
 public:
  static Array logical(const Array& w, bool transposed) {
    // [in, out, kh, kw] PyTorch storage -> oneDNN dims {out, in, kh, kw} with iohw strides.
    const Shape& s = w.shape;
    memory::desc md = transposed ? memory::desc({s[1], s[0], s[2], s[3]}, dt::f32, tag::iohw)
                                 : memory::desc({s[0], s[1], s[2], s[3]}, dt::f32, tag::oihw);
    return wrap(s, memory(md, engine(), data(w)), w.impl);
  }
};

// Applies ConvWeights to the weights and weight gradients a DnnlConv sees.
class DnnlConvOp : public ConvOp {
 public:
  explicit DnnlConvOp(const ConvSpec& s) : s_(s), conv_(s) {}
  void forward(const Array& x, const Array& w, const Array* b, Array& y, std::uint64_t w_version) override {
    conv_.forward(x, logical(w), b, y, versioned(w, w_version));
  }
  void backward_data(const Array& dy, const Array& w, const Shape& x_shape, Array& dx, std::uint64_t w_version) override {
    conv_.backward_data(dy, logical(w), x_shape, dx, versioned(w, w_version));
  }
  void backward_weights(const Array& x, const Array& dy, Array& dw, Array* db) override {
    conv_.backward_weights(x, dy, dw_logical(dw), db);
  }

 private:
  // A version is only trusted for the storage it was first given with.
  std::uint64_t versioned(const Array& w, std::uint64_t version) {
    if (version == 0) return 0;
    if (versioned_data_ != data(w)) {
      versioned_data_ = data(w);
      ++epoch_;
    }
    return version + (epoch_ << 40);
  }
  // Cached per underlying pointer: parameter views do not move.
  const Array& logical(const Array& w) {
    if (w_cache_.empty() || data(w_cache_) != data(w)) w_cache_ = ConvWeights::logical(w, s_.transposed);
    return w_cache_;
  }
  Array& dw_logical(const Array& dw) {
    if (dw_cache_.empty() || data(dw_cache_) != data(dw)) dw_cache_ = ConvWeights::logical(dw, s_.transposed);
    return dw_cache_;
  }
  ConvSpec s_;
  DnnlConv conv_;
  Array w_cache_, dw_cache_;
  const float* versioned_data_ = nullptr;
  std::uint64_t epoch_ = 0;
};

// ---- Linear (inner product, plain layouts: gemm) -----------------------------------------
class DnnlLinear : public LinearOp {
 public:
  void forward(const Array& x, const Array& w, const Array* b, Array& y) override {
    Plan& p = plan(x.dim(0), w.dim(1), w.dim(0), b != nullptr);
    ensure(y, {x.dim(0), w.dim(0)}, plain_md({x.dim(0), w.dim(0)}));
    memory::desc pmd = plain_md(x.shape);
    std::unordered_map<int, memory> args{
        {DNNL_ARG_SRC, as(x, pmd, p.src_buf)}, {DNNL_ARG_WEIGHTS, mem(w)}, {DNNL_ARG_DST, mem(y)}};
    if (b) args[DNNL_ARG_BIAS] = mem(*b);
    execute(b ? p.fwd_bias : p.fwd, args);
  }
  void backward_data(const Array& dy, const Array& w, Array& dx) override {
    Plan& p = plan(dy.dim(0), w.dim(1), w.dim(0), false);
    ensure(dx, {dy.dim(0), w.dim(1)}, plain_md({dy.dim(0), w.dim(1)}));
    execute(p.bwd_data, {{DNNL_ARG_DIFF_DST, as(dy, plain_md(dy.shape), p.ddst_buf)},
                         {DNNL_ARG_WEIGHTS, mem(w)},
                         {DNNL_ARG_DIFF_SRC, mem(dx)}});
  }
  void backward_weights(const Array& x, const Array& dy, Array& dw, Array* db) override {
    Plan& p = plan(x.dim(0), x.dim(1), dy.dim(1), db != nullptr);
    if (!p.dw) p.dw = new_memory(plain_md(dw.shape));
    std::unordered_map<int, memory> args{{DNNL_ARG_SRC, as(x, plain_md(x.shape), p.src_buf)},
                                         {DNNL_ARG_DIFF_DST, as(dy, plain_md(dy.shape), p.ddst_buf)},
                                         {DNNL_ARG_DIFF_WEIGHTS, p.dw}};
    if (db) {
      if (!p.db) p.db = new_memory(plain_md(db->shape));
      args[DNNL_ARG_DIFF_BIAS] = p.db;
    }
    execute(db ? p.bwd_w_bias : p.bwd_w, args);
    add_into(p.dw, dw, p.scratch);
    if (db) add_into(p.db, *db, p.scratch_b);
  }

 private:
  struct Plan {
    dnnl::primitive fwd, fwd_bias, bwd_data, bwd_w, bwd_w_bias;
    memory src_buf, ddst_buf, dw, db, scratch, scratch_b;
  };
  Plan& plan(i64 n, i64 in, i64 out, bool) {
    auto key = std::make_tuple(n, in, out);
    auto it = plans_.find(key);
    if (it != plans_.end()) return it->second;
    Plan& p = plans_[key];
    using dnnl::prop_kind;
    auto src = plain_md({n, in}), wts = plain_md({out, in}), bias = plain_md({out}), dst = plain_md({n, out});
    dnnl::inner_product_forward::primitive_desc f(
        dnnl::inner_product_forward::desc(prop_kind::forward_training, src, wts, dst), engine());
    dnnl::inner_product_forward::primitive_desc fb(
        dnnl::inner_product_forward::desc(prop_kind::forward_training, src, wts, bias, dst), engine());
    p.fwd = dnnl::inner_product_forward(f);
    p.fwd_bias = dnnl::inner_product_forward(fb);
    p.bwd_data = dnnl::inner_product_backward_data(
        {dnnl::inner_product_backward_data::desc(src, wts, dst), engine(), f});
    p.bwd_w = dnnl::inner_product_backward_weights(
        {dnnl::inner_product_backward_weights::desc(src, wts, dst), engine(), f});
    p.bwd_w_bias = dnnl::inner_product_backward_weights(
        {dnnl::inner_product_backward_weights::desc(src, wts, bias, dst), engine(), fb});
    return p;
  }
  std::map<std::tuple<i64, i64, i64>, Plan> plans_;
};

// ---- Batch normalisation -----------------------------------------------------------------
struct Workspace : ArrayImpl {
  memory mem;
};

class DnnlBatchNorm : public BatchNormOp {
 public:
  DnnlBatchNorm(float eps, bool relu) : eps_(eps), relu_(relu) {}

  void forward_train(const Array& x, const Array& gamma, const Array& beta, Array& running_mean, Array& running_var,
                     float momentum, Array& y, BatchNormSaved& saved) override {
    Plan& p = plan(mem(x).get_desc());
    const Shape c{x.dim(1)};
    ensure(y, x.shape, p.md);
    ensure(saved.mean, c, plain_md(c));
    ensure(saved.var, c, plain_md(c));
    std::unordered_map<int, memory> args{{DNNL_ARG_SRC, mem(x)},        {DNNL_ARG_SCALE, mem(gamma)},
                                         {DNNL_ARG_SHIFT, mem(beta)},   {DNNL_ARG_DST, mem(y)},
                                         {DNNL_ARG_MEAN, mem(saved.mean)}, {DNNL_ARG_VARIANCE, mem(saved.var)}};
    if (relu_) {
      auto ws = std::dynamic_pointer_cast<Workspace>(saved.extra);
      if (!ws || ws->mem.get_desc() != p.ws_md) {
        ws = std::make_shared<Workspace>();
        ws->mem = new_memory(p.ws_md);
        saved.extra = ws;
      }
      args[DNNL_ARG_WORKSPACE] = ws->mem;
    }
    execute(p.fwd, args);
    // Running statistics as PyTorch keeps them: the unbiased variance.
    i64 m = x.dim(0);
    for (std::size_t i = 2; i < x.shape.size(); ++i) m *= x.shape[i];
    const float unbias = m > 1 ? static_cast<float>(m) / static_cast<float>(m - 1) : 1.0f;
    float* rm = data(running_mean);
    float* rv = data(running_var);
    const float* bm = data(saved.mean);
    const float* bv = data(saved.var);
    for (i64 i = 0; i < x.dim(1); ++i) {
      rm[i] = (1.0f - momentum) * rm[i] + momentum * bm[i];
      rv[i] = (1.0f - momentum) * rv[i] + momentum * bv[i] * unbias;
    }
  }

  void forward_infer(const Array& x, const Array& gamma, const Array& beta, const Array& running_mean,
                     const Array& running_var, Array& y) override {
    Plan& p = plan(mem(x).get_desc());
    ensure(y, x.shape, p.md);
    execute(p.infer, {{DNNL_ARG_SRC, mem(x)},
                      {DNNL_ARG_SCALE, mem(gamma)},
                      {DNNL_ARG_SHIFT, mem(beta)},
                      {DNNL_ARG_MEAN, mem(running_mean)},
                      {DNNL_ARG_VARIANCE, mem(running_var)},
                      {DNNL_ARG_DST, mem(y)}});
  }

  void backward(const Array& x, const Array& dy, const Array& gamma, const BatchNormSaved& saved, Array& dx,
                Array& dgamma, Array& dbeta) override {
    Plan& p = plan(mem(x).get_desc());
    const Shape c{x.dim(1)};
    ensure(dx, x.shape, p.md);
    if (!p.dgamma) p.dgamma = new_memory(plain_md(c)), p.dbeta = new_memory(plain_md(c));
    std::unordered_map<int, memory> args{{DNNL_ARG_SRC, mem(x)},
                                         {DNNL_ARG_MEAN, mem(saved.mean)},
                                         {DNNL_ARG_VARIANCE, mem(saved.var)},
                                         {DNNL_ARG_DIFF_DST, as(dy, p.md, p.ddst_buf)},
                                         {DNNL_ARG_SCALE, mem(gamma)},
                                         {DNNL_ARG_SHIFT, p.dbeta},  // unused by the maths; oneDNN 2.6 asks for it
                                         {DNNL_ARG_DIFF_SRC, mem(dx)},
                                         {DNNL_ARG_DIFF_SCALE, p.dgamma},
                                         {DNNL_ARG_DIFF_SHIFT, p.dbeta}};
    if (relu_) {
      auto ws = std::dynamic_pointer_cast<Workspace>(saved.extra);
      if (!ws) fail<RuntimeError>("batch norm backward without its forward workspace");
      args[DNNL_ARG_WORKSPACE] = ws->mem;
    }
    execute(p.bwd, args);
    add_into(p.dgamma, dgamma, p.scratch);
    add_into(p.dbeta, dbeta, p.scratch);
  }

 private:
  struct Plan {
    memory::desc md, ws_md;
    dnnl::primitive fwd, infer, bwd;
    memory ddst_buf, dgamma, dbeta, scratch;
  };
  Plan& plan(const memory::desc& md) {
    for (auto& p : plans_)
      if (p->md == md) return *p;
    auto p = std::make_unique<Plan>();
    p->md = md;
    using dnnl::normalization_flags;
    using dnnl::prop_kind;
    auto flags = normalization_flags::use_scale | normalization_flags::use_shift;
    if (relu_) flags = flags | normalization_flags::fuse_norm_relu;
    dnnl::batch_normalization_forward::primitive_desc f(
        dnnl::batch_normalization_forward::desc(prop_kind::forward_training, md, eps_, flags), engine());
    p->fwd = dnnl::batch_normalization_forward(f);
    if (relu_) p->ws_md = f.workspace_desc();
    p->infer = dnnl::batch_normalization_forward({dnnl::batch_normalization_forward::desc(
                                                      prop_kind::forward_inference, md, eps_,
                                                      flags | normalization_flags::use_global_stats),
                                                  engine()});
    p->bwd = dnnl::batch_normalization_backward(
        {dnnl::batch_normalization_backward::desc(prop_kind::backward, md, md, eps_, flags), engine(), f});
    plans_.push_back(std::move(p));
    return *plans_.back();
  }
  float eps_;
  bool relu_;
  std::vector<std::unique_ptr<Plan>> plans_;
};

// ---- Activations -------------------------------------------------------------------------
class DnnlAct : public ActOp {
 public:
  DnnlAct(Act a, float alpha) : a_(a), alpha_(alpha) {}
  void forward(const Array& x, Array& y) override {
    Plan& p = plan(mem(x).get_desc());
    ensure(y, x.shape, p.md);
    execute(p.fwd, {{DNNL_ARG_SRC, mem(x)}, {DNNL_ARG_DST, mem(y)}});
  }
  void backward(const Array& y, const Array& dy, Array& dx) override {
    Plan& p = plan(mem(y).get_desc());
    ensure(dx, y.shape, p.md);
    execute(p.bwd, {{DNNL_ARG_DST, mem(y)}, {DNNL_ARG_DIFF_DST, as(dy, p.md, p.ddst_buf)}, {DNNL_ARG_DIFF_SRC, mem(dx)}});
  }

 private:
  struct Plan {
    memory::desc md;
    dnnl::primitive fwd, bwd;
    memory ddst_buf;
  };
  Plan& plan(const memory::desc& md) {
    for (auto& p : plans_)
      if (p->md == md) return *p;
    auto p = std::make_unique<Plan>();
    p->md = md;
    using dnnl::algorithm;
    algorithm alg = a_ == Act::kTanh      ? algorithm::eltwise_tanh_use_dst_for_bwd
                    : a_ == Act::kSigmoid ? algorithm::eltwise_logistic_use_dst_for_bwd
                                          : algorithm::eltwise_relu_use_dst_for_bwd;
    const float alpha = a_ == Act::kLeakyRelu ? alpha_ : 0.0f;
    dnnl::eltwise_forward::primitive_desc f(
        dnnl::eltwise_forward::desc(dnnl::prop_kind::forward_training, alg, md, alpha, 0.0f), engine());
    p->fwd = dnnl::eltwise_forward(f);
    p->bwd = dnnl::eltwise_backward({dnnl::eltwise_backward::desc(alg, md, md, alpha, 0.0f), engine(), f});
    plans_.push_back(std::move(p));
    return *plans_.back();
  }
  Act a_;
  float alpha_;
  std::vector<std::unique_ptr<Plan>> plans_;
};

// ---- Max pooling over time ---------------------------------------------------------------
// oneDNN's 1D max pooling on x [N,C,T] as it lies (plain ncw, or any 3D layout it came in),
// the output in the layout the primitive prefers; the workspace (argmax) lives in PoolSaved.
struct PoolWorkspace : ArrayImpl {
  memory mem;
  void* plan = nullptr;  // the op's Plan that wrote it
};

class DnnlMaxPool : public PoolOp {
 public:
  DnnlMaxPool(i64 k, i64 s) : k_(k), s_(s) {
    if (k < 1 || s < 1) fail<RuntimeError>("max pooling needs kernel and stride >= 1, not {} and {}", k, s);
  }
  void forward(const Array& x, Array& y, PoolSaved& saved) override {
    if (x.shape.size() != 3 || x.dim(2) < k_)
      fail<RuntimeError>("max pooling of kernel {} given {}", k_, shape_text(x.shape));
    Plan& p = plan(x.shape, mem(x).get_desc());
    ensure(y, p.out_shape, p.fwd_pd.dst_desc());
    auto ws = std::dynamic_pointer_cast<PoolWorkspace>(saved.extra);
    if (!ws || ws->mem.get_desc() != p.fwd_pd.workspace_desc()) {
      ws = std::make_shared<PoolWorkspace>();
      ws->mem = new_memory(p.fwd_pd.workspace_desc());
    }
    ws->plan = &p;
    saved.extra = ws;
    saved.x_shape = x.shape;
    execute(p.fwd, {{DNNL_ARG_SRC, mem(x)}, {DNNL_ARG_DST, mem(y)}, {DNNL_ARG_WORKSPACE, ws->mem}});
  }
  void backward(const Array& dy, const PoolSaved& saved, Array& dx) override {
    auto ws = std::dynamic_pointer_cast<PoolWorkspace>(saved.extra);
    if (!ws) fail<RuntimeError>("max pooling backward without its forward");
    bool mine = false;
    for (auto& q : plans_) mine = mine || q.get() == ws->plan;
    if (!mine) fail<RuntimeError>("max pooling backward given another op's forward");
    Plan& p = *static_cast<Plan*>(ws->plan);
    ensure(dx, saved.x_shape, p.bwd_pd.diff_src_desc());
    execute(p.bwd, {{DNNL_ARG_DIFF_DST, as(dy, p.bwd_pd.diff_dst_desc(), p.ddst_buf)},
                    {DNNL_ARG_WORKSPACE, ws->mem},
                    {DNNL_ARG_DIFF_SRC, mem(dx)}});
  }

 private:
  struct Plan {
    Shape x_shape, out_shape;
    memory::desc src_md;
    dnnl::pooling_forward::primitive_desc fwd_pd;
    dnnl::pooling_backward::primitive_desc bwd_pd;
    dnnl::primitive fwd, bwd;
    memory ddst_buf;
  };
  Plan& plan(const Shape& xs, const memory::desc& md) {
    for (auto& p : plans_)
      if (p->x_shape == xs && p->src_md == md) return *p;
    auto p = std::make_unique<Plan>();
    p->x_shape = xs;
    p->src_md = md;
    p->out_shape = {xs[0], xs[1], ref::maxpool1d_out_len(xs[2], k_, s_)};
    // Floor mode: the right padding (negative when the stride leaves a tail) makes oneDNN's
    // output length (T - k + pr) / s + 1 equal to (T - k) / s + 1.
    const i64 pr = (p->out_shape[2] - 1) * s_ + k_ - xs[2];
    using dnnl::algorithm;
    p->fwd_pd = {dnnl::pooling_forward::desc(dnnl::prop_kind::forward_training, algorithm::pooling_max, md,
                                             any_md(p->out_shape), {s_}, {k_}, {0}, {pr}),
                 engine()};
    p->bwd_pd = {dnnl::pooling_backward::desc(algorithm::pooling_max, any_md(xs), p->fwd_pd.dst_desc(), {s_}, {k_}, {0},
                                              {pr}),
                 engine(), p->fwd_pd};
    p->fwd = dnnl::pooling_forward(p->fwd_pd);
    p->bwd = dnnl::pooling_backward(p->bwd_pd);
    plans_.push_back(std::move(p));
    return *plans_.back();
  }
  i64 k_, s_;
  std::vector<std::unique_ptr<Plan>> plans_;
};

// ---- Recurrent layers --------------------------------------------------------------------
// Row-major sgemm C = alpha op(A) op(B) + beta C.
void gemm(char ta, char tb, i64 m, i64 n, i64 k, const float* a, i64 lda, const float* b, i64 ldb, float beta, float* c,
          i64 ldc) {
  if (m == 0 || n == 0) return;
  if (k == 0) {
    for (i64 i = 0; i < m; ++i)
      for (i64 j = 0; j < n; ++j) c[i * ldc + j] = beta == 0.0f ? 0.0f : beta * c[i * ldc + j];
    return;
  }
  if (dnnl::sgemm(ta, tb, m, n, k, 1.0f, a, lda, b, ldb, beta, c, ldc) != dnnl::status::success)
    fail<RuntimeError>("cpu backend: sgemm failed");
}

float sigmoid(float v) { return ref::act_forward(Act::kSigmoid, 0.0f, v); }

// The input projections of all time steps in one GEMM, the recurrent ones a GEMM per step, the
// gates in loops; backward gathers the gate gradients of all steps and finishes dx, dw_ih and
// dw_hh in one GEMM each.
class DnnlRnn : public RnnOp {
 public:
  explicit DnnlRnn(const RnnSpec& s) : s_(s) {}
  void forward(const Array& x, const Array& w_ih, const Array& w_hh, const Array& b_ih, const Array& b_hh, Array& H,
               RnnSaved& saved) override {
    if (x.shape.size() != 3 || x.dim(2) != s_.input)
      fail<RuntimeError>("recurrent layer of input {} given {}", s_.input, shape_text(x.shape));
    const i64 N = x.dim(0), T = x.dim(1), I = s_.input, Hd = s_.hidden, GH = s_.gates() * Hd;
    const float* xp = plain(x, x_buf_);
    const float *wi = plain(w_ih, wi_buf_), *wh = plain(w_hh, wh_buf_), *bi = plain(b_ih, bi_buf_),
                *bh = plain(b_hh, bh_buf_);
    const Shape hs{N, T, Hd}, wss{std::max<i64>(1, ref::rnn_workspace_size(s_.cell, N, T, Hd))};
    ensure(H, hs, plain_md(hs));
    ensure(saved.ws, wss, plain_md(wss));
    float* h = data(H);
    float* ws = data(saved.ws);
    xi_.resize(static_cast<std::size_t>(N * T * GH));
    hh_.resize(static_cast<std::size_t>(N * GH));
    gemm('N', 'T', N * T, GH, I, xp, I, wi, I, 0.0f, xi_.data(), GH);
    for (i64 t = 0; t < T; ++t) {
      if (t > 0) gemm('N', 'T', N, GH, Hd, h + (t - 1) * Hd, T * Hd, wh, Hd, 0.0f, hh_.data(), GH);
      else std::fill(hh_.begin(), hh_.end(), 0.0f);
      for (i64 n = 0; n < N; ++n) {
        const float* gi = xi_.data() + (n * T + t) * GH;
        const float* gh = hh_.data() + n * GH;
        float* ht = h + (n * T + t) * Hd;
        if (s_.cell == RnnCell::kRelu) {
          for (i64 k = 0; k < Hd; ++k) ht[k] = std::max(0.0f, gi[k] + bi[k] + gh[k] + bh[k]);
          continue;
        }
        const float* hp = t > 0 ? ht - Hd : nullptr;
        float* w = ws + (n * T + t) * 4 * Hd;
        for (i64 k = 0; k < Hd; ++k) {
          const float r = sigmoid(gi[k] + bi[k] + gh[k] + bh[k]);
          const float z = sigmoid(gi[Hd + k] + bi[Hd + k] + gh[Hd + k] + bh[Hd + k]);
          const float hn = gh[2 * Hd + k] + bh[2 * Hd + k];
          const float nn = std::tanh(gi[2 * Hd + k] + bi[2 * Hd + k] + r * hn);
          w[k] = r, w[Hd + k] = z, w[2 * Hd + k] = nn, w[3 * Hd + k] = hn;
          ht[k] = (1.0f - z) * nn + z * (hp ? hp[k] : 0.0f);
        }
      }
    }
    saved.x = x;
    saved.h = H;
  }

  void backward(const Array& dH, const Array& w_ih, const Array& w_hh, const RnnSaved& saved, Array& dx, Array& dw_ih,
                Array& dw_hh, Array& db_ih, Array& db_hh) override {
    if (saved.x.empty()) fail<RuntimeError>("recurrent layer backward without its forward");
    for (const Array* g : {&dw_ih, &dw_hh, &db_ih, &db_hh})
      if (!is_plain(*g)) fail<RuntimeError>("recurrent layer: parameter gradients must be plain");
    const i64 N = saved.x.dim(0), T = saved.x.dim(1), I = s_.input, Hd = s_.hidden, GH = s_.gates() * Hd;
    const float* xp = plain(saved.x, x_buf_);
    const float* h = plain(saved.h, h_buf_);
    const float* dh = plain(dH, dh_buf_);
    const float *wi = plain(w_ih, wi_buf_), *wh = plain(w_hh, wh_buf_);
    const float* ws = data(saved.ws);
    ensure(dx, saved.x.shape, plain_md(saved.x.shape));
    const auto nt = static_cast<std::size_t>(N * T);
    gi_.assign(nt * static_cast<std::size_t>(GH), 0.0f);
    gh_.assign(nt * static_cast<std::size_t>(GH), 0.0f);
    carry_.assign(static_cast<std::size_t>(N * Hd), 0.0f);
    for (i64 t = T - 1; t >= 0; --t) {
      for (i64 n = 0; n < N; ++n) {
        float* gi = gi_.data() + (n * T + t) * GH;
        float* gh = gh_.data() + (n * T + t) * GH;
        const float* ht = h + (n * T + t) * Hd;
        const float* dht = dh + (n * T + t) * Hd;
        float* c = carry_.data() + n * Hd;
        for (i64 k = 0; k < Hd; ++k) {
          const float g = dht[k] + c[k];
          if (s_.cell == RnnCell::kRelu) {
            gi[k] = gh[k] = ht[k] > 0.0f ? g : 0.0f;
            c[k] = 0.0f;
            continue;
          }
          const float* w = ws + (n * T + t) * 4 * Hd;
          const float r = w[k], z = w[Hd + k], nn = w[2 * Hd + k], hn = w[3 * Hd + k];
          const float hprev = t > 0 ? ht[k - Hd] : 0.0f;
          const float dn = g * (1.0f - z) * (1.0f - nn * nn);
          const float dz = g * (hprev - nn) * z * (1.0f - z);
          const float dr = dn * hn * r * (1.0f - r);
          gi[k] = dr, gi[Hd + k] = dz, gi[2 * Hd + k] = dn;
          gh[k] = dr, gh[Hd + k] = dz, gh[2 * Hd + k] = dn * r;
          c[k] = g * z;
        }
      }
      // dL/dh_{t-1} += gh_t W_hh.
      if (t > 0) gemm('N', 'N', N, Hd, GH, gh_.data() + t * GH, T * GH, wh, Hd, 1.0f, carry_.data(), Hd);
    }
    gemm('N', 'N', N * T, I, GH, gi_.data(), GH, wi, I, 0.0f, data(dx), I);
    gemm('T', 'N', GH, I, N * T, gi_.data(), GH, xp, I, 1.0f, data(dw_ih), I);
    // The previous hidden states, zero at t = 0.
    hprev_.assign(nt * static_cast<std::size_t>(Hd), 0.0f);
    for (i64 n = 0; n < N; ++n)
      std::copy(h + n * T * Hd, h + (n * T + T - 1) * Hd, hprev_.begin() + (n * T + 1) * Hd);
    gemm('T', 'N', GH, Hd, N * T, gh_.data(), GH, hprev_.data(), Hd, 1.0f, data(dw_hh), Hd);
    float *dbi = data(db_ih), *dbh = data(db_hh);
    for (std::size_t r = 0; r < nt; ++r)
      for (i64 k = 0; k < GH; ++k) {
        dbi[k] += gi_[r * static_cast<std::size_t>(GH) + static_cast<std::size_t>(k)];
        dbh[k] += gh_[r * static_cast<std::size_t>(GH) + static_cast<std::size_t>(k)];
      }
  }

 private:
  static const float* plain(const Array& a, memory& buf) {
    return static_cast<const float*>(as(a, plain_md(a.shape), buf).get_data_handle());
  }
  RnnSpec s_;
  memory x_buf_, h_buf_, dh_buf_, wi_buf_, wh_buf_, bi_buf_, bh_buf_;
  std::vector<float> xi_, hh_, gi_, gh_, carry_, hprev_;
};

// ---- The backend -------------------------------------------------------------------------
class DnnlBackend : public Backend {
 public:
  const char* name() const override { return "cpu"; }

  Array zeros(const Shape& shape) override { return wrap(shape, new_memory(plain_md(shape))); }

  void upload(const float* src, Array& dst) override {
    if (dst.empty() || !is_plain(dst)) dst = zeros(dst.shape);
    std::memcpy(data(dst), src, static_cast<std::size_t>(dst.numel()) * sizeof(float));
  }

  void download(const Array& src, float* dst) override {
    if (is_plain(src)) {
      std::memcpy(dst, data(src), static_cast<std::size_t>(src.numel()) * sizeof(float));
      return;
    }
    memory out(plain_md(src.shape), engine(), dst);
    reorder(mem(src), out);
    stream().wait();
  }

  Array view(const Array& flat, i64 offset, const Shape& shape) override {
    Array v;
    v.shape = shape;
    if (offset < 0 || offset + v.numel() > flat.numel()) fail<RuntimeError>("view past the end of its array");
    return wrap(shape, memory(plain_md(shape), engine(), data(flat) + offset), flat.impl);
  }

  void fill(Array& a, float value) override {
    if (is_plain(a)) {
      std::fill(data(a), data(a) + a.numel(), value);
      return;
    }
    // In place, keeping the layout (and the zero padding of blocked layouts): fill a plain
    // copy and reorder it in.
    memory tmp = new_memory(plain_md(a.shape));
    float* t = static_cast<float*>(tmp.get_data_handle());
    std::fill(t, t + a.numel(), value);
    reorder(tmp, mem(a));
  }

  void to_plain(const Array& x, Array& y) override {
    ensure(y, x.shape, plain_md(x.shape));
    if (data(y) == data(x)) return;
    if (is_plain(x)) std::memcpy(data(y), data(x), static_cast<std::size_t>(x.numel()) * sizeof(float));
    else reorder(mem(x), mem(y));
  }

  Array reshape(const Array& x, const Shape& shape) override {
    Array y;
    y.shape = shape;
    if (y.numel() != x.numel()) fail<RuntimeError>("cannot reshape {} to {}", shape_text(x.shape), shape_text(shape));
    if (is_plain(x)) return wrap(shape, memory(plain_md(shape), engine(), data(x)), x.impl);
    Array p;
    to_plain(x, p);
    return wrap(shape, memory(plain_md(shape), engine(), data(p)), p.impl);
  }

  std::unique_ptr<ConvOp> make_conv(const ConvSpec& spec) override { return std::make_unique<DnnlConvOp>(spec); }
  std::unique_ptr<LinearOp> make_linear() override { return std::make_unique<DnnlLinear>(); }
  std::unique_ptr<BatchNormOp> make_batchnorm(float eps, bool fuse_relu) override {
    return std::make_unique<DnnlBatchNorm>(eps, fuse_relu);
  }
  std::unique_ptr<ActOp> make_act(Act act, float alpha) override { return std::make_unique<DnnlAct>(act, alpha); }
  std::unique_ptr<PoolOp> make_maxpool1d(i64 k, i64 s) override { return std::make_unique<DnnlMaxPool>(k, s); }
  std::unique_ptr<RnnOp> make_rnn(const RnnSpec& spec) override { return std::make_unique<DnnlRnn>(spec); }

  // Small plumbing on plain layouts with loops: D's text at 4 x 4 (N x 640 x 4 x 4 at most), and
  // with train-gan --g-text-shift G's shifts, up to N x ngf x 32 x 32.
  void replicate(const Array& x, i64 h, i64 w, Array& y) override {
    const Shape s{x.dim(0), x.dim(1), h, w};
    ensure(y, s, plain_md(s));
    const float* src = plain(x, rep_buf_);
    ref::replicate_forward(x.dim(0), x.dim(1), h * w, src, data(y));
  }
  void replicate_backward(const Array& dy, Array& dx) override {
    const Shape s{dy.dim(0), dy.dim(1)};
    ensure(dx, s, plain_md(s));
    ref::replicate_backward(dy.dim(0), dy.dim(1), dy.dim(2) * dy.dim(3), plain(dy, rep_bwd_buf_), data(dx));
  }
  void concat(const Array& a_in, const Array& b_in, Array& y) override {
    // Inputs of different layout families (a blocked feature map and a plain replicated text
    // vector) would send oneDNN to its reference concat; bring both to plain first (these are
    // small: N x (8 ndf + proj) x 4 x 4).
    const bool mixed = is_plain(a_in) != is_plain(b_in);
    if (mixed) {
      to_plain(a_in, concat_a_);
      to_plain(b_in, concat_b_);
    }
    const Array& a = mixed ? concat_a_ : a_in;
    const Array& b = mixed ? concat_b_ : b_in;
    auto key = std::make_pair(mem(a).get_desc(), mem(b).get_desc());
    ConcatPlan* p = nullptr;
    for (auto& c : concats_)
      if (c->a == key.first && c->b == key.second) p = c.get();
    if (!p) {
      auto c = std::make_unique<ConcatPlan>();
      c->a = key.first, c->b = key.second;
      c->pd = dnnl::concat::primitive_desc(1, {key.first, key.second}, engine());
      c->prim = dnnl::concat(c->pd);
      concats_.push_back(std::move(c));
      p = concats_.back().get();
    }
    const Shape s{a.dim(0), a.dim(1) + b.dim(1), a.dim(2), a.dim(3)};
    ensure(y, s, p->pd.dst_desc());
    execute(p->prim, {{DNNL_ARG_MULTIPLE_SRC, mem(a)}, {DNNL_ARG_MULTIPLE_SRC + 1, mem(b)}, {DNNL_ARG_DST, mem(y)}});
  }
  void concat_backward(const Array& dy, i64 ca, Array& da, Array& db) override {
    const i64 n = dy.dim(0), cb = dy.dim(1) - ca, hw = dy.dim(2) * dy.dim(3);
    const Shape sa{n, ca, dy.dim(2), dy.dim(3)}, sb{n, cb, dy.dim(2), dy.dim(3)};
    ensure(da, sa, plain_md(sa));
    ensure(db, sb, plain_md(sb));
    ref::concat_backward(n, ca, cb, hw, plain(dy, cat_bwd_buf_), data(da), data(db));
  }
  void add(const Array& a, const Array& b, Array& y) override {
    const memory::desc md = mem(a).get_desc();
    BinaryPlan& p = binary(md);
    ensure(y, a.shape, md);
    execute(p.prim, {{DNNL_ARG_SRC_0, mem(a)}, {DNNL_ARG_SRC_1, as(b, md, p.buf)}, {DNNL_ARG_DST, mem(y)}});
  }
  void accumulate(const Array& x, Array& acc) override {
    if (is_plain(acc)) {
      add_into(mem(x), acc, acc_buf_);
      return;
    }
    const memory::desc md = mem(acc).get_desc();
    BinaryPlan& p = binary(md);
    execute(p.prim, {{DNNL_ARG_SRC_0, mem(acc)}, {DNNL_ARG_SRC_1, as(x, md, p.buf)}, {DNNL_ARG_DST, mem(acc)}});
  }

  void mean_time(const Array& h, Array& y) override {
    const Shape s{h.dim(0), h.dim(2)};
    ensure(y, s, plain_md(s));
    ref::mean_time_forward(h.dim(0), h.dim(1), h.dim(2), plain(h, mean_buf_), data(y));
  }
  void mean_time_backward(const Array& dy, i64 t, Array& dh) override {
    const Shape s{dy.dim(0), t, dy.dim(1)};
    ensure(dh, s, plain_md(s));
    ref::mean_time_backward(dy.dim(0), t, dy.dim(1), plain(dy, mean_buf_), data(dh));
  }
  // Plain loops: the arrays are small (N x 256 x 8 in the text encoder).
  void transpose_ct(const Array& x, Array& y) override {
    if (x.shape.size() != 3) fail<RuntimeError>("transpose_ct given {}", shape_text(x.shape));
    const Shape s{x.dim(0), x.dim(2), x.dim(1)};
    ensure(y, s, plain_md(s));
    ref::transpose_ct_forward(x.dim(0), x.dim(1), x.dim(2), plain(x, transpose_buf_), data(y));
  }
  void transpose_ct_backward(const Array& dy, Array& dx) override {
    if (dy.shape.size() != 3) fail<RuntimeError>("transpose_ct_backward given {}", shape_text(dy.shape));
    const Shape s{dy.dim(0), dy.dim(2), dy.dim(1)};
    ensure(dx, s, plain_md(s));
    ref::transpose_ct_backward(dy.dim(0), dy.dim(2), dy.dim(1), plain(dy, transpose_buf_), data(dx));
  }
  // [N,D] with D ~ 1024: a memory-bound pass, done by the reference loops on plain data.
  void normalize_rows(const Array& x, float scale, Array& y) override {
    if (x.shape.size() != 2) fail<RuntimeError>("normalize_rows given {}", shape_text(x.shape));
    const float* xp = plain(x, norm_buf_);
    ensure(y, x.shape, plain_md(x.shape));
    ref::normalize_rows_forward(x.dim(0), x.dim(1), scale, xp, data(y));
  }
  void normalize_rows_backward(const Array& x, const Array& dy, float scale, Array& dx) override {
    if (x.shape.size() != 2 || dy.shape != x.shape)
      fail<RuntimeError>("normalize_rows_backward given {} and {}", shape_text(x.shape), shape_text(dy.shape));
    const float* xp = plain(x, norm_buf_);
    const float* dyp = plain(dy, norm_bwd_buf_);
    ensure(dx, x.shape, plain_md(x.shape));
    ref::normalize_rows_backward(x.dim(0), x.dim(1), scale, xp, dyp, data(dx));
  }
  // S = V T^T by GEMM, the hinge terms in loops, dV = dS T and dT = dS^T V by GEMM.
  float dssje_loss(const Array& v_in, const Array& t_in, Array* dv, Array* dtx) override {
    if (v_in.shape.size() != 2 || v_in.shape != t_in.shape)
      fail<RuntimeError>("dssje_loss given {} and {}", shape_text(v_in.shape), shape_text(t_in.shape));
    const i64 B = v_in.dim(0), D = v_in.dim(1);
    memory tbuf;
    const float* v = plain(v_in, loss_buf_);
    const float* t = plain(t_in, tbuf);
    const auto bb = static_cast<std::size_t>(B * B);
    std::vector<float> sm(bb), ds(bb, 0.0f);
    gemm('N', 'T', B, B, D, v, D, t, D, 0.0f, sm.data(), B);
    const float scale = 1.0f / static_cast<float>(B * B);
    double loss = 0;
    auto at = [B](i64 i, i64 j) { return static_cast<std::size_t>(i * B + j); };
    for (i64 i = 0; i < B; ++i)
      for (i64 j = 0; j < B; ++j) {
        if (j == i) continue;
        const float m1 = 1.0f + sm[at(i, j)] - sm[at(i, i)], m2 = 1.0f + sm[at(j, i)] - sm[at(i, i)];
        // NaN margins count (as ref): a diverged net gives a NaN loss.
        if (!(m1 <= 0)) loss += m1, ds[at(i, j)] += scale, ds[at(i, i)] -= scale;
        if (!(m2 <= 0)) loss += m2, ds[at(j, i)] += scale, ds[at(i, i)] -= scale;
      }
    if (dv) {
      ensure(*dv, v_in.shape, plain_md(v_in.shape));
      gemm('N', 'N', B, D, B, ds.data(), B, t, D, 0.0f, data(*dv), D);
    }
    if (dtx) {
      ensure(*dtx, t_in.shape, plain_md(t_in.shape));
      gemm('T', 'N', B, D, B, ds.data(), B, v, D, 0.0f, data(*dtx), D);
    }
    return static_cast<float>(loss * double(scale));
  }

  float bce_with_logits(const Array& z, const Array& t, const Array* w, Array* dz) override {
    if (dz) ensure(*dz, z.shape, plain_md(z.shape));
    return ref::bce_with_logits(z.numel(), plain(z, loss_buf_), data(t), w ? data(*w) : nullptr, dz ? data(*dz) : nullptr);
  }
  using Backend::mse;
  float mse(const Array& a, const Array& b, Array* da, float grad_scale) override {
    if (da) ensure(*da, a.shape, plain_md(a.shape));
    memory bbuf;
    return ref::mse(a.numel(), plain(a, loss_buf_), plain(b, bbuf), da ? data(*da) : nullptr, grad_scale);
  }
  // Images of at most N x 3 x 64 x 64: a gather loop on plain layouts.
  void shift_cutout(const Array& x, const std::vector<std::int32_t>& p, i64 cut, Array& y) override {
    check_shift_cutout(x, p, cut);
    ensure(y, x.shape, plain_md(x.shape));
    ref::shift_cutout_forward(x.dim(0), x.dim(1), x.dim(2), x.dim(3), p.data(), cut, plain(x, aug_buf_), data(y));
  }
  void shift_cutout_backward(const Array& dy, const std::vector<std::int32_t>& p, i64 cut, Array& dx) override {
    check_shift_cutout(dy, p, cut);
    ensure(dx, dy.shape, plain_md(dy.shape));
    ref::shift_cutout_backward(dy.dim(0), dy.dim(1), dy.dim(2), dy.dim(3), p.data(), cut, plain(dy, aug_buf_), data(dx));
  }
  float mean_abs_diff(const Array& a, const Array& b, float grad_scale, Array* da) override {
    if (da) ensure(*da, a.shape, plain_md(a.shape));
    memory bbuf;
    return ref::mean_abs_diff(a.numel(), plain(a, loss_buf_), plain(b, bbuf), grad_scale, da ? data(*da) : nullptr);
  }

  void adam_step(const ref::AdamHyper& h, i64 step, Array& p, const Array& g, Array& m, Array& v) override {
    // Split into chunks so the loop runs on every thread with the reference arithmetic.
    const i64 n = p.numel(), chunk = 1 << 16;
    float *pp = data(p), *mp = data(m), *vp = data(v);
    const float* gp = data(g);
#pragma omp parallel for schedule(static)
    for (i64 start = 0; start < n; start += chunk)
      ref::adam_step(h, step, std::min(chunk, n - start), pp + start, gp + start, mp + start, vp + start);
  }
  void ema_step(double decay, Array& avg, const Array& x) override {
    if (avg.numel() != x.numel()) fail<RuntimeError>("ema_step: avg holds {} values, x {}; expected the same count", avg.numel(), x.numel());
    const i64 n = avg.numel(), chunk = 1 << 16;
    float* ap = data(avg);
    const float* xp = data(x);
#pragma omp parallel for schedule(static)
    for (i64 start = 0; start < n; start += chunk) ref::ema_step(decay, std::min(chunk, n - start), ap + start, xp + start);
  }
  void rmsprop_step(const ref::RmspropHyper& h, Array& p, const Array& g, Array& v) override {
    const i64 n = p.numel(), chunk = 1 << 16;
    float *pp = data(p), *vp = data(v);
    const float* gp = data(g);
#pragma omp parallel for schedule(static)
    for (i64 start = 0; start < n; start += chunk)
      ref::rmsprop_step(h, std::min(chunk, n - start), pp + start, gp + start, vp + start);
  }

 private:
  // The data of x in plain C order: x's own when it is plain, else reordered into buf.
  const float* plain(const Array& x, memory& buf) {
    return static_cast<const float*>(as(x, plain_md(x.shape), buf).get_data_handle());
  }
  struct ConcatPlan {
    memory::desc a, b;
    dnnl::concat::primitive_desc pd;
    dnnl::primitive prim;
  };
  struct BinaryPlan {
    memory::desc md;
    dnnl::primitive prim;
    memory buf;
  };
  BinaryPlan& binary(const memory::desc& md) {
    for (auto& b : binaries_)
      if (b->md == md) return *b;
    auto b = std::make_unique<BinaryPlan>();
    b->md = md;
    b->prim = dnnl::binary({dnnl::binary::desc(dnnl::algorithm::binary_add, md, md, md), engine()});
    binaries_.push_back(std::move(b));
    return *binaries_.back();
  }
  std::vector<std::unique_ptr<ConcatPlan>> concats_;
  std::vector<std::unique_ptr<BinaryPlan>> binaries_;
  memory rep_buf_, rep_bwd_buf_, cat_bwd_buf_, acc_buf_, loss_buf_, mean_buf_, aug_buf_;
  memory transpose_buf_, norm_buf_, norm_bwd_buf_;
  Array concat_a_, concat_b_;
};

}  // namespace

std::unique_ptr<Backend> make_cpu_backend() { return std::make_unique<DnnlBackend>(); }

}  // namespace t2i::nn
