// The text-encoder ops of the compute core against PyTorch 1.13: nn.GRU and nn.RNN(nonlinearity=
// 'relu') with batch_first (all hidden states and the gradients of sum(H * R) for x and every
// parameter), nn.MaxPool1d(3, 3) (output and input gradient) and the DS-SJE loss (value and
// gradients), through both backends. Fixture: tests/data/torch/text_ops.safetensors, made by
// tests/torch/make_text_op_fixtures.py (see there to regenerate).
//
// Every output must agree by normalised error ||ours - torch|| / ||torch|| < 1e-5: both sides
// compute in float32 over a few dozen terms per element, so the expected error is ~1e-7.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "checkpoint.h"
#include "nn/backend.h"
#include "test_util.h"

namespace t2i::nn {
namespace {

constexpr double kTol = 1e-5;

double nerr(const std::vector<float>& a, const Tensor& b) {
  auto bv = b.span<float>();
  if (a.size() != bv.size()) return INFINITY;
  double num = 0, den = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    num += (double(a[i]) - bv[i]) * (double(a[i]) - bv[i]);
    den += double(bv[i]) * bv[i];
  }
  return den > 0 ? std::sqrt(num / den) : std::sqrt(num);
}

class TextOpsTorch : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    T2I_SKIP_UNLESS_BACKEND(GetParam());
    fx = Checkpoint::load(std::string(T2I_TEST_DATA) + "/torch/text_ops.safetensors");
    be = make_backend(GetParam());
  }
  Array in(const std::string& name) { return upload(*be, fx.get(name)); }
  void expect(const std::string& name, const Array& got) {
    const Tensor& want = fx.get(name);
    EXPECT_EQ(got.shape, want.shape()) << name;
    EXPECT_LT(nerr(to_vector(*be, got), want), kTol) << GetParam() << ": " << name;
  }
  void run_rnn(const std::string& p, RnnCell cell) {
    const Tensor& wi = fx.get(p + "weight_ih");
    const Array x = upload(*be, fx.get(p + "x"));
    RnnSpec spec;
    spec.cell = cell;
    spec.input = x.dim(2);
    spec.hidden = wi.dim(0) / spec.gates();
    auto op = be->make_rnn(spec);
    const Array w_ih = upload(*be, wi), w_hh = in(p + "weight_hh"), b_ih = in(p + "bias_ih"), b_hh = in(p + "bias_hh"),
                R = in(p + "R");
    Array H;
    RnnSaved saved;
    op->forward(x, w_ih, w_hh, b_ih, b_hh, H, saved);
    expect(p + "H", H);
    Array dx, dwi = be->zeros(w_ih.shape), dwh = be->zeros(w_hh.shape), dbi = be->zeros(b_ih.shape),
              dbh = be->zeros(b_hh.shape);
    op->backward(R, w_ih, w_hh, saved, dx, dwi, dwh, dbi, dbh);
    expect(p + "grad/x", dx);
    expect(p + "grad/weight_ih", dwi);
    expect(p + "grad/weight_hh", dwh);
    expect(p + "grad/bias_ih", dbi);
    expect(p + "grad/bias_hh", dbh);
  }
  Checkpoint fx;
  std::unique_ptr<Backend> be;
};

TEST_P(TextOpsTorch, Gru) { run_rnn("gru/", RnnCell::kGru); }

TEST_P(TextOpsTorch, RnnRelu) { run_rnn("rnn_relu/", RnnCell::kRelu); }

TEST_P(TextOpsTorch, MaxPool1d) {
  auto op = be->make_maxpool1d(3, 3);
  PoolSaved saved;
  Array y, dx;
  op->forward(in("maxpool/x"), y, saved);
  expect("maxpool/y", y);
  op->backward(in("maxpool/R"), saved, dx);
  expect("maxpool/grad/x", dx);
}

TEST_P(TextOpsTorch, Dssje) {
  Array dv, dt;
  const float loss = be->dssje_loss(in("dssje/v"), in("dssje/t"), &dv, &dt);
  const float want = fx.get("dssje/loss").span<float>()[0];
  EXPECT_GT(want, 0.0f);
  EXPECT_NEAR(loss, want, kTol * want);
  expect("dssje/grad/v", dv);
  expect("dssje/grad/t", dt);
}

INSTANTIATE_TEST_SUITE_P(Backends, TextOpsTorch, ::testing::Values("ref", "cpu", "cuda"),
                         [](const ::testing::TestParamInfo<std::string>& p) { return p.param; });

}  // namespace
}  // namespace t2i::nn
