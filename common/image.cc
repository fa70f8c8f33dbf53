#include "image.h"

#include <jpeglib.h>
#include <png.h>

#include <algorithm>
#include <cmath>
#include <csetjmp>
#include <cstring>
#include <stdexcept>

#include "error.h"
#include "file.h"

namespace t2i {

namespace {

void check_size(std::int64_t w, std::int64_t h, const std::string& name) {
  if (w <= 0 || h <= 0 || w > kMaxImageSide || h > kMaxImageSide)
    fail<InputError>("{}: image size {}x{} outside 1..{}", name, w, h, kMaxImageSide);
}

}  // namespace

namespace {
struct PngSource {
  std::string_view bytes;
  std::size_t pos = 0;
  char message[256] = "";
};

void png_read_memory(png_structp png, png_bytep out, png_size_t n) {
  auto* src = static_cast<PngSource*>(png_get_io_ptr(png));
  if (n > src->bytes.size() - src->pos) png_error(png, "file ends early (truncated PNG)");
  std::memcpy(out, src->bytes.data() + src->pos, n);
  src->pos += n;
}

void png_on_error(png_structp png, png_const_charp msg) {
  auto* src = static_cast<PngSource*>(png_get_error_ptr(png));
  std::snprintf(src->message, sizeof src->message, "%s", msg);
  png_longjmp(png, 1);
}

void png_on_warning(png_structp, png_const_charp) {}
}  // namespace

// The classic libpng API, not the simplified one: that one treats 16-bit files as linear light
// and would gamma-convert them; here 16-bit samples are scaled to 8 bits (v / 257, rounded),
// palettes and low bit depths expanded, transparency keys turned into an alpha channel.
Image decode_png(std::string_view bytes, const std::string& name) {
  PngSource src{bytes};
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &src, png_on_error, png_on_warning);
  if (!png) fail<RuntimeError>("{}: cannot start the PNG decoder", name);
  png_infop info = png_create_info_struct(png);
  Image out;
  std::vector<png_bytep> rows;
  bool too_large = false;
  png_uint_32 width = 0, height = 0;
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_read_struct(&png, &info, nullptr);
    fail<InputError>("{}: bad PNG: {}", name, src.message);
  }
  png_set_read_fn(png, &src, png_read_memory);
  png_set_user_limits(png, kMaxImageSide, kMaxImageSide);
  png_read_info(png, info);
  width = png_get_image_width(png, info);
  height = png_get_image_height(png, info);
  if (width == 0 || height == 0 || width > kMaxImageSide || height > kMaxImageSide) {
    too_large = true;
  } else {
    const int colour = png_get_color_type(png, info);
    if (colour == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (colour == PNG_COLOR_TYPE_GRAY && png_get_bit_depth(png, info) < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (png_get_valid(png, info, PNG_INFO_tRNS)) png_set_tRNS_to_alpha(png);
    if (png_get_bit_depth(png, info) == 16) png_set_scale_16(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    out = Image(static_cast<int>(width), static_cast<int>(height), png_get_channels(png, info));
    rows.resize(height);
    for (png_uint_32 y = 0; y < height; ++y) rows[y] = out.at(0, static_cast<int>(y));
    png_read_image(png, rows.data());
    png_read_end(png, nullptr);
  }
  png_destroy_read_struct(&png, &info, nullptr);
  if (too_large) check_size(width, height, name);
  return out;
}

std::string encode_png(const Image& image) {
  if (image.channels < 1 || image.channels > 4) fail<RuntimeError>("cannot write a PNG of {} channels", image.channels);
  png_image img;
  std::memset(&img, 0, sizeof img);
  img.version = PNG_IMAGE_VERSION;
  img.width = static_cast<png_uint_32>(image.width);
  img.height = static_cast<png_uint_32>(image.height);
  static constexpr png_uint_32 kFormats[] = {PNG_FORMAT_GRAY, PNG_FORMAT_GA, PNG_FORMAT_RGB, PNG_FORMAT_RGBA};
  img.format = kFormats[image.channels - 1];
  png_alloc_size_t size = 0;
  if (!png_image_write_to_memory(&img, nullptr, &size, 0, image.pixels.data(), 0, nullptr))
    fail<RuntimeError>("PNG encoding failed: {}", img.message);
  std::string out(size, '\0');
  if (!png_image_write_to_memory(&img, out.data(), &size, 0, image.pixels.data(), 0, nullptr))
    fail<RuntimeError>("PNG encoding failed: {}", img.message);
  out.resize(size);
  return out;
}

void write_png(const Image& image, const std::string& path) {
  std::string bytes = encode_png(image);
  AtomicFile out(path);
  out.write(bytes.data(), bytes.size());
  out.commit();
}

namespace {
struct JpegError {
  jpeg_error_mgr mgr;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

void jpeg_error_exit(j_common_ptr cinfo) {
  auto* err = reinterpret_cast<JpegError*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, err->message);
  std::longjmp(err->jump, 1);
}

void jpeg_quiet(j_common_ptr, int) {}
}  // namespace

Image decode_jpeg(std::string_view bytes, const std::string& name) {
  jpeg_decompress_struct cinfo;
  JpegError err;
  cinfo.err = jpeg_std_error(&err.mgr);
  err.mgr.error_exit = jpeg_error_exit;
  err.mgr.emit_message = jpeg_quiet;
  // Everything that needs destruction lives outside the setjmp region.
  Image out;
  std::string failure;
  if (setjmp(err.jump)) {
    failure = err.message;
  } else {
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
    jpeg_read_header(&cinfo, TRUE);
    if (cinfo.image_width == 0 || cinfo.image_height == 0 || cinfo.image_width > kMaxImageSide ||
        cinfo.image_height > kMaxImageSide) {
      std::snprintf(err.message, sizeof err.message, "image size %ux%u outside 1..%d", cinfo.image_width,
                    cinfo.image_height, kMaxImageSide);
      std::longjmp(err.jump, 1);
    }
    if (cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK) {
      std::snprintf(err.message, sizeof err.message, "CMYK JPEG; expected RGB or greyscale");
      std::longjmp(err.jump, 1);
    }
    cinfo.out_color_space = cinfo.jpeg_color_space == JCS_GRAYSCALE ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_start_decompress(&cinfo);
    out = Image(static_cast<int>(cinfo.output_width), static_cast<int>(cinfo.output_height), cinfo.output_components);
    while (cinfo.output_scanline < cinfo.output_height) {
      JSAMPROW row = out.at(0, static_cast<int>(cinfo.output_scanline));
      jpeg_read_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_decompress(&cinfo);
  }
  jpeg_destroy_decompress(&cinfo);
  if (!failure.empty()) fail<InputError>("{}: bad JPEG: {}", name, failure);
  return out;
}

Image decode_image(std::string_view bytes, const std::string& name) {
  if (bytes.size() >= 8 && std::memcmp(bytes.data(), "\x89PNG\r\n\x1a\n", 8) == 0) return decode_png(bytes, name);
  if (bytes.size() >= 3 && std::memcmp(bytes.data(), "\xff\xd8\xff", 3) == 0) return decode_jpeg(bytes, name);
  fail<InputError>("{}: not a PNG or JPEG file (unknown signature)", name);
}

Image read_image(const std::string& path) { return decode_image(read_file(path), path); }

namespace {
// For each output index, the input indices it covers and their weights (summing to 1).
struct Taps {
  std::vector<int> first, count;
  std::vector<float> weights;  // count[i] weights starting at offset[i]
  std::vector<int> offset;
};

Taps area_taps(int in, int out) {
  Taps t;
  const double scale = static_cast<double>(in) / out;
  for (int o = 0; o < out; ++o) {
    double lo = o * scale, hi = (o + 1) * scale;
    if (scale < 1.0) {  // up-scaling: a footprint of one input pixel centred on the output pixel
      double c = (o + 0.5) * scale;
      lo = std::clamp(c - 0.5, 0.0, in - 1.0);
      hi = lo + 1.0;
    }
    int i0 = static_cast<int>(std::floor(lo));
    int i1 = std::min(in, static_cast<int>(std::ceil(hi - 1e-9)));
    t.first.push_back(i0);
    t.offset.push_back(static_cast<int>(t.weights.size()));
    double total = 0;
    std::vector<double> w;
    for (int i = i0; i < i1; ++i) {
      double overlap = std::min<double>(hi, i + 1) - std::max<double>(lo, i);
      w.push_back(std::max(0.0, overlap));
      total += w.back();
    }
    for (double x : w) t.weights.push_back(static_cast<float>(x / total));
    t.count.push_back(static_cast<int>(w.size()));
  }
  return t;
}
}  // namespace

Image resize_area(const Image& image, int width, int height) {
  if (width <= 0 || height <= 0) fail<UsageError>("resize to {}x{}: sizes must be positive", width, height);
  if (width == image.width && height == image.height) return image;
  const int c = image.channels;
  const Taps tx = area_taps(image.width, width), ty = area_taps(image.height, height);
  // Horizontal pass into floats, then vertical pass with rounding.
  std::vector<float> mid(static_cast<std::size_t>(image.height) * width * c);
  for (int y = 0; y < image.height; ++y) {
    for (int x = 0; x < width; ++x) {
      float* dst = &mid[(static_cast<std::size_t>(y) * width + x) * c];
      for (int k = 0; k < tx.count[x]; ++k) {
        const float w = tx.weights[static_cast<std::size_t>(tx.offset[x] + k)];
        const std::uint8_t* src = image.at(tx.first[x] + k, y);
        for (int ch = 0; ch < c; ++ch) dst[ch] += w * src[ch];
      }
    }
  }
  Image out(width, height, c);
  std::vector<float> acc(static_cast<std::size_t>(width) * c);
  for (int y = 0; y < height; ++y) {
    std::fill(acc.begin(), acc.end(), 0.0f);
    for (int k = 0; k < ty.count[y]; ++k) {
      const float w = ty.weights[static_cast<std::size_t>(ty.offset[y] + k)];
      const float* src = &mid[static_cast<std::size_t>(ty.first[y] + k) * width * c];
      for (std::size_t i = 0; i < acc.size(); ++i) acc[i] += w * src[i];
    }
    std::uint8_t* dst = out.at(0, y);
    for (std::size_t i = 0; i < acc.size(); ++i)
      dst[i] = static_cast<std::uint8_t>(std::clamp(std::lround(acc[i]), 0L, 255L));
  }
  return out;
}

Image convert_channels(const Image& image, int channels) {
  if (channels < 1 || channels > 4) fail<UsageError>("cannot convert to {} channels (expected 1 to 4)", channels);
  if (channels == image.channels) return image;
  Image out(image.width, image.height, channels);
  const bool in_color = image.channels >= 3, in_alpha = image.channels == 2 || image.channels == 4;
  const bool out_color = channels >= 3, out_alpha = channels == 2 || channels == 4;
  for (int y = 0; y < image.height; ++y) {
    for (int x = 0; x < image.width; ++x) {
      const std::uint8_t* s = image.at(x, y);
      std::uint8_t* d = out.at(x, y);
      std::uint8_t r = s[0], g = in_color ? s[1] : s[0], b = in_color ? s[2] : s[0];
      std::uint8_t a = in_alpha ? s[image.channels - 1] : 255;
      if (out_color) {
        d[0] = r, d[1] = g, d[2] = b;
      } else {
        d[0] = in_color ? static_cast<std::uint8_t>(std::lround(0.299 * r + 0.587 * g + 0.114 * b)) : r;
      }
      if (out_alpha) d[channels - 1] = a;
    }
  }
  return out;
}

Tensor image_to_tensor(const Image& image) {
  const int c = image.channels, h = image.height, w = image.width;
  Tensor t(DType::kUInt8, {c, h, w});
  auto dst = t.span<std::uint8_t>();
  for (int ch = 0; ch < c; ++ch)
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) dst[(static_cast<std::size_t>(ch) * h + y) * w + x] = image.at(x, y)[ch];
  return t;
}

Tensor image_to_float_tensor(const Image& image) {
  const int c = image.channels, h = image.height, w = image.width;
  Tensor t(DType::kFloat32, {c, h, w});
  auto dst = t.span<float>();
  for (int ch = 0; ch < c; ++ch)
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x)
        dst[(static_cast<std::size_t>(ch) * h + y) * w + x] = image.at(x, y)[ch] / 127.5f - 1.0f;
  return t;
}

Image tensor_to_image(const Tensor& tensor, const std::string& what) {
  const Shape& s = tensor.shape();
  std::int64_t c = 0, h = 0, w = 0;
  if (s.size() == 2) c = 1, h = s[0], w = s[1];
  else if (s.size() == 3) c = s[0], h = s[1], w = s[2];
  if (c < 1 || c > 4)
    fail<InputError>("{}: shape {} is not an image; expected [C,H,W] with C in 1..4, or [H,W]", what, shape_text(s));
  check_size(w, h, what);
  Image out(static_cast<int>(w), static_cast<int>(h), static_cast<int>(c));
  const std::size_t plane = static_cast<std::size_t>(h) * w;
  if (tensor.dtype() == DType::kUInt8) {
    auto src = tensor.span<std::uint8_t>();
    for (std::int64_t ch = 0; ch < c; ++ch)
      for (std::size_t i = 0; i < plane; ++i) out.pixels[i * c + ch] = src[ch * plane + i];
  } else if (tensor.dtype() == DType::kFloat32) {
    auto src = tensor.span<float>();
    for (std::int64_t ch = 0; ch < c; ++ch)
      for (std::size_t i = 0; i < plane; ++i) {
        float v = src[ch * plane + i];
        float level = std::isnan(v) ? 127.5f : std::clamp((v + 1.0f) * 127.5f, 0.0f, 255.0f);
        out.pixels[i * c + ch] = static_cast<std::uint8_t>(std::lround(level));
      }
  } else {
    fail<InputError>("{}: dtype {} is not an image; expected uint8 or float32", what, dtype_name(tensor.dtype()));
  }
  return out;
}

void crop_to_floats(const Tensor& t, std::int64_t crop, std::int64_t ox, std::int64_t oy, bool flip, float* out) {
  const std::int64_t s = t.shape()[2];
  auto px = t.span<std::uint8_t>();
  if (crop == 64) {
    for (std::int64_t c = 0; c < 3; ++c)
      for (std::int64_t y = 0; y < 64; ++y)
        for (std::int64_t x = 0; x < 64; ++x) {
          const std::int64_t sx = ox + (flip ? 63 - x : x);
          out[(c * 64 + y) * 64 + x] = float(px[static_cast<std::size_t>((c * s + oy + y) * s + sx)]) / 127.5f - 1.0f;
        }
    return;
  }
  Image win(static_cast<int>(crop), static_cast<int>(crop), 3);
  for (std::int64_t y = 0; y < crop; ++y)
    for (std::int64_t x = 0; x < crop; ++x)
      for (std::int64_t c = 0; c < 3; ++c) {
        const std::int64_t sx = ox + (flip ? crop - 1 - x : x);
        win.at(static_cast<int>(x), static_cast<int>(y))[c] = px[static_cast<std::size_t>((c * s + oy + y) * s + sx)];
      }
  Image small = resize_area(win, 64, 64);
  for (int c = 0; c < 3; ++c)
    for (int y = 0; y < 64; ++y)
      for (int x = 0; x < 64; ++x) out[(c * 64 + y) * 64 + x] = float(small.at(x, y)[c]) / 127.5f - 1.0f;
}

void gaussian_blur(float* planes, int c, int h, int w, double sigma, std::vector<float>& tmp) {
  if (!(sigma > 0)) throw std::invalid_argument("gaussian_blur: sigma must be > 0");
  const int r = std::max(1, static_cast<int>(std::ceil(3 * sigma)));
  std::vector<float> k(static_cast<std::size_t>(2 * r + 1));
  double sum = 0;
  for (int i = -r; i <= r; ++i)  // the centre is 1 even when sigma * sigma underflows
    sum += k[static_cast<std::size_t>(i + r)] = i == 0 ? 1.0f : static_cast<float>(std::exp(-0.5 * i * i / (sigma * sigma)));
  for (float& v : k) v = static_cast<float>(v / sum);
  const auto W = static_cast<std::size_t>(w), plane = static_cast<std::size_t>(h) * W;
  tmp.resize(plane);
  for (int ch = 0; ch < c; ++ch) {
    float* p = planes + static_cast<std::size_t>(ch) * plane;
    for (int y = 0; y < h; ++y) {  // along the rows
      const float* row = p + static_cast<std::size_t>(y) * W;
      for (int x = 0; x < w; ++x) {
        float acc = 0;
        for (int i = -r; i <= r; ++i) acc += k[static_cast<std::size_t>(i + r)] * row[std::clamp(x + i, 0, w - 1)];
        tmp[static_cast<std::size_t>(y) * W + static_cast<std::size_t>(x)] = acc;
      }
    }
    for (int y = 0; y < h; ++y)  // then down the columns
      for (int x = 0; x < w; ++x) {
        float acc = 0;
        for (int i = -r; i <= r; ++i)
          acc += k[static_cast<std::size_t>(i + r)] *
                 tmp[static_cast<std::size_t>(std::clamp(y + i, 0, h - 1)) * W + static_cast<std::size_t>(x)];
        p[static_cast<std::size_t>(y) * W + static_cast<std::size_t>(x)] = acc;
      }
  }
}

}  // namespace t2i
