// Skipping the cases of a backend this build or machine cannot run (shared by the unit tests).
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "nn/cuda_backend.h"

// In a gtest body or SetUp: a case of the cuda backend is skipped (reported as skipped, never
// as passed) where this build has no CUDA backend or this machine no device.
#define T2I_SKIP_UNLESS_BACKEND(name)                                              \
  do {                                                                             \
    std::string why_;                                                              \
    if (std::string(name) == "cuda" && !::t2i::nn::cuda_backend_available(&why_))  \
      GTEST_SKIP() << "cuda: " << why_;                                            \
  } while (0)
