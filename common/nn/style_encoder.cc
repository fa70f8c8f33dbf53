#include "nn/style_encoder.h"

#include <fmt/format.h>

#include "error.h"

namespace t2i::nn {

namespace {
constexpr float kSlope = 0.2f;

ConvSpec conv(i64 in, i64 out, i64 k, i64 s, i64 p, bool bias = false) {
  ConvSpec c;
  c.in_channels = in, c.out_channels = out, c.kh = c.kw = k, c.sh = c.sw = s, c.ph = c.pw = p;
  c.bias = bias;
  return c;
}

i64 positive(const Checkpoint& ck, const char* key, long long most) {
  const std::string& v = ck.meta(key);
  try {
    std::size_t used = 0;
    const long long n = std::stoll(v, &used);
    if (used != v.size() || n <= 0 || n > most) throw std::invalid_argument(v);
    return static_cast<i64>(n);
  } catch (const std::logic_error&) {
    fail<InputError>("{}: __metadata__ '{}' is '{}', expected a positive integer up to {}", ck.source(), key, v, most);
  }
}

// The weights (not the optimiser states) of a checkpoint against an encoder's registered specs;
// the first difference named with the file.
void check_weights(const Checkpoint& ck, StyleEncoder& s) {
  std::vector<TensorSpec> expected = s.params().specs(kStylePrefix);
  for (const auto& name : ck.names())  // the optimiser states as they are (Adam checks them on loading)
    if (name.rfind("optimizer.", 0) == 0) expected.push_back({name, ck.get(name).dtype(), ck.get(name).shape()});
  try {
    ck.check(expected);
  } catch (const InputError& e) {
    const std::string what = e.what();
    const auto colon = what.find(':');
    fail<InputError>("{}{}", ck.source(), colon == std::string::npos ? ": " + what : what.substr(colon));
  }
}
}  // namespace

std::map<std::string, std::string> StyleConfig::to_metadata() const {
  return {{"model", kStyleModel},
          {"arch", arch_name(arch)},
          {"ndf", std::to_string(ndf)},
          {"z_dim", std::to_string(z_dim)}};
}

std::string model_kind_text(const Checkpoint& ck) {
  auto it = ck.metadata.find("model");
  if (it == ck.metadata.end()) return "a checkpoint without a model name in its __metadata__";
  const std::string& m = it->second;
  if (m == "t2igan-gan") return "a GAN checkpoint (model 't2igan-gan')";
  if (m == "t2igan-text") return "a text model checkpoint (model 't2igan-text')";
  if (m == kStyleModel) return "a style encoder checkpoint (model 't2igan-style')";
  if (m == "t2igan-judge") return "a judge checkpoint (model 't2igan-judge')";
  return fmt::format("a checkpoint of model '{}'", m);
}

StyleConfig StyleConfig::from_checkpoint(const Checkpoint& ck) {
  auto it = ck.metadata.find("model");
  if (it == ck.metadata.end() || it->second != kStyleModel)
    fail<InputError>("{}: {}, not a style encoder (model '{}'; write one with invert-style train)", ck.source(),
                     model_kind_text(ck), kStyleModel);
  StyleConfig c;
  try {
    c.arch = arch_from_name(ck.meta("arch"));
  } catch (const UsageError& e) {
    fail<InputError>("{}: __metadata__ arch: {}", ck.source(), e.what());
  }
  c.ndf = positive(ck, "ndf", 4096);
  c.z_dim = positive(ck, "z_dim", 1 << 20);
  // The tensors against the configuration before bind() allocates anything from it.
  StyleEncoder unbound(c);
  check_weights(ck, unbound);
  return c;
}

StyleEncoder::StyleEncoder(const StyleConfig& c)
    : cfg_(c),
      conv0_(ps_, "conv0", conv(3, c.ndf, 4, 2, 1)),
      conv1_(ps_, "conv1", conv(c.ndf, 2 * c.ndf, 4, 2, 1)),
      conv2_(ps_, "conv2", conv(2 * c.ndf, 4 * c.ndf, 4, 2, 1)),
      conv3_(ps_, "conv3", conv(4 * c.ndf, 8 * c.ndf, 4, 2, 1)),
      conv4_(ps_, "conv4", conv(8 * c.ndf, c.z_dim, 4, 1, 0, /*bias=*/true)),
      bn1_(ps_, "bn1", 2 * c.ndf),
      bn2_(ps_, "bn2", 4 * c.ndf),
      bn3_(ps_, "bn3", 8 * c.ndf),
      act0_(Act::kLeakyRelu, kSlope),
      act1_(Act::kLeakyRelu, kSlope),
      act2_(Act::kLeakyRelu, kSlope),
      act3_(Act::kLeakyRelu, kSlope),
      res3_(c.arch == Arch::kV2 ? std::make_unique<ResBlock>(ps_, "res3", 8 * c.ndf, Act::kLeakyRelu, kSlope) : nullptr) {}

void StyleEncoder::bind(Backend& be) {
  be_ = &be;
  ps_.tag = std::string("S");  // moved in: assigning the literal trips a false -Wrestrict (GCC 12)
  ps_.allocate(be);
  for (Conv* c : {&conv0_, &conv1_, &conv2_, &conv3_, &conv4_}) c->bind(be);
  for (BatchNorm* b : {&bn1_, &bn2_, &bn3_}) b->bind(be);
  for (Activation* a : {&act0_, &act1_, &act2_, &act3_}) a->bind(be);
  if (res3_) res3_->bind(be);
}

const Array& StyleEncoder::forward(int pass, const Array& image, bool training) {
  Slot& s = slots_[pass];
  const Array* a = &act0_.forward(pass, conv0_.forward(pass, image));
  a = &act1_.forward(pass, bn1_.forward(pass, conv1_.forward(pass, *a), training));
  a = &act2_.forward(pass, bn2_.forward(pass, conv2_.forward(pass, *a), training));
  a = &bn3_.forward(pass, conv3_.forward(pass, *a), training);
  a = res3_ ? &res3_->forward(pass, *a, training) : &act3_.forward(pass, *a);
  const Array& out = conv4_.forward(pass, *a);  // [N,z_dim,1,1]
  s.z = be_->reshape(out, {out.dim(0), cfg_.z_dim});
  return s.z;
}

void StyleEncoder::backward(int pass, const Array& dz) {
  Slot& s = slots_[pass];
  s.dz4 = be_->reshape(dz, {dz.dim(0), cfg_.z_dim, 1, 1});
  const Array* d = &conv4_.backward(pass, s.dz4, true);
  d = res3_ ? &res3_->backward(pass, *d, true) : &act3_.backward(pass, *d);
  d = &conv3_.backward(pass, bn3_.backward(pass, *d), true);
  d = &conv2_.backward(pass, bn2_.backward(pass, act2_.backward(pass, *d)), true);
  d = &conv1_.backward(pass, bn1_.backward(pass, act1_.backward(pass, *d)), true);
  conv0_.backward(pass, act0_.backward(pass, *d), /*need_dx=*/false);
}

void save_style(const std::string& path, StyleEncoder& s, const Adam* opt,
                const std::map<std::string, std::string>& extra_metadata) {
  Checkpoint ck;
  for (const auto& [k, v] : extra_metadata) ck.metadata[k] = v;
  for (const auto& [k, v] : s.config().to_metadata()) ck.metadata[k] = v;  // the model's own keys win
  s.params().save_to(ck, kStylePrefix);
  if (opt) opt->save_to(ck, std::string("optimizer.") + kStylePrefix);
  ck.save(path);
}

void load_style(const Checkpoint& ck, StyleEncoder& s, Adam* opt) {
  check_weights(ck, s);
  s.params().load_from(ck, kStylePrefix);
  if (opt) opt->load_from(ck, std::string("optimizer.") + kStylePrefix);
}

}  // namespace t2i::nn
