#include "nn/gan.h"

#include <array>
#include <stdexcept>

#include <fmt/format.h>

#include "error.h"

namespace t2i::nn {

namespace {
constexpr float kSlope = 0.2f;

ConvSpec conv(i64 in, i64 out, i64 k, i64 s, i64 p) {
  ConvSpec c;
  c.in_channels = in, c.out_channels = out, c.kh = c.kw = k, c.sh = c.sw = s, c.ph = c.pw = p;
  return c;
}

ConvSpec deconv(i64 in, i64 out, i64 k, i64 s, i64 p) {
  ConvSpec c = conv(in, out, k, s, p);
  c.transposed = true;
  return c;
}
}  // namespace

Arch arch_from_name(const std::string& name) {
  if (name == "plain") return Arch::kPlain;
  if (name == "v2") return Arch::kV2;
  fail<UsageError>("architecture '{}' is not one of plain, v2", name);
}

const char* arch_name(Arch a) { return a == Arch::kPlain ? "plain" : "v2"; }

std::map<std::string, std::string> GanConfig::to_metadata() const {
  std::map<std::string, std::string> m = {{"arch", arch_name(arch)},
          {"z_dim", std::to_string(z_dim)},
          {"emb_dim", std::to_string(emb_dim)},
          {"proj_dim", std::to_string(proj_dim)},
          {"ngf", std::to_string(ngf)},
          {"ndf", std::to_string(ndf)}};
  if (d_text_head) m["d_text_head"] = "1";  // absent: no head, as before the option
  if (g_text_shift) m["g_text_shift"] = "1";  // absent: none, as before the option
  return m;
}

GanConfig GanConfig::from_metadata(const std::map<std::string, std::string>& meta) {
  GanConfig c;
  auto get = [&](const char* key) -> const std::string& {
    auto it = meta.find(key);
    if (it == meta.end()) fail<InputError>("checkpoint metadata lacks '{}'", key);
    return it->second;
  };
  auto num = [&](const char* key) {
    const std::string& v = get(key);
    try {
      std::size_t used = 0;
      long long n = std::stoll(v, &used);
      if (used != v.size() || n <= 0 || n > (1 << 20)) throw std::invalid_argument(v);
      return static_cast<i64>(n);
    } catch (const std::exception&) {
      fail<InputError>("checkpoint metadata '{}' is '{}', expected a positive integer", key, v);
    }
  };
  c.arch = arch_from_name(get("arch"));
  c.z_dim = num("z_dim"), c.emb_dim = num("emb_dim"), c.proj_dim = num("proj_dim");
  c.ngf = num("ngf"), c.ndf = num("ndf");
  // Optional switches, "0" or "1": checkpoints from before an option lack its key and have none.
  auto flag = [&](const char* key) {
    auto it = meta.find(key);
    if (it == meta.end()) return false;
    if (it->second != "0" && it->second != "1")
      fail<InputError>("checkpoint metadata '{}' is '{}', expected 0 or 1", key, it->second);
    return it->second == "1";
  };
  c.d_text_head = flag("d_text_head");
  c.g_text_shift = flag("g_text_shift");
  return c;
}

// ---- TextShift ---------------------------------------------------------------------------
TextShift::TextShift(ParamSet& ps, const std::string& name, i64 text_dim, i64 channels)
    : lin_(ps, name, text_dim, channels, /*bias=*/false) {}

void TextShift::bind(Backend& be) {
  be_ = &be;
  lin_.bind(be);
}

const Array& TextShift::forward(int pass, const Array& x, const Array& t) {
  Slot& s = slots_[pass];
  be_->replicate(lin_.forward(pass, t), x.dim(2), x.dim(3), s.rep);
  be_->add(x, s.rep, s.sum);
  return s.sum;
}

const Array& TextShift::backward(int pass, const Array& dy, bool param_grads) {
  Slot& s = slots_[pass];
  be_->replicate_backward(dy, s.dt);
  return lin_.backward(pass, s.dt, /*need_dx=*/true, param_grads);
}

// ---- ResBlock ----------------------------------------------------------------------------
ResBlock::ResBlock(ParamSet& ps, const std::string& name, i64 c, Act act, float alpha)
    : fused_(act == Act::kRelu),
      conv1_(ps, name + ".conv1", conv(c, c / 4, 1, 1, 0)),
      conv2_(ps, name + ".conv2", conv(c / 4, c / 4, 3, 1, 1)),
      conv3_(ps, name + ".conv3", conv(c / 4, c, 3, 1, 1)),
      bn1_(ps, name + ".bn1", c / 4, fused_),
      bn2_(ps, name + ".bn2", c / 4, fused_),
      bn3_(ps, name + ".bn3", c),
      act1_(act, alpha),
      act2_(act, alpha),
      act_out_(act, alpha) {}

void ResBlock::bind(Backend& be) {
  be_ = &be;
  for (Conv* c : {&conv1_, &conv2_, &conv3_}) c->bind(be);
  for (BatchNorm* b : {&bn1_, &bn2_, &bn3_}) b->bind(be);
  for (Activation* a : {&act1_, &act2_, &act_out_}) a->bind(be);
}

const Array& ResBlock::forward(int pass, const Array& x, bool training) {
  const Array* a = &bn1_.forward(pass, conv1_.forward(pass, x), training);
  if (!fused_) a = &act1_.forward(pass, *a);
  const Array* b = &bn2_.forward(pass, conv2_.forward(pass, *a), training);
  if (!fused_) b = &act2_.forward(pass, *b);
  const Array& c = bn3_.forward(pass, conv3_.forward(pass, *b), training);
  Slot& s = slots_[pass];
  be_->add(x, c, s.sum);
  return act_out_.forward(pass, s.sum);
}

const Array& ResBlock::backward(int pass, const Array& dy, bool param_grads) {
  const Array& dsum = act_out_.backward(pass, dy);
  const Array& dc = conv3_.backward(pass, bn3_.backward(pass, dsum, param_grads), true, param_grads);
  const Array& db = conv2_.backward(pass, bn2_.backward(pass, fused_ ? dc : act2_.backward(pass, dc), param_grads), true,
                                    param_grads);
  const Array& da = conv1_.backward(pass, bn1_.backward(pass, fused_ ? db : act1_.backward(pass, db), param_grads), true,
                                    param_grads);
  Slot& s = slots_[pass];
  be_->add(dsum, da, s.dx);  // the identity path and the block path
  return s.dx;
}

// ---- Generator ---------------------------------------------------------------------------
Generator::Generator(const GanConfig& c)
    : cfg_(c),
      fc_(ps_, "fc", c.emb_dim, c.proj_dim),
      fc_act_(Act::kLeakyRelu, kSlope),
      up0_(ps_, "up0", deconv(c.z_dim + c.proj_dim, 8 * c.ngf, 4, 1, 0)),
      up1_(ps_, "up1", deconv(8 * c.ngf, 4 * c.ngf, 4, 2, 1)),
      up2_(ps_, "up2", deconv(4 * c.ngf, 2 * c.ngf, 4, 2, 1)),
      up3_(ps_, "up3", deconv(2 * c.ngf, c.ngf, 4, 2, 1)),
      up4_(ps_, "up4", deconv(c.ngf, 3, 4, 2, 1)),
      bn0_(ps_, "bn0", 8 * c.ngf, /*fuse_relu=*/c.arch == Arch::kPlain),
      bn1_(ps_, "bn1", 4 * c.ngf, /*fuse_relu=*/c.arch == Arch::kPlain),
      bn2_(ps_, "bn2", 2 * c.ngf, /*fuse_relu=*/true),
      bn3_(ps_, "bn3", c.ngf, /*fuse_relu=*/true),
      tanh_(Act::kTanh) {
  if (c.arch == Arch::kV2) {
    res0_ = std::make_unique<ResBlock>(ps_, "res0", 8 * c.ngf, Act::kRelu, 0.0f);
    res1_ = std::make_unique<ResBlock>(ps_, "res1", 4 * c.ngf, Act::kRelu, 0.0f);
  }
  // Registered last, so that the other parameters draw the same initial values with or without.
  if (c.g_text_shift)
    for (int i = 0; i < 3; ++i)
      shift_[i] = std::make_unique<TextShift>(ps_, fmt::format("shift{}", i + 1), c.proj_dim, (4 >> i) * c.ngf);
}

void Generator::bind(Backend& be) {
  be_ = &be;
  ps_.tag = "G";
  ps_.allocate(be);
  fc_.bind(be);
  fc_act_.bind(be);
  for (Conv* c : {&up0_, &up1_, &up2_, &up3_, &up4_}) c->bind(be);
  for (BatchNorm* b : {&bn0_, &bn1_, &bn2_, &bn3_}) b->bind(be);
  tanh_.bind(be);
  if (res0_) res0_->bind(be), res1_->bind(be);
  for (auto& l : shift_)
    if (l) l->bind(be);
}

const Array& Generator::shifted(int pass, int i, const Array& x, const Array& h) {
  return shift_[i] ? shift_[i]->forward(pass, x, h) : x;
}

const Array& Generator::forward(int pass, const Array& z, const Array& emb, bool training) {
  Slot& s = slots_[pass];
  const i64 n = z.dim(0);
  const Array& h = fc_act_.forward(pass, fc_.forward(pass, emb));
  s.h4 = be_->reshape(h, {n, cfg_.proj_dim, 1, 1});
  be_->concat(be_->reshape(z, {n, cfg_.z_dim, 1, 1}), s.h4, s.x);
  const Array* a = &bn0_.forward(pass, up0_.forward(pass, s.x), training);
  if (res0_) a = &res0_->forward(pass, *a, training);
  a = &bn1_.forward(pass, shifted(pass, 0, up1_.forward(pass, *a), h), training);
  if (res1_) a = &res1_->forward(pass, *a, training);
  a = &bn2_.forward(pass, shifted(pass, 1, up2_.forward(pass, *a), h), training);
  a = &bn3_.forward(pass, shifted(pass, 2, up3_.forward(pass, *a), h), training);
  return tanh_.forward(pass, up4_.forward(pass, *a));
}

void Generator::backward(int pass, const Array& dimage) {
  Slot& s = slots_[pass];
  // bn1..bn3's input gradients: the text shifts take them back to d h once the input's part is in.
  std::array<const Array*, 3> dsh{};
  const Array* d = &up4_.backward(pass, tanh_.backward(pass, dimage), true);
  d = dsh[2] = &bn3_.backward(pass, *d);
  d = &up3_.backward(pass, *d, true);
  d = dsh[1] = &bn2_.backward(pass, *d);
  d = &up2_.backward(pass, *d, true);
  if (res1_) d = &res1_->backward(pass, *d, true);
  d = dsh[0] = &bn1_.backward(pass, *d);
  d = &up1_.backward(pass, *d, true);
  if (res0_) d = &res0_->backward(pass, *d, true);
  d = &up0_.backward(pass, bn0_.backward(pass, *d), true);
  be_->concat_backward(*d, cfg_.z_dim, s.dz, s.dh4);
  if (shift_[0])
    be_->to_plain(be_->reshape(s.dh4, {s.dh4.dim(0), cfg_.proj_dim}), s.dh);  // its own, to add to
  else
    s.dh = be_->reshape(s.dh4, {s.dh4.dim(0), cfg_.proj_dim});
  for (int i = 0; i < 3; ++i)
    if (shift_[i]) be_->accumulate(shift_[i]->backward(pass, *dsh[i]), s.dh);
  fc_.backward(pass, fc_act_.backward(pass, s.dh), /*need_dx=*/false);
}

// ---- Discriminator -----------------------------------------------------------------------
Discriminator::Discriminator(const GanConfig& c)
    : cfg_(c),
      conv0_(ps_, "conv0", conv(3, c.ndf, 4, 2, 1)),
      conv1_(ps_, "conv1", conv(c.ndf, 2 * c.ndf, 4, 2, 1)),
      conv2_(ps_, "conv2", conv(2 * c.ndf, 4 * c.ndf, 4, 2, 1)),
      conv3_(ps_, "conv3", conv(4 * c.ndf, 8 * c.ndf, 4, 2, 1)),
      conv4_(ps_, "conv4", conv(8 * c.ndf + c.proj_dim, 8 * c.ndf, 1, 1, 0)),
      conv5_(ps_, "conv5", conv(8 * c.ndf, 1, 4, 1, 0)),
      bn1_(ps_, "bn1", 2 * c.ndf),
      bn2_(ps_, "bn2", 4 * c.ndf),
      bn3_(ps_, "bn3", 8 * c.ndf),
      bn4_(ps_, "bn4", 8 * c.ndf),
      act0_(Act::kLeakyRelu, kSlope),
      act1_(Act::kLeakyRelu, kSlope),
      act2_(Act::kLeakyRelu, kSlope),
      act3_(Act::kLeakyRelu, kSlope),
      act4_(Act::kLeakyRelu, kSlope),
      res3_(c.arch == Arch::kV2 ? std::make_unique<ResBlock>(ps_, "res3", 8 * c.ndf, Act::kLeakyRelu, kSlope) : nullptr),
      fc_(ps_, "fc", c.emb_dim, c.proj_dim),
      fc_bn_(ps_, "fc_bn", c.proj_dim),
      fc_act_(Act::kLeakyRelu, kSlope),
      aux_(c.d_text_head ? std::make_unique<Linear>(ps_, "aux", 8 * c.ndf, c.emb_dim) : nullptr) {}

void Discriminator::bind(Backend& be) {
  be_ = &be;
  ps_.tag = "D";
  ps_.allocate(be);
  for (Conv* c : {&conv0_, &conv1_, &conv2_, &conv3_, &conv4_, &conv5_}) c->bind(be);
  for (BatchNorm* b : {&bn1_, &bn2_, &bn3_, &bn4_, &fc_bn_}) b->bind(be);
  for (Activation* a : {&act0_, &act1_, &act2_, &act3_, &act4_, &fc_act_}) a->bind(be);
  if (res3_) res3_->bind(be);
  fc_.bind(be);
  if (aux_) aux_->bind(be);
}

const Array& Discriminator::forward(int pass, const Array& image, const Array& emb, bool training) {
  Slot& s = slots_[pass];
  const Array* a = &act0_.forward(pass, conv0_.forward(pass, image));
  a = &act1_.forward(pass, bn1_.forward(pass, conv1_.forward(pass, *a), training));
  a = &act2_.forward(pass, bn2_.forward(pass, conv2_.forward(pass, *a), training));
  a = &bn3_.forward(pass, conv3_.forward(pass, *a), training);
  a = res3_ ? &res3_->forward(pass, *a, training) : &act3_.forward(pass, *a);
  if (aux_) s.feat = *a;  // the text head's input, summed over positions only when text() asks
  const Array& t = fc_act_.forward(pass, fc_bn_.forward(pass, fc_.forward(pass, emb), training));
  be_->replicate(t, a->dim(2), a->dim(3), s.rep);
  be_->concat(*a, s.rep, s.joint);
  const Array& j = act4_.forward(pass, bn4_.forward(pass, conv4_.forward(pass, s.joint), training));
  const Array& out = conv5_.forward(pass, j);
  s.logits = be_->reshape(out, {out.dim(0)});
  return s.logits;
}

const Array& Discriminator::text(int pass) {
  if (!aux_) throw std::logic_error("Discriminator::text: the discriminator has no text head");
  Slot& s = slots_[pass];
  be_->replicate_backward(s.feat, s.pooled);  // the sum over positions
  return aux_->forward(pass, s.pooled);
}

const Array& Discriminator::backward(int pass, const Array& dlogits, bool need_dimage, bool param_grads,
                                     const Array* dtext) {
  Slot& s = slots_[pass];
  const bool pg = param_grads;
  s.dlogits4 = be_->reshape(dlogits, {dlogits.dim(0), 1, 1, 1});
  const Array* d = &conv5_.backward(pass, s.dlogits4, true, pg);
  d = &conv4_.backward(pass, bn4_.backward(pass, act4_.backward(pass, *d), pg), true, pg);
  be_->concat_backward(*d, 8 * cfg_.ndf, s.dfeat, s.drep);
  if (pg) {
    be_->replicate_backward(s.drep, s.dt);
    fc_.backward(pass, fc_bn_.backward(pass, fc_act_.backward(pass, s.dt), pg), /*need_dx=*/false, pg);
  }
  const Array* dfeat = &s.dfeat;
  if (dtext) {
    if (!aux_) throw std::logic_error("Discriminator::backward: a text gradient without a text head");
    const Array& dpooled = aux_->backward(pass, *dtext, /*need_dx=*/true, pg);
    be_->replicate(dpooled, s.dfeat.dim(2), s.dfeat.dim(3), s.dpooled_rep);
    be_->add(s.dfeat, s.dpooled_rep, s.dfeat_sum);
    dfeat = &s.dfeat_sum;
  }
  d = res3_ ? &res3_->backward(pass, *dfeat, pg) : &act3_.backward(pass, *dfeat);
  d = &conv3_.backward(pass, bn3_.backward(pass, *d, pg), true, pg);
  d = &conv2_.backward(pass, bn2_.backward(pass, act2_.backward(pass, *d), pg), true, pg);
  d = &conv1_.backward(pass, bn1_.backward(pass, act1_.backward(pass, *d), pg), true, pg);
  return conv0_.backward(pass, act0_.backward(pass, *d), need_dimage, pg);
}

}  // namespace t2i::nn
