#include "nn/judge.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "error.h"

namespace t2i::nn {

namespace {
constexpr float kSlope = 0.2f;

ConvSpec conv(i64 in, i64 out, i64 k, i64 s, i64 p) {
  ConvSpec c;
  c.in_channels = in, c.out_channels = out, c.kh = c.kw = k, c.sh = c.sw = s, c.ph = c.pw = p;
  return c;
}

std::string join_lines(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : "\n") + x;
  return s;
}

std::vector<std::string> split_lines(const std::string& s) {
  std::vector<std::string> out;
  if (s.empty()) return out;
  for (std::size_t p = 0;;) {
    const auto q = s.find('\n', p);
    out.push_back(s.substr(p, q == std::string::npos ? std::string::npos : q - p));
    if (q == std::string::npos) break;
    p = q + 1;
  }
  return out;
}

i64 positive(const Checkpoint& ck, const char* key, long long most) {
  const std::string& v = ck.meta(key);
  try {
    std::size_t used = 0;
    long long n = std::stoll(v, &used);
    if (used == v.size() && n > 0 && n <= most) return n;
  } catch (const std::exception&) {
  }
  fail<InputError>("{}: __metadata__ '{}' is '{}', expected a positive integer up to {}", ck.source(), key, v, most);
}

// The checkpoint's tensors against the specs of a model of its configuration (registered, not
// allocated): the first missing, unexpected or different tensor named with the file.
void check_tensors(const Checkpoint& ck, const std::vector<TensorSpec>& expected) {
  try {
    ck.check(expected);
  } catch (const InputError& e) {
    const std::string what = e.what();
    const auto colon = what.find(':');
    fail<InputError>("{}{}", ck.source(), colon == std::string::npos ? ": " + what : what.substr(colon));
  }
}
}  // namespace

std::uint64_t judge_key_hash(const std::string& key) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : key) h = (h ^ c) * 0x100000001b3ull;
  return h;
}

std::string judge_key_hashes_text(const std::vector<std::string>& keys) {
  std::set<std::uint64_t> hashes;
  for (const std::string& k : keys) hashes.insert(judge_key_hash(k));
  std::string s;
  s.reserve(hashes.size() * 17);
  for (std::uint64_t h : hashes) s += fmt::format("{}{:016x}", s.empty() ? "" : " ", h);
  return s;
}

bool judge_training_hashes(const Checkpoint& ck, std::set<std::uint64_t>& out) {
  out.clear();
  auto it = ck.metadata.find(kJudgeKeyHashes);
  if (it == ck.metadata.end()) return false;
  const std::string& v = it->second;
  for (std::size_t p = 0; p < v.size(); p += 17) {
    bool ok = p + 16 <= v.size() && (p + 16 == v.size() || v[p + 16] == ' ');
    std::uint64_t h = 0;
    for (std::size_t j = 0; ok && j < 16; ++j) {
      const char c = v[p + j];
      const int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
      ok = d >= 0;
      h = h * 16 + static_cast<std::uint64_t>(std::max(d, 0));
    }
    if (!ok)
      fail<InputError>("{}: __metadata__ '{}' is malformed at character {}; expected 16 hex digits per key, space-separated",
                       ck.source(), kJudgeKeyHashes, p);
    out.insert(h);
  }
  return true;
}

std::string attribute_group(const std::string& name) {
  const auto p = name.find("::");
  return p == std::string::npos ? name : name.substr(0, p);
}

std::vector<JudgeHead> JudgeConfig::heads() const {
  std::vector<JudgeHead> heads;
  JudgeHead cls;
  cls.name = "class";
  cls.values = classes;
  cls.attributes.assign(classes.size(), -1);
  heads.push_back(std::move(cls));
  std::map<std::string, std::size_t> at;
  for (std::size_t a = 0; a < attributes.size(); ++a) {
    const std::string g = attribute_group(attributes[a]);
    auto [it, fresh] = at.emplace(g, heads.size());
    if (fresh) {
      JudgeHead h;
      h.name = g;
      heads.push_back(std::move(h));
    }
    JudgeHead& h = heads[it->second];
    const auto p = attributes[a].find("::");
    h.values.push_back(p == std::string::npos ? attributes[a] : attributes[a].substr(p + 2));
    h.attributes.push_back(static_cast<int>(a));
  }
  const std::set<std::string> none(none_groups.begin(), none_groups.end());
  for (std::size_t i = 1; i < heads.size(); ++i) {
    JudgeHead& h = heads[i];
    if (h.values.size() == 1) {
      h.values = {"absent", "present"};
      h.attributes.insert(h.attributes.begin(), -1);
    } else if (none.count(h.name)) {
      h.values.push_back("none");
      h.attributes.push_back(-1);
    }
  }
  i64 offset = 0;
  for (JudgeHead& h : heads) h.offset = offset, offset += h.size();
  return heads;
}

