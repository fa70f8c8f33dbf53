#include "file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <mutex>
#include <cstdlib>
#include <cstring>

#include "error.h"

namespace t2i {

namespace {
constexpr std::size_t kBufferSize = 1 << 20;

std::string dir_of(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}
// Temporary files in progress, removed by a signal handler if the tool is interrupted (Ctrl-C,
// kill, a closed pipe) so that no ".name.tmp-XXXXXX" is left behind. Slots hold pointers to
// the paths' characters; the handler touches only async-signal-safe calls.
constexpr int kTempSlots = 64;
std::atomic<const char*> temp_slots[kTempSlots];

extern "C" void remove_temps_and_die(int sig) {
  for (auto& slot : temp_slots)
    if (const char* p = slot.load()) ::unlink(p);
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

void install_handlers_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGPIPE}) {
      struct sigaction old {};
      ::sigaction(sig, nullptr, &old);
      if (old.sa_handler == SIG_IGN) continue;  // keep signals the caller chose to ignore
      struct sigaction sa {};
      sa.sa_handler = remove_temps_and_die;
      sigemptyset(&sa.sa_mask);
      ::sigaction(sig, &sa, nullptr);
    }
  });
}

int register_temp(const char* path) {
  install_handlers_once();
  for (int i = 0; i < kTempSlots; ++i) {
    const char* expected = nullptr;
    if (temp_slots[i].compare_exchange_strong(expected, path)) return i;
  }
  return -1;  // more than 64 files open at once: these are only removed on a normal exit
}

void unregister_temp(int slot) {
  if (slot >= 0) temp_slots[slot].store(nullptr);
}

}  // namespace

InputFile::InputFile(const std::string& path) {
  if (path == "-") {
    f_ = stdin;
    name_ = "<stdin>";
  } else {
    f_ = std::fopen(path.c_str(), "rb");
    if (!f_) fail<InputError>("{}: cannot open: {}", path, errno_text());
    owned_ = true;
    name_ = path;
  }
  std::setvbuf(f_, nullptr, _IOFBF, kBufferSize);
  probe();
}

InputFile::InputFile(std::FILE* f, std::string name, bool owned) : f_(f), owned_(owned), name_(std::move(name)) {
  probe();
}

// Learns whether the input is a regular file (seekable, with a size) or a stream.
void InputFile::probe() {
  struct stat st {};
  int fd = ::fileno(f_);
  if (fd >= 0 && ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
    size_ = static_cast<std::uint64_t>(st.st_size);
    off_t pos = ::lseek(fd, 0, SEEK_CUR);
    if (pos > 0) offset_ = static_cast<std::uint64_t>(pos);
  } else if (fd >= 0 && S_ISDIR(st.st_mode)) {
    if (owned_) std::fclose(f_);
    f_ = nullptr;
    fail<InputError>("{}: is a directory, expected a file", name_);
  }
}

InputFile::~InputFile() {
  if (owned_ && f_) std::fclose(f_);
}

std::size_t InputFile::read(void* buf, std::size_t n) {
  std::size_t got = std::fread(buf, 1, n, f_);
  offset_ += got;
  if (got < n && std::ferror(f_)) fail<RuntimeError>("{}: read error: {}", name_, errno_text());
  return got;
}

int InputFile::get() {
  int c = std::getc(f_);
  if (c == EOF) {
    if (std::ferror(f_)) fail<RuntimeError>("{}: read error: {}", name_, errno_text());
    return -1;
  }
  ++offset_;
  return c;
}

void InputFile::seek(std::uint64_t offset) {
  if (!seekable() || ::fseeko(f_, static_cast<off_t>(offset), SEEK_SET) != 0)
    fail<RuntimeError>("{}: cannot seek to offset {}", name_, offset);
  offset_ = offset;
}

