// eval-images: does the picture match the sentence, and is it varied and plausible? Scores an
// image stream (generated samples, or real images as the ceiling) against the captions it was
// made from: R-precision with a text model, attribute accuracy, judge-FD and judge-IS with a
// judge (train-judge), and diversity; for seen and unseen classes and for all.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
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
#include "rng.h"
#include "stream.h"
#include "text/charset.h"

namespace {

using namespace t2i;
constexpr std::size_t kPixels = 3 * 64 * 64;
constexpr int kNegatives = 99;

std::string trim(const std::string& s) {
  const auto a = s.find_first_not_of(" \t\r");
  if (a == std::string::npos) return "";
  return s.substr(a, s.find_last_not_of(" \t\r") - a + 1);
}

struct Sample {
  std::string key, caption_key, cls;
  bool unseen = false;
};

// A stream's images as network inputs [n, 3, 64, 64] in [-1, 1]: float32 [3,64,64] records as
// they are (generate's output; the caption key drops the last "/i"), uint8 [3,S,S] with S >= 64
// centre-cropped (pack-images' output; the caption key is the key). The stream is read once, in
// batches handed to `take` (first index, count, the batch on the backend); only the pixels
// quantised to 8 bits stay, for the diversity measure.
struct Images {
  std::vector<Sample> samples;
  std::vector<std::uint8_t> pixels;  // [n, 3, 64, 64]: round((x + 1) * 127.5)
};

using TakeBatch = std::function<void(std::size_t, std::size_t, const nn::Array&)>;

Images read_images(const std::string& path, const std::set<std::string>& unseen, std::size_t batch, nn::Backend& be,
                   const TakeBatch& take) {
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
      if (slash == std::string::npos || slash == 0)
        fail<InputError>("{}: generated sample '{}' has no '/<i>' after its caption key (expected generate's keys)",
                         reader.name(), printable_key(r.key));
      s.caption_key = r.key.substr(0, slash);
      const auto v = r.tensor.span<float>();
      for (std::size_t i = 0; i < kPixels; ++i) {
        if (!std::isfinite(v[i]))
          fail<InputError>("{}: record '{}' holds a non-finite value", reader.name(), printable_key(r.key));
        px[i] = std::clamp(v[i], -1.0f, 1.0f);
      }
    } else if (r.tensor.dtype() == DType::kUInt8 && sh.size() == 3 && sh[0] == 3 && sh[1] == sh[2] && sh[1] >= 64) {
      s.caption_key = r.key;
      const std::int64_t o = (sh[2] - 64) / 2;
      crop_to_floats(r.tensor, 64, o, o, /*flip=*/false, px);
    } else {
      fail<InputError>("{}: record '{}' is {} {}, expected float32 [3,64,64] (generate) or uint8 [3,S,S] with S >= 64 "
                       "(pack-images)",
                       reader.name(), printable_key(r.key), dtype_name(r.tensor.dtype()), shape_text(sh));
    }
    const std::size_t at = out.pixels.size();
    out.pixels.resize(at + kPixels);
    for (std::size_t i = 0; i < kPixels; ++i)
      out.pixels[at + i] = static_cast<std::uint8_t>(std::lround((px[i] + 1.0f) * 127.5f));
    s.cls = class_of(s.key);
    s.unseen = unseen.count(s.cls) > 0;
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

struct Row {
  std::string name;
  std::optional<double> value[3];
};

}  // namespace

