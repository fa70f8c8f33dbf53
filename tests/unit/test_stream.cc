#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "error.h"
#include "stream.h"
#include "test_util.h"

namespace t2i {
namespace {

using test::random_tensor;
using test::TempDir;

std::vector<Record> sample_records() {
  std::vector<Record> recs;
  unsigned seed = 1;
  for (DType t : {DType::kFloat32, DType::kUInt8, DType::kInt32, DType::kInt64}) {
    for (const Shape& s : {Shape{}, Shape{0}, Shape{1}, Shape{5}, Shape{3, 7, 9}, Shape{2, 0, 4}}) {
      recs.push_back({fmt::format("{}/{}", dtype_name(t), seed), random_tensor(t, s, seed)});
      ++seed;
    }
  }
  return recs;
}

std::string write_stream(const std::string& path, const std::vector<Record>& recs) {
  StreamWriter w(path);
  for (const Record& r : recs) w.write(r.key, r.tensor);
  w.close();
  return path;
}

TEST(Stream, RoundTripsEveryDtypeAndShape) {
  TempDir dir;
  auto recs = sample_records();
  StreamReader reader(write_stream(dir.file("s.t2i"), recs));
  Record r;
  for (const Record& want : recs) {
    ASSERT_TRUE(reader.next(&r));
    EXPECT_EQ(r.key, want.key);
    EXPECT_TRUE(r.tensor == want.tensor) << want.key;
  }
  EXPECT_FALSE(reader.next(&r));
  EXPECT_EQ(reader.records(), recs.size());
}

TEST(Stream, RoundTripsThroughAPipe) {
  auto recs = sample_records();
  TempDir dir;
  std::string bytes = read_file(write_stream(dir.file("s.t2i"), recs));
  StreamReader reader(test::memory_stream(bytes));
  EXPECT_FALSE(reader.file().seekable());
  Record r;
  for (const Record& want : recs) {
    ASSERT_TRUE(reader.next(&r));
    EXPECT_EQ(r.key, want.key);
    EXPECT_TRUE(r.tensor == want.tensor);
  }
  EXPECT_FALSE(reader.next(&r));
}

TEST(Stream, ConcatenatedStreamsAreOneStream) {
  TempDir dir;
  auto recs = sample_records();
  std::vector<Record> a(recs.begin(), recs.begin() + 5), b(recs.begin() + 5, recs.end());
  std::string joined = read_file(write_stream(dir.file("a"), a)) + read_file(write_stream(dir.file("b"), b));
  StreamReader reader(test::memory_stream(joined));
  Record r;
  std::size_t n = 0;
  while (reader.next(&r)) EXPECT_EQ(r.key, recs[n++].key);
  EXPECT_EQ(n, recs.size());
}

TEST(Stream, EmptyInputIsAnEmptyStream) {
  StreamReader reader(test::memory_stream(""));
  Record r;
  EXPECT_FALSE(reader.next(&r));
}

TEST(Stream, HeadersCanBeReadWithoutData) {
  TempDir dir;
  auto recs = sample_records();
  StreamReader reader(write_stream(dir.file("s.t2i"), recs));
  RecordInfo info;
  std::size_t n = 0;
  while (reader.next_header(&info)) {
    EXPECT_EQ(info.header.shape, recs[n].tensor.shape());
    EXPECT_EQ(info.data_bytes, recs[n].tensor.nbytes());
    if (n % 2) reader.skip_data(info);
    else EXPECT_TRUE(reader.read_data(info) == recs[n].tensor);
    ++n;
  }
  EXPECT_EQ(n, recs.size());
}

TEST(Stream, WriterRefusesBadKeys) {
  TempDir dir;
  StreamWriter w(dir.file("s.t2i"));
  Tensor t(DType::kFloat32, {2});
  EXPECT_THROW(w.write("", t), InputError);
  EXPECT_THROW(w.write("has space", t), InputError);
  EXPECT_THROW(w.write("tab\there", t), InputError);
  EXPECT_THROW(w.write(std::string(kMaxKeyBytes + 1, 'k'), t), InputError);
  EXPECT_NO_THROW(w.write("caption/3", t));
  EXPECT_NO_THROW(w.write("\xc3\xa9t\xc3\xa9", t));  // UTF-8
}

TEST(Stream, UnclosedWriterLeavesNothingAndKeepsTheOldFile) {
  TempDir dir;
  const std::string path = dir.file("s.t2i");
  auto recs = sample_records();
  write_stream(path, recs);
  const std::string before = read_file(path);
  {
    StreamWriter w(path);
    w.write("new", Tensor(DType::kFloat32, {3}));
    // destroyed without close(), as when a tool fails half-way
  }
  EXPECT_EQ(read_file(path), before);
  std::size_t files = 0;
  for ([[maybe_unused]] auto& e : std::filesystem::directory_iterator(dir.path())) ++files;
  EXPECT_EQ(files, 1u) << "the temporary file was left behind";
}

TEST(Stream, RecordLimitIsEnforcedBeforeReading) {
  TempDir dir;
  write_stream(dir.file("s.t2i"), {{"big", Tensor(DType::kFloat32, {1000})}});
  StreamReader reader(dir.file("s.t2i"), ReaderLimits{.max_record_bytes = 3999});
  Record r;
  try {
    reader.next(&r);
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("over the limit"), std::string::npos) << e.what();
  }
}

TEST(Stream, ErrorsNameFileOffsetAndKey) {
  TempDir dir;
  write_stream(dir.file("s.t2i"), {{"first", Tensor(DType::kUInt8, {4})}, {"second", Tensor(DType::kUInt8, {4})}});
  std::string bytes = read_file(dir.file("s.t2i"));
  const std::size_t second = bytes.find("second");
  bytes[second + 7 + 1] = 'X';  // break the magic of the second record
  test::write_bytes(dir.file("bad.t2i"), bytes);
  StreamReader reader(dir.file("bad.t2i"));
  Record r;
  ASSERT_TRUE(reader.next(&r));
  try {
    reader.next(&r);
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()), fmt::format("{}: offset {}, key 'second': bad magic: expected a .npy array "
                                                 "(\\x93NUMPY) after the key",
                                                 dir.file("bad.t2i"), second));
  }
}

