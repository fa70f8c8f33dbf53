// train-text: train the char-CNN-RNN text encoder and an image encoder jointly with the DS-SJE
// loss (PAPER.md section 3), on an image stream from pack-images and captions from list-captions.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
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
#include "rng.h"
#include "stop_signal.h"
#include "stream.h"
#include "text/charset.h"

namespace {

using namespace t2i;

// The tool's own random numbers (batch composition, crops, flips): common/rng.h's SplitMix64,
// whose state is kept in the checkpoint's metadata so that --resume continues the same sequence.
using TrainRng = SplitMix64;

struct ImageEntry {
  std::string key;
  std::vector<std::string> captions;
};

struct Data {
  std::vector<std::string> classes;               // sorted
  std::vector<std::vector<ImageEntry>> by_class;  // images with captions, per class
  std::size_t images = 0, captions = 0;
};

Data read_data(KeyedReader& images, const std::string& captions_path) {
  std::map<std::string, std::vector<std::string>> caps;
  std::size_t unknown = 0;
  for (CaptionLine& c : read_caption_lines(captions_path)) {
    if (!images.contains(c.key)) {
      ++unknown;
      continue;
    }
    caps[c.key].push_back(std::move(c.caption));
  }
  if (unknown > 0) log::warn("{}: ignored {} captions of images not in {}", captions_path, unknown, images.name());
  Data d;
  std::map<std::string, std::vector<ImageEntry>> by_class;
  std::size_t without = 0;
  for (const std::string& key : images.keys()) {
    auto it = caps.find(key);
    if (it == caps.end()) {
      ++without;
      continue;
    }
    d.images++, d.captions += it->second.size();
    by_class[class_of(key)].push_back({key, std::move(it->second)});
  }
  if (without > 0) log::warn("{}: {} images have no caption in {} and are not used", images.name(), without, captions_path);
  if (d.images == 0) fail<InputError>("no image of {} has a caption in {}", images.name(), captions_path);
  for (auto& [c, v] : by_class) {
    d.classes.push_back(c);
    d.by_class.push_back(std::move(v));
  }
  return d;
}

Tensor checked_image(KeyedReader& images, const std::string& key) {
  Tensor t = images.get(key);
  const Shape& sh = t.shape();
  if (t.dtype() != DType::kUInt8 || sh.size() != 3 || sh[0] != 3 || sh[1] != sh[2] || sh[1] < 64)
    fail<InputError>("{}: record '{}' is not uint8 [3,S,S] with S >= 64 (use pack-images --size 64 or more)",
                     images.name(), printable_key(key));
  return t;
}

std::string format_losses(const std::vector<double>& losses) {
  std::string s;
  for (double l : losses) s += (s.empty() ? "" : ",") + fmt::format("{:.9g}", l);
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  t2i::Cli cli({
      .name = "train-text",
      .purpose = "train the char-CNN-RNN text encoder and an image encoder jointly (DS-SJE, Reed et al. CVPR 2016)",
      .usage = "train-text --images <images.t2i> --captions <captions.tsv> -o <text.st> [options]",
      .example = "pack-images data/birds --split trainval > tr.t2i\n"
                 "list-captions data/birds --split trainval > tr.tsv\n"
                 "train-text --images tr.t2i --captions tr.tsv -o text.st",
      .see_also = "eval-text(1), encode-text(1), pack-images(1), list-captions(1)",
  });
  std::string images_path, captions_path, out_path, cell_text = "gru", optimizer = "adam";
  int epochs = 300, batch = 0, checkpoint_every = 10, mean_captions = 1;
  double lr = 2e-4, lr_decay = 0.98, beta1 = 0.5, norm = 4;
  long c1 = 384, c2 = 512, c3 = 256, emb_dim = 1024, image_ndf = 64;
  bool resume = false;
  cli.options().add_options()
      ("images", po::value(&images_path), "image stream from pack-images: uint8 [3,S,S] records, S >= 64, keyed class/name")
      ("captions", po::value(&captions_path), "captions, 'image-key<TAB>caption' lines (list-captions)")
      ("output,o", po::value(&out_path), "the text model checkpoint to write (safetensors)")
      ("epochs", po::value(&epochs)->default_value(epochs), "epochs to train in all (an epoch: images / batch minibatches)")
      ("batch", po::value(&batch)->default_value(batch), "classes (pairs) per minibatch; 0: min(40, classes)")
      ("mean-captions", po::value(&mean_captions)->default_value(mean_captions),
       "K: a pair's text side is the mean embedding of K captions of its class (the row image's and K - 1 "
       "drawn from the class), as the zero-shot score uses class means; 1: one caption, as the paper")
      ("optimizer", po::value(&optimizer)->default_value(optimizer), "adam or rmsprop (the CVPR code's; see NOTES)")
      ("lr", po::value(&lr)->default_value(lr), "learning rate (the CVPR code: rmsprop with 0.0007)")
      ("beta1", po::value(&beta1)->default_value(beta1), "Adam's beta1")
      ("norm", po::value(&norm)->default_value(norm), "scale both embeddings to this L2 norm; 0: the raw projections, as the paper")
      ("lr-decay", po::value(&lr_decay)->default_value(lr_decay), "learning rate factor per epoch")
      ("c1", po::value(&c1)->default_value(c1), "first temporal convolution's width")
      ("c2", po::value(&c2)->default_value(c2), "second temporal convolution's width")
      ("c3", po::value(&c3)->default_value(c3), "third temporal convolution's width (the RNN's hidden size)")
      ("cell", po::value(&cell_text)->default_value(cell_text), "recurrent cell: gru or relu")
      ("emb-dim", po::value(&emb_dim)->default_value(emb_dim), "embedding dimension")
      ("image-ndf", po::value(&image_ndf)->default_value(image_ndf), "image encoder width")
      ("checkpoint-every", po::value(&checkpoint_every)->default_value(checkpoint_every), "save the checkpoint every N epochs (and at the end)")
      ("resume", po::bool_switch(&resume), "continue the training saved in -o's checkpoint, with its settings (an option given with another value is ignored, with a warning)");
  cli.add_compute_options();
  return cli.run(argc, argv, [&] {
    cli.expect_args(0, 0);
    if (images_path.empty() || captions_path.empty() || out_path.empty())
      fail<UsageError>("--images, --captions and -o are required");
    if (epochs < 1) fail<UsageError>("--epochs {}: expected at least 1", epochs);
    if (batch != 0 && (batch < 2 || batch > 4096)) fail<UsageError>("--batch {}: expected 2 to 4096", batch);
    if (mean_captions < 1 || mean_captions > 64) fail<UsageError>("--mean-captions {}: expected 1 to 64", mean_captions);
    if (!(lr > 0) || !(lr_decay > 0) || lr_decay > 1) fail<UsageError>("--lr must be > 0 and --lr-decay in (0, 1]");
    if (optimizer != "adam" && optimizer != "rmsprop") fail<UsageError>("--optimizer {}: expected adam or rmsprop", optimizer);
    if (!(beta1 >= 0 && beta1 < 1)) fail<UsageError>("--beta1 {}: expected a number in [0, 1)", beta1);
    if (!(norm >= 0 && norm <= 1e6)) fail<UsageError>("--norm {}: expected a number >= 0", norm);
    if (checkpoint_every < 1) fail<UsageError>("--checkpoint-every {}: expected at least 1", checkpoint_every);
    if (cell_text != "gru" && cell_text != "relu") fail<UsageError>("--cell {}: expected gru or relu", cell_text);
    if (c1 < 1 || c2 < 1 || c3 < 1 || emb_dim < 1 || image_ndf < 1)
      fail<UsageError>("--c1, --c2, --c3, --emb-dim and --image-ndf must be positive");
    const auto& compute = cli.compute();

    nn::TextModelConfig cfg;
    // The seed draws the initial weights and starts the random number state, which a checkpoint
    // keeps (train.rng_state): a resumed run goes on from the checkpoint's, whatever --seed says.
    std::uint64_t seed = compute.seed;
    std::uint64_t rng_state = seed * 0x2545F4914F6CDD1Dull + 0x632BE59BD9B4E5ull;
    int start_epoch = 0;
    std::size_t start_step = 0;  // minibatches done of epoch start_epoch + 1 (a run stopped mid-epoch)
    double start_sum = 0;        // and the sum of their losses
    std::string ck_steps;
    std::vector<double> losses;
    std::optional<Checkpoint> ck;
    std::string previous_commands;  // the resumed checkpoint's train.commands
    if (resume) {
      if (!std::filesystem::exists(out_path)) fail<InputError>("--resume: no checkpoint {} to continue", out_path);
      ck = Checkpoint::load(out_path);
      require_training_checkpoint(*ck, "--resume");
      if (ck->metadata.count(kCommandsKey)) previous_commands = ck->meta(kCommandsKey);
      cfg = nn::TextModelConfig::from_checkpoint(*ck);
      // The checkpoint's settings hold; an option given with another value is ignored with a warning.
      auto keep = [&](const std::string& option, auto& var, const auto& value) { cli.resumed(option, var, value, out_path); };
      keep("c1", c1, cfg.text.c1);
      keep("c2", c2, cfg.text.c2);
      keep("c3", c3, cfg.text.c3);
      keep("cell", cell_text, std::string(cfg.text.cell == nn::RnnCell::kGru ? "gru" : "relu"));
      keep("emb-dim", emb_dim, cfg.text.emb_dim);
      keep("image-ndf", image_ndf, cfg.image.ndf);
      float norm_kept = static_cast<float>(norm);  // the checkpoint keeps a float
      keep("norm", norm_kept, cfg.text.norm);
      norm = norm_kept;
      start_epoch = std::stoi(ck->meta("train.epoch"));
      rng_state = std::stoull(ck->meta("train.rng_state"));
      // Checkpoints from before a stop could save mid-epoch are at an epoch's end.
      if (ck->metadata.count("train.minibatch")) {
        start_step = std::stoull(ck->meta("train.minibatch"));
        start_sum = std::stod(ck->meta("train.epoch_loss_sum"));
        ck_steps = ck->meta("train.minibatches_per_epoch");
      }
      keep("lr", lr, std::stod(ck->meta("train.lr")));
      keep("lr-decay", lr_decay, std::stod(ck->meta("train.lr_decay")));
      if (batch == 0)  // the default: min(40, classes), which the checkpoint records as a number
        batch = std::stoi(ck->meta("train.batch"));
      else
        keep("batch", batch, std::stoi(ck->meta("train.batch")));
      // Checkpoints from before train.seed was recorded cannot say which seed they had.
      if (ck->metadata.count("train.seed")) keep("seed", seed, std::stoull(ck->meta("train.seed")));
      keep("optimizer", optimizer, ck->meta("train.optimizer"));
      keep("beta1", beta1, std::stod(ck->meta("train.beta1")));
      // Checkpoints from before --mean-captions trained with one caption a pair.
      keep("mean-captions", mean_captions,
           ck->metadata.count("train.mean_captions") ? std::stoi(ck->meta("train.mean_captions")) : 1);
      const std::string& l = ck->meta("train.losses");
      for (std::size_t p = 0; p < l.size();) {
        auto q = l.find(',', p);
        losses.push_back(std::stod(l.substr(p, q - p)));
        p = q == std::string::npos ? l.size() : q + 1;
      }
      if (start_step > 0 && start_epoch >= epochs)
        fail<UsageError>("--epochs {}: {} was stopped in epoch {}; resume with --epochs {} or more", epochs, out_path,
                         start_epoch + 1, start_epoch + 1);
      if (start_epoch >= epochs) {
        log::info("{} has {} epochs already; nothing to do", out_path, start_epoch);
        return 0;
      }
    } else {
      cfg.text.c1 = c1, cfg.text.c2 = c2, cfg.text.c3 = c3;
      cfg.text.cell = cell_text == "gru" ? nn::RnnCell::kGru : nn::RnnCell::kRelu;
      cfg.text.emb_dim = emb_dim;
      cfg.image.ndf = image_ndf, cfg.image.emb_dim = emb_dim;
      cfg.text.norm = cfg.image.norm = static_cast<float>(norm);
    }

    KeyedReader images(images_path);
    Data data = read_data(images, captions_path);
    const int nclasses = static_cast<int>(data.classes.size());
    if (nclasses < 2) fail<InputError>("{}: {} class with captions; DS-SJE needs at least 2", images_path, nclasses);
    if (batch == 0) batch = std::min(40, nclasses);
    if (batch > nclasses)
      fail<InputError>("--batch {}: only {} classes with captions; each minibatch takes distinct classes", batch, nclasses);
    const std::size_t steps = std::max<std::size_t>(1, data.images / static_cast<std::size_t>(batch));
    if (start_step > 0 && ck_steps != std::to_string(steps))
      fail<InputError>("{}: stopped in the middle of an epoch of {} minibatches; the data now gives {} (resume with the "
                       "same --images and --captions)", out_path, ck_steps, steps);
    if (start_step >= steps && start_step > 0)
      fail<InputError>("{}: train.minibatch {} is not a minibatch of an epoch of {}", out_path, start_step, steps);

    // The output must be writable; making a temporary there also installs file.h's handlers
    // (which remove temporaries on a fatal signal) before ours replace them for SIGINT/SIGTERM.
    { AtomicFile probe(out_path); }
    install_stop_handlers();

    auto be = nn::make_backend(backend_name(compute.backend));
    nn::TextEncoder text(cfg.text);
    nn::ImageEncoder image(cfg.image);
    text.bind(*be);
    image.bind(*be);
    nn::TextEmbeddingStep step(*be, image, text, {.kind = optimizer, .lr = lr, .beta1 = beta1});
    if (ck) {
      nn::load_text_model(*ck, text, &image, &step.opt_text(), &step.opt_image());
      ck.reset();
    } else {
      text.params().init(seed);
      image.params().init(seed + 1);
    }
    log::info("{} images, {} captions, {} classes; batch {}{}, {} minibatches an epoch, epochs {} to {}, backend {}",
              data.images, data.captions, nclasses, batch,
              mean_captions > 1 ? fmt::format(" (a mean of {} captions a pair)", mean_captions) : "", steps,
              start_epoch + 1, epochs, be->name());

    TrainRng rng{rng_state};
    const int B = batch, K = mean_captions;
    Tensor x(DType::kFloat32, {B, 3, 64, 64}), c(DType::kFloat32, {B * K, text::kAlphabetSize, text::kMaxLength});
    auto put_caption = [&](const std::string& caption, int row) {
      text::one_hot(text::encode(caption), c.span<float>().data() + std::size_t(row) * text::kAlphabetSize * text::kMaxLength);
    };
    std::vector<int> order(static_cast<std::size_t>(nclasses));
    const std::string commands = append_command(previous_commands, cli.command_line());
    int saved_epoch = start_epoch;
    // epoch: epochs completed; done, sum: minibatches done of the next one and their summed loss
    // (a run stopped mid-epoch), so that --resume continues exactly.
    auto save = [&](int epoch, std::size_t done = 0, double sum = 0) {
      std::map<std::string, std::string> meta = {
          {kCommandsKey, commands},
          {"train.epoch", std::to_string(epoch)},
          {"train.seed", std::to_string(seed)},
          {"train.minibatch", std::to_string(done)},
          {"train.minibatches_per_epoch", std::to_string(steps)},
          {"train.epoch_loss_sum", fmt::format("{:.17g}", sum)},
          {"train.rng_state", std::to_string(rng.state)},
          {"train.lr", fmt::format("{:.17g}", lr)},
          {"train.lr_decay", fmt::format("{:.17g}", lr_decay)},
          {"train.batch", std::to_string(batch)},
          {"train.optimizer", optimizer},
          {"train.beta1", fmt::format("{:.17g}", beta1)},
          {"train.mean_captions", std::to_string(mean_captions)},
          {"train.losses", format_losses(losses)},
      };
      nn::save_text_model(out_path, cfg, text, image, &step.opt_text(), &step.opt_image(), meta);
      saved_epoch = epoch;
    };

    Progress progress("training", static_cast<std::uint64_t>(epochs - start_epoch) * steps - start_step);
    for (int epoch = start_epoch; epoch < epochs; ++epoch) {
      const double epoch_lr = lr * std::pow(lr_decay, epoch);
      step.opt_text().set_lr(epoch_lr);
      step.opt_image().set_lr(epoch_lr);
      const bool first = epoch == start_epoch;
      double sum = first ? start_sum : 0;
      for (std::size_t s = first ? start_step : 0; s < steps; ++s) {
        if (stop_signal() != 0) {
          progress.finish();
          save(epoch, s, sum);
          fail<RuntimeError>("stopped by {} in epoch {} after minibatch {}; saved {} (continue with --resume)",
                             stop_signal_name(), epoch + 1, s, out_path);
        }
        for (int i = 0; i < nclasses; ++i) order[static_cast<std::size_t>(i)] = i;
        for (int b = 0; b < B; ++b) {
          std::swap(order[static_cast<std::size_t>(b)], order[static_cast<std::size_t>(b) + rng.below(static_cast<std::size_t>(nclasses - b))]);
          const auto& cls = data.by_class[static_cast<std::size_t>(order[static_cast<std::size_t>(b)])];
          const ImageEntry& im = cls[rng.below(cls.size())];
          const std::string& caption = im.captions[rng.below(im.captions.size())];
          Tensor t = checked_image(images, im.key);
          const std::int64_t room = t.shape()[2] - 64 + 1;
          const std::int64_t ox = static_cast<std::int64_t>(rng.below(static_cast<std::size_t>(room)));
          const std::int64_t oy = static_cast<std::int64_t>(rng.below(static_cast<std::size_t>(room)));
          const bool flip = (rng.next() >> 63) != 0;
          crop_to_floats(t, 64, ox, oy, flip, x.span<float>().data() + std::size_t(b) * 3 * 64 * 64);
          put_caption(caption, b * K);
          for (int j = 1; j < K; ++j) {
            const ImageEntry& other = cls[rng.below(cls.size())];
            put_caption(other.captions[rng.below(other.captions.size())], b * K + j);
          }
        }
        const float loss = step.run(nn::upload(*be, x), nn::upload(*be, c));
        if (!std::isfinite(loss)) {
          if (saved_epoch > start_epoch || resume)
            fail<RuntimeError>("the loss became {} in epoch {}, minibatch {}: stopped; {} holds the last good checkpoint "
                               "(epoch {})", std::isnan(loss) ? "NaN" : "infinite", epoch + 1, s + 1, out_path, saved_epoch);
          fail<RuntimeError>("the loss became {} in epoch {}, minibatch {}: stopped before any checkpoint was saved "
                             "(try a smaller --lr)", std::isnan(loss) ? "NaN" : "infinite", epoch + 1, s + 1);
        }
        sum += loss;
        progress.add();
        progress.set_status(fmt::format("epoch {} loss {:.4f}", epoch + 1, loss));
      }
      losses.push_back(sum / double(steps));
      log::info("epoch {} mean loss {:.6f} lr {:.6g}", epoch + 1, losses.back(), epoch_lr);
      if ((epoch + 1) % checkpoint_every == 0 || epoch + 1 == epochs) save(epoch + 1);
    }
    progress.finish();
    log::info("wrote {} ({} epochs, final mean loss {:.6f})", out_path, epochs, losses.back());
    return 0;
  });
}
