// The reference oracle: every op as plain loops over NCHW arrays, templated on the scalar so the
// gradient checks run them in double precision and the ref backend in float. Written for
// obviousness, not speed. Backward functions accumulate (+=) into parameter gradients and
// overwrite input gradients.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace t2i::nn::ref {

using i64 = std::int64_t;

// Geometry of a convolution or transposed convolution. For Conv2d, x is [N,C,H,W],
// w [OC,C,KH,KW], y [N,OC,OH,OW] with OH = (H + 2PH - KH) / SH + 1. For ConvTranspose2d (PyTorch
// layout) w is [C,OC,KH,KW] and OH = (H - 1) SH - 2PH + KH.
struct ConvDims {
  i64 N, C, H, W, OC, OH, OW, KH, KW, SH, SW, PH, PW;
};

// ---- Conv2d ------------------------------------------------------------------------------
template <typename T>
void conv2d_forward(const ConvDims& d, const T* x, const T* w, const T* b, T* y) {
  for (i64 n = 0; n < d.N; ++n)
    for (i64 oc = 0; oc < d.OC; ++oc)
      for (i64 oy = 0; oy < d.OH; ++oy)
        for (i64 ox = 0; ox < d.OW; ++ox) {
          T acc = b ? b[oc] : T(0);
          for (i64 c = 0; c < d.C; ++c)
            for (i64 ky = 0; ky < d.KH; ++ky) {
              i64 iy = oy * d.SH - d.PH + ky;
              if (iy < 0 || iy >= d.H) continue;
              for (i64 kx = 0; kx < d.KW; ++kx) {
                i64 ix = ox * d.SW - d.PW + kx;
                if (ix < 0 || ix >= d.W) continue;
                acc += x[((n * d.C + c) * d.H + iy) * d.W + ix] * w[((oc * d.C + c) * d.KH + ky) * d.KW + kx];
              }
            }
          y[((n * d.OC + oc) * d.OH + oy) * d.OW + ox] = acc;
        }
}

template <typename T>
void conv2d_backward_data(const ConvDims& d, const T* dy, const T* w, T* dx) {
  std::fill(dx, dx + d.N * d.C * d.H * d.W, T(0));
  for (i64 n = 0; n < d.N; ++n)
    for (i64 oc = 0; oc < d.OC; ++oc)
      for (i64 oy = 0; oy < d.OH; ++oy)
        for (i64 ox = 0; ox < d.OW; ++ox) {
          const T g = dy[((n * d.OC + oc) * d.OH + oy) * d.OW + ox];
          for (i64 c = 0; c < d.C; ++c)
            for (i64 ky = 0; ky < d.KH; ++ky) {
              i64 iy = oy * d.SH - d.PH + ky;
              if (iy < 0 || iy >= d.H) continue;
              for (i64 kx = 0; kx < d.KW; ++kx) {
                i64 ix = ox * d.SW - d.PW + kx;
                if (ix < 0 || ix >= d.W) continue;
                dx[((n * d.C + c) * d.H + iy) * d.W + ix] += g * w[((oc * d.C + c) * d.KH + ky) * d.KW + kx];
              }
            }
        }
}

template <typename T>
void conv2d_backward_weights(const ConvDims& d, const T* x, const T* dy, T* dw, T* db) {
  for (i64 n = 0; n < d.N; ++n)
    for (i64 oc = 0; oc < d.OC; ++oc)
      for (i64 oy = 0; oy < d.OH; ++oy)
        for (i64 ox = 0; ox < d.OW; ++ox) {
          const T g = dy[((n * d.OC + oc) * d.OH + oy) * d.OW + ox];
          if (db) db[oc] += g;
          for (i64 c = 0; c < d.C; ++c)
            for (i64 ky = 0; ky < d.KH; ++ky) {
              i64 iy = oy * d.SH - d.PH + ky;
              if (iy < 0 || iy >= d.H) continue;
              for (i64 kx = 0; kx < d.KW; ++kx) {
                i64 ix = ox * d.SW - d.PW + kx;
                if (ix < 0 || ix >= d.W) continue;
                dw[((oc * d.C + c) * d.KH + ky) * d.KW + kx] += g * x[((n * d.C + c) * d.H + iy) * d.W + ix];
              }
            }
        }
}

