// invert-style: the style encoder S of Reed et al. (PAPER.md section 6). `train` fits S to invert
// a trained, frozen generator: minimise ||z - S(G(z, phi(t)))||^2 with fresh z ~ N(0,1) and
// caption embeddings phi(t) of the training set; `apply` predicts the style vector z of images,
// for style transfer (generate --z) and the disentangling probe (probe-disentangle).
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

#include "checkpoint.h"
#include "cli.h"
#include "error.h"
#include "file.h"
#include "image.h"
#include "log.h"
#include "nn/gan.h"
#include "nn/gan_checkpoint.h"
#include "nn/optim.h"
#include "nn/style_encoder.h"
#include "progress.h"
#include "rng.h"
#include "stats.h"
#include "stop_signal.h"
#include "stream.h"

namespace {

using namespace t2i;

// 64-bit FNV-1a of a file's bytes, as 16 hex digits: names the generator a style encoder was
// trained against, so --resume and readers can tell when it was swapped.
std::string file_hash(const std::string& path) {
  const std::string bytes = read_file(path);
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : bytes) h = (h ^ c) * 0x100000001b3ULL;
  return fmt::format("{:016x}", h);
}

// A float32 record holding one vector of `dim` values, as [dim] or [1,dim].
bool is_vector(const Tensor& t, std::int64_t dim) {
  if (t.dtype() != DType::kFloat32) return false;
  const Shape& s = t.shape();
  return (s.size() == 1 && s[0] == dim) || (s.size() == 2 && s[0] == 1 && s[1] == dim);
}

// The GAN checkpoint of -m: its generator's configuration, or one line naming what it is instead.
nn::GanConfig gan_of(const Checkpoint& ck) {
  auto it = ck.metadata.find("model");
  if (it == ck.metadata.end() || it->second != "t2igan-gan")
    fail<InputError>("{}: {}, not a GAN checkpoint (model 't2igan-gan'; write one with train-gan)", ck.source(),
                     nn::model_kind_text(ck));
  return nn::gan_config(ck);
}

// ---- the caption embeddings: records grouped by image --------------------------------------
// encode-text --mode each keys a caption "<image-key>/<index>"; the records of one image form a
// group, and a training sample is the mean of k of them (as train-gan conditions G). Any other
// key (--mode mean's image keys, sentences) is a group of its own.
struct Embeddings {
  std::vector<float> rows;                       // emb_dim floats a record
  std::vector<std::vector<std::size_t>> groups;  // record indices, in first-appearance order
  std::size_t records = 0;
};

std::string group_key(const std::string& key) {
  const auto slash = key.rfind('/');
  if (slash == std::string::npos || slash + 1 == key.size() || slash == 0) return key;
  if (key.find_first_not_of("0123456789", slash + 1) != std::string::npos) return key;
  return key.substr(0, slash);
}

Embeddings read_embeddings(const std::string& path, std::int64_t emb_dim, const std::string& gan_path) {
  Embeddings e;
  std::unordered_map<std::string, std::size_t> group_of;
  StreamReader reader(path);
  Record r;
  while (reader.next(&r)) {
    if (!is_vector(r.tensor, emb_dim))
      fail<InputError>("{}: key '{}': {} {}; expected float32 [{}], the emb_dim of {} (encode-text output)",
                       reader.name(), printable_key(r.key), dtype_name(r.tensor.dtype()), shape_text(r.tensor.shape()),
                       emb_dim, gan_path);
    auto v = r.tensor.span<const float>();
    for (float x : v)
      if (!std::isfinite(x)) fail<InputError>("{}: key '{}' holds a non-finite value", reader.name(), printable_key(r.key));
    const std::string g = group_key(r.key);
    auto [it, added] = group_of.emplace(g, e.groups.size());
    if (added) e.groups.emplace_back();
    e.groups[it->second].push_back(e.records++);
    e.rows.insert(e.rows.end(), v.begin(), v.end());
  }
  if (e.records == 0) fail<InputError>("{}: no embeddings", reader.name());
  return e;
}

