// The whole generator and discriminator, both architectures, against an independent PyTorch
// implementation (tests/torch/t2i_nets.py): the same initial weights and inputs, one GAN-CLS step
// (three D passes, Adam on D, G through the updated D, Adam on G); outputs, losses, every
// parameter gradient, every parameter and batch-norm statistic after the step must agree.
// Fixtures: tests/data/torch/gan_step_{plain,v2,v2_shift}.safetensors, made by make_gan_fixtures.py
// (v2_shift: the v2 nets with G's text shifts, train-gan --g-text-shift).
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <ostream>

#include "checkpoint.h"
#include "test_util.h"
#include "nn/cuda_backend.h"
#include "nn/gan_step.h"
#include "nn/ref_backend.h"

namespace t2i::nn {
namespace {

struct Case {
  std::string fixture, backend;  // fixture: the arch, then "_shift" with G's text shifts
};
// How gtest and CTest's skip list name a case ("plain_cuda", not the object's bytes).
void PrintTo(const Case& c, std::ostream* os) { *os << c.fixture << "_" << c.backend; }

std::string case_name(const ::testing::TestParamInfo<Case>& p) { return p.param.fixture + "_" + p.param.backend; }

using test::nerr;
using test::rms;

class GanFixture : public ::testing::TestWithParam<Case> {};

TEST_P(GanFixture, OneGanClsStepMatchesPyTorch) {
  const Case& c = GetParam();
  T2I_SKIP_UNLESS_BACKEND(c.backend);
  Checkpoint fx = Checkpoint::load(std::string(T2I_TEST_DATA) + "/torch/gan_step_" + c.fixture + ".safetensors");
  GanConfig cfg = GanConfig::from_metadata(fx.metadata);
  const bool shift = c.fixture.size() > 6 && c.fixture.compare(c.fixture.size() - 6, 6, "_shift") == 0;
  ASSERT_EQ(arch_name(cfg.arch), c.fixture.substr(0, shift ? c.fixture.size() - 6 : c.fixture.size()));
  ASSERT_EQ(cfg.g_text_shift, shift);
  auto be = make_backend(c.backend);
  Generator g(cfg);
  Discriminator d(cfg);
  g.bind(*be);
  d.bind(*be);
  g.params().load_from(fx, "init/G/");
  d.params().load_from(fx, "init/D/");
  // The fixture holds exactly the model's tensors: names and shapes are the PyTorch state_dict's.
  std::vector<std::string> g_names, d_names;
  for (const auto& n : fx.names()) {
    if (n.rfind("init/G/", 0) == 0) g_names.push_back(n.substr(7));
    if (n.rfind("init/D/", 0) == 0) d_names.push_back(n.substr(7));
  }
  EXPECT_EQ(g_names.size(), g.params().specs("").size());
  EXPECT_EQ(d_names.size(), d.params().specs("").size());

  GanClsStep step(*be, g, d, 0.5f);
  Array x = upload(*be, fx.get("in/x_real")), h = upload(*be, fx.get("in/emb_right")),
        hw = upload(*be, fx.get("in/emb_wrong")), z = upload(*be, fx.get("in/z"));
  StepLosses losses;
  losses.loss_d = step.run_d(x, h, hw, z);
  Checkpoint d_after;  // D as PyTorch recorded it: before the G step's pass moves its statistics
  d.params().save_to(d_after, "");
  losses.loss_g = step.run_g(h);

  const double tol = 2e-4;
  EXPECT_LT(nerr(to_vector(*be, step.fake()), fx.get("out/fake")), tol);
  EXPECT_LT(nerr(to_vector(*be, step.logits(0)), fx.get("out/s_r")), tol);
  EXPECT_LT(nerr(to_vector(*be, step.logits(1)), fx.get("out/s_w")), tol);
  EXPECT_LT(nerr(to_vector(*be, step.logits(2)), fx.get("out/s_f")), tol);
  EXPECT_LT(nerr(to_vector(*be, step.logits(3)), fx.get("out/s_g")), tol);
  EXPECT_NEAR(losses.loss_d, fx.get("out/loss_d").span<float>()[0], 1e-5);
  EXPECT_NEAR(losses.loss_g, fx.get("out/loss_g").span<float>()[0], 1e-5);

  Checkpoint g_after;
  g.params().save_to(g_after, "");
  for (auto [net, ps, after_ptr] : {std::tuple{"G", &g.params(), &g_after}, std::tuple{"D", &d.params(), &d_after}}) {
    const Checkpoint& after = *after_ptr;
    // The scale of this net's gradients: a gradient far below it is rounding noise around a
    // true zero (the bias of a layer followed by batch norm), with no digits to compare.
    double total = 0, count = 0;
    for (const auto& e : ps->entries())
      if (!e.buffer) {
        const Tensor& fg = fx.get(fmt::format("grad/{}/{}", net, e.name));
        total += rms(fg) * rms(fg) * double(fg.numel()), count += double(fg.numel());
      }
    const double grad_scale = std::sqrt(total / count);
    for (const auto& e : ps->entries()) {
      const Tensor& want = fx.get(fmt::format("step/{}/{}", net, e.name));
      auto got = after.get(e.name).span<float>();
      const std::vector<float> got_v(got.begin(), got.end());
      if (e.buffer) {  // running statistics: means near zero are compared on an absolute floor
        EXPECT_LT(nerr(got_v, want, 1e-4), tol) << "after step " << net << " " << e.name;
        continue;
      }
      const Tensor& want_grad = fx.get(fmt::format("grad/{}/{}", net, e.name));
      std::vector<float> grad = to_vector(*be, ps->grad(e.name));
      EXPECT_LT(nerr(grad, want_grad, 1e-3 * grad_scale), 1e-3) << "grad " << net << " " << e.name;
      // Adam's first step moves every weight by about lr * sign(g): where g is noise, so is the sign.
      if (rms(want_grad) > 1e-3 * grad_scale) {
        EXPECT_LT(nerr(got_v, want), tol) << "after step " << net << " " << e.name;
      }
    }
    for (const auto& name : after.names()) {
      if (name.find("num_batches_tracked") == std::string::npos) continue;
      const std::int64_t got = after.get(name).span<std::int64_t>()[0];
      const std::int64_t want = fx.get(fmt::format("step/{}/{}", net, name)).span<std::int64_t>()[0];
      EXPECT_EQ(got, want) << name;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, GanFixture,
                         ::testing::Values(Case{"plain", "ref"}, Case{"v2", "ref"}, Case{"v2_shift", "ref"},
                                           Case{"plain", "cpu"}, Case{"v2", "cpu"}, Case{"v2_shift", "cpu"},
                                           Case{"plain", "cuda"}, Case{"v2", "cuda"}, Case{"v2_shift", "cuda"}),
                         case_name);

}  // namespace
}  // namespace t2i::nn

namespace t2i::nn {
namespace {

// Same seed, same backend, same thread count: the same bits, for a whole training step of both
// nets (two independent runs from the same initial weights and inputs).
TEST(GanDeterminism, TwoRunsGiveIdenticalBits) {
  for (const char* arch : {"plain", "v2"}) {
    Checkpoint fx = Checkpoint::load(std::string(T2I_TEST_DATA) + "/torch/gan_step_" + arch + ".safetensors");
    GanConfig cfg = GanConfig::from_metadata(fx.metadata);
    std::vector<float> results[2];
    for (int run = 0; run < 2; ++run) {
      auto be = make_backend("cpu");
      Generator g(cfg);
      Discriminator d(cfg);
      g.bind(*be);
      d.bind(*be);
      g.params().init(5);
      d.params().init(6);
      GanClsStep step(*be, g, d);
      Array x = upload(*be, fx.get("in/x_real")), h = upload(*be, fx.get("in/emb_right")),
            hw = upload(*be, fx.get("in/emb_wrong")), z = upload(*be, fx.get("in/z"));
      for (int i = 0; i < 2; ++i) step.run(x, h, hw, z);
      const std::vector<const Array*> outputs{&step.fake(),        &g.params().data(), &g.params().grads(),
                                              &d.params().data(),  &d.params().grads(), &d.params().buffers()};
      for (const Array* a : outputs) {
        std::vector<float> v = to_vector(*be, *a);
        results[run].insert(results[run].end(), v.begin(), v.end());
      }
    }
    ASSERT_EQ(results[0].size(), results[1].size());
    EXPECT_EQ(std::memcmp(results[0].data(), results[1].data(), results[0].size() * sizeof(float)), 0) << arch;
  }
}

}  // namespace
}  // namespace t2i::nn

namespace t2i::nn {
namespace {

// The paper's initialisation, from a seeded generator on the host, the same bits on every
// backend: conv and linear weights N(0, 0.02), batch-norm gamma N(1, 0.02), betas and biases 0,
// running statistics 0 and 1.
TEST(GanInit, PaperInitialisationIdenticalOnEveryBackend) {
  GanConfig cfg;
  cfg.arch = Arch::kV2;
  cfg.ngf = 16, cfg.ndf = 16, cfg.emb_dim = 64, cfg.proj_dim = 16, cfg.z_dim = 20;
  Checkpoint per_backend[2];
  int i = 0;
  for (const char* name : {"ref", "cpu"}) {
    auto be = make_backend(name);
    Generator g(cfg);
    g.bind(*be);
    g.params().init(42);
    g.params().save_to(per_backend[i++], "");
  }
  for (const auto& n : per_backend[0].names()) EXPECT_TRUE(per_backend[0].get(n) == per_backend[1].get(n)) << n;
  auto stats = [&](const std::string& n) {
    auto v = per_backend[0].get(n).span<float>();
    double mean = 0, sq = 0;
    for (float x : v) mean += x;
    mean /= double(v.size());
    for (float x : v) sq += (x - mean) * (x - mean);
    return std::pair{mean, std::sqrt(sq / double(v.size()))};
  };
  auto [wm, ws] = stats("up1.weight");  // 128 x 64 x 4 x 4 values
  EXPECT_NEAR(wm, 0.0, 0.001);
  EXPECT_NEAR(ws, 0.02, 0.001);
  auto [gm, gs] = stats("bn1.weight");
  EXPECT_NEAR(gm, 1.0, 0.01);
  EXPECT_NEAR(gs, 0.02, 0.01);
  for (const char* zero : {"bn1.bias", "fc.bias", "bn1.running_mean"}) EXPECT_EQ(stats(zero).first, 0.0) << zero;
  EXPECT_EQ(stats("bn1.running_var").first, 1.0);
  // Another seed, other weights.
  auto be = make_backend("ref");
  Generator g(cfg);
  g.bind(*be);
  g.params().init(43);
  Checkpoint other;
  g.params().save_to(other, "");
  EXPECT_FALSE(other.get("up1.weight") == per_backend[0].get("up1.weight"));
}

}  // namespace
}  // namespace t2i::nn

#include "error.h"
#include "nn/gan_checkpoint.h"

namespace t2i::nn {
namespace {

// train-gan's embedding standardisation: centred per dimension, unit RMS; stored with the
// weights and read back exactly; checkpoints without it read as the identity; malformed ones
// are refused by name.
TEST(EmbeddingNormTest, MeasureApplyAndRoundTrip) {
  // Rows sharing a large common direction (as train-gan's normalised text embeddings do).
  const std::size_t n = 6, dim = 4;
  std::vector<float> rows(n * dim);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < dim; ++j) rows[i * dim + j] = 3.0f + 0.1f * float((i * 7 + j * 3) % 5) - 0.2f * float(j);
  const EmbeddingNorm norm = EmbeddingNorm::measure(rows.data(), n, dim);
  ASSERT_EQ(norm.mean.size(), dim);
  std::vector<float> out = rows;
  norm.apply(out.data(), n);
  double sq = 0;
  for (std::size_t j = 0; j < dim; ++j) {
    double s = 0;
    for (std::size_t i = 0; i < n; ++i) s += out[i * dim + j];
    EXPECT_NEAR(s / n, 0.0, 1e-6) << "column " << j;
  }
  for (float v : out) sq += double(v) * v;
  EXPECT_NEAR(std::sqrt(sq / double(n * dim)), 1.0, 1e-5);
  EXPECT_TRUE(EmbeddingNorm{}.identity());

