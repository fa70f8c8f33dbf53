// The judge of eval-images: its heads, targets, loss gradient, checkpoint, and the metrics
// (Jacobi eigen-decomposition, Fréchet distance, Inception-style score).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <random>
#include <tuple>

#include "error.h"
#include "nn/judge.h"
#include "nn/text_checkpoint.h"

namespace t2i::nn {
namespace {

JudgeConfig small_config() {
  JudgeConfig c;
  c.ndf = 2, c.feat_dim = 6;
  c.classes = {"001.A", "002.B", "003.C"};
  c.attributes = {"has_crown_color::red", "has_crown_color::blue", "has_eye_pattern::eyering",
                  "has_wing_mark_color::red", "has_wing_mark_color::white"};
  c.none_groups = {"has_wing_mark_color"};
  return c;
}

TEST(Judge, HeadsTargetsAndLayout) {
  const JudgeConfig c = small_config();
  const auto heads = c.heads();
  ASSERT_EQ(heads.size(), 4u);
  EXPECT_EQ(heads[0].name, "class");
  EXPECT_EQ(heads[1].name, "has_crown_color");
  EXPECT_EQ(heads[1].values, (std::vector<std::string>{"red", "blue"}));
  EXPECT_EQ(heads[2].values, (std::vector<std::string>{"absent", "present"}));
  EXPECT_EQ(heads[3].values, (std::vector<std::string>{"red", "white", "none"}));
  EXPECT_EQ(heads[3].offset, 3 + 2 + 2);
  EXPECT_EQ(c.logits(), 3 + 2 + 2 + 3);
  // class 2; crown blue; no eye ring; no wing marks -> none.
  EXPECT_EQ(judge_targets(heads, 2, {0, 1, 0, 0, 0}), (std::vector<int>{2, 1, 0, 2}));
  // two crown colours: left out; eye ring present; white marks.
  EXPECT_EQ(judge_targets(heads, 0, {1, 1, 1, 0, 1}), (std::vector<int>{0, -1, 1, 1}));
  // a group without "none" and no value set: left out.
  EXPECT_EQ(judge_targets(heads, 1, {0, 0, 0, 1, 0}), (std::vector<int>{1, -1, 0, 0}));
}

TEST(Judge, LossGradientMatchesFiniteDifferences) {
  const JudgeConfig c = small_config();
  const auto heads = c.heads();
  const i64 n = 4, L = c.logits(), H = static_cast<i64>(heads.size());
  std::mt19937 gen(7);
  std::normal_distribution<double> normal(0.0, 1.5);
  std::vector<double> z(static_cast<std::size_t>(n * L)), dz(z.size());
  for (double& v : z) v = normal(gen);
  const std::vector<int> t = {0, 1, 0, 2, 2, -1, 1, 0, 1, 0, -1, 1, 0, 1, 1, -1};
  ASSERT_EQ(static_cast<i64>(t.size()), n * H);
  const double loss = heads_xent(z.data(), n, L, heads, t.data(), dz.data());
  EXPECT_GT(loss, 0);
  for (std::size_t i = 0; i < z.size(); ++i) {
    const double h = 1e-6, keep = z[i];
    z[i] = keep + h;
    const double up = heads_xent<double>(z.data(), n, L, heads, t.data(), nullptr);
    z[i] = keep - h;
    const double down = heads_xent<double>(z.data(), n, L, heads, t.data(), nullptr);
    z[i] = keep;
    EXPECT_NEAR(dz[i], (up - down) / (2 * h), 1e-8) << "logit " << i;
  }
  // A head nobody has a target for contributes nothing.
  std::vector<int> none(t.size(), -1);
  EXPECT_EQ(heads_xent<double>(z.data(), n, L, heads, none.data(), dz.data()), 0.0);
  for (double d : dz) EXPECT_EQ(d, 0.0);
}

TEST(Judge, CheckpointRoundTripAndRefusals) {
  const JudgeConfig c = small_config();
  auto be = make_backend("ref");
  Judge a(c);
  a.bind(*be);
  a.params().init(3);
  std::vector<float> pix(2 * 3 * 64 * 64);
  std::mt19937 gen(1);
  std::uniform_real_distribution<float> u(-1, 1);
  for (float& p : pix) p = u(gen);
  Tensor x(DType::kFloat32, {2, 3, 64, 64});
  std::copy(pix.begin(), pix.end(), x.span<float>().begin());
  const std::vector<float> za = to_vector(*be, a.forward(0, upload(*be, x), false));
  EXPECT_EQ(static_cast<i64>(za.size()), 2 * c.logits());
  EXPECT_EQ(a.features(0).numel(), 2 * c.feat_dim);

  const std::string path = (std::filesystem::temp_directory_path() / "t2i_test_judge.safetensors").string();
  save_judge(path, c, a, {{"train.epoch", "1"}});
  const Checkpoint ck = Checkpoint::load(path);
  const JudgeConfig back = JudgeConfig::from_checkpoint(ck);
  EXPECT_EQ(back.classes, c.classes);
  EXPECT_EQ(back.attributes, c.attributes);
  EXPECT_EQ(back.none_groups, c.none_groups);
  Judge b(back);
  b.bind(*be);
  load_judge(ck, b);
  EXPECT_EQ(to_vector(*be, b.forward(0, upload(*be, x), false)), za);

  // A judge is not a text model, and a text model not a judge: one line naming the file.
  EXPECT_THROW(TextModelConfig::from_checkpoint(ck), InputError);
  Checkpoint text;
  text.metadata = {{"model", "t2igan-text"}};
  try {
    JudgeConfig::from_checkpoint(text);
    FAIL() << "a text model was taken for a judge";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("not a t2igan judge"), std::string::npos) << e.what();
  }
  // Metadata that disagrees with the tensors is refused by from_checkpoint, before any judge is
  // allocated from it: a huge width beyond the limits, or a width the tensors do not have.
  for (const auto& [key, value, says] : std::vector<std::tuple<std::string, std::string, std::string>>{
           {"ndf", "1048576", "expected a positive integer up to 1024"},
           {"feat_dim", "1000000", "expected a positive integer up to 4096"},
           {"ndf", "1024", "tensor 'judge.conv0.weight' is float32 [2,3,4,4]; expected float32 [1024,3,4,4]"},
           {"feat_dim", "4096", "judge.conv4.weight"}}) {
    Checkpoint bad = ck;
    bad.metadata[key] = value;
    try {
      JudgeConfig::from_checkpoint(bad);
      FAIL() << key << " " << value << " was accepted";
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(says), std::string::npos) << e.what();
    }
  }
  // A judge of another shape: the tensor that differs is named.
  JudgeConfig wider = c;
  wider.feat_dim = 8;
  Judge w(wider);
  w.bind(*be);
  EXPECT_THROW(load_judge(ck, w), InputError);
  std::filesystem::remove(path);
}

