// Seeded random numbers that are the same on every platform and standard library (no
// std::*_distribution, whose algorithms differ between implementations): splitmix64 for the bits,
// Box-Muller in double for normals. Used for initial weights, data rendering and sampling.
#pragma once

#include <cstddef>
#include <cstdint>

namespace t2i {

class Rng {
 public:
  explicit Rng(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next_u64();
  double uniform();                      // [0, 1)
  double uniform(double lo, double hi);  // [lo, hi)
  int below(int n);                      // [0, n)
  bool chance(double p) { return uniform() < p; }
  double normal();
  float normal(float mean, float stddev) { return static_cast<float>(mean + stddev * normal()); }

 private:
  std::uint64_t state_;
  bool have_spare_ = false;
  double spare_ = 0;
};

// Bare splitmix64 whose whole state is one public integer, so a training tool can keep it in its
// checkpoint's metadata and --resume continues the same sequence (train-text, train-judge).
struct SplitMix64 {
  std::uint64_t state;
  std::uint64_t next() {
    std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  std::size_t below(std::size_t n) { return static_cast<std::size_t>(next() % n); }
};

// A seed derived from two numbers (a run's seed and an item's id), well mixed.
std::uint64_t mix(std::uint64_t a, std::uint64_t b);

}  // namespace t2i
