#include "cli.h"

#include <oneapi/dnnl/dnnl.h>
#include <omp.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <new>
#include <sstream>

#include "cuda_info.h"
#include "error.h"
#include "log.h"
#include "version.h"

namespace t2i {

const char* backend_name(Backend b) {
  switch (b) {
    case Backend::kRef: return "ref";
    case Backend::kCpu: return "cpu";
    case Backend::kCuda: return "cuda";
  }
  return "?";
}

bool backend_available(Backend b, std::string* why) {
  if (b != Backend::kCuda) return true;
  if (!kBuiltWithCuda) {
    *why = "this build has no CUDA backend (configure found no CUDA compiler with cuBLAS)";
    return false;
  }
  int devices = cuda_device_count(why);
  if (devices <= 0) {
    if (why->empty()) *why = "no CUDA device found";
    return false;
  }
  return true;
}

void ComputeOptions::add_to(po::options_description& desc) {
  desc.add_options()("threads", po::value(&threads)->default_value(threads), "threads (0: all cores)");
  if (threads_only) return;
  desc.add_options()
      ("seed", po::value(&seed)->default_value(seed), "seed of the random number generator")
      ("backend", po::value(&backend_text)->default_value(backend_text), "compute backend: ref, cpu (oneDNN) or cuda");
}

void ComputeOptions::apply() {
  if (threads < 0) fail<UsageError>("--threads {} is negative", threads);
  if (threads > 0) omp_set_num_threads(threads);
  if (threads_only) return;
  if (backend_text == "ref") backend = Backend::kRef;
  else if (backend_text == "cpu") backend = Backend::kCpu;
  else if (backend_text == "cuda") backend = Backend::kCuda;
  else fail<UsageError>("--backend '{}' is not one of ref, cpu, cuda", backend_text);
  std::string why;
  if (!backend_available(backend, &why)) fail<UsageError>("--backend {}: {}", backend_text, why);
}

std::string version_text() {
  const dnnl_version_t* v = dnnl_version();
  return fmt::format("(t2igan) {}\noneDNN {}.{}.{}\nCUDA backend: {}", kVersion, v->major, v->minor, v->patch,
                     kBuiltWithCuda ? "built" : "not built");
}

Cli::Cli(ToolInfo info) : info_(std::move(info)) {
  common_options_.add_options()
      ("help,h", "print this help and exit")
      ("version", "print the version and exit")
      ("verbose,v", po::bool_switch(&verbose_), "log more detail to stderr")
      ("quiet,q", po::bool_switch(&quiet_), "log only errors and warnings; no progress");
}

void Cli::add_compute_options() {
  if (has_compute_) return;
  has_compute_ = true;
  compute_.add_to(common_options_);
}

void Cli::add_threads_option() {
  if (has_compute_) return;
  has_compute_ = true;
  compute_.threads_only = true;
  compute_.add_to(common_options_);
}

void Cli::expect_args(std::size_t min, std::size_t max) const {
  if (args_.size() < min || args_.size() > max) {
    if (min == max) fail<UsageError>("expected {} argument{}, got {}", min, min == 1 ? "" : "s", args_.size());
    if (args_.size() < min) fail<UsageError>("expected at least {} argument{}, got {}", min, min == 1 ? "" : "s", args_.size());
    fail<UsageError>("expected at most {} argument{}, got {}", max, max == 1 ? "" : "s", args_.size());
  }
}

bool Cli::given(const std::string& option) const { return vm_.count(option) && !vm_[option].defaulted(); }

void Cli::warn_resumed(const std::string& option, const std::string& given_value, const std::string& kept_value,
                       const std::string& checkpoint) const {
  if (given_value.empty())  // a switch
    log::warn("--{} is ignored: --resume continues {} with it {}, as it was trained (start a new run to change it)", option,
              checkpoint, kept_value);
  else
    log::warn("--{} {} is ignored: --resume continues {} with --{} {}, as it was trained (start a new run to change it)",
              option, given_value, checkpoint, option, kept_value);
}

std::string Cli::help_text() const {
  std::ostringstream out;
  out << info_.name << ": " << info_.purpose << "\n\n";
  out << "Usage: " << info_.usage << "\n";
  std::istringstream example(info_.example);
  std::string line;
  bool first = true;
  while (std::getline(example, line)) {
    out << (first ? "e.g.:  " : "       ") << line << "\n";
    first = false;
  }
  out << "\n";
  if (!tool_options_.options().empty()) out << tool_options_ << "\n";
  out << common_options_ << "\n";
  out << "Exit status: 0 ok, 1 usage error, 2 bad input, 3 runtime failure.\n";
  if (!info_.see_also.empty()) out << "See also: " << info_.see_also << "\n";
  return out.str();
}

std::string shell_quote(const std::string& word) {
  auto safe = [](unsigned char c) { return std::isalnum(c) || std::strchr("@%+=:,./_-", c) != nullptr; };
  if (!word.empty() && std::all_of(word.begin(), word.end(), safe)) return word;
  auto control = [](unsigned char c) { return c < 0x20 || c == 0x7f; };
  if (std::any_of(word.begin(), word.end(), control)) {  // bash's $'...', so a command stays on one line
    std::string out = "$'";
    for (unsigned char c : word) {
      if (c == '\n') out += "\\n";
      else if (c == '\t') out += "\\t";
      else if (c == '\\' || c == '\'') out += std::string("\\") + static_cast<char>(c);
      else if (control(c)) out += fmt::format("\\x{:02x}", static_cast<unsigned>(c));
      else out += static_cast<char>(c);
    }
    return out + "'";
  }
  std::string out = "'";
  for (char c : word) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string append_command(const std::string& previous, const std::string& command) {
  return previous.empty() ? command : previous + "\n" + command;
}

int Cli::run(int argc, char** argv, const std::function<int()>& body) {
  log::set_program(info_.name);
  command_line_ = info_.name;
  for (int i = 1; i < argc; ++i) command_line_ += " " + shell_quote(argv[i]);
  try {
    try {
      po::options_description all;
      all.add(tool_options_).add(common_options_);
      all.add_options()("args", po::value(&args_)->composing());
      po::positional_options_description positional;
      positional.add("args", -1);
      po::store(po::command_line_parser(argc, argv).options(all).positional(positional).run(), vm_);
      if (vm_.count("help")) {
        std::cout << help_text();
        return 0;
      }
      if (vm_.count("version")) {
        std::cout << info_.name << " " << version_text() << "\n";
        return 0;
      }
      po::notify(vm_);
    } catch (const po::error& e) {
      throw UsageError(e.what());
    }
    if (verbose_ && quiet_) throw UsageError("--verbose and --quiet exclude each other");
    log::set_level(verbose_ ? log::Level::kDebug : quiet_ ? log::Level::kWarning : log::Level::kInfo);
    if (has_compute_) compute_.apply();
    return body();
  } catch (const UsageError& e) {
    log::error("{} (see {} --help)", e.what(), info_.name);
    return static_cast<int>(ExitCode::kUsage);
  } catch (const Error& e) {
    log::error("{}", e.what());
    return static_cast<int>(e.code());
  } catch (const std::bad_alloc&) {
    log::error("out of memory");
    return static_cast<int>(ExitCode::kRuntime);
  } catch (const std::exception& e) {
    log::error("{}", e.what());
    return static_cast<int>(ExitCode::kRuntime);
  }
}

}  // namespace t2i

namespace t2i {
void parse_size(const std::string& text, const std::string& option, int* width, int* height) {
  int w = 0, h = 0;
  char x = 0, extra = 0;
  int n = std::sscanf(text.c_str(), "%d%c%d%c", &w, &x, &h, &extra);
  if (n == 1) h = w;
  else if (!(n == 3 && (x == 'x' || x == 'X'))) w = h = 0;
  if (w <= 0 || h <= 0 || w > 16384 || h > 16384)
    fail<UsageError>("--{} '{}': expected N or WxH with sizes from 1 to 16384", option, text);
  *width = w;
  *height = h;
}
}  // namespace t2i
