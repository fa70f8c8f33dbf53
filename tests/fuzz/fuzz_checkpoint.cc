// libFuzzer target: the safetensors checkpoint reader and its check against a model's spec.
#include <cstdint>
#include <string_view>

#include "checkpoint.h"
#include "error.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace t2i;
  try {
    Checkpoint ck = Checkpoint::parse(std::string_view(reinterpret_cast<const char*>(data), size), "<fuzz>");
    for (const auto& name : ck.names()) ck.get(name);
    ck.check({{"g.fc.weight", DType::kFloat32, {4, 8}}, {"step", DType::kInt64, {}}});
  } catch (const InputError&) {
  }
  return 0;
}
