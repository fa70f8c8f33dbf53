// Built when configure found no CUDA compiler with cuBLAS: the cuda backend is absent.
#include "error.h"
#include "nn/cuda_backend.h"

namespace t2i::nn {

std::unique_ptr<Backend> make_cuda_backend() {
  fail<UsageError>("backend 'cuda' is not available: this toolkit was built without CUDA (ref, cpu)");
}

bool cuda_backend_available(std::string* why) {
  if (why) *why = "built without CUDA";
  return false;
}

}  // namespace t2i::nn