// The mean of k of a group's embeddings, drawn without replacement (all if fewer).
void sample_embedding(const Embeddings& e, std::size_t group, int k, std::size_t dim, Rng& rng, float* out) {
  std::vector<std::size_t> pool = e.groups[group];
  const std::size_t take = std::min<std::size_t>(static_cast<std::size_t>(k), pool.size());
  std::vector<double> sum(dim, 0.0);
  for (std::size_t i = 0; i < take; ++i) {
    std::swap(pool[i], pool[i + static_cast<std::size_t>(rng.below(static_cast<int>(pool.size() - i)))]);
    const float* row = e.rows.data() + pool[i] * dim;
    for (std::size_t j = 0; j < dim; ++j) sum[j] += row[j];
  }
  for (std::size_t j = 0; j < dim; ++j) out[j] = static_cast<float>(sum[j] / double(take));
}

// The mean cosine between rows of a and b ([n, dim] each).
double mean_cosine(const std::vector<float>& a, const float* b, std::size_t n, std::size_t dim) {
  double s = 0;
  for (std::size_t i = 0; i < n; ++i) s += stats::cosine(a.data() + i * dim, b + i * dim, dim);
  return s / double(n);
}

// Seeds of the run's random streams: one per epoch (the order of the embedding groups) and one
// per minibatch (caption choice, noise), so a run resumes anywhere exactly.
constexpr std::uint64_t kEpochStream = 0x65706f6368ull, kBatchStream = 0x6261746368ull;

struct TrainOptions {
  std::string gan_path, emb_path, out_path, arch_text = "plain", g_bn = "running", log_path;
  int epochs = 20, batch = 64, checkpoint_every = 5, lr_halve_every = 0, captions_per_image = 4;
  long ndf = 0;
  double lr = 2e-4, beta1 = 0.5;
  bool resume = false;
};

