#include "stream.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "error.h"

namespace t2i {

namespace {
constexpr std::uint64_t kChunkBytes = std::uint64_t{64} << 20;

bool is_key_byte(unsigned char c) { return c > 0x20 && c != 0x7f; }
}  // namespace

std::string key_problem(std::string_view key) {
  if (key.empty()) return "empty key";
  if (key.size() > kMaxKeyBytes) return fmt::format("key longer than {} bytes", kMaxKeyBytes);
  for (unsigned char c : key)
    if (!is_key_byte(c)) return fmt::format("key contains whitespace or control byte 0x{:02x}", c);
  return {};
}

std::string printable_key(std::string_view key) {
  std::string out;
  for (unsigned char c : key.substr(0, 80)) {
    if (c >= 0x20 && c < 0x7f && c != '\'') out.push_back(static_cast<char>(c));
    else out += fmt::format("\\x{:02x}", c);
  }
  if (key.size() > 80) out += "...";
  return out;
}

StreamReader::StreamReader(const std::string& path, ReaderLimits limits)
    : in_(std::make_unique<InputFile>(path)), limits_(limits) {}

StreamReader::StreamReader(std::unique_ptr<InputFile> in, ReaderLimits limits) : in_(std::move(in)), limits_(limits) {}

void StreamReader::bad(const RecordInfo& info, std::string_view what) const {
  if (info.key.empty()) fail<InputError>("{}: offset {}: {}", in_->name(), info.offset, what);
  fail<InputError>("{}: offset {}, key '{}': {}", in_->name(), info.offset, printable_key(info.key), what);
}

bool StreamReader::next_header(RecordInfo* info) {
  *info = RecordInfo{};
  info->offset = in_->offset();

  // Key: bytes up to the first space.
  while (true) {
    int c = in_->get();
    if (c < 0) {
      if (info->key.empty()) return false;  // clean end of stream
      bad(*info, "stream ends inside a key; expected a space and a .npy array after it");
    }
    if (c == ' ') break;
    if (!is_key_byte(static_cast<unsigned char>(c))) {
      if (info->key.empty() && (c == '\n' || c == '\r' || c == '\t'))
        bad(*info, fmt::format("expected a record key, found whitespace byte 0x{:02x} (text instead of a tensor stream?)", c));
      bad(*info, fmt::format("byte 0x{:02x} inside a key; expected key bytes then one space", c));
    }
    if (info->key.size() >= kMaxKeyBytes)
      bad(*info, fmt::format("key longer than {} bytes without a space; not a tensor stream?", kMaxKeyBytes));
    info->key.push_back(static_cast<char>(c));
  }
  if (info->key.empty()) bad(*info, "empty key: a record starts with a space");

  // Preamble: magic, version, header length.
  unsigned char pre[npy::kPreambleSize];
  std::size_t got = in_->read(pre, sizeof pre);
  if (got == 0) bad(*info, "key with no array: stream ends after the key");
  if (std::memcmp(pre, npy::kMagic.data(), std::min(got, npy::kMagic.size())) != 0)
    bad(*info, "bad magic: expected a .npy array (\\x93NUMPY) after the key");
  if (got < sizeof pre) bad(*info, "truncated record: stream ends inside the .npy preamble");
  if (pre[6] != 1 || pre[7] != 0)
    bad(*info, fmt::format(".npy format version {}.{}; expected 1.0", pre[6], pre[7]));
  std::size_t header_len = pre[8] | (static_cast<std::size_t>(pre[9]) << 8);

  std::string dict(header_len, '\0');
  if (in_->read(dict.data(), header_len) < header_len)
    bad(*info, fmt::format("truncated record: stream ends inside the {}-byte .npy header", header_len));
  std::string why;
  if (!npy::parse_header_dict(dict, &info->header, &why)) bad(*info, fmt::format("bad .npy header: {}", why));

  auto numel = checked_numel(info->header.shape, dtype_size(info->header.dtype));
  if (!numel) bad(*info, fmt::format("shape {} is too large to address", shape_text(info->header.shape)));
  info->data_bytes = static_cast<std::uint64_t>(*numel) * dtype_size(info->header.dtype);
  info->data_offset = in_->offset();
  if (info->data_bytes > limits_.max_record_bytes)
    bad(*info, fmt::format("shape {} {} needs {} bytes, over the limit of {} bytes per record",
                           shape_text(info->header.shape), dtype_name(info->header.dtype), info->data_bytes,
                           limits_.max_record_bytes));
  if (auto size = in_->size(); size && info->data_bytes > *size - info->data_offset)
    bad(*info, fmt::format("data shorter than the header claims: shape {} {} needs {} bytes, {} remain",
                           shape_text(info->header.shape), dtype_name(info->header.dtype), info->data_bytes,
                           *size - info->data_offset));
  return true;
}

Tensor StreamReader::read_data(const RecordInfo& info) {
  // Grow the buffer chunk by chunk, so a header that lies about the size on a pipe costs no
  // more memory than the data that really arrives.
  std::vector<std::byte> bytes;
  std::uint64_t done = 0;
  while (done < info.data_bytes) {
    std::uint64_t step = std::min(kChunkBytes, info.data_bytes - done);
    bytes.resize(static_cast<std::size_t>(done + step));
    std::size_t got = in_->read(bytes.data() + done, static_cast<std::size_t>(step));
    done += got;
    if (got < step)
      bad(info, fmt::format("truncated record: data shorter than the header claims ({} of {} bytes)", done,
                            info.data_bytes));
  }
  ++records_;
  return Tensor(info.header.dtype, info.header.shape, std::move(bytes));
}

void StreamReader::skip_data(const RecordInfo& info) {
  std::uint64_t skipped = in_->skip(info.data_bytes);
  if (skipped < info.data_bytes)
    bad(info, fmt::format("truncated record: data shorter than the header claims ({} of {} bytes)", skipped,
                          info.data_bytes));
  ++records_;
}

bool StreamReader::next(Record* record) {
  RecordInfo info;
  if (!next_header(&info)) return false;
  record->tensor = read_data(info);
  record->key = std::move(info.key);
  return true;
}

KeyedReader::KeyedReader(const std::string& path, ReaderLimits limits) : reader_(path, limits) { index(); }

KeyedReader::KeyedReader(std::unique_ptr<InputFile> in, ReaderLimits limits) : reader_(std::move(in), limits) {
  index();
}

void KeyedReader::index() {
  const bool seekable = reader_.file().seekable();
  RecordInfo info;
  while (reader_.next_header(&info)) {
    if (auto it = entries_.find(info.key); it != entries_.end())
      fail<InputError>("{}: offset {}: duplicate key '{}' (first at offset {}); joining by key needs unique keys",
                       reader_.name(), info.offset, printable_key(info.key), it->second.info.offset);
    Entry entry{info, std::nullopt};
    if (seekable) reader_.skip_data(info);
    else entry.tensor = reader_.read_data(info);
    keys_.push_back(info.key);
    entries_.emplace(info.key, std::move(entry));
  }
}

const KeyedReader::Entry* KeyedReader::lookup(std::string_view key) const {
  auto it = entries_.find(std::string(key));
  return it == entries_.end() ? nullptr : &it->second;
}

bool KeyedReader::contains(std::string_view key) const { return lookup(key) != nullptr; }

const npy::Header& KeyedReader::header(std::string_view key) const {
  const Entry* e = lookup(key);
  if (!e) fail<InputError>("{}: no record with key '{}'", reader_.name(), printable_key(key));
  return e->info.header;
}

std::optional<Tensor> KeyedReader::find(std::string_view key) {
  const Entry* e = lookup(key);
  if (!e) return std::nullopt;
  if (e->tensor) return *e->tensor;
  reader_.file().seek(e->info.data_offset);
  return reader_.read_data(e->info);
}

Tensor KeyedReader::get(std::string_view key) {
  auto t = find(key);
  if (!t) fail<InputError>("{}: no record with key '{}'", reader_.name(), printable_key(key));
  return std::move(*t);
}

StreamWriter::StreamWriter(const std::string& path) : out_(path) {}

StreamWriter::~StreamWriter() = default;

void StreamWriter::write(std::string_view key, const Tensor& tensor) {
  if (auto problem = key_problem(key); !problem.empty())
    fail<InputError>("{}: cannot write key '{}': {}", out_.name(), printable_key(key), problem);
  out_.write(key);
  out_.write(" ", 1);
  out_.write(npy::format_header(tensor.dtype(), tensor.shape()));
  out_.write(tensor.bytes(), tensor.nbytes());
  ++records_;
}

void StreamWriter::close() { out_.close(); }

}  // namespace t2i
