// The joint text/image embedding (common/nn/text_encoder.h) against an independent PyTorch
// implementation (tests/torch/t2i_text_nets.py): the same initial weights and inputs, one DS-SJE
// step (image and text features, the loss, every parameter gradient, every parameter and
// batch-norm statistic after RMSprop) must agree on ref and cpu. Fixture:
// tests/data/torch/text_step.safetensors, made by tests/torch/make_text_fixtures.py.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <memory>

#include "checkpoint.h"
#include "error.h"
#include "nn/text_checkpoint.h"
#include "nn/text_encoder.h"
#include "test_util.h"
#include "text/charset.h"

namespace t2i::nn {
namespace {

Checkpoint load_fixture() { return Checkpoint::load(std::string(T2I_TEST_DATA) + "/torch/text_step.safetensors"); }

i64 meta_int(const Checkpoint& fx, const std::string& key) { return std::stoll(fx.metadata.at(key)); }

using test::nerr;
using test::rms;

// uint8 one-hot captions -> float32 [B,70,201]; uint8 images -> float32(byte) / 127.5 - 1.
Tensor captions_of(const Tensor& u8) {
  Tensor t(DType::kFloat32, u8.shape());
  auto src = u8.span<std::uint8_t>();
  auto dst = t.span<float>();
  for (std::size_t i = 0; i < src.size(); ++i) dst[i] = float(src[i]);
  return t;
}

Tensor images_of(const Tensor& u8) {
  Tensor t(DType::kFloat32, u8.shape());
  auto src = u8.span<std::uint8_t>();
  auto dst = t.span<float>();
  for (std::size_t i = 0; i < src.size(); ++i) dst[i] = float(src[i]) / 127.5f - 1.0f;
  return t;
}

TextEncoderConfig text_config(const Checkpoint& fx) {
  TextEncoderConfig c;
  c.c1 = meta_int(fx, "c1"), c.c2 = meta_int(fx, "c2"), c.c3 = meta_int(fx, "c3");
  c.emb_dim = meta_int(fx, "emb_dim");
  c.cell = fx.metadata.at("cell") == "gru" ? RnnCell::kGru : RnnCell::kRelu;
  return c;
}

class TextEmbeddingFixture : public ::testing::TestWithParam<std::string> {};

// One step from the fixture's init: records under prefix ("" or "norm/"), embeddings scaled to
// norm (0: raw), optimiser opt whose first step moves a weight by at most first_step.
// gtol_scale widens the gradient tolerances where float32 itself is the limit.
void expect_step_matches(const std::string& backend, const std::string& prefix, const OptimizerConfig& opt, float norm,
                         double first_step, double gtol_scale = 1.0) {
  Checkpoint fx = load_fixture();
  auto be = make_backend(backend);
  TextEncoderConfig tc = text_config(fx);
  tc.norm = norm;
  TextEncoder text(tc);
  ImageEncoder image({meta_int(fx, "ndf"), meta_int(fx, "emb_dim"), norm});
  text.bind(*be);
  image.bind(*be);
  text.params().load_from(fx, "init/text/");
  image.params().load_from(fx, "init/image/");
  // The fixture holds exactly the models' tensors.
  std::size_t n_text = 0, n_image = 0;
  for (const auto& n : fx.names()) {
    n_text += n.rfind("init/text/", 0) == 0;
    n_image += n.rfind("init/image/", 0) == 0;
  }
  EXPECT_EQ(n_text, text.params().specs("").size());
  EXPECT_EQ(n_image, image.params().specs("").size());
  EXPECT_EQ(text.config().steps(), 8);

  TextEmbeddingStep step(*be, image, text, opt);
  Array x = upload(*be, images_of(fx.get("in/images"))), c = upload(*be, captions_of(fx.get("in/captions")));
  const float loss = step.run(x, c);

  const double tol = 2e-4;
  EXPECT_LT(nerr(to_vector(*be, step.image_features()), fx.get(prefix + "out/v")), tol);
  EXPECT_LT(nerr(to_vector(*be, step.text_features()), fx.get(prefix + "out/t")), tol);
  EXPECT_NEAR(loss, fx.get(prefix + "out/loss").span<float>()[0], 1e-5);

  for (auto [net, ps] : {std::pair<std::string, ParamSet*>{"text", &text.params()}, {"image", &image.params()}}) {
    Checkpoint after;
    ps->save_to(after, "");
    // A gradient far below the net's scale is rounding noise around a true zero.
    double total = 0, count = 0;
    for (const auto& e : ps->entries())
      if (!e.buffer) {
        const Tensor& fg = fx.get(fmt::format("{}grad/{}/{}", prefix, net, e.name));
        total += rms(fg) * rms(fg) * double(fg.numel()), count += double(fg.numel());
      }
    const double grad_scale = std::sqrt(total / count);
    ASSERT_GT(grad_scale, 0.0) << net;
    for (const auto& e : ps->entries()) {
      const Tensor& want = fx.get(fmt::format("{}step/{}/{}", prefix, net, e.name));
      auto got = after.get(e.name).span<float>();
      const std::vector<float> got_v(got.begin(), got.end());
      if (e.buffer) {
        EXPECT_LT(nerr(got_v, want, 1e-4), tol) << "after step " << net << " " << e.name;
        continue;
      }
      const Tensor& want_grad = fx.get(fmt::format("{}grad/{}/{}", prefix, net, e.name));
      // DS-SJE at this initialisation has every hinge term active, so the loss is bilinear in v
      // and t and some gradients are sums over the batch that cancel: fc.bias and conv4.bias
      // exactly (sum_j dt_j = 0; the float64 fixture holds ~1e-13 of the net's scale), which
      // float32 leaves as rounding noise near 1e-3 of the net's scale; other small gradients
      // (the RNN biases, a few percent of the scale) keep a few 1e-3 of relative noise.
      const std::vector<float> grad = to_vector(*be, ps->grad(e.name));
      if (rms(want_grad) < 1e-6 * grad_scale) {
        double sq = 0;
        for (float g : grad) sq += double(g) * g;
        EXPECT_LT(std::sqrt(sq / double(grad.size())), 5e-3 * grad_scale) << "grad " << net << " " << e.name;
      } else {
        const double gtol = gtol_scale * (rms(want_grad) < 0.1 * grad_scale ? 1e-2 : 1e-3);
        EXPECT_LT(nerr(grad, want_grad, 1e-2 * grad_scale), gtol)
            << "grad " << net << " " << e.name << " (rms " << rms(want_grad) / grad_scale << " of the net's)";
      }
      // A first step moves each weight by about a fixed size times sign(g) (RMSprop: 10 lr;
      // Adam: lr): where g is rounding noise, so is the sign (and where the gradient check allowed
      // a sign flip); below |g| ~ 1e-6 eps (1e-8) makes the step's size depend on |g| as well.
      // Such elements may differ by up to two steps; the others must agree.
      auto wg = want_grad.span<float>();
      auto wp = want.span<float>();
      std::vector<float> masked = got_v;
      const double max_step = 2 * first_step * 1.01;
      for (std::size_t i = 0; i < masked.size(); ++i)
        if ((std::abs(wg[i]) < std::max(1e-2 * grad_scale, 1e-6) || (grad[i] > 0) != (wg[i] > 0)) &&
            std::abs(double(masked[i]) - wp[i]) <= max_step)
          masked[i] = wp[i];
      EXPECT_LT(nerr(masked, want), tol) << "after step " << net << " " << e.name;
    }
    for (const auto& name : after.names()) {
      if (name.find("num_batches_tracked") == std::string::npos) continue;
      EXPECT_EQ(after.get(name).span<std::int64_t>()[0],
                fx.get(fmt::format("{}step/{}/{}", prefix, net, name)).span<std::int64_t>()[0])
          << name;
    }
  }
}

// The CVPR code's recipe: raw embeddings, RMSprop lr 7e-4.
TEST_P(TextEmbeddingFixture, OneDssjeStepMatchesPyTorch) {
  T2I_SKIP_UNLESS_BACKEND(GetParam());
  expect_step_matches(GetParam(), "", {.kind = "rmsprop", .lr = 7e-4}, 0.0f, 10 * 7e-4);
}

// train-text's default: embeddings of L2 norm 4, Adam lr 2e-4 beta1 0.5.
TEST_P(TextEmbeddingFixture, NormalisedAdamStepMatchesPyTorch) {
  T2I_SKIP_UNLESS_BACKEND(GetParam());
  Checkpoint fx = load_fixture();
  const float norm = std::stof(fx.metadata.at("norm"));
  ASSERT_EQ(norm, 4.0f);
  // At this init the text embeddings of the four captions are nearly parallel (their
  // normalised scores differ by < 1%), so the gradient through the normalisation cancels: PyTorch's
  // own float32 run of this step differs from the float64 record by 1.2e-2 (conv1.bias, conv2) and
  // 4e-3 (conv3.bias, against its 1e-3), as ref and cpu do; the tolerances are widened 5x for it.
  expect_step_matches(GetParam(), "norm/", {.kind = "adam", .lr = 2e-4, .beta1 = 0.5}, norm, 2e-4, 5.0);
}

INSTANTIATE_TEST_SUITE_P(Backends, TextEmbeddingFixture, ::testing::Values("ref", "cpu", "cuda"),
                         [](const ::testing::TestParamInfo<std::string>& p) { return p.param; });

// The Python fixture's alphabet and rules agree with common/text/charset.cc on real captions
// (upper case, both '-', punctuation, a non-ASCII character).
TEST(TextEmbedding, CaptionEncodingMatchesPython) {
  Checkpoint fx = load_fixture();
  const Tensor& want = fx.get("in/captions");
  ASSERT_EQ(want.shape(), (Shape{4, text::kAlphabetSize, text::kMaxLength}));
  auto w = want.span<std::uint8_t>();
  const std::size_t per = std::size_t(text::kAlphabetSize) * text::kMaxLength;
  std::vector<float> got(per);
  for (std::size_t b = 0; b < 4; ++b) {
    const std::string caption = fx.metadata.at(fmt::format("caption{}", b));
    text::one_hot(text::encode(caption), got.data());
    std::size_t ones = 0, mismatches = 0;
    for (std::size_t i = 0; i < per; ++i) {
      ones += got[i] == 1.0f;
      mismatches += got[i] != float(w[b * per + i]);
    }
    EXPECT_EQ(mismatches, 0u) << caption;
    EXPECT_GT(ones, 20u) << caption;
  }
}

// A tiny synthetic problem: 8 classes, each a distinct caption and a distinct flat colour (with
// a little noise). 30 DS-SJE steps on the cpu backend must at least halve the loss.
TEST(TextEmbedding, TrainingLowersLossOnSyntheticClasses) {
  const std::vector<std::string> captions{
      "a bright red bird",    "a deep blue bird",      "a green bird",       "a yellow bird with a long tail",
      "a black and white bird", "a small purple bird", "an orange bird",     "a grey bird with a short beak"};
  const float colours[8][3] = {{1, -1, -1}, {-1, -1, 1}, {-1, 1, -1}, {1, 1, -1},
                               {0, 0, 0},   {0.5f, -1, 0.8f}, {1, 0, -1}, {-0.3f, -0.3f, -0.3f}};
  const i64 B = 8;
  auto be = make_backend("cpu");
  TextEncoderConfig tc;
  tc.c1 = 32, tc.c2 = 32, tc.c3 = 32, tc.emb_dim = 32;
  TextEncoder text(tc);
  ImageEncoder image({8, 32});
  text.bind(*be);
  image.bind(*be);
  text.params().init(11);
  image.params().init(12);

  Tensor cap(DType::kFloat32, {B, text::kAlphabetSize, text::kMaxLength});
  Tensor img(DType::kFloat32, {B, 3, 64, 64});
  Rng rng(7);
  for (i64 b = 0; b < B; ++b) {
    text::one_hot(text::encode(captions[std::size_t(b)]),
                  cap.span<float>().data() + b * text::kAlphabetSize * text::kMaxLength);
    for (i64 ch = 0; ch < 3; ++ch)
      for (i64 i = 0; i < 64 * 64; ++i)
        img.span<float>()[std::size_t((b * 3 + ch) * 64 * 64 + i)] = colours[b][ch] + rng.normal(0.0f, 0.1f);
  }
  Array x = upload(*be, img), c = upload(*be, cap);
  TextEmbeddingStep step(*be, image, text);
  float first = 0, last = 0;
  for (int it = 0; it < 30; ++it) {
    last = step.run(x, c);
    if (it == 0) first = last;
    ASSERT_TRUE(std::isfinite(last)) << "step " << it;
  }
  EXPECT_LT(last, 0.5f * first) << "first " << first << " last " << last;
}

// --mean-captions K: a pair's text feature is the mean of K caption embeddings. The loss is the
// DS-SJE loss of the image features against those means, and K copies of each caption give the
// one-caption step's features, loss and gradients exactly (the mean's backward spreads dt / K).
TEST_P(TextEmbeddingFixture, MeanOfKCaptionsPerPair) {
  const std::string backend = GetParam();
  T2I_SKIP_UNLESS_BACKEND(backend);
  const char* captions[3][2] = {{"a red bird with a short beak", "this bird is red all over"},
                                {"a small blue bird", "blue wings and a white belly"},
                                {"yellow crown, black wings", "a bird with a yellow head"}};
  const i64 B = 3, K = 2, row = text::kAlphabetSize * text::kMaxLength;
  auto be = make_backend(backend);
  TextEncoderConfig tc;
  tc.c1 = tc.c2 = tc.c3 = 16, tc.emb_dim = 12, tc.norm = 4;
  struct Model {
    explicit Model(const TextEncoderConfig& c) : text(c), image({4, 12, 4}) {}
    TextEncoder text;
    ImageEncoder image;
  };
  auto make = [&] {
    auto m = std::make_unique<Model>(tc);
    m->text.bind(*be);
    m->image.bind(*be);
    m->text.params().init(21);
    m->image.params().init(22);
    return m;
  };
  Tensor img(DType::kFloat32, {B, 3, 64, 64});
  Rng rng(9);
  for (float& v : img.span<float>()) v = rng.normal(0.0f, 0.5f);
  Tensor two(DType::kFloat32, {B * K, text::kAlphabetSize, text::kMaxLength});
  Tensor one(DType::kFloat32, {B, text::kAlphabetSize, text::kMaxLength});
  Tensor dup(DType::kFloat32, {B * K, text::kAlphabetSize, text::kMaxLength});
  for (i64 b = 0; b < B; ++b) {
    text::one_hot(text::encode(captions[b][0]), one.span<float>().data() + b * row);
    for (i64 j = 0; j < K; ++j) {
      text::one_hot(text::encode(captions[b][j]), two.span<float>().data() + (b * K + j) * row);
      text::one_hot(text::encode(captions[b][0]), dup.span<float>().data() + (b * K + j) * row);
    }
  }
  const Array x = upload(*be, img);

  // The mean features and the loss, from the encoders' own forward passes.
  auto probe = make();
  std::vector<float> all = to_vector(*be, probe->text.forward(0, upload(*be, two)));
  Tensor mean(DType::kFloat32, {B, tc.emb_dim});
  for (i64 b = 0; b < B; ++b)
    for (i64 e = 0; e < tc.emb_dim; ++e)
      mean.span<float>()[std::size_t(b * tc.emb_dim + e)] =
          0.5f * (all[std::size_t((b * K) * tc.emb_dim + e)] + all[std::size_t((b * K + 1) * tc.emb_dim + e)]);
  Array v;
  be->to_plain(probe->image.forward(0, x, /*training=*/true), v);
  const float want = be->dssje_loss(v, upload(*be, mean), nullptr, nullptr);

  auto m2 = make();
  TextEmbeddingStep step2(*be, m2->image, m2->text);
  const float loss2 = step2.run(x, upload(*be, two));
  EXPECT_NEAR(loss2, want, 1e-4);
  EXPECT_LT(nerr(to_vector(*be, step2.text_features()), mean), 1e-4);
  EXPECT_GT(loss2, 0.0f);

  auto m1 = make(), md = make();
  TextEmbeddingStep step1(*be, m1->image, m1->text), stepd(*be, md->image, md->text);
  const float loss1 = step1.run(x, upload(*be, one)), lossd = stepd.run(x, upload(*be, dup));
  EXPECT_NEAR(lossd, loss1, 1e-5);
  for (const auto& e : m1->text.params().entries()) {
    const std::vector<float> g1 = to_vector(*be, m1->text.params().grad(e.name));
    const std::vector<float> gd = to_vector(*be, md->text.params().grad(e.name));
    double num = 0, den = 0;
    for (std::size_t i = 0; i < g1.size(); ++i) num += (gd[i] - g1[i]) * (gd[i] - g1[i]), den += g1[i] * g1[i];
    EXPECT_GT(den, 0.0) << e.name;
    EXPECT_LT(std::sqrt(num / den), 1e-4) << e.name;
  }
  EXPECT_THROW(step1.run(x, upload(*be, Tensor(DType::kFloat32, {B + 1, text::kAlphabetSize, text::kMaxLength}))),
               RuntimeError);
}

// A text-model checkpoint holds both encoders (and their RMSprop states) under PyTorch-style
// names with the configuration, and loads back into models that then compute the same.
TEST(TextModelCheckpoint, RoundTripsAndRefusesAnotherShape) {
  TextModelConfig cfg;
  cfg.text.c1 = cfg.text.c2 = cfg.text.c3 = 16;
  cfg.text.emb_dim = 24;
  cfg.image.ndf = 4;
  cfg.image.emb_dim = 24;
  auto be = make_backend("cpu");
  TextEncoder text(cfg.text);
  ImageEncoder image(cfg.image);
  text.bind(*be);
  image.bind(*be);
  text.params().init(3);
  image.params().init(4);
  TextEmbeddingStep step(*be, image, text);
  Tensor cap(DType::kFloat32, {2, text::kAlphabetSize, text::kMaxLength}), img(DType::kFloat32, {2, 3, 64, 64});
  text::one_hot(text::encode("a red bird"), cap.span<float>().data());
  text::one_hot(text::encode("a blue bird with white wings"), cap.span<float>().data() + text::kAlphabetSize * text::kMaxLength);
  Rng rng(5);
  for (float& v : img.span<float>()) v = rng.normal(0.0f, 0.5f);
  Array c = upload(*be, cap), x = upload(*be, img);
  step.run(x, c);
  test::TempDir dir;
  const std::string path = dir.file("text.st");
  save_text_model(path, cfg, text, image, &step.opt_text(), &step.opt_image(), {{"epoch", "1"}});

  Checkpoint ck = Checkpoint::load(path);
  EXPECT_EQ(ck.meta("model"), "t2igan-text");
  EXPECT_TRUE(ck.contains("text_encoder.rnn.weight_ih_l0"));
  EXPECT_TRUE(ck.contains("image_encoder.bn1.running_var"));
  EXPECT_TRUE(ck.contains("optimizer.text_encoder.conv1.weight.square_avg"));
  TextModelConfig back = TextModelConfig::from_checkpoint(ck);
  EXPECT_EQ(back.text.c2, 16);
  EXPECT_EQ(back.image.ndf, 4);
  TextEncoder text2(back.text);
  text2.bind(*be);
  load_text_model(ck, text2, nullptr);
  std::vector<float> a = to_vector(*be, text.forward(0, c)), b = to_vector(*be, text2.forward(0, c));
  EXPECT_EQ(a, b);

  TextModelConfig other = cfg;
  other.text.c3 = 32;
  TextEncoder wrong(other.text);
  wrong.bind(*be);
  try {
    load_text_model(ck, wrong, nullptr);
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("text_encoder.conv3.weight"), std::string::npos) << e.what();
  }
  Checkpoint not_text;
  EXPECT_THROW(TextModelConfig::from_checkpoint(not_text), InputError);
}

}  // namespace
}  // namespace t2i::nn
