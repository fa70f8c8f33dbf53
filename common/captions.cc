#include "captions.h"

#include "error.h"
#include "file.h"

namespace t2i {

std::vector<CaptionLine> read_caption_lines(const std::string& path) {
  std::vector<CaptionLine> out;
  std::size_t n = 0;
  for (std::string& line : read_lines(path)) {
    ++n;
    if (line.empty()) continue;
    const auto tab = line.find('\t');
    if (tab == std::string::npos || tab == 0) fail<InputError>("{}:{}: expected 'key<TAB>caption'", path, n);
    out.push_back({line.substr(0, tab), line.substr(tab + 1), n});
  }
  return out;
}

}  // namespace t2i