int train(const Cli& cli, TrainOptions o) {
  if (o.emb_path.empty() || o.out_path.empty()) fail<UsageError>("train: --embeddings and -o are required");
  if (o.gan_path.empty() && !o.resume) fail<UsageError>("train: -m (the GAN checkpoint) is required");
  if (o.epochs < 1) fail<UsageError>("--epochs {}: expected at least 1", o.epochs);
  if (o.batch < 2 || o.batch > 4096) fail<UsageError>("--batch {}: expected 2 to 4096", o.batch);
  if (!(o.lr > 0)) fail<UsageError>("--lr {}: expected a positive number", o.lr);
  if (!(o.beta1 >= 0 && o.beta1 < 1)) fail<UsageError>("--beta1 {}: expected a number in [0, 1)", o.beta1);
  if (o.lr_halve_every < 0) fail<UsageError>("--lr-halve-every {}: expected 0 or more (0: never)", o.lr_halve_every);
  if (o.captions_per_image < 1) fail<UsageError>("--captions-per-image {}: expected at least 1", o.captions_per_image);
  if (o.checkpoint_every < 1) fail<UsageError>("--checkpoint-every {}: expected at least 1", o.checkpoint_every);
  if (o.ndf < 0 || o.ndf > 4096) fail<UsageError>("--ndf {}: expected 1 to 4096 (0: the GAN's)", o.ndf);
  if (o.g_bn != "running" && o.g_bn != "batch") fail<UsageError>("--g-bn {}: expected running or batch", o.g_bn);
  nn::Arch arch = nn::arch_from_name(o.arch_text);
  const auto& compute = cli.compute();

  std::uint64_t seed = compute.seed;
  int start_epoch = 0;
  std::size_t start_iter = 0;
  double part_loss = 0;
  std::vector<double> losses;
  std::optional<Checkpoint> ck;
  std::string previous_commands;  // the resumed checkpoint's train.commands
  std::string ck_steps, ck_hash;
  nn::StyleConfig scfg;
  if (o.resume) {
    if (!std::filesystem::exists(o.out_path)) fail<InputError>("--resume: no checkpoint {} to continue", o.out_path);
    ck = Checkpoint::load(o.out_path);
    require_training_checkpoint(*ck, "--resume");
    if (ck->metadata.count(kCommandsKey)) previous_commands = ck->meta(kCommandsKey);
    scfg = nn::StyleConfig::from_checkpoint(*ck);
    // The checkpoint's settings hold; an option given with another value is ignored with a warning.
    auto keep = [&](const std::string& option, auto& var, const auto& value) { cli.resumed(option, var, value, o.out_path); };
    keep("arch", o.arch_text, std::string(nn::arch_name(scfg.arch)));
    if (o.ndf != 0) keep("ndf", o.ndf, scfg.ndf);  // 0, the default: the GAN's width, as the checkpoint has it
    try {
      if (o.gan_path.empty()) o.gan_path = ck->meta("gan.path");
      ck_hash = ck->meta("gan.hash");
      keep("seed", seed, std::stoull(ck->meta("train.seed")));
      start_epoch = std::stoi(ck->meta("train.epoch"));
      start_iter = std::stoull(ck->meta("train.iteration"));
      keep("lr", o.lr, std::stod(ck->meta("train.lr")));
      keep("lr-halve-every", o.lr_halve_every, std::stoi(ck->meta("train.lr_halve_every")));
      keep("beta1", o.beta1, std::stod(ck->meta("train.beta1")));
      keep("batch", o.batch, std::stoi(ck->meta("train.batch")));
      keep("captions-per-image", o.captions_per_image, std::stoi(ck->meta("train.captions_per_image")));
      keep("g-bn", o.g_bn, ck->meta("train.g_bn"));
      part_loss = std::stod(ck->meta("train.partial_loss"));
      losses = split_doubles(ck->meta("train.losses"));
    } catch (const std::logic_error&) {
      fail<InputError>("{}: its train.* metadata is malformed; not an invert-style checkpoint to resume", o.out_path);
    }
    if (start_epoch < 0 || o.batch < 2 || o.batch > 4096 || !(o.lr > 0) || !(o.beta1 >= 0 && o.beta1 < 1) ||
        o.lr_halve_every < 0 || o.captions_per_image < 1 || (o.g_bn != "running" && o.g_bn != "batch") ||
        !std::isfinite(part_loss))
      fail<InputError>("{}: its train.* metadata holds settings out of range; not an invert-style checkpoint to resume",
                       o.out_path);
    if (start_epoch >= o.epochs) {
      log::info("{} has {} epochs already; nothing to do", o.out_path, start_epoch);
      return 0;
    }
    ck_steps = ck->meta("train.minibatches_per_epoch");
  }

  // The frozen generator.
  const Checkpoint gck = Checkpoint::load(o.gan_path);
  const nn::GanConfig gcfg = gan_of(gck);
  const std::string g_hash = file_hash(o.gan_path);
  if (o.resume && g_hash != ck_hash)
    fail<InputError>("{}: was trained against a generator of hash {} ({}); {} has hash {} (resume with the same GAN "
                     "checkpoint)", o.out_path, ck_hash, ck->meta("gan.path"), o.gan_path, g_hash);
  if (o.resume) {
    if (scfg.z_dim != gcfg.z_dim)
      fail<InputError>("{}: z_dim {}, but the generator {} has z_dim {}", o.out_path, scfg.z_dim, o.gan_path, gcfg.z_dim);
  } else {
    scfg.arch = arch;
    scfg.ndf = o.ndf > 0 ? o.ndf : gcfg.ndf;
    scfg.z_dim = gcfg.z_dim;
  }
  Embeddings emb = read_embeddings(o.emb_path, gcfg.emb_dim, o.gan_path);
  // G sees the embeddings as train-gan fed them: with its standardisation, if it stored one.
  nn::embedding_norm(gck, gcfg.emb_dim).apply(emb.rows.data(), emb.records);
  const std::size_t ngroups = emb.groups.size();
  if (ngroups < static_cast<std::size_t>(o.batch))
    fail<InputError>("{}: {} images' embeddings, fewer than --batch {}", o.emb_path, ngroups, o.batch);
  const std::size_t steps = ngroups / static_cast<std::size_t>(o.batch);
  if (o.resume && ck_steps != std::to_string(steps)) {
    if (start_iter > 0)
      fail<InputError>("{}: stopped in the middle of an epoch of {} minibatches; the data now gives {} (resume with the "
                       "same --embeddings)", o.out_path, ck_steps, steps);
    log::warn("{}: trained on {} minibatches an epoch; the data now gives {}", o.out_path, ck_steps, steps);
  }
  if (o.resume && start_iter >= steps)
    fail<InputError>("{}: train.iteration {} is not a minibatch of an epoch of {}", o.out_path, start_iter, steps);

  { AtomicFile probe(o.out_path); }  // writable; installs file.h's handlers before ours
  install_stop_handlers();

  auto be = nn::make_backend(backend_name(compute.backend));
  nn::Generator g(gcfg);
  g.bind(*be);
  g.params().load_from(gck, nn::kGeneratorPrefix);
  nn::StyleEncoder s(scfg);
  s.bind(*be);
  nn::Adam opt;
  opt.hyper().beta1 = o.beta1;
  opt.bind(*be, s.params());
  if (ck) {
    nn::load_style(*ck, s, &opt);
    ck.reset();
  } else {
    s.params().init(seed);
  }
  const bool g_training = o.g_bn == "batch";
  log::info("{} images' embeddings ({} records), emb_dim {}; generator {} ({} BN statistics), style encoder {} ndf {} "
            "z_dim {}; batch {}, {} minibatches an epoch, epochs {} to {}, backend {}",
            ngroups, emb.records, gcfg.emb_dim, o.gan_path, o.g_bn, nn::arch_name(scfg.arch), scfg.ndf, scfg.z_dim,
            o.batch, steps, start_epoch + 1, o.epochs, be->name());

  // The per-minibatch log; on --resume, lines past the checkpoint are dropped (as train-gan).
  std::FILE* log_file = nullptr;
  const std::uint64_t start_global = static_cast<std::uint64_t>(start_epoch) * steps + start_iter;
  if (!o.log_path.empty()) {
    std::string kept;
    if (o.resume && std::filesystem::exists(o.log_path)) {
      for (const std::string& line : read_lines(o.log_path)) {
        if (line.rfind("epoch\t", 0) == 0) {
          kept += line + "\n";
          continue;
        }
        auto t1 = line.find('\t'), t2 = line.find('\t', t1 + 1), t3 = line.find('\t', t2 + 1);
        if (t3 == std::string::npos) continue;
        const std::string step_text = line.substr(t2 + 1, t3 - t2 - 1);
        if (step_text.empty() || step_text.find_first_not_of("0123456789") != std::string::npos || step_text.size() > 18)
          fail<InputError>("{}: line '{}': the third column is not a step number; not an invert-style log", o.log_path,
                           line.substr(0, 80));
        if (std::stoull(step_text) <= start_global) kept += line + "\n";
      }
    }
    if (kept.empty()) kept = "epoch\titer\tstep\tloss\tcosine\n";
    log_file = std::fopen(o.log_path.c_str(), "w");
    if (!log_file) fail<RuntimeError>("{}: cannot write: {}", o.log_path, errno_text());
    std::fputs(kept.c_str(), log_file);
    std::fflush(log_file);
  }
  struct CloseLog {
    std::FILE*& f;
    ~CloseLog() {
      if (f) std::fclose(f);
    }
  } close_log{log_file};

  const std::string gan_abs = std::filesystem::absolute(o.gan_path).lexically_normal().string();
  const std::string commands = append_command(previous_commands, cli.command_line());
  int saved_epoch = o.resume ? start_epoch : -1;
  std::size_t saved_iter = start_iter;
  auto save = [&](int epoch, std::size_t iter) {
    std::map<std::string, std::string> meta = {
        {kCommandsKey, commands},
        {"gan.path", gan_abs},
        {"gan.hash", g_hash},
        {"train.g_bn", o.g_bn},
        {"train.seed", std::to_string(seed)},
        {"train.epoch", std::to_string(epoch)},
        {"train.iteration", std::to_string(iter)},
        {"train.minibatches_per_epoch", std::to_string(steps)},
        {"train.lr", fmt::format("{:.17g}", o.lr)},
        {"train.lr_halve_every", std::to_string(o.lr_halve_every)},
        {"train.beta1", fmt::format("{:.17g}", o.beta1)},
        {"train.batch", std::to_string(o.batch)},
        {"train.captions_per_image", std::to_string(o.captions_per_image)},
        {"train.partial_loss", fmt::format("{:.17g}", part_loss)},
        {"train.losses", join_doubles(losses)},
        {"train.embeddings", o.emb_path},
    };
    for (const auto& [k, v] : gcfg.to_metadata()) meta["gan." + k] = v;
    nn::save_style(o.out_path, s, &opt, meta);
    saved_epoch = epoch, saved_iter = iter;
  };

  const int B = o.batch;
  const std::size_t e = static_cast<std::size_t>(gcfg.emb_dim), zd = static_cast<std::size_t>(scfg.z_dim);
  Tensor h(DType::kFloat32, {B, gcfg.emb_dim}), z(DType::kFloat32, {B, scfg.z_dim});
  nn::Array dz;
  Progress progress("training", static_cast<std::uint64_t>(o.epochs) * steps - start_global);
  std::vector<std::size_t> order(ngroups);
  for (int epoch = start_epoch; epoch < o.epochs; ++epoch) {
    const double epoch_lr = o.lr_halve_every > 0 ? o.lr * std::pow(0.5, epoch / o.lr_halve_every) : o.lr;
    opt.set_lr(epoch_lr);
    Rng erng(mix(seed, mix(kEpochStream, static_cast<std::uint64_t>(epoch))));
    for (std::size_t i = 0; i < ngroups; ++i) order[i] = i;
    for (std::size_t i = ngroups; i > 1; --i)
      std::swap(order[i - 1], order[static_cast<std::size_t>(erng.below(static_cast<int>(i)))]);
    double epoch_cos = 0;
    for (std::size_t st = (epoch == start_epoch ? start_iter : 0); st < steps; ++st) {
      if (stop_signal() != 0) {
        progress.finish();
        save(epoch, st);
        fail<RuntimeError>("stopped by {} in epoch {} after minibatch {}; saved {} (continue with --resume)",
                           stop_signal_name(), epoch + 1, st, o.out_path);
      }
      const std::uint64_t global = static_cast<std::uint64_t>(epoch) * steps + st;
      Rng rng(mix(seed, mix(kBatchStream, global)));
      for (int b = 0; b < B; ++b)
        sample_embedding(emb, order[st * std::size_t(B) + std::size_t(b)], o.captions_per_image, e, rng,
                         h.span<float>().data() + std::size_t(b) * e);
      for (float& v : z.span<float>()) v = static_cast<float>(rng.normal());
      const nn::Array za = nn::upload(*be, z);
      const nn::Array& images = g.forward(0, za, nn::upload(*be, h), g_training);
      const nn::Array& pred = s.forward(0, images, /*training=*/true);
      s.params().zero_grads();
      if (dz.empty() || dz.shape != pred.shape) dz = be->zeros(pred.shape);
      const float loss = be->mse(pred, za, &dz);  // the mean over N and z_dim: ||z - S(G(z))||^2 / z_dim
      if (!std::isfinite(loss)) {
        if (saved_epoch >= 0)
          fail<RuntimeError>("the loss became {} in epoch {}, minibatch {}: stopped; {} keeps the last good checkpoint "
                             "(epoch {}, minibatch {})", std::isnan(loss) ? "NaN" : "infinite", epoch + 1, st + 1,
                             o.out_path, saved_epoch, saved_iter);
        fail<RuntimeError>("the loss became {} in epoch {}, minibatch {}: stopped before any checkpoint was saved (try a "
                           "smaller --lr)", std::isnan(loss) ? "NaN" : "infinite", epoch + 1, st + 1);
      }
      const double cos = mean_cosine(nn::to_vector(*be, pred), z.span<const float>().data(), std::size_t(B), zd);
      s.backward(0, dz);
      opt.step();
      part_loss += loss;
      epoch_cos += cos;
      if (log_file) {
        fmt::print(log_file, "{}\t{}\t{}\t{:.9g}\t{:.6f}\n", epoch + 1, st + 1, global + 1, loss, cos);
        std::fflush(log_file);
      }
      progress.add();
      progress.set_status(fmt::format("epoch {} loss {:.4f} cos {:.3f}", epoch + 1, loss, cos));
    }
    losses.push_back(part_loss / double(steps));
    part_loss = 0;
    const std::size_t ran = steps - (epoch == start_epoch ? start_iter : 0);
    log::info("epoch {} mean loss {:.6f} (per z value; 1 is predicting 0) cosine(z, S(G(z))) {:.4f} lr {:.6g}", epoch + 1,
              losses.back(), ran > 0 ? epoch_cos / double(ran) : 0.0, epoch_lr);
    if ((epoch + 1) % o.checkpoint_every == 0 || epoch + 1 == o.epochs) save(epoch + 1, 0);
  }
  progress.finish();
  log::info("wrote {} ({} epochs, final mean loss {:.6f})", o.out_path, o.epochs, losses.back());
  return 0;
}

