#include "nn/backend.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <stdexcept>

#include "error.h"

namespace t2i::nn {

i64 Array::numel() const {
  i64 n = 1;
  for (i64 d : shape) n *= d;
  return n;
}

Shape ConvSpec::weight_shape() const {
  return transposed ? Shape{in_channels, out_channels, kh, kw} : Shape{out_channels, in_channels, kh, kw};
}

Shape ConvSpec::output_shape(const Shape& in) const {
  if (in.size() != 4 || in[1] != in_channels)
    fail<RuntimeError>("{}conv with {} input channels given input {}", transposed ? "transposed " : "", in_channels,
                       shape_text(in));
  i64 oh, ow;
  if (transposed) {
    oh = (in[2] - 1) * sh - 2 * ph + kh;
    ow = (in[3] - 1) * sw - 2 * pw + kw;
  } else {
    oh = (in[2] + 2 * ph - kh) / sh + 1;
    ow = (in[3] + 2 * pw - kw) / sw + 1;
    if (in[2] + 2 * ph < kh || in[3] + 2 * pw < kw) oh = ow = 0;
  }
  if (oh <= 0 || ow <= 0) fail<RuntimeError>("convolution of {} gives an empty output", shape_text(in));
  return {in[0], out_channels, oh, ow};
}

ref::ConvDims ConvSpec::dims(const Shape& in) const {
  Shape out = output_shape(in);
  return {in[0], in[1], in[2], in[3], out_channels, out[2], out[3], kh, kw, sh, sw, ph, pw};
}

void check_conv_bias(const ConvSpec& spec, const Array* bias, const char* what) {
  if (spec.bias != (bias != nullptr))
    fail<RuntimeError>("conv {}: {} bias given to a conv {} one", what, bias ? "a" : "no", spec.bias ? "with" : "without");
}

Tensor download(Backend& be, const Array& a) {
  Tensor t(DType::kFloat32, a.shape);
  be.download(a, t.span<float>().data());
  return t;
}

Array upload(Backend& be, const Tensor& t) {
  Array a = be.zeros(t.shape());
  be.upload(t.span<float>().data(), a);
  return a;
}

std::vector<float> to_vector(Backend& be, const Array& a) {
  std::vector<float> v(static_cast<std::size_t>(a.numel()));
  be.download(a, v.data());
  return v;
}

void check_shift_cutout(const Array& x, const std::vector<std::int32_t>& p, i64 cut) {
  if (x.shape.size() != 4) throw std::invalid_argument("shift_cutout: expected images [N,C,H,W]");
  const i64 n = x.dim(0), h = x.dim(2), w = x.dim(3);
  if (static_cast<i64>(p.size()) != 4 * n)
    throw std::invalid_argument("shift_cutout: expected 4 parameters (dy, dx, cy, cx) per image");
  if (cut < 0 || cut > std::min(h, w)) throw std::invalid_argument("shift_cutout: cutout side outside [0, image side]");
  for (i64 i = 0; i < n; ++i) {
    const std::int32_t* q = p.data() + 4 * i;
    if (std::abs(q[0]) >= h || std::abs(q[1]) >= w || q[2] < 0 || q[2] >= h || q[3] < 0 || q[3] >= w)
      throw std::invalid_argument("shift_cutout: a shift or cutout centre outside the image");
  }
}

}  // namespace t2i::nn