i64 JudgeConfig::logits() const {
  i64 n = 0;
  for (const JudgeHead& h : heads()) n += h.size();
  return n;
}

std::map<std::string, std::string> JudgeConfig::to_metadata() const {
  return {{"model", kJudgeModel},
          {"ndf", std::to_string(ndf)},
          {"feat_dim", std::to_string(feat_dim)},
          {"classes", join_lines(classes)},
          {"attributes", join_lines(attributes)},
          {"none_groups", join_lines(none_groups)}};
}

JudgeConfig JudgeConfig::from_checkpoint(const Checkpoint& ck) {
  auto it = ck.metadata.find("model");
  if (it == ck.metadata.end() || it->second != kJudgeModel)
    fail<InputError>("{}: not a t2igan judge (__metadata__ model is '{}', expected '{}'; train one with train-judge)",
                     ck.source(), it == ck.metadata.end() ? "" : it->second, kJudgeModel);
  JudgeConfig c;
  c.ndf = positive(ck, "ndf", kJudgeMaxNdf);
  c.feat_dim = positive(ck, "feat_dim", kJudgeMaxFeatDim);
  c.classes = split_lines(ck.meta("classes"));
  c.attributes = split_lines(ck.meta("attributes"));
  c.none_groups = split_lines(ck.meta("none_groups"));
  if (c.classes.size() < 2) fail<InputError>("{}: __metadata__ 'classes' lists {} classes, expected at least 2", ck.source(), c.classes.size());
  // The tensors against the configuration before anything is allocated from it.
  check_tensors(ck, Judge(c).params().specs(kJudgePrefix));
  return c;
}

std::vector<int> judge_targets(const std::vector<JudgeHead>& heads, int class_index, const std::vector<std::uint8_t>& present) {
  std::vector<int> t(heads.size(), -1);
  t[0] = class_index;
  for (std::size_t h = 1; h < heads.size(); ++h) {
    const JudgeHead& head = heads[h];
    int value = -1, set = 0;
    for (std::size_t v = 0; v < head.attributes.size(); ++v) {
      const int a = head.attributes[v];
      if (a >= 0 && present.at(static_cast<std::size_t>(a))) value = static_cast<int>(v), ++set;
    }
    if (set == 1) t[h] = value;
    else if (set == 0 && head.attributes.back() == -1) t[h] = static_cast<int>(head.values.size()) - 1;  // none
    else if (set == 0 && head.attributes.front() == -1) t[h] = 0;  // absent
  }
  return t;
}

// ---- Judge ----------------------------------------------------------------------------------
Judge::Judge(const JudgeConfig& c)
    : cfg_(c),
      conv0_(ps_, "conv0", conv(3, c.ndf, 4, 2, 1)),
      conv1_(ps_, "conv1", conv(c.ndf, 2 * c.ndf, 4, 2, 1)),
      conv2_(ps_, "conv2", conv(2 * c.ndf, 4 * c.ndf, 4, 2, 1)),
      conv3_(ps_, "conv3", conv(4 * c.ndf, 8 * c.ndf, 4, 2, 1)),
      conv4_(ps_, "conv4", conv(8 * c.ndf, c.feat_dim, 4, 1, 0)),
      bn1_(ps_, "bn1", 2 * c.ndf),
      bn2_(ps_, "bn2", 4 * c.ndf),
      bn3_(ps_, "bn3", 8 * c.ndf),
      bn4_(ps_, "bn4", c.feat_dim),
      act0_(Act::kLeakyRelu, kSlope),
      act1_(Act::kLeakyRelu, kSlope),
      act2_(Act::kLeakyRelu, kSlope),
      act3_(Act::kLeakyRelu, kSlope),
      act4_(Act::kLeakyRelu, kSlope),
      head_(ps_, "head", c.feat_dim, c.logits()) {}

void Judge::bind(Backend& be) {
  be_ = &be;
  ps_.tag = "J";
  ps_.allocate(be);
  for (Conv* c : {&conv0_, &conv1_, &conv2_, &conv3_, &conv4_}) c->bind(be);
  for (BatchNorm* b : {&bn1_, &bn2_, &bn3_, &bn4_}) b->bind(be);
  for (Activation* a : {&act0_, &act1_, &act2_, &act3_, &act4_}) a->bind(be);
  head_.bind(be);
}