class KeyedReaderTest : public ::testing::TestWithParam<bool> {};

TEST_P(KeyedReaderTest, LooksUpByKey) {
  const bool from_pipe = GetParam();
  TempDir dir;
  auto recs = sample_records();
  std::string path = write_stream(dir.file("s.t2i"), recs);
  KeyedReader keyed = from_pipe ? KeyedReader(test::memory_stream(read_file(path))) : KeyedReader(path);
  ASSERT_EQ(keyed.size(), recs.size());
  // Out of order, twice.
  for (int pass = 0; pass < 2; ++pass) {
    for (std::size_t i = recs.size(); i-- > 0;) {
      EXPECT_TRUE(keyed.contains(recs[i].key));
      EXPECT_TRUE(keyed.get(recs[i].key) == recs[i].tensor) << recs[i].key;
      EXPECT_EQ(keyed.header(recs[i].key).shape, recs[i].tensor.shape());
    }
  }
  EXPECT_EQ(keyed.keys().front(), recs.front().key);
  EXPECT_FALSE(keyed.contains("absent"));
  EXPECT_FALSE(keyed.find("absent").has_value());
  EXPECT_THROW(keyed.get("absent"), InputError);
}

TEST_P(KeyedReaderTest, RejectsDuplicateKeys) {
  TempDir dir;
  std::string path = write_stream(dir.file("s.t2i"), {{"a", Tensor(DType::kUInt8, {1})},
                                                      {"b", Tensor(DType::kUInt8, {1})},
                                                      {"a", Tensor(DType::kUInt8, {2})}});
  try {
    if (GetParam()) KeyedReader keyed(test::memory_stream(read_file(path)));
    else KeyedReader keyed(path);
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("duplicate key 'a'"), std::string::npos) << e.what();
  }
}

INSTANTIATE_TEST_SUITE_P(FileAndPipe, KeyedReaderTest, ::testing::Bool(),
                         [](const auto& p) { return p.param ? "Pipe" : "File"; });

}  // namespace
}  // namespace t2i
