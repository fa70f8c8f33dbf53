// What the CUDA side of the build can see. Without a CUDA build these report no devices.
#pragma once

#include <string>

namespace t2i {

// Number of CUDA devices, 0 if none; sets *why when the runtime reports an error.
int cuda_device_count(std::string* why);
// One line per device: index, name, compute capability, memory.
std::string cuda_device_summary();

}  // namespace t2i