// The whole judge on the oneDNN backend (blocked layouts between layers) against ref: logits,
// features and every parameter gradient of one training pass.
TEST(Judge, CpuBackendMatchesRef) {
  JudgeConfig c = small_config();
  c.ndf = 4, c.feat_dim = 8;
  const auto heads = c.heads();
  const i64 n = 4, L = c.logits(), H = static_cast<i64>(heads.size());
  Tensor x(DType::kFloat32, {n, 3, 64, 64});
  std::mt19937 gen(2);
  std::uniform_real_distribution<float> u(-1, 1);
  for (float& p : x.span<float>()) p = u(gen);
  const std::vector<int> t = {0, 1, 0, 2, 2, -1, 1, 0, 1, 0, -1, 1, 0, 1, 1, -1};
  ASSERT_EQ(static_cast<i64>(t.size()), n * H);
  struct Out {
    std::vector<float> logits, feats, grads;
  };
  auto run = [&](const char* backend) {
    auto be = make_backend(backend);
    Judge j(c);
    j.bind(*be);
    j.params().init(11);
    j.params().zero_grads();
    Out o;
    o.logits = to_vector(*be, j.forward(0, upload(*be, x), /*training=*/true));
    o.feats = to_vector(*be, j.features(0));
    Tensor d(DType::kFloat32, {n, L});
    heads_xent(o.logits.data(), n, L, heads, t.data(), d.span<float>().data());
    j.backward(0, upload(*be, d));
    o.grads = to_vector(*be, j.params().grads());
    return o;
  };
  const Out ref = run("ref"), cpu = run("cpu");
  auto close = [](const std::vector<float>& a, const std::vector<float>& b, const char* what) {
    ASSERT_EQ(a.size(), b.size()) << what;
    double scale = 1e-6;
    for (float v : a) scale = std::max(scale, double(std::abs(v)));
    for (std::size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 2e-3 * scale) << what << " " << i;
  };
  close(ref.logits, cpu.logits, "logits");
  close(ref.feats, cpu.feats, "features");
  close(ref.grads, cpu.grads, "gradients");
}

