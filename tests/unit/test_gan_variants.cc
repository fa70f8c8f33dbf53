// The four training variants of common/nn/gan_step (GAN, GAN-CLS, GAN-INT, GAN-INT-CLS), and GAN-CLS
// and GAN-INT-CLS with the mode-seeking term ("cls-ms", "int-cls-ms"; "int-cls-ms8": its image
// distance on 8 x 8 block means, train-gan --ms-pool 8; "int-cls-ms-aug": with DiffAugment's
// translation and cutout of every D input, train-gan --augment translation,cutout; "int-cls-ms8-edges":
// the distance on the differences of horizontally adjacent 8 x 8 block means, train-gan --ms-image
// edges; "int-cls-ms-text" and "cls-text": D's text head, train-gan --text-head 0.75; "int-cls-ms-shift":
// G's text shifts, train-gan --g-text-shift), against an independent PyTorch implementation (tests/torch/make_gan_variant_fixtures.py):
// the same initial weights and inputs, one step of each variant; logits, losses, every parameter gradient,
// every parameter and batch-norm statistic after the step must agree, on ref, cpu and cuda.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <ostream>
#include <stdexcept>

#include "checkpoint.h"
#include "error.h"
#include "nn/gan_step.h"
#include "nn/ref_backend.h"
#include "test_util.h"