  test::TempDir dir;
  GanConfig cfg;
  cfg.ngf = 8, cfg.ndf = 8, cfg.z_dim = 3, cfg.proj_dim = 4, cfg.emb_dim = static_cast<i64>(dim);
  auto be = make_backend("ref");
  Generator g(cfg);
  Discriminator d(cfg);
  g.bind(*be);
  d.bind(*be);
  g.params().init(1);
  d.params().init(2);
  save_gan(dir.file("with.st"), g, d, nullptr, nullptr, {}, norm);
  save_gan(dir.file("without.st"), g, d, nullptr, nullptr);
  const Checkpoint with = Checkpoint::load(dir.file("with.st")), without = Checkpoint::load(dir.file("without.st"));
  const EmbeddingNorm back = embedding_norm(with, cfg.emb_dim);
  EXPECT_EQ(back.mean, norm.mean);
  EXPECT_EQ(back.scale, norm.scale);  // exactly: the shortest decimal that reads back
  EXPECT_TRUE(embedding_norm(without, cfg.emb_dim).identity());
  load_gan(with, g, d);  // the extra tensor is not a weight
  EXPECT_THROW(embedding_norm(with, cfg.emb_dim + 1), InputError);

  Checkpoint bad = with;
  bad.metadata[kEmbeddingNormScale] = "-1";
  EXPECT_THROW(embedding_norm(bad, cfg.emb_dim), InputError);
  bad.metadata[kEmbeddingNormScale] = "1x";
  EXPECT_THROW(embedding_norm(bad, cfg.emb_dim), InputError);
  bad.metadata.erase(kEmbeddingNormScale);
  EXPECT_THROW(embedding_norm(bad, cfg.emb_dim), InputError);
}

}  // namespace
}  // namespace t2i::nn

namespace t2i::nn {
namespace {

// A checkpoint that says it was trained on standardised embeddings but lost them (weights
// re-saved elsewhere) is refused, not silently fed raw embeddings.
TEST(EmbeddingNormTest, StandardizeWithoutStoredNormRefused) {
  Checkpoint ck;
  ck.metadata["train.embedding_norm"] = "standardize";
  EXPECT_THROW(embedding_norm(ck, 4), InputError);
  ck.metadata["train.embedding_norm"] = "none";
  EXPECT_TRUE(embedding_norm(ck, 4).identity());
}

}  // namespace
}  // namespace t2i::nn
