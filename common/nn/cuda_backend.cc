// The cuda backend (see cuda_backend.h): host side. Arrays are plain C-order float32 device
// buffers from a caching allocator; every op enqueues cuBLAS calls and the kernels of
// cuda_backend_kernels.cu on the backend's one stream; download() synchronises. Every CUDA and
// cuBLAS call is checked: a failure is a RuntimeError naming the file, line, call and error.
//
// Row-major GEMMs on column-major cuBLAS: a row-major M x N matrix is the column-major N x M
// transpose, so C = op(A) op(B) is computed as C^T = op(B)^T op(A)^T (see gemm()).
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <vector>

#include "error.h"
#include "nn/backend.h"
#include "nn/cuda_backend.h"
#include "nn/cuda_backend_kernels.h"

namespace t2i::nn {

namespace {

void check_cuda(cudaError_t e, const char* call, const char* file, int line) {
  if (e != cudaSuccess)
    fail<RuntimeError>("CUDA error at {}:{}: {}: {} ({})", file, line, call, cudaGetErrorString(e),
                       cudaGetErrorName(e));
}

void check_cublas(cublasStatus_t e, const char* call, const char* file, int line) {
  if (e != CUBLAS_STATUS_SUCCESS)
    fail<RuntimeError>("cuBLAS error at {}:{}: {}: {} ({})", file, line, call, cublasGetStatusString(e),
                       static_cast<int>(e));
}

#define CK(call) check_cuda((call), #call, __FILE__, __LINE__)
#define CB(call) check_cublas((call), #call, __FILE__, __LINE__)

// ---- A caching allocator: free lists by (rounded) size ------------------------------------
// Blocks go back to their size's free list when the last Array holding them goes; all work runs
// on the one stream, so a block reused by a later op is ordered after every earlier use. The
// pool outlives every block it gave (blocks hold it by shared_ptr).
class Pool : public std::enable_shared_from_this<Pool> {
 public:
  ~Pool() {
    for (auto& [size, list] : free_)
      for (void* p : list) cudaFree(p);
  }
  static std::size_t round(std::size_t bytes) {
    if (bytes < 512) return 512;
    if (bytes < (std::size_t(1) << 20)) return (bytes + 511) / 512 * 512;
    return (bytes + (std::size_t(1) << 20) - 1) >> 20 << 20;
  }
  void* take(std::size_t bytes) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = free_.find(bytes);
      if (it != free_.end() && !it->second.empty()) {
        void* p = it->second.back();
        it->second.pop_back();
        return p;
      }
    }
    void* p = nullptr;
    cudaError_t e = cudaMalloc(&p, bytes);
    if (e != cudaSuccess) {
      (void)cudaGetLastError();
      release_all();
      CK(cudaMalloc(&p, bytes));
    }
    return p;
  }
  void give(void* p, std::size_t bytes) {
    std::lock_guard<std::mutex> lock(mu_);
    free_[bytes].push_back(p);
  }
  // Frees every cached block (after the device finishes with them).
  void release_all() {
    cudaDeviceSynchronize();
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [size, list] : free_) {
      for (void* p : list) cudaFree(p);
      list.clear();
    }
  }

 private:
  std::mutex mu_;
  std::map<std::size_t, std::vector<void*>> free_;
};

struct Block {
  std::shared_ptr<Pool> pool;
  void* p = nullptr;
  std::size_t bytes = 0;
  Block(std::shared_ptr<Pool> pl, std::size_t b) : pool(std::move(pl)), bytes(Pool::round(b)) { p = pool->take(bytes); }
  ~Block() { pool->give(p, bytes); }
  Block(const Block&) = delete;
  Block& operator=(const Block&) = delete;
};

struct CudaArray : ArrayImpl {
  std::shared_ptr<Block> block;
  float* data = nullptr;
};

struct CudaIndex : ArrayImpl {  // maxpool argmax
  std::shared_ptr<Block> block;
  i64 n = 0;
};

float* ptr(const Array& a) {
  auto* h = dynamic_cast<CudaArray*>(a.impl.get());
  if (!h) fail<RuntimeError>("cuda backend given an array of another backend");
  return h->data;
}

i64 spatial(const Shape& s) {
  i64 n = 1;
  for (std::size_t i = 2; i < s.size(); ++i) n *= s[i];
  return n;
}

i64 count(const Shape& s) {
  i64 n = 1;
  for (i64 d : s) n *= d;
  return n;
}

// What every op of one backend shares: the device, the stream, cuBLAS, the pool.
struct Ctx {
  int device = 0;
  cudaStream_t stream = nullptr;
  cublasHandle_t blas = nullptr;
  std::shared_ptr<Pool> pool = std::make_shared<Pool>();

  Ctx() {
    CK(cudaGetDevice(&device));
    CK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
    CB(cublasCreate(&blas));
    CB(cublasSetStream(blas, stream));
    CB(cublasSetPointerMode(blas, CUBLAS_POINTER_MODE_HOST));
    const char* tf32 = std::getenv("T2I_CUDA_TF32");
    const bool use_tf32 = tf32 && std::strcmp(tf32, "1") == 0;
    CB(cublasSetMathMode(blas, use_tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH));
  }
  ~Ctx() {
    if (stream) cudaStreamSynchronize(stream);
    if (blas) cublasDestroy(blas);
    pool->release_all();
    if (stream) cudaStreamDestroy(stream);
  }
  Ctx(const Ctx&) = delete;
  Ctx& operator=(const Ctx&) = delete;

