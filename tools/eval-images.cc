// eval-images: does the picture match the sentence, and is it varied and plausible? Scores an
// image stream (generated samples, or real images) against the captions it was made from:
// R-precision with a text model (the mean caption embedding of a sample's caption key against
// those of 99 keys of other classes, common/retrieval.h), attribute accuracy and its chance level,
// judge-FD and judge-IS with a judge (train-judge), and diversity; for seen and unseen classes and
// for all. --real images (held out from the judge: it warns when they were its training images)
// are scored with the same measures beside the samples, the ceiling.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "birds/birds.h"
#include "captions.h"
#include "checkpoint.h"
#include "cli.h"
#include "error.h"
#include "file.h"
#include "image.h"
#include "log.h"
#include "nn/judge.h"
#include "nn/text_checkpoint.h"
#include "nn/text_encoder.h"
#include "progress.h"
#include "retrieval.h"
#include "rng.h"
#include "stats.h"
#include "stream.h"
#include "text/charset.h"

namespace {

using namespace t2i;
constexpr std::size_t kPixels = 3 * 64 * 64;
constexpr int kNegatives = 99;
constexpr int kBorder = 6;  // background_by_caption: the frame of a 64 x 64 image it reads

// The mean of one 64 x 64 channel (8-bit values) over its outer kBorder pixels, in [-1, 1].
double border_mean(const std::uint8_t* channel) {
  std::int64_t sum = 0, n = 0;
  for (int y = 0; y < 64; ++y)
    for (int x = 0; x < 64; ++x)
      if (y < kBorder || y >= 64 - kBorder || x < kBorder || x >= 64 - kBorder) sum += channel[y * 64 + x], ++n;
  return double(sum) / double(n) / 127.5 - 1.0;
}

std::string trim(const std::string& s) {
  const auto a = s.find_first_not_of(" \t\r");
  if (a == std::string::npos) return "";
  return s.substr(a, s.find_last_not_of(" \t\r") - a + 1);
}

struct Sample {
  std::string key, caption_key, cls;
  bool unseen = false;
  bool real = false;          // a real image (uint8 record, or from --real)
  bool has_captions = false;  // its caption key is in --captions
};

// A stream's images as network inputs [n, 3, 64, 64] in [-1, 1]: float32 [3,64,64] records as
// they are (generate's output; the caption key drops the last "/i"), uint8 [3,S,S] with S >= 64
// centre-cropped (pack-images' output; the caption key is the key). The stream is read once, in
// batches handed to `take` (first index, count, the batch on the backend); only the pixels
// quantised to 8 bits stay, for the diversity measure. Real images (--real) may be float32 keyed
// without "/<i>": their caption key is the key itself when the captions hold it, else the key
// without its last "/<i>" (and real images without captions are simply not caption-scored).
struct Images {
  std::vector<Sample> samples;
  std::vector<std::uint8_t> pixels;  // [n, 3, 64, 64]: round((x + 1) * 127.5)
  std::size_t uint8_records = 0;     // records that were real images (pack-images)
};

using TakeBatch = std::function<void(std::size_t, std::size_t, const nn::Array&)>;

Images read_images(const std::string& path, const std::set<std::string>& unseen, std::size_t batch, nn::Backend& be,
                   const TakeBatch& take, bool real, const std::function<bool(const std::string&)>& has_captions) {
  Images out;
  StreamReader reader(path);
  Tensor x(DType::kFloat32, {static_cast<nn::i64>(batch), 3, 64, 64});
  std::size_t in_batch = 0;
  auto flush = [&] {
    if (in_batch == 0) return;
    Tensor part(DType::kFloat32, {static_cast<nn::i64>(in_batch), 3, 64, 64});
    std::copy_n(x.span<float>().data(), in_batch * kPixels, part.span<float>().data());
    take(out.samples.size() - in_batch, in_batch, nn::upload(be, part));
    in_batch = 0;
  };
  Record r;
  while (reader.next(&r)) {
    const Shape& sh = r.tensor.shape();
    Sample s;
    s.key = r.key;
    float* px = x.span<float>().data() + in_batch * kPixels;
    if (r.tensor.dtype() == DType::kFloat32 && sh == Shape{3, 64, 64}) {
      const auto slash = r.key.rfind('/');
      if (real) {
        s.caption_key = has_captions(r.key) || slash == std::string::npos || slash == 0 ? r.key : r.key.substr(0, slash);
      } else {
        if (slash == std::string::npos || slash == 0)
          fail<InputError>("{}: generated sample '{}' has no '/<i>' after its caption key (expected generate's keys)",
                           reader.name(), printable_key(r.key));
        s.caption_key = r.key.substr(0, slash);
      }
      const auto v = r.tensor.span<float>();
      for (std::size_t i = 0; i < kPixels; ++i) {
        if (!std::isfinite(v[i]))
          fail<InputError>("{}: record '{}' holds a non-finite value", reader.name(), printable_key(r.key));
        px[i] = std::clamp(v[i], -1.0f, 1.0f);
      }
    } else if (r.tensor.dtype() == DType::kUInt8 && sh.size() == 3 && sh[0] == 3 && sh[1] == sh[2] && sh[1] >= 64) {
      s.caption_key = r.key;
      s.real = true;
      ++out.uint8_records;
      const std::int64_t o = (sh[2] - 64) / 2;
      crop_to_floats(r.tensor, 64, o, o, /*flip=*/false, px);
    } else {
      fail<InputError>("{}: record '{}' is {} {}, expected float32 [3,64,64] (generate) or uint8 [3,S,S] with S >= 64 "
                       "(pack-images)",
                       reader.name(), printable_key(r.key), dtype_name(r.tensor.dtype()), shape_text(sh));
    }
    s.real = s.real || real;
    const std::size_t at = out.pixels.size();
    out.pixels.resize(at + kPixels);
    for (std::size_t i = 0; i < kPixels; ++i)
      out.pixels[at + i] = static_cast<std::uint8_t>(std::lround((px[i] + 1.0f) * 127.5f));
    s.cls = class_of(s.key);
    s.unseen = unseen.count(s.cls) > 0;
    s.has_captions = has_captions(s.caption_key);
    out.samples.push_back(std::move(s));
    if (++in_batch == batch) flush();
  }
  flush();
  if (out.samples.empty()) fail<InputError>("{}: no records", reader.name());
  return out;
}

// A metric accumulated per subset: all, seen, unseen.
struct Split3 {
  double sum[3] = {0, 0, 0};
  std::size_t n[3] = {0, 0, 0};
  void add(bool unseen, double v, std::size_t count = 1) {
    for (int s : {0, unseen ? 2 : 1}) sum[s] += v, n[s] += count;
  }
  std::optional<double> mean(int s) const {
    if (n[s] == 0) return std::nullopt;
    return sum[s] / double(n[s]);
  }
};

// Hits grouped by caption key, per subset (all, seen, unseen), for the standard error of a hit rate
// whose hits are not independent: a caption key's samples share its caption, an image's attribute
// pairs share its picture. The ratio estimator's cluster-robust variance G/(G-1) sum_g (x_g - p
// m_g)^2 / M^2 over the G keys (x_g hits of m_g, M in all), and at least the binomial variance of M
// trials at the rate (X+1)/(M+2), so that a rate of 0 or 1 on a few images is not taken as exact.
struct KeyedHits {
  std::map<std::size_t, std::pair<double, double>> by_key[3];  // key -> (hits, trials)
  void add(bool unseen, std::size_t key, double hits, double trials) {
    for (int s : {0, unseen ? 2 : 1}) {
      auto& [x, m] = by_key[s][key];
      x += hits, m += trials;
    }
  }
  std::optional<double> se(int s) const {
    const auto& g = by_key[s];
    double hits = 0, trials = 0;
    for (const auto& [k, xm] : g) hits += xm.first, trials += xm.second;
    if (g.size() < 2 || trials <= 0) return std::nullopt;
    const double p = hits / trials;
    double ss = 0;
    for (const auto& [k, xm] : g) ss += (xm.first - p * xm.second) * (xm.first - p * xm.second);
    const double clustered = double(g.size()) / double(g.size() - 1) * ss / (trials * trials);
    const double shrunk = (hits + 1) / (trials + 2), binomial = shrunk * (1 - shrunk) / trials;
    return std::sqrt(std::max(clustered, binomial));
  }
};

struct Row {
  std::string name;
  std::optional<double> value[3];  // the samples: all, seen, unseen
  std::optional<double> real[3];   // the --real images: all, seen, unseen
  std::optional<double> se[3], se_real[3];  // standard errors (KeyedHits), where kept
  bool integer = false;            // a count
};

// The tensors a model of the checkpoint's configuration needs, with their dtypes and shapes,
// checked before the model is bound (allocated from the configuration): one line naming the file
// and the first tensor that differs. Other tensors (optimiser states) are allowed.
void check_tensors(const Checkpoint& ck, const std::vector<TensorSpec>& expected) {
  for (const TensorSpec& spec : expected) {
    if (!ck.contains(spec.name))
      fail<InputError>("{}: tensor '{}' is missing; expected {} {}", ck.source(), spec.name, dtype_name(spec.dtype),
                       shape_text(spec.shape));
    const Tensor& t = ck.get(spec.name);
    if (t.dtype() != spec.dtype || t.shape() != spec.shape)
      fail<InputError>("{}: tensor '{}' is {} {}; expected {} {}", ck.source(), spec.name, dtype_name(t.dtype()),
                       shape_text(t.shape()), dtype_name(spec.dtype), shape_text(spec.shape));
  }
}

constexpr std::uint64_t kRealStream = 0x7265616cull, kChanceStream = 0x6368616eull;

}  // namespace

