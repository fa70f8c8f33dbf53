// The judge: a CNN classifier trained on real (rendered) images, used by eval-images to score
// generated ones where the paper's successors used a pretrained Inception network (none is
// available here). It predicts the class and every attribute group of an image; its feature
// layer serves the Fréchet distance ("judge-FD") and its class posteriors the Inception-style
// score ("judge-IS").
//
//   image [N,3,64,64] -> conv(3->ndf, 4,2,1) LReLU -> conv(ndf->2ndf) BN LReLU
//     -> conv(2ndf->4ndf) BN LReLU -> conv(4ndf->8ndf) BN LReLU -> conv(8ndf->feat, 4,1,0)
//     -> BN1d LReLU = features [N,feat] -> linear(feat -> logits) [N, L]
//
// The logits are the heads side by side: the class softmax first, then one softmax per attribute
// group (CUB's name prefix before "::", e.g. has_crown_color with 15 values) in the order of the
// attribute list. A group of one attribute (has_eye_pattern::eyering) is a two-way head, absent or
// present. A group whose rows may all be zero (has_wing_mark_color when the wings are solid) gets
// an extra value "none". Rows with more than one value set (real CUB's multi-label groups) are
// left out of that group's loss. The loss is the sum over heads of the mean softmax
// cross-entropy, computed on the host from the downloaded logits (they are small).
//
// Checkpoint (safetensors): "judge.<layer>.<param>" tensors; __metadata__ model "t2igan-judge",
// ndf, feat_dim, classes, attributes and none_groups (one name a line), and from train-judge
// "train.key_hashes": the 64-bit FNV-1a hashes of its training images' keys (16 hex digits each,
// sorted, space-separated), so eval-images can tell whether images it scores were judge training
// images (a ceiling measured on those is not held out).
#pragma once

#include <cmath>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "checkpoint.h"
#include "nn/layers.h"

namespace t2i::nn {

inline constexpr const char* kJudgeModel = "t2igan-judge";
inline constexpr const char* kJudgePrefix = "judge.";
// The largest widths a judge may have (train-judge's limits; a checkpoint claiming more is
// refused before anything is allocated): judge-FD builds feat_dim x feat_dim matrices.
inline constexpr long long kJudgeMaxNdf = 1024, kJudgeMaxFeatDim = 4096;

// One softmax over logits [offset, offset + values.size()).
struct JudgeHead {
  std::string name;                 // "class", "has_crown_color"
  std::vector<std::string> values;  // class names; "red", ...; "absent", "present"; "none" last
  std::vector<int> attributes;      // the attribute index (0-based) of each value, -1 for absent/none
  i64 offset = 0;
  i64 size() const { return static_cast<i64>(values.size()); }
};

struct JudgeConfig {
  i64 ndf = 32, feat_dim = 128;
  std::vector<std::string> classes;     // the class head's values, in order
  std::vector<std::string> attributes;  // the dataset's attribute names in id order ("has_crown_color::red")
  std::vector<std::string> none_groups; // groups with a "none" value

  // Head 0 is the class; then one per attribute group, in order of first appearance.
  std::vector<JudgeHead> heads() const;
  i64 logits() const;

  std::map<std::string, std::string> to_metadata() const;
  // InputError naming the file when the checkpoint is not a judge (or a malformed one): widths
  // beyond kJudgeMax*, or tensors (names, dtypes, shapes) that differ from the configuration's,
  // checked before any model is allocated.
  static JudgeConfig from_checkpoint(const Checkpoint& ck);
};

inline constexpr const char* kJudgeKeyHashes = "train.key_hashes";

// FNV-1a (64-bit) of an image key.
std::uint64_t judge_key_hash(const std::string& key);
// The metadata value recording a set of image keys: their hashes, sorted, as 16 hex digits each,
// space-separated.
std::string judge_key_hashes_text(const std::vector<std::string>& keys);
// The hashes a judge checkpoint records of its training images into out: false (out empty) when
// the checkpoint has no record (older judges). InputError for a malformed record.
bool judge_training_hashes(const Checkpoint& ck, std::set<std::uint64_t>& out);

// The group of an attribute name: the part before "::" (the whole name if there is none).
std::string attribute_group(const std::string& name);

// An image's targets, one per head: the value index, or -1 to leave the head out of the loss.
// present: the image's attribute row (0/1 per attribute of cfg.attributes).
std::vector<int> judge_targets(const std::vector<JudgeHead>& heads, int class_index,
                               const std::vector<std::uint8_t>& present);

class Judge {
 public:
  explicit Judge(const JudgeConfig& cfg);
  void bind(Backend& be);
  ParamSet& params() { return ps_; }
  const JudgeConfig& config() const { return cfg_; }

