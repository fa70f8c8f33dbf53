// The NumPy .npy format, version 1.0, as used in every record of a tensor stream:
//   "\x93NUMPY" 0x01 0x00, uint16 little-endian header length, an ASCII Python dict
//   {'descr': '<f4', 'fortran_order': False, 'shape': (3, 76, 76), } padded with spaces and a
//   final newline so that the data starts at a multiple of 64 bytes, then the raw data.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "tensor.h"

namespace t2i::npy {

inline constexpr std::string_view kMagic{"\x93NUMPY", 6};
inline constexpr std::size_t kPreambleSize = 10;  // magic, 2 version bytes, uint16 header length
inline constexpr int kMaxRank = 32;

struct Header {
  DType dtype = DType::kFloat32;
  Shape shape;
};

// The complete preamble and header for an array: everything before the data.
std::string format_header(DType dtype, const Shape& shape);

// Parses the header dict (the header_len bytes after the preamble). On failure returns false
// and sets *why to a short description of what was expected.
bool parse_header_dict(std::string_view dict, Header* header, std::string* why);

// The dtype descriptor NumPy writes for a dtype: "<f4", "|u1", "<i4", "<i8".
std::string_view descr(DType dtype);

}  // namespace t2i::npy