int main(int argc, char** argv) {
  t2i::Cli cli({
      .name = "eval-images",
      .purpose = "score images against their captions: R-precision, attribute accuracy, judge-FD, judge-IS, diversity",
      .usage = "eval-images --captions <captions.tsv> [--text-model <text.st>] [--judge <judge.st>] [--real <images.t2i>] "
               "[--unseen <classes.txt>] [<samples.t2i>|-]",
      .example = "encode-text -m text.st < te.tsv | generate -m gan.st -n 4 > samples.t2i\n"
                 "eval-images --captions te.tsv --text-model text.st --judge judge.st --real te.t2i \\\n"
                 "  --unseen data/birds/testclasses.txt samples.t2i",
      .see_also = "train-judge(1), train-text(1), generate(1), eval-text(1), pack-images(1), list-captions(1)",
  });
  std::string captions_path, text_path, judge_path, real_path, unseen_path;
  int batch = 64;
  cli.options().add_options()
      ("captions", po::value(&captions_path), "captions, 'caption-key<TAB>caption' lines: the sentences the samples were made from")
      ("text-model", po::value(&text_path), "text model from train-text: R-precision")
      ("judge", po::value(&judge_path), "judge from train-judge: attribute accuracy, judge-IS (and judge-FD with --real)")
      ("real", po::value(&real_path), "real images (pack-images stream) for judge-FD")
      ("unseen", po::value(&unseen_path), "the unseen (zero-shot) classes, one a line (e.g. testclasses.txt): report seen and unseen apart")
      ("batch", po::value(&batch)->default_value(batch), "images or captions through a network at a time");
  cli.add_compute_options();
  return cli.run(argc, argv, [&] {
    cli.expect_args(0, 1);
    const std::string samples_path = cli.args().empty() ? "-" : cli.args()[0];
    if (captions_path.empty()) fail<UsageError>("--captions is required");
    if (batch < 2 || batch > 4096) fail<UsageError>("--batch {}: expected 2 to 4096", batch);
    if (!real_path.empty() && judge_path.empty()) fail<UsageError>("--real needs --judge (judge-FD uses its features)");
    const auto& compute = cli.compute();
    const auto B = static_cast<std::size_t>(batch);

    // Models first: a wrong file is reported before any long reading.
    std::optional<Checkpoint> text_ck, judge_ck;
    if (!text_path.empty()) text_ck = Checkpoint::load(text_path);
    if (!judge_path.empty()) judge_ck = Checkpoint::load(judge_path);
    std::optional<nn::TextModelConfig> text_cfg;
    std::optional<nn::JudgeConfig> judge_cfg;
    if (text_ck) text_cfg = nn::TextModelConfig::from_checkpoint(*text_ck);
    if (judge_ck) judge_cfg = nn::JudgeConfig::from_checkpoint(*judge_ck);

    std::set<std::string> unseen;
    if (!unseen_path.empty()) {
      for (const std::string& line : read_lines(unseen_path))
        if (auto c = trim(line); !c.empty()) unseen.insert(c);
      if (unseen.empty()) fail<InputError>("{}: no class names", unseen_path);
    }
    const bool split = !unseen.empty();

    const std::vector<CaptionLine> lines = read_caption_lines(captions_path);
    std::unordered_map<std::string, std::vector<std::size_t>> by_key;  // caption key -> lines
    for (std::size_t i = 0; i < lines.size(); ++i) by_key[lines[i].key].push_back(i);

    // The networks, run on each batch of images as the stream is read.
    auto be = nn::make_backend(backend_name(compute.backend));
    std::unique_ptr<nn::TextEncoder> text;
    std::unique_ptr<nn::ImageEncoder> image;
    std::unique_ptr<nn::Judge> judge;
    std::size_t D = 0, L = 0, F = 0;
    if (text_cfg) {
      text = std::make_unique<nn::TextEncoder>(text_cfg->text);
      image = std::make_unique<nn::ImageEncoder>(text_cfg->image);
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
    std::vector<float> img_emb;    // [N, D] image embeddings of the text model
    std::vector<float> logits;     // [N, L] judge logits
    std::vector<double> feats;     // [N, F] judge features
    auto run_judge = [&](std::size_t i0, std::size_t m, const nn::Array& x, std::vector<float>& z_out,
                         std::vector<double>& f_out) {
      const std::vector<float> z = nn::to_vector(*be, judge->forward(0, x, /*training=*/false));
      const std::vector<float> f = nn::to_vector(*be, judge->features(0));
      z_out.resize((i0 + m) * L);
      f_out.resize((i0 + m) * F);
      std::copy_n(z.data(), m * L, z_out.data() + i0 * L);
      std::copy(f.begin(), f.begin() + long(m * F), f_out.begin() + long(i0 * F));
    };
    const Images im = read_images(samples_path, unseen, B, *be, [&](std::size_t i0, std::size_t m, const nn::Array& x) {
      if (image) {
        const std::vector<float> e = nn::to_vector(*be, image->forward(0, x, /*training=*/false));
        img_emb.resize((i0 + m) * D);
        std::copy_n(e.data(), m * D, img_emb.data() + i0 * D);
      }
      if (judge) run_judge(i0, m, x, logits, feats);
    });
    const std::size_t N = im.samples.size();
    for (const Sample& s : im.samples)
      if (!by_key.count(s.caption_key))
        fail<InputError>("{}: no caption for key '{}' (of sample '{}' in {})", captions_path, printable_key(s.caption_key),
                         printable_key(s.key), samples_path == "-" ? "stdin" : samples_path);
    std::size_t n_unseen = 0;
    for (const Sample& s : im.samples) n_unseen += s.unseen;

    std::vector<Row> rows;
    std::vector<std::string> notes;

    // ---- R-precision: the true caption among 1 + 99 captions of other classes, by cosine. ----
    if (text) {
      // Candidates: per sample its key's captions (their mean embedding) and 99 lines of other classes.
      std::vector<std::vector<std::size_t>> negatives(N);
      std::set<std::size_t> needed;
      std::size_t fewest = kNegatives;
      std::map<std::string, std::vector<std::size_t>> others_cache;  // class -> lines of other classes
      for (std::size_t i = 0; i < N; ++i) {
        const Sample& s = im.samples[i];
        for (std::size_t l : by_key.at(s.caption_key)) needed.insert(l);
        auto [it, fresh] = others_cache.try_emplace(s.cls);
        if (fresh)
          for (std::size_t l = 0; l < lines.size(); ++l)
            if (class_of(lines[l].key) != s.cls) it->second.push_back(l);
        const std::vector<std::size_t>& pool = it->second;
        Rng rng(mix(compute.seed, i));
        const std::size_t k = std::min<std::size_t>(kNegatives, pool.size());
        if (pool.size() > 4 * k) {  // draw without replacement by rejection
          std::set<std::size_t> drawn;
          while (drawn.size() < k)
            if (const std::size_t l = pool[static_cast<std::size_t>(rng.below(static_cast<int>(pool.size())))]; drawn.insert(l).second)
              negatives[i].push_back(l);
        } else {  // a partial shuffle of a copy
          std::vector<std::size_t> p = pool;
          for (std::size_t j = 0; j < k; ++j) {
            std::swap(p[j], p[j + static_cast<std::size_t>(rng.below(static_cast<int>(p.size() - j)))]);
            negatives[i].push_back(p[j]);
          }
        }
        needed.insert(negatives[i].begin(), negatives[i].end());
        fewest = std::min(fewest, k);
      }
      std::unordered_map<std::size_t, std::vector<double>> emb;
      const std::vector<std::size_t> todo(needed.begin(), needed.end());
      const nn::i64 A = text::kAlphabetSize, T = text::kMaxLength;
      Progress progress("encoding captions", todo.size());
      for (std::size_t i0 = 0; i0 < todo.size(); i0 += B) {
        const std::size_t m = std::min(B, todo.size() - i0);
        Tensor c(DType::kFloat32, {static_cast<nn::i64>(m), A, T});
        for (std::size_t j = 0; j < m; ++j)
          text::one_hot(text::encode(lines[todo[i0 + j]].caption), c.span<float>().data() + j * std::size_t(A * T));
        const std::vector<float> e = nn::to_vector(*be, text->forward(0, nn::upload(*be, c)));
        for (std::size_t j = 0; j < m; ++j) emb[todo[i0 + j]].assign(e.begin() + long(j * D), e.begin() + long((j + 1) * D));
        progress.add(m);
      }
      progress.finish();
      auto cosine = [&](const float* a, const std::vector<double>& b) {
        double dot = 0, na = 0, nb = 0;
        for (std::size_t d = 0; d < D; ++d) dot += a[d] * b[d], na += double(a[d]) * a[d], nb += b[d] * b[d];
        return dot / std::max(std::sqrt(na * nb), 1e-30);
      };
      Split3 hits;
      for (std::size_t i = 0; i < N; ++i) {
        const Sample& s = im.samples[i];
        std::vector<double> truth(D, 0.0);
        const auto& own = by_key.at(s.caption_key);
        for (std::size_t l : own)
          for (std::size_t d = 0; d < D; ++d) truth[d] += emb.at(l)[d] / double(own.size());
        const double t = cosine(img_emb.data() + i * D, truth);
        bool top = true;
        for (std::size_t l : negatives[i]) top = top && t > cosine(img_emb.data() + i * D, emb.at(l));
        hits.add(s.unseen, top ? 1.0 : 0.0);
      }
      Row r{"r_precision", {}};
      for (int k = 0; k < 3; ++k) r.value[k] = hits.mean(k);
      rows.push_back(r);
      notes.push_back(fmt::format("r_precision: top-1 of the true caption among 1 + {} captions of other classes (chance {:.4f}), "
                                  "cosine of {}'s embeddings",
                                  fewest, 1.0 / double(fewest + 1), text_path));
    } else {
      notes.push_back("r_precision: skipped (no --text-model)");
    }

    // ---- The judge: attribute accuracy, class accuracy, judge-IS, judge-FD. ----
    if (judge) {
      const std::vector<nn::JudgeHead> heads = judge_cfg->heads();

      // Attribute accuracy over the (sample, mentioned attribute) pairs the judge knows.
      std::map<std::string, std::pair<std::size_t, int>> where;  // attribute name -> (head, value)
      for (std::size_t h = 1; h < heads.size(); ++h)
        for (std::size_t v = 0; v < heads[h].attributes.size(); ++v)
          if (heads[h].attributes[v] >= 0)
            where[judge_cfg->attributes[static_cast<std::size_t>(heads[h].attributes[v])]] = {h, static_cast<int>(v)};
      const auto& names = birds::attribute_names();
      std::unordered_map<std::string, std::vector<int>> mentioned;
      std::set<std::string> unknown;
      Split3 attr, cls;
      std::map<std::string, int> class_index;
      for (std::size_t k = 0; k < judge_cfg->classes.size(); ++k) class_index[judge_cfg->classes[k]] = static_cast<int>(k);
      for (std::size_t i = 0; i < N; ++i) {
        const Sample& s = im.samples[i];
        auto [it, fresh] = mentioned.try_emplace(s.caption_key);
        if (fresh) {
          std::set<int> ids;
          for (std::size_t l : by_key.at(s.caption_key))
            for (int id : birds::mentioned_attributes(lines[l].caption)) ids.insert(id);
          it->second.assign(ids.begin(), ids.end());
        }
        const float* z = logits.data() + i * L;
        for (int id : it->second) {
          const std::string& name = names[static_cast<std::size_t>(id - 1)];
          auto w = where.find(name);
          if (w == where.end()) {
            unknown.insert(name);
            continue;
          }
          const nn::JudgeHead& h = heads[w->second.first];
          const float* zh = z + h.offset;
          const int best = static_cast<int>(std::max_element(zh, zh + h.size()) - zh);
          attr.add(s.unseen, best == w->second.second ? 1.0 : 0.0);
        }
        if (auto c = class_index.find(s.cls); c != class_index.end()) {
          const int best = static_cast<int>(std::max_element(z, z + heads[0].size()) - z);
          cls.add(s.unseen, best == c->second ? 1.0 : 0.0);
        }
      }
      Row ra{"attribute_accuracy", {}}, rp{"attribute_pairs", {}}, rc{"judge_class_accuracy", {}};
      for (int k = 0; k < 3; ++k) {
        ra.value[k] = attr.mean(k);
        rp.value[k] = double(attr.n[k]);
        rc.value[k] = cls.mean(k);
      }
      rows.push_back(ra);
      rows.push_back(rp);
      rows.push_back(rc);
      notes.push_back(fmt::format("attribute_accuracy: the judge's argmax per attribute group against each attribute the "
                                  "caption mentions ({})", judge_path));
      if (!unknown.empty())
        notes.push_back(fmt::format("attribute_accuracy: {} mentioned attributes the judge does not know were left out (e.g. {})",
                                    unknown.size(), *unknown.begin()));

      // judge-IS from the class posteriors.
      const std::size_t K = judge_cfg->classes.size();
      auto posteriors = [&](const std::vector<std::size_t>& idx) {
        std::vector<double> p(idx.size() * K);
        for (std::size_t r = 0; r < idx.size(); ++r) {
          const float* z = logits.data() + idx[r] * L;
          const double mx = *std::max_element(z, z + K);
          double sum = 0;
          for (std::size_t k = 0; k < K; ++k) sum += p[r * K + k] = std::exp(double(z[k]) - mx);
          for (std::size_t k = 0; k < K; ++k) p[r * K + k] /= sum;
        }
        return p;
      };
      auto subset = [&](const std::vector<Sample>& samples, int s) {
        std::vector<std::size_t> idx;
        for (std::size_t i = 0; i < samples.size(); ++i)
          if (s == 0 || (s == 2) == samples[i].unseen) idx.push_back(i);
        return idx;
      };
      Row ri{"judge_is", {}};
      for (int s = 0; s < 3; ++s) {
        const auto idx = subset(im.samples, s);
        if (!idx.empty()) ri.value[s] = nn::inception_score(posteriors(idx), idx.size(), K);
      }
      rows.push_back(ri);
      notes.push_back(fmt::format("judge_is: exp(E KL(p(y|x) || p(y))) over the {} classes of the judge, a classifier trained "
                                  "on the rendered images (not Inception)", K));

      if (!real_path.empty()) {
        std::vector<float> rlogits;
        std::vector<double> rfeats;
        const Images real = read_images(real_path, unseen, B, *be, [&](std::size_t i0, std::size_t m, const nn::Array& x) {
          run_judge(i0, m, x, rlogits, rfeats);
        });
        Row rf{"judge_fd", {}};
        for (int s = 0; s < 3; ++s) {
          const auto a = subset(im.samples, s), b = subset(real.samples, s);
          if (a.size() < 2 || b.size() < 2) continue;
          auto gather = [&](const std::vector<double>& f, const std::vector<std::size_t>& idx) {
            std::vector<double> x(idx.size() * F);
            for (std::size_t r = 0; r < idx.size(); ++r) std::copy_n(f.data() + idx[r] * F, F, x.data() + r * F);
            return x;
          };
          std::vector<double> m1, c1, m2, c2;
          nn::mean_and_covariance(gather(feats, a), a.size(), F, m1, c1);
          nn::mean_and_covariance(gather(rfeats, b), b.size(), F, m2, c2);
          rf.value[s] = nn::frechet_distance(m1, c1, m2, c2, F);
        }
        rows.push_back(rf);
        notes.push_back(fmt::format("judge_fd: Frechet distance of the judge's {}-d features to {} ({} images), not Inception's",
                                    F, real_path, real.samples.size()));
      } else {
        notes.push_back("judge_fd: skipped (no --real)");
      }
    } else {
      notes.push_back("attribute_accuracy, judge_is, judge_fd: skipped (no --judge)");
    }

    // ---- Diversity: RMS pixel distance between samples of the same caption key. ----
    {
      std::map<std::string, std::vector<std::size_t>> groups;
      for (std::size_t i = 0; i < N; ++i) groups[im.samples[i].caption_key].push_back(i);
      Split3 div;
      for (const auto& [key, idx] : groups) {
        if (idx.size() < 2) continue;
        double sum = 0;
        std::size_t pairs = 0;
        for (std::size_t a = 0; a < idx.size(); ++a)
          for (std::size_t b = a + 1; b < idx.size(); ++b, ++pairs) {
            const std::uint8_t* x = im.pixels.data() + idx[a] * kPixels;
            const std::uint8_t* y = im.pixels.data() + idx[b] * kPixels;
            std::int64_t d = 0;
            for (std::size_t p = 0; p < kPixels; ++p) d += (int(x[p]) - int(y[p])) * (int(x[p]) - int(y[p]));
            sum += std::sqrt(double(d) / double(kPixels)) / 127.5;  // in [-1, 1] units
          }
        div.add(im.samples[idx[0]].unseen, sum / double(pairs));
      }
      Row r{"diversity", {}};
      for (int k = 0; k < 3; ++k) r.value[k] = div.mean(k);
      rows.push_back(r);
      notes.push_back(div.n[0] ? "diversity: mean over caption keys of the mean RMS pixel distance (in [-1,1] units) between "
                                 "its samples; near 0 for a collapsed generator"
                               : "diversity: none (no caption key has two samples)");
    }

    Row count{"samples", {double(N), double(N - n_unseen), double(n_unseen)}};
    rows.insert(rows.begin(), count);

    // The table as comments, then the machine-readable lines "<metric>.<subset><TAB><value>".
    const std::vector<int> cols = split ? std::vector<int>{0, 1, 2} : std::vector<int>{0};
    const char* col_name[3] = {"all", "seen", "unseen"};
    auto cell = [](const std::optional<double>& v) { return v ? fmt::format("{:.4f}", *v) : std::string("n/a"); };
    fmt::print("# eval-images: {} samples of {} caption keys ({}){}\n", N, by_key.size(), samples_path == "-" ? "stdin" : samples_path,
               split ? fmt::format("; {} of unseen classes ({})", n_unseen, unseen_path) : "");
    for (const std::string& n : notes) fmt::print("# {}\n", n);
    std::string head = fmt::format("# {:<22}", "metric");
    for (int c : cols) head += fmt::format(" {:>10}", col_name[c]);
    fmt::print("{}\n", head);
    for (const Row& r : rows) {
      std::string line = fmt::format("# {:<22}", r.name);
      for (int c : cols) line += fmt::format(" {:>10}", r.name == "samples" || r.name == "attribute_pairs"
                                                             ? (r.value[c] ? fmt::format("{:.0f}", *r.value[c]) : "n/a")
                                                             : cell(r.value[c]));
      fmt::print("{}\n", line);
    }
    for (const Row& r : rows)
      for (int c : cols)
        if (r.value[c]) {
          if (r.name == "samples" || r.name == "attribute_pairs") fmt::print("{}.{}\t{:.0f}\n", r.name, col_name[c], *r.value[c]);
          else fmt::print("{}.{}\t{:.4f}\n", r.name, col_name[c], *r.value[c]);
        }
    return 0;
  });
}
