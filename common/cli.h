// Tool conventions, shared by every executable: a thin layer over Boost.Program_options.
//
//   int main(int argc, char** argv) {
//     t2i::Cli cli({.name = "tensor-info", .purpose = "...", .usage = "...", .example = "...",
//                   .see_also = "tensor-select(1), t2i-stream(5)"});
//     int cols = 8;
//     cli.options().add_options()("cols", po::value(&cols)->default_value(8), "columns");
//     return cli.run(argc, argv, [&] { ...; return 0; });
//   }
//
// Every tool answers --help (purpose, usage, an example pipeline, options, see also), --version,
// --verbose/--quiet; tools that compute add --seed, --threads and --backend with
// add_compute_options(). run() catches t2i::Error and prints it as one line, exiting with its
// code (0 ok, 1 usage, 2 bad input, 3 runtime failure).
#pragma once

#include <boost/program_options.hpp>
#include <fmt/format.h>

#include <cstdint>
#include <functional>
#include <string>
#include <type_traits>
#include <vector>

namespace t2i {

namespace po = boost::program_options;

struct ToolInfo {
  std::string name;      // "png-to-tensor"
  std::string purpose;   // one line: what the tool does
  std::string usage;     // "png-to-tensor [options] <image-or-dir>... > <images-out>"
  std::string example;   // a real pipeline, one or more lines
  std::string see_also;  // "tensor-to-png(1), t2i-stream(5)"
};

enum class Backend { kRef, kCpu, kCuda };
const char* backend_name(Backend b);

// --seed, --threads, --backend: for tools that compute. Tools that only parallelise plain work
// (decoding images) take --threads alone.
struct ComputeOptions {
  std::uint64_t seed = 1;
  int threads = 0;  // 0: all cores
  std::string backend_text = "cpu";
  Backend backend = Backend::kCpu;
  bool threads_only = false;

  void add_to(po::options_description& desc);
  // Validates the backend and sets the thread count of the compute libraries.
  void apply();
};

class Cli {
 public:
  explicit Cli(ToolInfo info);

  // The tool's own options.
  po::options_description& options() { return tool_options_; }
  void add_compute_options();
  void add_threads_option();
  const ComputeOptions& compute() const { return compute_; }

  // Positional arguments, after parsing.
  const std::vector<std::string>& args() const { return args_; }
  // Throws UsageError unless min <= args().size() <= max.
  void expect_args(std::size_t min, std::size_t max) const;
  // Whether an option was given on the command line (not just defaulted).
  bool given(const std::string& option) const;

  // --resume continues a checkpoint's training with the checkpoint's settings: sets `var` (the
  // variable of `option`) to the checkpoint's `value`. When the option was given on the command
  // line with another value, one warning says it is ignored, rather than replacing it silently.
  template <class T, class U>
  void resumed(const std::string& option, T& var, const U& value, const std::string& checkpoint) const {
    const T kept = static_cast<T>(value);
    if (given(option) && !(var == kept)) {
      if constexpr (std::is_same_v<T, bool>)
        warn_resumed(option, "", kept ? "on" : "off", checkpoint);
      else
        warn_resumed(option, fmt::format("{}", var), fmt::format("{}", kept), checkpoint);
    }
    var = kept;
  }

  // Parses, handles --help and --version, sets up logging, runs body; returns the exit code.
  int run(int argc, char** argv, const std::function<int()>& body);

  std::string help_text() const;
  const ToolInfo& info() const { return info_; }

  // The command line this run was given, its words shell-quoted where needed ("train-gan -o
  // 'my model.st' --epochs 40"), for the provenance a trainer records in its checkpoint.
  const std::string& command_line() const { return command_line_; }

 private:
  void warn_resumed(const std::string& option, const std::string& given_value, const std::string& kept_value,
                    const std::string& checkpoint) const;

  ToolInfo info_;
  po::options_description tool_options_{"Options"};
  po::options_description common_options_{"Common options"};
  ComputeOptions compute_;
  bool has_compute_ = false;
  bool verbose_ = false, quiet_ = false;
  std::vector<std::string> args_;
  po::variables_map vm_;
  std::string command_line_;
};

// A word quoted for a POSIX shell: unchanged if it only holds safe characters, else in single
// quotes (a ' inside as '\''); a word with control characters (a newline) as bash's $'...'
// with escapes, so the quoted command stays on one line.
std::string shell_quote(const std::string& word);

// The metadata value "train.commands" of a trainer's checkpoint: every command that trained it,
// one a line, oldest first (the first run, then each --resume). `previous` is the resumed
// checkpoint's value (empty for a new training).
std::string append_command(const std::string& previous, const std::string& command);
inline constexpr const char* kCommandsKey = "train.commands";

// The toolkit's version and what it was built with, for --version.
std::string version_text();

// Whether a backend can run here: compiled in and, for cuda, a device present.
bool backend_available(Backend b, std::string* why);

}  // namespace t2i

namespace t2i {
// Parses "N" (a square) or "WxH" into positive sizes; UsageError naming the option otherwise.
void parse_size(const std::string& text, const std::string& option, int* width, int* height);
}  // namespace t2i
