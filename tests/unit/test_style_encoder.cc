// The style encoder (common/nn/style_encoder.h): shapes and parameter names, the same outputs on
// both backends, a checkpoint round trip, refusal of other models, and that a few Adam steps on
// ||z - S(G(z, h))||^2 with a fixed random generator lower the loss.
#include <gtest/gtest.h>


#include <cmath>
#include <tuple>

#include "error.h"
#include "nn/gan.h"
#include "nn/gan_checkpoint.h"
#include "nn/optim.h"
#include "nn/style_encoder.h"
#include "test_util.h"

namespace t2i::nn {
namespace {

Tensor random_tensor(Rng& rng, const Shape& s, float scale = 1.0f) {
  Tensor t(DType::kFloat32, s);
  for (float& v : t.span<float>()) v = scale * static_cast<float>(rng.normal());
  return t;
}

TEST(StyleEncoder, ShapesAndNames) {
  for (Arch arch : {Arch::kPlain, Arch::kV2}) {
    StyleConfig c;
    c.arch = arch, c.ndf = 8, c.z_dim = 10;
    auto be = make_backend("cpu");
    StyleEncoder s(c);
    s.bind(*be);
    s.params().init(1);
    Rng rng(2);
    const Array& z = s.forward(0, upload(*be, random_tensor(rng, {3, 3, 64, 64})), true);
    EXPECT_EQ(z.shape, (Shape{3, 10}));
    bool has_bias = false, has_res = false;
    for (const auto& e : s.params().entries()) {
      has_bias = has_bias || e.name == "conv4.bias";
      has_res = has_res || e.name.rfind("res3.", 0) == 0;
    }
    EXPECT_TRUE(has_bias);
    EXPECT_EQ(has_res, arch == Arch::kV2);
    s.params().zero_grads();
    Array dz = be->zeros({3, 10});
    be->fill(dz, 0.1f);
    s.backward(0, dz);
    double g = 0;
    for (float v : to_vector(*be, s.params().grads())) g += std::abs(v);
    EXPECT_GT(g, 0.0);
  }
}

TEST(StyleEncoder, BackendsAgree) {
  StyleConfig c;
  c.ndf = 8, c.z_dim = 12;
  Rng rng(5);
  const Tensor x = random_tensor(rng, {4, 3, 64, 64});
  std::vector<float> out[2];
  int i = 0;
  for (const char* name : {"ref", "cpu"}) {
    auto be = make_backend(name);
    StyleEncoder s(c);
    s.bind(*be);
    s.params().init(3);
    out[i++] = to_vector(*be, s.forward(0, upload(*be, x), true));
  }
  double err = 0, scale = 0;
  for (std::size_t k = 0; k < out[0].size(); ++k)
    err = std::max(err, double(std::abs(out[0][k] - out[1][k]))), scale = std::max(scale, double(std::abs(out[0][k])));
  EXPECT_LT(err, 1e-4 * std::max(scale, 1.0));
}

TEST(StyleEncoder, CheckpointRoundTripAndRefusals) {
  test::TempDir dir;
  StyleConfig c;
  c.arch = Arch::kV2, c.ndf = 8, c.z_dim = 10;
  auto be = make_backend("cpu");
  StyleEncoder s(c);
  s.bind(*be);
  s.params().init(4);
  Rng rng(6);
  const Tensor x = random_tensor(rng, {2, 3, 64, 64});
  s.forward(0, upload(*be, x), true);  // moves the running statistics
  const std::vector<float> want = to_vector(*be, s.forward(0, upload(*be, x), false));
  save_style(dir.file("s.st"), s, nullptr, {{"gan.path", "g.st"}, {"model", "ignored"}});

  const Checkpoint ck = Checkpoint::load(dir.file("s.st"));
  EXPECT_EQ(ck.meta("model"), kStyleModel);
  EXPECT_EQ(ck.meta("gan.path"), "g.st");
  const StyleConfig back = StyleConfig::from_checkpoint(ck);
  EXPECT_EQ(back.arch, Arch::kV2);
  EXPECT_EQ(back.ndf, 8);
  EXPECT_EQ(back.z_dim, 10);
  StyleEncoder s2(back);
  s2.bind(*be);
  load_style(ck, s2);
  EXPECT_EQ(to_vector(*be, s2.forward(0, upload(*be, x), false)), want);

  // Metadata that disagrees with the tensors is refused before anything is allocated from it.
  for (const auto& [key, value, says] : std::vector<std::tuple<std::string, std::string, std::string>>{
           {"ndf", "100000", "expected a positive integer up to 4096"},
           {"ndf", "4096", "style_encoder.conv0.weight"},
           {"z_dim", "1048576", "style_encoder.conv4.weight"}}) {
    Checkpoint bad = ck;
    bad.metadata[key] = value;
    try {
      StyleConfig::from_checkpoint(bad);
      FAIL() << key << " " << value << " was accepted";
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(says), std::string::npos) << e.what();
    }
  }
  // A GAN checkpoint is refused by name.
  GanConfig g;
  g.z_dim = 10, g.emb_dim = 6, g.proj_dim = 4, g.ngf = 4, g.ndf = 4;
  Generator gen(g);
  Discriminator dis(g);
  gen.bind(*be), dis.bind(*be);
  gen.params().init(1), dis.params().init(2);
  save_gan(dir.file("g.st"), gen, dis, nullptr, nullptr);
  try {
    StyleConfig::from_checkpoint(Checkpoint::load(dir.file("g.st")));
    FAIL() << "a GAN checkpoint was taken for a style encoder";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("a GAN checkpoint (model 't2igan-gan'), not a style encoder"), std::string::npos)
        << e.what();
  }
  // Another width: the first differing tensor is named.
  StyleConfig other = c;
  other.ndf = 4;
  StyleEncoder s3(other);
  s3.bind(*be);
  try {
    load_style(ck, s3);
    FAIL() << "loaded into another width";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("conv0.weight"), std::string::npos) << e.what();
  }
}

TEST(StyleEncoder, AdamStepsLowerTheInversionLoss) {
  GanConfig g;
  g.z_dim = 8, g.emb_dim = 6, g.proj_dim = 4, g.ngf = 8, g.ndf = 8;
  auto be = make_backend("cpu");
  Generator gen(g);
  gen.bind(*be);
  gen.params().init(1);
  StyleConfig c;
  c.ndf = 8, c.z_dim = g.z_dim;
  StyleEncoder s(c);
  s.bind(*be);
  s.params().init(2);
  Adam opt;
  opt.hyper().lr = 1e-3;
  opt.bind(*be, s.params());
  Rng rng(3);
  Array dz;
  double first = 0, last = 0;
  const int steps = 60;
  for (int i = 0; i < steps; ++i) {
    const Array z = upload(*be, random_tensor(rng, {16, g.z_dim}));
    const Array& img = gen.forward(0, z, upload(*be, random_tensor(rng, {16, g.emb_dim})), /*training=*/true);
    const Array& pred = s.forward(0, img, true);
    s.params().zero_grads();
    const float loss = be->mse(pred, z, &dz);
    s.backward(0, dz);
    opt.step();
    if (i < 10) first += loss / 10;
    if (i >= steps - 10) last += loss / 10;
  }
  EXPECT_LT(last, 0.8 * first) << "first " << first << " last " << last;
}

}  // namespace
}  // namespace t2i::nn
