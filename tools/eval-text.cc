// eval-text: the zero-shot retrieval protocol of Reed et al. CVPR 2016 (PAPER.md section 3) for a
// text model from train-text: top-1 classification and AP@50 over held-out classes.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <numeric>
#include <set>
#include <string>
#include <vector>

#include "checkpoint.h"
#include "captions.h"
#include "cli.h"
#include "error.h"
#include "file.h"
#include "image.h"
#include "log.h"
#include "nn/text_checkpoint.h"
#include "nn/text_encoder.h"
#include "progress.h"
#include "stream.h"
#include "text/charset.h"

namespace {

using namespace t2i;

std::string trim(const std::string& s) {
  const auto a = s.find_first_not_of(" \t\r");
  if (a == std::string::npos) return "";
  return s.substr(a, s.find_last_not_of(" \t\r") - a + 1);
}

}  // namespace

int main(int argc, char** argv) {
  t2i::Cli cli({
      .name = "eval-text",
      .purpose = "zero-shot top-1 accuracy and AP@50 of a text model on held-out classes (Reed et al. CVPR 2016)",
      .usage = "eval-text -m <text.st> --images <images.t2i> --captions <captions.tsv> [--classes <classes.txt>]",
      .example = "pack-images data/birds --split test > te.t2i\n"
                 "list-captions data/birds --split test > te.tsv\n"
                 "eval-text -m text.st --images te.t2i --captions te.tsv",
      .see_also = "train-text(1), encode-text(1), pack-images(1), list-captions(1)",
  });
  std::string model_path, images_path, captions_path, classes_path, class_embedding = "mean";
  int batch = 64;
  cli.options().add_options()
      ("model,m", po::value(&model_path), "text model checkpoint from train-text")
      ("images", po::value(&images_path), "image stream from pack-images: uint8 [3,S,S] records, S >= 64, keyed class/name")
      ("captions", po::value(&captions_path), "captions, 'image-key<TAB>caption' lines (list-captions)")
      ("classes", po::value(&classes_path), "evaluate only these classes, one name a line (default: every class present)")
      ("class-embedding", po::value(&class_embedding)->default_value(class_embedding), "mean: a class is the mean of its captions' embeddings, scored by inner product (the paper's mean compatibility); unit: that mean scaled to unit length (cosine to a class prototype)")
      ("batch", po::value(&batch)->default_value(batch), "images or captions encoded at a time");
  cli.add_compute_options();
  return cli.run(argc, argv, [&] {
    cli.expect_args(0, 0);
    if (model_path.empty() || images_path.empty() || captions_path.empty())
      fail<UsageError>("-m, --images and --captions are required");
    if (batch < 1 || batch > 4096) fail<UsageError>("--batch {}: expected 1 to 4096", batch);
    if (class_embedding != "mean" && class_embedding != "unit")
      fail<UsageError>("--class-embedding {}: expected mean or unit", class_embedding);

    const Checkpoint ck = Checkpoint::load(model_path);
    const nn::TextModelConfig cfg = nn::TextModelConfig::from_checkpoint(ck);
    auto be = nn::make_backend(backend_name(cli.compute().backend));
    nn::TextEncoder text(cfg.text);
    nn::ImageEncoder image(cfg.image);
    text.bind(*be);
    image.bind(*be);
    nn::load_text_model(ck, text, &image);

    KeyedReader images(images_path);
    std::set<std::string> wanted;
    if (!classes_path.empty()) {
      for (const std::string& line : read_lines(classes_path))
        if (auto c = trim(line); !c.empty()) wanted.insert(c);
      if (wanted.empty()) fail<InputError>("{}: no class names", classes_path);
    }
    auto selected = [&](const std::string& cls) { return wanted.empty() || wanted.count(cls) > 0; };

    // Classes: those of the selected images, in name order.
    std::map<std::string, int> class_index;
    std::vector<std::string> image_keys;
    for (const std::string& key : images.keys())
      if (selected(class_of(key))) {
        image_keys.push_back(key);
        class_index.emplace(class_of(key), 0);
      }
    for (const std::string& c : wanted)
      if (!class_index.count(c)) fail<InputError>("{}: class '{}' of {} has no image", images_path, c, classes_path);
    std::vector<std::string> classes;
    for (auto& [c, i] : class_index) {
      i = static_cast<int>(classes.size());
      classes.push_back(c);
    }
    const std::size_t K = classes.size();
    if (K < 2) fail<InputError>("{}: {} class to evaluate; retrieval needs at least 2", images_path, K);

    // Captions of the selected images, grouped by class.
    std::vector<std::vector<std::string>> captions(K);
    std::size_t unknown = 0, n_captions = 0;
    for (CaptionLine& c : read_caption_lines(captions_path)) {
      if (!selected(class_of(c.key))) continue;
      if (!images.contains(c.key)) {
        ++unknown;
        continue;
      }
      captions[static_cast<std::size_t>(class_index.at(class_of(c.key)))].push_back(std::move(c.caption));
      ++n_captions;
    }
    if (unknown > 0) log::warn("{}: ignored {} captions of images not in {}", captions_path, unknown, images_path);
    for (std::size_t k = 0; k < K; ++k)
      if (captions[k].empty()) fail<InputError>("{}: class '{}' has no caption", captions_path, classes[k]);

    const auto D = static_cast<std::size_t>(cfg.text.emb_dim);
    const nn::i64 L = text::kAlphabetSize, T = text::kMaxLength;
    Progress progress("encoding", n_captions + image_keys.size());

    // Class embeddings: the mean of the class's caption embeddings.
    std::vector<std::pair<std::size_t, const std::string*>> all;
    for (std::size_t k = 0; k < K; ++k)
      for (const auto& s : captions[k]) all.emplace_back(k, &s);
    std::vector<double> tsum(K * D, 0.0);
    for (std::size_t i0 = 0; i0 < all.size(); i0 += static_cast<std::size_t>(batch)) {
      const std::size_t n = std::min(all.size() - i0, static_cast<std::size_t>(batch));
      Tensor c(DType::kFloat32, {static_cast<nn::i64>(n), L, T});
      for (std::size_t j = 0; j < n; ++j)
        text::one_hot(text::encode(*all[i0 + j].second), c.span<float>().data() + j * std::size_t(L * T));
      const std::vector<float> e = nn::to_vector(*be, text.forward(0, nn::upload(*be, c)));
      for (std::size_t j = 0; j < n; ++j)
        for (std::size_t d = 0; d < D; ++d) tsum[all[i0 + j].first * D + d] += e[j * D + d];
      progress.add(n);
    }
    for (std::size_t k = 0; k < K; ++k) {
      double* row = &tsum[k * D];
      for (std::size_t d = 0; d < D; ++d) row[d] /= double(captions[k].size());
      if (class_embedding == "unit") {
        double ss = 0;
        for (std::size_t d = 0; d < D; ++d) ss += row[d] * row[d];
        const double inv = ss > 0 ? 1.0 / std::sqrt(ss) : 0.0;  // an all-zero mean stays zero
        for (std::size_t d = 0; d < D; ++d) row[d] *= inv;
      }
    }

    // Image embeddings (batch norm with running statistics, centre 64 x 64 crops) and scores.
    const std::size_t N = image_keys.size();
    std::vector<double> score(N * K);
    std::vector<int> label(N);
    for (std::size_t i0 = 0; i0 < N; i0 += static_cast<std::size_t>(batch)) {
      const std::size_t n = std::min(N - i0, static_cast<std::size_t>(batch));
      Tensor x(DType::kFloat32, {static_cast<nn::i64>(n), 3, 64, 64});
      float* out = x.span<float>().data();
      for (std::size_t j = 0; j < n; ++j) {
        const std::string& key = image_keys[i0 + j];
        label[i0 + j] = class_index.at(class_of(key));
        const Tensor t = images.get(key);
        const Shape& sh = t.shape();
        if (t.dtype() != DType::kUInt8 || sh.size() != 3 || sh[0] != 3 || sh[1] != sh[2] || sh[1] < 64)
          fail<InputError>("{}: record '{}' is not uint8 [3,S,S] with S >= 64", images.name(), printable_key(key));
        const std::int64_t o = (sh[2] - 64) / 2;  // the centre crop
        crop_to_floats(t, 64, o, o, /*flip=*/false, out + j * 3 * 64 * 64);
      }
      const std::vector<float> v = nn::to_vector(*be, image.forward(0, nn::upload(*be, x), /*training=*/false));
      for (std::size_t j = 0; j < n; ++j)
        for (std::size_t k = 0; k < K; ++k) {
          double dot = 0;
          for (std::size_t d = 0; d < D; ++d) dot += double(v[j * D + d]) * tsum[k * D + d];
          score[(i0 + j) * K + k] = dot;
        }
      progress.add(n);
    }
    progress.finish();

    std::size_t correct = 0;
    for (std::size_t i = 0; i < N; ++i) {
      const double* row = &score[i * K];
      correct += static_cast<std::size_t>(std::max_element(row, row + K) - row) == static_cast<std::size_t>(label[i]);
    }
    double ap_sum = 0;
    std::vector<std::size_t> idx(N);
    const std::size_t top = std::min<std::size_t>(50, N);
    for (std::size_t k = 0; k < K; ++k) {
      std::iota(idx.begin(), idx.end(), std::size_t{0});
      std::partial_sort(idx.begin(), idx.begin() + static_cast<std::ptrdiff_t>(top), idx.end(), [&](std::size_t a, std::size_t b) {
        const double sa = score[a * K + k], sb = score[b * K + k];
        return sa != sb ? sa > sb : a < b;
      });
      std::size_t hits = 0;
      for (std::size_t r = 0; r < top; ++r) hits += static_cast<std::size_t>(label[idx[r]]) == k;
      ap_sum += double(hits) / double(top);
    }
    const double top1 = double(correct) / double(N), ap50 = ap_sum / double(K);
    fmt::print("# zero-shot retrieval, {} ({} classes; chance top-1 {:.4f}; class embedding {})\n", model_path, K,
               1.0 / double(K), class_embedding);
    fmt::print("top1\t{:.4f}\nap50\t{:.4f}\nclasses\t{}\nimages\t{}\ncaptions\t{}\n", top1, ap50, K, N, n_captions);
    return 0;
  });
}
