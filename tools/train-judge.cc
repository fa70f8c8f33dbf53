// train-judge: train the judge of eval-images, a CNN that predicts the class and every attribute
// group of a real (rendered) image, on an image stream from pack-images and the labels of its
// dataset folder (nn/judge.h).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "captions.h"
#include "checkpoint.h"
#include "cli.h"
#include "error.h"
#include "image.h"
#include "loaders/dataset.h"
#include "log.h"
#include "nn/judge.h"
#include "nn/optim.h"
#include "progress.h"
#include "rng.h"
#include "stream.h"

namespace {

using namespace t2i;

// The tool's own random numbers (order, crops, flips): common/rng.h's SplitMix64.
using TrainRng = SplitMix64;

struct Labelled {
  std::string key;
  std::vector<int> targets;  // per head
};

// Checked for every record before training starts (label()).
void check_header(const KeyedReader& images, const std::string& key) {
  const npy::Header& h = images.header(key);
  const Shape& sh = h.shape;
  if (h.dtype != DType::kUInt8 || sh.size() != 3 || sh[0] != 3 || sh[1] != sh[2] || sh[1] < 64)
    fail<InputError>("{}: record '{}' is {} {}, expected uint8 [3,S,S] with S >= 64 (pack-images --size 76)", images.name(),
                     printable_key(key), dtype_name(h.dtype), shape_text(sh));
}

Tensor checked_image(KeyedReader& images, const std::string& key) {
  check_header(images, key);
  return images.get(key);
}

// The labelled images of a stream: every key must be an image of the dataset.
std::vector<Labelled> label(KeyedReader& images, const data::Dataset& ds, const data::AttributeTable& attrs,
                            const std::map<std::string, int>& class_index, const std::vector<nn::JudgeHead>& heads) {
  std::unordered_map<std::string, std::size_t> by_key;
  for (std::size_t i = 0; i < ds.images.size(); ++i) by_key.emplace(ds.images[i].key, i);
  std::vector<Labelled> out;
  for (const std::string& key : images.keys()) {
    auto it = by_key.find(key);
    if (it == by_key.end())
      fail<InputError>("{}: record '{}' is not an image of the dataset {} (expected keys class/name of its images.txt)",
                       images.name(), printable_key(key), ds.root);
    check_header(images, key);
    out.push_back({key, nn::judge_targets(heads, class_index.at(ds.images[it->second].class_name), attrs.present[it->second])});
  }
  return out;
}

struct Accuracy {
  std::size_t class_right = 0, class_n = 0, attr_right = 0, attr_n = 0;
  std::vector<std::size_t> head_right, head_n;  // per head
  double cls() const { return class_n ? double(class_right) / double(class_n) : 0; }
  double attr() const { return attr_n ? double(attr_right) / double(attr_n) : 0; }
};

// Counts argmax hits of logits [n, L] per head against targets.
void score(const std::vector<float>& logits, std::size_t n, const std::vector<nn::JudgeHead>& heads,
           const std::vector<const Labelled*>& rows, Accuracy& acc) {
  const auto L = static_cast<std::size_t>(heads.back().offset + heads.back().size());
  for (std::size_t r = 0; r < n; ++r)
    for (std::size_t h = 0; h < heads.size(); ++h) {
      const int t = rows[r]->targets[h];
      if (t < 0) continue;
      const float* z = logits.data() + r * L + static_cast<std::size_t>(heads[h].offset);
      const int best = static_cast<int>(std::max_element(z, z + heads[h].size()) - z);
      if (h == 0) acc.class_right += best == t, ++acc.class_n;
      else acc.attr_right += best == t, ++acc.attr_n;
      acc.head_right.resize(heads.size()), acc.head_n.resize(heads.size());
      acc.head_right[h] += best == t, ++acc.head_n[h];
    }
}

}  // namespace