namespace t2i::nn {
namespace {

using test::nerr;
using test::rms;

struct Case {
  std::string variant, backend;
};
// How gtest and CTest's skip list name a case ("int-cls_cuda", not the object's bytes).
void PrintTo(const Case& c, std::ostream* os) { *os << c.variant << "_" << c.backend; }

std::string case_name(const ::testing::TestParamInfo<Case>& p) {
  std::string v = p.param.variant;
  for (char& ch : v)
    if (ch == '-') ch = '_';
  return v + "_" + p.param.backend;
}

const Checkpoint& fixture() {
  static const Checkpoint fx = Checkpoint::load(std::string(T2I_TEST_DATA) + "/torch/gan_variants.safetensors");
  return fx;
}

// uint8 [B,3,64,64] -> x / 127.5 - 1, rows rolled by `roll` (row i takes row (i + roll) % B).
Tensor images(const Tensor& u8, i64 roll) {
  const i64 b = u8.shape()[0], per = u8.numel() / b;
  Tensor x(DType::kFloat32, u8.shape());
  auto src = u8.span<std::uint8_t>();
  auto dst = x.span<float>();
  for (i64 i = 0; i < b; ++i)
    for (i64 j = 0; j < per; ++j)
      dst[static_cast<std::size_t>(i * per + j)] =
          float(src[static_cast<std::size_t>(((i + roll) % b) * per + j)]) / 127.5f - 1.0f;
  return x;
}

class GanVariantFixture : public ::testing::TestWithParam<Case> {};

TEST_P(GanVariantFixture, OneStepMatchesPyTorch) {
  const Case& c = GetParam();
  T2I_SKIP_UNLESS_BACKEND(c.backend);
  const Checkpoint& fx = fixture();
  GanConfig cfg = GanConfig::from_metadata(fx.metadata);
  // "<variant>-ms" or "<variant>-ms<P>": the mode-seeking term, its distance on P x P block means;
  // a trailing "-aug": DiffAugment with the fixture's draws; "-edges": the distance on horizontal
  // differences of the block means.
  auto ends_with = [&](const std::string& tail) {
    return c.variant.size() > tail.size() && c.variant.compare(c.variant.size() - tail.size(), tail.size(), tail) == 0;
  };
  const bool aug = ends_with("-aug"), edges = ends_with("-edges"), text = ends_with("-text"),
             shift = ends_with("-shift");
  const std::string base =
      c.variant.substr(0, c.variant.size() - (aug ? 4 : edges ? 6 : text ? 5 : shift ? 6 : 0));
  const std::size_t ms_at = base.find("-ms");
  const bool ms = ms_at != std::string::npos;
  const GanVariant variant = variant_from_name(base.substr(0, ms_at));
  GanStepOptions opt = variant_options(variant, 0.5f, 1.0f, std::stof(fx.meta("beta")));
  if (ms) opt.ms_weight = 1.0f;
  if (ms && ms_at + 3 < base.size()) opt.ms_pool = std::stoi(base.substr(ms_at + 3));
  if (aug) opt.aug_shift = 8, opt.aug_cut = 32;
  opt.ms_edges = edges;
  if (text) opt.text_weight = 0.75f, cfg.d_text_head = true;
  cfg.g_text_shift = shift;
  auto be = make_backend(c.backend);
  Generator g(cfg);
  Discriminator d(cfg);
  g.bind(*be);
  d.bind(*be);
  g.params().load_from(fx, shift ? "init/G_shift/" : "init/G/");
  d.params().load_from(fx, text ? "init/D_text/" : "init/D/");

  GanStep step(*be, g, d, opt);
  EXPECT_EQ(step.uses_augment(), aug);
  if (aug) {
    auto draws = [&](const char* pass) {
      const Tensor& t = fx.get(std::string("in/aug_") + pass);
      auto s = t.span<std::int32_t>();
      return std::vector<std::int32_t>(s.begin(), s.end());
    };
    step.set_augment({draws("real"), draws("wrong"), draws("fake"), draws("gen"), draws("int")});
  }
  EXPECT_EQ(step.uses_wrong(), c.variant.find("cls") != std::string::npos);
  EXPECT_EQ(step.uses_interp(), c.variant.rfind("int", 0) == 0);
  EXPECT_EQ(step.uses_mode_seeking(), ms);
  EXPECT_EQ(step.uses_text_head(), text);
  const Tensor& h_host = fx.get("in/emb_right");
  Array x = upload(*be, images(fx.get("in/x_real"), 0)), xw = upload(*be, images(fx.get("in/x_real"), 1)),
        h = upload(*be, h_host), z = upload(*be, fx.get("in/z"));
  Array h_int = upload(*be, interpolate_halves(h_host, opt.interp_beta)), z_int = upload(*be, fx.get("in/z_int"));
  StepLosses losses;
  losses.loss_d = step.run_d(x, h, xw, h, z);
  Checkpoint d_after;  // D as PyTorch recorded it: before the G step's passes move its statistics
  d.params().save_to(d_after, "");
  const Array z_ms = upload(*be, fx.get("in/z_ms"));
  losses.loss_g = step.uses_interp() ? step.run_g(h, h_int, z_int, ms ? z_ms : Array())
                                     : ms ? step.run_g(h, {}, {}, z_ms) : step.run_g(h);

  const std::string v = c.variant + "/";
  // int's D step is gan's and int-cls's and the ms variants' are cls's: the fixture records them once.
  // The augmented variant's D step sees other images, and the shifted one other samples: recorded
  // on their own.
  const std::string dv = (aug || text || shift ? c.variant : c.variant == "int" ? "gan" : c.variant == "int-cls" || ms ? "cls" : c.variant) + "/";
  const double tol = 2e-4;
  const char* names[] = {"s_r", "s_w", "s_f", "s_g", "s_i"};
  for (int i = 0; i < 5; ++i) {
    const std::string key = v + "out/" + names[i];
    if (!fx.contains(key)) {
      EXPECT_TRUE(step.logits(i).empty()) << names[i];
      continue;
    }
    EXPECT_LT(nerr(to_vector(*be, step.logits(i)), fx.get(key)), tol) << names[i];
  }
  if (ms) {
    const float want = fx.get(v + "out/ms_ratio").span<float>()[0];
    EXPECT_NEAR(step.ms_ratio(), want, 1e-5 * want);
  } else {
    EXPECT_TRUE(std::isnan(step.ms_ratio()));
  }
  if (text) {
    for (auto [name, got] : {std::pair{"text_real", step.text_error_real()}, std::pair{"text_fake", step.text_error_fake()}}) {
      const float want = fx.get(v + "out/" + name).span<float>()[0];
      EXPECT_NEAR(got, want, 1e-5 * want) << name;
    }
  } else {
    EXPECT_TRUE(std::isnan(step.text_error_real()) && std::isnan(step.text_error_fake()));
  }
  EXPECT_NEAR(losses.loss_d, fx.get(v + "out/loss_d").span<float>()[0], 1e-5);
  // The mode-seeking term is ~1/r: its float32 rounding grows with it.
  EXPECT_NEAR(losses.loss_g, fx.get(v + "out/loss_g").span<float>()[0],
              1e-5 * std::max(1.0f, std::abs(fx.get(v + "out/loss_g").span<float>()[0])));

  Checkpoint g_after;
  g.params().save_to(g_after, "");
  for (auto [net, ps, after_ptr, prefix] : {std::tuple{"G", &g.params(), &g_after, v},
                                           std::tuple{"D", &d.params(), &d_after, dv}}) {
    const Checkpoint& after = *after_ptr;
    double total = 0, count = 0;
    for (const auto& e : ps->entries())
      if (!e.buffer) {
        const Tensor& fg = fx.get(fmt::format("{}grad/{}/{}", prefix, net, e.name));
        total += rms(fg) * rms(fg) * double(fg.numel()), count += double(fg.numel());
      }
    const double grad_scale = std::sqrt(total / count);
    for (const auto& e : ps->entries()) {
      const Tensor& want = fx.get(fmt::format("{}step/{}/{}", prefix, net, e.name));
      auto got = after.get(e.name).span<float>();
      const std::vector<float> got_v(got.begin(), got.end());
      if (e.buffer) {
        EXPECT_LT(nerr(got_v, want, 1e-4), tol) << "after step " << net << " " << e.name;
        continue;
      }
      const Tensor& want_grad = fx.get(fmt::format("{}grad/{}/{}", prefix, net, e.name));
      std::vector<float> grad = to_vector(*be, ps->grad(e.name));
      EXPECT_LT(nerr(grad, want_grad, 1e-3 * grad_scale), 1e-3) << "grad " << net << " " << e.name;
      if (rms(want_grad) > 1e-3 * grad_scale) {
        EXPECT_LT(nerr(got_v, want), tol) << "after step " << net << " " << e.name;
      }
    }
    for (const auto& name : after.names()) {
      if (name.find("num_batches_tracked") == std::string::npos) continue;
      EXPECT_EQ(after.get(name).span<std::int64_t>()[0],
                fx.get(fmt::format("{}step/{}/{}", prefix, net, name)).span<std::int64_t>()[0])
          << name;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, GanVariantFixture,
                         ::testing::Values(Case{"gan", "ref"}, Case{"cls", "ref"}, Case{"int", "ref"},
                                           Case{"int-cls", "ref"}, Case{"cls-ms", "ref"}, Case{"int-cls-ms", "ref"},
                                           Case{"gan", "cpu"}, Case{"cls", "cpu"}, Case{"int", "cpu"},
                                           Case{"int-cls", "cpu"}, Case{"cls-ms", "cpu"}, Case{"int-cls-ms", "cpu"},
                                           Case{"gan", "cuda"}, Case{"cls", "cuda"}, Case{"int", "cuda"},
                                           Case{"int-cls", "cuda"}, Case{"cls-ms", "cuda"}, Case{"int-cls-ms", "cuda"},
                                           Case{"int-cls-ms8", "ref"}, Case{"int-cls-ms8", "cpu"},
                                           Case{"int-cls-ms8", "cuda"}, Case{"int-cls-ms-aug", "ref"},
                                           Case{"int-cls-ms-aug", "cpu"}, Case{"int-cls-ms-aug", "cuda"},
                                           Case{"int-cls-ms8-edges", "ref"}, Case{"int-cls-ms8-edges", "cpu"},
                                           Case{"int-cls-ms8-edges", "cuda"}, Case{"int-cls-ms-text", "ref"},
                                           Case{"int-cls-ms-text", "cpu"}, Case{"int-cls-ms-text", "cuda"},
                                           Case{"cls-text", "ref"}, Case{"cls-text", "cpu"}, Case{"cls-text", "cuda"},
                                           Case{"int-cls-ms-shift", "ref"}, Case{"int-cls-ms-shift", "cpu"},
                                           Case{"int-cls-ms-shift", "cuda"}),
                         case_name);

TEST(GanVariants, NamesAndOptions) {
  for (const char* n : {"gan", "cls", "int", "int-cls"}) EXPECT_STREQ(variant_name(variant_from_name(n)), n);
  EXPECT_THROW(variant_from_name("int_cls"), UsageError);
  GanStepOptions o = variant_options(GanVariant::kIntCls, 0.3f, 2.0f, 0.25f);
  EXPECT_EQ(o.cls_weight, 0.3f);
  EXPECT_EQ(o.interp_weight, 2.0f);
  EXPECT_EQ(o.interp_beta, 0.25f);
  o = variant_options(GanVariant::kGan, 0.3f, 2.0f);
  EXPECT_EQ(o.cls_weight, 0.0f);
  EXPECT_EQ(o.interp_weight, 0.0f);
}

TEST(GanVariants, TextHeadNeedsAHeadAndAValidSetting) {
  GanConfig cfg;
  cfg.ngf = cfg.ndf = 2, cfg.z_dim = 4, cfg.emb_dim = 6, cfg.proj_dim = 3;
  EXPECT_EQ(cfg.to_metadata().count("d_text_head"), 0u);  // absent without the head, as before it
  auto be = make_backend("ref");
  Generator g(cfg);
  Discriminator d(cfg);
  g.bind(*be);
  d.bind(*be);
  GanStepOptions opt = variant_options(GanVariant::kCls);
  opt.text_weight = 1.0f;
  EXPECT_THROW(GanStep(*be, g, d, opt), std::invalid_argument);
  EXPECT_THROW(d.text(0), std::logic_error);
  cfg.d_text_head = true;
  auto meta = cfg.to_metadata();
  EXPECT_EQ(meta.at("d_text_head"), "1");
  EXPECT_TRUE(GanConfig::from_metadata(meta).d_text_head);
  Discriminator dh(cfg);
  EXPECT_EQ(dh.params().entries().back().name, "aux.bias");
  meta["d_text_head"] = "yes";
  EXPECT_THROW(GanConfig::from_metadata(meta), InputError);
}

TEST(GanVariants, TextShiftsAreRegisteredLastAndNamedInTheMetadata) {
  GanConfig cfg;
  cfg.ngf = cfg.ndf = 2, cfg.z_dim = 4, cfg.emb_dim = 6, cfg.proj_dim = 3;
  EXPECT_EQ(cfg.to_metadata().count("g_text_shift"), 0u);  // absent without the shifts, as before them
  Generator plain(cfg);
  cfg.g_text_shift = true;
  auto meta = cfg.to_metadata();
  EXPECT_EQ(meta.at("g_text_shift"), "1");
  EXPECT_TRUE(GanConfig::from_metadata(meta).g_text_shift);
  Generator g(cfg);
  // The other parameters come first, in the same order, so they draw the same initial values.
  const auto& a = plain.params().entries();
  const auto& b = g.params().entries();
  ASSERT_EQ(b.size(), a.size() + 3);
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i].name, b[i].name);
  for (int i = 0; i < 3; ++i) {
    const auto& e = b[a.size() + std::size_t(i)];
    EXPECT_EQ(e.name, fmt::format("shift{}.weight", i + 1));
    EXPECT_EQ(e.shape, (Shape{(4 >> i) * cfg.ngf, cfg.proj_dim}));
  }
  meta["g_text_shift"] = "2";
  EXPECT_THROW(GanConfig::from_metadata(meta), InputError);
}

TEST(GanVariants, InterpolateHalves) {
  Tensor h(DType::kFloat32, {5, 2});
  auto s = h.span<float>();
  for (std::size_t i = 0; i < s.size(); ++i) s[i] = float(i);
  Tensor m = interpolate_halves(h, 0.25f);
  ASSERT_EQ(m.shape(), (Shape{2, 2}));
  // rows 0,1 with rows 2,3; row 4 (odd batch) unused
  EXPECT_EQ(m.span<float>()[0], 0.25f * 0 + 0.75f * 4);
  EXPECT_EQ(m.span<float>()[3], 0.25f * 3 + 0.75f * 7);
}

TEST(GanVariants, InterpolationNeedsItsInputs) {
  const Checkpoint& fx = fixture();
  GanConfig cfg = GanConfig::from_metadata(fx.metadata);
  auto be = make_backend("ref");
  Generator g(cfg);
  Discriminator d(cfg);
  g.bind(*be);
  d.bind(*be);
  g.params().init(1);
  d.params().init(2);
  GanStep step(*be, g, d, variant_options(GanVariant::kInt));
  Array x = upload(*be, images(fx.get("in/x_real"), 0)), h = upload(*be, fx.get("in/emb_right")),
        z = upload(*be, fx.get("in/z"));
  step.run_d(x, h, Array(), Array(), z);
  EXPECT_THROW(step.run_g(h), std::invalid_argument);

  GanStepOptions ms_opt = variant_options(GanVariant::kCls);
  ms_opt.ms_weight = 1.0f;
  GanStep ms_step(*be, g, d, ms_opt);
  ms_step.run_d(x, h, x, h, z);
  EXPECT_THROW(ms_step.run_g(h), std::invalid_argument);  // no second noise
  GanStepOptions edges_opt = ms_opt;
  edges_opt.ms_pool = 64, edges_opt.ms_edges = true;  // one block in a row: no neighbours to compare
  GanStep edges_step(*be, g, d, edges_opt);
  edges_step.run_d(x, h, x, h, z);
  EXPECT_THROW(edges_step.run_g(h, {}, {}, upload(*be, fx.get("in/z_ms"))), std::invalid_argument);

  GanStepOptions aug_opt = variant_options(GanVariant::kCls);
  aug_opt.aug_shift = 8, aug_opt.aug_cut = 32;
  GanStep aug_step(*be, g, d, aug_opt);
  EXPECT_THROW(aug_step.run_d(x, h, x, h, z), std::invalid_argument);  // no draws
  const std::int64_t n = x.dim(0);
  auto below = [](int k) { return k - 1; };
  AugmentDraws short_draws{draw_shift_cutout(n, 64, 8, below), draw_shift_cutout(n - 1, 64, 8, below),
                           draw_shift_cutout(n, 64, 8, below), {}, {}};
  aug_step.set_augment(short_draws);
  EXPECT_THROW(aug_step.run_d(x, h, x, h, z), std::invalid_argument);  // one image short for the wrong pass
}

TEST(GanVariants, AugmentDrawsStayInRange) {
  std::uint64_t state = 7;
  auto below = [&](int k) {  // a small LCG: the values, not their quality, are under test
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<int>((state >> 33) % static_cast<std::uint64_t>(k));
  };
  const std::vector<std::int32_t> p = draw_shift_cutout(500, 64, 8, below);
  ASSERT_EQ(p.size(), 2000u);
  std::int32_t lo = 0, hi = 0;
  for (std::size_t i = 0; i < p.size(); i += 4) {
    for (int k : {0, 1}) lo = std::min(lo, p[i + k]), hi = std::max(hi, p[i + k]);
    EXPECT_TRUE(p[i + 2] >= 0 && p[i + 2] < 64 && p[i + 3] >= 0 && p[i + 3] < 64);
  }
  EXPECT_EQ(lo, -8);  // both ends of the shift are drawn
  EXPECT_EQ(hi, 8);
}

}  // namespace
}  // namespace t2i::nn
