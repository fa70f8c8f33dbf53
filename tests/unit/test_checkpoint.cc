#include <gtest/gtest.h>

#include <filesystem>

#include "checkpoint.h"
#include "error.h"
#include "test_util.h"

namespace t2i {
namespace {

using test::random_tensor;
using test::TempDir;

Checkpoint sample() {
  Checkpoint ck;
  ck.metadata["arch"] = "plain";
  ck.metadata["ngf"] = "64";
  ck.add("g.fc.weight", random_tensor(DType::kFloat32, {128, 1024}, 1));
  ck.add("g.bn.num_batches_tracked", random_tensor(DType::kInt64, {}, 2));
  ck.add("d.mask", random_tensor(DType::kUInt8, {3, 5}, 3));
  ck.add("step", random_tensor(DType::kInt32, {1}, 4));
  ck.add("empty", Tensor(DType::kFloat32, {0, 4}));
  return ck;
}

std::vector<TensorSpec> spec_of(const Checkpoint& ck) {
  std::vector<TensorSpec> spec;
  for (const auto& n : ck.names()) spec.push_back({n, ck.get(n).dtype(), ck.get(n).shape()});
  return spec;
}

std::string what_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(Checkpoint, RoundTripsTensorsAndMetadata) {
  TempDir dir;
  Checkpoint ck = sample();
  ck.save(dir.file("m.st"));
  Checkpoint back = Checkpoint::load(dir.file("m.st"));
  EXPECT_EQ(back.metadata.at("arch"), "plain");
  EXPECT_EQ(back.metadata.at("ngf"), "64");
  EXPECT_EQ(back.meta("format"), "pt");
  ASSERT_EQ(back.size(), ck.size());
  for (const auto& name : ck.names()) EXPECT_TRUE(back.get(name) == ck.get(name)) << name;
  EXPECT_NO_THROW(back.check(spec_of(ck)));
  // The header length and the data start are 8-byte aligned, as safetensors writes them.
  std::string bytes = read_file(dir.file("m.st"));
  std::uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  EXPECT_EQ(n % 8, 0u);
}

TEST(Checkpoint, SaveIsAtomic) {
  TempDir dir;
  const std::string path = dir.file("m.st");
  sample().save(path);
  const std::string before = read_file(path);
  Checkpoint other;
  other.add("x", Tensor(DType::kFloat32, {2}));
  other.save(path);
  EXPECT_NE(read_file(path), before);
  std::size_t files = 0;
  for ([[maybe_unused]] auto& e : std::filesystem::directory_iterator(dir.path())) ++files;
  EXPECT_EQ(files, 1u);
  EXPECT_THROW(other.save(dir.file("no/such/dir/m.st")), RuntimeError);
}

TEST(Checkpoint, CheckNamesTheTensorThatDiffers) {
  TempDir dir;
  sample().save(dir.file("m.st"));
  Checkpoint ck = Checkpoint::load(dir.file("m.st"));
  auto spec = spec_of(ck);
  auto wrong_shape = spec;
  wrong_shape[0].shape = {128, 512};
  EXPECT_EQ(what_of([&] { ck.check(wrong_shape); }),
            dir.file("m.st") + ": tensor 'g.fc.weight' is float32 [128,1024]; expected float32 [128,512]");
  auto wrong_dtype = spec;
  wrong_dtype[3].dtype = DType::kInt64;
  EXPECT_NE(what_of([&] { ck.check(wrong_dtype); }).find("tensor 'step' is int32 [1]; expected int64 [1]"), std::string::npos);
  auto missing = spec;
  missing.push_back({"g.extra", DType::kFloat32, {3}});
  EXPECT_NE(what_of([&] { ck.check(missing); }).find("tensor 'g.extra' is missing"), std::string::npos);
  auto fewer = spec;
  fewer.erase(fewer.begin() + 2);
  EXPECT_NE(what_of([&] { ck.check(fewer); }).find("unexpected tensor 'd.mask'"), std::string::npos);
  EXPECT_NE(what_of([&] { ck.meta("variant"); }).find("__metadata__ has no 'variant'"), std::string::npos);
}

std::string with_header(const std::string& json, const std::string& data) {
  std::string out(8, '\0');
  std::uint64_t n = json.size();
  std::memcpy(out.data(), &n, 8);
  return out + json + data;
}

struct BadCheckpoint {
  std::string name;
  std::string bytes;
  std::string expected;
};

TEST(Checkpoint, MalformedFilesAreRejectedWithAReason) {
  const std::string f8(8, '\0');
  std::vector<BadCheckpoint> cases = {
      {"short", "abc", "shorter than the 8-byte header length"},
      {"past_end", with_header("{}", "").substr(0, 9), "points past the end"},
      {"huge_header", std::string("\xff\xff\xff\xff\xff\xff\xff\x7f", 8) + "{}", "exceeds the limit"},
      {"not_json", with_header("{nope", ""), "not a JSON object"},
      {"not_object", with_header("[1,2]", ""), "does not start with '{'"},
      {"bad_dtype", with_header(R"({"a":{"dtype":"BF16","shape":[4],"data_offsets":[0,8]}})", f8), "unsupported dtype 'BF16'"},
      {"size_mismatch", with_header(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", f8), "does not match its 8 bytes"},
      {"negative_dim", with_header(R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", f8), "non-negative integers"},
      {"offsets_past_end", with_header(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", f8), "point past the end"},
      {"backwards", with_header(R"({"a":{"dtype":"U8","shape":[0],"data_offsets":[8,0]}})", f8), "run backwards"},
      {"overlap", with_header(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", f8),
       "overlap"},
      {"hole", with_header(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", f8), "belong to no tensor"},
      {"trailing", with_header(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", f8), "belong to no tensor"},
      {"missing_field", with_header(R"({"a":{"dtype":"F32","shape":[2]}})", f8), "needs dtype, shape and data_offsets"},
      {"bad_metadata", with_header(R"({"__metadata__":{"epoch":3}})", ""), "is not a string"},
  };
  for (const auto& c : cases) {
    std::string what = what_of([&] { Checkpoint::parse(c.bytes, c.name); });
    EXPECT_NE(what.find(c.expected), std::string::npos) << c.name << ": " << what;
    EXPECT_EQ(what.rfind(c.name + ": ", 0), 0u) << what;
  }
}

}  // namespace
}  // namespace t2i

namespace t2i {
namespace {

// Writes the checkpoint that tests/cli/numpy_interop.py reads back with NumPy: to the path in
// T2I_CHECKPOINT_FIXTURE when CTest runs it as that test's fixture, else to a scratch file.
TEST(Checkpoint, WritesTheInteropFixture) {
  test::TempDir dir;
  const char* env = std::getenv("T2I_CHECKPOINT_FIXTURE");
  const std::string path = env ? env : dir.file("interop.safetensors");
  Checkpoint ck;
  ck.metadata = {{"arch", "plain"}, {"note", "t2igan interop"}};
  Tensor w(DType::kFloat32, {2, 3});
  for (int i = 0; i < 6; ++i) w.span<float>()[static_cast<std::size_t>(i)] = 0.5f * static_cast<float>(i);
  Tensor b(DType::kUInt8, {4});
  std::uint8_t bv[] = {1, 2, 3, 255};
  std::copy(std::begin(bv), std::end(bv), b.span<std::uint8_t>().begin());
  Tensor n(DType::kInt64, {});
  n.span<std::int64_t>()[0] = 42;
  Tensor i(DType::kInt32, {3});
  std::int32_t iv[] = {-1, 0, 7};
  std::copy(std::begin(iv), std::end(iv), i.span<std::int32_t>().begin());
  ck.add("w", w);
  ck.add("b", b);
  ck.add("n", n);
  ck.add("i", i);
  ck.save(path);
  Checkpoint back = Checkpoint::load(path);
  EXPECT_TRUE(back.get("w") == w);
  EXPECT_EQ(back.meta("note"), "t2igan interop");
}

}  // namespace
}  // namespace t2i