int main(int argc, char** argv) {
  t2i::Cli cli({
      .name = "eval-images",
      .purpose = "score images against their captions: R-precision, attribute accuracy, judge-FD, judge-IS, diversity, background share",
      .usage = "eval-images --captions <captions.tsv> [--text-model <text.st>] [--judge <judge.st>] [--real <images.t2i>] "
               "[--unseen <classes.txt>] [<samples.t2i>|-]",
      .example = "list-captions data/birds --split test > te.tsv\n"
                 "encode-text -m text.st --mode mean < te.tsv | generate -m gan.st -n 4 > samples.t2i\n"
                 "pack-images data/birds --split cub-test | tensor-select --keys data/birds/testclasses.txt --parent > ceiling.t2i\n"
                 "eval-images --captions te.tsv --text-model text.st --judge judge.st --real ceiling.t2i \\\n"
                 "  --unseen data/birds/testclasses.txt samples.t2i",
      .see_also = "train-judge(1), train-text(1), generate(1), eval-text(1), pack-images(1), list-captions(1), tensor-select(1)",
  });
  std::string captions_path, text_path, judge_path, real_path, unseen_path;
  int batch = 64;
  bool by_attribute = false;
  cli.options().add_options()
      ("captions", po::value(&captions_path), "captions, 'caption-key<TAB>caption' lines: the sentences the samples were made from (and those of the --real images)")
      ("text-model", po::value(&text_path), "text model from train-text: R-precision")
      ("judge", po::value(&judge_path), "judge from train-judge: attribute accuracy, judge-IS (and judge-FD with --real)")
      ("real", po::value(&real_path), "real images (pack-images stream) the judge never saw: scored beside the samples as the ceiling (columns real, real_seen, real_unseen) and the reference of judge-FD")
      ("unseen", po::value(&unseen_path), "the unseen (zero-shot) classes, one a line (e.g. testclasses.txt): report seen and unseen apart")
      ("by-attribute", po::bool_switch(&by_attribute), "with --judge, also attribute accuracy per attribute group (rows attr:crown_color, attr:bill_shape, ...): which parts of the captions the images miss")
      ("batch", po::value(&batch)->default_value(batch), "images or captions through a network at a time");
  cli.add_compute_options();
  return cli.run(argc, argv, [&] {
    cli.expect_args(0, 1);
    const std::string samples_path = cli.args().empty() ? "-" : cli.args()[0];
    const std::string samples_name = samples_path == "-" ? "stdin" : samples_path;
    if (captions_path.empty()) fail<UsageError>("--captions is required");
    if (batch < 2 || batch > 4096) fail<UsageError>("--batch {}: expected 2 to 4096", batch);
    if (by_attribute && judge_path.empty()) fail<UsageError>("--by-attribute needs --judge (the attribute classifier)");
    const auto& compute = cli.compute();
    const auto B = static_cast<std::size_t>(batch);

    // Models first: a wrong file is reported before any long reading, and a checkpoint's tensors
    // are checked against its configuration before anything is allocated from it.
    std::optional<Checkpoint> text_ck, judge_ck;
    if (!text_path.empty()) {
      text_ck = Checkpoint::load(text_path);
      nn::require_image_encoder(*text_ck);  // R-precision embeds the images
    }
    if (!judge_path.empty()) judge_ck = Checkpoint::load(judge_path);
    std::optional<nn::TextModelConfig> text_cfg;
    std::optional<nn::JudgeConfig> judge_cfg;
    if (text_ck) text_cfg = nn::TextModelConfig::from_checkpoint(*text_ck);
    if (judge_ck) judge_cfg = nn::JudgeConfig::from_checkpoint(*judge_ck);  // checks the tensors too
    std::set<std::uint64_t> judge_train;
    const bool judge_knows = judge_ck && nn::judge_training_hashes(*judge_ck, judge_train);

    std::set<std::string> unseen;
    if (!unseen_path.empty()) {
      for (const std::string& line : read_lines(unseen_path))
        if (auto c = trim(line); !c.empty()) unseen.insert(c);
      if (unseen.empty()) fail<InputError>("{}: no class names", unseen_path);
    }
    const bool split = !unseen.empty();

    const std::vector<CaptionLine> lines = read_caption_lines(captions_path);
    std::vector<std::string> keys;        // caption keys in order of first appearance
    std::vector<std::string> key_class;   // per key
    std::vector<std::vector<std::size_t>> key_lines;  // per key: its caption lines
    std::unordered_map<std::string, std::size_t> key_index;
    for (std::size_t i = 0; i < lines.size(); ++i) {
      auto [it, fresh] = key_index.try_emplace(lines[i].key, keys.size());
      if (fresh) keys.push_back(lines[i].key), key_class.push_back(class_of(lines[i].key)), key_lines.emplace_back();
      key_lines[it->second].push_back(i);
    }
    auto has_captions = [&](const std::string& k) { return key_index.count(k) > 0; };

    // The networks, run on each batch of images as the streams are read.
    auto be = nn::make_backend(backend_name(compute.backend));
    std::unique_ptr<nn::TextEncoder> text;
    std::unique_ptr<nn::ImageEncoder> image;
    std::unique_ptr<nn::Judge> judge;
    std::size_t D = 0, L = 0, F = 0;
    if (text_cfg) {
      text = std::make_unique<nn::TextEncoder>(text_cfg->text);
      image = std::make_unique<nn::ImageEncoder>(text_cfg->image);
      check_tensors(*text_ck, text->params().specs(nn::kTextPrefix));
      check_tensors(*text_ck, image->params().specs(nn::kImagePrefix));
      text->bind(*be);
      image->bind(*be);
      nn::load_text_model(*text_ck, *text, image.get());
      D = static_cast<std::size_t>(text_cfg->text.emb_dim);
    }
    if (judge_cfg) {
      judge = std::make_unique<nn::Judge>(*judge_cfg);
      judge->bind(*be);
      nn::load_judge(*judge_ck, *judge);
      L = static_cast<std::size_t>(judge_cfg->logits());
      F = static_cast<std::size_t>(judge_cfg->feat_dim);
    }
    struct Scored {
      Images im;
      std::vector<float> img_emb;  // [N, D] image embeddings of the text model
      std::vector<float> logits;   // [N, L] judge logits
      std::vector<double> feats;   // [N, F] judge features
      std::size_t judge_seen = 0;  // real images that were judge training images
    };
    auto read_scored = [&](const std::string& path, bool real) {
      Scored out;
      out.im = read_images(
          path, unseen, B, *be,
          [&](std::size_t i0, std::size_t m, const nn::Array& x) {
            if (image) {
              const std::vector<float> e = nn::to_vector(*be, image->forward(0, x, /*training=*/false));
              out.img_emb.resize((i0 + m) * D);
              std::copy_n(e.data(), m * D, out.img_emb.data() + i0 * D);
            }
            if (judge) {
              const std::vector<float> z = nn::to_vector(*be, judge->forward(0, x, /*training=*/false));
              const std::vector<float> f = nn::to_vector(*be, judge->features(0));
              out.logits.resize((i0 + m) * L);
              out.feats.resize((i0 + m) * F);
              std::copy_n(z.data(), m * L, out.logits.data() + i0 * L);
              std::copy(f.begin(), f.begin() + long(m * F), out.feats.begin() + long(i0 * F));
            }
          },
          real, has_captions);
      for (const Sample& s : out.im.samples)
        out.judge_seen += s.real && judge_train.count(nn::judge_key_hash(s.key));
      return out;
    };
    const Scored gen = read_scored(samples_path, false);
    const std::size_t N = gen.im.samples.size();
    for (const Sample& s : gen.im.samples)
      if (!s.has_captions)
        fail<InputError>("{}: no caption for key '{}' (of sample '{}' in {})", captions_path, printable_key(s.caption_key),
                         printable_key(s.key), samples_name);
    std::optional<Scored> ref;
    if (!real_path.empty()) ref = read_scored(real_path, true);
    const bool with_real = ref.has_value();

    std::deque<Row> rows;  // references stay valid as rows are added
    std::vector<std::string> notes;
    auto row = [&](const std::string& name) -> Row& {
      for (Row& r : rows)
        if (r.name == name) return r;
      rows.push_back(Row{name, {}, {}, {}, {}, false});
      return rows.back();
    };
    auto put = [&](const std::string& name, bool real, const Split3& v, const KeyedHits* hits = nullptr) {
      Row& r = row(name);
      for (int k = 0; k < 3; ++k) {
        (real ? r.real : r.value)[k] = v.mean(k);
        if (hits) (real ? r.se_real : r.se)[k] = hits->se(k);
      }
    };
    auto subset = [&](const std::vector<Sample>& samples, int s) {
      std::vector<std::size_t> idx;
      for (std::size_t i = 0; i < samples.size(); ++i)
        if (s == 0 || (s == 2) == samples[i].unseen) idx.push_back(i);
      return idx;
    };
    {
      Row& r = row("samples");
      r.integer = true;
      for (int k = 0; k < 3; ++k) r.value[k] = double(subset(gen.im.samples, k).size());
      if (with_real)
        for (int k = 0; k < 3; ++k) r.real[k] = double(subset(ref->im.samples, k).size());
    }

    // Caption keys of classes other than a class (the negatives and the deranged captions).
    std::map<std::string, std::vector<std::size_t>> others_cache;
    auto other_keys = [&](const std::string& cls) -> const std::vector<std::size_t>& {
      auto [it, fresh] = others_cache.try_emplace(cls);
      if (fresh)
        for (std::size_t k = 0; k < keys.size(); ++k)
          if (key_class[k] != cls) it->second.push_back(k);
      return it->second;
    };
    // The images of a set that have captions (all samples; the --real images the captions cover).
    auto captioned = [](const Scored& set) {
      std::vector<std::size_t> idx;
      for (std::size_t i = 0; i < set.im.samples.size(); ++i)
        if (set.im.samples[i].has_captions) idx.push_back(i);
      return idx;
    };
    if (with_real) {
      const std::size_t c = captioned(*ref).size();
      if (c < ref->im.samples.size())
        notes.push_back(fmt::format("real: {} of the {} --real images have captions in {}; only those are caption-scored "
                                    "(r_precision, attribute_accuracy)",
                                    c, ref->im.samples.size(), captions_path));
    }

    // ---- R-precision: like with like. generate is fed the mean caption embedding of a caption key
    // (encode-text --mode mean), so each image's embedding ranks the mean embedding of its own key's
    // captions against the mean embeddings of 99 caption keys of other classes, drawn per image. ----
    if (text) {
      struct Plan {
        std::vector<std::size_t> rows, truth;        // images ranked; their key
        std::vector<std::vector<std::size_t>> neg;  // per image: 99 keys of other classes
      };
      std::set<std::size_t> needed;
      auto plan = [&](const Scored& set, std::uint64_t stream) {
        Plan p;
        for (std::size_t i : captioned(set)) {
          const Sample& s = set.im.samples[i];
          const std::size_t own = key_index.at(s.caption_key);
          const std::vector<std::size_t>& pool = other_keys(key_class[own]);
          if (pool.size() < static_cast<std::size_t>(kNegatives))
            fail<InputError>("{}: {} caption keys are of classes other than '{}' (of sample '{}'); R-precision ranks each "
                             "key against {} keys of other classes (give the captions of more classes, or leave out "
                             "--text-model)",
                             captions_path, pool.size(), key_class[own], printable_key(s.key), kNegatives);
          p.rows.push_back(i);
          p.truth.push_back(own);
          p.neg.push_back(stats::draw_without_replacement(pool, static_cast<std::size_t>(kNegatives), mix(mix(compute.seed, stream), i)));
          needed.insert(own);
          needed.insert(p.neg.back().begin(), p.neg.back().end());
        }
        return p;
      };
      const Plan gen_plan = plan(gen, 0);
      const Plan ref_plan = with_real ? plan(*ref, kRealStream) : Plan{};

      // The mean caption embedding of every key needed, in one pass over their captions.
      const std::vector<std::size_t> todo_keys(needed.begin(), needed.end());
      std::unordered_map<std::size_t, std::size_t> compact;  // key -> row of cand
      std::vector<std::size_t> todo;                          // caption lines
      for (std::size_t k : todo_keys) {
        compact.emplace(k, compact.size());
        todo.insert(todo.end(), key_lines[k].begin(), key_lines[k].end());
      }
      std::vector<double> sums(todo_keys.size() * D, 0.0);
      const nn::i64 A = text::kAlphabetSize, T = text::kMaxLength;
      Progress progress("encoding captions", todo.size());
      for (std::size_t i0 = 0; i0 < todo.size(); i0 += B) {
        const std::size_t m = std::min(B, todo.size() - i0);
        Tensor c(DType::kFloat32, {static_cast<nn::i64>(m), A, T});
        for (std::size_t j = 0; j < m; ++j)
          text::one_hot(text::encode(lines[todo[i0 + j]].caption), c.span<float>().data() + j * std::size_t(A * T));
        const std::vector<float> e = nn::to_vector(*be, text->forward(0, nn::upload(*be, c)));
        for (std::size_t j = 0; j < m; ++j) {
          double* sum = sums.data() + compact.at(key_index.at(lines[todo[i0 + j]].key)) * D;
          for (std::size_t d = 0; d < D; ++d) sum[d] += e[j * D + d];
        }
        progress.add(m);
      }
      progress.finish();
      std::vector<float> cand(sums.size());
      for (std::size_t r = 0; r < todo_keys.size(); ++r)
        for (std::size_t d = 0; d < D; ++d)
          cand[r * D + d] = static_cast<float>(sums[r * D + d] / double(key_lines[todo_keys[r]].size()));

      auto rank = [&](const Scored& set, const Plan& p, bool real) {
        std::vector<float> queries(p.rows.size() * D);
        std::vector<std::size_t> truth(p.rows.size());
        std::vector<std::vector<std::size_t>> neg(p.rows.size());
        for (std::size_t r = 0; r < p.rows.size(); ++r) {
          std::copy_n(set.img_emb.data() + p.rows[r] * D, D, queries.data() + r * D);
          truth[r] = compact.at(p.truth[r]);
          for (std::size_t k : p.neg[r]) neg[r].push_back(compact.at(k));
        }
        const std::vector<double> hits = stats::r_precision_hits(queries, cand, D, truth, neg);
        Split3 v;
        KeyedHits by_key;
        for (std::size_t r = 0; r < p.rows.size(); ++r) {
          v.add(set.im.samples[p.rows[r]].unseen, hits[r]);
          by_key.add(set.im.samples[p.rows[r]].unseen, p.truth[r], hits[r], 1);
        }
        put("r_precision", real, v, &by_key);
      };
      rank(gen, gen_plan, false);
      if (with_real) rank(*ref, ref_plan, true);
      notes.push_back(fmt::format("r_precision: top-1 cosine ({}'s embeddings) of each image to the mean embedding of its "
                                  "caption key's captions (what generate is fed: encode-text --mode mean) among it and "
                                  "the mean embeddings of {} caption keys of other classes drawn per image; a tie is a "
                                  "miss; chance {:.4f}",
                                  text_path, kNegatives, 1.0 / double(kNegatives + 1)));
    } else {
      notes.push_back("r_precision: skipped (no --text-model)");
    }

    // ---- The judge: attribute accuracy (and its chance level), class accuracy, judge-IS, judge-FD. ----
    if (judge) {
      const std::vector<nn::JudgeHead> heads = judge_cfg->heads();
      std::map<std::string, std::pair<std::size_t, int>> where;  // attribute name -> (head, value)
      for (std::size_t h = 1; h < heads.size(); ++h)
        for (std::size_t v = 0; v < heads[h].attributes.size(); ++v)
          if (heads[h].attributes[v] >= 0)
            where[judge_cfg->attributes[static_cast<std::size_t>(heads[h].attributes[v])]] = {h, static_cast<int>(v)};
      const auto& names = birds::attribute_names();
      std::unordered_map<std::size_t, std::vector<int>> mentioned_cache;  // key -> attribute ids its captions mention
      auto mentioned = [&](std::size_t key) -> const std::vector<int>& {
        auto [it, fresh] = mentioned_cache.try_emplace(key);
        if (fresh) {
          std::set<int> ids;
          for (std::size_t l : key_lines[key])
            for (int id : birds::mentioned_attributes(lines[l].caption)) ids.insert(id);
          it->second.assign(ids.begin(), ids.end());
        }
        return it->second;
      };
      std::set<std::string> unknown;
      std::map<std::string, int> class_index;
      for (std::size_t k = 0; k < judge_cfg->classes.size(); ++k) class_index[judge_cfg->classes[k]] = static_cast<int>(k);
      // The judge's argmax on image i against the attributes key's captions mention.
      // by_group: per judge head, the same hits (--by-attribute); null for the chance level.
      // Scores image i's outputs against the attributes key's captions mention, into acc (and
      // by_group); returns its (hits, pairs).
      auto attribute_hits = [&](const Scored& set, std::size_t i, std::size_t key, Split3& acc,
                                std::vector<Split3>* by_group) -> std::pair<double, double> {
        const float* z = set.logits.data() + i * L;
        double hits = 0, pairs = 0;
        for (int id : mentioned(key)) {
          const std::string& name = names[static_cast<std::size_t>(id - 1)];
          auto w = where.find(name);
          if (w == where.end()) {
            unknown.insert(name);
            continue;
          }
          const nn::JudgeHead& h = heads[w->second.first];
          const float* zh = z + h.offset;
          const int best = static_cast<int>(std::max_element(zh, zh + h.size()) - zh);
          const double hit = best == w->second.second ? 1.0 : 0.0;
          acc.add(set.im.samples[i].unseen, hit);
          if (by_group) (*by_group)[w->second.first].add(set.im.samples[i].unseen, hit);
          hits += hit, pairs += 1;
        }
        return {hits, pairs};
      };
      const std::size_t K = judge_cfg->classes.size();
      auto posteriors = [&](const Scored& set, const std::vector<std::size_t>& idx) {
        std::vector<double> p(idx.size() * K);
        for (std::size_t r = 0; r < idx.size(); ++r) {
          const float* z = set.logits.data() + idx[r] * L;
          const double mx = *std::max_element(z, z + K);
          double sum = 0;
          for (std::size_t k = 0; k < K; ++k) sum += p[r * K + k] = std::exp(double(z[k]) - mx);
          for (std::size_t k = 0; k < K; ++k) p[r * K + k] /= sum;
        }
        return p;
      };
      auto judge_set = [&](const Scored& set, bool real, std::uint64_t stream) {
        Split3 attr, chance, cls;
        KeyedHits attr_by_key;
        std::vector<Split3> by_group(heads.size());
        for (std::size_t i : captioned(set)) {
          const Sample& s = set.im.samples[i];
          const std::size_t own = key_index.at(s.caption_key);
          if (const auto [hits, pairs] = attribute_hits(set, i, own, attr, &by_group); pairs > 0)
            attr_by_key.add(s.unseen, own, hits, pairs);
          // The chance level: the same outputs against the captions of a key of another class.
          if (const auto& pool = other_keys(key_class[own]); !pool.empty())
            attribute_hits(set, i, stats::draw_without_replacement(pool, 1, mix(mix(compute.seed, stream ^ kChanceStream), i))[0],
                           chance, nullptr);
        }
        for (std::size_t i = 0; i < set.im.samples.size(); ++i)
          if (auto c = class_index.find(set.im.samples[i].cls); c != class_index.end()) {
            const float* z = set.logits.data() + i * L;
            const int best = static_cast<int>(std::max_element(z, z + heads[0].size()) - z);
            cls.add(set.im.samples[i].unseen, best == c->second ? 1.0 : 0.0);
          }
        put("attribute_accuracy", real, attr, &attr_by_key);
        put("attribute_accuracy_chance", real, chance);
        Row& rp = row("attribute_pairs");
        rp.integer = true;
        for (int k = 0; k < 3; ++k) (real ? rp.real : rp.value)[k] = double(attr.n[k]);
        put("judge_class_accuracy", real, cls);
        if (by_attribute)
          for (std::size_t h = 1; h < heads.size(); ++h) {
            std::string group = heads[h].name;
            if (group.rfind("has_", 0) == 0) group.erase(0, 4);
            put("attr:" + group, real, by_group[h]);
          }
        Row& ri = row("judge_is");
        for (int k = 0; k < 3; ++k) {
          const auto idx = subset(set.im.samples, k);
          if (!idx.empty()) (real ? ri.real : ri.value)[k] = nn::inception_score(posteriors(set, idx), idx.size(), K);
        }
      };
      judge_set(gen, false, 0);
      if (with_real) judge_set(*ref, true, kRealStream);
      notes.push_back(fmt::format("attribute_accuracy: the judge's argmax per attribute group against each attribute the "
                                  "caption key's captions mention ({})", judge_path));
      notes.push_back("attribute_accuracy_chance: the same, against the attributes mentioned by the captions of a caption "
                      "key of another class drawn per image (seeded): what the judge scores when image and caption do not "
                      "match");
      if (!unknown.empty())
        notes.push_back(fmt::format("attribute_accuracy: {} mentioned attributes the judge does not know were left out (e.g. {})",
                                    unknown.size(), *unknown.begin()));
      notes.push_back(fmt::format("judge_is: exp(E KL(p(y|x) || p(y))) over the {} classes of the judge, a classifier trained "
                                  "on the rendered images (not Inception)", K));

      if (with_real) {
        Row& rf = row("judge_fd");
        for (int s = 0; s < 3; ++s) {
          const auto a = subset(gen.im.samples, s), b = subset(ref->im.samples, s);
          if (a.size() < 2 || b.size() < 2) continue;
          auto gather = [&](const std::vector<double>& f, const std::vector<std::size_t>& idx) {
            std::vector<double> x(idx.size() * F);
            for (std::size_t r = 0; r < idx.size(); ++r) std::copy_n(f.data() + idx[r] * F, F, x.data() + r * F);
            return x;
          };
          std::vector<double> m1, c1, m2, c2;
          nn::mean_and_covariance(gather(gen.feats, a), a.size(), F, m1, c1);
          nn::mean_and_covariance(gather(ref->feats, b), b.size(), F, m2, c2);
          rf.value[s] = nn::frechet_distance(m1, c1, m2, c2, F);
        }
        notes.push_back(fmt::format("judge_fd: Frechet distance of the judge's {}-d features to {} ({} images), not Inception's",
                                    F, real_path, ref->im.samples.size()));
      } else {
        notes.push_back("judge_fd: skipped (no --real)");
      }

      // Is the ceiling held out? Real images (--real, or pack-images records among the samples)
      // that were the judge's training images flatter its accuracy.
      if (!judge_knows) {
        notes.push_back(fmt::format("judge: {} records no training images (train.key_hashes); whether real images were "
                                    "judge training images cannot be checked", judge_path));
      } else {
        Row& ro = row("judge_training_images");
        ro.integer = true;
        ro.value[0] = double(gen.judge_seen);
        if (with_real) ro.real[0] = double(ref->judge_seen);
        for (const auto& [set, name] : {std::pair<const Scored*, std::string>{&gen, samples_name},
                                        std::pair<const Scored*, std::string>{with_real ? &*ref : nullptr, real_path}}) {
          if (!set || set->judge_seen == 0) continue;
          log::warn("{}: {} of its {} images were training images of the judge {}: their attribute and class accuracy is "
                    "not a held-out ceiling (use images the judge never saw, e.g. pack-images --split cub-test)",
                    name, set->judge_seen, set->im.samples.size(), judge_path);
          notes.push_back(fmt::format("judge_training_images: {} of the {} images of {} were training images of the judge: "
                                      "NOT a held-out ceiling",
                                      set->judge_seen, set->im.samples.size(), name));
        }
      }
    } else {
      notes.push_back("attribute_accuracy, judge_is, judge_fd: skipped (no --judge)");
    }

    // ---- Diversity: RMS pixel distance between images of the same caption key. ----
    // A set's images by caption key (the samples of one caption; for diversity and the background).
    auto caption_groups = [](const Scored& set) {
      std::map<std::string, std::vector<std::size_t>> groups;
      for (std::size_t i = 0; i < set.im.samples.size(); ++i) groups[set.im.samples[i].caption_key].push_back(i);
      return groups;
    };
    auto diversity = [&](const Scored& set, bool real) {
      const auto groups = caption_groups(set);
      Split3 div;
      for (const auto& [key, idx] : groups) {
        if (idx.size() < 2) continue;
        double sum = 0;
        std::size_t pairs = 0;
        for (std::size_t a = 0; a < idx.size(); ++a)
          for (std::size_t b = a + 1; b < idx.size(); ++b, ++pairs) {
            const std::uint8_t* x = set.im.pixels.data() + idx[a] * kPixels;
            const std::uint8_t* y = set.im.pixels.data() + idx[b] * kPixels;
            std::int64_t d = 0;
            for (std::size_t p = 0; p < kPixels; ++p) d += (int(x[p]) - int(y[p])) * (int(x[p]) - int(y[p]));
            sum += std::sqrt(double(d) / double(kPixels)) / 127.5;  // in [-1, 1] units
          }
        div.add(set.im.samples[idx[0]].unseen, sum / double(pairs));
      }
      put("diversity", real, div);
      return div.n[0] > 0;
    };
    const bool any_div = diversity(gen, false);
    if (with_real) diversity(*ref, true);
    notes.push_back(any_div ? "diversity: mean over caption keys of the mean RMS pixel distance (in [-1,1] units) between "
                              "its samples; near 0 for a collapsed generator"
                            : "diversity: none (no caption key has two samples)");

    // ---- The background the caption fixes: the share of the variance of the images' border colour
    // (the mean RGB of the outer kBorder pixels) that lies between caption keys rather than between
    // one key's samples. The captions do not describe the background: 0 when the noise sets it. ----
    auto background_by_caption = [&](const Scored& set, bool real) {
      const auto groups = caption_groups(set);
      Row& r = row("background_by_caption");
      bool any = false;
      for (int k = 0; k < 3; ++k) {
        std::vector<std::vector<double>> colours;
        for (const auto& [key, idx] : groups) {
          if (idx.size() < 2 || (k != 0 && (k == 2) != set.im.samples[idx[0]].unseen)) continue;
          std::vector<double>& c = colours.emplace_back();
          for (std::size_t i : idx)
            for (int ch = 0; ch < 3; ++ch) c.push_back(border_mean(set.im.pixels.data() + i * kPixels + ch * 64 * 64));
        }
        if (auto v = stats::between_group_share(colours, 3)) {
          (real ? r.real : r.value)[k] = *v;
          any = true;
        }
      }
      return any;
    };
    const bool any_bg = background_by_caption(gen, false);
    if (with_real) background_by_caption(*ref, true);
    notes.push_back(any_bg ? fmt::format("background_by_caption: the share of the variance of the images' border colour (mean "
                                         "RGB of the outer {} pixels) that lies between caption keys (1 - mean within-key "
                                         "variance / variance of all); about 0 when the noise alone sets the background, 1 "
                                         "when the caption fixes it",
                                         kBorder)
                           : "background_by_caption: none (fewer than two caption keys with two or more images, or "
                             "every border colour the same)");

    auto col_name = [](int k, bool real) {
      static const char* names[2][3] = {{"all", "seen", "unseen"}, {"real", "real_seen", "real_unseen"}};
      return std::string(names[real][k]);
    };
    // Samples above the ceiling: a rate of matches the samples reach above the real images' by more
    // than twice the standard error of the difference (KeyedHits) is a warning and a note. With
    // --unseen only seen against seen and unseen against unseen: "all" mixes the two in the sets'
    // own proportions. A generator trained against the model that scores it, or against one like
    // it (an attribute classifier of the same labels), learns cues that model reads more readily
    // than real birds: the figure rises while the pictures get worse (pipelines/paper/README.md,
    // "Tried, not offered: other signals for the small parts").
    if (with_real)
      for (const Row& r : rows) {
        if (r.name != "r_precision" && r.name != "attribute_accuracy") continue;
        for (int k : split ? std::vector<int>{1, 2} : std::vector<int>{0}) {
          if (!r.value[k] || !r.real[k] || !r.se[k] || !r.se_real[k]) continue;
          const double p = *r.value[k], q = *r.real[k];
          const double two_se = 2 * std::sqrt(*r.se[k] * *r.se[k] + *r.se_real[k] * *r.se_real[k]);
          if (!(p - q > two_se)) continue;
          const std::string msg = fmt::format(
              "{}.{} of {} is {:.4f}, above the {:.4f} of {} by more than twice the standard error of the "
              "difference (2 SE = {:.4f}): either those images are no ceiling (not birds, other captions) or the "
              "samples carry cues the scoring model reads more readily than real birds (a generator trained against "
              "it, or against a model like it, learns them); look at the pictures before trusting the figure",
              r.name, col_name(k, false), samples_name, p, q, real_path, two_se);
          log::warn("{}", msg);
          notes.push_back("above_ceiling: " + msg);
        }
      }

    // The table as comments, then the machine-readable lines "<metric>.<column><TAB><value>":
    // columns all, seen, unseen (the samples) and real, real_seen, real_unseen (the --real images).
    std::vector<std::pair<int, bool>> cols;  // (subset, real)
    for (bool real : {false, true}) {
      if (real && !with_real) continue;
      for (int k : split ? std::vector<int>{0, 1, 2} : std::vector<int>{0}) cols.emplace_back(k, real);
    }
    auto cell = [](const Row& r, const std::optional<double>& v) {
      if (!v) return std::string("n/a");
      return r.integer ? fmt::format("{:.0f}", *v) : fmt::format("{:.4f}", *v);
    };
    fmt::print("# eval-images: {} samples of {} caption keys ({}){}\n", N, keys.size(), samples_name,
               split ? fmt::format("; {} of unseen classes ({})", static_cast<std::size_t>(*row("samples").value[2]), unseen_path) : "");
    if (with_real)
      fmt::print("# real: {} real images ({}) scored beside the samples: the ceiling\n", ref->im.samples.size(), real_path);
    for (const std::string& n : notes) fmt::print("# {}\n", n);
    std::string head = fmt::format("# {:<26}", "metric");
    for (const auto& [k, real] : cols) head += fmt::format(" {:>11}", col_name(k, real));
    fmt::print("{}\n", head);
    for (const Row& r : rows) {
      std::string line = fmt::format("# {:<26}", r.name);
      for (const auto& [k, real] : cols) line += fmt::format(" {:>11}", cell(r, real ? r.real[k] : r.value[k]));
      fmt::print("{}\n", line);
    }
    for (const Row& r : rows)
      for (const auto& [k, real] : cols)
        if (const auto& v = real ? r.real[k] : r.value[k]; v) fmt::print("{}.{}\t{}\n", r.name, col_name(k, real), cell(r, v));
    return 0;
  });
}