// ---- ConvTranspose2d ---------------------------------------------------------------------
template <typename T>
void conv_transpose2d_forward(const ConvDims& d, const T* x, const T* w, const T* b, T* y) {
  for (i64 n = 0; n < d.N; ++n)
    for (i64 oc = 0; oc < d.OC; ++oc)
      for (i64 i = 0; i < d.OH * d.OW; ++i) y[(n * d.OC + oc) * d.OH * d.OW + i] = b ? b[oc] : T(0);
  for (i64 n = 0; n < d.N; ++n)
    for (i64 c = 0; c < d.C; ++c)
      for (i64 iy = 0; iy < d.H; ++iy)
        for (i64 ix = 0; ix < d.W; ++ix) {
          const T v = x[((n * d.C + c) * d.H + iy) * d.W + ix];
          for (i64 oc = 0; oc < d.OC; ++oc)
            for (i64 ky = 0; ky < d.KH; ++ky) {
              i64 oy = iy * d.SH - d.PH + ky;
              if (oy < 0 || oy >= d.OH) continue;
              for (i64 kx = 0; kx < d.KW; ++kx) {
                i64 ox = ix * d.SW - d.PW + kx;
                if (ox < 0 || ox >= d.OW) continue;
                y[((n * d.OC + oc) * d.OH + oy) * d.OW + ox] += v * w[((c * d.OC + oc) * d.KH + ky) * d.KW + kx];
              }
            }
        }
}

template <typename T>
void conv_transpose2d_backward_data(const ConvDims& d, const T* dy, const T* w, T* dx) {
  for (i64 n = 0; n < d.N; ++n)
    for (i64 c = 0; c < d.C; ++c)
      for (i64 iy = 0; iy < d.H; ++iy)
        for (i64 ix = 0; ix < d.W; ++ix) {
          T acc = 0;
          for (i64 oc = 0; oc < d.OC; ++oc)
            for (i64 ky = 0; ky < d.KH; ++ky) {
              i64 oy = iy * d.SH - d.PH + ky;
              if (oy < 0 || oy >= d.OH) continue;
              for (i64 kx = 0; kx < d.KW; ++kx) {
                i64 ox = ix * d.SW - d.PW + kx;
                if (ox < 0 || ox >= d.OW) continue;
                acc += dy[((n * d.OC + oc) * d.OH + oy) * d.OW + ox] * w[((c * d.OC + oc) * d.KH + ky) * d.KW + kx];
              }
            }
          dx[((n * d.C + c) * d.H + iy) * d.W + ix] = acc;
        }
}

template <typename T>
void conv_transpose2d_backward_weights(const ConvDims& d, const T* x, const T* dy, T* dw, T* db) {
  if (db)
    for (i64 n = 0; n < d.N; ++n)
      for (i64 oc = 0; oc < d.OC; ++oc)
        for (i64 i = 0; i < d.OH * d.OW; ++i) db[oc] += dy[(n * d.OC + oc) * d.OH * d.OW + i];
  for (i64 n = 0; n < d.N; ++n)
    for (i64 c = 0; c < d.C; ++c)
      for (i64 iy = 0; iy < d.H; ++iy)
        for (i64 ix = 0; ix < d.W; ++ix) {
          const T v = x[((n * d.C + c) * d.H + iy) * d.W + ix];
          for (i64 oc = 0; oc < d.OC; ++oc)
            for (i64 ky = 0; ky < d.KH; ++ky) {
              i64 oy = iy * d.SH - d.PH + ky;
              if (oy < 0 || oy >= d.OH) continue;
              for (i64 kx = 0; kx < d.KW; ++kx) {
                i64 ox = ix * d.SW - d.PW + kx;
                if (ox < 0 || ox >= d.OW) continue;
                dw[((c * d.OC + oc) * d.KH + ky) * d.KW + kx] += v * dy[((n * d.OC + oc) * d.OH + oy) * d.OW + ox];
              }
            }
        }
}

// ---- Linear: x [N,I], w [O,I], b [O], y [N,O] -------------------------------------------
template <typename T>
void linear_forward(i64 N, i64 I, i64 O, const T* x, const T* w, const T* b, T* y) {
  for (i64 n = 0; n < N; ++n)
    for (i64 o = 0; o < O; ++o) {
      T acc = b ? b[o] : T(0);
      for (i64 i = 0; i < I; ++i) acc += x[n * I + i] * w[o * I + i];
      y[n * O + o] = acc;
    }
}

template <typename T>
void linear_backward_data(i64 N, i64 I, i64 O, const T* dy, const T* w, T* dx) {
  for (i64 n = 0; n < N; ++n)
    for (i64 i = 0; i < I; ++i) {
      T acc = 0;
      for (i64 o = 0; o < O; ++o) acc += dy[n * O + o] * w[o * I + i];
      dx[n * I + i] = acc;
    }
}