  std::shared_ptr<Block> block(i64 floats, std::size_t elem = sizeof(float)) {
    return std::make_shared<Block>(pool, static_cast<std::size_t>(std::max<i64>(floats, 1)) * elem);
  }
  Array make(const Shape& shape, bool zero = true) {
    Array a;
    a.shape = shape;
    auto h = std::make_shared<CudaArray>();
    const i64 n = count(shape);
    h->block = block(n);
    h->data = static_cast<float*>(h->block->p);
    if (zero && n > 0) CK(cudaMemsetAsync(h->data, 0, static_cast<std::size_t>(n) * sizeof(float), stream));
    a.impl = h;
    return a;
  }
  // y becomes an array of this shape, reusing its storage when the shape already matches.
  void ensure(Array& y, const Shape& shape) {
    if (y.impl && y.shape == shape && dynamic_cast<CudaArray*>(y.impl.get())) return;
    y = make(shape, false);
  }
  // Scratch device memory for one op.
  struct Scratch {
    std::shared_ptr<Block> b;
    float* f() const { return static_cast<float*>(b->p); }
  };
  Scratch scratch(i64 floats) { return {block(floats)}; }

  // Row-major C [M,N] = alpha op(A) op(B) + beta C; op(A) [M,K], op(B) [K,N]; lda etc. are the
  // row strides of the stored matrices.
  void gemm(bool ta, bool tb, i64 M, i64 N, i64 K, float alpha, const float* A, i64 lda, const float* B, i64 ldb,
            float beta, float* C, i64 ldc) {
    if (M <= 0 || N <= 0) return;
    if (K <= 0) {  // C = beta C
      if (beta == 0.0f)
        for (i64 r = 0; r < M; ++r) CK(cuk::fill(C + r * ldc, N, 0.0f, stream));
      return;
    }
    constexpr i64 kMax = 2147483647;  // cublasSgemm takes int sizes and strides
    if (M > kMax || N > kMax || K > kMax || lda > kMax || ldb > kMax || ldc > kMax)
      fail<RuntimeError>("backend 'cuda': a matrix product of {} x {} x {} (strides {}, {}, {}) exceeds cuBLAS's int sizes",
                         M, N, K, lda, ldb, ldc);
    CB(cublasSgemm(blas, tb ? CUBLAS_OP_T : CUBLAS_OP_N, ta ? CUBLAS_OP_T : CUBLAS_OP_N, static_cast<int>(N),
                   static_cast<int>(M), static_cast<int>(K), &alpha, B, static_cast<int>(ldb), A, static_cast<int>(lda),
                   &beta, C, static_cast<int>(ldc)));
  }
  void sync() { CK(cudaStreamSynchronize(stream)); }
  // The sum of n device floats, accumulated in double per block, summed here.
  double sum(const float* x, i64 n) {
    const int nb = cuk::sum_blocks(n);
    auto part = block(nb, sizeof(double));
    CK(cuk::sum_partial(x, n, static_cast<double*>(part->p), nb, stream));
    std::vector<double> h(static_cast<std::size_t>(nb));
    CK(cudaMemcpyAsync(h.data(), part->p, h.size() * sizeof(double), cudaMemcpyDeviceToHost, stream));
    sync();
    double s = 0;
    for (double v : h) s += v;
    return s;
  }
  std::vector<float> host(const float* p, i64 n) {
    std::vector<float> h(static_cast<std::size_t>(n));
    if (n > 0) CK(cudaMemcpyAsync(h.data(), p, h.size() * sizeof(float), cudaMemcpyDeviceToHost, stream));
    sync();
    return h;
  }
};

using CtxP = std::shared_ptr<Ctx>;

// ---- Convolution through im2col/col2im and one GEMM per pass -----------------------------
// The column buffer of a pass over the whole batch is [CKK, N*P] (P output positions per image),
// so each pass is a single GEMM; images are processed in chunks when that buffer would be large.
class CudaConv : public ConvOp {
 public:
  CudaConv(CtxP c, const ConvSpec& s) : c_(std::move(c)), s_(s) {}

  void forward(const Array& x, const Array& w, const Array* b, Array& y, std::uint64_t) override {
    check_conv_bias(s_, b, "forward");
    const auto d = s_.dims(x.shape);
    c_->ensure(y, s_.output_shape(x.shape));
    const float* bias = b ? ptr(*b) : nullptr;
    const i64 N = d.N, KK = d.KH * d.KW;
    if (!s_.transposed) {
      // col [C KK, n P] = im2col(x); Y' [OC, n P] = w [OC, C KK] col; y = swap(Y') + b.
      const i64 P = d.OH * d.OW, R = d.C * KK;
      for_chunks(N, R * P + d.OC * P, [&](i64 n0, i64 nc) {
        auto col = c_->scratch(R * nc * P), yt = c_->scratch(d.OC * nc * P);
        CK(cuk::im2col(conv_geo(d, n0, nc, nc * P, P), ptr(x) + n0 * d.C * d.H * d.W, col.f(), c_->stream));
        c_->gemm(false, false, d.OC, nc * P, R, 1.0f, ptr(w), R, col.f(), nc * P, 0.0f, yt.f(), nc * P);
        CK(cuk::swap01(yt.f(), d.OC, nc, P, bias, ptr(y) + n0 * d.OC * P, c_->stream));
      });
    } else {
      // X' [C, n HW] = swap(x); col [OC KK, n HW] = w^T X'; y = col2im(col) + b.
      const i64 P = d.H * d.W, R = d.OC * KK;
      for_chunks(N, R * P + d.C * P, [&](i64 n0, i64 nc) {
        auto xt = c_->scratch(d.C * nc * P), col = c_->scratch(R * nc * P);
        CK(cuk::swap01(ptr(x) + n0 * d.C * P, nc, d.C, P, nullptr, xt.f(), c_->stream));
        c_->gemm(true, false, R, nc * P, d.C, 1.0f, ptr(w), R, xt.f(), nc * P, 0.0f, col.f(), nc * P);
        CK(cuk::col2im(convt_geo(d, nc, nc * P, P), col.f(), bias, ptr(y) + n0 * d.OC * d.OH * d.OW, c_->stream));
      });
    }
  }

