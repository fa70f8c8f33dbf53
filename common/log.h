// Logging to stderr, every line prefixed with the tool's name so that the mixed stderr of a
// pipeline stays readable: "png-to-tensor: wrote 12 records".
#pragma once

#include <fmt/format.h>

#include <string>
#include <string_view>

namespace t2i::log {

enum class Level : int { kError = 0, kWarning = 1, kInfo = 2, kDebug = 3 };

void set_program(std::string_view name);
const std::string& program();
void set_level(Level level);
Level level();
inline bool enabled(Level l) { return static_cast<int>(l) <= static_cast<int>(level()); }

// Writes one whole line, prefixed, in one write(2) so lines of concurrent tools do not mix.
void write_line(Level level, std::string_view text);

template <typename... Args>
void error(fmt::format_string<Args...> f, Args&&... args) {
  write_line(Level::kError, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void warn(fmt::format_string<Args...> f, Args&&... args) {
  if (enabled(Level::kWarning)) write_line(Level::kWarning, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void info(fmt::format_string<Args...> f, Args&&... args) {
  if (enabled(Level::kInfo)) write_line(Level::kInfo, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void debug(fmt::format_string<Args...> f, Args&&... args) {
  if (enabled(Level::kDebug)) write_line(Level::kDebug, fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace t2i::log