template <typename T>
void linear_backward_weights(i64 N, i64 I, i64 O, const T* x, const T* dy, T* dw, T* db) {
  for (i64 n = 0; n < N; ++n)
    for (i64 o = 0; o < O; ++o) {
      const T g = dy[n * O + o];
      if (db) db[o] += g;
      for (i64 i = 0; i < I; ++i) dw[o * I + i] += g * x[n * I + i];
    }
}

// ---- Batch normalisation over N and the spatial size S (S = 1 for BatchNorm1d) -------------
// Training: batch statistics (biased variance) normalise; running statistics move by momentum
// with the unbiased variance, as PyTorch does. mean and (biased) var are saved for backward.
template <typename T>
void batchnorm_forward_train(i64 N, i64 C, i64 S, const T* x, const T* gamma, const T* beta, T eps, T momentum,
                             T* y, T* mean, T* var_out, T* running_mean, T* running_var) {
  const i64 M = N * S;
  for (i64 c = 0; c < C; ++c) {
    T sum = 0;
    for (i64 n = 0; n < N; ++n)
      for (i64 s = 0; s < S; ++s) sum += x[(n * C + c) * S + s];
    const T mu = sum / T(M);
    T sq = 0;
    for (i64 n = 0; n < N; ++n)
      for (i64 s = 0; s < S; ++s) {
        T d = x[(n * C + c) * S + s] - mu;
        sq += d * d;
      }
    const T var = sq / T(M);
    const T is = T(1) / std::sqrt(var + eps);
    for (i64 n = 0; n < N; ++n)
      for (i64 s = 0; s < S; ++s) {
        i64 k = (n * C + c) * S + s;
        y[k] = gamma[c] * (x[k] - mu) * is + beta[c];
      }
    mean[c] = mu;
    var_out[c] = var;
    if (running_mean) {
      running_mean[c] = (T(1) - momentum) * running_mean[c] + momentum * mu;
      running_var[c] = (T(1) - momentum) * running_var[c] + momentum * (M > 1 ? var * T(M) / T(M - 1) : var);
    }
  }
}

template <typename T>
void batchnorm_forward_infer(i64 N, i64 C, i64 S, const T* x, const T* gamma, const T* beta, T eps,
                             const T* running_mean, const T* running_var, T* y) {
  for (i64 c = 0; c < C; ++c) {
    const T is = T(1) / std::sqrt(running_var[c] + eps);
    for (i64 n = 0; n < N; ++n)
      for (i64 s = 0; s < S; ++s) {
        i64 k = (n * C + c) * S + s;
        y[k] = gamma[c] * (x[k] - running_mean[c]) * is + beta[c];
      }
  }
}

template <typename T>
void batchnorm_backward(i64 N, i64 C, i64 S, const T* x, const T* dy, const T* gamma, const T* mean, const T* var,
                        T eps, T* dx, T* dgamma, T* dbeta) {
  const i64 M = N * S;
  for (i64 c = 0; c < C; ++c) {
    const T is = T(1) / std::sqrt(var[c] + eps);
    T sum_dy = 0, sum_dy_xhat = 0;
    for (i64 n = 0; n < N; ++n)
      for (i64 s = 0; s < S; ++s) {
        i64 k = (n * C + c) * S + s;
        sum_dy += dy[k];
        sum_dy_xhat += dy[k] * (x[k] - mean[c]) * is;
      }
    dgamma[c] += sum_dy_xhat;
    dbeta[c] += sum_dy;
    const T scale = gamma[c] * is / T(M);
    for (i64 n = 0; n < N; ++n)
      for (i64 s = 0; s < S; ++s) {
        i64 k = (n * C + c) * S + s;
        T xhat = (x[k] - mean[c]) * is;
        dx[k] = scale * (T(M) * dy[k] - sum_dy - xhat * sum_dy_xhat);
      }
  }
}

// ---- Activations; backward from the output y ----------------------------------------------
enum class Act { kRelu, kLeakyRelu, kTanh, kSigmoid };

template <typename T>
T act_forward(Act a, T alpha, T v) {
  switch (a) {
    case Act::kRelu: return v > 0 ? v : T(0);
    case Act::kLeakyRelu: return v > 0 ? v : alpha * v;
    case Act::kTanh: return std::tanh(v);
    case Act::kSigmoid: return v >= 0 ? T(1) / (T(1) + std::exp(-v)) : std::exp(v) / (T(1) + std::exp(v));
  }
  return v;
}