  void backward_data(const Array& dy, const Array& w, const Shape& x_shape, Array& dx, std::uint64_t) override {
    const auto d = s_.dims(x_shape);
    c_->ensure(dx, x_shape);
    const i64 N = d.N, KK = d.KH * d.KW;
    if (!s_.transposed) {
      // DY' [OC, n P] = swap(dy); col [C KK, n P] = w^T DY'; dx = col2im(col).
      const i64 P = d.OH * d.OW, R = d.C * KK;
      for_chunks(N, R * P + d.OC * P, [&](i64 n0, i64 nc) {
        auto dyt = c_->scratch(d.OC * nc * P), col = c_->scratch(R * nc * P);
        CK(cuk::swap01(ptr(dy) + n0 * d.OC * P, nc, d.OC, P, nullptr, dyt.f(), c_->stream));
        c_->gemm(true, false, R, nc * P, d.OC, 1.0f, ptr(w), R, dyt.f(), nc * P, 0.0f, col.f(), nc * P);
        CK(cuk::col2im(conv_geo(d, 0, nc, nc * P, P), col.f(), nullptr, ptr(dx) + n0 * d.C * d.H * d.W, c_->stream));
      });
    } else {
      // col [OC KK, n HW] = im2col(dy); DX' [C, n HW] = w [C, OC KK] col; dx = swap(DX').
      const i64 P = d.H * d.W, R = d.OC * KK;
      for_chunks(N, R * P + d.C * P, [&](i64 n0, i64 nc) {
        auto col = c_->scratch(R * nc * P), dxt = c_->scratch(d.C * nc * P);
        CK(cuk::im2col(convt_geo(d, nc, nc * P, P), ptr(dy) + n0 * d.OC * d.OH * d.OW, col.f(), c_->stream));
        c_->gemm(false, false, d.C, nc * P, R, 1.0f, ptr(w), R, col.f(), nc * P, 0.0f, dxt.f(), nc * P);
        CK(cuk::swap01(dxt.f(), d.C, nc, P, nullptr, ptr(dx) + n0 * d.C * P, c_->stream));
      });
    }
  }

  void backward_weights(const Array& x, const Array& dy, Array& dw, Array* db) override {
    check_conv_bias(s_, db, "backward_weights");
    const auto d = s_.dims(x.shape);
    const i64 N = d.N, KK = d.KH * d.KW;
    if (!s_.transposed) {
      // dw [OC, C KK] += DY' [OC, n P] col^T; db += row sums of DY'.
      const i64 P = d.OH * d.OW, R = d.C * KK;
      for_chunks(N, R * P + d.OC * P, [&](i64 n0, i64 nc) {
        auto col = c_->scratch(R * nc * P), dyt = c_->scratch(d.OC * nc * P);
        CK(cuk::im2col(conv_geo(d, n0, nc, nc * P, P), ptr(x) + n0 * d.C * d.H * d.W, col.f(), c_->stream));
        CK(cuk::swap01(ptr(dy) + n0 * d.OC * P, nc, d.OC, P, nullptr, dyt.f(), c_->stream));
        c_->gemm(false, true, d.OC, R, nc * P, 1.0f, dyt.f(), nc * P, col.f(), nc * P, 1.0f, ptr(dw), R);
        if (db) CK(cuk::channel_sum_acc(dyt.f(), 1, d.OC, nc * P, ptr(*db), c_->stream));
      });
    } else {
      // dw [C, OC KK] += X' [C, n HW] col^T with col = im2col(dy); db += channel sums of dy.
      const i64 P = d.H * d.W, R = d.OC * KK;
      for_chunks(N, R * P + d.C * P, [&](i64 n0, i64 nc) {
        auto col = c_->scratch(R * nc * P), xt = c_->scratch(d.C * nc * P);
        CK(cuk::im2col(convt_geo(d, nc, nc * P, P), ptr(dy) + n0 * d.OC * d.OH * d.OW, col.f(), c_->stream));
        CK(cuk::swap01(ptr(x) + n0 * d.C * P, nc, d.C, P, nullptr, xt.f(), c_->stream));
        c_->gemm(false, true, d.C, R, nc * P, 1.0f, xt.f(), nc * P, col.f(), nc * P, 1.0f, ptr(dw), R);
      });
      if (db) CK(cuk::channel_sum_acc(ptr(dy), N, d.OC, d.OH * d.OW, ptr(*db), c_->stream));
    }
  }

