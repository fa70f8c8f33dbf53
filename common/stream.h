// Tensor streams: a sequence of records, each a key (UTF-8, no whitespace), one space, and one
// NumPy .npy 1.0 array. Records are self-delimiting, so `cat a b` concatenates streams.
// The format is specified in man/man5/t2i-stream.5.
//
//   StreamReader  reads records in order from a file or stdin ("-")
//   KeyedReader   joins by key: random access over a file, or over a stream held in memory
//   StreamWriter  writes records to stdout ("-") or to a file, renamed into place on close()
//
// Readers validate every record and report bad input as InputError with the stream's name, the
// byte offset and key of the record, and what was expected. They never allocate more than the
// data actually present (plus a bounded chunk), whatever sizes a header claims.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "file.h"
#include "npy.h"
#include "tensor.h"

namespace t2i {

inline constexpr std::size_t kMaxKeyBytes = 4096;

struct ReaderLimits {
  // A record claiming more bytes than this is rejected before any data is read.
  std::uint64_t max_record_bytes = std::uint64_t{16} << 30;
};

struct Record {
  std::string key;
  Tensor tensor;
};

// The header of a record, as found in the stream.
struct RecordInfo {
  std::string key;
  npy::Header header;
  std::uint64_t offset = 0;       // where the key starts
  std::uint64_t data_offset = 0;  // where the array data starts
  std::uint64_t data_bytes = 0;
};

// Checks a key for writing: non-empty, at most kMaxKeyBytes, no whitespace or control bytes.
// Returns an empty string if valid, else what is wrong.
std::string key_problem(std::string_view key);
// A key made printable for messages: control bytes escaped, long keys cut.
std::string printable_key(std::string_view key);

class StreamReader {
 public:
  explicit StreamReader(const std::string& path, ReaderLimits limits = {});
  explicit StreamReader(std::unique_ptr<InputFile> in, ReaderLimits limits = {});

  // Reads the next record. Returns false at the end of the stream (at a record boundary).
  bool next(Record* record);
  // Reads the next record's key and header only; the data must then be read with read_data()
  // or skipped with skip_data() before the next call.
  bool next_header(RecordInfo* info);
  Tensor read_data(const RecordInfo& info);
  void skip_data(const RecordInfo& info);

  const std::string& name() const { return in_->name(); }
  std::uint64_t records() const { return records_; }
  InputFile& file() { return *in_; }

 private:
  [[noreturn]] void bad(const RecordInfo& info, std::string_view what) const;

  std::unique_ptr<InputFile> in_;
  ReaderLimits limits_;
  std::uint64_t records_ = 0;
};

// Random access by key. Over a regular file it keeps an index of offsets and reads a record's
// data when asked; over a pipe it holds the whole stream in memory. Keys must be unique.
class KeyedReader {
 public:
  explicit KeyedReader(const std::string& path, ReaderLimits limits = {});
  explicit KeyedReader(std::unique_ptr<InputFile> in, ReaderLimits limits = {});

  bool contains(std::string_view key) const;
  // The record's tensor; InputError if there is none with this key.
  Tensor get(std::string_view key);
  std::optional<Tensor> find(std::string_view key);
  // The record's header without reading its data.
  const npy::Header& header(std::string_view key) const;
  // Keys in stream order.
  const std::vector<std::string>& keys() const { return keys_; }
  std::size_t size() const { return keys_.size(); }
  const std::string& name() const { return reader_.name(); }

 private:
  struct Entry {
    RecordInfo info;
    std::optional<Tensor> tensor;  // held when the source is not seekable
  };
  void index();
  const Entry* lookup(std::string_view key) const;

  StreamReader reader_;
  std::vector<std::string> keys_;
  std::unordered_map<std::string, Entry> entries_;
};

class StreamWriter {
 public:
  explicit StreamWriter(const std::string& path);  // "-" writes stdout
  ~StreamWriter();

  void write(std::string_view key, const Tensor& tensor);
  // Flushes; a file is renamed into place. A file writer destroyed without close() leaves
  // nothing behind (and any earlier file of that name untouched).
  void close();
  std::uint64_t records() const { return records_; }
  const std::string& name() const { return out_.name(); }

 private:
  OutputFile out_;
  std::uint64_t records_ = 0;
};

}  // namespace t2i