// d act / d x expressed through y = act(x).
template <typename T>
T act_derivative(Act a, T alpha, T y) {
  switch (a) {
    case Act::kRelu: return y > 0 ? T(1) : T(0);
    case Act::kLeakyRelu: return y > 0 ? T(1) : alpha;
    case Act::kTanh: return T(1) - y * y;
    case Act::kSigmoid: return y * (T(1) - y);
  }
  return T(1);
}

template <typename T>
void act_forward(Act a, T alpha, i64 n, const T* x, T* y) {
  for (i64 i = 0; i < n; ++i) y[i] = act_forward(a, alpha, x[i]);
}

template <typename T>
void act_backward(Act a, T alpha, i64 n, const T* y, const T* dy, T* dx) {
  for (i64 i = 0; i < n; ++i) dx[i] = dy[i] * act_derivative(a, alpha, y[i]);
}

// ---- Shape plumbing ---------------------------------------------------------------------
// [N,C] -> [N,C,H,W], every pixel the vector.
template <typename T>
void replicate_forward(i64 N, i64 C, i64 HW, const T* x, T* y) {
  for (i64 n = 0; n < N; ++n)
    for (i64 c = 0; c < C; ++c)
      for (i64 s = 0; s < HW; ++s) y[(n * C + c) * HW + s] = x[n * C + c];
}

template <typename T>
void replicate_backward(i64 N, i64 C, i64 HW, const T* dy, T* dx) {
  for (i64 n = 0; n < N; ++n)
    for (i64 c = 0; c < C; ++c) {
      T acc = 0;
      for (i64 s = 0; s < HW; ++s) acc += dy[(n * C + c) * HW + s];
      dx[n * C + c] = acc;
    }
}

// Channel concatenation of a [N,CA,S] and b [N,CB,S] into y [N,CA+CB,S], and its inverse.
template <typename T>
void concat_forward(i64 N, i64 CA, i64 CB, i64 S, const T* a, const T* b, T* y) {
  for (i64 n = 0; n < N; ++n) {
    std::copy(a + n * CA * S, a + (n + 1) * CA * S, y + n * (CA + CB) * S);
    std::copy(b + n * CB * S, b + (n + 1) * CB * S, y + n * (CA + CB) * S + CA * S);
  }
}

template <typename T>
void concat_backward(i64 N, i64 CA, i64 CB, i64 S, const T* dy, T* da, T* db) {
  for (i64 n = 0; n < N; ++n) {
    std::copy(dy + n * (CA + CB) * S, dy + n * (CA + CB) * S + CA * S, da + n * CA * S);
    std::copy(dy + n * (CA + CB) * S + CA * S, dy + (n + 1) * (CA + CB) * S, db + n * CB * S);
  }
}

template <typename T>
void add_forward(i64 n, const T* a, const T* b, T* y) {
  for (i64 i = 0; i < n; ++i) y[i] = a[i] + b[i];
}

// ---- Losses ------------------------------------------------------------------------------
// Binary cross-entropy on logits z against targets t in [0,1], optional per-sample weights w,
// mean over the N samples (weights do not renormalise, as in PyTorch). Stable for any |z|.
template <typename T>
T bce_with_logits(i64 N, const T* z, const T* t, const T* w, T* dz) {
  T loss = 0;
  for (i64 i = 0; i < N; ++i) {
    const T wi = w ? w[i] : T(1);
    const T zi = z[i];
    loss += wi * (std::max(zi, T(0)) - zi * t[i] + std::log1p(std::exp(-std::abs(zi))));
    if (dz) dz[i] = wi * (act_forward(Act::kSigmoid, T(0), zi) - t[i]) / T(N);
  }
  return loss / T(N);
}

// Mean squared error over all n elements; da (optional) receives grad_scale * 2 (a - b) / n.
template <typename T>
T mse(i64 n, const T* a, const T* b, T* da, T grad_scale = T(1)) {
  T loss = 0;
  for (i64 i = 0; i < n; ++i) {
    T d = a[i] - b[i];
    loss += d * d;
    if (da) da[i] = grad_scale * (T(2) * d / T(n));
  }
  return loss / T(n);
}

// Mean absolute difference over all n elements, mean |a - b|; da (optional) receives
// grad_scale * d mean|a - b| / da = grad_scale * sign(a - b) / n (0 where a == b).
template <typename T>
T mean_abs_diff(i64 n, const T* a, const T* b, T grad_scale, T* da) {
  T loss = 0;
  for (i64 i = 0; i < n; ++i) {
    const T d = a[i] - b[i];
    loss += std::abs(d);
    if (da) da[i] = d > T(0) ? grad_scale / T(n) : d < T(0) ? -grad_scale / T(n) : T(0);
  }
  return loss / T(n);
}

