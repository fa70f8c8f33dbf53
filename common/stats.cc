#include "stats.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>

#include "rng.h"

namespace t2i::stats {

namespace {
double sq_dist(const double* a, const double* b, std::size_t dim) {
  double s = 0;
  for (std::size_t j = 0; j < dim; ++j) {
    const double d = a[j] - b[j];
    s += d * d;
  }
  return s;
}

// An index in [0, n) for n up to 2^32 (Rng::below takes an int).
std::size_t below(Rng& rng, std::size_t n) { return static_cast<std::size_t>(rng.uniform() * double(n)) % n; }
}  // namespace

KMeansResult kmeans(const std::vector<double>& points, std::size_t dim, int k, std::uint64_t seed, int max_iter) {
  if (dim == 0 || points.size() % dim != 0) throw std::invalid_argument("kmeans: points are not rows of dim");
  const std::size_t n = points.size() / dim;
  if (k < 1 || static_cast<std::size_t>(k) > n) throw std::invalid_argument("kmeans: need 1 <= k <= points");
  const std::size_t K = static_cast<std::size_t>(k);
  Rng rng(seed);
  KMeansResult r;
  r.centroids.assign(K * dim, 0.0);
  auto row = [&](std::size_t i) { return points.data() + i * dim; };
  auto centre = [&](std::size_t c) { return r.centroids.data() + c * dim; };

  // k-means++ seeding.
  std::vector<double> nearest(n, std::numeric_limits<double>::infinity());
  std::size_t first = below(rng, n);
  std::copy(row(first), row(first) + dim, centre(0));
  for (std::size_t c = 1; c < K; ++c) {
    double total = 0;
    for (std::size_t i = 0; i < n; ++i) {
      nearest[i] = std::min(nearest[i], sq_dist(row(i), centre(c - 1), dim));
      total += nearest[i];
    }
    std::size_t pick = n - 1;
    if (total > 0) {
      double u = rng.uniform() * total;
      for (std::size_t i = 0; i < n; ++i) {
        u -= nearest[i];
        if (u < 0) {
          pick = i;
          break;
        }
      }
      while (nearest[pick] == 0 && pick > 0) --pick;  // rounding at the end: a point not yet a centre
    } else {
      pick = below(rng, n);  // every point coincides with a centre
    }
    std::copy(row(pick), row(pick) + dim, centre(c));
  }

  // Lloyd iterations.
  r.labels.assign(n, -1);
  std::vector<double> sums(K * dim);
  std::vector<std::size_t> counts(K);
  for (r.iterations = 0; r.iterations < max_iter; ++r.iterations) {
    bool changed = false;
    r.inertia = 0;
    for (std::size_t i = 0; i < n; ++i) {
      int best = 0;
      double bd = std::numeric_limits<double>::infinity();
      for (std::size_t c = 0; c < K; ++c) {
        const double d = sq_dist(row(i), centre(c), dim);
        if (d < bd) bd = d, best = static_cast<int>(c);
      }
      if (r.labels[i] != best) r.labels[i] = best, changed = true;
      r.inertia += bd;
    }
    if (!changed) break;
    std::fill(sums.begin(), sums.end(), 0.0);
    std::fill(counts.begin(), counts.end(), 0);
    for (std::size_t i = 0; i < n; ++i) {
      const std::size_t c = static_cast<std::size_t>(r.labels[i]);
      ++counts[c];
      for (std::size_t j = 0; j < dim; ++j) sums[c * dim + j] += row(i)[j];
    }
    for (std::size_t c = 0; c < K; ++c)
      if (counts[c] > 0)
        for (std::size_t j = 0; j < dim; ++j) centre(c)[j] = sums[c * dim + j] / double(counts[c]);
    // Emptied clusters, after every centroid has moved: each takes the point farthest from the
    // centroid it is assigned to (and that point joins it); the next iteration's assignment step
    // then makes labels, centroids and inertia agree again.
    for (std::size_t c = 0; c < K; ++c) {
      if (counts[c] > 0) continue;
      std::size_t far = 0;
      double fd = -1;
      for (std::size_t i = 0; i < n; ++i) {
        const std::size_t own = static_cast<std::size_t>(r.labels[i]);
        if (counts[own] < 2) continue;  // taking a cluster's only point would empty it
        const double d = sq_dist(row(i), centre(own), dim);
        if (d > fd) fd = d, far = i;
      }
      if (fd <= 0) continue;  // every point sits on its centroid: fewer distinct points than k
      --counts[static_cast<std::size_t>(r.labels[far])];
      ++counts[c];
      std::copy(row(far), row(far) + dim, centre(c));
      r.labels[far] = static_cast<int>(c);
    }
  }
  // Labels and inertia of the final centroids (the loop may stop at max_iter right after moving
  // them): every point to its nearest centroid.
  r.inertia = 0;
  for (std::size_t i = 0; i < n; ++i) {
    int best = 0;
    double bd = std::numeric_limits<double>::infinity();
    for (std::size_t c = 0; c < K; ++c) {
      const double d = sq_dist(row(i), centre(c), dim);
      if (d < bd) bd = d, best = static_cast<int>(c);
    }
    r.labels[i] = best;
    r.inertia += bd;
  }
  return r;
}

std::vector<Pair> balanced_pairs(const std::vector<int>& labels, std::size_t count, std::uint64_t seed) {
  const std::size_t n = labels.size();
  if (n > std::numeric_limits<std::uint32_t>::max()) throw std::invalid_argument("balanced_pairs: too many points");
  int max_label = -1;
  for (int l : labels) {
    if (l < 0) throw std::invalid_argument("balanced_pairs: negative label");
    max_label = std::max(max_label, l);
  }
  std::vector<std::vector<std::uint32_t>> members(static_cast<std::size_t>(max_label + 1));
  for (std::size_t i = 0; i < n; ++i) members[static_cast<std::size_t>(labels[i])].push_back(static_cast<std::uint32_t>(i));
  std::vector<std::uint32_t> in_shared;  // points whose cluster has another point
  std::size_t nonempty = 0;
  for (const auto& m : members) {
    nonempty += !m.empty();
    if (m.size() >= 2) in_shared.insert(in_shared.end(), m.begin(), m.end());
  }
  if (in_shared.empty()) throw std::invalid_argument("balanced_pairs: no cluster has two points");
  if (nonempty < 2) throw std::invalid_argument("balanced_pairs: all points are in one cluster");
  Rng rng(seed);
  std::vector<Pair> pairs;
  pairs.reserve(2 * count);
  for (std::size_t p = 0; p < count; ++p) {
    const std::uint32_t a = in_shared[below(rng, in_shared.size())];
    const auto& m = members[static_cast<std::size_t>(labels[a])];
    std::uint32_t b = a;
    while (b == a) b = m[below(rng, m.size())];
    pairs.push_back({a, b, true});
  }
  for (std::size_t p = 0; p < count; ++p) {
    std::uint32_t a, b;
    do {
      a = static_cast<std::uint32_t>(below(rng, n));
      b = static_cast<std::uint32_t>(below(rng, n));
    } while (labels[a] == labels[b]);
    pairs.push_back({a, b, false});
  }
  for (std::size_t i = pairs.size(); i > 1; --i) std::swap(pairs[i - 1], pairs[below(rng, i)]);
  return pairs;
}

double cosine(const float* a, const float* b, std::size_t dim) {
  double ab = 0, aa = 0, bb = 0;
  for (std::size_t j = 0; j < dim; ++j) {
    ab += double(a[j]) * b[j];
    aa += double(a[j]) * a[j];
    bb += double(b[j]) * b[j];
  }
  if (aa == 0 || bb == 0) return 0;
  return ab / std::sqrt(aa * bb);
}

std::vector<RocPoint> roc_curve(const std::vector<double>& scores, const std::vector<bool>& positive) {
  if (scores.size() != positive.size()) throw std::invalid_argument("roc_curve: scores and labels differ in length");
  std::size_t P = 0;
  for (bool p : positive) P += p;
  const std::size_t N = scores.size() - P;
  if (P == 0 || N == 0) throw std::invalid_argument("roc_curve: needs positives and negatives");
  for (double x : scores)
    if (!std::isfinite(x)) throw std::invalid_argument("roc_curve: a score is not finite");
  std::vector<std::size_t> order(scores.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return scores[a] > scores[b]; });
  std::vector<RocPoint> roc;
  roc.push_back({0, 0, std::numeric_limits<double>::infinity()});
  std::size_t tp = 0, fp = 0;
  for (std::size_t i = 0; i < order.size();) {
    const double s = scores[order[i]];
    do (positive[order[i]] ? tp : fp) += 1;  // at least one point, so the loop always advances
    while (++i < order.size() && scores[order[i]] == s);
    roc.push_back({double(fp) / double(N), double(tp) / double(P), s});
  }
  return roc;
}

double auc(const std::vector<RocPoint>& roc) {
  double a = 0;
  for (std::size_t i = 1; i < roc.size(); ++i) a += (roc[i].fpr - roc[i - 1].fpr) * (roc[i].tpr + roc[i - 1].tpr) / 2;
  return a;
}

double auc(const std::vector<double>& scores, const std::vector<bool>& positive) { return auc(roc_curve(scores, positive)); }

MeanSd mean_sd(const std::vector<double>& v) {
  MeanSd m;
  if (v.empty()) return m;
  for (double x : v) m.mean += x;
  m.mean /= double(v.size());
  if (v.size() > 1) {
    double s = 0;
    for (double x : v) s += (x - m.mean) * (x - m.mean);
    m.sd = std::sqrt(s / double(v.size() - 1));
  }
  return m;
}

}  // namespace t2i::stats
