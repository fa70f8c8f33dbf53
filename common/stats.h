// Statistics for the disentangling probe (PAPER.md section 7): k-means with k-means++ seeding,
// balanced same/different pairs from cluster labels, cosine scores, ROC curves and the area under
// them. Deterministic for a given seed (common/rng.h), independent of thread count.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace t2i::stats {

struct KMeansResult {
  std::vector<int> labels;           // per point, 0..k-1
  std::vector<double> centroids;     // k rows of dim
  double inertia = 0;                // sum of squared distances to the assigned centroid
  int iterations = 0;                // Lloyd iterations run
};

// Lloyd's k-means of n points (rows of dim in `points`) into k clusters, seeded by k-means++
// (each next centre drawn with probability proportional to the squared distance to the nearest
// chosen one), until no assignment changes or max_iter iterations. An emptied cluster is
// re-seeded, after all centroids are updated, with the point farthest from its centroid (of a
// cluster that keeps another point), or left empty when every point sits on its centroid (fewer
// distinct points than k: equal points stay together). The labels and inertia returned are those
// of the returned centroids (each point to its nearest). Requires 1 <= k <= n
// (std::invalid_argument).
KMeansResult kmeans(const std::vector<double>& points, std::size_t dim, int k, std::uint64_t seed, int max_iter = 100);

struct Pair {
  std::uint32_t a = 0, b = 0;  // point indices, a != b
  bool same = false;           // same cluster
};

// `count` same-cluster pairs and `count` different-cluster pairs of distinct points, drawn
// uniformly with replacement (a same pair: a random point of a cluster of two or more, and
// another point of its cluster), in a seeded random order. std::invalid_argument if no cluster
// has two points or all points share one cluster.
std::vector<Pair> balanced_pairs(const std::vector<int>& labels, std::size_t count, std::uint64_t seed);

// Cosine similarity of two vectors; 0 when either is zero.
double cosine(const float* a, const float* b, std::size_t dim);

struct RocPoint {
  double fpr = 0, tpr = 0, threshold = 0;
};

// The ROC curve of scores (higher: more likely positive) against labels, one point per distinct
// score from (0,0) to (1,1) (tied scores move both rates at once). std::invalid_argument unless
// there is at least one positive and one negative, or when a score is NaN or infinite.
std::vector<RocPoint> roc_curve(const std::vector<double>& scores, const std::vector<bool>& positive);

// The area under the ROC curve (trapezoids; equal to the Mann-Whitney probability that a random
// positive outscores a random negative, ties counting one half).
double auc(const std::vector<RocPoint>& roc);
double auc(const std::vector<double>& scores, const std::vector<bool>& positive);

// The mean and the sample standard deviation (n - 1; 0 for one value).
struct MeanSd {
  double mean = 0, sd = 0;
};
MeanSd mean_sd(const std::vector<double>& v);

// How much of y a linear map of x explains, cross-validated: the rows (n of x, dx wide, and of y,
// dy wide) are dealt into `folds` folds (row i to fold i mod folds); each fold is predicted by a
// ridge regression fitted on the others (both sides centred on the training rows' means, penalty
// lambda * trace(X'X) / dx, solved by Cholesky). Returns 1 - (squared error over every held-out
// row and output) / (squared deviation of the same values from the training rows' means): 1 for
// an exact linear relation, about 0 or below for none. std::invalid_argument unless
// 2 <= folds <= n / 2, the sizes agree and lambda > 0.
double ridge_r2_cv(const std::vector<double>& x, std::size_t dx, const std::vector<double>& y, std::size_t dy,
                   int folds, double lambda = 1e-2);

// How much of the spread of some vectors lies between their groups rather than within them (an
// intraclass correlation): 1 - W / T, where W is the mean over groups of the variance of a group's
// rows about their own mean and T the variance of all rows about the grand mean, both with n - 1
// and summed over the `dim` coordinates. Each group is a flat vector of its rows (a multiple of
// dim values); groups of fewer than two rows are left out. 1 when the rows of every group are
// equal, about 0 when the grouping is at random (a little below 0 by chance). std::nullopt when
// fewer than two groups remain or all their rows are equal. std::invalid_argument when dim is 0
// or a group is not whole rows.
std::optional<double> between_group_share(const std::vector<std::vector<double>>& groups, std::size_t dim);

}  // namespace t2i::stats