// ---- DiffAugment's translation and cutout (Zhao et al., NeurIPS 2020) of images [N,C,H,W] ----
// p holds 4 int32 per image: dy, dx (the shift), cy, cx (the cutout square's centre). Output
// pixel (i, j) of image n is 0 inside the square, rows [cy - cut/2, cy - cut/2 + cut) and the
// same columns around cx (cut 0: no square), else x[n,c,i - dy,j - dx] (0 where that falls
// outside the image). Both directions are gathers: the backward reads dy at (i + dy, j + dx).
inline bool in_cutout(i64 i, i64 j, const std::int32_t* p, i64 cut) {
  const i64 y0 = p[2] - cut / 2, x0 = p[3] - cut / 2;
  return cut > 0 && i >= y0 && i < y0 + cut && j >= x0 && j < x0 + cut;
}

// Both directions: backward false reads x at (i - dy, j - dx) for output (i, j); true reads dy at
// the forward's output pixel (i + dy, j + dx). Either way the cutout test is on that output pixel.
template <typename T>
void shift_cutout_gather(i64 N, i64 C, i64 H, i64 W, const std::int32_t* p, i64 cut, bool backward, const T* in, T* out) {
  const i64 sign = backward ? 1 : -1;
  for (i64 n = 0; n < N; ++n) {
    const std::int32_t* q = p + 4 * n;
    for (i64 c = 0; c < C; ++c) {
      const T* src = in + (n * C + c) * H * W;
      T* dst = out + (n * C + c) * H * W;
      for (i64 i = 0; i < H; ++i)
        for (i64 j = 0; j < W; ++j) {
          const i64 si = i + sign * q[0], sj = j + sign * q[1];
          const bool inside = si >= 0 && si < H && sj >= 0 && sj < W;
          const bool cutout = backward ? in_cutout(si, sj, q, cut) : in_cutout(i, j, q, cut);
          dst[i * W + j] = inside && !cutout ? src[si * W + sj] : T(0);
        }
    }
  }
}

template <typename T>
void shift_cutout_forward(i64 N, i64 C, i64 H, i64 W, const std::int32_t* p, i64 cut, const T* x, T* y) {
  shift_cutout_gather(N, C, H, W, p, cut, false, x, y);
}

template <typename T>
void shift_cutout_backward(i64 N, i64 C, i64 H, i64 W, const std::int32_t* p, i64 cut, const T* dy, T* dx) {
  shift_cutout_gather(N, C, H, W, p, cut, true, dy, dx);
}

// ---- Max pooling over time: x [N,C,T] -> y [N,C,TO], TO = (T - k) / s + 1 (no padding) -------
// argmax (optional, [N,C,TO]) receives the input time index of each output's maximum: the first
// one on ties, as PyTorch's MaxPool1d.
inline i64 maxpool1d_out_len(i64 T, i64 k, i64 s) { return T >= k ? (T - k) / s + 1 : 0; }

template <typename T>
void maxpool1d_forward(i64 N, i64 C, i64 Tn, i64 k, i64 s, const T* x, T* y, i64* argmax) {
  const i64 TO = maxpool1d_out_len(Tn, k, s);
  for (i64 nc = 0; nc < N * C; ++nc)
    for (i64 o = 0; o < TO; ++o) {
      i64 best = o * s;
      for (i64 j = 1; j < k; ++j)
        if (x[nc * Tn + o * s + j] > x[nc * Tn + best]) best = o * s + j;
      y[nc * TO + o] = x[nc * Tn + best];
      if (argmax) argmax[nc * TO + o] = best;
    }
}

// dx (overwritten) from dy and the forward's argmax.
template <typename T>
void maxpool1d_backward(i64 N, i64 C, i64 Tn, i64 TO, const i64* argmax, const T* dy, T* dx) {
  std::fill(dx, dx + N * C * Tn, T(0));
  for (i64 nc = 0; nc < N * C; ++nc)
    for (i64 o = 0; o < TO; ++o) dx[nc * Tn + argmax[nc * TO + o]] += dy[nc * TO + o];
}

// ---- Mean over time: h [N,T,D] -> y [N,D] ---------------------------------------------------
template <typename T>
void mean_time_forward(i64 N, i64 Tn, i64 D, const T* h, T* y) {
  for (i64 n = 0; n < N; ++n)
    for (i64 d = 0; d < D; ++d) {
      T acc = 0;
      for (i64 t = 0; t < Tn; ++t) acc += h[(n * Tn + t) * D + d];
      y[n * D + d] = acc / T(Tn);
    }
}

