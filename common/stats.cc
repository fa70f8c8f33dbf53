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

std::optional<double> between_group_share(const std::vector<std::vector<double>>& groups, std::size_t dim) {
  if (dim == 0) throw std::invalid_argument("between_group_share: dim 0");
  std::vector<double> grand(dim, 0.0);
  std::size_t rows = 0, kept = 0;
  double within = 0;
  for (const auto& g : groups) {
    if (g.size() % dim != 0) throw std::invalid_argument("between_group_share: a group is not whole rows");
    const std::size_t m = g.size() / dim;
    if (m < 2) continue;
    double ss = 0;
    for (std::size_t d = 0; d < dim; ++d) {
      double mean = 0;
      for (std::size_t i = 0; i < m; ++i) mean += g[i * dim + d];
      grand[d] += mean;
      mean /= double(m);
      for (std::size_t i = 0; i < m; ++i) ss += (g[i * dim + d] - mean) * (g[i * dim + d] - mean);
    }
    within += ss / double(m - 1);
    rows += m;
    ++kept;
  }
  if (kept < 2) return std::nullopt;
  for (double& v : grand) v /= double(rows);
  double total = 0;
  for (const auto& g : groups) {
    if (g.size() / dim < 2) continue;
    for (std::size_t i = 0; i < g.size(); ++i) total += (g[i] - grand[i % dim]) * (g[i] - grand[i % dim]);
  }
  total /= double(rows - 1);
  if (!(total > 0)) return std::nullopt;
  return 1.0 - within / double(kept) / total;
}

double ridge_r2_cv(const std::vector<double>& x, std::size_t dx, const std::vector<double>& y, std::size_t dy,
                   int folds, double lambda) {
  if (dx == 0 || dy == 0 || x.size() % dx != 0 || y.size() % dy != 0 || x.size() / dx != y.size() / dy)
    throw std::invalid_argument("ridge_r2_cv: x and y must have the same number of rows");
  const std::size_t n = x.size() / dx;
  if (folds < 2 || n < 2 * static_cast<std::size_t>(folds))
    throw std::invalid_argument("ridge_r2_cv: need 2 <= folds <= rows / 2");
  if (!(lambda > 0)) throw std::invalid_argument("ridge_r2_cv: lambda must be positive");
  double sse = 0, sst = 0;
  std::vector<double> mx(dx), my(dy), a(dx * dx), b(dx * dy), xc, yc;
  for (int f = 0; f < folds; ++f) {
    auto held = [&](std::size_t i) { return i % static_cast<std::size_t>(folds) == static_cast<std::size_t>(f); };
    std::fill(mx.begin(), mx.end(), 0.0);
    std::fill(my.begin(), my.end(), 0.0);
    std::size_t m = 0;
    for (std::size_t i = 0; i < n; ++i) {
      if (held(i)) continue;
      ++m;
      for (std::size_t j = 0; j < dx; ++j) mx[j] += x[i * dx + j];
      for (std::size_t j = 0; j < dy; ++j) my[j] += y[i * dy + j];
    }
    for (double& v : mx) v /= double(m);
    for (double& v : my) v /= double(m);
    // A = Xc'Xc (lower triangle), B = Xc'Yc over the training rows; a row of A per thread, each
    // summed in row order (the same bits for any thread count).
    xc.clear();
    yc.clear();
    for (std::size_t i = 0; i < n; ++i) {
      if (held(i)) continue;
      for (std::size_t j = 0; j < dx; ++j) xc.push_back(x[i * dx + j] - mx[j]);
      for (std::size_t k = 0; k < dy; ++k) yc.push_back(y[i * dy + k] - my[k]);
    }
#pragma omp parallel for schedule(dynamic, 8)
    for (std::size_t j = 0; j < dx; ++j) {
      double* row = a.data() + j * dx;
      std::fill(row, row + dx, 0.0);
      std::fill(b.begin() + long(j * dy), b.begin() + long((j + 1) * dy), 0.0);
      for (std::size_t i = 0; i < m; ++i) {
        const double* r = xc.data() + i * dx;
        const double v = r[j];
        if (v == 0) continue;
        for (std::size_t k = 0; k <= j; ++k) row[k] += v * r[k];
        for (std::size_t k = 0; k < dy; ++k) b[j * dy + k] += v * yc[i * dy + k];
      }
    }
    double trace = 0;
    for (std::size_t j = 0; j < dx; ++j) trace += a[j * dx + j];
    const double pen = lambda * (trace > 0 ? trace / double(dx) : 1.0);
    for (std::size_t j = 0; j < dx; ++j) a[j * dx + j] += pen;
    // Cholesky A = L L' in place (lower triangle), then W = A^-1 B column by column.
    for (std::size_t j = 0; j < dx; ++j) {
      double d = a[j * dx + j];
      for (std::size_t k = 0; k < j; ++k) d -= a[j * dx + k] * a[j * dx + k];
      d = std::sqrt(d);
      a[j * dx + j] = d;
      for (std::size_t i = j + 1; i < dx; ++i) {
        double v = a[i * dx + j];
        for (std::size_t k = 0; k < j; ++k) v -= a[i * dx + k] * a[j * dx + k];
        a[i * dx + j] = v / d;
      }
    }
    for (std::size_t c = 0; c < dy; ++c) {
      for (std::size_t j = 0; j < dx; ++j) {  // L u = b
        double v = b[j * dy + c];
        for (std::size_t k = 0; k < j; ++k) v -= a[j * dx + k] * b[k * dy + c];
        b[j * dy + c] = v / a[j * dx + j];
      }
      for (std::size_t j = dx; j-- > 0;) {  // L' w = u
        double v = b[j * dy + c];
        for (std::size_t k = j + 1; k < dx; ++k) v -= a[k * dx + j] * b[k * dy + c];
        b[j * dy + c] = v / a[j * dx + j];
      }
    }
    for (std::size_t i = 0; i < n; ++i) {
      if (!held(i)) continue;
      for (std::size_t k = 0; k < dy; ++k) {
        double p = my[k];
        for (std::size_t j = 0; j < dx; ++j) p += (x[i * dx + j] - mx[j]) * b[j * dy + k];
        const double t = y[i * dy + k];
        sse += (t - p) * (t - p);
        sst += (t - my[k]) * (t - my[k]);
      }
    }
  }
  return sst > 0 ? 1.0 - sse / sst : 0.0;
}

}  // namespace t2i::stats
