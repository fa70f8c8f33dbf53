#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <limits>

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

TEST(Float16, EveryHalfRoundTripsThroughFloat) {
  for (std::uint32_t h = 0; h < 0x10000u; ++h) {
    const auto hh = static_cast<std::uint16_t>(h);
    const float f = half_to_float(hh);
    if (std::isnan(f)) {
      EXPECT_TRUE((h & 0x7c00u) == 0x7c00u && (h & 0x3ffu)) << h;
      EXPECT_TRUE(std::isnan(half_to_float(float_to_half(f)))) << h;
      continue;
    }
    ASSERT_EQ(float_to_half(f), hh) << "half 0x" << std::hex << h << " = " << f;
  }
}

TEST(Float16, KnownValuesAndRoundingToNearestEven) {
  // binary16 encodings from IEEE 754-2008: 1, -2, max 65504, min normal 2^-14, min subnormal 2^-24.
  EXPECT_EQ(float_to_half(1.0f), 0x3c00);
  EXPECT_EQ(float_to_half(-2.0f), 0xc000);
  EXPECT_EQ(float_to_half(65504.0f), 0x7bff);
  EXPECT_EQ(float_to_half(std::ldexp(1.0f, -14)), 0x0400);
  EXPECT_EQ(float_to_half(std::ldexp(1.0f, -24)), 0x0001);
  EXPECT_EQ(float_to_half(0.1f), 0x2e66);          // 0.0999755859375
  EXPECT_EQ(float_to_half(-0.0f), 0x8000);
  EXPECT_EQ(half_to_float(0x3555), 0.333251953125f);
  // Ties go to the even neighbour; anything above the tie rounds up.
  const float ulp1 = std::ldexp(1.0f, -10);  // spacing of halves in [1, 2)
  EXPECT_EQ(float_to_half(1.0f + ulp1 / 2), 0x3c00);
  EXPECT_EQ(float_to_half(1.0f + 3 * ulp1 / 2), 0x3c02);
  EXPECT_EQ(float_to_half(std::nextafter(1.0f + ulp1 / 2, 2.0f)), 0x3c01);
  EXPECT_EQ(float_to_half(std::ldexp(1.0f, -25)), 0x0000);           // tie between 0 and 2^-24
  EXPECT_EQ(float_to_half(1.5f * std::ldexp(1.0f, -25)), 0x0001);
  EXPECT_EQ(float_to_half(3 * std::ldexp(1.0f, -25)), 0x0002);       // tie between 1 and 2 units: even
  EXPECT_EQ(float_to_half(std::ldexp(1023.5f, -24)), 0x0400);        // the largest subnormal rounds into the normals
  EXPECT_EQ(float_to_half(65519.0f), 0x7bff);                        // below the tie with infinity
  EXPECT_EQ(float_to_half(65520.0f), 0x7c00);                        // overflow
  EXPECT_EQ(float_to_half(std::numeric_limits<float>::infinity()), 0x7c00);
  EXPECT_EQ(float_to_half(-std::numeric_limits<float>::infinity()), 0xfc00);
  EXPECT_EQ(float_to_half(1e-10f), 0x0000);
}

TEST(Checkpoint, StoresFloat32AsFloat16AndWidensOnLoad) {
  TempDir dir;
  Checkpoint ck = sample();
  ck.save(dir.file("f32.st"));
  ck.save(dir.file("f16.st"), /*float16=*/true);
  const auto f32_size = std::filesystem::file_size(dir.file("f32.st"));
  const auto f16_size = std::filesystem::file_size(dir.file("f16.st"));
  EXPECT_LT(f16_size, f32_size * 6 / 10);  // the [128,1024] weight dominates
  // The header names the stored dtypes: F16 for the float tensors, the rest as they were.
  const std::string bytes = read_file(dir.file("f16.st"));
  EXPECT_NE(bytes.find("\"g.fc.weight\":{\"dtype\":\"F16\""), std::string::npos);
  EXPECT_NE(bytes.find("\"d.mask\":{\"dtype\":\"U8\""), std::string::npos);
  Checkpoint back = Checkpoint::load(dir.file("f16.st"));
  EXPECT_NO_THROW(back.check(spec_of(ck)));  // float32 again, same shapes
  for (const auto& name : ck.names()) {
    const Tensor& a = ck.get(name);
    const Tensor& b = back.get(name);
    if (a.dtype() != DType::kFloat32) {
      EXPECT_TRUE(a == b) << name;
      continue;
    }
    const auto x = a.span<const float>();
    const auto y = b.span<const float>();
    for (std::size_t i = 0; i < x.size(); ++i) {
      ASSERT_EQ(y[i], half_to_float(float_to_half(x[i]))) << name << " " << i;
      ASSERT_LE(std::fabs(y[i] - x[i]), std::fabs(x[i]) * (1.0f / 2048) + std::ldexp(1.0f, -25)) << name << " " << i;
    }
  }
  // Saving the widened tensors as float16 again gives the same data bytes (the header differs
  // only in the order of the metadata keys).
  back.save(dir.file("again.st"), true);
  const std::string again = read_file(dir.file("again.st"));
  ASSERT_EQ(again.size(), bytes.size());
  std::uint64_t header = 0;
  std::memcpy(&header, bytes.data(), 8);
  EXPECT_TRUE(again.substr(8 + header) == bytes.substr(8 + header));
}

TEST(Checkpoint, Float16RefusesValuesBeyondItsRange) {
  TempDir dir;
  Checkpoint ck;
  Tensor t(DType::kFloat32, {3});
  t.span<float>()[1] = 7e4f;
  ck.add("big", t);
  const std::string what = what_of([&] { ck.save(dir.file("big.st"), true); });
  EXPECT_NE(what.find("tensor 'big' holds 70000 at index 1, beyond float16's range"), std::string::npos) << what;
  EXPECT_FALSE(std::filesystem::exists(dir.file("big.st")));
  EXPECT_NO_THROW(ck.save(dir.file("big.st")));  // float32 keeps it
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
      {"f16_size_mismatch", with_header(R"({"a":{"dtype":"F16","shape":[3],"data_offsets":[0,8]}})", f8), "[3] F16 does not match its 8 bytes"},
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
