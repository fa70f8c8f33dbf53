// Images on the host: 8-bit pixels, rows top to bottom, channels interleaved (HWC), 1 (grey),
// 2 (grey + alpha), 3 (RGB) or 4 (RGBA) channels. PNG read and write (libpng), JPEG read
// (libjpeg-turbo), area-averaging resize, and conversion to and from the tensors that streams
// carry: uint8 [C,H,W], or float32 [C,H,W] in [-1, 1] (x / 127.5 - 1) as the networks see them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tensor.h"

namespace t2i {

struct Image {
  int width = 0, height = 0, channels = 0;
  std::vector<std::uint8_t> pixels;  // height * width * channels

  Image() = default;
  Image(int w, int h, int c) : width(w), height(h), channels(c), pixels(static_cast<std::size_t>(w) * h * c) {}
  std::uint8_t* at(int x, int y) { return &pixels[(static_cast<std::size_t>(y) * width + x) * channels]; }
  const std::uint8_t* at(int x, int y) const { return &pixels[(static_cast<std::size_t>(y) * width + x) * channels]; }
  bool operator==(const Image&) const = default;
};

// Largest accepted image side, so a hostile header cannot ask for gigabytes.
inline constexpr int kMaxImageSide = 16384;

// Decodes PNG or JPEG (told apart by their signatures); `name` is used in messages.
Image decode_image(std::string_view bytes, const std::string& name);
Image read_image(const std::string& path);
Image decode_png(std::string_view bytes, const std::string& name);
Image decode_jpeg(std::string_view bytes, const std::string& name);

// A PNG file's bytes; the same image always gives the same bytes.
std::string encode_png(const Image& image);
// Writes a PNG atomically (temporary name, then rename).
void write_png(const Image& image, const std::string& path);

// Resizes by area averaging: each output pixel is the mean of the input area it covers
// (fractional pixels weighted by their overlap). Exact for integer down-scaling.
Image resize_area(const Image& image, int width, int height);

// Converts between 1, 2, 3 and 4 channels: grey is replicated to RGB, RGB becomes grey by
// Rec. 601 luma, alpha is dropped or added opaque.
Image convert_channels(const Image& image, int channels);

// uint8 [C,H,W].
Tensor image_to_tensor(const Image& image);
// float32 [C,H,W] in [-1, 1].
Tensor image_to_float_tensor(const Image& image);
// From uint8 or float32 [C,H,W] (C in 1..4) or [H,W]; floats are read as [-1, 1], clamped, and
// rounded to the nearest level. Throws InputError (with `what` for context) for other shapes.
Image tensor_to_image(const Tensor& tensor, const std::string& what);

// The training crop: from a uint8 [3,S,S] tensor, the crop x crop window at (ox, oy), mirrored
// left to right if flip, area-resized to 64 x 64 when crop is not 64, written to out as float32
// [3,64,64] in [-1, 1]. The caller checks that the window lies inside the image.
void crop_to_floats(const Tensor& t, std::int64_t crop, std::int64_t ox, std::int64_t oy, bool flip, float* out);

// Blurs float planes [c,h,w] in place by a Gaussian of standard deviation sigma > 0 pixels: separable,
// radius ceil(3 sigma), the kernel normalised to sum 1 and the edge pixels repeated outward, so a flat
// image stays flat. tmp is scratch space (resized as needed). Throws std::invalid_argument unless
// sigma > 0.
void gaussian_blur(float* planes, int c, int h, int w, double sigma, std::vector<float>& tmp);

}  // namespace t2i
