// libFuzzer target: the PNG and JPEG decoders, which read files users hand to png-to-tensor.
#include <cstdint>
#include <string_view>

#include "error.h"
#include "image.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace t2i;
  try {
    Image img = decode_image(std::string_view(reinterpret_cast<const char*>(data), size), "<fuzz>");
    resize_area(img, 7, 5);
  } catch (const InputError&) {
  }
  return 0;
}
