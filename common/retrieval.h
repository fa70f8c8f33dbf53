// R-precision (R = 1), the text-to-image retrieval score of Reed et al.'s successors (AttnGAN's
// "R-precision"): an image's embedding ranks its true text candidate against k negatives by
// cosine similarity; a hit when the true candidate scores strictly above every negative (a tie
// is a miss, so constant or degenerate embeddings cannot score). With k negatives drawn at
// random, an uninformative embedding scores 1 / (k + 1) on average.
//
// Candidates must be of one kind: eval-images ranks the mean caption embedding of a sample's
// caption key (what generate was fed, encode-text --mode mean) against the mean caption
// embeddings of k caption keys of other classes, never a mean against single sentences.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace t2i::stats {

// Whether the query's cosine to `truth` exceeds its cosine to every negative (all rows of dim).
bool ranks_first(const float* query, const float* truth, const std::vector<const float*>& negatives, std::size_t dim);

// Per query i (a row of queries [n, dim]): 1 when candidate truth[i] ranks first against the
// candidates negatives[i] (rows of candidates [m, dim]), else 0. std::invalid_argument for an
// index out of range, a negative equal to the truth, or lengths that disagree.
std::vector<double> r_precision_hits(const std::vector<float>& queries, const std::vector<float>& candidates,
                                     std::size_t dim, const std::vector<std::size_t>& truth,
                                     const std::vector<std::vector<std::size_t>>& negatives);

// k distinct elements of pool, drawn uniformly without replacement for a seed (common/rng.h),
// in draw order. std::invalid_argument when the pool holds fewer than k.
std::vector<std::size_t> draw_without_replacement(const std::vector<std::size_t>& pool, std::size_t k, std::uint64_t seed);

}  // namespace t2i::stats
