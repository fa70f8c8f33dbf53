// Caption files as the tools exchange them: "key<TAB>caption" lines (list-captions' output),
// keyed by image; blank lines are skipped. The class of an image is its key up to the first '/'
// (CUB and Oxford-102 keys are "<class>/<image>").
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace t2i {

struct CaptionLine {
  std::string key, caption;
  std::size_t line = 0;  // 1-based line number in the file
};

// Every non-blank line of the file ("-": stdin); InputError naming file and line for a line
// without a key and a tab.
std::vector<CaptionLine> read_caption_lines(const std::string& path);

// "001.Black_footed_Albatross/Black_Footed_Albatross_0001" -> "001.Black_footed_Albatross".
inline std::string class_of(const std::string& key) { return key.substr(0, key.find('/')); }

}  // namespace t2i