 private:
  // Conv2d: the image is x ([C,H,W]), the positions y's.
  static cuk::Geo conv_geo(const ref::ConvDims& d, i64, i64 nc, i64 row_stride, i64 img_stride) {
    return {nc, d.C, d.H, d.W, d.OH, d.OW, d.KH, d.KW, d.SH, d.SW, d.PH, d.PW, row_stride, img_stride};
  }
  // ConvTranspose2d: the image is y ([OC,OH,OW]), the positions x's.
  static cuk::Geo convt_geo(const ref::ConvDims& d, i64 nc, i64 row_stride, i64 img_stride) {
    return {nc, d.OC, d.OH, d.OW, d.H, d.W, d.KH, d.KW, d.SH, d.SW, d.PH, d.PW, row_stride, img_stride};
  }
  // Runs f(first image, images) over the batch in chunks of at most ~64M scratch floats.
  template <typename F>
  static void for_chunks(i64 N, i64 per_image, F&& f) {
    const i64 limit = i64(64) << 20;
    const i64 chunk = std::max<i64>(1, std::min<i64>(N, limit / std::max<i64>(per_image, 1)));
    for (i64 n0 = 0; n0 < N; n0 += chunk) f(n0, std::min(chunk, N - n0));
  }

  CtxP c_;
  ConvSpec s_;
};

class CudaLinear : public LinearOp {
 public:
  explicit CudaLinear(CtxP c) : c_(std::move(c)) {}
  void forward(const Array& x, const Array& w, const Array* b, Array& y) override {
    const i64 N = x.dim(0), I = w.dim(1), O = w.dim(0);
    c_->ensure(y, {N, O});
    if (b) CK(cuk::bias_rows(ptr(y), N, O, ptr(*b), c_->stream));
    c_->gemm(false, true, N, O, I, 1.0f, ptr(x), I, ptr(w), I, b ? 1.0f : 0.0f, ptr(y), O);
  }
  void backward_data(const Array& dy, const Array& w, Array& dx) override {
    const i64 N = dy.dim(0), I = w.dim(1), O = w.dim(0);
    c_->ensure(dx, {N, I});
    c_->gemm(false, false, N, I, O, 1.0f, ptr(dy), O, ptr(w), I, 0.0f, ptr(dx), I);
  }
  void backward_weights(const Array& x, const Array& dy, Array& dw, Array* db) override {
    const i64 N = x.dim(0), I = x.dim(1), O = dy.dim(1);
    c_->gemm(true, false, O, I, N, 1.0f, ptr(dy), O, ptr(x), I, 1.0f, ptr(dw), I);
    if (db) CK(cuk::colsum_acc(ptr(dy), N, O, ptr(*db), c_->stream));
  }

 private:
  CtxP c_;
};

class CudaBatchNorm : public BatchNormOp {
 public:
  CudaBatchNorm(CtxP c, float eps, bool relu) : c_(std::move(c)), eps_(eps), relu_(relu) {}
  void forward_train(const Array& x, const Array& gamma, const Array& beta, Array& running_mean, Array& running_var,
                     float momentum, Array& y, BatchNormSaved& saved) override {
    c_->ensure(y, x.shape);
    c_->ensure(saved.mean, {x.dim(1)});
    c_->ensure(saved.var, {x.dim(1)});
    CK(cuk::bn_train(x.dim(0), x.dim(1), spatial(x.shape), ptr(x), ptr(gamma), ptr(beta), eps_, momentum, relu_,
                     ptr(y), ptr(saved.mean), ptr(saved.var), running_mean.empty() ? nullptr : ptr(running_mean),
                     running_var.empty() ? nullptr : ptr(running_var), c_->stream));
    if (relu_) saved.out = y;
  }
  void forward_infer(const Array& x, const Array& gamma, const Array& beta, const Array& running_mean,
                     const Array& running_var, Array& y) override {
    c_->ensure(y, x.shape);
    CK(cuk::bn_infer(x.dim(0), x.dim(1), spatial(x.shape), ptr(x), ptr(gamma), ptr(beta), eps_, ptr(running_mean),
                     ptr(running_var), relu_, ptr(y), c_->stream));
  }
  void backward(const Array& x, const Array& dy, const Array& gamma, const BatchNormSaved& saved, Array& dx,
                Array& dgamma, Array& dbeta) override {
    c_->ensure(dx, x.shape);
    CK(cuk::bn_backward(x.dim(0), x.dim(1), spatial(x.shape), ptr(x), ptr(dy), relu_ ? ptr(saved.out) : nullptr,
                        ptr(gamma), ptr(saved.mean), ptr(saved.var), eps_, ptr(dx), ptr(dgamma), ptr(dbeta),
                        c_->stream));
  }

 private:
  CtxP c_;
  float eps_;
  bool relu_;
};

class CudaAct : public ActOp {
 public:
  CudaAct(CtxP c, Act a, float alpha) : c_(std::move(c)), a_(static_cast<int>(a)), alpha_(alpha) {}
  void forward(const Array& x, Array& y) override {
    c_->ensure(y, x.shape);
    CK(cuk::act_forward(a_, alpha_, x.numel(), ptr(x), ptr(y), c_->stream));
  }
  void backward(const Array& y, const Array& dy, Array& dx) override {
    c_->ensure(dx, y.shape);
    CK(cuk::act_backward(a_, alpha_, y.numel(), ptr(y), ptr(dy), ptr(dx), c_->stream));
  }

 private:
  CtxP c_;
  int a_;
  float alpha_;
};

