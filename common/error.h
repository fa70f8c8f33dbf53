// Errors and exit codes shared by every tool.
//
// A tool reports a failure by throwing one of these; the tool runner (cli.h) catches it, prints
// one line "<tool>: error: <what>" on stderr and exits with the code of its kind:
//   0 ok, 1 usage (bad options or arguments), 2 bad input (a file or stream that is malformed
//   or does not fit), 3 runtime failure (I/O error, out of memory, a failed computation).
#pragma once

#include <fmt/format.h>

#include <stdexcept>
#include <string>
#include <utility>

namespace t2i {

enum class ExitCode : int { kOk = 0, kUsage = 1, kBadInput = 2, kRuntime = 3 };

class Error : public std::runtime_error {
 public:
  Error(ExitCode code, std::string what) : std::runtime_error(std::move(what)), code_(code) {}
  ExitCode code() const { return code_; }

 private:
  ExitCode code_;
};

// Bad options or arguments on the command line.
struct UsageError : Error {
  explicit UsageError(std::string what) : Error(ExitCode::kUsage, std::move(what)) {}
};

// Input that is malformed or does not fit what the tool expects.
struct InputError : Error {
  explicit InputError(std::string what) : Error(ExitCode::kBadInput, std::move(what)) {}
};

// Everything else: the system failed us (I/O, memory) or a computation went wrong.
struct RuntimeError : Error {
  explicit RuntimeError(std::string what) : Error(ExitCode::kRuntime, std::move(what)) {}
};

template <typename E, typename... Args>
[[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) {
  throw E(fmt::format(format, std::forward<Args>(args)...));
}

// "No such file or directory" for the current errno.
std::string errno_text();

}  // namespace t2i