const Array& Judge::forward(int pass, const Array& image, bool training) {
  if (image.shape.size() != 4 || image.dim(1) != 3 || image.dim(2) != 64 || image.dim(3) != 64)
    fail<RuntimeError>("judge given {}; expected [N, 3, 64, 64]", shape_text(image.shape));
  Slot& s = slots_[pass];
  const Array* a = &act0_.forward(pass, conv0_.forward(pass, image));
  a = &act1_.forward(pass, bn1_.forward(pass, conv1_.forward(pass, *a), training));
  a = &act2_.forward(pass, bn2_.forward(pass, conv2_.forward(pass, *a), training));
  a = &act3_.forward(pass, bn3_.forward(pass, conv3_.forward(pass, *a), training));
  const Array& c4 = conv4_.forward(pass, *a);
  s.flat = be_->reshape(c4, {c4.dim(0), cfg_.feat_dim});
  be_->to_plain(act4_.forward(pass, bn4_.forward(pass, s.flat, training)), s.feat);
  be_->to_plain(head_.forward(pass, s.feat), s.logits);
  return s.logits;
}

const Array& Judge::features(int pass) { return slots_[pass].feat; }

void Judge::backward(int pass, const Array& dlogits) {
  Slot& s = slots_[pass];
  const Array& dfeat = head_.backward(pass, dlogits, true);
  const Array& dflat = bn4_.backward(pass, act4_.backward(pass, dfeat));
  s.d4 = be_->reshape(dflat, {dflat.dim(0), cfg_.feat_dim, 1, 1});
  const Array* d = &conv4_.backward(pass, s.d4, true);
  d = &conv3_.backward(pass, bn3_.backward(pass, act3_.backward(pass, *d)), true);
  d = &conv2_.backward(pass, bn2_.backward(pass, act2_.backward(pass, *d)), true);
  d = &conv1_.backward(pass, bn1_.backward(pass, act1_.backward(pass, *d)), true);
  conv0_.backward(pass, act0_.backward(pass, *d), /*need_dx=*/false);
}

void save_judge(const std::string& path, const JudgeConfig& cfg, Judge& judge,
                const std::map<std::string, std::string>& extra_metadata) {
  Checkpoint ck;
  ck.metadata = cfg.to_metadata();
  for (const auto& [k, v] : extra_metadata) ck.metadata[k] = v;
  judge.params().save_to(ck, kJudgePrefix);
  ck.save(path);
}

void load_judge(const Checkpoint& ck, Judge& judge) {
  check_tensors(ck, judge.params().specs(kJudgePrefix));
  judge.params().load_from(ck, kJudgePrefix);
}

// ---- Metrics ----------------------------------------------------------------------------------
void symmetric_eigen(std::vector<double> a, int n, std::vector<double>& w, std::vector<double>* v) {
  const auto N = static_cast<std::size_t>(n);
  if (a.size() != N * N) fail<RuntimeError>("symmetric_eigen: {} elements for a {} x {} matrix", a.size(), n, n);
  std::vector<double> V(N * N, 0.0);
  for (std::size_t i = 0; i < N; ++i) V[i * N + i] = 1;
  auto A = [&](std::size_t i, std::size_t j) -> double& { return a[i * N + j]; };
  for (int sweep = 0; sweep < 100; ++sweep) {
    double off = 0, total = 0;
    for (std::size_t i = 0; i < N; ++i)
      for (std::size_t j = 0; j < N; ++j) (i == j ? total : off) += A(i, j) * A(i, j);
    total += off;
    if (off <= 1e-30 * std::max(total, 1e-300) || off == 0) break;
    for (std::size_t p = 0; p + 1 < N; ++p)
      for (std::size_t q = p + 1; q < N; ++q) {
        const double apq = A(p, q);
        if (std::abs(apq) < 1e-300) continue;
        // The rotation that zeroes a[p][q] (Golub & Van Loan, Algorithm 8.4.1).
        const double theta = (A(q, q) - A(p, p)) / (2 * apq);
        const double t = (theta >= 0 ? 1.0 : -1.0) / (std::abs(theta) + std::sqrt(theta * theta + 1));
        const double c = 1 / std::sqrt(t * t + 1), s = t * c;
        for (std::size_t k = 0; k < N; ++k) {  // columns p, q
          const double akp = A(k, p), akq = A(k, q);
          A(k, p) = c * akp - s * akq;
          A(k, q) = s * akp + c * akq;
        }
        for (std::size_t k = 0; k < N; ++k) {  // rows p, q
          const double apk = A(p, k), aqk = A(q, k);
          A(p, k) = c * apk - s * aqk;
          A(q, k) = s * apk + c * aqk;
        }
        for (std::size_t k = 0; k < N; ++k) {
          const double vkp = V[k * N + p], vkq = V[k * N + q];
          V[k * N + p] = c * vkp - s * vkq;
          V[k * N + q] = s * vkp + c * vkq;
        }
      }
  }
  w.resize(N);
  for (std::size_t i = 0; i < N; ++i) w[i] = A(i, i);
  if (v) *v = std::move(V);
}

