// train-gan: train the text-conditional DCGAN (PAPER.md sections 4 and 5) in one of the paper's
// four variants, GAN, GAN-CLS, GAN-INT, GAN-INT-CLS, on an image stream from pack-images and
// per-caption text embeddings from encode-text --mode each.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "captions.h"
#include "checkpoint.h"
#include "cli.h"
#include "error.h"
#include "file.h"
#include "image.h"
#include "log.h"
#include "npy.h"
#include "nn/gan.h"
#include "nn/gan_checkpoint.h"
#include "nn/gan_step.h"
#include "progress.h"
#include "rng.h"
#include "stop_signal.h"
#include "stream.h"

namespace {

using namespace t2i;

// ---- data ------------------------------------------------------------------------------------
struct ImageEntry {
  std::string key;
  int cls = 0;                     // index into Data::classes
  std::vector<std::size_t> embs;   // rows of Data::emb
};

struct Data {
  std::vector<ImageEntry> images;  // in image stream order, those with embeddings
  std::vector<std::string> classes;
  std::vector<std::vector<std::size_t>> by_class;  // indices into images
  std::vector<float> emb;                          // rows of emb_dim
  std::int64_t emb_dim = 0;
  std::size_t captions = 0;
};

Data read_data(KeyedReader& images, const std::string& emb_path) {
  Data d;
  std::vector<std::vector<std::size_t>> embs_of(images.size());
  std::size_t unknown = 0;
  {
    std::unordered_map<std::string, std::size_t> pos;
    for (std::size_t i = 0; i < images.keys().size(); ++i) pos.emplace(images.keys()[i], i);
    StreamReader reader(emb_path);
    Record r;
    while (reader.next(&r)) {
      const Shape& sh = r.tensor.shape();
      if (r.tensor.dtype() != DType::kFloat32 || sh.size() != 1 || sh[0] < 1)
        fail<InputError>("{}: record '{}' is not float32 [emb_dim] (expected encode-text output)", reader.name(),
                         printable_key(r.key));
      if (sh[0] > 65536)
        fail<InputError>("{}: record '{}' has {} values; expected an embedding of at most 65536", reader.name(),
                         printable_key(r.key), sh[0]);
      if (d.emb_dim == 0) d.emb_dim = sh[0];
      if (sh[0] != d.emb_dim)
        fail<InputError>("{}: record '{}' has {} values; expected {} like the first record", reader.name(),
                         printable_key(r.key), sh[0], d.emb_dim);
      // encode-text --mode each keys captions "<image-key>/<index>"; --mode mean keys images.
      auto it = pos.find(r.key);
      if (it == pos.end()) {
        const auto slash = r.key.rfind('/');
        if (slash != std::string::npos) it = pos.find(r.key.substr(0, slash));
      }
      if (it == pos.end()) {
        ++unknown;
        continue;
      }
      auto v = r.tensor.span<float>();
      for (float x : v)
        if (!std::isfinite(x))
          fail<InputError>("{}: record '{}' holds a non-finite value", reader.name(), printable_key(r.key));
      embs_of[it->second].push_back(d.emb.size() / static_cast<std::size_t>(d.emb_dim));
      d.emb.insert(d.emb.end(), v.begin(), v.end());
      ++d.captions;
    }
  }
  std::map<std::string, std::vector<std::size_t>> by_class;
  std::size_t without = 0;
  for (std::size_t i = 0; i < images.keys().size(); ++i) {
    if (embs_of[i].empty()) {
      ++without;
      continue;
    }
    by_class[class_of(images.keys()[i])].push_back(d.images.size());
    d.images.push_back({images.keys()[i], 0, std::move(embs_of[i])});
  }
  if (d.images.empty())
    fail<InputError>("{}: no image of {} has an embedding (expected keys <image-key>/<i> from encode-text --mode each)",
                     emb_path, images.name());
  if (unknown > 0) log::warn("{}: ignored {} embeddings of images not in {}", emb_path, unknown, images.name());
  if (without > 0) log::warn("{}: {} images have no embedding in {} and are not used", images.name(), without, emb_path);
  for (auto& [c, v] : by_class) {
    for (std::size_t i : v) d.images[i].cls = static_cast<int>(d.classes.size());
    d.classes.push_back(c);
    d.by_class.push_back(std::move(v));
  }
  return d;
}

// From the record's header, without reading its data.
void check_image(KeyedReader& images, const std::string& key, std::int64_t crop) {
  const npy::Header& hd = images.header(key);
  const Shape& sh = hd.shape;
  if (hd.dtype != DType::kUInt8 || sh.size() != 3 || sh[0] != 3 || sh[1] != sh[2] || sh[1] < crop)
    fail<InputError>("{}: record '{}' is not uint8 [3,S,S] with S >= {} (use pack-images --size 76)", images.name(),
                     printable_key(key), crop);
}

// The mean of k of an image's caption embeddings, drawn without replacement (all if fewer).
void sample_embedding(const Data& d, const ImageEntry& im, int k, Rng& rng, float* out) {
  std::vector<std::size_t> pool = im.embs;
  const std::size_t take = std::min<std::size_t>(static_cast<std::size_t>(k), pool.size());
  const std::size_t e = static_cast<std::size_t>(d.emb_dim);
  std::vector<double> sum(e, 0.0);
  for (std::size_t i = 0; i < take; ++i) {
    std::swap(pool[i], pool[i + static_cast<std::size_t>(rng.below(static_cast<int>(pool.size() - i)))]);
    const float* row = d.emb.data() + pool[i] * e;
    for (std::size_t j = 0; j < e; ++j) sum[j] += row[j];
  }
  for (std::size_t j = 0; j < e; ++j) out[j] = static_cast<float>(sum[j] / double(take));
}

// For each class, the k other classes whose mean caption embedding (the rows as training uses
// them) is nearest by cosine, nearest first; ties go to the lower class index. The mean of a
// class is over every caption row of its images, in double precision, so a resumed run finds
// the same lists.
std::vector<std::vector<int>> nearest_classes(const Data& d, int k) {
  const std::size_t nc = d.classes.size(), e = static_cast<std::size_t>(d.emb_dim);
  std::vector<double> mean(nc * e, 0.0);
  for (std::size_t c = 0; c < nc; ++c) {
    double* m = mean.data() + c * e;
    for (std::size_t i : d.by_class[c])
      for (std::size_t r : d.images[i].embs) {
        const float* row = d.emb.data() + r * e;
        for (std::size_t j = 0; j < e; ++j) m[j] += row[j];
      }
    double norm = 0;
    for (std::size_t j = 0; j < e; ++j) norm += m[j] * m[j];
    norm = std::sqrt(norm);
    for (std::size_t j = 0; j < e; ++j) m[j] = norm > 0 ? m[j] / norm : 0.0;
  }
  std::vector<std::vector<int>> out(nc);
  std::vector<std::pair<double, int>> sims;
  for (std::size_t a = 0; a < nc; ++a) {
    sims.clear();
    for (std::size_t b = 0; b < nc; ++b) {
      if (b == a) continue;
      double s = 0;
      for (std::size_t j = 0; j < e; ++j) s += mean[a * e + j] * mean[b * e + j];
      sims.emplace_back(-s, static_cast<int>(b));
    }
    std::partial_sort(sims.begin(), sims.begin() + k, sims.end());
    for (int i = 0; i < k; ++i) out[a].push_back(sims[static_cast<std::size_t>(i)].second);
  }
  return out;
}

// An image of another class than cls: of any other class, or (near given, --wrong-near) of one
// of cls's nearest classes.
const ImageEntry& other_class_image(const Data& d, int cls, const std::vector<std::vector<int>>* near, Rng& rng) {
  int c;
  if (near) {
    const std::vector<int>& v = (*near)[static_cast<std::size_t>(cls)];
    c = v[static_cast<std::size_t>(rng.below(static_cast<int>(v.size())))];
  } else {
    c = rng.below(static_cast<int>(d.classes.size()) - 1);
    if (c >= cls) ++c;
  }
  const auto& v = d.by_class[static_cast<std::size_t>(c)];
  return d.images[v[static_cast<std::size_t>(rng.below(static_cast<int>(v.size())))]];
}

double mean_sigmoid(nn::Backend& be, const nn::Array& logits) {
  if (logits.empty()) return std::nan("");
  std::vector<float> v = nn::to_vector(be, logits);
  double s = 0;
  for (float x : v) s += 1.0 / (1.0 + std::exp(-double(x)));
  return s / double(v.size());
}

std::string score_text(double s) { return std::isnan(s) ? "NA" : fmt::format("{:.6f}", s); }

// Seeds of the run's random streams: one per epoch (the image order) and one per minibatch
// (crops, flips, caption choice, wrong samples, noise), so a run resumes anywhere exactly.
constexpr std::uint64_t kEpochStream = 0x65706f6368ull, kBatchStream = 0x6261746368ull, kSampleStream = 0x73616d706cull;

// --augment: DiffAugment's translation (up to 1/8 of the side) and cutout (a square of 1/2 of it).
constexpr int kAugShift = 8, kAugCut = 32;
struct Augment {
  bool valid = true, translation = false, cutout = false;
  std::string text() const {
    return translation && cutout ? "translation,cutout" : translation ? "translation" : cutout ? "cutout" : "none";
  }
};
Augment parse_augment(const std::string& spec) {
  Augment a;
  if (spec == "none") return a;
  std::size_t start = 0;
  while (a.valid) {
    const std::size_t comma = spec.find(',', start);
    const std::string item = spec.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (item == "translation" && !a.translation) a.translation = true;
    else if (item == "cutout" && !a.cutout) a.cutout = true;
    else a.valid = false;
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return a;
}

}  // namespace

int main(int argc, char** argv) {
  t2i::Cli cli({
      .name = "train-gan",
      .purpose = "train the text-conditional DCGAN (GAN, GAN-CLS, GAN-INT, GAN-INT-CLS; Reed et al. ICML 2016)",
      .usage = "train-gan --images <images.t2i> --embeddings <emb.t2i> -o <gan.st> [options]",
      .example = "pack-images data/birds --split trainval --size 76 > tr.t2i\n"
                 "list-captions data/birds --split trainval | encode-text -m text.st --mode each > tr-emb.t2i\n"
                 "train-gan --images tr.t2i --embeddings tr-emb.t2i -o gan.st --variant int-cls",
      .see_also = "generate(1), interpolate(1), encode-text(1), pack-images(1), train-text(1)",
  });
  std::string images_path, emb_path, out_path, variant_text = "int-cls", wrong = "image", arch_text = "plain",
                                               samples_png, log_path, emb_norm_text = "standardize", augment_text = "none", ms_image = "blocks";
  int epochs = 600, batch = 64, checkpoint_every = 10, lr_halve_every = 100, captions_per_image = 4, crop = 64,
      samples_every = 0, ms_pool = 1, wrong_near = 0;
  long ngf = 128, ndf = 64, z_dim = 100, proj_dim = 128;
  double lr = 2e-4, beta1 = 0.5, cls_weight = 0.5, interp_weight = 1.0, interp_beta = 0.5, ms_weight = 1.0, g_ema = 0.0,
         g_ema_rampup = 0.0, text_weight = 0.0;
  bool resume = false, no_flip = false, g_text_shift = false;
  cli.options().add_options()
      ("images", po::value(&images_path), "image stream from pack-images: uint8 [3,S,S] records, S >= --crop, keyed class/name")
      ("embeddings", po::value(&emb_path), "caption embeddings from encode-text --mode each: float32 [emb_dim] keyed <image-key>/<i> (records keyed by the image itself count as one caption)")
      ("output,o", po::value(&out_path), "the GAN checkpoint to write (safetensors, with Adam states)")
      ("variant", po::value(&variant_text)->default_value(variant_text), "gan, cls (matching-aware D), int (manifold interpolation) or int-cls")
      ("wrong", po::value(&wrong)->default_value(wrong), "the cls variants' mismatching pair: image (a real image of another class with the right text, the authors' code) or text (the real image with another class's text, Algorithm 1)")
      ("wrong-near", po::value(&wrong_near)->default_value(wrong_near), "draw the cls variants' wrong pair from the K classes nearest the right one (cosine of the classes' mean caption embeddings, as training sees them; not in the paper): hard negatives, so that D must match more of the caption than its most visible colour, and G with it; 0: from any other class (the paper)")
      ("arch", po::value(&arch_text)->default_value(arch_text), "plain (the paper's nets) or v2 (the authors' deeper nets)")
      ("ngf", po::value(&ngf)->default_value(ngf), "generator width")
      ("ndf", po::value(&ndf)->default_value(ndf), "discriminator width")
      ("z-dim", po::value(&z_dim)->default_value(z_dim), "noise dimension")
      ("proj-dim", po::value(&proj_dim)->default_value(proj_dim), "text projection dimension")
      ("batch", po::value(&batch)->default_value(batch), "images per minibatch (the interpolation variants add batch/2)")
      ("epochs", po::value(&epochs)->default_value(epochs), "epochs to train in all (an epoch: images / batch minibatches)")
      ("lr", po::value(&lr)->default_value(lr, "2e-4"), "Adam's learning rate, both nets")
      ("lr-halve-every", po::value(&lr_halve_every)->default_value(lr_halve_every), "halve the learning rate every N epochs; 0: never")
      ("beta1", po::value(&beta1)->default_value(beta1), "Adam's beta1")
      ("cls-weight", po::value(&cls_weight)->default_value(cls_weight), "weight of the wrong pair in D's loss (the fake's is 1 - it); cls variants only")
      ("interp-weight", po::value(&interp_weight)->default_value(interp_weight), "weight of the interpolated half batch in G's loss; int variants only")
      ("interp-beta", po::value(&interp_beta)->default_value(interp_beta), "interpolation beta: beta h_i + (1 - beta) h_{i+N/2}")
      ("ms-weight", po::value(&ms_weight)->default_value(ms_weight), "weight of the mode-seeking term (Mao et al. 2019, not in the paper): G also draws a second sample per text with other noise and pays ms-weight / (r + 1e-5), r = mean|G(z1,h) - G(z2,h)| / mean|z1 - z2|, so that the noise carries style; 0: off (the paper)")
      ("ms-image", po::value(&ms_image)->default_value(ms_image), "what the mode-seeking term's image distance compares: blocks (the --ms-pool block means) or edges (the differences between horizontally adjacent block means: a change of flat or top-to-bottom background colour is free, so samples pay for a layout, the subject's place and facing, that does not move with the noise)")
      ("ms-pool", po::value(&ms_pool)->default_value(ms_pool), "the mode-seeking term's image distance on the means of P x P pixel blocks (P divides 64): samples pay for coarse content (layout, colours) that does not move with the noise, not for pixel noise; 1: on the pixels, as MSGAN")
      ("augment", po::value(&augment_text)->default_value(augment_text), "DiffAugment (Zhao et al. 2020, not in the paper) of every image D sees, real and generated, with the gradient through it: translation (shifts up to 8 pixels, zero fill), cutout (a 32 x 32 square zeroed) or translation,cutout; none: D sees the images as they are (the paper)")
      ("g-ema", po::value(&g_ema)->default_value(g_ema), "keep a running average of the generator's weights and batch-norm statistics (Yazici et al. 2019, not in the paper): after every generator update avg = d avg + (1 - d) G, d = min(DECAY, (1 + t) / (10 + t)) at update t; the checkpoint's generator, which generate, invert-style and export-model run, is the average, and the samples grid shows it; e.g. 0.999; 0: off (the paper)")
      ("g-ema-rampup", po::value(&g_ema_rampup)->default_value(g_ema_rampup), "with --g-ema, how far back the average reaches while the run is young: d = min(DECAY, 0.5^(1 / (R t))), a half-life of at most R times the updates so far (Karras et al. 2022's ramp-up ratio), e.g. 0.25: the last quarter of the run weighs most; 0: the warm-up (1 + t) / (10 + t) above, a half-life of about 0.077 t")
      ("text-head", po::value(&text_weight)->default_value(text_weight), "give D a text head (not in the paper): a linear map from its pooled 4 x 4 features to the caption embedding, trained on the real images with weight W times the mean squared error to their captions' embedding; G pays W times the same error on its samples, so that every part the embedding describes is asked of every sample, not only what tells a mismatched pair apart; e.g. 1; 0: none (the paper)")
      ("g-text-shift", po::bool_switch(&g_text_shift), "give G text shifts (not in the paper): before each of its 8 x 8, 16 x 16 and 32 x 32 batch norms G adds a per-channel shift, a linear map of its text projection, at every position, so that the caption reaches every scale of the drawing and not only the 4 x 4 input (it then also sets part of the background); off: the paper's generator (fixed at the start: --resume keeps the checkpoint's)")
      ("embedding-norm", po::value(&emb_norm_text)->default_value(emb_norm_text), "standardize: centre the embeddings and scale them to unit RMS (measured on the training captions, stored in the checkpoint, applied by generate and invert-style); none: as encode-text wrote them (the paper)")
      ("captions-per-image", po::value(&captions_per_image)->default_value(captions_per_image), "average this many of an image's caption embeddings, drawn anew each time")
      ("crop", po::value(&crop)->default_value(crop), "random crop side taken from the S x S images (resized to 64 if not 64)")
      ("no-flip", po::bool_switch(&no_flip), "no random horizontal flips")
      ("checkpoint-every", po::value(&checkpoint_every)->default_value(checkpoint_every), "save the checkpoint every N epochs (and at the end)")
      ("samples-every", po::value(&samples_every)->default_value(samples_every), "write a grid of samples every N epochs (and at the end); 0: never")
      ("samples-png", po::value(&samples_png), "the samples' PNG (default <output>.samples.png); a directory (or a path ending in /) gets epoch-NNNN.png files")
      ("log", po::value(&log_path), "TSV of every minibatch's losses and mean D scores (appended to on --resume)")
      ("resume", po::bool_switch(&resume), "continue the training saved in -o's checkpoint, exactly, with its settings (an option given with another value is ignored, with a warning)");
  cli.add_compute_options();
  return cli.run(argc, argv, [&] {
    cli.expect_args(0, 0);
    if (images_path.empty() || emb_path.empty() || out_path.empty())
      fail<UsageError>("--images, --embeddings and -o are required");
    if (epochs < 1) fail<UsageError>("--epochs {}: expected at least 1", epochs);
    if (batch < 2 || batch > 4096) fail<UsageError>("--batch {}: expected 2 to 4096", batch);
    if (!(lr > 0)) fail<UsageError>("--lr {}: expected a positive number", lr);
    if (!(beta1 >= 0 && beta1 < 1)) fail<UsageError>("--beta1 {}: expected a number in [0, 1)", beta1);
    if (lr_halve_every < 0) fail<UsageError>("--lr-halve-every {}: expected 0 or more (0: never)", lr_halve_every);
    if (!(cls_weight >= 0 && cls_weight <= 1)) fail<UsageError>("--cls-weight {}: expected a number in [0, 1]", cls_weight);
    if (!(interp_weight >= 0 && interp_weight <= 1e3)) fail<UsageError>("--interp-weight {}: expected a number in [0, 1000]", interp_weight);
    if (!(interp_beta >= 0 && interp_beta <= 1)) fail<UsageError>("--interp-beta {}: expected a number in [0, 1]", interp_beta);
    if (!(ms_weight >= 0 && ms_weight <= 1e3)) fail<UsageError>("--ms-weight {}: expected a number in [0, 1000]", ms_weight);
    if (!(g_ema >= 0 && g_ema < 1)) fail<UsageError>("--g-ema {}: expected a number in [0, 1) (0: off)", g_ema);
    if (!(g_ema_rampup >= 0 && g_ema_rampup <= 1))
      fail<UsageError>("--g-ema-rampup {}: expected a number in [0, 1] (0: the warm-up (1 + t) / (10 + t))", g_ema_rampup);
    if (g_ema_rampup > 0 && g_ema == 0 && !resume)  // --resume: the checkpoint's --g-ema holds
      fail<UsageError>("--g-ema-rampup {} needs --g-ema (the average it shapes)", g_ema_rampup);
    if (!(text_weight >= 0 && text_weight <= 1e3)) fail<UsageError>("--text-head {}: expected a number in [0, 1000] (0: none)", text_weight);
    if (ms_pool < 1 || ms_pool > 64 || 64 % ms_pool != 0)
      fail<UsageError>("--ms-pool {}: expected a divisor of 64 (1, 2, 4, 8, 16, 32 or 64)", ms_pool);
    if (ms_image != "blocks" && ms_image != "edges") fail<UsageError>("--ms-image '{}': expected blocks or edges", ms_image);
    if (ms_image == "edges" && ms_pool == 64) fail<UsageError>("--ms-image edges needs at least two blocks in a row: --ms-pool 32 or less");
    if (wrong != "image" && wrong != "text") fail<UsageError>("--wrong {}: expected image or text", wrong);
    if (wrong_near < 0) fail<UsageError>("--wrong-near {}: expected 0 or more (0: any other class)", wrong_near);
    Augment augment = parse_augment(augment_text);
    if (!augment.valid) fail<UsageError>("--augment {}: expected none, translation, cutout or translation,cutout", augment_text);
    if (emb_norm_text != "standardize" && emb_norm_text != "none")
      fail<UsageError>("--embedding-norm {}: expected standardize or none", emb_norm_text);
    if (captions_per_image < 1) fail<UsageError>("--captions-per-image {}: expected at least 1", captions_per_image);
    if (crop < 64 || crop > 4096) fail<UsageError>("--crop {}: expected 64 to 4096", crop);
    if (checkpoint_every < 1) fail<UsageError>("--checkpoint-every {}: expected at least 1", checkpoint_every);
    if (samples_every < 0) fail<UsageError>("--samples-every {}: expected 0 or more", samples_every);
    if (ngf < 1 || ndf < 1 || z_dim < 1 || proj_dim < 1 || ngf > 4096 || ndf > 4096 || z_dim > 65536 || proj_dim > 65536)
      fail<UsageError>("--ngf and --ndf must be 1 to 4096, --z-dim and --proj-dim 1 to 65536");
    nn::GanVariant variant = nn::variant_from_name(variant_text);
    const auto& compute = cli.compute();

    std::uint64_t seed = compute.seed;
    int start_epoch = 0;
    std::size_t start_iter = 0;
    double part_d = 0, part_g = 0;
    std::vector<double> losses_d, losses_g;
    nn::GanConfig cfg;
    std::optional<Checkpoint> ck;
    std::string previous_commands;  // the resumed checkpoint's train.commands
    std::string ck_steps;
    if (resume) {
      if (!std::filesystem::exists(out_path)) fail<InputError>("--resume: no checkpoint {} to continue", out_path);
      ck = Checkpoint::load(out_path);
      require_training_checkpoint(*ck, "--resume");
      if (ck->metadata.count(kCommandsKey)) previous_commands = ck->meta(kCommandsKey);
      cfg = nn::gan_config(*ck);
      // The checkpoint's settings hold; an option given with another value is ignored with a warning.
      auto keep = [&](const std::string& option, auto& var, const auto& value) { cli.resumed(option, var, value, out_path); };
      auto meta_or = [&](const std::string& key, const std::string& missing) {
        return ck->metadata.count(key) ? ck->meta(key) : missing;
      };
      keep("arch", arch_text, std::string(nn::arch_name(cfg.arch)));
      keep("ngf", ngf, cfg.ngf);
      keep("ndf", ndf, cfg.ndf);
      keep("z-dim", z_dim, cfg.z_dim);
      keep("proj-dim", proj_dim, cfg.proj_dim);
      keep("g-text-shift", g_text_shift, cfg.g_text_shift);
      try {
        keep("variant", variant_text, ck->meta("train.variant"));
        variant = nn::variant_from_name(variant_text);
        keep("wrong", wrong, ck->meta("train.wrong"));
        keep("seed", seed, std::stoull(ck->meta("train.seed")));
        start_epoch = std::stoi(ck->meta("train.epoch"));
        start_iter = std::stoull(ck->meta("train.iteration"));
        keep("lr", lr, std::stod(ck->meta("train.lr")));
        keep("lr-halve-every", lr_halve_every, std::stoi(ck->meta("train.lr_halve_every")));
        keep("beta1", beta1, std::stod(ck->meta("train.beta1")));
        keep("batch", batch, std::stoi(ck->meta("train.batch")));
        keep("cls-weight", cls_weight, std::stod(ck->meta("train.cls_weight")));
        keep("interp-weight", interp_weight, std::stod(ck->meta("train.interp_weight")));
        keep("interp-beta", interp_beta, std::stod(ck->meta("train.interp_beta")));
        // Checkpoints from before the option trained without the term.
        keep("ms-weight", ms_weight, std::stod(meta_or("train.ms_weight", "0")));
        keep("ms-pool", ms_pool, std::stoi(meta_or("train.ms_pool", "1")));
        keep("ms-image", ms_image, meta_or("train.ms_image", "blocks"));
        const Augment ck_augment = parse_augment(meta_or("train.augment", "none"));
        augment_text = augment.text();  // as the checkpoint writes it
        keep("augment", augment_text, ck_augment.text());
        augment = ck_augment;
        keep("g-ema", g_ema, std::stod(meta_or("train.g_ema", "0")));
        keep("g-ema-rampup", g_ema_rampup, std::stod(meta_or("train.g_ema_rampup", "0")));
        keep("wrong-near", wrong_near, std::stoi(meta_or("train.wrong_near", "0")));
        keep("text-head", text_weight, std::stod(meta_or("train.text_weight", "0")));
        keep("captions-per-image", captions_per_image, std::stoi(ck->meta("train.captions_per_image")));
        // Checkpoints from before the option: the embeddings went in as they were.
        keep("embedding-norm", emb_norm_text, meta_or("train.embedding_norm", "none"));
        keep("crop", crop, std::stoi(ck->meta("train.crop")));
        keep("no-flip", no_flip, ck->meta("train.flip") == "0");
        part_d = std::stod(ck->meta("train.partial_loss_d"));
        part_g = std::stod(ck->meta("train.partial_loss_g"));
        losses_d = split_doubles(ck->meta("train.losses_d"));
        losses_g = split_doubles(ck->meta("train.losses_g"));
      } catch (const std::logic_error&) {  // stoi and friends
        fail<InputError>("{}: its train.* metadata is malformed; not a train-gan checkpoint to resume", out_path);
      }
      // The checkpoint's settings pass the checks the options do.
      if (start_epoch < 0 || batch < 2 || batch > 4096 || !(lr > 0) || !(beta1 >= 0 && beta1 < 1) || lr_halve_every < 0 ||
          !(cls_weight >= 0 && cls_weight <= 1) || !(interp_weight >= 0 && interp_weight <= 1e3) ||
          !(interp_beta >= 0 && interp_beta <= 1) || !(ms_weight >= 0 && ms_weight <= 1e3) || !(g_ema >= 0 && g_ema < 1) || wrong_near < 0 ||
          !(g_ema_rampup >= 0 && g_ema_rampup <= 1) || !(text_weight >= 0 && text_weight <= 1e3) ||
          ms_pool < 1 || ms_pool > 64 || 64 % ms_pool != 0 || (ms_image != "blocks" && ms_image != "edges") ||
          (ms_image == "edges" && ms_pool == 64) || !augment.valid || (wrong != "image" && wrong != "text") || captions_per_image < 1 ||
          (emb_norm_text != "standardize" && emb_norm_text != "none") ||
          crop < 64 || crop > 4096 || !std::isfinite(part_d) || !std::isfinite(part_g))
        fail<InputError>("{}: its train.* metadata holds settings out of range; not a train-gan checkpoint to resume",
                         out_path);
      if ((static_cast<float>(text_weight) > 0) != cfg.d_text_head)
        fail<InputError>("{}: train.text_weight is {} but the discriminator {} (d_text_head {}); not a train-gan "
                         "checkpoint to resume", out_path, text_weight, cfg.d_text_head ? "has a text head" : "has none",
                         cfg.d_text_head ? 1 : 0);
      if (start_epoch >= epochs) {
        log::info("{} has {} epochs already; nothing to do", out_path, start_epoch);
        return 0;
      }
      ck_steps = ck->meta("train.minibatches_per_epoch");
    } else {
      cfg.arch = nn::arch_from_name(arch_text);
      cfg.ngf = ngf, cfg.ndf = ndf, cfg.z_dim = z_dim, cfg.proj_dim = proj_dim;
      cfg.d_text_head = static_cast<float>(text_weight) > 0;  // as the step sees the weight
      cfg.g_text_shift = g_text_shift;
    }
    nn::GanStepOptions step_opt = nn::variant_options(variant, static_cast<float>(cls_weight),
                                                      static_cast<float>(interp_weight),
                                                      static_cast<float>(interp_beta));
    step_opt.ms_weight = static_cast<float>(ms_weight);
    step_opt.ms_pool = ms_pool;
    step_opt.ms_edges = ms_image == "edges";
    step_opt.aug_shift = augment.translation ? kAugShift : 0;
    step_opt.aug_cut = augment.cutout ? kAugCut : 0;
    step_opt.text_weight = static_cast<float>(text_weight);
    const bool use_wrong = step_opt.cls_weight != 0.0f, use_interp = step_opt.interp_weight != 0.0f,
               use_ms = step_opt.ms_weight != 0.0f;

    KeyedReader images(images_path);
    Data data = read_data(images, emb_path);
    if (resume && data.emb_dim != cfg.emb_dim)
      fail<InputError>("{}: embeddings of {} values; the checkpoint {} was trained on {}", emb_path, data.emb_dim,
                       out_path, cfg.emb_dim);
    cfg.emb_dim = data.emb_dim;
    nn::EmbeddingNorm emb_norm;
    if (ck) {
      emb_norm = nn::embedding_norm(*ck, cfg.emb_dim);
      if (emb_norm.identity() != (emb_norm_text == "none"))
        fail<InputError>("{}: train.embedding_norm '{}' does not match its stored standardisation", out_path,
                         emb_norm_text);
    } else if (emb_norm_text == "standardize") {
      emb_norm = nn::EmbeddingNorm::measure(data.emb.data(), data.emb.size() / std::size_t(data.emb_dim),
                                            std::size_t(data.emb_dim));
    }
    emb_norm.apply(data.emb.data(), data.emb.size() / std::size_t(data.emb_dim));
    const std::size_t nimages = data.images.size();
    if (nimages < static_cast<std::size_t>(batch))
      fail<InputError>("{}: {} images with embeddings, fewer than --batch {}", images_path, nimages, batch);
    if (use_wrong && data.classes.size() < 2)
      fail<InputError>("{}: all images are of one class; --variant {} needs a wrong pair from another class", images_path,
                       nn::variant_name(variant));
    if (use_wrong && wrong_near >= static_cast<int>(data.classes.size()))
      fail<InputError>("{}: --wrong-near {} needs more classes than that; the data has {} (at most {})", images_path,
                       wrong_near, data.classes.size(), data.classes.size() - 1);
    // After the standardisation: the neighbours of the embeddings D sees.
    const std::vector<std::vector<int>> near = use_wrong && wrong_near > 0 ? nearest_classes(data, wrong_near)
                                                                             : std::vector<std::vector<int>>{};
    for (const ImageEntry& im : data.images) check_image(images, im.key, crop);  // fail early, naming the record
    const std::size_t steps = nimages / static_cast<std::size_t>(batch);
    if (resume && ck_steps != std::to_string(steps)) {
      if (start_iter > 0)
        fail<InputError>("{}: stopped in the middle of an epoch of {} minibatches; the data now gives {} (resume with "
                         "the same --images and --embeddings)", out_path, ck_steps, steps);
      log::warn("{}: trained on {} minibatches an epoch; the data now gives {}", out_path, ck_steps, steps);
    }
    if (resume && start_iter >= steps)
      fail<InputError>("{}: train.iteration {} is not a minibatch of an epoch of {}", out_path, start_iter, steps);

    // The output must be writable; making a temporary there also installs file.h's handlers
    // (which remove temporaries on a fatal signal) before ours replace them for SIGINT/SIGTERM.
    { AtomicFile probe(out_path); }
    install_stop_handlers();

    auto be = nn::make_backend(backend_name(compute.backend));
    nn::Generator g(cfg);
    nn::Discriminator d(cfg);
    g.bind(*be);
    d.bind(*be);
    nn::GanStep step(*be, g, d, step_opt);
    step.opt_g().hyper().beta1 = beta1;
    step.opt_d().hyper().beta1 = beta1;
    // --g-ema: g_avg, the average the checkpoint's "generator.*" holds; g trains.
    std::unique_ptr<nn::Generator> g_avg;
    if (g_ema > 0) {
      g_avg = std::make_unique<nn::Generator>(cfg);
      g_avg->bind(*be);
    }
    if (ck) {
      nn::load_gan(*ck, g_avg ? *g_avg : g, d, &step.opt_g(), &step.opt_d());
      if (g_avg) {
        if (!ck->contains(nn::kTrainGeneratorPrefix + g.params().entries().front().name))
          fail<InputError>("{}: train.g_ema is {} but it holds no train.generator.* (the generator being trained, beside "
                           "its average); not a train-gan checkpoint to resume", out_path, g_ema);
        g.params().load_from(*ck, nn::kTrainGeneratorPrefix);
      }
      ck.reset();
    } else {
      g.params().init(seed);
      d.params().init(seed + 1);
      if (g_avg) g_avg->params().average_from(g.params(), 0.0);
    }
    log::info("{} images ({} captions, {} classes), emb_dim {}; variant {}{}, batch {}, {} minibatches an epoch, "
              "epochs {} to {}, backend {}",
              nimages, data.captions, data.classes.size(), data.emb_dim, nn::variant_name(variant),
              use_wrong ? fmt::format(" (wrong {}{})", wrong, wrong_near > 0 ? fmt::format(" of the {} nearest classes", wrong_near) : "") : "", batch, steps, start_epoch + 1, epochs, be->name());
    if (g_avg)
      log::info("generator average: decay {}{} (the checkpoint's generator and the samples are the average)", g_ema,
                g_ema_rampup > 0 ? fmt::format(", half-life at most {} of the updates so far", g_ema_rampup) : "");

    // The fixed sample set: the mean embeddings (over all captions) of up to 8 images, the first
    // of classes spread evenly over the class list (so rows show different birds), and 8 noise
    // vectors from the seed; rows are captions, columns noise.
    std::vector<std::size_t> sample_images;
    {
      const std::size_t nc = data.classes.size(), rows = std::min<std::size_t>(8, nc);
      for (std::size_t r = 0; r < rows; ++r) sample_images.push_back(data.by_class[r * nc / rows].front());
      for (std::size_t i = 0; sample_images.size() < std::min<std::size_t>(8, nimages); ++i)
        if (std::find(sample_images.begin(), sample_images.end(), i) == sample_images.end()) sample_images.push_back(i);
    }
    const int sample_rows = static_cast<int>(sample_images.size()), sample_cols = 8;
    Tensor sample_h(DType::kFloat32, {sample_rows * sample_cols, cfg.emb_dim}),
        sample_z(DType::kFloat32, {sample_rows * sample_cols, cfg.z_dim});
    {
      Rng srng(mix(seed, kSampleStream));
      std::vector<float> zs(static_cast<std::size_t>(sample_cols * cfg.z_dim));
      for (float& v : zs) v = static_cast<float>(srng.normal());
      const std::size_t e = static_cast<std::size_t>(cfg.emb_dim);
      for (int r = 0; r < sample_rows; ++r) {
        const ImageEntry& im = data.images[sample_images[static_cast<std::size_t>(r)]];
        std::vector<double> sum(e, 0.0);
        for (std::size_t row : im.embs)
          for (std::size_t j = 0; j < e; ++j) sum[j] += data.emb[row * e + j];
        for (int c = 0; c < sample_cols; ++c) {
          const std::size_t k = static_cast<std::size_t>(r * sample_cols + c);
          for (std::size_t j = 0; j < e; ++j) sample_h.span<float>()[k * e + j] = float(sum[j] / double(im.embs.size()));
          std::memcpy(sample_z.span<float>().data() + k * std::size_t(cfg.z_dim),
                      zs.data() + std::size_t(c) * std::size_t(cfg.z_dim), std::size_t(cfg.z_dim) * sizeof(float));
        }
      }
    }
    if (samples_png.empty()) samples_png = out_path + ".samples.png";
    const bool samples_dir = samples_png.back() == '/' || std::filesystem::is_directory(samples_png);
    auto write_samples = [&](int epoch) {
      const nn::Array& out = (g_avg ? *g_avg : g).forward(2, nn::upload(*be, sample_z), nn::upload(*be, sample_h), /*training=*/false);
      std::vector<float> px = nn::to_vector(*be, out);
      const int cell = 66;
      Image grid(sample_cols * cell + 2, sample_rows * cell + 2, 3);
      std::fill(grid.pixels.begin(), grid.pixels.end(), std::uint8_t{255});
      for (int k = 0; k < sample_rows * sample_cols; ++k) {
        Tensor t(DType::kFloat32, {3, 64, 64});
        std::memcpy(t.span<float>().data(), px.data() + std::size_t(k) * 3 * 64 * 64, 3 * 64 * 64 * sizeof(float));
        Image im = tensor_to_image(t, "sample");
        const int x0 = (k % sample_cols) * cell + 2, y0 = (k / sample_cols) * cell + 2;
        for (int y = 0; y < 64; ++y) std::memcpy(grid.at(x0, y0 + y), im.at(0, y), 64 * 3);
      }
      std::string path = samples_png;
      if (samples_dir) {
        std::filesystem::create_directories(samples_png);
        path = (std::filesystem::path(samples_png) / fmt::format("epoch-{:04d}.png", epoch)).string();
      }
      write_png(grid, path);
      log::info("wrote samples {}", path);
    };

    // The per-minibatch log: on --resume, lines past the checkpoint are dropped (they belong to
    // minibatches that will run again), so a resumed run's log equals an uninterrupted run's.
    std::FILE* log_file = nullptr;
    const std::uint64_t start_global = static_cast<std::uint64_t>(start_epoch) * steps + start_iter;
    if (!log_path.empty()) {
      std::string kept;
      if (resume && std::filesystem::exists(log_path)) {
        for (const std::string& line : read_lines(log_path)) {
          if (line.rfind("epoch\t", 0) == 0) continue;  // the header is written anew (older logs lack ms_ratio)
          auto t1 = line.find('\t'), t2 = line.find('\t', t1 + 1), t3 = line.find('\t', t2 + 1);
          if (t3 == std::string::npos) continue;
          const std::string step_text = line.substr(t2 + 1, t3 - t2 - 1);
          if (step_text.empty() || step_text.find_first_not_of("0123456789") != std::string::npos || step_text.size() > 18)
            fail<InputError>("{}: line '{}': the third column is not a step number; not a train-gan log", log_path,
                             line.substr(0, 80));
          if (std::stoull(step_text) > start_global) continue;
          // Rows of logs from before the ms_ratio or text_* columns get them, as NA: one column
          // count throughout.
          std::string row = line;
          for (auto tabs = std::count(row.begin(), row.end(), '\t'); tabs < 12; ++tabs) row += "\tNA";
          kept += row + "\n";
        }
      }
      kept = "epoch\titer\tstep\tloss_d\tloss_g\ts_r\ts_w\ts_f\ts_g\ts_i\tms_ratio\ttext_real\ttext_fake\n" + kept;
      log_file = std::fopen(log_path.c_str(), "w");
      if (!log_file) fail<RuntimeError>("{}: cannot write: {}", log_path, errno_text());
      std::fputs(kept.c_str(), log_file);
      std::fflush(log_file);
    }
    struct CloseLog {
      std::FILE*& f;
      ~CloseLog() {
        if (f) std::fclose(f);
      }
    } close_log{log_file};

    const std::string commands = append_command(previous_commands, cli.command_line());
    int saved_epoch = resume ? start_epoch : -1;
    std::size_t saved_iter = start_iter;
    auto save = [&](int epoch, std::size_t iter) {
      std::map<std::string, std::string> meta = {
          {kCommandsKey, commands},
          {"train.variant", nn::variant_name(variant)},
          {"train.wrong", wrong},
          {"train.seed", std::to_string(seed)},
          {"train.epoch", std::to_string(epoch)},
          {"train.iteration", std::to_string(iter)},
          {"train.minibatches_per_epoch", std::to_string(steps)},
          {"train.lr", fmt::format("{:.17g}", lr)},
          {"train.lr_halve_every", std::to_string(lr_halve_every)},
          {"train.beta1", fmt::format("{:.17g}", beta1)},
          {"train.batch", std::to_string(batch)},
          {"train.cls_weight", fmt::format("{:.17g}", cls_weight)},
          {"train.interp_weight", fmt::format("{:.17g}", interp_weight)},
          {"train.interp_beta", fmt::format("{:.17g}", interp_beta)},
          {"train.ms_weight", fmt::format("{:.17g}", ms_weight)},
          {"train.ms_pool", std::to_string(ms_pool)},
          {"train.ms_image", ms_image},
          {"train.augment", augment.text()},
          {"train.captions_per_image", std::to_string(captions_per_image)},
          {"train.crop", std::to_string(crop)},
          {"train.flip", no_flip ? "0" : "1"},
          {"train.partial_loss_d", fmt::format("{:.17g}", part_d)},
          {"train.partial_loss_g", fmt::format("{:.17g}", part_g)},
          {"train.losses_d", join_doubles(losses_d)},
          {"train.losses_g", join_doubles(losses_g)},
          {"train.images", images_path},
          {"train.embeddings", emb_path},
          {"train.embedding_norm", emb_norm_text},
          {"train.g_ema", fmt::format("{:.17g}", g_ema)},
          {"train.g_ema_rampup", fmt::format("{:.17g}", g_ema_rampup)},
          {"train.wrong_near", std::to_string(wrong_near)},
          {"train.text_weight", fmt::format("{:.17g}", text_weight)},
      };
      nn::save_gan(out_path, g_avg ? *g_avg : g, d, &step.opt_g(), &step.opt_d(), meta, emb_norm, g_avg ? &g : nullptr);
      saved_epoch = epoch, saved_iter = iter;
    };

    const int B = batch, half = B / 2;
    const std::size_t e = static_cast<std::size_t>(cfg.emb_dim);
    Tensor x(DType::kFloat32, {B, 3, 64, 64}), xw(DType::kFloat32, {B, 3, 64, 64}), h(DType::kFloat32, {B, cfg.emb_dim}),
        hw(DType::kFloat32, {B, cfg.emb_dim}), z(DType::kFloat32, {B, cfg.z_dim}), zi(DType::kFloat32, {half, cfg.z_dim}),
        zm(DType::kFloat32, {B, cfg.z_dim});
    const std::size_t img = 3 * 64 * 64;
    Progress progress("training", static_cast<std::uint64_t>(epochs) * steps - start_global);
    std::vector<std::size_t> order(nimages);
    for (int epoch = start_epoch; epoch < epochs; ++epoch) {
      const double epoch_lr = lr_halve_every > 0 ? lr * std::pow(0.5, epoch / lr_halve_every) : lr;
      step.opt_g().set_lr(epoch_lr);
      step.opt_d().set_lr(epoch_lr);
      Rng erng(mix(seed, mix(kEpochStream, static_cast<std::uint64_t>(epoch))));
      for (std::size_t i = 0; i < nimages; ++i) order[i] = i;
      for (std::size_t i = nimages; i > 1; --i) std::swap(order[i - 1], order[static_cast<std::size_t>(erng.below(static_cast<int>(i)))]);
      for (std::size_t s = (epoch == start_epoch ? start_iter : 0); s < steps; ++s) {
        if (stop_signal() != 0) {
          progress.finish();
          save(epoch, s);
          fail<RuntimeError>("stopped by {} in epoch {} after minibatch {}; saved {} (continue with --resume)",
                             stop_signal_name(), epoch + 1, s, out_path);
        }
        const std::uint64_t global = static_cast<std::uint64_t>(epoch) * steps + s;
        Rng rng(mix(seed, mix(kBatchStream, global)));
        for (int b = 0; b < B; ++b) {
          const ImageEntry& im = data.images[order[s * std::size_t(B) + std::size_t(b)]];
          Tensor t = images.get(im.key);
          const std::int64_t room = t.shape()[2] - crop + 1;
          const std::int64_t ox = rng.below(static_cast<int>(room)), oy = rng.below(static_cast<int>(room));
          const bool flip = !no_flip && rng.chance(0.5);
          crop_to_floats(t, crop, ox, oy, flip, x.span<float>().data() + std::size_t(b) * img);
          sample_embedding(data, im, captions_per_image, rng, h.span<float>().data() + std::size_t(b) * e);
          if (use_wrong) {
            const ImageEntry& other = other_class_image(data, im.cls, near.empty() ? nullptr : &near, rng);
            if (wrong == "image") {
              Tensor tw = images.get(other.key);
              const std::int64_t wroom = tw.shape()[2] - crop + 1;
              const std::int64_t wox = rng.below(static_cast<int>(wroom)), woy = rng.below(static_cast<int>(wroom));
              crop_to_floats(tw, crop, wox, woy, !no_flip && rng.chance(0.5), xw.span<float>().data() + std::size_t(b) * img);
            } else {
              sample_embedding(data, other, captions_per_image, rng, hw.span<float>().data() + std::size_t(b) * e);
            }
          }
        }
        for (float& v : z.span<float>()) v = static_cast<float>(rng.normal());
        if (step.uses_augment()) {  // drawn only then: runs without it keep their random numbers
          auto below = [&](int k) { return rng.below(k); };
          nn::AugmentDraws draws;
          draws.real = nn::draw_shift_cutout(B, 64, step_opt.aug_shift, below);
          if (use_wrong) draws.wrong = nn::draw_shift_cutout(B, 64, step_opt.aug_shift, below);
          draws.fake = nn::draw_shift_cutout(B, 64, step_opt.aug_shift, below);
          draws.gen = nn::draw_shift_cutout(B, 64, step_opt.aug_shift, below);
          if (use_interp) draws.interp = nn::draw_shift_cutout(half, 64, step_opt.aug_shift, below);
          step.set_augment(std::move(draws));
        }
        nn::Array xa = nn::upload(*be, x), ha = nn::upload(*be, h), za = nn::upload(*be, z), xwa, hwa;
        if (use_wrong) {
          xwa = wrong == "image" ? nn::upload(*be, xw) : xa;
          hwa = wrong == "image" ? ha : nn::upload(*be, hw);
        }
        const float loss_d = step.run_d(xa, ha, xwa, hwa, za);
        nn::Array hia, zia, zma;
        if (use_interp) {
          for (float& v : zi.span<float>()) v = static_cast<float>(rng.normal());
          hia = nn::upload(*be, nn::interpolate_halves(h, static_cast<float>(interp_beta)));
          zia = nn::upload(*be, zi);
        }
        if (use_ms) {
          for (float& v : zm.span<float>()) v = static_cast<float>(rng.normal());
          zma = nn::upload(*be, zm);
        }
        const float loss_g = step.run_g(ha, hia, zia, zma);
        // The generator's updates so far (the checkpoint keeps the count): a resumed run averages alike.
        if (g_avg) g_avg->params().average_from(g.params(), nn::ema_decay(g_ema, step.opt_g().steps(), g_ema_rampup));
        if (!std::isfinite(loss_d) || !std::isfinite(loss_g)) {
          const char* what = !std::isfinite(loss_d) ? "D" : "G";
          const float bad = !std::isfinite(loss_d) ? loss_d : loss_g;
          if (saved_epoch >= 0)
            fail<RuntimeError>("the {} loss became {} in epoch {}, minibatch {}: stopped; {} keeps the last good "
                               "checkpoint (epoch {}, minibatch {})",
                               what, std::isnan(bad) ? "NaN" : "infinite", epoch + 1, s + 1, out_path, saved_epoch, saved_iter);
          fail<RuntimeError>("the {} loss became {} in epoch {}, minibatch {}: stopped before any checkpoint was saved "
                             "(try a smaller --lr)", what, std::isnan(bad) ? "NaN" : "infinite", epoch + 1, s + 1);
        }
        part_d += loss_d, part_g += loss_g;
        const double sr = mean_sigmoid(*be, step.logits(0)), sw = mean_sigmoid(*be, step.logits(1)),
                     sf = mean_sigmoid(*be, step.logits(2)), sg = mean_sigmoid(*be, step.logits(3)),
                     si = mean_sigmoid(*be, step.logits(4)), ms = step.ms_ratio();
        if (log_file) {
          auto num = [](float v) { return std::isnan(v) ? std::string("NA") : fmt::format("{:.6g}", v); };
          fmt::print(log_file, "{}\t{}\t{}\t{:.9g}\t{:.9g}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\n", epoch + 1, s + 1, global + 1,
                     loss_d, loss_g, score_text(sr), score_text(sw), score_text(sf), score_text(sg), score_text(si),
                     num(ms), num(step.text_error_real()), num(step.text_error_fake()));
          std::fflush(log_file);  // tail -f works, and a killed run keeps every line it logged
        }
        progress.add();
        progress.set_status(fmt::format("epoch {} D {:.4f} G {:.4f} s_r {:.3f} s_w {} s_f {:.3f}{}{}", epoch + 1, loss_d,
                                        loss_g, sr, std::isnan(sw) ? "-" : fmt::format("{:.3f}", sw), sf,
                                        use_ms ? fmt::format(" ms_ratio {:.3f}", ms) : std::string(),
                                        step.uses_text_head() ? fmt::format(" text {:.3f}/{:.3f}", step.text_error_real(),
                                                                            step.text_error_fake()) : std::string()));
      }
      losses_d.push_back(part_d / double(steps));
      losses_g.push_back(part_g / double(steps));
      part_d = part_g = 0;
      if (log_file) std::fflush(log_file);
      log::info("epoch {} mean loss D {:.6f} G {:.6f} lr {:.6g}", epoch + 1, losses_d.back(), losses_g.back(), epoch_lr);
      if ((epoch + 1) % checkpoint_every == 0 || epoch + 1 == epochs) save(epoch + 1, 0);
      if (samples_every > 0 && ((epoch + 1) % samples_every == 0 || epoch + 1 == epochs)) write_samples(epoch + 1);
    }
    progress.finish();
    log::info("wrote {} ({} epochs, final mean loss D {:.6f} G {:.6f})", out_path, epochs, losses_d.back(),
              losses_g.back());
    return 0;
  });
}
