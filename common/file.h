// Files opened by path, where "-" means stdin or stdout, and outputs that are written to a
// temporary name and renamed into place only when complete, so an interrupted or failed write
// never leaves a broken file where a good one (or none) was.
#pragma once

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace t2i {

// A readable byte source with an offset: a regular file (seekable, size known) or a pipe.
class InputFile {
 public:
  explicit InputFile(const std::string& path);  // "-" reads stdin
  // Reads an already open stream (a pipe, fmemopen, a memfd), named `name` in messages.
  InputFile(std::FILE* f, std::string name, bool owned);
  ~InputFile();
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;

  // Reads up to n bytes; fewer only at end of file. Throws RuntimeError on an I/O error.
  std::size_t read(void* buf, std::size_t n);
  // Reads one byte; -1 at end of file.
  int get();
  std::uint64_t offset() const { return offset_; }
  // The total size of a regular file; nullopt for a pipe or terminal.
  std::optional<std::uint64_t> size() const { return size_; }
  bool seekable() const { return size_.has_value(); }
  void seek(std::uint64_t offset);
  // Skips n bytes forward (seeks where possible, reads otherwise). Returns the bytes skipped.
  std::uint64_t skip(std::uint64_t n);
  // How the file is named in messages: its path, or "<stdin>".
  const std::string& name() const { return name_; }

 private:
  void probe();

  std::FILE* f_ = nullptr;
  bool owned_ = false;
  std::string name_;
  std::uint64_t offset_ = 0;
  std::optional<std::uint64_t> size_;
};

// A file written under a temporary name in the same directory and renamed over the target on
// commit(), after fsync. Destroyed without commit(), it removes the temporary file; so does a
// handler for SIGINT, SIGTERM, SIGHUP and SIGPIPE, installed with the first AtomicFile.
class AtomicFile {
 public:
  explicit AtomicFile(std::string path);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  std::FILE* stream() { return f_; }
  void write(const void* data, std::size_t n);
  void commit();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::string temp_path_;
  std::FILE* f_ = nullptr;
  bool committed_ = false;
  int slot_ = -1;  // in the table of temporary files removed on a fatal signal
};

// An output that is either stdout ("-") or an AtomicFile.
class OutputFile {
 public:
  explicit OutputFile(const std::string& path);
  ~OutputFile();
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;

  std::FILE* stream();
  void write(const void* data, std::size_t n);
  void write(std::string_view s) { write(s.data(), s.size()); }
  // Flushes stdout, or commits the file. Without close(), a file output is discarded.
  void close();
  const std::string& name() const { return name_; }

 private:
  std::string name_;
  std::optional<AtomicFile> file_;
  bool closed_ = false;
};

// Reads a whole (small) text or binary file; throws InputError if it cannot be opened.
std::string read_file(const std::string& path);

// The lines of a text file ("-": stdin), without line endings ("\n" or "\r\n").
std::vector<std::string> read_lines(const std::string& path);

}  // namespace t2i
