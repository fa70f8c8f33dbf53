// The kernels of the cuda backend; see cuda_backend_kernels.h. Simple, one thread per output
// element (or one block per reduced channel/row), with ref_kernels.h's arithmetic. Reductions
// accumulate in double so they stay within float rounding of ref's sequential float sums.
#include <cuda_runtime.h>

#include <cmath>

#include "nn/cuda_backend_kernels.h"

namespace t2i::nn::cuk {

namespace {

constexpr int kThreads = 256;

unsigned grid_for(i64 n) {
  i64 b = (n + kThreads - 1) / kThreads;
  if (b < 1) b = 1;
  if (b > (1 << 30)) b = 1 << 30;
  return static_cast<unsigned>(b);
}

#define T2I_GRID_STRIDE(i, n) \
  for (i64 i = blockIdx.x * (i64)blockDim.x + threadIdx.x; i < (n); i += (i64)blockDim.x * gridDim.x)

// Sum of v over the block (any blockDim.x that is a multiple of 32, up to 1024); the result in
// every thread. A fixed order (warp shuffles, then the warps' sums), so the same bits each run.
__device__ double block_sum(double v) {
  __shared__ double sh[32];
  for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = (blockDim.x + 31) >> 5;
  __syncthreads();  // sh may still be read by an earlier call
  if (lane == 0) sh[warp] = v;
  __syncthreads();
  if (warp == 0) {
    double r = lane < warps ? sh[lane] : 0.0;
    for (int o = 16; o > 0; o >>= 1) r += __shfl_down_sync(0xffffffffu, r, o);
    if (lane == 0) sh[0] = r;
  }
  __syncthreads();
  return sh[0];
}

// Threads of the one-block-per-channel reductions (batch norm, channel sums): a whole SM's worth,
// so that a layer with few channels still keeps enough loads in flight.
constexpr int kChannelThreads = 1024;

// f(i) for i = threadIdx.x, + blockDim.x, ... < M, four at a time (independent loads in flight).
template <typename I, typename F>
__device__ __forceinline__ void block_loop(I M, F&& f) {
  const I bd = static_cast<I>(blockDim.x);
  I i = static_cast<I>(threadIdx.x);
  for (; i + 3 * bd < M; i += 4 * bd) {
    f(i);
    f(i + bd);
    f(i + 2 * bd);
    f(i + 3 * bd);
  }
  for (; i < M; i += bd) f(i);
}

// Index arithmetic in 32 bits where every index of a launch fits (64-bit division costs the
// GPU many instructions; these kernels are otherwise memory-bound).
constexpr i64 kInt32Limit = i64(1) << 30;
bool fits_int32(i64 a, i64 b = 0, i64 c = 0) { return a < kInt32Limit && b < kInt32Limit && c < kInt32Limit; }

__device__ float sigmoidf_ref(float v) { return v >= 0 ? 1.0f / (1.0f + expf(-v)) : expf(v) / (1.0f + expf(v)); }

__device__ float act_f(int a, float alpha, float v) {
  switch (a) {
    case 0: return v > 0 ? v : 0.0f;
    case 1: return v > 0 ? v : alpha * v;
    case 2: return tanhf(v);
    case 3: return sigmoidf_ref(v);
  }
  return v;
}

__device__ float act_d(int a, float alpha, float y) {
  switch (a) {
    case 0: return y > 0 ? 1.0f : 0.0f;
    case 1: return y > 0 ? 1.0f : alpha;
    case 2: return 1.0f - y * y;
    case 3: return y * (1.0f - y);
  }
  return 1.0f;
}

__global__ void k_fill(float* p, i64 n, float v) {
  T2I_GRID_STRIDE(i, n) p[i] = v;
}
__global__ void k_add(const float* a, const float* b, float* y, i64 n) {
  T2I_GRID_STRIDE(i, n) y[i] = a[i] + b[i];
}
__global__ void k_accumulate(const float* x, float* acc, i64 n) {
  T2I_GRID_STRIDE(i, n) acc[i] += x[i];
}

template <typename I>
__global__ void k_im2col(Geo g64, const float* x, float* col) {
  const I C = I(g64.C), H = I(g64.H), W = I(g64.W), OW = I(g64.OW), KH = I(g64.KH), KW = I(g64.KW),
          SH = I(g64.SH), SW = I(g64.SW), PH = I(g64.PH), PW = I(g64.PW), N = I(g64.N);
  const I P = I(g64.OH) * OW, total = C * KH * KW * N * P;
  const I row_stride = I(g64.row_stride), img_stride = I(g64.img_stride);
  for (I i = I(blockIdx.x) * I(blockDim.x) + I(threadIdx.x); i < total; i += I(blockDim.x) * I(gridDim.x)) {
    const I p = i % P;
    I r = i / P;
    const I n = r % N;
    r /= N;  // (c*KH + ky)*KW + kx
    const I kx = r % KW, ky = (r / KW) % KH, c = r / (KW * KH);
    const I oy = p / OW, ox = p - oy * OW;
    const I iy = oy * SH - PH + ky, ix = ox * SW - PW + kx;
    float v = 0.0f;
    if (iy >= 0 && iy < H && ix >= 0 && ix < W) v = x[((n * C + c) * H + iy) * W + ix];
    col[r * row_stride + n * img_stride + p] = v;
  }
}

template <typename I>
__global__ void k_col2im(Geo g64, const float* col, const float* bias, float* x) {
  const I C = I(g64.C), H = I(g64.H), W = I(g64.W), OH = I(g64.OH), OW = I(g64.OW), KH = I(g64.KH),
          KW = I(g64.KW), SH = I(g64.SH), SW = I(g64.SW), PH = I(g64.PH), PW = I(g64.PW), N = I(g64.N);
  const I total = N * C * H * W, row_stride = I(g64.row_stride), img_stride = I(g64.img_stride);
  for (I i = I(blockIdx.x) * I(blockDim.x) + I(threadIdx.x); i < total; i += I(blockDim.x) * I(gridDim.x)) {
    const I ix = i % W, iy = (i / W) % H, c = (i / (W * H)) % C, n = i / (W * H * C);
    float acc = bias ? bias[c] : 0.0f;
    for (I ky = 0; ky < KH; ++ky) {
      const I ty = iy + PH - ky;
      if (ty < 0 || ty % SH) continue;
      const I oy = ty / SH;
      if (oy >= OH) continue;
      for (I kx = 0; kx < KW; ++kx) {
        const I tx = ix + PW - kx;
        if (tx < 0 || tx % SW) continue;
        const I ox = tx / SW;
        if (ox >= OW) continue;
        acc += col[((c * KH + ky) * KW + kx) * row_stride + n * img_stride + oy * OW + ox];
      }
    }
    x[i] = acc;
  }
}

template <typename I>
__global__ void k_swap01(const float* src, I A, I B, I S, const float* bias, float* dst) {
  const I total = A * B * S;
  for (I i = I(blockIdx.x) * I(blockDim.x) + I(threadIdx.x); i < total; i += I(blockDim.x) * I(gridDim.x)) {
    // i indexes dst [B,A,S]
    const I s = i % S, a = (i / S) % A, b = i / (S * A);
    float v = src[(a * B + b) * S + s];
    if (bias) v += bias[a];
    dst[i] = v;
  }
}

__global__ void k_transpose_batched(const float* src, i64 N, i64 A, i64 B, float* dst) {
  T2I_GRID_STRIDE(i, N * A * B) {  // i indexes dst [N,B,A]
    const i64 a = i % A, b = (i / A) % B, n = i / (A * B);
    dst[i] = src[(n * A + a) * B + b];
  }
}

__global__ void k_bias_rows(float* y, i64 N, i64 O, const float* b) {
  T2I_GRID_STRIDE(i, N * O) y[i] = b[i % O];
}

__global__ void k_colsum_acc(const float* in, i64 rows, i64 cols, float* out) {
  T2I_GRID_STRIDE(j, cols) {
    double acc = 0;
    for (i64 r = 0; r < rows; ++r) acc += in[r * cols + j];
    out[j] += static_cast<float>(acc);
  }
}

// The element i (of M = N S) of channel c in an [N,C,S] array.
template <typename I>
__device__ __forceinline__ I bn_index(I i, I C, I S, I c) {
  const I n = i / S;
  return (n * C + c) * S + (i - n * S);
}

template <typename I>
__global__ void __launch_bounds__(kChannelThreads) k_channel_sum_acc(const float* x, I N, I C, I S, float* out) {
  const I c = I(blockIdx.x), M = N * S;
  double acc = 0;
  block_loop(M, [&](I i) { acc += x[bn_index(i, C, S, c)]; });
  acc = block_sum(acc);
  if (threadIdx.x == 0) out[c] += static_cast<float>(acc);
}

template <typename I>
__global__ void __launch_bounds__(kChannelThreads) k_bn_train(I N, I C, I S, const float* x, const float* gamma, const float* beta, float eps,
                           float momentum, bool relu, float* y, float* mean, float* var, float* rm, float* rv) {
  const I c = I(blockIdx.x), M = N * S;
  double sum = 0;
  block_loop(M, [&](I i) { sum += x[bn_index(i, C, S, c)]; });
  const float mu = static_cast<float>(block_sum(sum) / double(M));
  double sq = 0;
  block_loop(M, [&](I i) {
    const double d = double(x[bn_index(i, C, S, c)]) - double(mu);
    sq += d * d;
  });
  const float v = static_cast<float>(block_sum(sq) / double(M));
  const float is = 1.0f / sqrtf(v + eps);
  const float g = gamma[c], b = beta[c];
  block_loop(M, [&](I i) {
    const I k = bn_index(i, C, S, c);
    float o = g * (x[k] - mu) * is + b;
    if (relu && !(o > 0)) o = 0.0f;
    y[k] = o;
  });
  if (threadIdx.x == 0) {
    mean[c] = mu;
    var[c] = v;
    if (rm) {
      rm[c] = (1.0f - momentum) * rm[c] + momentum * mu;
      rv[c] = (1.0f - momentum) * rv[c] + momentum * (M > 1 ? v * float(M) / float(M - 1) : v);
    }
  }
}

template <typename I>
__global__ void k_bn_infer(I N, I C, I S, const float* x, const float* gamma, const float* beta, float eps,
                           const float* rm, const float* rv, bool relu, float* y) {
  const I total = N * C * S;
  for (I k = I(blockIdx.x) * I(blockDim.x) + I(threadIdx.x); k < total; k += I(blockDim.x) * I(gridDim.x)) {
    const I c = (k / S) % C;
    const float is = 1.0f / sqrtf(rv[c] + eps);
    float o = gamma[c] * (x[k] - rm[c]) * is + beta[c];
    if (relu && !(o > 0)) o = 0.0f;
    y[k] = o;
  }
}

template <typename I>
__global__ void __launch_bounds__(kChannelThreads) k_bn_backward(I N, I C, I S, const float* x, const float* dy, const float* out, const float* gamma,
                              const float* mean, const float* var, float eps, float* dx, float* dgamma,
                              float* dbeta) {
  const I c = I(blockIdx.x), M = N * S;
  const float is = 1.0f / sqrtf(var[c] + eps), mu = mean[c];
  double sdy = 0, sdyx = 0;
  block_loop(M, [&](I i) {
    const I k = bn_index(i, C, S, c);
    const float g = out ? dy[k] * (out[k] > 0 ? 1.0f : 0.0f) : dy[k];  // ref's act_backward
    sdy += g;
    sdyx += double(g) * double((x[k] - mu) * is);
  });
  const float sum_dy = static_cast<float>(block_sum(sdy)), sum_dy_xhat = static_cast<float>(block_sum(sdyx));
  if (threadIdx.x == 0) {
    dgamma[c] += sum_dy_xhat;
    dbeta[c] += sum_dy;
  }
  const float scale = gamma[c] * is / float(M);
  block_loop(M, [&](I i) {
    const I k = bn_index(i, C, S, c);
    const float g = out ? dy[k] * (out[k] > 0 ? 1.0f : 0.0f) : dy[k];
    const float xhat = (x[k] - mu) * is;
    dx[k] = scale * (float(M) * g - sum_dy - xhat * sum_dy_xhat);
  });
}

__global__ void k_act_fwd(int a, float alpha, i64 n, const float* x, float* y) {
  T2I_GRID_STRIDE(i, n) y[i] = act_f(a, alpha, x[i]);
}
__global__ void k_act_bwd(int a, float alpha, i64 n, const float* y, const float* dy, float* dx) {
  T2I_GRID_STRIDE(i, n) dx[i] = dy[i] * act_d(a, alpha, y[i]);
}

__global__ void k_maxpool_fwd(i64 NC, i64 T, i64 k, i64 st, i64 TO, const float* x, float* y, i64* argmax) {
  T2I_GRID_STRIDE(i, NC * TO) {
    const i64 nc = i / TO, o = i % TO;
    const float* row = x + nc * T;
    i64 best = o * st;
    for (i64 j = 1; j < k; ++j)
      if (row[o * st + j] > row[best]) best = o * st + j;
    y[i] = row[best];
    argmax[i] = best;
  }
}

__global__ void k_maxpool_bwd(i64 NC, i64 T, i64 k, i64 st, i64 TO, const i64* argmax, const float* dy, float* dx) {
  T2I_GRID_STRIDE(i, NC * T) {
    const i64 nc = i / T, t = i % T;
    i64 lo = t - k + 1;
    lo = lo <= 0 ? 0 : (lo + st - 1) / st;
    i64 hi = t / st;
    if (hi > TO - 1) hi = TO - 1;
    float acc = 0.0f;
    for (i64 o = lo; o <= hi; ++o)
      if (argmax[nc * TO + o] == t) acc += dy[nc * TO + o];
    dx[i] = acc;
  }
}

__global__ void k_replicate_fwd(i64 N, i64 C, i64 HW, const float* x, float* y) {
  T2I_GRID_STRIDE(i, N * C * HW) y[i] = x[i / HW];
}
__global__ void k_replicate_bwd(i64 N, i64 C, i64 HW, const float* dy, float* dx) {
  T2I_GRID_STRIDE(i, N * C) {
    float acc = 0.0f;
    for (i64 s = 0; s < HW; ++s) acc += dy[i * HW + s];
    dx[i] = acc;
  }
}

// One thread per output element; both directions gather (see ref::shift_cutout_*).
__global__ void k_shift_cutout(i64 N, i64 C, i64 H, i64 W, const std::int32_t* p, i64 cut, bool backward,
                               const float* in, float* out) {
  T2I_GRID_STRIDE(e, N * C * H * W) {
    const i64 j = e % W, i = (e / W) % H, n = e / (C * H * W);
    const std::int32_t* q = p + 4 * n;
    const i64 sign = backward ? 1 : -1;
    const i64 si = i + sign * q[0], sj = j + sign * q[1];  // the element read
    const i64 oi = backward ? si : i, oj = backward ? sj : j;  // the forward's output pixel
    const i64 y0 = q[2] - cut / 2, x0 = q[3] - cut / 2;
    const bool cutout = cut > 0 && oi >= y0 && oi < y0 + cut && oj >= x0 && oj < x0 + cut;
    const bool inside = si >= 0 && si < H && sj >= 0 && sj < W;
    out[e] = inside && !cutout ? in[e - i * W - j + si * W + sj] : 0.0f;
  }
}

__global__ void k_concat_fwd(i64 N, i64 CA, i64 CB, i64 S, const float* a, const float* b, float* y) {
  const i64 per = (CA + CB) * S;
  T2I_GRID_STRIDE(i, N * per) {
    const i64 n = i / per, r = i % per;
    y[i] = r < CA * S ? a[n * CA * S + r] : b[n * CB * S + r - CA * S];
  }
}
__global__ void k_concat_bwd(i64 N, i64 CA, i64 CB, i64 S, const float* dy, float* da, float* db) {
  const i64 per = (CA + CB) * S;
  T2I_GRID_STRIDE(i, N * per) {
    const i64 n = i / per, r = i % per;
    if (r < CA * S) da[n * CA * S + r] = dy[i];
    else db[n * CB * S + r - CA * S] = dy[i];
  }
}

__global__ void k_mean_time_fwd(i64 N, i64 T, i64 D, const float* h, float* y) {
  T2I_GRID_STRIDE(i, N * D) {
    const i64 n = i / D, d = i % D;
    float acc = 0.0f;
    for (i64 t = 0; t < T; ++t) acc += h[(n * T + t) * D + d];
    y[i] = acc / float(T);
  }
}
__global__ void k_mean_time_bwd(i64 N, i64 T, i64 D, const float* dy, float* dh) {
  T2I_GRID_STRIDE(i, N * T * D) {
    const i64 d = i % D, n = i / (T * D);
    dh[i] = dy[n * D + d] / float(T);
  }
}

__global__ void k_normalize_fwd(i64 D, float scale, const float* x, float* y) {
  const float* xr = x + blockIdx.x * D;
  float* yr = y + blockIdx.x * D;
  double sq = 0;
  for (i64 d = threadIdx.x; d < D; d += blockDim.x) sq += double(xr[d]) * double(xr[d]);
  sq = block_sum(sq);
  const float sqf = static_cast<float>(sq);
  const float r = sqf > 0.0f ? scale / sqrtf(sqf) : 0.0f;
  for (i64 d = threadIdx.x; d < D; d += blockDim.x) yr[d] = xr[d] * r;
}

__global__ void k_normalize_bwd(i64 D, float scale, const float* x, const float* dy, float* dx) {
  const i64 o = blockIdx.x * D;
  double sq = 0;
  for (i64 d = threadIdx.x; d < D; d += blockDim.x) sq += double(x[o + d]) * double(x[o + d]);
  const float sqf = static_cast<float>(block_sum(sq));
  if (!(sqf > 0.0f)) {
    for (i64 d = threadIdx.x; d < D; d += blockDim.x) dx[o + d] = 0.0f;
    return;
  }
  const float norm = sqrtf(sqf);
  double udy = 0;
  for (i64 d = threadIdx.x; d < D; d += blockDim.x) udy += double(x[o + d] / norm) * double(dy[o + d]);
  const float u = static_cast<float>(block_sum(udy));
  for (i64 d = threadIdx.x; d < D; d += blockDim.x) dx[o + d] = scale / norm * (dy[o + d] - x[o + d] / norm * u);
}

__global__ void k_bce(i64 N, const float* z, const float* t, const float* w, float* terms, float* dz) {
  T2I_GRID_STRIDE(i, N) {
    const float wi = w ? w[i] : 1.0f, zi = z[i];
    terms[i] = wi * (fmaxf(zi, 0.0f) - zi * t[i] + log1pf(expf(-fabsf(zi))));
    if (dz) dz[i] = wi * (sigmoidf_ref(zi) - t[i]) / float(N);
  }
}

__global__ void k_mse(i64 n, const float* a, const float* b, float g, float* terms, float* da) {
  T2I_GRID_STRIDE(i, n) {
    const float d = a[i] - b[i];
    terms[i] = d * d;
    if (da) da[i] = g * (2.0f * d / float(n));
  }
}

__global__ void k_abs_diff(i64 n, const float* a, const float* b, float g, float* terms, float* da) {
  T2I_GRID_STRIDE(i, n) {
    const float d = a[i] - b[i];
    terms[i] = fabsf(d);
    if (da) da[i] = d > 0.0f ? g : d < 0.0f ? -g : 0.0f;
  }
}

__global__ void k_sum_partial(const float* x, i64 n, double* partial) {
  double acc = 0;
  T2I_GRID_STRIDE(i, n) acc += x[i];
  acc = block_sum(acc);
  if (threadIdx.x == 0) partial[blockIdx.x] = acc;
}

__global__ void k_adam(i64 n, float* p, const float* g, float* m, float* v, float b1, float b2, float omb1, float omb2,
                       float bc2_sqrt, float step_size, float eps) {
  T2I_GRID_STRIDE(i, n) {
    const float gi = g[i];
    const float mi = __fadd_rn(__fmul_rn(b1, m[i]), __fmul_rn(omb1, gi));
    const float vi = __fadd_rn(__fmul_rn(b2, v[i]), __fmul_rn(__fmul_rn(omb2, gi), gi));
    m[i] = mi;
    v[i] = vi;
    const float denom = __fadd_rn(__fdiv_rn(sqrtf(vi), bc2_sqrt), eps);
    p[i] = __fsub_rn(p[i], __fdiv_rn(__fmul_rn(step_size, mi), denom));
  }
}

__global__ void k_ema(i64 n, float* avg, const float* x, float d, float omd) {
  T2I_GRID_STRIDE(i, n) avg[i] = __fadd_rn(__fmul_rn(d, avg[i]), __fmul_rn(omd, x[i]));
}

__global__ void k_rmsprop(i64 n, float* p, const float* g, float* v, float a, float oma, float lr, float eps) {
  T2I_GRID_STRIDE(i, n) {
    const float gi = g[i];
    const float vi = __fadd_rn(__fmul_rn(a, v[i]), __fmul_rn(__fmul_rn(oma, gi), gi));
    v[i] = vi;
    p[i] = __fsub_rn(p[i], __fdiv_rn(__fmul_rn(lr, gi), __fadd_rn(sqrtf(vi), eps)));
  }
}

__global__ void k_rnn_fwd(bool gru, i64 N, i64 Hd, const float* gi, i64 gi_ld, const float* gh, i64 gh_ld,
                          const float* b_ih, const float* b_hh, const float* hp, float* ht, i64 h_ld, float* ws,
                          i64 ws_ld) {
  T2I_GRID_STRIDE(i, N * Hd) {
    const i64 n = i / Hd, k = i % Hd;
    const float* a = gi + n * gi_ld;
    const float* h = gh ? gh + n * gh_ld : nullptr;
    auto GI = [&](i64 row) { return a[row] + b_ih[row]; };
    auto GH = [&](i64 row) { return (h ? h[row] : 0.0f) + b_hh[row]; };
    if (!gru) {
      const float v = GI(k) + GH(k);
      ht[n * h_ld + k] = v > 0 ? v : 0.0f;
      continue;
    }
    const float r = sigmoidf_ref(GI(k) + GH(k));
    const float z = sigmoidf_ref(GI(Hd + k) + GH(Hd + k));
    const float hn = GH(2 * Hd + k);
    const float nn = tanhf(GI(2 * Hd + k) + r * hn);
    float* w = ws + n * ws_ld;
    w[k] = r, w[Hd + k] = z, w[2 * Hd + k] = nn, w[3 * Hd + k] = hn;
    ht[n * h_ld + k] = (1.0f - z) * nn + z * (hp ? hp[n * h_ld + k] : 0.0f);
  }
}

__global__ void k_rnn_bwd(bool gru, i64 N, i64 Hd, const float* dH, const float* ht, const float* hp, i64 h_ld,
                          const float* ws, i64 ws_ld, float* carry, float* dgi, float* dgh, i64 g_ld) {
  T2I_GRID_STRIDE(i, N * Hd) {
    const i64 n = i / Hd, k = i % Hd;
    const float g = dH[n * h_ld + k] + carry[i];
    float* a = dgi + n * g_ld;
    float* b = dgh + n * g_ld;
    if (!gru) {
      a[k] = b[k] = g * (ht[n * h_ld + k] > 0 ? 1.0f : 0.0f);
      carry[i] = 0.0f;
      continue;
    }
    const float* w = ws + n * ws_ld;
    const float r = w[k], z = w[Hd + k], nn = w[2 * Hd + k], hn = w[3 * Hd + k];
    const float hprev = hp ? hp[n * h_ld + k] : 0.0f;
    const float dn = g * (1.0f - z) * (1.0f - nn * nn);
    const float dz = g * (hprev - nn) * z * (1.0f - z);
    const float dr = dn * hn * r * (1.0f - r);
    a[k] = dr, a[Hd + k] = dz, a[2 * Hd + k] = dn;
    b[k] = dr, b[Hd + k] = dz, b[2 * Hd + k] = dn * r;
    carry[i] = g * z;
  }
}

__global__ void k_shift_time(i64 N, i64 T, i64 Hd, const float* H, float* hp) {
  T2I_GRID_STRIDE(i, N * T * Hd) {
    const i64 t = (i / Hd) % T;
    hp[i] = t > 0 ? H[i - Hd] : 0.0f;
  }
}

}  // namespace

#define T2I_LAUNCH(kernel, n, ...)                                    \
  do {                                                                \
    if ((n) > 0) kernel<<<grid_for(n), kThreads, 0, s>>>(__VA_ARGS__); \
    return cudaGetLastError();                                        \
  } while (0)

cudaError_t fill(float* p, i64 n, float v, cudaStream_t s) { T2I_LAUNCH(k_fill, n, p, n, v); }
cudaError_t add(const float* a, const float* b, float* y, i64 n, cudaStream_t s) { T2I_LAUNCH(k_add, n, a, b, y, n); }
cudaError_t accumulate(const float* x, float* acc, i64 n, cudaStream_t s) { T2I_LAUNCH(k_accumulate, n, x, acc, n); }
// The column buffer's extent: every index im2col writes and col2im reads lies below it.
i64 col_extent(const Geo& g) {
  return (g.C * g.KH * g.KW - 1) * g.row_stride + (g.N - 1) * g.img_stride + g.OH * g.OW;
}
cudaError_t im2col(const Geo& g, const float* x, float* col, cudaStream_t s) {
  const i64 n = g.C * g.KH * g.KW * g.N * g.OH * g.OW;
  if (fits_int32(n, col_extent(g), g.N * g.C * g.H * g.W)) T2I_LAUNCH(k_im2col<int>, n, g, x, col);
  T2I_LAUNCH(k_im2col<i64>, n, g, x, col);
}
cudaError_t col2im(const Geo& g, const float* col, const float* bias, float* x, cudaStream_t s) {
  const i64 n = g.N * g.C * g.H * g.W;
  if (fits_int32(n, col_extent(g))) T2I_LAUNCH(k_col2im<int>, n, g, col, bias, x);
  T2I_LAUNCH(k_col2im<i64>, n, g, col, bias, x);
}
cudaError_t swap01(const float* src, i64 A, i64 B, i64 S, const float* bias, float* dst, cudaStream_t s) {
  const i64 n = A * B * S;
  if (fits_int32(n)) T2I_LAUNCH(k_swap01<int>, n, src, int(A), int(B), int(S), bias, dst);
  T2I_LAUNCH(k_swap01<i64>, n, src, A, B, S, bias, dst);
}
cudaError_t transpose_batched(const float* src, i64 N, i64 A, i64 B, float* dst, cudaStream_t s) {
  T2I_LAUNCH(k_transpose_batched, N * A * B, src, N, A, B, dst);
}
cudaError_t bias_rows(float* y, i64 N, i64 O, const float* b, cudaStream_t s) { T2I_LAUNCH(k_bias_rows, N * O, y, N, O, b); }
cudaError_t colsum_acc(const float* in, i64 rows, i64 cols, float* out, cudaStream_t s) {
  T2I_LAUNCH(k_colsum_acc, cols, in, rows, cols, out);
}
cudaError_t channel_sum_acc(const float* x, i64 N, i64 C, i64 S, float* out, cudaStream_t s) {
  if (C <= 0) return cudaSuccess;
  if (fits_int32(N * C * S))
    k_channel_sum_acc<int><<<static_cast<unsigned>(C), kChannelThreads, 0, s>>>(x, int(N), int(C), int(S), out);
  else
    k_channel_sum_acc<i64><<<static_cast<unsigned>(C), kChannelThreads, 0, s>>>(x, N, C, S, out);
  return cudaGetLastError();
}
cudaError_t bn_train(i64 N, i64 C, i64 S, const float* x, const float* gamma, const float* beta, float eps,
                     float momentum, bool relu, float* y, float* mean, float* var, float* running_mean,
                     float* running_var, cudaStream_t s) {
  if (C <= 0) return cudaSuccess;
  if (fits_int32(N * C * S))
    k_bn_train<int><<<static_cast<unsigned>(C), kChannelThreads, 0, s>>>(
        int(N), int(C), int(S), x, gamma, beta, eps, momentum, relu, y, mean, var, running_mean, running_var);
  else
    k_bn_train<i64><<<static_cast<unsigned>(C), kChannelThreads, 0, s>>>(N, C, S, x, gamma, beta, eps, momentum, relu,
                                                                          y, mean, var, running_mean, running_var);
  return cudaGetLastError();
}
cudaError_t bn_infer(i64 N, i64 C, i64 S, const float* x, const float* gamma, const float* beta, float eps,
                     const float* running_mean, const float* running_var, bool relu, float* y, cudaStream_t s) {
  const i64 n = N * C * S;
  if (fits_int32(n))
    T2I_LAUNCH(k_bn_infer<int>, n, int(N), int(C), int(S), x, gamma, beta, eps, running_mean, running_var, relu, y);
  T2I_LAUNCH(k_bn_infer<i64>, n, N, C, S, x, gamma, beta, eps, running_mean, running_var, relu, y);
}
cudaError_t bn_backward(i64 N, i64 C, i64 S, const float* x, const float* dy, const float* out, const float* gamma,
                        const float* mean, const float* var, float eps, float* dx, float* dgamma, float* dbeta,
                        cudaStream_t s) {
  if (C <= 0) return cudaSuccess;
  if (fits_int32(N * C * S))
    k_bn_backward<int><<<static_cast<unsigned>(C), kChannelThreads, 0, s>>>(int(N), int(C), int(S), x, dy, out, gamma,
                                                                             mean, var, eps, dx, dgamma, dbeta);
  else
    k_bn_backward<i64><<<static_cast<unsigned>(C), kChannelThreads, 0, s>>>(N, C, S, x, dy, out, gamma, mean, var,
                                                                             eps, dx, dgamma, dbeta);
  return cudaGetLastError();
}
cudaError_t act_forward(int act, float alpha, i64 n, const float* x, float* y, cudaStream_t s) {
  T2I_LAUNCH(k_act_fwd, n, act, alpha, n, x, y);
}
cudaError_t act_backward(int act, float alpha, i64 n, const float* y, const float* dy, float* dx, cudaStream_t s) {
  T2I_LAUNCH(k_act_bwd, n, act, alpha, n, y, dy, dx);
}
cudaError_t maxpool1d_forward(i64 NC, i64 T, i64 k, i64 st, i64 TO, const float* x, float* y, i64* argmax,
                              cudaStream_t s) {
  T2I_LAUNCH(k_maxpool_fwd, NC * TO, NC, T, k, st, TO, x, y, argmax);
}
cudaError_t maxpool1d_backward(i64 NC, i64 T, i64 k, i64 st, i64 TO, const i64* argmax, const float* dy, float* dx,
                               cudaStream_t s) {
  T2I_LAUNCH(k_maxpool_bwd, NC * T, NC, T, k, st, TO, argmax, dy, dx);
}
cudaError_t replicate_forward(i64 N, i64 C, i64 HW, const float* x, float* y, cudaStream_t s) {
  T2I_LAUNCH(k_replicate_fwd, N * C * HW, N, C, HW, x, y);
}
cudaError_t replicate_backward(i64 N, i64 C, i64 HW, const float* dy, float* dx, cudaStream_t s) {
  T2I_LAUNCH(k_replicate_bwd, N * C, N, C, HW, dy, dx);
}
cudaError_t shift_cutout(i64 N, i64 C, i64 H, i64 W, const std::int32_t* p, i64 cut, bool backward, const float* in,
                         float* out, cudaStream_t s) {
  T2I_LAUNCH(k_shift_cutout, N * C * H * W, N, C, H, W, p, cut, backward, in, out);
}
cudaError_t concat_forward(i64 N, i64 CA, i64 CB, i64 S, const float* a, const float* b, float* y, cudaStream_t s) {
  T2I_LAUNCH(k_concat_fwd, N * (CA + CB) * S, N, CA, CB, S, a, b, y);
}
cudaError_t concat_backward(i64 N, i64 CA, i64 CB, i64 S, const float* dy, float* da, float* db, cudaStream_t s) {
  T2I_LAUNCH(k_concat_bwd, N * (CA + CB) * S, N, CA, CB, S, dy, da, db);
}
cudaError_t mean_time_forward(i64 N, i64 T, i64 D, const float* h, float* y, cudaStream_t s) {
  T2I_LAUNCH(k_mean_time_fwd, N * D, N, T, D, h, y);
}
cudaError_t mean_time_backward(i64 N, i64 T, i64 D, const float* dy, float* dh, cudaStream_t s) {
  T2I_LAUNCH(k_mean_time_bwd, N * T * D, N, T, D, dy, dh);
}
cudaError_t normalize_rows_forward(i64 N, i64 D, float scale, const float* x, float* y, cudaStream_t s) {
  if (N > 0) k_normalize_fwd<<<static_cast<unsigned>(N), kThreads, 0, s>>>(D, scale, x, y);
  return cudaGetLastError();
}
cudaError_t normalize_rows_backward(i64 N, i64 D, float scale, const float* x, const float* dy, float* dx,
                                    cudaStream_t s) {
  if (N > 0) k_normalize_bwd<<<static_cast<unsigned>(N), kThreads, 0, s>>>(D, scale, x, dy, dx);
  return cudaGetLastError();
}
cudaError_t bce_terms(i64 N, const float* z, const float* t, const float* w, float* terms, float* dz, cudaStream_t s) {
  T2I_LAUNCH(k_bce, N, N, z, t, w, terms, dz);
}
cudaError_t mse_terms(i64 n, const float* a, const float* b, float g, float* terms, float* da, cudaStream_t s) {
  T2I_LAUNCH(k_mse, n, n, a, b, g, terms, da);
}
cudaError_t abs_diff_terms(i64 n, const float* a, const float* b, float g, float* terms, float* da, cudaStream_t s) {
  T2I_LAUNCH(k_abs_diff, n, n, a, b, g, terms, da);
}
int sum_blocks(i64 n) {
  i64 b = (n + kThreads - 1) / kThreads;
  return static_cast<int>(b < 1 ? 1 : (b > 1024 ? 1024 : b));
}
cudaError_t sum_partial(const float* x, i64 n, double* partial, int nblocks, cudaStream_t s) {
  k_sum_partial<<<static_cast<unsigned>(nblocks), kThreads, 0, s>>>(x, n, partial);
  return cudaGetLastError();
}
cudaError_t adam(i64 n, float* p, const float* g, float* m, float* v, float b1, float b2, float omb1, float omb2,
                 float bc2_sqrt, float step_size, float eps, cudaStream_t s) {
  T2I_LAUNCH(k_adam, n, n, p, g, m, v, b1, b2, omb1, omb2, bc2_sqrt, step_size, eps);
}
cudaError_t ema(i64 n, float* avg, const float* x, float d, float omd, cudaStream_t s) { T2I_LAUNCH(k_ema, n, n, avg, x, d, omd); }
cudaError_t rmsprop(i64 n, float* p, const float* g, float* v, float a, float oma, float lr, float eps, cudaStream_t s) {
  T2I_LAUNCH(k_rmsprop, n, n, p, g, v, a, oma, lr, eps);
}
cudaError_t rnn_step_forward(bool gru, i64 N, i64 Hd, const float* gi, i64 gi_ld, const float* gh, i64 gh_ld,
                             const float* b_ih, const float* b_hh, const float* hp, float* ht, i64 h_ld, float* ws,
                             i64 ws_ld, cudaStream_t s) {
  T2I_LAUNCH(k_rnn_fwd, N * Hd, gru, N, Hd, gi, gi_ld, gh, gh_ld, b_ih, b_hh, hp, ht, h_ld, ws, ws_ld);
}
cudaError_t rnn_step_backward(bool gru, i64 N, i64 Hd, const float* dH, const float* ht, const float* hp, i64 h_ld,
                              const float* ws, i64 ws_ld, float* carry, float* dgi, float* dgh, i64 g_ld,
                              cudaStream_t s) {
  T2I_LAUNCH(k_rnn_bwd, N * Hd, gru, N, Hd, dH, ht, hp, h_ld, ws, ws_ld, carry, dgi, dgh, g_ld);
}
cudaError_t shift_time(i64 N, i64 T, i64 Hd, const float* H, float* hprev, cudaStream_t s) {
  T2I_LAUNCH(k_shift_time, N * T * Hd, N, T, Hd, H, hprev);
}

}  // namespace t2i::nn::cuk
