#include <gtest/gtest.h>

#include "npy.h"

namespace t2i {
namespace {

TEST(Npy, HeaderIsAlignedAndParsesBack) {
  for (DType t : {DType::kFloat32, DType::kUInt8, DType::kInt32, DType::kInt64}) {
    for (const Shape& shape : {Shape{}, Shape{0}, Shape{7}, Shape{3, 76, 76}, Shape{1, 2, 3, 4, 5}}) {
      std::string h = npy::format_header(t, shape);
      ASSERT_EQ(h.size() % 64, 0u);
      ASSERT_EQ(h.substr(0, 6), npy::kMagic);
      ASSERT_EQ(h[6], 1);
      ASSERT_EQ(h[7], 0);
      std::size_t len = static_cast<unsigned char>(h[8]) | static_cast<unsigned char>(h[9]) << 8;
      ASSERT_EQ(len + npy::kPreambleSize, h.size());
      ASSERT_EQ(h.back(), '\n');
      npy::Header parsed;
      std::string why;
      ASSERT_TRUE(npy::parse_header_dict(h.substr(10), &parsed, &why)) << why;
      EXPECT_EQ(parsed.dtype, t);
      EXPECT_EQ(parsed.shape, shape);
    }
  }
}

TEST(Npy, WritesWhatNumPyWrites) {
  // np.lib.format.write_array of np.zeros((3,76,76), np.float32), first 128 bytes.
  std::string h = npy::format_header(DType::kFloat32, {3, 76, 76});
  EXPECT_EQ(h.substr(10, 64), "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 76, 76), }");
  EXPECT_EQ(npy::format_header(DType::kUInt8, {5}).substr(10, 59),
            "{'descr': '|u1', 'fortran_order': False, 'shape': (5,), }  ");
  EXPECT_NE(npy::format_header(DType::kInt64, {}).find("'shape': ()"), std::string::npos);
}

TEST(Npy, AcceptsAnyKeyOrderAndSpacing) {
  npy::Header h;
  std::string why;
  ASSERT_TRUE(npy::parse_header_dict("{\"shape\":(2,3),\"fortran_order\":False,\"descr\":\"<i8\"}\n", &h, &why)) << why;
  EXPECT_EQ(h.dtype, DType::kInt64);
  EXPECT_EQ(h.shape, (Shape{2, 3}));
  ASSERT_TRUE(npy::parse_header_dict("{'descr': '|u1', 'fortran_order': False, 'shape': (4L, 5L), }   \n", &h, &why));
  EXPECT_EQ(h.shape, (Shape{4, 5}));
}

struct BadDict {
  const char* dict;
  const char* expected;  // a fragment of the explanation
};

class NpyBadDict : public ::testing::TestWithParam<BadDict> {};

TEST_P(NpyBadDict, IsRejectedWithAReason) {
  npy::Header h;
  std::string why;
  EXPECT_FALSE(npy::parse_header_dict(GetParam().dict, &h, &why));
  EXPECT_NE(why.find(GetParam().expected), std::string::npos) << "why: " << why;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, NpyBadDict,
    ::testing::Values(
        BadDict{"", "expected '{'"},
        BadDict{"{'descr': '<f4', 'fortran_order': False, 'shape': (3,", "never closes"},
        BadDict{"{'descr': '<f4', 'fortran_order': False, 'shape': (3,)", "never closes"},
        BadDict{"{'descr': '<f4', 'fortran_order': False, 'shape': (3,) 'x'}", "expected ',' or '}'"},
        BadDict{"{'descr': '>f4', 'fortran_order': False, 'shape': (3,), }", "big-endian"},
        BadDict{"{'descr': '<c8', 'fortran_order': False, 'shape': (3,), }", "unsupported dtype"},
        BadDict{"{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }", "unsupported dtype"},
        BadDict{"{'descr': '<f4', 'fortran_order': True, 'shape': (3,), }", "Fortran"},
        BadDict{"{'descr': '<f4', 'fortran_order': False, 'shape': (-3,), }", "negative"},
        BadDict{"{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }", "64 bits"},
        BadDict{"{'descr': '<f4', 'fortran_order': False}", "lacks"},
        BadDict{"{'descr': '<f4', 'fortran_order': False, 'shape': (3,), 'extra': 1}", "unexpected key"},
        BadDict{"{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (3,)}", "descr"},
        BadDict{"{'descr': '<f4', 'fortran_order': False, 'shape': (3,)} junk", "after the header"},
        BadDict{"{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1)}",
                "more than 32"}));

}  // namespace
}  // namespace t2i