template <typename T>
void mean_time_backward(i64 N, i64 Tn, i64 D, const T* dy, T* dh) {
  for (i64 n = 0; n < N; ++n)
    for (i64 t = 0; t < Tn; ++t)
      for (i64 d = 0; d < D; ++d) dh[(n * Tn + t) * D + d] = dy[n * D + d] / T(Tn);
}

// ---- Channels/time transpose: x [N,C,T] -> y [N,T,C] ------------------------------------------
template <typename T>
void transpose_ct_forward(i64 N, i64 C, i64 Tn, const T* x, T* y) {
  for (i64 n = 0; n < N; ++n)
    for (i64 c = 0; c < C; ++c)
      for (i64 t = 0; t < Tn; ++t) y[(n * Tn + t) * C + c] = x[(n * C + c) * Tn + t];
}

// dx [N,C,T] (overwritten) from dy [N,T,C].
template <typename T>
void transpose_ct_backward(i64 N, i64 C, i64 Tn, const T* dy, T* dx) {
  for (i64 n = 0; n < N; ++n)
    for (i64 c = 0; c < C; ++c)
      for (i64 t = 0; t < Tn; ++t) dx[(n * C + c) * Tn + t] = dy[(n * Tn + t) * C + c];
}

// ---- Recurrent layers: one layer, one direction, h0 = 0, batch first ------------------------
// x [N,T,I] -> H [N,T,Hd], with PyTorch's parameters: w_ih [G Hd, I], w_hh [G Hd, Hd], b_ih and
// b_hh [G Hd]. kGru (G = 3, nn.GRU, gates r, z, n):
//   r = sigmoid(W_ir x + b_ir + W_hr h + b_hr), z = sigmoid(W_iz x + b_iz + W_hz h + b_hz),
//   n = tanh(W_in x + b_in + r (W_hn h + b_hn)), h' = (1 - z) n + z h.
// kRelu (G = 1, nn.RNN(nonlinearity='relu')): h' = relu(W_ih x + b_ih + W_hh h + b_hh).
// The workspace ([N,T,4 Hd] for kGru: r, z, n, W_hn h + b_hn; nothing for kRelu) keeps what
// backward needs besides x and H.
enum class RnnCell { kGru, kRelu };

inline i64 rnn_gates(RnnCell c) { return c == RnnCell::kGru ? 3 : 1; }
inline i64 rnn_workspace_size(RnnCell c, i64 N, i64 Tn, i64 Hd) { return c == RnnCell::kGru ? N * Tn * 4 * Hd : 0; }

template <typename T>
void rnn_forward(RnnCell cell, i64 N, i64 Tn, i64 I, i64 Hd, const T* x, const T* w_ih, const T* w_hh, const T* b_ih,
                 const T* b_hh, T* H, T* ws) {
  const i64 G = rnn_gates(cell);
  for (i64 n = 0; n < N; ++n)
    for (i64 t = 0; t < Tn; ++t) {
      const T* xt = x + (n * Tn + t) * I;
      const T* hp = t > 0 ? H + (n * Tn + t - 1) * Hd : nullptr;
      T* ht = H + (n * Tn + t) * Hd;
      // gi = W_ih x + b_ih, gh = W_hh h + b_hh, per gate row.
      auto gi = [&](i64 row) {
        T acc = b_ih[row];
        for (i64 i = 0; i < I; ++i) acc += w_ih[row * I + i] * xt[i];
        return acc;
      };
      auto gh = [&](i64 row) {
        T acc = b_hh[row];
        if (hp)
          for (i64 j = 0; j < Hd; ++j) acc += w_hh[row * Hd + j] * hp[j];
        return acc;
      };
      if (G == 1) {
        for (i64 k = 0; k < Hd; ++k) ht[k] = act_forward(Act::kRelu, T(0), gi(k) + gh(k));
        continue;
      }
      T* w = ws + (n * Tn + t) * 4 * Hd;
      for (i64 k = 0; k < Hd; ++k) {
        const T r = act_forward(Act::kSigmoid, T(0), gi(k) + gh(k));
        const T z = act_forward(Act::kSigmoid, T(0), gi(Hd + k) + gh(Hd + k));
        const T hn = gh(2 * Hd + k);
        const T nn = std::tanh(gi(2 * Hd + k) + r * hn);
        w[k] = r, w[Hd + k] = z, w[2 * Hd + k] = nn, w[3 * Hd + k] = hn;
      }
      for (i64 k = 0; k < Hd; ++k) {
        const T z = w[Hd + k], nn = w[2 * Hd + k];
        ht[k] = (T(1) - z) * nn + z * (hp ? hp[k] : T(0));
      }
    }
}

