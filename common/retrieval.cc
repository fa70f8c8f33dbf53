#include "retrieval.h"

#include <algorithm>
#include <stdexcept>
#include <unordered_set>

#include "rng.h"
#include "stats.h"

namespace t2i::stats {

bool ranks_first(const float* query, const float* truth, const std::vector<const float*>& negatives, std::size_t dim) {
  const double t = cosine(query, truth, dim);
  for (const float* neg : negatives)
    if (!(t > cosine(query, neg, dim))) return false;  // a tie (or NaN) is a miss
  return true;
}

std::vector<double> r_precision_hits(const std::vector<float>& queries, const std::vector<float>& candidates,
                                     std::size_t dim, const std::vector<std::size_t>& truth,
                                     const std::vector<std::vector<std::size_t>>& negatives) {
  if (dim == 0 || queries.size() % dim != 0 || candidates.size() % dim != 0)
    throw std::invalid_argument("r_precision_hits: queries or candidates are not rows of dim");
  const std::size_t n = queries.size() / dim, m = candidates.size() / dim;
  if (truth.size() != n || negatives.size() != n)
    throw std::invalid_argument("r_precision_hits: one truth and one negative list per query expected");
  std::vector<double> hits(n, 0.0);
  std::vector<const float*> neg;
  for (std::size_t i = 0; i < n; ++i) {
    if (truth[i] >= m) throw std::invalid_argument("r_precision_hits: truth index out of range");
    neg.clear();
    for (std::size_t j : negatives[i]) {
      if (j >= m) throw std::invalid_argument("r_precision_hits: negative index out of range");
      if (j == truth[i]) throw std::invalid_argument("r_precision_hits: a negative is the true candidate");
      neg.push_back(candidates.data() + j * dim);
    }
    hits[i] = ranks_first(queries.data() + i * dim, candidates.data() + truth[i] * dim, neg, dim) ? 1.0 : 0.0;
  }
  return hits;
}

std::vector<std::size_t> draw_without_replacement(const std::vector<std::size_t>& pool, std::size_t k, std::uint64_t seed) {
  if (pool.size() < k) throw std::invalid_argument("draw_without_replacement: the pool is smaller than k");
  Rng rng(seed);
  auto below = [&](std::size_t n) { return static_cast<std::size_t>(rng.uniform() * double(n)) % n; };
  std::vector<std::size_t> out;
  out.reserve(k);
  if (pool.size() > 4 * k) {  // rejection: cheap for a large pool
    std::unordered_set<std::size_t> drawn;
    while (out.size() < k) {
      const std::size_t at = below(pool.size());
      if (drawn.insert(at).second) out.push_back(pool[at]);
    }
  } else {  // a partial shuffle of a copy
    std::vector<std::size_t> p = pool;
    for (std::size_t j = 0; j < k; ++j) {
      std::swap(p[j], p[j + below(p.size() - j)]);
      out.push_back(p[j]);
    }
  }
  return out;
}

}  // namespace t2i::stats
