// Work that is parallel but whose results must come out in order (images decoded on every core
// and written to a stream in input order): make(i) runs on all threads, a batch at a time;
// take(i, result) runs on the calling thread in order. An exception thrown by make(i) is
// rethrown at i's turn, so everything before it is taken and nothing after.
#pragma once

#include <cstddef>
#include <exception>
#include <vector>

namespace t2i {

template <typename T, typename Make, typename Take>
void ordered_parallel(std::size_t n, std::size_t batch, Make make, Take take) {
  std::vector<T> results(batch);
  std::vector<std::exception_ptr> errors(batch);
  for (std::size_t start = 0; start < n; start += batch) {
    const std::size_t count = std::min(batch, n - start);
#pragma omp parallel for schedule(dynamic)
    for (std::size_t i = 0; i < count; ++i) {
      try {
        results[i] = make(start + i);
        errors[i] = nullptr;
      } catch (...) {
        errors[i] = std::current_exception();  // exceptions must not leave an OpenMP region
      }
    }
    for (std::size_t i = 0; i < count; ++i) {
      if (errors[i]) std::rethrow_exception(errors[i]);
      take(start + i, std::move(results[i]));
      results[i] = T();
    }
  }
}

}  // namespace t2i