class CudaMaxPool : public PoolOp {
 public:
  CudaMaxPool(CtxP c, i64 k, i64 s) : c_(std::move(c)), k_(k), s_(s) {
    if (k < 1 || s < 1) fail<RuntimeError>("max pooling needs kernel and stride >= 1, not {} and {}", k, s);
  }
  void forward(const Array& x, Array& y, PoolSaved& saved) override {
    if (x.shape.size() != 3 || x.dim(2) < k_)
      fail<RuntimeError>("max pooling of kernel {} given {}", k_, shape_text(x.shape));
    const i64 to = ref::maxpool1d_out_len(x.dim(2), k_, s_);
    c_->ensure(y, {x.dim(0), x.dim(1), to});
    auto ix = std::dynamic_pointer_cast<CudaIndex>(saved.extra);
    if (!ix || ix->n < y.numel()) {
      ix = std::make_shared<CudaIndex>();
      ix->block = c_->block(y.numel(), sizeof(i64));
      ix->n = y.numel();
    }
    saved.extra = ix;
    saved.x_shape = x.shape;
    CK(cuk::maxpool1d_forward(x.dim(0) * x.dim(1), x.dim(2), k_, s_, to, ptr(x), ptr(y),
                              static_cast<i64*>(ix->block->p), c_->stream));
  }
  void backward(const Array& dy, const PoolSaved& saved, Array& dx) override {
    auto ix = std::dynamic_pointer_cast<CudaIndex>(saved.extra);
    if (!ix) fail<RuntimeError>("max pooling backward without its forward");
    c_->ensure(dx, saved.x_shape);
    CK(cuk::maxpool1d_backward(dx.dim(0) * dx.dim(1), dx.dim(2), k_, s_, dy.dim(2),
                               static_cast<const i64*>(ix->block->p), ptr(dy), ptr(dx), c_->stream));
  }

 private:
  CtxP c_;
  i64 k_, s_;
};

// Recurrent layers: the input projections of all steps in one GEMM, then per step a GEMM for
// the hidden projection and a kernel for the gates; backward mirrors it, with the weight
// gradients as single GEMMs over all steps at the end.
class CudaRnn : public RnnOp {
 public:
  CudaRnn(CtxP c, const RnnSpec& s) : c_(std::move(c)), s_(s) {}
  void forward(const Array& x, const Array& w_ih, const Array& w_hh, const Array& b_ih, const Array& b_hh, Array& H,
               RnnSaved& saved) override {
    if (x.shape.size() != 3 || x.dim(2) != s_.input)
      fail<RuntimeError>("recurrent layer of input {} given {}", s_.input, shape_text(x.shape));
    const i64 N = x.dim(0), T = x.dim(1), I = s_.input, Hd = s_.hidden, G = s_.gates(), GH = G * Hd;
    const bool gru = s_.cell == RnnCell::kGru;
    c_->ensure(H, {N, T, Hd});
    c_->ensure(saved.ws, {std::max<i64>(1, ref::rnn_workspace_size(s_.cell, N, T, Hd))});
    auto gi = c_->scratch(N * T * GH), gh = c_->scratch(N * GH);
    c_->gemm(false, true, N * T, GH, I, 1.0f, ptr(x), I, ptr(w_ih), I, 0.0f, gi.f(), GH);
    float* h = ptr(H);
    for (i64 t = 0; t < T; ++t) {
      const float* hp = t > 0 ? h + (t - 1) * Hd : nullptr;
      if (hp) c_->gemm(false, true, N, GH, Hd, 1.0f, hp, T * Hd, ptr(w_hh), Hd, 0.0f, gh.f(), GH);
      CK(cuk::rnn_step_forward(gru, N, Hd, gi.f() + t * GH, T * GH, hp ? gh.f() : nullptr, GH, ptr(b_ih), ptr(b_hh),
                               hp, h + t * Hd, T * Hd, gru ? ptr(saved.ws) + t * 4 * Hd : nullptr, T * 4 * Hd,
                               c_->stream));
    }
    saved.x = x;
    saved.h = H;
  }
  void backward(const Array& dH, const Array& w_ih, const Array& w_hh, const RnnSaved& saved, Array& dx,
                Array& dw_ih, Array& dw_hh, Array& db_ih, Array& db_hh) override {
    if (saved.x.empty()) fail<RuntimeError>("recurrent layer backward without its forward");
    const i64 N = saved.x.dim(0), T = saved.x.dim(1), I = s_.input, Hd = s_.hidden, G = s_.gates(), GH = G * Hd;
    const bool gru = s_.cell == RnnCell::kGru;
    c_->ensure(dx, saved.x.shape);
    auto dgi = c_->scratch(N * T * GH), dgh = c_->scratch(N * T * GH), carry = c_->scratch(N * Hd),
         hprev = c_->scratch(N * T * Hd);
    CK(cuk::fill(carry.f(), N * Hd, 0.0f, c_->stream));
    const float* h = ptr(saved.h);
    for (i64 t = T - 1; t >= 0; --t) {
      const float* hp = t > 0 ? h + (t - 1) * Hd : nullptr;
      CK(cuk::rnn_step_backward(gru, N, Hd, ptr(dH) + t * Hd, h + t * Hd, hp, T * Hd,
                                gru ? ptr(saved.ws) + t * 4 * Hd : nullptr, T * 4 * Hd, carry.f(), dgi.f() + t * GH,
                                dgh.f() + t * GH, T * GH, c_->stream));
      if (hp) c_->gemm(false, false, N, Hd, GH, 1.0f, dgh.f() + t * GH, T * GH, ptr(w_hh), Hd, 1.0f, carry.f(), Hd);
    }
    c_->gemm(false, false, N * T, I, GH, 1.0f, dgi.f(), GH, ptr(w_ih), I, 0.0f, ptr(dx), I);
    c_->gemm(true, false, GH, I, N * T, 1.0f, dgi.f(), GH, ptr(saved.x), I, 1.0f, ptr(dw_ih), I);
    CK(cuk::shift_time(N, T, Hd, h, hprev.f(), c_->stream));
    c_->gemm(true, false, GH, Hd, N * T, 1.0f, dgh.f(), GH, hprev.f(), Hd, 1.0f, ptr(dw_hh), Hd);
    CK(cuk::colsum_acc(dgi.f(), N * T, GH, ptr(db_ih), c_->stream));
    CK(cuk::colsum_acc(dgh.f(), N * T, GH, ptr(db_hh), c_->stream));
  }

