#include "error.h"
#include "nn/cuda_backend.h"
#include "nn/ref_backend.h"

namespace t2i::nn {

std::unique_ptr<Backend> make_backend(const std::string& name) {
  if (name == "ref") return make_ref_backend();
  if (name == "cpu") return make_cpu_backend();
  if (name == "cuda") return make_cuda_backend();  // throws where not built or no device
  fail<UsageError>("backend '{}' is not available here (ref, cpu, cuda)", name);
}

}  // namespace t2i::nn
