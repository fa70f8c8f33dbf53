// The probe's statistics (common/stats.h) and the plot helper (common/plot.h): ROC and AU-ROC
// against known answers, k-means on well-separated clusters, balanced pairs, a drawn plot.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <stdexcept>

#include "plot.h"
#include "retrieval.h"
#include "rng.h"
#include "stats.h"

namespace t2i::stats {
namespace {

TEST(Stats, PerfectScorerHasAreaOne) {
  std::vector<double> s;
  std::vector<bool> pos;
  for (int i = 0; i < 50; ++i) s.push_back(1.0 + i), pos.push_back(true);
  for (int i = 0; i < 70; ++i) s.push_back(-1.0 - i), pos.push_back(false);
  EXPECT_DOUBLE_EQ(auc(s, pos), 1.0);
  // Reversed: zero. Constant: one half (a single diagonal step).
  std::vector<double> neg(s.size()), flat(s.size(), 0.3);
  for (std::size_t i = 0; i < s.size(); ++i) neg[i] = -s[i];
  EXPECT_DOUBLE_EQ(auc(neg, pos), 0.0);
  EXPECT_DOUBLE_EQ(auc(flat, pos), 0.5);
  const auto roc = roc_curve(s, pos);
  EXPECT_EQ(roc.front().fpr, 0.0);
  EXPECT_EQ(roc.front().tpr, 0.0);
  EXPECT_EQ(roc.back().fpr, 1.0);
  EXPECT_EQ(roc.back().tpr, 1.0);
}

TEST(Stats, RandomScorerHasAreaOneHalf) {
  Rng rng(7);
  std::vector<double> s;
  std::vector<bool> pos;
  for (int i = 0; i < 20000; ++i) s.push_back(rng.uniform()), pos.push_back(rng.chance(0.5));
  EXPECT_NEAR(auc(s, pos), 0.5, 0.015);
}

TEST(Stats, AreaIsTheMannWhitneyProbability) {
  Rng rng(3);
  std::vector<double> s;
  std::vector<bool> pos;
  for (int i = 0; i < 300; ++i) {
    const bool p = rng.chance(0.4);
    pos.push_back(p);
    s.push_back(std::round((rng.normal() + (p ? 0.7 : 0.0)) * 4) / 4);  // coarse: many ties
  }
  double wins = 0, n = 0;
  for (std::size_t i = 0; i < s.size(); ++i)
    for (std::size_t j = 0; j < s.size(); ++j)
      if (pos[i] && !pos[j]) wins += s[i] > s[j] ? 1.0 : s[i] == s[j] ? 0.5 : 0.0, n += 1;
  EXPECT_NEAR(auc(s, pos), wins / n, 1e-12);
  EXPECT_GT(wins / n, 0.6);
  EXPECT_THROW(auc({1.0, 2.0}, {true, true}), std::invalid_argument);
}

TEST(Stats, KMeansRecoversSeparatedClusters) {
  // 6 clusters in 3-d, 40 points each, centres 10 apart, spread 0.3; shuffled.
  Rng rng(11);
  const int K = 6, per = 40;
  std::vector<std::array<double, 3>> centres;
  for (int c = 0; c < K; ++c) centres.push_back({10.0 * (c % 3), 10.0 * (c / 3), 5.0 * c});
  std::vector<double> pts;
  std::vector<int> truth;
  for (int i = 0; i < K * per; ++i) {
    const int c = (i * 7) % K;
    truth.push_back(c);
    for (double x : centres[static_cast<std::size_t>(c)]) pts.push_back(x + 0.3 * rng.normal());
  }
  for (std::uint64_t seed : {1u, 2u, 3u}) {
    const KMeansResult r = kmeans(pts, 3, K, seed);
    // The clustering equals the truth up to renaming: a bijection between labels.
    std::set<std::pair<int, int>> map;
    for (std::size_t i = 0; i < truth.size(); ++i) map.insert({truth[i], r.labels[i]});
    EXPECT_EQ(map.size(), static_cast<std::size_t>(K)) << "seed " << seed;
    std::set<int> used;
    for (const auto& [t, l] : map) used.insert(l);
    EXPECT_EQ(used.size(), static_cast<std::size_t>(K));
    EXPECT_LT(r.inertia, K * per * 3 * 0.3 * 0.3 * 1.5);
  }
  // The same seed, the same labels.
  EXPECT_EQ(kmeans(pts, 3, K, 5).labels, kmeans(pts, 3, K, 5).labels);
  EXPECT_THROW(kmeans(pts, 3, K * per + 1, 1), std::invalid_argument);
}

TEST(Stats, KMeansWithMoreClustersThanDistinctPoints) {
  std::vector<double> pts = {0, 0, 0, 0, 1, 1, 1, 1, 5, 5};  // 5 points in 2-d, 3 distinct
  const KMeansResult r = kmeans(pts, 2, 4, 1);
  ASSERT_EQ(r.labels.size(), 5u);
  EXPECT_EQ(r.labels[0], r.labels[1]);
  EXPECT_NE(r.labels[0], r.labels[4]);
  EXPECT_NEAR(r.inertia, 0.0, 1e-12);
}

// A NaN or infinite score is refused (it used to hang the tie loop and break the sort's ordering).
TEST(Stats, RocRefusesNonFiniteScores) {
  const double nan = std::nan("");
  EXPECT_THROW(roc_curve({0.5, nan, 0.2, 0.1}, {true, false, true, false}), std::invalid_argument);
  EXPECT_THROW(roc_curve({nan, nan}, {true, false}), std::invalid_argument);
  EXPECT_THROW(auc({0.5, HUGE_VAL}, {true, false}), std::invalid_argument);
  EXPECT_THROW(auc({-HUGE_VAL, 0.5}, {true, false}), std::invalid_argument);
  // All scores tied: one step from (0,0) to (1,1), area one half.
  const auto roc = roc_curve({0.3, 0.3, 0.3}, {true, false, true});
  ASSERT_EQ(roc.size(), 2u);
  EXPECT_EQ(roc[1].fpr, 1.0);
  EXPECT_EQ(roc[1].tpr, 1.0);
  EXPECT_DOUBLE_EQ(auc(roc), 0.5);
}

// Whatever max_iter stops it, k-means returns labels that name each point's nearest returned
// centroid and the inertia of exactly that assignment (empty clusters re-seeded consistently).
TEST(Stats, KMeansResultIsConsistent) {
  Rng rng(3);
  std::vector<double> pts;
  // 60 points in 2-d: a few tight blobs, many duplicates, so clusters empty and re-seed.
  for (int i = 0; i < 60; ++i) {
    const int b = (i * 5) % 4;
    pts.push_back(3.0 * b + (i % 3 == 0 ? 0.0 : 0.2 * rng.normal()));
    pts.push_back(-2.0 * b + (i % 3 == 0 ? 0.0 : 0.2 * rng.normal()));
  }
  for (int k : {3, 8, 20}) {
    for (int iters : {1, 2, 3, 5, 100}) {
      for (std::uint64_t seed : {1u, 2u, 7u}) {
        const KMeansResult r = kmeans(pts, 2, k, seed, iters);
        double inertia = 0;
        for (std::size_t i = 0; i < 60; ++i) {
          double best = HUGE_VAL;
          for (int c = 0; c < k; ++c) {
            const double dx = pts[2 * i] - r.centroids[2 * std::size_t(c)], dy = pts[2 * i + 1] - r.centroids[2 * std::size_t(c) + 1];
            best = std::min(best, dx * dx + dy * dy);
          }
          const std::size_t l = static_cast<std::size_t>(r.labels[i]);
          const double dx = pts[2 * i] - r.centroids[2 * l], dy = pts[2 * i + 1] - r.centroids[2 * l + 1];
          ASSERT_DOUBLE_EQ(dx * dx + dy * dy, best) << "k " << k << " max_iter " << iters << " seed " << seed << " point " << i;
          inertia += dx * dx + dy * dy;
        }
        EXPECT_NEAR(r.inertia, inertia, 1e-9 * (1 + inertia)) << "k " << k << " max_iter " << iters << " seed " << seed;
      }
    }
  }
}

// R-precision: perfect embeddings rank first (1.0), random ones about 1 / (k + 1), ties miss.
TEST(Stats, RPrecisionPerfectRandomAndTies) {
  const std::size_t n = 2000, dim = 16, k = 99;
  Rng rng(5);
  std::vector<float> cand(n * dim);
  for (float& x : cand) x = static_cast<float>(rng.normal());
  std::vector<std::size_t> truth(n), all(n);
  for (std::size_t i = 0; i < n; ++i) truth[i] = all[i] = i;
  std::vector<std::vector<std::size_t>> neg(n);
  for (std::size_t i = 0; i < n; ++i) {
    std::vector<std::size_t> pool;
    for (std::size_t j = 0; j < n; ++j)
      if (j != i) pool.push_back(j);
    neg[i] = draw_without_replacement(pool, k, 100 + i);
    ASSERT_EQ(std::set<std::size_t>(neg[i].begin(), neg[i].end()).size(), k);
  }
  // Perfect: the query is its true candidate (slightly scaled): every one ranks first.
  std::vector<float> perfect(cand);
  for (float& x : perfect) x *= 2.0f;
  double sum = 0;
  for (double h : r_precision_hits(perfect, cand, dim, truth, neg)) sum += h;
  EXPECT_EQ(sum, double(n));
  // Random queries: about 1 / 100 (binomial sd sqrt(0.01 * 0.99 / 2000) = 0.0022).
  std::vector<float> random(n * dim);
  for (float& x : random) x = static_cast<float>(rng.normal());
  sum = 0;
  for (double h : r_precision_hits(random, cand, dim, truth, neg)) sum += h;
  EXPECT_NEAR(sum / double(n), 0.01, 0.008);
  // Ties are misses: identical candidates, or an all-zero query (every cosine 0).
  std::vector<float> same(n * dim, 1.0f);
  for (double h : r_precision_hits(same, same, dim, truth, neg)) EXPECT_EQ(h, 0.0);
  std::vector<float> zero(n * dim, 0.0f);
  for (double h : r_precision_hits(zero, cand, dim, truth, neg)) EXPECT_EQ(h, 0.0);
  // Bad indices are refused.
  EXPECT_THROW(r_precision_hits(perfect, cand, dim, truth, {n, {0}}), std::invalid_argument);  // truth among negatives
  EXPECT_THROW(r_precision_hits(std::vector<float>(perfect.begin(), perfect.begin() + dim), cand, dim, {n + 5}, {{1}}),
               std::invalid_argument);
  EXPECT_THROW(draw_without_replacement({1, 2, 3}, 4, 1), std::invalid_argument);
  EXPECT_EQ(draw_without_replacement({1, 2, 3}, 3, 1).size(), 3u);
  EXPECT_EQ(draw_without_replacement(all, 10, 9), draw_without_replacement(all, 10, 9));
}

TEST(Stats, BalancedPairs) {
  std::vector<int> labels;
  for (int i = 0; i < 100; ++i) labels.push_back(i % 7);
  const auto pairs = balanced_pairs(labels, 500, 9);
  ASSERT_EQ(pairs.size(), 1000u);
  int same = 0;
  for (const Pair& p : pairs) {
    EXPECT_NE(p.a, p.b);
    EXPECT_EQ(p.same, labels[p.a] == labels[p.b]);
    same += p.same;
  }
  EXPECT_EQ(same, 500);
  // Shuffled: both kinds in the first tenth.
  int first_same = 0;
  for (int i = 0; i < 100; ++i) first_same += pairs[static_cast<std::size_t>(i)].same;
  EXPECT_GT(first_same, 25);
  EXPECT_LT(first_same, 75);
  EXPECT_THROW(balanced_pairs({0, 1, 2}, 5, 1), std::invalid_argument);  // no cluster of two
  EXPECT_THROW(balanced_pairs({4, 4, 4}, 5, 1), std::invalid_argument);  // one cluster
}

TEST(Stats, CosineAndSpread) {
  const float a[] = {1, 0, 0}, b[] = {2, 0, 0}, c[] = {0, 3, 0}, d[] = {-1, 0, 0}, z[] = {0, 0, 0};
  EXPECT_NEAR(cosine(a, b, 3), 1.0, 1e-12);
  EXPECT_NEAR(cosine(a, c, 3), 0.0, 1e-12);
  EXPECT_NEAR(cosine(a, d, 3), -1.0, 1e-12);
  EXPECT_EQ(cosine(a, z, 3), 0.0);
  const MeanSd m = mean_sd({1, 2, 3, 4});
  EXPECT_DOUBLE_EQ(m.mean, 2.5);
  EXPECT_NEAR(m.sd, std::sqrt(5.0 / 3.0), 1e-12);
}

TEST(Plot, DrawsPanelsWithCurvesAndLegend) {
  plot::Panel p;
  p.title = "pose";
  p.x_label = "false positive rate";
  p.y_label = "true positive rate";
  p.diagonal = true;
  p.series.push_back({"a 0.900", {{0, 0}, {0.1, 0.8}, {1, 1}}});
  p.series.push_back({"b 0.500", {{0, 0}, {1, 1}}});
  const Image img = plot::draw_panels({p, p}, 300);
  EXPECT_EQ(img.width, 600);
  EXPECT_EQ(img.height, 300);
  EXPECT_EQ(img.channels, 3);
  // Both series' colours appear in each panel.
  for (int panel = 0; panel < 2; ++panel)
    for (std::size_t s = 0; s < 2; ++s) {
      const auto col = plot::series_colour(s);
      int hits = 0;
      for (int y = 0; y < img.height; ++y)
        for (int x = panel * 300; x < (panel + 1) * 300; ++x)
          hits += std::equal(col.begin(), col.end(), img.at(x, y));
      EXPECT_GT(hits, 100) << "panel " << panel << " series " << s;
    }
  EXPECT_EQ(plot::text_width("ab"), 11);
  EXPECT_EQ(encode_png(img), encode_png(plot::draw_panels({p, p}, 300)));
}

// ridge_r2_cv against a plain recomputation: for each fold, the normal equations solved by
// Gauss-Jordan elimination with partial pivoting on the full (not triangular) matrix.
double ridge_r2_reference(const std::vector<double>& x, std::size_t dx, const std::vector<double>& y, std::size_t dy,
                          int folds, double lambda) {
  const std::size_t n = x.size() / dx;
  double sse = 0, sst = 0;
  for (int f = 0; f < folds; ++f) {
    std::vector<std::size_t> tr, te;
    for (std::size_t i = 0; i < n; ++i) (int(i % std::size_t(folds)) == f ? te : tr).push_back(i);
    std::vector<double> mx(dx, 0), my(dy, 0);
    for (std::size_t i : tr) {
      for (std::size_t j = 0; j < dx; ++j) mx[j] += x[i * dx + j] / double(tr.size());
      for (std::size_t k = 0; k < dy; ++k) my[k] += y[i * dy + k] / double(tr.size());
    }
    // [A | B] with A = Xc'Xc + pen I, B = Xc'Yc
    const std::size_t w = dx + dy;
    std::vector<double> m(dx * w, 0);
    for (std::size_t i : tr)
      for (std::size_t j = 0; j < dx; ++j) {
        for (std::size_t k = 0; k < dx; ++k) m[j * w + k] += (x[i * dx + j] - mx[j]) * (x[i * dx + k] - mx[k]);
        for (std::size_t k = 0; k < dy; ++k) m[j * w + dx + k] += (x[i * dx + j] - mx[j]) * (y[i * dy + k] - my[k]);
      }
    double trace = 0;
    for (std::size_t j = 0; j < dx; ++j) trace += m[j * w + j];
    for (std::size_t j = 0; j < dx; ++j) m[j * w + j] += lambda * trace / double(dx);
    for (std::size_t c = 0; c < dx; ++c) {
      std::size_t piv = c;
      for (std::size_t r = c + 1; r < dx; ++r)
        if (std::fabs(m[r * w + c]) > std::fabs(m[piv * w + c])) piv = r;
      for (std::size_t k = 0; k < w; ++k) std::swap(m[c * w + k], m[piv * w + k]);
      const double d = m[c * w + c];
      for (std::size_t k = 0; k < w; ++k) m[c * w + k] /= d;
      for (std::size_t r = 0; r < dx; ++r)
        if (r != c) {
          const double g = m[r * w + c];
          for (std::size_t k = 0; k < w; ++k) m[r * w + k] -= g * m[c * w + k];
        }
    }
    for (std::size_t i : te)
      for (std::size_t k = 0; k < dy; ++k) {
        double p = my[k];
        for (std::size_t j = 0; j < dx; ++j) p += (x[i * dx + j] - mx[j]) * m[j * w + dx + k];
        sse += (y[i * dy + k] - p) * (y[i * dy + k] - p);
        sst += (y[i * dy + k] - my[k]) * (y[i * dy + k] - my[k]);
      }
  }
  return 1 - sse / sst;
}

TEST(Stats, RidgeR2FindsLinearMapsAndNothingInNoise) {
  Rng rng(11);
  const std::size_t n = 600, dx = 12, dy = 3;
  std::vector<double> x(n * dx), exact(n * dy), half(n * dy), noise(n * dy);
  for (double& v : x) v = rng.normal();
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t k = 0; k < dy; ++k) {
      // An exact affine map of x; the same map plus as much independent noise (R^2 one half);
      // noise alone (R^2 about 0, below it by the fitting of noise).
      double v = 2.0 + double(k);
      for (std::size_t j = 0; j < dx; ++j) v += x[i * dx + j] * (j % (k + 2) == 0 ? 0.5 : -0.1 * double(j));
      exact[i * dy + k] = v;
      half[i * dy + k] = v;
      noise[i * dy + k] = rng.normal();
    }
  double var = 0;  // the noise that makes `half` half signal
  for (std::size_t i = 0; i < n * dy; ++i) var += (exact[i] - 2.0 - double(i % dy)) * (exact[i] - 2.0 - double(i % dy));
  const double sd = std::sqrt(var / double(n * dy));
  for (double& v : half) v += sd * rng.normal();
  EXPECT_GT(ridge_r2_cv(x, dx, exact, dy, 5, 1e-9), 0.999999);
  EXPECT_NEAR(ridge_r2_cv(x, dx, half, dy, 5), 0.5, 0.08);
  const double none = ridge_r2_cv(x, dx, noise, dy, 5);
  EXPECT_LT(none, 0.02);
  EXPECT_GT(none, -0.1);
  // The same figures as a plain recomputation, for several penalties and fold counts.
  for (double lambda : {1e-6, 1e-2, 1.0})
    for (int folds : {2, 5}) {
      EXPECT_NEAR(ridge_r2_cv(x, dx, half, dy, folds, lambda), ridge_r2_reference(x, dx, half, dy, folds, lambda), 1e-9);
      EXPECT_NEAR(ridge_r2_cv(x, dx, noise, dy, folds, lambda), ridge_r2_reference(x, dx, noise, dy, folds, lambda), 1e-9);
    }
  // A heavier penalty shrinks the fit towards the means.
  EXPECT_LT(ridge_r2_cv(x, dx, exact, dy, 5, 10.0), ridge_r2_cv(x, dx, exact, dy, 5, 1e-2));
  // A constant input column (zero after centring) is harmless.
  std::vector<double> xc;
  for (std::size_t i = 0; i < n; ++i) {
    xc.insert(xc.end(), x.begin() + long(i * dx), x.begin() + long((i + 1) * dx));
    xc.push_back(3.0);
  }
  EXPECT_NEAR(ridge_r2_cv(xc, dx + 1, half, dy, 5), ridge_r2_cv(x, dx, half, dy, 5), 1e-3);
  EXPECT_THROW(ridge_r2_cv(x, dx, noise, dy, 1), std::invalid_argument);
  EXPECT_THROW(ridge_r2_cv(x, dx, noise, dy, int(n)), std::invalid_argument);
  EXPECT_THROW(ridge_r2_cv(x, dx, std::vector<double>(noise.begin(), noise.end() - long(dy)), dy, 5), std::invalid_argument);
  EXPECT_THROW(ridge_r2_cv(x, dx, noise, dy, 5, 0.0), std::invalid_argument);
}

TEST(Stats, BetweenGroupShare) {
  // By hand: groups {0, 2} and {4, 6}: within-group variances 2 and 2, all four values' 20 / 3.
  EXPECT_NEAR(*between_group_share({{0, 2}, {4, 6}}, 1), 1.0 - 2.0 / (20.0 / 3.0), 1e-12);
  // Two coordinates sum: (0,0),(2,0) | (4,1),(6,1): W = 2, T = (20 + 4 * 0.25) / 3.
  EXPECT_NEAR(*between_group_share({{0, 0, 2, 0}, {4, 1, 6, 1}}, 2), 1.0 - 2.0 / (21.0 / 3.0), 1e-12);
  // Groups of one row are left out; equal rows within each group: 1.
  EXPECT_DOUBLE_EQ(*between_group_share({{1, 1, 1}, {5, 5}, {9}}, 1), 1.0);
  EXPECT_NEAR(*between_group_share({{1, 1, 1}, {5, 5}, {9}}, 1), *between_group_share({{1, 1, 1}, {5, 5}}, 1), 0.0);
  // Rows dealt into groups at random: about 0; the same rows sorted into groups by value: near 1.
  Rng rng(5);
  std::vector<double> v(4000);
  for (double& x : v) x = rng.normal();
  std::vector<std::vector<double>> random(1000), sorted(1000);
  for (std::size_t i = 0; i < v.size(); ++i) random[i / 4].push_back(v[i]);
  std::sort(v.begin(), v.end());
  for (std::size_t i = 0; i < v.size(); ++i) sorted[i / 4].push_back(v[i]);
  EXPECT_NEAR(*between_group_share(random, 1), 0.0, 0.06);
  EXPECT_GT(*between_group_share(sorted, 1), 0.99);
  // Not defined: one group, all rows equal; refused: a group that is not whole rows.
  EXPECT_FALSE(between_group_share({{1, 2, 3}}, 1).has_value());
  EXPECT_FALSE(between_group_share({{1, 2}, {3}}, 1).has_value());
  EXPECT_FALSE(between_group_share({{4, 4}, {4, 4}}, 1).has_value());
  EXPECT_THROW(between_group_share({{1, 2, 3}}, 2), std::invalid_argument);
  EXPECT_THROW(between_group_share({{1, 2}}, 0), std::invalid_argument);
}

}  // namespace
}  // namespace t2i::stats