 private:
  CtxP c_;
  RnnSpec s_;
};

class CudaBackend : public Backend {
 public:
  CudaBackend() : c_(std::make_shared<Ctx>()) {}
  ~CudaBackend() override {
    try {
      c_->sync();
    } catch (...) {
    }
  }
  const char* name() const override { return "cuda"; }
  void synchronize() override { c_->sync(); }

  Array zeros(const Shape& shape) override { return c_->make(shape, true); }
  void upload(const float* src, Array& dst) override {
    c_->ensure(dst, dst.shape);
    const i64 n = dst.numel();
    if (n > 0)
      CK(cudaMemcpyAsync(ptr(dst), src, static_cast<std::size_t>(n) * sizeof(float), cudaMemcpyHostToDevice,
                         c_->stream));
    c_->sync();
  }
  void download(const Array& src, float* dst) override {
    const i64 n = src.numel();
    if (n > 0)
      CK(cudaMemcpyAsync(dst, ptr(src), static_cast<std::size_t>(n) * sizeof(float), cudaMemcpyDeviceToHost,
                         c_->stream));
    c_->sync();
  }
  Array view(const Array& flat, i64 offset, const Shape& shape) override {
    Array v;
    v.shape = shape;
    if (offset < 0 || offset + v.numel() > flat.numel()) fail<RuntimeError>("view past the end of its array");
    float* base = ptr(flat);  // throws for an array of another backend
    auto h = std::make_shared<CudaArray>();
    h->block = static_cast<CudaArray&>(*flat.impl).block;
    h->data = base + offset;
    v.impl = h;
    return v;
  }
  void fill(Array& a, float value) override { CK(cuk::fill(ptr(a), a.numel(), value, c_->stream)); }
  void to_plain(const Array& x, Array& y) override {
    c_->ensure(y, x.shape);
    if (ptr(y) != ptr(x) && x.numel() > 0)
      CK(cudaMemcpyAsync(ptr(y), ptr(x), static_cast<std::size_t>(x.numel()) * sizeof(float),
                         cudaMemcpyDeviceToDevice, c_->stream));
  }
  Array reshape(const Array& x, const Shape& shape) override {
    Array y = x;
    y.shape = shape;
    if (y.numel() != x.numel()) fail<RuntimeError>("cannot reshape {} to {}", shape_text(x.shape), shape_text(shape));
    return y;
  }

  std::unique_ptr<ConvOp> make_conv(const ConvSpec& spec) override { return std::make_unique<CudaConv>(c_, spec); }
  std::unique_ptr<LinearOp> make_linear() override { return std::make_unique<CudaLinear>(c_); }
  std::unique_ptr<BatchNormOp> make_batchnorm(float eps, bool fuse_relu) override {
    return std::make_unique<CudaBatchNorm>(c_, eps, fuse_relu);
  }
  std::unique_ptr<ActOp> make_act(Act act, float alpha) override { return std::make_unique<CudaAct>(c_, act, alpha); }
  std::unique_ptr<PoolOp> make_maxpool1d(i64 k, i64 s) override { return std::make_unique<CudaMaxPool>(c_, k, s); }
  std::unique_ptr<RnnOp> make_rnn(const RnnSpec& spec) override { return std::make_unique<CudaRnn>(c_, spec); }

