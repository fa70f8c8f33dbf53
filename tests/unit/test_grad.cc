// Finite-difference gradient checks of every op of the reference oracle (nn/ref_kernels.h), run in
// double precision.
//
// Method (as Caffe's GradientChecker): random inputs, a random projection r of the output and the
// objective L = sum(r * y). The analytic gradient comes from the backward kernels with dy = r; the
// numerical one from central differences with h = 1e-6 on every input element,
//   dL/dx_i ~ sum_j r_j (y_j(x_i + h) - y_j(x_i - h)) / ((x_i + h) - (x_i - h)),
// differencing each output before the projection (so outputs that x_i does not touch cancel
// exactly) and dividing by the step as actually represented. An element passes when
//   |a - n| / max(kFloor, |a| + |n|) < 1e-6.
// kFloor is 1e-3, not 1e-8: the central difference itself carries rounding noise of about
// eps * |y| / h ~ 1e-10 per output it touches, so a gradient that happens to be ~1e-4 cannot be
// checked to 1e-6 relative; below |a| + |n| = 1e-3 the test demands |a - n| < 1e-9 instead (Caffe
// uses the much looser floor max(|a|, |n|, 1)). Kinks are skipped as Caffe does: (leaky) ReLU
// inputs within 10 h of 0, and the inputs are drawn away from 0 anyway.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "nn/ref_kernels.h"