// Backpropagation through time from dH [N,T,Hd]: dx overwritten, dw_ih, dw_hh, db_ih, db_hh
// accumulated.
template <typename T>
void rnn_backward(RnnCell cell, i64 N, i64 Tn, i64 I, i64 Hd, const T* x, const T* w_ih, const T* w_hh, const T* H,
                  const T* ws, const T* dH, T* dx, T* dw_ih, T* dw_hh, T* db_ih, T* db_hh) {
  const i64 G = rnn_gates(cell);
  std::fill(dx, dx + N * Tn * I, T(0));
  for (i64 n = 0; n < N; ++n) {
    std::vector<T> carry_v(static_cast<std::size_t>(Hd)), gi_v(static_cast<std::size_t>(G * Hd)),
        gh_v(static_cast<std::size_t>(G * Hd));
    T* carry = carry_v.data();  // dL/dh_t from later steps
    T* gi = gi_v.data();        // dL/d(W_ih x + b_ih)
    T* gh = gh_v.data();        // dL/d(W_hh h + b_hh)
    for (i64 t = Tn - 1; t >= 0; --t) {
      const T* xt = x + (n * Tn + t) * I;
      const T* hp = t > 0 ? H + (n * Tn + t - 1) * Hd : nullptr;
      const T* ht = H + (n * Tn + t) * Hd;
      T* dh_prev = carry;  // reused: read g first, then overwritten below
      for (i64 k = 0; k < Hd; ++k) {
        const T g = dH[(n * Tn + t) * Hd + k] + carry[k];
        if (G == 1) {
          gi[k] = gh[k] = g * act_derivative(Act::kRelu, T(0), ht[k]);
          dh_prev[k] = 0;
          continue;
        }
        const T* w = ws + (n * Tn + t) * 4 * Hd;
        const T r = w[k], z = w[Hd + k], nn = w[2 * Hd + k], hn = w[3 * Hd + k];
        const T hprev = hp ? hp[k] : T(0);
        const T dn = g * (T(1) - z) * (T(1) - nn * nn);
        const T dz = g * (hprev - nn) * z * (T(1) - z);
        const T dr = dn * hn * r * (T(1) - r);
        gi[k] = dr, gi[Hd + k] = dz, gi[2 * Hd + k] = dn;
        gh[k] = dr, gh[Hd + k] = dz, gh[2 * Hd + k] = dn * r;
        dh_prev[k] = g * z;
      }
      for (i64 row = 0; row < G * Hd; ++row) {
        db_ih[row] += gi[row];
        db_hh[row] += gh[row];
        for (i64 i = 0; i < I; ++i) {
          dw_ih[row * I + i] += gi[row] * xt[i];
          dx[(n * Tn + t) * I + i] += gi[row] * w_ih[row * I + i];
        }
        if (hp)
          for (i64 j = 0; j < Hd; ++j) {
            dw_hh[row * Hd + j] += gh[row] * hp[j];
            dh_prev[j] += gh[row] * w_hh[row * Hd + j];
          }
      }
    }
  }
}

// ---- Row normalisation: y_n = scale * x_n / |x_n| over each row of x [N,D] ------------------
// A row of zeros stays zero (its gradient is zero too). Backward: with u = x/|x|,
// dx = scale / |x| * (dy - u <u, dy>).
template <typename T>
void normalize_rows_forward(i64 N, i64 D, T scale, const T* x, T* y) {
  for (i64 n = 0; n < N; ++n) {
    T sq = 0;
    for (i64 d = 0; d < D; ++d) sq += x[n * D + d] * x[n * D + d];
    const T r = sq > T(0) ? scale / std::sqrt(sq) : T(0);
    for (i64 d = 0; d < D; ++d) y[n * D + d] = x[n * D + d] * r;
  }
}

template <typename T>
void normalize_rows_backward(i64 N, i64 D, T scale, const T* x, const T* dy, T* dx) {
  for (i64 n = 0; n < N; ++n) {
    T sq = 0;
    for (i64 d = 0; d < D; ++d) sq += x[n * D + d] * x[n * D + d];
    if (!(sq > T(0))) {
      for (i64 d = 0; d < D; ++d) dx[n * D + d] = T(0);
      continue;
    }
    const T norm = std::sqrt(sq);
    T udy = 0;
    for (i64 d = 0; d < D; ++d) udy += x[n * D + d] / norm * dy[n * D + d];
    for (i64 d = 0; d < D; ++d) dx[n * D + d] = scale / norm * (dy[n * D + d] - x[n * D + d] / norm * udy);
  }
}