  void replicate(const Array& x, i64 h, i64 w, Array& y) override {
    c_->ensure(y, {x.dim(0), x.dim(1), h, w});
    CK(cuk::replicate_forward(x.dim(0), x.dim(1), h * w, ptr(x), ptr(y), c_->stream));
  }
  void replicate_backward(const Array& dy, Array& dx) override {
    c_->ensure(dx, {dy.dim(0), dy.dim(1)});
    CK(cuk::replicate_backward(dy.dim(0), dy.dim(1), dy.dim(2) * dy.dim(3), ptr(dy), ptr(dx), c_->stream));
  }
  void concat(const Array& a, const Array& b, Array& y) override {
    c_->ensure(y, {a.dim(0), a.dim(1) + b.dim(1), a.dim(2), a.dim(3)});
    CK(cuk::concat_forward(a.dim(0), a.dim(1), b.dim(1), a.dim(2) * a.dim(3), ptr(a), ptr(b), ptr(y), c_->stream));
  }
  void concat_backward(const Array& dy, i64 ca, Array& da, Array& db) override {
    c_->ensure(da, {dy.dim(0), ca, dy.dim(2), dy.dim(3)});
    c_->ensure(db, {dy.dim(0), dy.dim(1) - ca, dy.dim(2), dy.dim(3)});
    CK(cuk::concat_backward(dy.dim(0), ca, dy.dim(1) - ca, dy.dim(2) * dy.dim(3), ptr(dy), ptr(da), ptr(db),
                            c_->stream));
  }
  void add(const Array& a, const Array& b, Array& y) override {
    c_->ensure(y, a.shape);
    CK(cuk::add(ptr(a), ptr(b), ptr(y), a.numel(), c_->stream));
  }
  void accumulate(const Array& x, Array& acc) override { CK(cuk::accumulate(ptr(x), ptr(acc), x.numel(), c_->stream)); }
  void mean_time(const Array& h, Array& y) override {
    c_->ensure(y, {h.dim(0), h.dim(2)});
    CK(cuk::mean_time_forward(h.dim(0), h.dim(1), h.dim(2), ptr(h), ptr(y), c_->stream));
  }
  void mean_time_backward(const Array& dy, i64 t, Array& dh) override {
    c_->ensure(dh, {dy.dim(0), t, dy.dim(1)});
    CK(cuk::mean_time_backward(dy.dim(0), t, dy.dim(1), ptr(dy), ptr(dh), c_->stream));
  }
  void transpose_ct(const Array& x, Array& y) override {
    if (x.shape.size() != 3) fail<RuntimeError>("transpose_ct given {}", shape_text(x.shape));
    c_->ensure(y, {x.dim(0), x.dim(2), x.dim(1)});
    CK(cuk::transpose_batched(ptr(x), x.dim(0), x.dim(1), x.dim(2), ptr(y), c_->stream));
  }
  void transpose_ct_backward(const Array& dy, Array& dx) override {
    if (dy.shape.size() != 3) fail<RuntimeError>("transpose_ct_backward given {}", shape_text(dy.shape));
    c_->ensure(dx, {dy.dim(0), dy.dim(2), dy.dim(1)});
    CK(cuk::transpose_batched(ptr(dy), dy.dim(0), dy.dim(1), dy.dim(2), ptr(dx), c_->stream));
  }
  void normalize_rows(const Array& x, float scale, Array& y) override {
    if (x.shape.size() != 2) fail<RuntimeError>("normalize_rows given {}", shape_text(x.shape));
    c_->ensure(y, x.shape);
    CK(cuk::normalize_rows_forward(x.dim(0), x.dim(1), scale, ptr(x), ptr(y), c_->stream));
  }
  void normalize_rows_backward(const Array& x, const Array& dy, float scale, Array& dx) override {
    if (x.shape.size() != 2 || dy.shape != x.shape)
      fail<RuntimeError>("normalize_rows_backward given {} and {}", shape_text(x.shape), shape_text(dy.shape));
    c_->ensure(dx, x.shape);
    CK(cuk::normalize_rows_backward(x.dim(0), x.dim(1), scale, ptr(x), ptr(dy), ptr(dx), c_->stream));
  }

