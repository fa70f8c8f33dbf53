// The CUDA kernels of the cuda backend (cuda_backend_kernels.cu), behind plain launch functions
// so the host side (cuda_backend.cc, C++20) never includes device code and the .cu needs no
// project header. Every function enqueues on `s` and returns cudaGetLastError() of its launch.
// All arrays are plain C-order float32 device memory; the semantics are ref_kernels.h's.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace t2i::nn::cuk {

using i64 = std::int64_t;

cudaError_t fill(float* p, i64 n, float v, cudaStream_t s);
// y = a + b; acc += x.
cudaError_t add(const float* a, const float* b, float* y, i64 n, cudaStream_t s);
cudaError_t accumulate(const float* x, float* acc, i64 n, cudaStream_t s);

// Convolution geometry of im2col/col2im: an image [C,H,W] and the output positions [OH,OW] of a
// KHxKW window with stride and padding (position oy reads rows oy*SH - PH + ky). The column
// buffer holds element (c,ky,kx ; n, p) at ((c*KH+ky)*KW+kx) * row_stride + n * img_stride + p.
struct Geo {
  i64 N, C, H, W, OH, OW, KH, KW, SH, SW, PH, PW;
  i64 row_stride, img_stride;
};
cudaError_t im2col(const Geo& g, const float* x, float* col, cudaStream_t s);
// x [N,C,H,W] = the sum of col's entries that land on each pixel (overwritten), plus bias[c].
cudaError_t col2im(const Geo& g, const float* col, const float* bias, float* x, cudaStream_t s);
// [A,B,S] -> [B,A,S], plus bias[a] when given.
cudaError_t swap01(const float* src, i64 A, i64 B, i64 S, const float* bias, float* dst, cudaStream_t s);
// [N,A,B] -> [N,B,A].
cudaError_t transpose_batched(const float* src, i64 N, i64 A, i64 B, float* dst, cudaStream_t s);
// y[n,o] = b[o] for y [N,O].
cudaError_t bias_rows(float* y, i64 N, i64 O, const float* b, cudaStream_t s);
// out[j] += sum over r of in[r * cols + j].
cudaError_t colsum_acc(const float* in, i64 rows, i64 cols, float* out, cudaStream_t s);
// out[c] += sum over n, s of x[(n*C + c)*S + s].
cudaError_t channel_sum_acc(const float* x, i64 N, i64 C, i64 S, float* out, cudaStream_t s);

// Batch norm over N and S per channel; relu fuses a ReLU after it. Training: mean, var (biased)
// out; running statistics moved when non-null.
cudaError_t bn_train(i64 N, i64 C, i64 S, const float* x, const float* gamma, const float* beta, float eps,
                     float momentum, bool relu, float* y, float* mean, float* var, float* running_mean,
                     float* running_var, cudaStream_t s);
cudaError_t bn_infer(i64 N, i64 C, i64 S, const float* x, const float* gamma, const float* beta, float eps,
                     const float* running_mean, const float* running_var, bool relu, float* y, cudaStream_t s);
// out: the fused ReLU's output (masks dy where <= 0) or null.
cudaError_t bn_backward(i64 N, i64 C, i64 S, const float* x, const float* dy, const float* out, const float* gamma,
                        const float* mean, const float* var, float eps, float* dx, float* dgamma, float* dbeta,
                        cudaStream_t s);

// act: 0 relu, 1 leaky relu, 2 tanh, 3 sigmoid (ref::Act's order).
cudaError_t act_forward(int act, float alpha, i64 n, const float* x, float* y, cudaStream_t s);
cudaError_t act_backward(int act, float alpha, i64 n, const float* y, const float* dy, float* dx, cudaStream_t s);

cudaError_t maxpool1d_forward(i64 NC, i64 T, i64 k, i64 st, i64 TO, const float* x, float* y, i64* argmax,
                              cudaStream_t s);
cudaError_t maxpool1d_backward(i64 NC, i64 T, i64 k, i64 st, i64 TO, const i64* argmax, const float* dy, float* dx,
                               cudaStream_t s);

