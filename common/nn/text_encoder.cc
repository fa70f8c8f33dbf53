#include "nn/text_encoder.h"

#include "error.h"

namespace t2i::nn {

namespace {
constexpr float kSlope = 0.2f;

ConvSpec conv(i64 in, i64 out, i64 k, i64 s, i64 p, bool bias = false) {
  ConvSpec c;
  c.in_channels = in, c.out_channels = out, c.kh = c.kw = k, c.sh = c.sw = s, c.ph = c.pw = p, c.bias = bias;
  return c;
}

// The stages of the text CNN: (conv kernel, pool kernel, pool stride).
constexpr i64 kConvK = 4;
constexpr i64 kPool[3][2] = {{3, 3}, {3, 3}, {3, 2}};

i64 pooled(i64 t, i64 k, i64 s) { return t < k ? 0 : (t - k) / s + 1; }
}  // namespace

i64 TextEncoderConfig::steps() const {
  i64 t = length;
  for (const auto& p : kPool) t = t >= kConvK ? pooled(t - kConvK + 1, p[0], p[1]) : 0;
  if (t <= 0) fail<UsageError>("text encoder: captions of length {} leave no time steps", length);
  return t;
}

// ---- TemporalConv --------------------------------------------------------------------------
TemporalConv::TemporalConv(ParamSet& ps, std::string name, i64 in, i64 out, i64 k, Init init)
    : ps_(ps), name_(std::move(name)) {
  spec_.in_channels = in, spec_.out_channels = out, spec_.kh = 1, spec_.kw = k, spec_.bias = true;
  ps.add_param(name_ + ".weight", {out, in, k}, init);  // nn.Conv1d's layout
  ps.add_param(name_ + ".bias", {out}, init);
}

void TemporalConv::bind(Backend& be) {
  op_ = be.make_conv(spec_);
  const Shape w4 = spec_.weight_shape();  // [out, in, 1, k]: the same elements
  w4_ = be.reshape(ps_.param(name_ + ".weight"), w4);
  dw4_ = be.reshape(ps_.grad(name_ + ".weight"), w4);
}

const Array& TemporalConv::forward(int pass, const Array& x) {
  Slot& s = slots_[pass];
  s.x = x;
  op_->forward(x, w4_, &ps_.param(name_ + ".bias"), s.y, ps_.version());
  return s.y;
}

const Array& TemporalConv::backward(int pass, const Array& dy, bool need_dx) {
  Slot& s = slots_[pass];
  op_->backward_weights(s.x, dy, dw4_, &ps_.grad(name_ + ".bias"));
  if (need_dx) op_->backward_data(dy, w4_, s.x.shape, s.dx, ps_.version());
  return s.dx;
}

// ---- TextEncoder ---------------------------------------------------------------------------
TextEncoder::TextEncoder(const TextEncoderConfig& c)
    : cfg_(c),
      conv1_(ps_, "conv1", c.alphabet, c.c1, kConvK, Init::kUniform008),
      conv2_(ps_, "conv2", c.c1, c.c2, kConvK, Init::kUniform008),
      conv3_(ps_, "conv3", c.c2, c.c3, kConvK, Init::kUniform008),
      relu1_(Act::kRelu),
      relu2_(Act::kRelu),
      relu3_(Act::kRelu) {
  c.steps();  // validates the length
  const i64 g = ref::rnn_gates(c.cell), h = c.hidden();
  ps_.add_param("rnn.weight_ih_l0", {g * h, c.c3}, Init::kUniform008);
  ps_.add_param("rnn.weight_hh_l0", {g * h, h}, Init::kUniform008);
  ps_.add_param("rnn.bias_ih_l0", {g * h}, Init::kUniform008);
  ps_.add_param("rnn.bias_hh_l0", {g * h}, Init::kUniform008);
  ps_.add_param("fc.weight", {c.emb_dim, h}, Init::kUniform008);
  ps_.add_param("fc.bias", {c.emb_dim}, Init::kUniform008);
}

void TextEncoder::bind(Backend& be) {
  be_ = &be;
  ps_.tag = "T";
  ps_.allocate(be);
  for (TemporalConv* c : {&conv1_, &conv2_, &conv3_}) c->bind(be);
  for (Activation* a : {&relu1_, &relu2_, &relu3_}) a->bind(be);
  pool1_ = be.make_maxpool1d(kPool[0][0], kPool[0][1]);
  pool2_ = be.make_maxpool1d(kPool[1][0], kPool[1][1]);
  pool3_ = be.make_maxpool1d(kPool[2][0], kPool[2][1]);
  RnnSpec rs;
  rs.cell = cfg_.cell, rs.input = cfg_.c3, rs.hidden = cfg_.hidden();
  rnn_ = be.make_rnn(rs);
  fc_ = be.make_linear();
}

const Array& TextEncoder::forward(int pass, const Array& onehot) {
  if (onehot.shape.size() != 3 || onehot.dim(1) != cfg_.alphabet || onehot.dim(2) != cfg_.length)
    fail<RuntimeError>("text encoder given {}; expected [N, {}, {}]", shape_text(onehot.shape), cfg_.alphabet,
                       cfg_.length);
  Slot& s = slots_[pass];
  const i64 n = onehot.dim(0);
  auto as3 = [&](const Array& a) { return be_->reshape(a, {n, a.dim(1), a.dim(3)}); };
  auto as4 = [&](const Array& a) { return be_->reshape(a, {n, a.dim(1), 1, a.dim(2)}); };
  const Array& a1 = relu1_.forward(pass, conv1_.forward(pass, be_->reshape(onehot, {n, cfg_.alphabet, 1, cfg_.length})));
  pool1_->forward(as3(a1), s.p1, s.ps1);
  const Array& a2 = relu2_.forward(pass, conv2_.forward(pass, as4(s.p1)));
  pool2_->forward(as3(a2), s.p2, s.ps2);
  const Array& a3 = relu3_.forward(pass, conv3_.forward(pass, as4(s.p2)));
  pool3_->forward(as3(a3), s.p3, s.ps3);
  be_->transpose_ct(s.p3, s.seq);
  rnn_->forward(s.seq, ps_.param("rnn.weight_ih_l0"), ps_.param("rnn.weight_hh_l0"), ps_.param("rnn.bias_ih_l0"),
                ps_.param("rnn.bias_hh_l0"), s.H, s.rnn);
  be_->mean_time(s.H, s.mean);
  if (cfg_.norm > 0) {
    fc_->forward(s.mean, ps_.param("fc.weight"), &ps_.param("fc.bias"), s.raw);
    be_->normalize_rows(s.raw, cfg_.norm, s.out);
  } else {
    fc_->forward(s.mean, ps_.param("fc.weight"), &ps_.param("fc.bias"), s.out);
  }
  return s.out;
}

void TextEncoder::backward(int pass, const Array& demb_in) {
  Slot& s = slots_[pass];
  if (cfg_.norm > 0) be_->normalize_rows_backward(s.raw, demb_in, cfg_.norm, s.draw);
  const Array& demb = cfg_.norm > 0 ? s.draw : demb_in;
  const i64 n = demb.dim(0);
  auto as4 = [&](const Array& a) { return be_->reshape(a, {n, a.dim(1), 1, a.dim(2)}); };
  auto as3 = [&](const Array& a) { return be_->reshape(a, {n, a.dim(1), a.dim(3)}); };
  fc_->backward_weights(s.mean, demb, ps_.grad("fc.weight"), &ps_.grad("fc.bias"));
  fc_->backward_data(demb, ps_.param("fc.weight"), s.dmean);
  be_->mean_time_backward(s.dmean, s.H.dim(1), s.dH);
  rnn_->backward(s.dH, ps_.param("rnn.weight_ih_l0"), ps_.param("rnn.weight_hh_l0"), s.rnn, s.dseq,
                 ps_.grad("rnn.weight_ih_l0"), ps_.grad("rnn.weight_hh_l0"), ps_.grad("rnn.bias_ih_l0"),
                 ps_.grad("rnn.bias_hh_l0"));
  be_->transpose_ct_backward(s.dseq, s.dp3);
  pool3_->backward(s.dp3, s.ps3, s.dq3);
  const Array& d3 = conv3_.backward(pass, relu3_.backward(pass, as4(s.dq3)), true);
  pool2_->backward(as3(d3), s.ps2, s.dq2);
  const Array& d2 = conv2_.backward(pass, relu2_.backward(pass, as4(s.dq2)), true);
  pool1_->backward(as3(d2), s.ps1, s.dq1);
  conv1_.backward(pass, relu1_.backward(pass, as4(s.dq1)), /*need_dx=*/false);
}

// ---- ImageEncoder --------------------------------------------------------------------------
ImageEncoder::ImageEncoder(const ImageEncoderConfig& c)
    : cfg_(c),
      conv0_(ps_, "conv0", conv(3, c.ndf, 4, 2, 1)),
      conv1_(ps_, "conv1", conv(c.ndf, 2 * c.ndf, 4, 2, 1)),
      conv2_(ps_, "conv2", conv(2 * c.ndf, 4 * c.ndf, 4, 2, 1)),
      conv3_(ps_, "conv3", conv(4 * c.ndf, 8 * c.ndf, 4, 2, 1)),
      conv4_(ps_, "conv4", conv(8 * c.ndf, c.emb_dim, 4, 1, 0, /*bias=*/true)),
      bn1_(ps_, "bn1", 2 * c.ndf),
      bn2_(ps_, "bn2", 4 * c.ndf),
      bn3_(ps_, "bn3", 8 * c.ndf),
      act0_(Act::kLeakyRelu, kSlope),
      act1_(Act::kLeakyRelu, kSlope),
      act2_(Act::kLeakyRelu, kSlope),
      act3_(Act::kLeakyRelu, kSlope) {}

void ImageEncoder::bind(Backend& be) {
  be_ = &be;
  ps_.tag = "I";
  ps_.allocate(be);
  for (Conv* c : {&conv0_, &conv1_, &conv2_, &conv3_, &conv4_}) c->bind(be);
  for (BatchNorm* b : {&bn1_, &bn2_, &bn3_}) b->bind(be);
  for (Activation* a : {&act0_, &act1_, &act2_, &act3_}) a->bind(be);
}

const Array& ImageEncoder::forward(int pass, const Array& image, bool training) {
  if (image.shape.size() != 4 || image.dim(1) != 3 || image.dim(2) != 64 || image.dim(3) != 64)
    fail<RuntimeError>("image encoder given {}; expected [N, 3, 64, 64]", shape_text(image.shape));
  Slot& s = slots_[pass];
  const Array* a = &act0_.forward(pass, conv0_.forward(pass, image));
  a = &act1_.forward(pass, bn1_.forward(pass, conv1_.forward(pass, *a), training));
  a = &act2_.forward(pass, bn2_.forward(pass, conv2_.forward(pass, *a), training));
  a = &act3_.forward(pass, bn3_.forward(pass, conv3_.forward(pass, *a), training));
  const Array& out = conv4_.forward(pass, *a);
  s.out = be_->reshape(out, {out.dim(0), cfg_.emb_dim});
  if (cfg_.norm > 0) {
    be_->normalize_rows(s.out, cfg_.norm, s.normed);
    return s.normed;
  }
  return s.out;
}

void ImageEncoder::backward(int pass, const Array& demb) {
  Slot& s = slots_[pass];
  if (cfg_.norm > 0) be_->normalize_rows_backward(s.out, demb, cfg_.norm, s.draw);
  s.d4 = be_->reshape(cfg_.norm > 0 ? s.draw : demb, {demb.dim(0), cfg_.emb_dim, 1, 1});
  const Array* d = &conv4_.backward(pass, s.d4, true);
  d = &conv3_.backward(pass, bn3_.backward(pass, act3_.backward(pass, *d)), true);
  d = &conv2_.backward(pass, bn2_.backward(pass, act2_.backward(pass, *d)), true);
  d = &conv1_.backward(pass, bn1_.backward(pass, act1_.backward(pass, *d)), true);
  conv0_.backward(pass, act0_.backward(pass, *d), /*need_dx=*/false);
}

// ---- TextEmbeddingStep ---------------------------------------------------------------------
TextEmbeddingStep::TextEmbeddingStep(Backend& be, ImageEncoder& image, TextEncoder& text, const OptimizerConfig& opt)
    : be_(be), image_(image), text_(text), opt_image_(make_optimizer(opt)), opt_text_(make_optimizer(opt)) {
  opt_image_->bind(be, image.params());
  opt_text_->bind(be, text.params());
}

float TextEmbeddingStep::run(const Array& images, const Array& captions) {
  const i64 b = images.dim(0), n = captions.dim(0);
  if (b < 1 || n < b || n % b != 0)
    fail<RuntimeError>("text embedding step given {} images and {} captions; expected K captions an image", b, n);
  const i64 k = n / b;
  image_.params().zero_grads();
  text_.params().zero_grads();
  be_.to_plain(image_.forward(0, images, /*training=*/true), v_);
  if (k == 1) {
    be_.to_plain(text_.forward(0, captions), t_);
  } else {
    be_.to_plain(text_.forward(0, captions), t_all_);
    const i64 e = t_all_.dim(1);
    be_.mean_time(be_.reshape(t_all_, {b, k, e}), t_);
  }
  const float loss = be_.dssje_loss(v_, t_, &dv_, &dt_);
  image_.backward(0, dv_);
  if (k == 1) {
    text_.backward(0, dt_);
  } else {
    be_.mean_time_backward(dt_, k, dt_all_);
    text_.backward(0, be_.reshape(dt_all_, {n, t_.dim(1)}));
  }
  opt_image_->step();
  opt_text_->step();
  return loss;
}

}  // namespace t2i::nn
