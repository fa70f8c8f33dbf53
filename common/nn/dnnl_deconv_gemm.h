// Transposed convolution of a small input (a few pixels, many channels: the generator's 4x4 ->
// 8x8 layer) as one GEMM and a col2im: oneDNN's direct deconvolution kernels run such shapes at
// half the speed of its matmul. cols[N*H*W, OC*KH*KW] = x[N*H*W, C] (NHWC) * w[C, OC*KH*KW]
// (PyTorch's ConvTranspose2d weights, as stored), then every column entry is added to the
// output pixel it lands on.
#pragma once

#include <oneapi/dnnl/dnnl.hpp>

#include "nn/backend.h"

namespace t2i::nn {

class DeconvGemm {
 public:
  // Whether this formulation is the faster one for a transposed conv on this input shape.
  static bool suits(const ConvSpec& s, const Shape& in);

  DeconvGemm(const ConvSpec& s, const Shape& in, const dnnl::engine& engine);
  // x: the input in NHWC order (N*H*W rows of C); w: [C, OC, KH, KW] plain; y: [N,OC,OH,OW]
  // plain, overwritten; bias [OC] or null.
  void run(const float* x_nhwc, const float* w, const float* bias, float* y, dnnl::stream& stream);

 private:
  ConvSpec s_;
  ref::ConvDims d_;
  dnnl::matmul prim_;
  dnnl::memory::desc src_md_, wts_md_, dst_md_;
  dnnl::memory cols_;
  dnnl::engine engine_;
};

}  // namespace t2i::nn
