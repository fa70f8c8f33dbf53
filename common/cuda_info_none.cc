// Built when configure found no CUDA compiler with cuBLAS.
#include "cuda_info.h"

namespace t2i {

int cuda_device_count(std::string* why) {
  *why = "this build has no CUDA backend";
  return 0;
}

std::string cuda_device_summary() { return "CUDA backend not built\n"; }

}  // namespace t2i
