#include "log.h"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "error.h"

namespace t2i {

std::string errno_text() { return std::strerror(errno); }

namespace log {
namespace {
std::string& program_name() {
  static std::string name = "t2igan";
  return name;
}
std::atomic<int> current_level{static_cast<int>(Level::kInfo)};
}  // namespace

void set_program(std::string_view name) { program_name() = std::string(name); }
const std::string& program() { return program_name(); }
void set_level(Level l) { current_level = static_cast<int>(l); }
Level level() { return static_cast<Level>(current_level.load()); }

void write_line(Level l, std::string_view text) {
  std::string line = program_name();
  switch (l) {
    case Level::kError: line += ": error: "; break;
    case Level::kWarning: line += ": warning: "; break;
    default: line += ": "; break;
  }
  line += text;
  line += '\n';
  const char* p = line.data();
  size_t left = line.size();
  while (left > 0) {
    ssize_t n = ::write(STDERR_FILENO, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      return;  // stderr is gone; nothing better to do
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
}

}  // namespace log
}  // namespace t2i