std::uint64_t InputFile::skip(std::uint64_t n) {
  if (seekable()) {
    std::uint64_t target = std::min(offset_ + n, *size_);
    std::uint64_t skipped = target - offset_;
    seek(target);
    return skipped;
  }
  char buf[1 << 14];
  std::uint64_t skipped = 0;
  while (skipped < n) {
    std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(sizeof buf, n - skipped));
    std::size_t got = read(buf, want);
    skipped += got;
    if (got < want) break;
  }
  return skipped;
}

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)) {
  std::string name = path_.substr(path_.rfind('/') == std::string::npos ? 0 : path_.rfind('/') + 1);
  temp_path_ = dir_of(path_) + "/." + name + ".tmp-XXXXXX";
  int fd = ::mkstemp(temp_path_.data());
  if (fd < 0) fail<RuntimeError>("{}: cannot create a temporary file in {}: {}", path_, dir_of(path_), errno_text());
  ::fchmod(fd, 0644 & ~[] { mode_t m = ::umask(0); ::umask(m); return m; }());
  f_ = ::fdopen(fd, "wb");
  if (!f_) {
    ::close(fd);
    ::unlink(temp_path_.c_str());
    fail<RuntimeError>("{}: cannot open: {}", temp_path_, errno_text());
  }
  std::setvbuf(f_, nullptr, _IOFBF, kBufferSize);
  slot_ = register_temp(temp_path_.c_str());
}

AtomicFile::~AtomicFile() {
  if (f_) std::fclose(f_);
  if (!committed_) ::unlink(temp_path_.c_str());
  unregister_temp(slot_);
}

void AtomicFile::write(const void* data, std::size_t n) {
  if (n && std::fwrite(data, 1, n, f_) != n) fail<RuntimeError>("{}: write error: {}", path_, errno_text());
}

void AtomicFile::commit() {
  if (committed_) return;
  if (std::fflush(f_) != 0 || ::fsync(::fileno(f_)) != 0)
    fail<RuntimeError>("{}: cannot flush to disk: {}", path_, errno_text());
  int rc = std::fclose(f_);
  f_ = nullptr;
  if (rc != 0) fail<RuntimeError>("{}: cannot close: {}", path_, errno_text());
  if (std::rename(temp_path_.c_str(), path_.c_str()) != 0)
    fail<RuntimeError>("{}: cannot rename {} into place: {}", path_, temp_path_, errno_text());
  committed_ = true;
  unregister_temp(slot_);
  slot_ = -1;
  // Make the rename itself durable.
  int dfd = ::open(dir_of(path_).c_str(), O_RDONLY | O_DIRECTORY);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

OutputFile::OutputFile(const std::string& path) : name_(path == "-" ? "<stdout>" : path) {
  if (path != "-") file_.emplace(path);
}

OutputFile::~OutputFile() = default;

std::FILE* OutputFile::stream() { return file_ ? file_->stream() : stdout; }

void OutputFile::write(const void* data, std::size_t n) {
  if (file_) {
    file_->write(data, n);
  } else if (n && std::fwrite(data, 1, n, stdout) != n) {
    fail<RuntimeError>("<stdout>: write error: {}", errno_text());
  }
}

void OutputFile::close() {
  if (closed_) return;
  closed_ = true;
  if (file_) {
    file_->commit();
  } else if (std::fflush(stdout) != 0) {
    fail<RuntimeError>("<stdout>: write error: {}", errno_text());
  }
}

std::string read_file(const std::string& path) {
  InputFile in(path);
  std::string out;
  char buf[1 << 16];
  while (std::size_t n = in.read(buf, sizeof buf)) out.append(buf, n);
  return out;
}

std::vector<std::string> read_lines(const std::string& path) {
  std::string text = read_file(path);
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::size_t stop = end > start && text[end - 1] == '\r' ? end - 1 : end;
    lines.emplace_back(text, start, stop - start);
    start = end + 1;
  }
  return lines;
}

}  // namespace t2i