// ---- The DS-SJE loss (Reed et al. 2016), symmetric hinge over a batch of B distinct classes --
// v [B,D] image features, t [B,D] text features, s_ij = <v_i, t_j>:
//   L = 1/B^2 sum_i sum_{j != i} [max(0, 1 + s_ij - s_ii) + max(0, 1 + s_ji - s_ii)].
// dv and dt (overwritten; either may be null) receive the gradient.
template <typename T>
T dssje_loss(i64 B, i64 D, const T* v, const T* t, T* dv, T* dt) {
  auto s = [&](i64 i, i64 j) {
    T acc = 0;
    for (i64 d = 0; d < D; ++d) acc += v[i * D + d] * t[j * D + d];
    return acc;
  };
  const T scale = T(1) / T(B * B);
  T loss = 0;
  if (dv) std::fill(dv, dv + B * D, T(0));
  if (dt) std::fill(dt, dt + B * D, T(0));
  // dL/ds_ab += c, applied to dv_a += c t_b and dt_b += c v_a.
  auto push = [&](i64 a, i64 b, T c) {
    for (i64 d = 0; d < D; ++d) {
      if (dv) dv[a * D + d] += c * t[b * D + d];
      if (dt) dt[b * D + d] += c * v[a * D + d];
    }
  };
  for (i64 i = 0; i < B; ++i) {
    const T sii = s(i, i);
    for (i64 j = 0; j < B; ++j) {
      if (j == i) continue;
      const T m1 = T(1) + s(i, j) - sii, m2 = T(1) + s(j, i) - sii;
      if (!(m1 <= 0)) {  // a NaN margin counts, so a diverged net gives a NaN loss (as relu)
        loss += m1;
        push(i, j, scale);
        push(i, i, -scale);
      }
      if (!(m2 <= 0)) {
        loss += m2;
        push(j, i, scale);
        push(i, i, -scale);
      }
    }
  }
  return loss * scale;
}

// ---- Optimisers, with PyTorch's update rules -------------------------------------------
struct AdamHyper {
  double lr = 2e-4, beta1 = 0.5, beta2 = 0.999, eps = 1e-8;
};

// step counts from 1.
template <typename T>
void adam_step(const AdamHyper& h, i64 step, i64 n, T* p, const T* g, T* m, T* v) {
  // 1 - beta is formed in double and then rounded, as PyTorch passes it to its float kernels.
  const T b1 = T(h.beta1), b2 = T(h.beta2), omb1 = T(1.0 - h.beta1), omb2 = T(1.0 - h.beta2);
  const T bc1 = T(1) - T(std::pow(h.beta1, double(step)));
  const T bc2_sqrt = T(std::sqrt(1.0 - std::pow(h.beta2, double(step))));
  const T step_size = T(h.lr) / bc1;
  for (i64 i = 0; i < n; ++i) {
    m[i] = b1 * m[i] + omb1 * g[i];
    v[i] = b2 * v[i] + omb2 * g[i] * g[i];
    const T denom = std::sqrt(v[i]) / bc2_sqrt + T(h.eps);
    p[i] -= step_size * m[i] / denom;
  }
}

// The running average of a parameter block (the generator average of train-gan --g-ema):
// avg = decay * avg + (1 - decay) * x, with 1 - decay formed in double and rounded, as Adam's betas.
template <typename T>
void ema_step(double decay, i64 n, T* avg, const T* x) {
  const T d = T(decay), omd = T(1.0 - decay);
  for (i64 i = 0; i < n; ++i) avg[i] = d * avg[i] + omd * x[i];
}

struct RmspropHyper {
  double lr = 7e-4, alpha = 0.99, eps = 1e-8;
};

template <typename T>
void rmsprop_step(const RmspropHyper& h, i64 n, T* p, const T* g, T* v) {
  const T a = T(h.alpha), oma = T(1.0 - h.alpha);
  for (i64 i = 0; i < n; ++i) {
    v[i] = a * v[i] + oma * g[i] * g[i];
    p[i] -= T(h.lr) * g[i] / (std::sqrt(v[i]) + T(h.eps));
  }
}

}  // namespace t2i::nn::ref