void mean_and_covariance(const std::vector<double>& x, std::size_t n, std::size_t d, std::vector<double>& mean,
                         std::vector<double>& cov) {
  mean.assign(d, 0.0);
  cov.assign(d * d, 0.0);
  if (n == 0) return;
  for (std::size_t r = 0; r < n; ++r)
    for (std::size_t j = 0; j < d; ++j) mean[j] += x[r * d + j];
  for (double& m : mean) m /= double(n);
  if (n < 2) return;
  std::vector<double> c(d);
  for (std::size_t r = 0; r < n; ++r) {
    for (std::size_t j = 0; j < d; ++j) c[j] = x[r * d + j] - mean[j];
    for (std::size_t i = 0; i < d; ++i)
      for (std::size_t j = i; j < d; ++j) cov[i * d + j] += c[i] * c[j];
  }
  for (std::size_t i = 0; i < d; ++i)
    for (std::size_t j = i; j < d; ++j) cov[j * d + i] = cov[i * d + j] /= double(n - 1);
}

double frechet_distance(const std::vector<double>& mu1, const std::vector<double>& c1, const std::vector<double>& mu2,
                        const std::vector<double>& c2, std::size_t d) {
  const int n = static_cast<int>(d);
  // sqrt(C1) = V diag(sqrt(max(w, 0))) V^T.
  std::vector<double> w, V;
  symmetric_eigen(c1, n, w, &V);
  std::vector<double> s1(d * d, 0.0);
  for (std::size_t i = 0; i < d; ++i)
    for (std::size_t j = 0; j < d; ++j) {
      double sum = 0;
      for (std::size_t k = 0; k < d; ++k) sum += V[i * d + k] * std::sqrt(std::max(w[k], 0.0)) * V[j * d + k];
      s1[i * d + j] = sum;
    }
  // M = sqrt(C1) C2 sqrt(C1), symmetric positive semi-definite; tr sqrt(M) = sum sqrt(eig(M)).
  std::vector<double> t(d * d, 0.0), m(d * d, 0.0);
  for (std::size_t i = 0; i < d; ++i)
    for (std::size_t k = 0; k < d; ++k) {
      const double a = s1[i * d + k];
      for (std::size_t j = 0; j < d; ++j) t[i * d + j] += a * c2[k * d + j];
    }
  for (std::size_t i = 0; i < d; ++i)
    for (std::size_t k = 0; k < d; ++k) {
      const double a = t[i * d + k];
      for (std::size_t j = 0; j < d; ++j) m[i * d + j] += a * s1[k * d + j];
    }
  for (std::size_t i = 0; i < d; ++i)
    for (std::size_t j = i + 1; j < d; ++j) m[i * d + j] = m[j * d + i] = 0.5 * (m[i * d + j] + m[j * d + i]);
  std::vector<double> wm;
  symmetric_eigen(m, n, wm, nullptr);
  double tr_sqrt = 0, tr1 = 0, tr2 = 0, dmu = 0;
  for (double x : wm) tr_sqrt += std::sqrt(std::max(x, 0.0));
  for (std::size_t i = 0; i < d; ++i) {
    tr1 += c1[i * d + i], tr2 += c2[i * d + i];
    dmu += (mu1[i] - mu2[i]) * (mu1[i] - mu2[i]);
  }
  return std::max(0.0, dmu + tr1 + tr2 - 2 * tr_sqrt);
}

double inception_score(const std::vector<double>& p, std::size_t n, std::size_t k) {
  if (n == 0) return 0;
  std::vector<double> marginal(k, 0.0);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < k; ++j) marginal[j] += p[i * k + j] / double(n);
  double kl = 0;
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < k; ++j) {
      const double q = p[i * k + j];
      if (q > 0) kl += q * (std::log(q) - std::log(marginal[j]));
    }
  return std::exp(kl / double(n));
}

}  // namespace t2i::nn