cudaError_t replicate_forward(i64 N, i64 C, i64 HW, const float* x, float* y, cudaStream_t s);
cudaError_t replicate_backward(i64 N, i64 C, i64 HW, const float* dy, float* dx, cudaStream_t s);
cudaError_t concat_forward(i64 N, i64 CA, i64 CB, i64 S, const float* a, const float* b, float* y, cudaStream_t s);
cudaError_t concat_backward(i64 N, i64 CA, i64 CB, i64 S, const float* dy, float* da, float* db, cudaStream_t s);
// ref::shift_cutout_forward (backward = false: x -> y) or _backward (true: dy -> dx); p on the device.
cudaError_t shift_cutout(i64 N, i64 C, i64 H, i64 W, const std::int32_t* p, i64 cut, bool backward, const float* in,
                         float* out, cudaStream_t s);
cudaError_t mean_time_forward(i64 N, i64 T, i64 D, const float* h, float* y, cudaStream_t s);
cudaError_t mean_time_backward(i64 N, i64 T, i64 D, const float* dy, float* dh, cudaStream_t s);
cudaError_t normalize_rows_forward(i64 N, i64 D, float scale, const float* x, float* y, cudaStream_t s);
cudaError_t normalize_rows_backward(i64 N, i64 D, float scale, const float* x, const float* dy, float* dx,
                                    cudaStream_t s);

// Per-element loss terms into `terms` (summed by the host in ref's order), gradients into dz/da.
cudaError_t bce_terms(i64 N, const float* z, const float* t, const float* w, float* terms, float* dz, cudaStream_t s);
cudaError_t mse_terms(i64 n, const float* a, const float* b, float g, float* terms, float* da, cudaStream_t s);
// terms[i] = |a - b|, da[i] = g * sign(a - b) (0 where equal); da may be null.
cudaError_t abs_diff_terms(i64 n, const float* a, const float* b, float g, float* terms, float* da, cudaStream_t s);
// partial[i] (nblocks doubles) = sums over a grid-stride split of x; returns the block count used.
int sum_blocks(i64 n);
cudaError_t sum_partial(const float* x, i64 n, double* partial, int nblocks, cudaStream_t s);

cudaError_t adam(i64 n, float* p, const float* g, float* m, float* v, float b1, float b2, float omb1, float omb2,
                 float bc2_sqrt, float step_size, float eps, cudaStream_t s);
cudaError_t ema(i64 n, float* avg, const float* x, float d, float omd, cudaStream_t s);  // avg = d avg + omd x
cudaError_t rmsprop(i64 n, float* p, const float* g, float* v, float a, float oma, float lr, float eps, cudaStream_t s);

// Recurrent layers. gi: rows of x W_ih^T (no bias), row n at gi + n * gi_ld; gh: rows of h W_hh^T
// (no bias) or null for h = 0; hp: the previous hidden state rows (ld h_ld) or null.
cudaError_t rnn_step_forward(bool gru, i64 N, i64 Hd, const float* gi, i64 gi_ld, const float* gh, i64 gh_ld,
                             const float* b_ih, const float* b_hh, const float* hp, float* ht, i64 h_ld, float* ws,
                             i64 ws_ld, cudaStream_t s);
// From dH_t (ld h_ld) and carry [N,Hd] (dL/dh_t from later steps): dgi and dgh rows (ld g_ld);
// carry overwritten with the direct part of dL/dh_{t-1} (g z for GRU, 0 for ReLU).
cudaError_t rnn_step_backward(bool gru, i64 N, i64 Hd, const float* dH, const float* ht, const float* hp, i64 h_ld,
                              const float* ws, i64 ws_ld, float* carry, float* dgi, float* dgh, i64 g_ld,
                              cudaStream_t s);
// hprev [N,T,Hd]: H shifted one step later in time, zeros at t = 0.
cudaError_t shift_time(i64 N, i64 T, i64 Hd, const float* H, float* hprev, cudaStream_t s);

}  // namespace t2i::nn::cuk