  float dssje_loss(const Array& v, const Array& t, Array* dv, Array* dt) override {
    if (v.shape.size() != 2 || v.shape != t.shape)
      fail<RuntimeError>("dssje_loss given {} and {}", shape_text(v.shape), shape_text(t.shape));
    const i64 B = v.dim(0), D = v.dim(1);
    if (dv) c_->ensure(*dv, v.shape);
    if (dt) c_->ensure(*dt, t.shape);
    // The scores S = v t^T [B,B] on the device; the hinge on the host (as ref, in its order);
    // the gradient as dL/dS back through two GEMMs.
    auto s = c_->scratch(B * B);
    c_->gemm(false, true, B, B, D, 1.0f, ptr(v), D, ptr(t), D, 0.0f, s.f(), B);
    const std::vector<float> S = c_->host(s.f(), B * B);
    const float scale = 1.0f / float(B * B);
    std::vector<float> coef(static_cast<std::size_t>(B * B), 0.0f);
    auto at = [&](i64 a, i64 b) -> float& { return coef[static_cast<std::size_t>(a * B + b)]; };
    float loss = 0;
    for (i64 i = 0; i < B; ++i) {
      const float sii = S[static_cast<std::size_t>(i * B + i)];
      for (i64 j = 0; j < B; ++j) {
        if (j == i) continue;
        const float m1 = 1.0f + S[static_cast<std::size_t>(i * B + j)] - sii,
                    m2 = 1.0f + S[static_cast<std::size_t>(j * B + i)] - sii;
        if (!(m1 <= 0)) {
          loss += m1;
          at(i, j) += scale;
          at(i, i) -= scale;
        }
        if (!(m2 <= 0)) {
          loss += m2;
          at(j, i) += scale;
          at(i, i) -= scale;
        }
      }
    }
    if (dv || dt) {
      auto cm = c_->scratch(B * B);
      CK(cudaMemcpyAsync(cm.f(), coef.data(), coef.size() * sizeof(float), cudaMemcpyHostToDevice, c_->stream));
      // dv = C t; dt = C^T v.
      if (dv) c_->gemm(false, false, B, D, B, 1.0f, cm.f(), B, ptr(t), D, 0.0f, ptr(*dv), D);
      if (dt) c_->gemm(true, false, B, D, B, 1.0f, cm.f(), B, ptr(v), D, 0.0f, ptr(*dt), D);
      c_->sync();  // coef is host memory on this stack frame
    }
    return loss * scale;
  }
  float bce_with_logits(const Array& z, const Array& t, const Array* w, Array* dz) override {
    if (dz) c_->ensure(*dz, z.shape);
    const i64 N = z.numel();
    auto terms = c_->scratch(N);
    CK(cuk::bce_terms(N, ptr(z), ptr(t), w ? ptr(*w) : nullptr, terms.f(), dz ? ptr(*dz) : nullptr, c_->stream));
    const std::vector<float> h = c_->host(terms.f(), N);
    float loss = 0;
    for (float v : h) loss += v;
    return loss / float(N);
  }
  using Backend::mse;
  float mse(const Array& a, const Array& b, Array* da, float grad_scale) override {
    if (da) c_->ensure(*da, a.shape);
    const i64 n = a.numel();
    auto terms = c_->scratch(n);
    CK(cuk::mse_terms(n, ptr(a), ptr(b), grad_scale, terms.f(), da ? ptr(*da) : nullptr, c_->stream));
    return static_cast<float>(c_->sum(terms.f(), n) / double(n));
  }
  void shift_cutout(const Array& x, const std::vector<std::int32_t>& p, i64 cut, Array& y) override {
    check_shift_cutout(x, p, cut);
    c_->ensure(y, x.shape);
    CK(cuk::shift_cutout(x.dim(0), x.dim(1), x.dim(2), x.dim(3), upload_ints(p), cut, false, ptr(x), ptr(y), c_->stream));
  }
  void shift_cutout_backward(const Array& dy, const std::vector<std::int32_t>& p, i64 cut, Array& dx) override {
    check_shift_cutout(dy, p, cut);
    c_->ensure(dx, dy.shape);
    CK(cuk::shift_cutout(dy.dim(0), dy.dim(1), dy.dim(2), dy.dim(3), upload_ints(p), cut, true, ptr(dy), ptr(dx),
                         c_->stream));
  }
  float mean_abs_diff(const Array& a, const Array& b, float grad_scale, Array* da) override {
    if (da) c_->ensure(*da, a.shape);
    const i64 n = a.numel();
    auto terms = c_->scratch(n);
    CK(cuk::abs_diff_terms(n, ptr(a), ptr(b), grad_scale / float(n), terms.f(), da ? ptr(*da) : nullptr, c_->stream));
    return static_cast<float>(c_->sum(terms.f(), n) / double(n));
  }
  void adam_step(const ref::AdamHyper& h, i64 step, Array& p, const Array& g, Array& m, Array& v) override {
    using T = float;
    const T b1 = T(h.beta1), b2 = T(h.beta2), omb1 = T(1.0 - h.beta1), omb2 = T(1.0 - h.beta2);
    const T bc1 = T(1) - T(std::pow(h.beta1, double(step)));
    const T bc2_sqrt = T(std::sqrt(1.0 - std::pow(h.beta2, double(step))));
    const T step_size = T(h.lr) / bc1;
    CK(cuk::adam(p.numel(), ptr(p), ptr(g), ptr(m), ptr(v), b1, b2, omb1, omb2, bc2_sqrt, step_size, T(h.eps),
                 c_->stream));
  }
  void ema_step(double decay, Array& avg, const Array& x) override {
    if (avg.numel() != x.numel()) fail<RuntimeError>("ema_step: avg holds {} values, x {}; expected the same count", avg.numel(), x.numel());
    CK(cuk::ema(avg.numel(), ptr(avg), ptr(x), float(decay), float(1.0 - decay), c_->stream));
  }
  void rmsprop_step(const ref::RmspropHyper& h, Array& p, const Array& g, Array& v) override {
    CK(cuk::rmsprop(p.numel(), ptr(p), ptr(g), ptr(v), float(h.alpha), float(1.0 - h.alpha), float(h.lr),
                    float(h.eps), c_->stream));
  }

 private:
  // p's values on the device, in a buffer of this backend's (stream order keeps a kernel still
  // reading the previous values ahead of the copy; from pageable memory cudaMemcpyAsync returns
  // once the source is in staging memory: CUDA runtime API, "API synchronization behavior").
  const std::int32_t* upload_ints(const std::vector<std::int32_t>& p) {
    static_assert(sizeof(float) == sizeof(std::int32_t));
    const i64 n = static_cast<i64>(p.size());
    if (ints_.empty() || ints_.numel() < n) c_->ensure(ints_, {std::max<i64>(n, 1)});
    if (n > 0)
      CK(cudaMemcpyAsync(ptr(ints_), p.data(), static_cast<std::size_t>(n) * sizeof(std::int32_t), cudaMemcpyHostToDevice,
                         c_->stream));
    return reinterpret_cast<const std::int32_t*>(ptr(ints_));
  }
  CtxP c_;
  Array ints_;
};

}  // namespace

bool cuda_backend_available(std::string* why) {
  int n = 0;
  cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess || n == 0) {
    if (e != cudaSuccess) (void)cudaGetLastError();
    if (why)
      *why = e != cudaSuccess ? std::string("no CUDA device (") + cudaGetErrorString(e) + ")" : "no CUDA device";
    return false;
  }
  return true;
}

std::unique_ptr<Backend> make_cuda_backend() {
  std::string why;
  if (!cuda_backend_available(&why)) fail<RuntimeError>("backend 'cuda': {}", why);
  return std::make_unique<CudaBackend>();
}

}  // namespace t2i::nn