namespace t2i::nn::ref {
namespace {

using Vec = std::vector<double>;
constexpr double kH = 1e-6;
constexpr double kTol = 1e-6;
constexpr double kFloor = 1e-3;

std::size_t sz(i64 n) { return static_cast<std::size_t>(n); }

Vec uniform(std::mt19937& rng, i64 n, double lo = -1.0, double hi = 1.0) {
  std::uniform_real_distribution<double> d(lo, hi);
  Vec v(sz(n));
  for (double& x : v) x = d(rng);
  return v;
}

// Magnitudes in [lo, hi] with random signs: inputs kept away from the kinks at 0.
Vec away_from_zero(std::mt19937& rng, i64 n, double lo = 0.1, double hi = 1.5) {
  Vec v = uniform(rng, n, lo, hi);
  std::bernoulli_distribution sign(0.5);
  for (double& x : v)
    if (sign(rng)) x = -x;
  return v;
}

// The numerical gradient of L = sum(r * f()) with respect to every element of x; f reads x.
Vec numeric_grad(Vec& x, const Vec& r, const std::function<Vec()>& f) {
  Vec g(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double saved = x[i];
    const double xp = saved + kH, xm = saved - kH;
    x[i] = xp;
    const Vec yp = f();
    x[i] = xm;
    const Vec ym = f();
    x[i] = saved;
    double acc = 0;
    for (std::size_t j = 0; j < yp.size(); ++j) acc += r[j] * (yp[j] - ym[j]);
    g[i] = acc / (xp - xm);
  }
  return g;
}

// The numerical gradient of a scalar objective f() with respect to every element of x.
Vec numeric_grad_scalar(Vec& x, const std::function<double()>& f) {
  const Vec one{1.0};
  return numeric_grad(x, one, [&] { return Vec{f()}; });
}

// Compares analytic and numerical gradients element by element; skip(i) excludes kinks.
void expect_grad(const std::string& what, const Vec& analytic, const Vec& numeric,
                 const std::function<bool(std::size_t)>& skip = nullptr) {
  ASSERT_EQ(analytic.size(), numeric.size()) << what;
  int failures = 0;
  std::size_t checked = 0;
  double worst = 0;
  for (std::size_t i = 0; i < analytic.size(); ++i) {
    if (skip && skip(i)) continue;
    ++checked;
    const double a = analytic[i], n = numeric[i];
    ASSERT_TRUE(std::isfinite(a) && std::isfinite(n)) << what << "[" << i << "]: " << a << " vs " << n;
    const double rel = std::abs(a - n) / std::max(kFloor, std::abs(a) + std::abs(n));
    worst = std::max(worst, rel);
    if (rel >= kTol && failures++ < 5)
      ADD_FAILURE() << what << "[" << i << "]: analytic " << a << ", numerical " << n << ", relative error " << rel;
  }
  EXPECT_EQ(failures, 0) << what << ": " << failures << " of " << checked << " elements off (worst " << worst << ")";
  EXPECT_GT(checked, 0u) << what << ": no element checked";
}

double dot(const Vec& a, const Vec& b) {
  double s = 0;
  for (std::size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

// ---- Convolutions ------------------------------------------------------------------------
struct ConvGeom {
  const char* name;
  bool transposed;
  i64 N, C, H, W, OC, KH, KW, SH, SW, PH, PW;
  bool bias;
};

void PrintTo(const ConvGeom& g, std::ostream* os) { *os << g.name; }

ConvDims dims_of(const ConvGeom& g) {
  const i64 oh = g.transposed ? (g.H - 1) * g.SH - 2 * g.PH + g.KH : (g.H + 2 * g.PH - g.KH) / g.SH + 1;
  const i64 ow = g.transposed ? (g.W - 1) * g.SW - 2 * g.PW + g.KW : (g.W + 2 * g.PW - g.KW) / g.SW + 1;
  return {g.N, g.C, g.H, g.W, g.OC, oh, ow, g.KH, g.KW, g.SH, g.SW, g.PH, g.PW};
}

class ConvGrad : public ::testing::TestWithParam<ConvGeom> {};

TEST_P(ConvGrad, DataWeightsAndBias) {
  const ConvGeom& g = GetParam();
  const ConvDims d = dims_of(g);
  ASSERT_GT(d.OH, 0);
  ASSERT_GT(d.OW, 0);
  std::mt19937 rng(1234);
  Vec x = uniform(rng, d.N * d.C * d.H * d.W);
  Vec w = uniform(rng, d.OC * d.C * d.KH * d.KW);  // [OC,C,KH,KW], or [C,OC,KH,KW] transposed
  Vec b = g.bias ? uniform(rng, d.OC) : Vec{};
  const Vec r = uniform(rng, d.N * d.OC * d.OH * d.OW);

  auto fwd = [&] {
    Vec y(r.size());
    if (g.transposed) conv_transpose2d_forward(d, x.data(), w.data(), g.bias ? b.data() : nullptr, y.data());
    else conv2d_forward(d, x.data(), w.data(), g.bias ? b.data() : nullptr, y.data());
    return y;
  };
  // Backward data overwrites dx (start it dirty to show that); backward weights accumulates, so
  // dw and db start from zero.
  Vec dx(x.size(), 123.0), dw(w.size(), 0.0), db(b.size(), 0.0);
  if (g.transposed) {
    conv_transpose2d_backward_data(d, r.data(), w.data(), dx.data());
    conv_transpose2d_backward_weights(d, x.data(), r.data(), dw.data(), g.bias ? db.data() : nullptr);
  } else {
    conv2d_backward_data(d, r.data(), w.data(), dx.data());
    conv2d_backward_weights(d, x.data(), r.data(), dw.data(), g.bias ? db.data() : nullptr);
  }
  expect_grad("dx", dx, numeric_grad(x, r, fwd));
  expect_grad("dw", dw, numeric_grad(w, r, fwd));
  if (g.bias) expect_grad("db", db, numeric_grad(b, r, fwd));
}

std::string conv_name(const ::testing::TestParamInfo<ConvGeom>& p) { return p.param.name; }

// name, transposed, N, C, H, W, OC, KH, KW, SH, SW, PH, PW, bias
INSTANTIATE_TEST_SUITE_P(
    Geometries, ConvGrad,
    ::testing::Values(
        ConvGeom{"k1_s1_p0", false, 2, 3, 5, 5, 4, 1, 1, 1, 1, 0, 0, true},
        ConvGeom{"k1_s2_p0_batch1", false, 1, 3, 5, 5, 2, 1, 1, 2, 2, 0, 0, true},
        ConvGeom{"k3_s1_p1", false, 2, 3, 5, 5, 4, 3, 3, 1, 1, 1, 1, true},
        ConvGeom{"k3_s1_p0_nobias", false, 2, 2, 5, 6, 3, 3, 3, 1, 1, 0, 0, false},
        ConvGeom{"k3_s2_p1_odd", false, 2, 3, 7, 5, 2, 3, 3, 2, 2, 1, 1, true},
        ConvGeom{"k4_s2_p1", false, 2, 3, 6, 6, 4, 4, 4, 2, 2, 1, 1, true},
        // (5 + 2 - 4) / 2 + 1 = 2 rows: the last input row and column meet no tap of the kernel.
        ConvGeom{"k4_s2_p1_odd_uncovered", false, 2, 3, 5, 7, 3, 4, 4, 2, 2, 1, 1, true},
        ConvGeom{"k4_s2_p1_batch1_nobias", false, 1, 3, 8, 8, 4, 4, 4, 2, 2, 1, 1, false},
        ConvGeom{"k4_s1_p0_to_1x1", false, 2, 4, 4, 4, 1, 4, 4, 1, 1, 0, 0, true},
        ConvGeom{"k3x2_s2x1_p1x0", false, 2, 3, 5, 6, 4, 3, 2, 2, 1, 1, 0, true},
        ConvGeom{"k2x4_s1x2_p0x2_batch1", false, 1, 2, 4, 7, 3, 2, 4, 1, 2, 0, 2, true},
        ConvGeom{"t_k1_s1_p0", true, 2, 3, 4, 4, 2, 1, 1, 1, 1, 0, 0, true},
        ConvGeom{"t_k3_s1_p1", true, 2, 3, 5, 5, 2, 3, 3, 1, 1, 1, 1, true},
        ConvGeom{"t_k3_s2_p0_odd", true, 2, 2, 3, 4, 3, 3, 3, 2, 2, 0, 0, true},
        ConvGeom{"t_k3_s2_p1", true, 2, 2, 3, 3, 2, 3, 3, 2, 2, 1, 1, false},
        ConvGeom{"t_k4_s1_p0_from_1x1", true, 2, 5, 1, 1, 3, 4, 4, 1, 1, 0, 0, true},
        ConvGeom{"t_k4_s2_p1", true, 2, 3, 3, 3, 4, 4, 4, 2, 2, 1, 1, true},
        ConvGeom{"t_k4_s2_p1_odd_batch1_nobias", true, 1, 3, 3, 5, 2, 4, 4, 2, 2, 1, 1, false},
        ConvGeom{"t_k3x2_s2x1_p1x0", true, 2, 3, 3, 4, 2, 3, 2, 2, 1, 1, 0, true},
        ConvGeom{"t_k2x4_s1x2_p0x1_batch1", true, 1, 2, 4, 3, 3, 2, 4, 1, 2, 0, 1, true}),
    conv_name);

// ---- Linear ------------------------------------------------------------------------------
struct LinearCase {
  const char* name;
  i64 N, I, O;
  bool bias;
};

void PrintTo(const LinearCase& c, std::ostream* os) { *os << c.name; }

class LinearGrad : public ::testing::TestWithParam<LinearCase> {};

TEST_P(LinearGrad, DataWeightsAndBias) {
  const LinearCase& c = GetParam();
  std::mt19937 rng(99);
  Vec x = uniform(rng, c.N * c.I), w = uniform(rng, c.O * c.I), b = c.bias ? uniform(rng, c.O) : Vec{};
  const Vec r = uniform(rng, c.N * c.O);
  auto fwd = [&] {
    Vec y(r.size());
    linear_forward(c.N, c.I, c.O, x.data(), w.data(), c.bias ? b.data() : nullptr, y.data());
    return y;
  };
  Vec dx(x.size(), -7.0), dw(w.size(), 0.0), db(b.size(), 0.0);
  linear_backward_data(c.N, c.I, c.O, r.data(), w.data(), dx.data());
  linear_backward_weights(c.N, c.I, c.O, x.data(), r.data(), dw.data(), c.bias ? db.data() : nullptr);
  expect_grad("dx", dx, numeric_grad(x, r, fwd));
  expect_grad("dw", dw, numeric_grad(w, r, fwd));
  if (c.bias) expect_grad("db", db, numeric_grad(b, r, fwd));
}

INSTANTIATE_TEST_SUITE_P(Shapes, LinearGrad,
                         ::testing::Values(LinearCase{"n2_i7_o5", 2, 7, 5, true}, LinearCase{"n1_i4_o3_nobias", 1, 4, 3, false},
                                           LinearCase{"n3_i1_o6", 3, 1, 6, true}),
                         [](const ::testing::TestParamInfo<LinearCase>& p) { return std::string(p.param.name); });

// ---- Batch normalisation -----------------------------------------------------------------
struct BnCase {
  const char* name;
  i64 N, C, S;
};

void PrintTo(const BnCase& c, std::ostream* os) { *os << c.name; }

class BatchNormGrad : public ::testing::TestWithParam<BnCase> {};

TEST_P(BatchNormGrad, TrainForwardThenBackward) {
  const BnCase& c = GetParam();
  const double eps = 1e-5;
  std::mt19937 rng(7);
  Vec x = uniform(rng, c.N * c.C * c.S, -2.0, 3.0);
  Vec gamma = uniform(rng, c.C, 0.5, 1.5), beta = uniform(rng, c.C);
  const Vec r = uniform(rng, c.N * c.C * c.S);
  Vec mean(sz(c.C)), var(sz(c.C));
  auto fwd = [&] {
    Vec y(x.size()), m(sz(c.C)), v(sz(c.C));
    batchnorm_forward_train<double>(c.N, c.C, c.S, x.data(), gamma.data(), beta.data(), eps, 0.1, y.data(), m.data(),
                                    v.data(), nullptr, nullptr);
    return y;
  };
  // The forward saves the batch mean and biased variance; the backward consumes them.
  Vec y(x.size());
  batchnorm_forward_train<double>(c.N, c.C, c.S, x.data(), gamma.data(), beta.data(), eps, 0.1, y.data(), mean.data(),
                                  var.data(), nullptr, nullptr);
  Vec dx(x.size(), 5.0), dgamma(sz(c.C), 0.0), dbeta(sz(c.C), 0.0);
  batchnorm_backward(c.N, c.C, c.S, x.data(), r.data(), gamma.data(), mean.data(), var.data(), eps, dx.data(),
                     dgamma.data(), dbeta.data());
  expect_grad("dx", dx, numeric_grad(x, r, fwd));
  expect_grad("dgamma", dgamma, numeric_grad(gamma, r, fwd));
  expect_grad("dbeta", dbeta, numeric_grad(beta, r, fwd));
}

INSTANTIATE_TEST_SUITE_P(Shapes, BatchNormGrad,
                         ::testing::Values(BnCase{"bn2d_n2_c3_5x5", 2, 3, 25}, BnCase{"bn2d_n1_c3_4x4", 1, 3, 16},
                                           BnCase{"bn2d_n3_c2_3x1", 3, 2, 3}, BnCase{"bn1d_n6_c4", 6, 4, 1},
                                           BnCase{"bn1d_n3_c5", 3, 5, 1}),
                         [](const ::testing::TestParamInfo<BnCase>& p) { return std::string(p.param.name); });

// The saved and running statistics of the training forward: biased variance saved, unbiased
// variance into the running average, as PyTorch.
TEST(BatchNormStats, SavedAndRunningStatistics) {
  const i64 N = 2, C = 2, S = 3, M = N * S;
  const Vec x{1, 2, 3, 10, 20, 30, 4, 5, 6, 40, 50, 60};  // [2,2,3]
  const Vec gamma{1, 1}, beta{0, 0};
  Vec y(x.size()), mean(2), var(2), rm{1.0, -1.0}, rv{2.0, 3.0};
  batchnorm_forward_train<double>(N, C, S, x.data(), gamma.data(), beta.data(), 1e-5, 0.1, y.data(), mean.data(),
                                  var.data(), rm.data(), rv.data());
  const double m0 = 21.0 / 6, m1 = 210.0 / 6;
  double v0 = 0, v1 = 0;
  for (double v : {1, 2, 3, 4, 5, 6}) v0 += (v - m0) * (v - m0);
  for (double v : {10, 20, 30, 40, 50, 60}) v1 += (v - m1) * (v - m1);
  EXPECT_NEAR(mean[0], m0, 1e-12);
  EXPECT_NEAR(mean[1], m1, 1e-12);
  EXPECT_NEAR(var[0], v0 / M, 1e-12);
  EXPECT_NEAR(var[1], v1 / M, 1e-10);
  EXPECT_NEAR(rm[0], 0.9 * 1.0 + 0.1 * m0, 1e-12);
  EXPECT_NEAR(rm[1], 0.9 * -1.0 + 0.1 * m1, 1e-12);
  EXPECT_NEAR(rv[0], 0.9 * 2.0 + 0.1 * v0 / (M - 1), 1e-12);
  EXPECT_NEAR(rv[1], 0.9 * 3.0 + 0.1 * v1 / (M - 1), 1e-10);
  // Inference with those running statistics is the affine map they define.
  Vec yi(x.size());
  batchnorm_forward_infer<double>(N, C, S, x.data(), gamma.data(), beta.data(), 1e-5, rm.data(), rv.data(), yi.data());
  EXPECT_NEAR(yi[0], (1.0 - rm[0]) / std::sqrt(rv[0] + 1e-5), 1e-12);
  EXPECT_NEAR(yi[11], (60.0 - rm[1]) / std::sqrt(rv[1] + 1e-5), 1e-12);
}

// ---- Activations -------------------------------------------------------------------------
struct ActCase {
  const char* name;
  Act act;
  double alpha;
};

void PrintTo(const ActCase& c, std::ostream* os) { *os << c.name; }

class ActGrad : public ::testing::TestWithParam<ActCase> {};

TEST_P(ActGrad, BackwardFromOutput) {
  const ActCase& c = GetParam();
  const bool kinked = c.act == Act::kRelu || c.act == Act::kLeakyRelu;
  std::mt19937 rng(5);
  const i64 n = 2 * 3 * 5 * 5;
  Vec x = kinked ? away_from_zero(rng, n, 0.05, 2.0) : uniform(rng, n, -3.0, 3.0);
  const Vec r = uniform(rng, n);
  auto fwd = [&] {
    Vec y(x.size());
    act_forward(c.act, c.alpha, n, x.data(), y.data());
    return y;
  };
  const Vec y = fwd();
  Vec dx(x.size(), 9.0);
  act_backward(c.act, c.alpha, n, y.data(), r.data(), dx.data());
  const Vec x0 = x;
  expect_grad("dx", dx, numeric_grad(x, r, fwd), [&](std::size_t i) { return kinked && std::abs(x0[i]) < 10 * kH; });
}

INSTANTIATE_TEST_SUITE_P(All, ActGrad,
                         ::testing::Values(ActCase{"relu", Act::kRelu, 0.0}, ActCase{"leaky_relu_0_2", Act::kLeakyRelu, 0.2},
                                           ActCase{"tanh", Act::kTanh, 0.0}, ActCase{"sigmoid", Act::kSigmoid, 0.0}),
                         [](const ::testing::TestParamInfo<ActCase>& p) { return std::string(p.param.name); });

// The forward values themselves, at points where they are known exactly or nearly so.
TEST(ActValues, ForwardAtKnownPoints) {
  EXPECT_EQ(act_forward(Act::kRelu, 0.0, -2.0), 0.0);
  EXPECT_EQ(act_forward(Act::kRelu, 0.0, 3.0), 3.0);
  EXPECT_EQ(act_forward(Act::kLeakyRelu, 0.2, -2.0), -0.4);
  EXPECT_EQ(act_forward(Act::kLeakyRelu, 0.2, 3.0), 3.0);
  EXPECT_NEAR(act_forward(Act::kTanh, 0.0, 0.5), std::tanh(0.5), 1e-15);
  EXPECT_EQ(act_forward(Act::kSigmoid, 0.0, 0.0), 0.5);
  // The sigmoid is evaluated without overflow on either side.
  EXPECT_NEAR(act_forward(Act::kSigmoid, 0.0, -800.0), 0.0, 1e-300);
  EXPECT_EQ(act_forward(Act::kSigmoid, 0.0, 800.0), 1.0);
  EXPECT_NEAR(act_forward(Act::kSigmoid, 0.0, -30.0), std::exp(-30.0) / (1 + std::exp(-30.0)), 1e-25);
}

// ---- Shape plumbing ----------------------------------------------------------------------
TEST(PlumbingGrad, Replicate) {
  const i64 N = 2, C = 3, HW = 4 * 5;
  std::mt19937 rng(11);
  Vec x = uniform(rng, N * C);
  const Vec r = uniform(rng, N * C * HW);
  auto fwd = [&] {
    Vec y(r.size());
    replicate_forward(N, C, HW, x.data(), y.data());
    return y;
  };
  Vec dx(x.size(), 3.0);
  replicate_backward(N, C, HW, r.data(), dx.data());
  expect_grad("dx", dx, numeric_grad(x, r, fwd));
}

TEST(PlumbingGrad, Concat) {
  const i64 N = 2, CA = 3, CB = 2, S = 5 * 5;
  std::mt19937 rng(12);
  Vec a = uniform(rng, N * CA * S), b = uniform(rng, N * CB * S);
  const Vec r = uniform(rng, N * (CA + CB) * S);
  auto fwd = [&] {
    Vec y(r.size());
    concat_forward(N, CA, CB, S, a.data(), b.data(), y.data());
    return y;
  };
  Vec da(a.size(), 1.0), db(b.size(), 1.0);
  concat_backward(N, CA, CB, S, r.data(), da.data(), db.data());
  expect_grad("da", da, numeric_grad(a, r, fwd));
  expect_grad("db", db, numeric_grad(b, r, fwd));
}

TEST(PlumbingGrad, Add) {
  // add has no backward kernel: the gradient of each operand is dy itself.
  const i64 n = 2 * 3 * 5 * 5;
  std::mt19937 rng(13);
  Vec a = uniform(rng, n), b = uniform(rng, n);
  const Vec r = uniform(rng, n);
  auto fwd = [&] {
    Vec y(r.size());
    add_forward(n, a.data(), b.data(), y.data());
    return y;
  };
  expect_grad("da", r, numeric_grad(a, r, fwd));
  expect_grad("db", r, numeric_grad(b, r, fwd));
}

// ---- Losses ------------------------------------------------------------------------------
TEST(LossGrad, BceWithLogits) {
  const i64 N = 7;
  std::mt19937 rng(21);
  Vec z = uniform(rng, N, -4.0, 4.0);
  const Vec soft = uniform(rng, N, 0.0, 1.0);
  const Vec hard{1, 0, 0, 1, 1, 0, 1};
  Vec w = uniform(rng, N, 0.2, 2.0);
  for (const Vec* t : {&soft, &hard})
    for (bool weighted : {false, true}) {
      SCOPED_TRACE(std::string(t == &soft ? "soft" : "hard") + (weighted ? " weighted" : " unweighted"));
      const double* wp = weighted ? w.data() : nullptr;
      Vec dz(z.size(), 4.0);
      const double loss = bce_with_logits(N, z.data(), t->data(), wp, dz.data());
      // The loss by the textbook formula (fine at these moderate logits) and its gradient.
      double want = 0;
      for (std::size_t i = 0; i < z.size(); ++i) {
        const double s = 1 / (1 + std::exp(-z[i]));
        want -= (weighted ? w[i] : 1.0) * ((*t)[i] * std::log(s) + (1 - (*t)[i]) * std::log(1 - s));
      }
      EXPECT_NEAR(loss, want / N, 1e-12);
      // Without dz the loss is the same.
      EXPECT_EQ(bce_with_logits(N, z.data(), t->data(), wp, static_cast<double*>(nullptr)), loss);
      expect_grad("dz", dz, numeric_grad_scalar(z, [&] {
                    return bce_with_logits(N, z.data(), t->data(), wp, static_cast<double*>(nullptr));
                  }));
      // With respect to the weights the loss is linear: dL/dw_i is sample i's loss over N.
      if (weighted) {
        Vec dw(w.size());
        for (std::size_t i = 0; i < w.size(); ++i) {
          const double one = 1.0;
          dw[i] = bce_with_logits<double>(1, &z[i], &(*t)[i], &one, nullptr) / N;
        }
        expect_grad("dw", dw, numeric_grad_scalar(w, [&] {
                      return bce_with_logits(N, z.data(), t->data(), w.data(), static_cast<double*>(nullptr));
                    }));
      }
    }
}

// At large |z| the naive -[t log s + (1 - t) log(1 - s)] gives log(0) = -inf; the kernel must
// give the exact values: loss(z, t) = (1 - t) z + log1p(exp(-z)) for z > 0 and
// -t z + log1p(exp(z)) for z < 0.
template <typename T>
void check_bce_extremes(double tol) {
  const T zs[] = {T(50), T(-50), T(50), T(-50), T(1000), T(-1000), T(80), T(-80)};
  const T ts[] = {T(0), T(1), T(1), T(0), T(0), T(1), T(0.25), T(0.75)};
  const T ws[] = {T(1), T(2), T(1), T(0.5), T(1), T(1), T(3), T(1)};
  const i64 N = 8;
  for (bool weighted : {false, true}) {
    T dz[8];
    const T loss = bce_with_logits<T>(N, zs, ts, weighted ? ws : nullptr, dz);
    ASSERT_TRUE(std::isfinite(double(loss)));
    long double want = 0;
    for (int i = 0; i < N; ++i) {
      const long double z = zs[i], t = ts[i], w = weighted ? ws[i] : 1;
      const long double li = z > 0 ? (1 - t) * z + std::log1p(std::exp(-z)) : -t * z + std::log1p(std::exp(z));
      want += w * li;
      // dz = w (sigmoid(z) - t) / N: finite, and at these logits sigmoid(z) is 0 or 1 to rounding.
      ASSERT_TRUE(std::isfinite(double(dz[i]))) << i;
      const long double s = z > 0 ? 1 / (1 + std::exp(-z)) : std::exp(z) / (1 + std::exp(z));
      EXPECT_NEAR(double(dz[i]), double(w * (s - t) / N), tol) << i;
    }
    EXPECT_NEAR(double(loss), double(want / N), tol * double(want / N)) << (weighted ? "weighted" : "unweighted");
  }
  // The matching-label samples alone: a loss of about exp(-50) = 1.93e-22, not 0 and not nan.
  const T z1[] = {T(50), T(-50)}, t1[] = {T(1), T(0)};
  const T small = bce_with_logits<T>(2, z1, t1, nullptr, static_cast<T*>(nullptr));
  EXPECT_NEAR(double(small), std::exp(-50.0), 1e-3 * std::exp(-50.0));
}

TEST(LossValues, BceWithLogitsStableAtLargeLogits) {
  check_bce_extremes<double>(1e-14);
  check_bce_extremes<float>(1e-6);
}

TEST(LossGrad, Mse) {
  const i64 n = 2 * 3 * 4 * 4;
  std::mt19937 rng(22);
  Vec a = uniform(rng, n), b = uniform(rng, n);
  Vec da(a.size(), 2.0);
  const double loss = mse(n, a.data(), b.data(), da.data());
  double want = 0;
  for (std::size_t i = 0; i < a.size(); ++i) want += (a[i] - b[i]) * (a[i] - b[i]);
  EXPECT_NEAR(loss, want / n, 1e-15);
  auto f = [&] { return mse(n, a.data(), b.data(), static_cast<double*>(nullptr)); };
  expect_grad("da", da, numeric_grad_scalar(a, f));
  Vec neg(da.size());
  for (std::size_t i = 0; i < da.size(); ++i) neg[i] = -da[i];
  expect_grad("db = -da", neg, numeric_grad_scalar(b, f));
  Vec scaled(a.size());  // grad_scale multiplies the gradient, not the loss
  EXPECT_EQ(mse(n, a.data(), b.data(), scaled.data(), 0.25), loss);
  for (std::size_t i = 0; i < da.size(); ++i) EXPECT_EQ(scaled[i], 0.25 * da[i]) << i;
}

TEST(LossGrad, MeanAbsDiff) {
  const i64 n = 2 * 3 * 4 * 4;
  std::mt19937 rng(23);
  Vec a = uniform(rng, n), b = uniform(rng, n);  // |a - b| well away from 0 at almost every element
  const double scale = -2.5;
  Vec da(a.size(), 7.0);
  const double loss = mean_abs_diff(n, a.data(), b.data(), scale, da.data());
  double want = 0;
  for (std::size_t i = 0; i < a.size(); ++i) want += std::abs(a[i] - b[i]);
  EXPECT_NEAR(loss, want / n, 1e-15);
  auto f = [&] { return scale * mean_abs_diff(n, a.data(), b.data(), 0.0, static_cast<double*>(nullptr)); };
  expect_grad("da", da, numeric_grad_scalar(a, f));
  Vec neg(da.size());
  for (std::size_t i = 0; i < da.size(); ++i) neg[i] = -da[i];
  expect_grad("db = -da", neg, numeric_grad_scalar(b, f));
  // Equal elements: no gradient (the subgradient PyTorch's abs takes at 0).
  Vec same = a, dsame(a.size(), 1.0);
  EXPECT_EQ(mean_abs_diff(n, a.data(), same.data(), 1.0, dsame.data()), 0.0);
  for (double v : dsame) EXPECT_EQ(v, 0.0);
}

// ---- DiffAugment's translation and cutout --------------------------------------------------
TEST(AugmentGrad, ShiftCutoutByHand) {
  // One 1 x 6 x 6 image of values 1..36: shifted down 1 and left 2, a 2 x 2 square cut out at
  // rows 2-3, columns 3-4 (centre (3, 4), side 2).
  const i64 H = 6, W = 6;
  Vec x(36);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = double(i + 1);
  const std::int32_t p[4] = {1, -2, 3, 4};
  Vec y(36, -1.0);
  shift_cutout_forward(1, 1, H, W, p, 2, x.data(), y.data());
  for (i64 i = 0; i < H; ++i)
    for (i64 j = 0; j < W; ++j) {
      const i64 si = i - 1, sj = j + 2;
      double want = si >= 0 && sj < W ? x[sz(si * W + sj)] : 0.0;
      if (i >= 2 && i < 4 && j >= 3 && j < 5) want = 0.0;
      EXPECT_EQ(y[sz(i * W + j)], want) << "(" << i << "," << j << ")";
    }
  // No shift and no square: the identity.
  const std::int32_t id[4] = {0, 0, 0, 0};
  shift_cutout_forward(1, 1, H, W, id, 0, x.data(), y.data());
  EXPECT_EQ(y, x);
}

TEST(AugmentGrad, ShiftCutoutBackwardIsTheAdjoint) {
  // A linear map: the backward must be its transpose, i.e. the numerical gradient of
  // sum(r * forward(x)), for shifts in every direction, squares at the border and none.
  const i64 N = 4, C = 2, H = 7, W = 5;
  const std::vector<std::int32_t> p = {2, -1, 3, 2, -3, 4, 0, 0, 0, 0, 6, 4, -6, -4, 1, 1};
  for (const i64 cut : {i64(0), i64(3), i64(4)}) {
    std::mt19937 rng(31 + static_cast<unsigned>(cut));
    Vec x = uniform(rng, N * C * H * W), r = uniform(rng, N * C * H * W);
    Vec y(x.size()), dx(x.size(), 7.0);
    shift_cutout_backward(N, C, H, W, p.data(), cut, r.data(), dx.data());
    auto f = [&] {
      shift_cutout_forward(N, C, H, W, p.data(), cut, x.data(), y.data());
      return y;
    };
    expect_grad("dx, cut " + std::to_string(cut), dx, numeric_grad(x, r, f));
    // Some inputs fall out of the picture: their gradient is exactly 0.
    EXPECT_GT(std::count(dx.begin(), dx.end(), 0.0), 0) << cut;
  }
}

// ---- Max pooling over time, mean over time -------------------------------------------------
TEST(PoolGrad, MaxPool1d) {
  struct G {
    i64 N, C, T, k, s;
  };
  for (const G g : {G{2, 3, 10, 3, 3}, G{1, 2, 11, 3, 2}, G{2, 2, 7, 2, 3}, G{1, 1, 5, 5, 1}}) {
    SCOPED_TRACE(testing::Message() << "T " << g.T << " k " << g.k << " s " << g.s);
    std::mt19937 rng(31);
    const i64 TO = maxpool1d_out_len(g.T, g.k, g.s);
    // Distinct values at least 0.01 apart, shuffled: no ties within 100 h.
    Vec x(sz(g.N * g.C * g.T));
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = 0.01 * double(i) - 0.3;
    std::shuffle(x.begin(), x.end(), rng);
    const Vec r = uniform(rng, g.N * g.C * TO);
    std::vector<i64> am(r.size());
    auto fwd = [&] {
      Vec y(r.size());
      maxpool1d_forward(g.N, g.C, g.T, g.k, g.s, x.data(), y.data(), static_cast<i64*>(nullptr));
      return y;
    };
    Vec y(r.size());
    maxpool1d_forward(g.N, g.C, g.T, g.k, g.s, x.data(), y.data(), am.data());
    Vec dx(x.size(), 5.0);
    maxpool1d_backward(g.N, g.C, g.T, TO, am.data(), r.data(), dx.data());
    expect_grad("dx", dx, numeric_grad(x, r, fwd));
  }
}

TEST(PoolValues, MaxPool1dFirstMaxOnTies) {
  const double x[] = {1, 3, 3, 2, 2, 2, 0};
  double y[2];
  i64 am[2];
  maxpool1d_forward<double>(1, 1, 7, 3, 3, x, y, am);  // the tail element is dropped (floor)
  EXPECT_EQ(y[0], 3);
  EXPECT_EQ(am[0], 1);
  EXPECT_EQ(y[1], 2);
  EXPECT_EQ(am[1], 3);
  EXPECT_EQ(maxpool1d_out_len(7, 3, 3), 2);
  EXPECT_EQ(maxpool1d_out_len(2, 3, 3), 0);
}

TEST(PlumbingGrad, MeanTime) {
  const i64 N = 2, T = 5, D = 3;
  std::mt19937 rng(32);
  Vec h = uniform(rng, N * T * D);
  const Vec r = uniform(rng, N * D);
  auto fwd = [&] {
    Vec y(r.size());
    mean_time_forward(N, T, D, h.data(), y.data());
    return y;
  };
  Vec dh(h.size(), 2.0);
  mean_time_backward(N, T, D, r.data(), dh.data());
  expect_grad("dh", dh, numeric_grad(h, r, fwd));
}

// ---- Recurrent layers ----------------------------------------------------------------------
class RnnGrad : public ::testing::TestWithParam<RnnCell> {};

TEST_P(RnnGrad, BackpropThroughTime) {
  const RnnCell cell = GetParam();
  const i64 N = 2, T = 5, I = 3, Hd = 4, G = rnn_gates(cell);
  std::mt19937 rng(41);
  Vec x = uniform(rng, N * T * I), wi = uniform(rng, G * Hd * I, -0.8, 0.8), wh = uniform(rng, G * Hd * Hd, -0.8, 0.8),
      bi = uniform(rng, G * Hd, -0.5, 0.5), bh = uniform(rng, G * Hd, -0.5, 0.5);
  const Vec r = uniform(rng, N * T * Hd);
  Vec ws(sz(std::max<i64>(1, rnn_workspace_size(cell, N, T, Hd))));
  auto fwd = [&] {
    Vec h(r.size());
    rnn_forward(cell, N, T, I, Hd, x.data(), wi.data(), wh.data(), bi.data(), bh.data(), h.data(), ws.data());
    return h;
  };
  // Pre-activations of the ReLU cell, to skip the elements whose perturbation crosses a kink:
  // recomputed for every perturbed input would be costly, so the check instead requires that no
  // pre-activation lies within 1e-4 of 0 (far more than any h-perturbation moves it).
  const Vec h = fwd();
  if (cell == RnnCell::kRelu) {
    for (i64 n = 0; n < N; ++n)
      for (i64 t = 0; t < T; ++t)
        for (i64 k = 0; k < Hd; ++k) {
          double a = bi[sz(k)] + bh[sz(k)];
          for (i64 i = 0; i < I; ++i) a += wi[sz(k * I + i)] * x[sz((n * T + t) * I + i)];
          if (t > 0)
            for (i64 j = 0; j < Hd; ++j) a += wh[sz(k * Hd + j)] * h[sz((n * T + t - 1) * Hd + j)];
          ASSERT_GT(std::abs(a), 1e-4) << "pre-activation near the ReLU kink; pick another seed";
        }
    // Both sides of the kink occur.
    int pos = 0;
    for (double v : h) pos += v > 0;
    EXPECT_GT(pos, 0);
    EXPECT_LT(pos, int(h.size()));
  }
  Vec dx(x.size(), 9.0), dwi(wi.size(), 0.0), dwh(wh.size(), 0.0), dbi(bi.size(), 0.0), dbh(bh.size(), 0.0);
  rnn_backward(cell, N, T, I, Hd, x.data(), wi.data(), wh.data(), h.data(), ws.data(), r.data(), dx.data(), dwi.data(),
               dwh.data(), dbi.data(), dbh.data());
  expect_grad("dx", dx, numeric_grad(x, r, fwd));
  expect_grad("dw_ih", dwi, numeric_grad(wi, r, fwd));
  expect_grad("dw_hh", dwh, numeric_grad(wh, r, fwd));
  expect_grad("db_ih", dbi, numeric_grad(bi, r, fwd));
  expect_grad("db_hh", dbh, numeric_grad(bh, r, fwd));
  // Parameter gradients accumulate (the numerical pass left ws at a perturbed point: redo it).
  fwd();
  Vec dwi2 = dwi;
  rnn_backward(cell, N, T, I, Hd, x.data(), wi.data(), wh.data(), h.data(), ws.data(), r.data(), dx.data(), dwi2.data(),
               dwh.data(), dbi.data(), dbh.data());
  for (std::size_t i = 0; i < dwi.size(); ++i) EXPECT_NEAR(dwi2[i], 2 * dwi[i], 1e-12);
}

INSTANTIATE_TEST_SUITE_P(Cells, RnnGrad, ::testing::Values(RnnCell::kGru, RnnCell::kRelu),
                         [](const ::testing::TestParamInfo<RnnCell>& p) {
                           return std::string(p.param == RnnCell::kGru ? "gru" : "relu");
                         });

// ---- Row normalisation -------------------------------------------------------------------
TEST(NormalizeGrad, Rows) {
  const i64 N = 3, D = 5;
  const double scale = 4.0;
  std::mt19937 rng(61);
  Vec x = uniform(rng, N * D), y(x.size()), dx(x.size());
  const Vec r = uniform(rng, N * D);
  for (i64 d = 0; d < D; ++d) x[static_cast<std::size_t>(2 * D + d)] = 0.0;  // a zero row
  auto f = [&] {
    normalize_rows_forward(N, D, scale, x.data(), y.data());
    return y;
  };
  f();
  for (i64 n = 0; n < 2; ++n) {
    double sq = 0;
    for (i64 d = 0; d < D; ++d) sq += y[static_cast<std::size_t>(n * D + d)] * y[static_cast<std::size_t>(n * D + d)];
    EXPECT_NEAR(std::sqrt(sq), scale, 1e-12);
  }
  normalize_rows_backward(N, D, scale, x.data(), r.data(), dx.data());
  Vec want = numeric_grad(x, r, f);
  // The zero row has no derivative (the norm's kink); the kernel defines it as zero.
  for (i64 d = 0; d < D; ++d) {
    EXPECT_EQ(dx[static_cast<std::size_t>(2 * D + d)], 0.0);
    want[static_cast<std::size_t>(2 * D + d)] = 0.0;
  }
  expect_grad("dx", dx, want);
}

// ---- DS-SJE ------------------------------------------------------------------------------
TEST(LossGrad, Dssje) {
  const i64 B = 5, D = 4;
  std::mt19937 rng(51);
  // Matched pairs correlated (t_i near v_i), so some hinges are inactive.
  Vec v = uniform(rng, B * D, -1.2, 1.2), t = uniform(rng, B * D, -0.6, 0.6);
  for (std::size_t i = 0; i < t.size(); ++i) t[i] += v[i];
  auto margins_away_from_kinks = [&] {
    double closest = 1e9;
    int active = 0, total = 0;
    for (i64 i = 0; i < B; ++i)
      for (i64 j = 0; j < B; ++j) {
        if (i == j) continue;
        auto s = [&](i64 a, i64 b) {
          double acc = 0;
          for (i64 d = 0; d < D; ++d) acc += v[sz(a * D + d)] * t[sz(b * D + d)];
          return acc;
        };
        for (double m : {1 + s(i, j) - s(i, i), 1 + s(j, i) - s(i, i)}) {
          closest = std::min(closest, std::abs(m));
          active += m > 0;
          ++total;
        }
      }
    EXPECT_GT(active, 0);
    EXPECT_LT(active, total);  // both sides of the hinge occur
    return closest;
  };
  ASSERT_GT(margins_away_from_kinks(), 1e-3);
  Vec dv(v.size(), 3.0), dt(t.size(), 3.0);
  const double loss = dssje_loss(B, D, v.data(), t.data(), dv.data(), dt.data());
  double* none = nullptr;
  EXPECT_EQ(dssje_loss(B, D, v.data(), t.data(), none, none), loss);
  auto f = [&] { return dssje_loss(B, D, v.data(), t.data(), none, none); };
  expect_grad("dv", dv, numeric_grad_scalar(v, f));
  expect_grad("dt", dt, numeric_grad_scalar(t, f));
}

TEST(LossValues, DssjeNaNScoresGiveNaN) {
  // A diverged net must not look converged: NaN margins count, as PyTorch's relu passes NaN.
  const double v[] = {1, std::nan("")}, t[] = {2, -1};
  EXPECT_TRUE(std::isnan(dssje_loss<double>(2, 1, v, t, static_cast<double*>(nullptr), static_cast<double*>(nullptr))));
}

TEST(LossValues, DssjeByHand) {
  // B = 2, D = 1: s = v t^T = [[1*2, 1*-1], [3*2, 3*-1]] = [[2, -1], [6, -3]].
  const double v[] = {1, 3}, t[] = {2, -1};
  // i=0: 1 + s01 - s00 = -2 -> 0; 1 + s10 - s00 = 5. i=1: 1 + s10 - s11 = 10; 1 + s01 - s11 = 3.
  double dv[2], dt[2];
  EXPECT_DOUBLE_EQ(dssje_loss<double>(2, 1, v, t, dv, dt), 18.0 / 4);
  // dL/ds: s10: +1 (i=0 second) +1 (i=1 first); s00: -1; s11: -2; s01: +1; all over 4.
  // dv0 = (ds00 t0 + ds01 t1) = (-2 - 1) / 4; dv1 = (ds10 t0 + ds11 t1) = (4 + 2) / 4.
  EXPECT_DOUBLE_EQ(dv[0], -0.75);
  EXPECT_DOUBLE_EQ(dv[1], 1.5);
  // dt0 = ds00 v0 + ds10 v1 = (-1 + 6) / 4; dt1 = ds01 v0 + ds11 v1 = (1 - 6) / 4.
  EXPECT_DOUBLE_EQ(dt[0], 1.25);
  EXPECT_DOUBLE_EQ(dt[1], -1.25);
}

// The objective itself: sum(r * y) of a known linear map, as a check of the checker.
TEST(Checker, CatchesAWrongGradient) {
  Vec x{0.3, -0.7, 1.1};
  const Vec r{1.0, 2.0, -1.0};
  auto f = [&] { return Vec{2 * x[0], x[1] * x[1], x[0] * x[2]}; };
  const Vec right{2 * r[0] + r[2] * x[2], 2 * x[1] * r[1], r[2] * x[0]};
  expect_grad("right", right, numeric_grad(x, r, f));
  const Vec n = numeric_grad(x, r, f);
  Vec wrong = right;
  wrong[1] *= 1.00001;
  EXPECT_GT(std::abs(wrong[1] - n[1]) / (std::abs(wrong[1]) + std::abs(n[1])), kTol);
  EXPECT_NEAR(dot(r, f()), r[0] * 0.6 + r[1] * 0.49 + r[2] * 0.33, 1e-15);
}

// |got - want| <= rel |want|: the hand-worked values carry their own rounding of ~1e-16.
void expect_rel(double got, double want, double rel, int i) {
  EXPECT_LE(std::abs(got - want), rel * std::abs(want)) << "element " << i << ": " << got << " vs " << want;
}

// ---- Optimisers: two steps against values worked out by hand (PyTorch's rules) ------------
// Adam, lr 0.1, betas (0.9, 0.999), eps 1e-8, PyTorch's bias correction:
//   m = b1 m + (1 - b1) g, v = b2 v + (1 - b2) g^2,
//   p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps).
// Element 0: p 1, g 0.5 then -0.25. Step 1: m 0.05, v 2.5e-4, m^ 0.5, v^ 0.25,
// p = 1 - 0.1 * 0.5 / (0.5 + 1e-8) = 0.900000002. Step 2: m = 0.045 - 0.025 = 0.02,
// v = 2.4975e-4 + 6.25e-5 = 3.1225e-4, m^ = 0.02 / 0.19, v^ = 3.1225e-4 / 0.001999,
// p = 0.900000002 - 0.1 m^ / (sqrt(v^) + 1e-8) = 0.8733662987078463.
// Element 1: p -2, g -3 twice; element 2: p 0.25, g 0 then 1e-3 (an all-zero first step).
TEST(Optimiser, AdamTwoSteps) {
  AdamHyper h;
  h.lr = 0.1, h.beta1 = 0.9, h.beta2 = 0.999, h.eps = 1e-8;
  Vec p{1.0, -2.0, 0.25}, m(3, 0.0), v(3, 0.0);
  const Vec g1{0.5, -3.0, 0.0}, g2{-0.25, -3.0, 1e-3};
  adam_step(h, 1, 3, p.data(), g1.data(), m.data(), v.data());
  const double p1[] = {0.900000002, -1.9000000003333333, 0.25};
  const double m1[] = {0.05, -0.3, 0.0}, v1[] = {2.5e-4, 0.009, 0.0};
  for (int i = 0; i < 3; ++i) {
    expect_rel(p[i], p1[i], 1e-13, i);
    expect_rel(m[i], m1[i], 1e-13, i);
    expect_rel(v[i], v1[i], 1e-13, i);
  }
  adam_step(h, 2, 3, p.data(), g2.data(), m.data(), v.data());
  const double p2[] = {0.8733662987078463, -1.8000000006666672, 0.17558736973368988};
  const double m2[] = {0.02, -0.57, 1e-4}, v2[] = {3.1225e-4, 0.017991, 1e-9};
  for (int i = 0; i < 3; ++i) {
    expect_rel(p[i], p2[i], 1e-13, i);
    expect_rel(m[i], m2[i], 1e-13, i);
    expect_rel(v[i], v2[i], 1e-13, i);
  }
  // The same in float, the precision the backends run; 1 - beta is rounded from double, as
  // PyTorch does (1 - 0.999f would be 1.3e-5 off).
  AdamHyper hf = h;
  std::vector<float> pf{1.0f, -2.0f, 0.25f}, mf(3, 0.0f), vf(3, 0.0f), g1f{0.5f, -3.0f, 0.0f}, g2f{-0.25f, -3.0f, 1e-3f};
  adam_step(hf, 1, 3, pf.data(), g1f.data(), mf.data(), vf.data());
  adam_step(hf, 2, 3, pf.data(), g2f.data(), mf.data(), vf.data());
  for (int i = 0; i < 3; ++i) expect_rel(pf[i], p2[i], 1e-6, i);
}

// The generator average, decay 0.75: avg {1, -2} with x {3, 0} twice gives {1.5, -1.5}, then
// {1.875, -1.125}; decay 0 copies x, decay 1 keeps avg.
TEST(Optimiser, EmaSteps) {
  Vec avg{1.0, -2.0};
  const Vec x{3.0, 0.0};
  ema_step(0.75, 2, avg.data(), x.data());
  expect_rel(avg[0], 1.5, 1e-15, 0);
  expect_rel(avg[1], -1.5, 1e-15, 1);
  ema_step(0.75, 2, avg.data(), x.data());
  expect_rel(avg[0], 1.875, 1e-15, 0);
  expect_rel(avg[1], -1.125, 1e-15, 1);
  std::vector<float> f{0.5f, 7.0f}, y{-1.0f, 2.0f};
  ema_step(1.0, 2, f.data(), y.data());
  EXPECT_EQ(f, (std::vector<float>{0.5f, 7.0f}));
  ema_step(0.0, 2, f.data(), y.data());
  EXPECT_EQ(f, y);
}

// RMSprop, lr 0.01, alpha 0.99, eps 1e-8, PyTorch's rule (no centring, no momentum):
//   v = alpha v + (1 - alpha) g^2, p -= lr g / (sqrt(v) + eps).
// Element 0: p 1, g 0.5 then -0.25. Step 1: v 0.0025, p = 1 - 0.005 / (0.05 + 1e-8)
// = 0.900000019999996. Step 2: v = 0.002475 + 0.000625 = 0.0031,
// p += 0.0025 / (sqrt(0.0031) + 1e-8) -> 0.9449013374421751.
TEST(Optimiser, RmspropTwoSteps) {
  RmspropHyper h;
  h.lr = 0.01, h.alpha = 0.99, h.eps = 1e-8;
  Vec p{1.0, -2.0, 0.25}, v(3, 0.0);
  const Vec g1{0.5, -3.0, 0.0}, g2{-0.25, -3.0, 1e-3};
  rmsprop_step(h, 3, p.data(), g1.data(), v.data());
  const double p1[] = {0.900000019999996, -1.9000000033333333, 0.25}, v1[] = {0.0025, 0.09, 0.0};
  for (int i = 0; i < 3; ++i) {
    expect_rel(p[i], p1[i], 1e-13, i);
    expect_rel(v[i], v1[i], 1e-13, i);
  }
  rmsprop_step(h, 3, p.data(), g2.data(), v.data());
  const double p2[] = {0.9449013374421751, -1.8291118845075416, 0.15000999900010004}, v2[] = {0.0031, 0.1791, 1e-8};
  for (int i = 0; i < 3; ++i) {
    expect_rel(p[i], p2[i], 1e-13, i);
    expect_rel(v[i], v2[i], 1e-13, i);
  }
}

}  // namespace
}  // namespace t2i::nn::ref