  // image [N,3,64,64] -> logits [N, logits()] (plain). training: batch statistics.
  const Array& forward(int pass, const Array& image, bool training);
  // The last forward's features [N, feat_dim] (plain).
  const Array& features(int pass);
  // From d logits [N, logits()]; accumulates every parameter gradient.
  void backward(int pass, const Array& dlogits);

 private:
  JudgeConfig cfg_;
  ParamSet ps_;
  Backend* be_ = nullptr;
  Conv conv0_, conv1_, conv2_, conv3_, conv4_;
  BatchNorm bn1_, bn2_, bn3_, bn4_;
  Activation act0_, act1_, act2_, act3_, act4_;
  Linear head_;
  struct Slot {
    Array flat, feat, logits, dfeat, d4;
  };
  Slots<Slot> slots_;
};

// Writes atomically; extra metadata (training record) is added to the configuration's.
void save_judge(const std::string& path, const JudgeConfig& cfg, Judge& judge,
                const std::map<std::string, std::string>& extra_metadata = {});
// Loads the weights into a bound judge of the checkpoint's configuration, checking every tensor.
void load_judge(const Checkpoint& ck, Judge& judge);

// The sum over heads of the mean softmax cross-entropy: logits [n, L] row-major, targets [n, H]
// (value index within head h, or -1: that row is left out of head h's mean). Writes the gradient
// into dlogits ([n, L]) when it is not null. Templated so the gradient check runs in double.
template <typename T>
double heads_xent(const T* logits, i64 n, i64 L, const std::vector<JudgeHead>& heads, const int* targets, T* dlogits) {
  const auto H = static_cast<i64>(heads.size());
  if (dlogits)
    for (i64 i = 0; i < n * L; ++i) dlogits[i] = T(0);
  double loss = 0;
  for (i64 h = 0; h < H; ++h) {
    const JudgeHead& head = heads[static_cast<std::size_t>(h)];
    i64 m = 0;
    for (i64 r = 0; r < n; ++r) m += targets[r * H + h] >= 0;
    if (m == 0) continue;
    for (i64 r = 0; r < n; ++r) {
      const int t = targets[r * H + h];
      if (t < 0) continue;
      const T* z = logits + r * L + head.offset;
      double mx = z[0];
      for (i64 k = 1; k < head.size(); ++k) mx = std::max(mx, double(z[k]));
      double sum = 0;
      for (i64 k = 0; k < head.size(); ++k) sum += std::exp(double(z[k]) - mx);
      loss += (std::log(sum) + mx - double(z[t])) / double(m);
      if (dlogits) {
        T* d = dlogits + r * L + head.offset;
        for (i64 k = 0; k < head.size(); ++k)
          d[k] = T((std::exp(double(z[k]) - mx) / sum - (k == t ? 1.0 : 0.0)) / double(m));
      }
    }
  }
  return loss;
}

// ---- Metrics over features and posteriors (double precision). ----

// Eigen-decomposition of the symmetric n x n matrix a (row-major) by cyclic Jacobi rotations:
// eigenvalues into w, eigenvectors as the columns of v (row-major n x n) when v is not null.
void symmetric_eigen(std::vector<double> a, int n, std::vector<double>& w, std::vector<double>* v);

// Mean [d] and covariance [d, d] (divided by n - 1; zero for n < 2) of n rows x [n, d].
void mean_and_covariance(const std::vector<double>& x, std::size_t n, std::size_t d, std::vector<double>& mean,
                         std::vector<double>& cov);

// |mu1 - mu2|^2 + tr(C1) + tr(C2) - 2 tr(sqrt(sqrt(C1) C2 sqrt(C1))), the Fréchet distance of two
// Gaussians; negative eigenvalues (rounding) count as zero.
double frechet_distance(const std::vector<double>& mu1, const std::vector<double>& c1, const std::vector<double>& mu2,
                        const std::vector<double>& c2, std::size_t d);

// exp(mean_x KL(p(y|x) || p(y))) of posteriors p [n, k] (rows sum to 1), p(y) their mean.
double inception_score(const std::vector<double>& p, std::size_t n, std::size_t k);

}  // namespace t2i::nn
