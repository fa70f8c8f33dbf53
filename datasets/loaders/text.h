// Reading the small text files of dataset folders safely: line by line, with a bound on the
// length of a line and on the number of lines, so that a garbage file (a binary, a huge file
// without newlines) gives a clear error instead of an unbounded allocation.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace t2i::data {

inline constexpr std::size_t kMaxLineBytes = 64 * 1024;
inline constexpr std::size_t kMaxLines = std::size_t{1} << 22;

// The lines of a text file, blank ones included (so line n is element n-1), without "\n" or
// "\r\n"; a UTF-8 byte order mark at the start is dropped. `shown` names the file in messages.
// InputError if the file cannot be opened, holds a NUL byte, a line longer than max_line bytes,
// or more than max_lines lines.
std::vector<std::string> read_text_lines(const std::string& path, const std::string& shown,
                                         std::size_t max_line = kMaxLineBytes,
                                         std::size_t max_lines = kMaxLines);

// Whitespace: space, tab, CR, LF, VT, FF.
bool is_space(char c);
std::string_view trim(std::string_view s);
// Splits on runs of whitespace.
std::vector<std::string_view> split_fields(std::string_view s);
// Whether s holds any whitespace or control byte.
bool has_space(std::string_view s);

// A caption as the tools emit it: invalid UTF-8 sequences replaced by U+FFFD, control bytes
// (tab, CR, ...) turned into spaces, runs of spaces kept as they are, ends trimmed.
std::string clean_caption(std::string_view line);

}  // namespace t2i::data
