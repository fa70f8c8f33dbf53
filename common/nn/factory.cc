#include "error.h"
#include "nn/ref_backend.h"

namespace t2i::nn {

std::unique_ptr<Backend> make_backend(const std::string& name) {
  if (name == "ref") return make_ref_backend();
  if (name == "cpu") return make_cpu_backend();
  fail<UsageError>("backend '{}' is not available here (ref, cpu)", name);
}

}  // namespace t2i::nn
