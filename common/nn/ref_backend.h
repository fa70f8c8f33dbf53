#pragma once

#include <memory>

#include "nn/backend.h"

namespace t2i::nn {
std::unique_ptr<Backend> make_ref_backend();
std::unique_ptr<Backend> make_cpu_backend();  // oneDNN
}  // namespace t2i::nn
