#include "loaders/text.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "error.h"

namespace t2i::data {

std::vector<std::string> read_text_lines(const std::string& path, const std::string& shown, std::size_t max_line,
                                         std::size_t max_lines) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) fail<InputError>("{}: cannot open: {}", shown, std::strerror(errno));
  std::vector<std::string> lines;
  std::string line;
  bool at_start = true, pending = false;
  char buf[16384];
  std::size_t n;
  auto end_line = [&] {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (lines.size() >= max_lines) fail<InputError>("{}: more than {} lines; is this the right file?", shown, max_lines);
    lines.push_back(std::move(line));
    line.clear();
    pending = false;
  };
  while ((n = std::fread(buf, 1, sizeof buf, f.get())) > 0) {
    std::size_t i = 0;
    if (at_start) {
      at_start = false;
      if (n >= 3 && std::memcmp(buf, "\xEF\xBB\xBF", 3) == 0) i = 3;
    }
    for (; i < n; ++i) {
      char c = buf[i];
      if (c == '\n') {
        end_line();
        continue;
      }
      if (c == '\0')
        fail<InputError>("{}:{}: NUL byte: expected a text file", shown, lines.size() + 1);
      if (line.size() >= max_line)
        fail<InputError>("{}:{}: line longer than {} bytes: expected a text file", shown, lines.size() + 1, max_line);
      line.push_back(c);
      pending = true;
    }
  }
  if (std::ferror(f.get())) fail<RuntimeError>("{}: read error", shown);
  if (pending) end_line();
  return lines;
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> split_fields(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && is_space(s[i])) ++i;
    std::size_t j = i;
    while (j < s.size() && !is_space(s[j])) ++j;
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

bool has_space(std::string_view s) {
  for (char c : s)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return true;
  return false;
}

namespace {
// Length of the valid UTF-8 sequence at s[i], or 0 if invalid.
std::size_t utf8_length(std::string_view s, std::size_t i) {
  auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = b(i);
  std::size_t len;
  std::uint32_t cp;
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) len = 2, cp = c & 0x1F;
  else if (c >= 0xE0 && c <= 0xEF) len = 3, cp = c & 0x0F;
  else if (c >= 0xF0 && c <= 0xF4) len = 4, cp = c & 0x07;
  else return 0;
  if (i + len > s.size()) return 0;
  for (std::size_t k = 1; k < len; ++k) {
    if ((b(i + k) & 0xC0) != 0x80) return 0;
    cp = cp << 6 | (b(i + k) & 0x3F);
  }
  if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) || (cp >= 0xD800 && cp <= 0xDFFF))
    return 0;
  return len;
}
}  // namespace

std::string clean_caption(std::string_view line) {
  std::string out;
  out.reserve(line.size());
  for (std::size_t i = 0; i < line.size();) {
    std::size_t len = utf8_length(line, i);
    if (len == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
      continue;
    }
    if (len == 1) {
      unsigned char c = static_cast<unsigned char>(line[i]);
      out.push_back(c < 0x20 || c == 0x7f ? ' ' : static_cast<char>(c));
    } else {
      out.append(line.substr(i, len));
    }
    i += len;
  }
  return std::string(trim(out));
}

}  // namespace t2i::data
