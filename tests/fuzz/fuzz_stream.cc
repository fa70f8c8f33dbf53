// libFuzzer target: the tensor stream readers. Bad input must end in InputError; anything
// else escaping (a crash, a sanitizer report, another exception, a huge allocation) is a finding.
#include <cstdint>

#include "error.h"
#include "fuzz_input.h"
#include "stream.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace t2i;
  const ReaderLimits limits{.max_record_bytes = std::uint64_t{1} << 26};
  if (auto pipe = fuzz::as_pipe(data, size)) {
    try {
      StreamReader reader(std::move(pipe), limits);
      Record rec;
      while (reader.next(&rec)) {
      }
    } catch (const InputError&) {
    }
  }
  if (auto file = fuzz::as_file(data, size)) {
    try {
      KeyedReader keyed(std::move(file), limits);
      for (const auto& key : keyed.keys()) keyed.get(key);
    } catch (const InputError&) {
    }
  }
  return 0;
}
