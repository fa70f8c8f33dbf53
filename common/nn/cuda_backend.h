// The cuda backend: plain NCHW float32 arrays in device memory, GEMM-shaped work (linear,
// convolution and transposed convolution through im2col/col2im, the recurrent layers) on cuBLAS,
// everything else as CUDA kernels with ref_kernels.h's semantics. One stream and one caching
// allocator per backend. TF32 tensor-core math is off unless T2I_CUDA_TF32=1 is set.
//
// Without a CUDA build (cuda_backend_none.cc) make_cuda_backend() throws UsageError "built
// without CUDA"; with one but no device at run time it throws RuntimeError "no CUDA device".
#pragma once

#include <memory>
#include <string>

#include "nn/backend.h"

namespace t2i::nn {

std::unique_ptr<Backend> make_cuda_backend();
// Whether make_cuda_backend() can succeed here; if not, *why (when given) says why in one line.
bool cuda_backend_available(std::string* why = nullptr);

}  // namespace t2i::nn