TEST(JudgeMetrics, JacobiEigenDecomposition) {
  std::vector<double> w, v;
  symmetric_eigen({2, 1, 1, 2}, 2, w, &v);
  std::sort(w.begin(), w.end());
  EXPECT_NEAR(w[0], 1, 1e-12);
  EXPECT_NEAR(w[1], 3, 1e-12);
  // A random symmetric matrix is V diag(w) V^T with V orthonormal.
  const int n = 9;
  std::mt19937 gen(5);
  std::normal_distribution<double> normal;
  std::vector<double> a(n * n);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j <= i; ++j) a[i * n + j] = a[j * n + i] = normal(gen);
  symmetric_eigen(a, n, w, &v);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) {
      double r = 0, o = 0;
      for (int k = 0; k < n; ++k) r += v[i * n + k] * w[k] * v[j * n + k], o += v[k * n + i] * v[k * n + j];
      EXPECT_NEAR(r, a[i * n + j], 1e-10);
      EXPECT_NEAR(o, i == j ? 1.0 : 0.0, 1e-10);
    }
}

TEST(JudgeMetrics, FrechetDistanceKnownAnswers) {
  // Diagonal covariances: |mu1 - mu2|^2 + sum (sqrt(a) - sqrt(b))^2.
  const std::vector<double> mu1 = {0, 1, 2}, mu2 = {1, 1, 0};
  const std::vector<double> c1 = {4, 0, 0, 0, 1, 0, 0, 0, 9}, c2 = {1, 0, 0, 0, 1, 0, 0, 0, 16};
  EXPECT_NEAR(frechet_distance(mu1, c1, mu2, c2, 3), 5.0 + 1.0 + 0.0 + 1.0, 1e-9);
  // The same covariances rotated: the distance does not change.
  const double s = std::sqrt(0.5);
  const std::vector<double> R = {s, -s, 0, s, s, 0, 0, 0, 1};
  auto rotate = [&](const std::vector<double>& c) {
    std::vector<double> out(9, 0.0);
    for (int i = 0; i < 3; ++i)
      for (int j = 0; j < 3; ++j)
        for (int k = 0; k < 3; ++k)
          for (int l = 0; l < 3; ++l) out[i * 3 + j] += R[i * 3 + k] * c[k * 3 + l] * R[j * 3 + l];
    return out;
  };
  EXPECT_NEAR(frechet_distance(mu1, rotate(c1), mu2, rotate(c2), 3), 7.0, 1e-9);
  // Covariances that do not commute (C1 C2 != C2 C1): an independent closed form. For 2 x 2
  // positive semi-definite matrices, sqrt(C1) C2 sqrt(C1) has the eigenvalues l1, l2 of C1 C2, and
  // sqrt(l1) + sqrt(l2) = sqrt(l1 + l2 + 2 sqrt(l1 l2)) = sqrt(tr(C1 C2) + 2 sqrt(det C1 det C2)).
  // C1 = [[2,1],[1,2]], C2 = [[1,0],[0,3]]: tr(C1 C2) = 8, det C1 det C2 = 9, so with
  // |mu1 - mu2|^2 = 5: FD = 5 + 4 + 4 - 2 sqrt(14) = 5.5166852264521173 (by hand; NumPy's
  // eigh-based sqrtm gives 5.516685226452118).
  const std::vector<double> a1 = {2, 1, 1, 2}, a2 = {1, 0, 0, 3};
  EXPECT_NEAR(frechet_distance({1, 2}, a1, {0, 0}, a2, 2), 5.5166852264521173, 1e-9);
  EXPECT_NEAR(frechet_distance({0, 0}, a2, {0, 0}, a1, 2), 8 - 2 * std::sqrt(14.0), 1e-9);  // symmetric
  // A non-commuting 3 x 3 pair, reference from /usr/bin/python3 with NumPy:
  //   w, V = np.linalg.eigh(C3); S = V @ np.diag(np.sqrt(w)) @ V.T
  //   np.trace(C3) + np.trace(C4) - 2 * np.sqrt(np.linalg.eigvalsh(S @ C4 @ S)).sum()
  // = 2.6405661360077044 (and np.allclose(C3 @ C4, C4 @ C3) is False).
  const std::vector<double> c3 = {4, 1.5, 0.3, 1.5, 2, -0.4, 0.3, -0.4, 1},
                            c4 = {1, -0.7, 0.2, -0.7, 3, 0.5, 0.2, 0.5, 0.5};
  EXPECT_NEAR(frechet_distance({0, 0, 0}, c3, {0, 0, 0}, c4, 3), 2.6405661360077044, 1e-9);
  {
    std::mt19937 g2(4);
    std::normal_distribution<double> nd;
    for (int trial = 0; trial < 20; ++trial) {
      // Random SPD 2 x 2 pairs B B^T (generically not commuting).
      auto spd = [&] {
        const double p = nd(g2), q = nd(g2), r = nd(g2), t = nd(g2);
        return std::vector<double>{p * p + q * q, p * r + q * t, p * r + q * t, r * r + t * t};
      };
      const std::vector<double> x1 = spd(), x2 = spd();
      const double tr12 = x1[0] * x2[0] + x1[1] * x2[2] + x1[2] * x2[1] + x1[3] * x2[3];
      const double det1 = x1[0] * x1[3] - x1[1] * x1[2], det2 = x2[0] * x2[3] - x2[1] * x2[2];
      const double want = x1[0] + x1[3] + x2[0] + x2[3] - 2 * std::sqrt(tr12 + 2 * std::sqrt(det1 * det2));
      EXPECT_NEAR(frechet_distance({0, 0}, x1, {0, 0}, x2, 2), std::max(want, 0.0), 1e-8) << "trial " << trial;
    }
  }
  // Two identical sets of points: 0.
  std::mt19937 gen(9);
  std::normal_distribution<double> normal;
  const std::size_t n = 40, d = 5;
  std::vector<double> x(n * d);
  for (double& e : x) e = normal(gen);
  std::vector<double> m, c;
  mean_and_covariance(x, n, d, m, c);
  EXPECT_NEAR(frechet_distance(m, c, m, c, d), 0.0, 1e-9);
  // Covariance of a known set.
  mean_and_covariance({1, 2, 3, 6}, 2, 2, m, c);
  EXPECT_EQ(m, (std::vector<double>{2, 4}));
  EXPECT_EQ(c, (std::vector<double>{2, 4, 4, 8}));
}

TEST(JudgeMetrics, InceptionScore) {
  // Confident and spread evenly over k classes: k; all the same posterior: 1.
  std::vector<double> p(4 * 4, 0.0);
  for (int i = 0; i < 4; ++i) p[i * 4 + i] = 1;
  EXPECT_NEAR(inception_score(p, 4, 4), 4.0, 1e-12);
  std::vector<double> q = {0.2, 0.8, 0.2, 0.8, 0.2, 0.8};
  EXPECT_NEAR(inception_score(q, 3, 2), 1.0, 1e-12);
}

}  // namespace
}  // namespace t2i::nn