// apply with several -m: an ensemble, whose prediction is the mean of the encoders' (of one generator).
int apply(const Cli& cli, const std::vector<std::string>& model_paths, const std::string& in_path,
          const std::string& out_path, int batch) {
  if (model_paths.empty()) fail<UsageError>("apply: -m (the style encoder from invert-style train) is required");
  if (batch < 1 || batch > 4096) fail<UsageError>("--batch {}: expected 1 to 4096", batch);
  auto be = nn::make_backend(backend_name(cli.compute().backend));
  std::vector<std::unique_ptr<nn::StyleEncoder>> encoders;
  nn::StyleConfig cfg;
  std::string gan_hash;
  for (const std::string& path : model_paths) {
    const Checkpoint ck = Checkpoint::load(path);
    const nn::StyleConfig c = nn::StyleConfig::from_checkpoint(ck);
    // Each encoder predicts the noise of the generator it inverts: a mean across generators means nothing.
    const std::string hash = ck.metadata.count("gan.hash") ? ck.meta("gan.hash") : "";
    if (encoders.empty()) {
      cfg = c, gan_hash = hash;
    } else if (c.z_dim != cfg.z_dim) {
      fail<InputError>("{}: a style encoder of {} values, but {} predicts {}; expected encoders of one generator",
                       path, c.z_dim, model_paths.front(), cfg.z_dim);
    } else if (hash != gan_hash) {
      fail<InputError>("{}: gan.hash {} but {} has {}; expected style encoders of one generator (invert-style train "
                       "-m the same GAN)", path, hash.empty() ? "(none)" : hash, model_paths.front(),
                       gan_hash.empty() ? "(none)" : gan_hash);
    }
    encoders.push_back(std::make_unique<nn::StyleEncoder>(c));
    encoders.back()->bind(*be);
    nn::load_style(ck, *encoders.back());
  }

  StreamReader reader(in_path);
  StreamWriter writer(out_path);
  Progress progress("predicting style vectors", 0);
  const std::size_t img = 3 * 64 * 64, zd = static_cast<std::size_t>(cfg.z_dim);
  std::vector<std::string> keys;
  std::vector<float> pixels;
  auto flush = [&] {
    if (keys.empty()) return;
    const auto n = static_cast<std::int64_t>(keys.size());
    Tensor x(DType::kFloat32, {n, 3, 64, 64});
    std::memcpy(x.span<float>().data(), pixels.data(), pixels.size() * sizeof(float));
    const nn::Array xa = nn::upload(*be, x);
    std::vector<float> zs = nn::to_vector(*be, encoders.front()->forward(0, xa, /*training=*/false));
    if (encoders.size() > 1) {  // the mean, summed in encoder order: the same bits every run
      for (std::size_t e = 1; e < encoders.size(); ++e) {
        const std::vector<float> ze = nn::to_vector(*be, encoders[e]->forward(0, xa, /*training=*/false));
        for (std::size_t i = 0; i < zs.size(); ++i) zs[i] += ze[i];
      }
      for (float& v : zs) v /= static_cast<float>(encoders.size());
    }
    for (std::size_t i = 0; i < keys.size(); ++i) {
      Tensor zi(DType::kFloat32, {cfg.z_dim});
      std::memcpy(zi.span<float>().data(), zs.data() + i * zd, zd * sizeof(float));
      writer.write(keys[i], zi);
    }
    progress.add(keys.size());
    keys.clear();
    pixels.clear();
  };
  Record rec;
  while (reader.next(&rec)) {
    const Shape& sh = rec.tensor.shape();
    const std::size_t at = pixels.size();
    if (rec.tensor.dtype() == DType::kFloat32 && sh == Shape{3, 64, 64}) {
      auto v = rec.tensor.span<const float>();
      for (float x : v)
        if (!std::isfinite(x))
          fail<InputError>("{}: key '{}' holds a non-finite value", reader.name(), printable_key(rec.key));
      pixels.insert(pixels.end(), v.begin(), v.end());
    } else if (rec.tensor.dtype() == DType::kUInt8 && sh.size() == 3 && sh[0] == 3 && sh[1] == sh[2] && sh[1] >= 64) {
      pixels.resize(at + img);
      const std::int64_t o = (sh[2] - 64) / 2;  // the centre crop, as eval-text
      crop_to_floats(rec.tensor, 64, o, o, /*flip=*/false, pixels.data() + at);
    } else {
      fail<InputError>("{}: key '{}': {} {}; expected float32 [3,64,64] in [-1,1] (generate) or uint8 [3,S,S] with "
                       "S >= 64 (pack-images)", reader.name(), printable_key(rec.key), dtype_name(rec.tensor.dtype()),
                       shape_text(sh));
    }
    keys.push_back(rec.key);
    if (keys.size() == static_cast<std::size_t>(batch)) flush();
  }
  flush();
  writer.close();
  progress.finish();
  if (encoders.size() == 1)
    log::info("predicted {} style vectors of {} values with {}", writer.records(), cfg.z_dim, model_paths.front());
  else
    log::info("predicted {} style vectors of {} values, the mean of {} style encoders ({})", writer.records(),
              cfg.z_dim, encoders.size(), fmt::join(model_paths, ", "));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Cli cli({
      .name = "invert-style",
      .purpose = "the style encoder S (Reed et al. ICML 2016, section 4.4): train it to invert a frozen generator "
                 "(train), or predict the noise vector z of images (apply)",
      .usage = "invert-style train -m <gan.st> --embeddings <emb.t2i> -o <style.st> [options]\n"
               "       invert-style apply -m <style.st> [-m <style2.st> ...] [options] [<images-in>|-] > <z-out>",
      .example = "list-captions data/birds --split trainval | encode-text -m text.st --mode each > tr-emb.t2i\n"
                 "invert-style train -m gan.st --embeddings tr-emb.t2i -o style.st\n"
                 "pack-images data/birds --split test > te.t2i\n"
                 "invert-style apply -m style.st < te.t2i > z.t2i\n"
                 "tensor-select --head 1 < z.t2i > style.t2i    # the first test image's style\n"
                 "echo \"a bird with a red crown\" | encode-text -m text.st | generate -m gan.st --z style.t2i > out.t2i",
      .see_also = "generate(1), probe-disentangle(1), train-gan(1), encode-text(1), pack-images(1)",
  });
  TrainOptions t;
  std::vector<std::string> models;
  std::string out_path = "-";
  int apply_batch = 64;
  cli.options().add_options()
      ("model,m", po::value(&models), "train: the GAN checkpoint whose generator S inverts (train-gan); apply: the style encoder (invert-style train), or several (-m a.st -m b.st ...: an ensemble of encoders of one generator, e.g. of other --seed, predicting the mean of their vectors)")
      ("embeddings", po::value(&t.emb_path), "train: caption embeddings from encode-text (--mode each: keys <image-key>/<i>, grouped by image; or --mode mean), float32 [emb_dim] of the GAN")
      ("output,o", po::value(&out_path), "train: the style encoder checkpoint to write (required); apply: the z stream ('-': stdout, the default)")
      ("arch", po::value(&t.arch_text)->default_value(t.arch_text), "train: plain (the paper's discriminator's shape) or v2 (with the residual block)")
      ("ndf", po::value(&t.ndf)->default_value(t.ndf), "train: the encoder's width; 0: the GAN's discriminator width")
      ("batch", po::value(&t.batch)->default_value(t.batch), "train: minibatch size; apply: images per forward pass (1 to 4096)")
      ("epochs", po::value(&t.epochs)->default_value(t.epochs), "train: epochs in all (an epoch: images with embeddings / batch minibatches)")
      ("lr", po::value(&t.lr)->default_value(t.lr, "2e-4"), "train: Adam's learning rate")
      ("lr-halve-every", po::value(&t.lr_halve_every)->default_value(t.lr_halve_every), "train: halve the learning rate every N epochs; 0: never")
      ("beta1", po::value(&t.beta1)->default_value(t.beta1), "train: Adam's beta1")
      ("captions-per-image", po::value(&t.captions_per_image)->default_value(t.captions_per_image), "train: condition G on the mean of this many of an image's caption embeddings, drawn anew each time (as train-gan)")
      ("g-bn", po::value(&t.g_bn)->default_value(t.g_bn), "train: the generator's batch norm: running (its running statistics, as generate renders) or batch (minibatch statistics)")
      ("checkpoint-every", po::value(&t.checkpoint_every)->default_value(t.checkpoint_every), "train: save the checkpoint every N epochs (and at the end)")
      ("log", po::value(&t.log_path), "train: TSV of every minibatch's loss and cosine(z, S(G(z))) (appended to on --resume)")
      ("resume", po::bool_switch(&t.resume), "train: continue the training saved in -o's checkpoint, exactly, with its settings (an option given with another value is ignored, with a warning; -m defaults to the GAN it recorded)");
  cli.add_compute_options();
  return cli.run(argc, argv, [&] {
    if (cli.args().empty()) fail<UsageError>("expected a subcommand: train or apply");
    const std::string sub = cli.args()[0];
    if (sub == "train") {
      cli.expect_args(1, 1);
      if (models.size() > 1) fail<UsageError>("train: -m given {} times; expected one GAN checkpoint", models.size());
      if (!models.empty()) t.gan_path = models.front();
      if (!cli.given("output")) out_path.clear();
      t.out_path = out_path;
      return train(cli, t);
    }
    if (sub == "apply") {
      cli.expect_args(1, 2);
      for (const char* opt : {"embeddings", "arch", "ndf", "epochs", "lr", "lr-halve-every", "beta1",
                              "captions-per-image", "g-bn", "checkpoint-every", "log", "resume"})
        if (cli.given(opt)) fail<UsageError>("--{} is an option of invert-style train, not apply", opt);
      if (cli.given("batch")) apply_batch = t.batch;
      return apply(cli, models, cli.args().size() > 1 ? cli.args()[1] : "-", out_path, apply_batch);
    }
    fail<UsageError>("unknown subcommand '{}': expected train or apply", sub);
  });
}
