// Helpers shared by the unit tests.
#pragma once

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <random>
#include <string>

#include <jpeglib.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <vector>

#include "backend_skip.h"
#include "file.h"
#include "image.h"
#include "tensor.h"

namespace t2i::test {

// A fresh directory under the system temp dir, removed with its contents when destroyed.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "t2i-test-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

inline void write_bytes(const std::string& path, const std::string& bytes) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  std::fwrite(bytes.data(), 1, bytes.size(), f);
  std::fclose(f);
}

// A tensor of the given dtype and shape filled with seeded pseudo-random values.
inline Tensor random_tensor(DType dtype, Shape shape, unsigned seed) {
  Tensor t(dtype, std::move(shape));
  std::mt19937 rng(seed);
  switch (dtype) {
    case DType::kFloat32:
      for (float& v : t.span<float>()) v = std::normal_distribution<float>()(rng);
      break;
    case DType::kUInt8:
      for (auto& v : t.span<std::uint8_t>()) v = static_cast<std::uint8_t>(rng());
      break;
    case DType::kInt32:
      for (auto& v : t.span<std::int32_t>()) v = static_cast<std::int32_t>(rng());
      break;
    case DType::kInt64:
      for (auto& v : t.span<std::int64_t>()) v = static_cast<std::int64_t>(rng()) << 31 ^ rng();
      break;
  }
  return t;
}

// An InputFile over bytes through a pipe-like (non-seekable) stream.
inline std::unique_ptr<InputFile> memory_stream(const std::string& bytes) {
  // fmemopen streams have no file descriptor, so they read as non-seekable, like a pipe.
  auto* copy = new std::string(bytes);  // lives as long as the test process; tests are short
  std::FILE* f = ::fmemopen(copy->data(), copy->size(), "rb");
  return std::make_unique<InputFile>(f, "<memory>", true);
}

// ||a - b|| / max(||b||, floor * sqrt(n)): the normalised error of a against a fixture b, with a
// floor for arrays that are nearly zero (rounding noise has no relative precision).
inline double nerr(const std::vector<float>& a, const Tensor& b, double floor = 1e-6) {
  auto bv = b.span<float>();
  if (a.size() != bv.size()) return INFINITY;
  double num = 0, den = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    num += (double(a[i]) - bv[i]) * (double(a[i]) - bv[i]);
    den += double(bv[i]) * bv[i];
  }
  return std::sqrt(num) / std::max(std::sqrt(den), floor * std::sqrt(double(a.size())));
}

inline double rms(const Tensor& t) {
  double s = 0;
  for (float v : t.span<float>()) s += double(v) * v;
  return std::sqrt(s / std::max<double>(1, double(t.numel())));
}

// A JPEG file's bytes (libjpeg), for fixtures of the readers: the toolkit itself only reads JPEG.
inline std::string encode_jpeg(const Image& img, int quality) {
  jpeg_compress_struct cinfo;
  jpeg_error_mgr err;
  cinfo.err = jpeg_std_error(&err);
  jpeg_create_compress(&cinfo);
  unsigned char* buf = nullptr;
  unsigned long size = 0;
  jpeg_mem_dest(&cinfo, &buf, &size);
  cinfo.image_width = static_cast<JDIMENSION>(img.width);
  cinfo.image_height = static_cast<JDIMENSION>(img.height);
  cinfo.input_components = img.channels;
  cinfo.in_color_space = img.channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_set_defaults(&cinfo);
  jpeg_set_quality(&cinfo, quality, TRUE);
  jpeg_start_compress(&cinfo, TRUE);
  while (cinfo.next_scanline < cinfo.image_height) {
    JSAMPROW row = const_cast<std::uint8_t*>(img.at(0, static_cast<int>(cinfo.next_scanline)));
    jpeg_write_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_compress(&cinfo);
  jpeg_destroy_compress(&cinfo);
  std::string out(reinterpret_cast<char*>(buf), size);
  std::free(buf);
  return out;
}

}  // namespace t2i::test