int main(int argc, char** argv) {
  t2i::Cli cli({
      .name = "train-judge",
      .purpose = "train the judge of eval-images: a CNN predicting class and attributes of real images",
      .usage = "train-judge --images <images.t2i> --dataset <dir> -o <judge.st> [options]",
      .example = "pack-images data/birds --split cub-train > judge-tr.t2i\n"
                 "pack-images data/birds --split cub-test > judge-te.t2i\n"
                 "train-judge --images judge-tr.t2i --dataset data/birds --val judge-te.t2i -o judge.st\n"
                 "# the ceiling: real images the judge never saw (cub-test), here of the unseen classes\n"
                 "pack-images data/birds --split cub-test | tensor-select --keys data/birds/testclasses.txt --parent > ceiling.t2i",
      .see_also = "eval-images(1), pack-images(1), make-birds(1)",
  });
  std::string images_path, dataset_path, out_path, val_path;
  int epochs = 12, batch = 64;
  double lr = 1e-3, beta1 = 0.9, blur = 0;
  long ndf = 32, feat_dim = 128;
  cli.options().add_options()
      ("images", po::value(&images_path), "training images from pack-images: uint8 [3,S,S] records, S >= 64, keyed class/name")
      ("dataset", po::value(&dataset_path), "the dataset folder of the images (CUB layout with attributes.txt and attributes/image_attribute_labels.txt)")
      ("output,o", po::value(&out_path), "the judge checkpoint to write (safetensors)")
      ("val", po::value(&val_path), "held-out images of the same dataset: accuracy logged after every epoch")
      ("epochs", po::value(&epochs)->default_value(epochs), "passes over the training images")
      ("batch", po::value(&batch)->default_value(batch), "images per minibatch")
      ("lr", po::value(&lr)->default_value(lr), "Adam's learning rate")
      ("beta1", po::value(&beta1)->default_value(beta1), "Adam's beta1")
      ("ndf", po::value(&ndf)->default_value(ndf), "width of the first convolution (the others 2, 4, 8 times)")
      ("feat-dim", po::value(&feat_dim)->default_value(feat_dim), "width of the feature layer (judge-FD's features)")
      ("blur", po::value(&blur)->default_value(blur), "blur half the training crops by a Gaussian of standard deviation drawn uniformly from (0, B] pixels, so that the judge reads colours and shapes from soft images too; 0: never");
  cli.add_compute_options();
  return cli.run(argc, argv, [&] {
    cli.expect_args(0, 0);
    if (images_path.empty() || dataset_path.empty() || out_path.empty())
      fail<UsageError>("--images, --dataset and -o are required");
    if (epochs < 1) fail<UsageError>("--epochs {}: expected at least 1", epochs);
    if (batch < 2 || batch > 4096) fail<UsageError>("--batch {}: expected 2 to 4096", batch);
    if (!(lr > 0)) fail<UsageError>("--lr {}: expected a number > 0", lr);
    if (!(beta1 >= 0 && beta1 < 1)) fail<UsageError>("--beta1 {}: expected a number in [0, 1)", beta1);
    if (!(blur >= 0 && blur <= 8)) fail<UsageError>("--blur {}: expected 0 to 8 pixels", blur);
    if (ndf < 1 || ndf > nn::kJudgeMaxNdf) fail<UsageError>("--ndf {}: expected 1 to {}", ndf, nn::kJudgeMaxNdf);
    if (feat_dim < 1 || feat_dim > nn::kJudgeMaxFeatDim)
      fail<UsageError>("--feat-dim {}: expected 1 to {} (judge-FD builds feat-dim x feat-dim matrices)", feat_dim,
                       nn::kJudgeMaxFeatDim);
    const auto& compute = cli.compute();

    const data::Dataset ds = data::load_dataset(dataset_path);
    const data::AttributeTable attrs = data::read_attributes(ds);
    nn::JudgeConfig cfg;
    cfg.ndf = ndf, cfg.feat_dim = feat_dim;
    cfg.classes = ds.classes;
    cfg.attributes = attrs.names;
    if (cfg.classes.size() < 2) fail<InputError>("{}: {} class; the judge needs at least 2", dataset_path, cfg.classes.size());
    std::map<std::string, int> class_index;
    for (std::size_t i = 0; i < cfg.classes.size(); ++i) class_index.emplace(cfg.classes[i], static_cast<int>(i));

    KeyedReader images(images_path);
    if (images.size() < 2) fail<InputError>("{}: {} images; training needs at least 2", images_path, images.size());
    // Groups of several values whose rows may all be zero among the training images get "none".
    {
      std::unordered_map<std::string, std::size_t> by_key;
      for (std::size_t i = 0; i < ds.images.size(); ++i) by_key.emplace(ds.images[i].key, i);
      std::map<std::string, std::vector<std::size_t>> groups;
      for (std::size_t a = 0; a < attrs.names.size(); ++a) groups[nn::attribute_group(attrs.names[a])].push_back(a);
      std::set<std::string> none;
      for (const std::string& key : images.keys()) {
        auto it = by_key.find(key);
        if (it == by_key.end()) continue;  // label() names it
        for (const auto& [g, members] : groups) {
          if (members.size() < 2 || none.count(g)) continue;
          bool any = false;
          for (std::size_t a : members) any = any || attrs.present[it->second][a];
          if (!any) none.insert(g);
        }
      }
      cfg.none_groups.assign(none.begin(), none.end());
    }
    const std::vector<nn::JudgeHead> heads = cfg.heads();
    const std::vector<Labelled> train = label(images, ds, attrs, class_index, heads);
    std::optional<KeyedReader> val_images;
    std::vector<Labelled> val;
    if (!val_path.empty()) {
      val_images.emplace(val_path);
      val = label(*val_images, ds, attrs, class_index, heads);
    }

    auto be = nn::make_backend(backend_name(compute.backend));
    nn::Judge judge(cfg);
    judge.bind(*be);
    judge.params().init(compute.seed);
    nn::Adam adam({.lr = lr, .beta1 = beta1});
    adam.bind(*be, judge.params());

    const std::size_t N = train.size(), B = std::min<std::size_t>(static_cast<std::size_t>(batch), N);
    const std::size_t steps = std::max<std::size_t>(1, N / B);
    const auto L = static_cast<std::size_t>(cfg.logits());
    log::info("{} training images, {} classes, {} attribute groups ({} logits{}); batch {}, {} minibatches an epoch, "
              "{} epochs, backend {}",
              N, cfg.classes.size(), heads.size() - 1, L,
              cfg.none_groups.empty() ? "" : fmt::format("; 'none' in {}", fmt::join(cfg.none_groups, ", ")), B, steps,
              epochs, be->name());

    TrainRng rng{compute.seed * 0x2545F4914F6CDD1Dull + 0x1D6E};
    std::vector<std::size_t> order(N);
    for (std::size_t i = 0; i < N; ++i) order[i] = i;
    Tensor x(DType::kFloat32, {static_cast<nn::i64>(B), 3, 64, 64});
    std::vector<float> dlogits(B * L);
    std::vector<int> targets(B * heads.size());
    std::vector<float> blur_tmp;
    std::vector<const Labelled*> rows(B);
    std::map<std::string, std::string> record;
    // The training images, so eval-images can warn when a "ceiling" is measured on them.
    std::vector<std::string> train_keys;
    for (const Labelled& l : train) train_keys.push_back(l.key);
    const std::string key_hashes = nn::judge_key_hashes_text(train_keys);

    // Held-out accuracy: centre crops, running statistics.
    auto evaluate = [&](std::vector<Labelled>& set, KeyedReader& reader) {
      Accuracy acc;
      for (std::size_t i0 = 0; i0 < set.size(); i0 += B) {
        const std::size_t n = std::min(set.size() - i0, B);
        Tensor xe(DType::kFloat32, {static_cast<nn::i64>(n), 3, 64, 64});
        std::vector<const Labelled*> r(n);
        for (std::size_t j = 0; j < n; ++j) {
          r[j] = &set[i0 + j];
          const Tensor t = checked_image(reader, r[j]->key);
          const std::int64_t o = (t.shape()[2] - 64) / 2;
          crop_to_floats(t, 64, o, o, false, xe.span<float>().data() + j * 3 * 64 * 64);
        }
        score(nn::to_vector(*be, judge.forward(1, nn::upload(*be, xe), /*training=*/false)), n, heads, r, acc);
      }
      return acc;
    };

    Progress progress("training", static_cast<std::uint64_t>(epochs) * steps);
    for (int epoch = 0; epoch < epochs; ++epoch) {
      for (std::size_t i = N; i > 1; --i) std::swap(order[i - 1], order[rng.below(i)]);
      Accuracy acc;
      double sum = 0;
      for (std::size_t s = 0; s < steps; ++s) {
        for (std::size_t b = 0; b < B; ++b) {
          const Labelled& im = train[order[s * B + b]];
          rows[b] = &im;
          std::copy(im.targets.begin(), im.targets.end(), targets.begin() + static_cast<std::ptrdiff_t>(b * heads.size()));
          const Tensor t = checked_image(images, im.key);
          const std::size_t room = static_cast<std::size_t>(t.shape()[2] - 64 + 1);
          const auto ox = static_cast<std::int64_t>(rng.below(room)), oy = static_cast<std::int64_t>(rng.below(room));
          const bool flip = (rng.next() >> 63) != 0;
          crop_to_floats(t, 64, ox, oy, flip, x.span<float>().data() + b * 3 * 64 * 64);
          if (blur > 0 && (rng.next() >> 63) != 0) {
            const double sigma = blur * (1.0 - double(rng.next() >> 11) * 0x1.0p-53);  // (0, blur]
            gaussian_blur(x.span<float>().data() + b * 3 * 64 * 64, 3, 64, 64, sigma, blur_tmp);
          }
        }
        judge.params().zero_grads();
        const std::vector<float> logits = nn::to_vector(*be, judge.forward(0, nn::upload(*be, x), /*training=*/true));
        const double loss = nn::heads_xent(logits.data(), static_cast<nn::i64>(B), static_cast<nn::i64>(L), heads,
                                           targets.data(), dlogits.data());
        if (!std::isfinite(loss))
          fail<RuntimeError>("the loss became {} in epoch {}, minibatch {}: stopped (try a smaller --lr)",
                             std::isnan(loss) ? "NaN" : "infinite", epoch + 1, s + 1);
        Tensor d(DType::kFloat32, {static_cast<nn::i64>(B), static_cast<nn::i64>(L)});
        std::copy(dlogits.begin(), dlogits.end(), d.span<float>().begin());
        judge.backward(0, nn::upload(*be, d));
        adam.step();
        score(logits, B, heads, rows, acc);
        sum += loss;
        progress.add();
        progress.set_status(fmt::format("epoch {} loss {:.4f}", epoch + 1, loss));
      }
      std::string line = fmt::format("epoch {} mean loss {:.4f}, training accuracy class {:.4f} attributes {:.4f}", epoch + 1,
                                     sum / double(steps), acc.cls(), acc.attr());
      record = {{kCommandsKey, cli.command_line()},
                {nn::kJudgeKeyHashes, key_hashes},
                {"train.epoch", std::to_string(epoch + 1)},
                {"train.images", std::to_string(N)},
                {"train.blur", fmt::format("{:.9g}", blur)},
                {"train.loss", fmt::format("{:.6g}", sum / double(steps))},
                {"train.class_accuracy", fmt::format("{:.4f}", acc.cls())},
                {"train.attribute_accuracy", fmt::format("{:.4f}", acc.attr())}};
      if (val_images) {
        const Accuracy v = evaluate(val, *val_images);
        line += fmt::format("; held out ({} images) class {:.4f} attributes {:.4f}", val.size(), v.cls(), v.attr());
        record["val.images"] = std::to_string(val.size());
        record["val.class_accuracy"] = fmt::format("{:.4f}", v.cls());
        record["val.attribute_accuracy"] = fmt::format("{:.4f}", v.attr());
        if (epoch + 1 == epochs) {
          std::string groups;
          for (std::size_t h = 1; h < v.head_n.size(); ++h)
            if (v.head_n[h])
              groups += fmt::format("{}{} {:.3f}", groups.empty() ? "" : ", ", heads[h].name,
                                    double(v.head_right[h]) / double(v.head_n[h]));
          log::info("held-out accuracy per attribute group: {}", groups);
        }
      }
      log::info("{}", line);
      nn::save_judge(out_path, cfg, judge, record);
    }
    progress.finish();
    log::info("wrote {} ({} epochs)", out_path, epochs);
    return 0;
  });
}
