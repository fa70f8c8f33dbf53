// Built when configure found a CUDA compiler with cuBLAS: device discovery for --backend cuda
// and --version. The backend kernels themselves arrive with the CUDA backend.
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cstdio>

#include "cuda_info.h"

namespace t2i {

int cuda_device_count(std::string* why) {
  int n = 0;
  cudaError_t err = cudaGetDeviceCount(&n);
  if (err != cudaSuccess) {
    *why = std::string("CUDA runtime: ") + cudaGetErrorString(err);
    return 0;
  }
  return n;
}

std::string cuda_device_summary() {
  std::string why;
  int n = cuda_device_count(&why);
  if (n == 0) return why.empty() ? "no CUDA device\n" : why + "\n";
  std::string out;
  for (int i = 0; i < n; ++i) {
    cudaDeviceProp p{};
    if (cudaGetDeviceProperties(&p, i) != cudaSuccess) continue;
    char line[512];
    std::snprintf(line, sizeof line, "cuda:%d %s (sm_%d%d, %.1f GiB)\n", i, p.name, p.major, p.minor,
                  static_cast<double>(p.totalGlobalMem) / (1 << 30));
    out += line;
  }
  int cublas_version = 0;
  cublasHandle_t h = nullptr;
  if (cublasCreate(&h) == CUBLAS_STATUS_SUCCESS) {
    cublasGetVersion(h, &cublas_version);
    cublasDestroy(h);
    out += "cuBLAS " + std::to_string(cublas_version) + "\n";
  }
  return out;
}

}  // namespace t2i
