// encode-text: captions through the char-CNN-RNN text encoder of a text model, as a stream of
// float32 [emb_dim] embeddings keyed by image (mean of its captions) or by caption.
#include <fmt/format.h>

#include <chrono>
#include <cstring>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "checkpoint.h"
#include "cli.h"
#include "error.h"
#include "file.h"
#include "log.h"
#include "nn/backend.h"
#include "nn/ref_backend.h"
#include "nn/text_checkpoint.h"
#include "nn/text_encoder.h"
#include "progress.h"
#include "stream.h"
#include "text/charset.h"

namespace {

constexpr std::size_t kMaxLineBytes = std::size_t{1} << 20;

// Lines of an InputFile, read in chunks, each at most kMaxLineBytes (without its ending).
class LineReader {
 public:
  explicit LineReader(t2i::InputFile& in) : in_(in), buf_(1 << 16) {}

  // The next line without "\n" or "\r\n"; false at the end. Counts lines from 1.
  bool next(std::string* line) {
    line->clear();
    bool any = false;
    for (;;) {
      if (pos_ == end_) {
        end_ = in_.read(buf_.data(), buf_.size());
        pos_ = 0;
        if (end_ == 0) {
          if (!any) return false;
          break;
        }
      }
      any = true;
      const char* start = buf_.data() + pos_;
      const void* nl = std::memchr(start, '\n', end_ - pos_);
      const std::size_t n = nl ? static_cast<std::size_t>(static_cast<const char*>(nl) - start) : end_ - pos_;
      if (line->size() + n > kMaxLineBytes + 1)  // + 1: room for a "\r" before the "\n"
        t2i::fail<t2i::InputError>("{}: line {} is longer than {} bytes", in_.name(), number_ + 1, kMaxLineBytes);
      line->append(start, n);
      pos_ += n;
      if (nl) {
        ++pos_;
        break;
      }
    }
    ++number_;
    if (!line->empty() && line->back() == '\r') line->pop_back();
    if (line->size() > kMaxLineBytes)
      t2i::fail<t2i::InputError>("{}: line {} is longer than {} bytes", in_.name(), number_, kMaxLineBytes);
    return true;
  }
  std::uint64_t number() const { return number_; }

 private:
  t2i::InputFile& in_;
  std::vector<char> buf_;
  std::size_t pos_ = 0, end_ = 0;
  std::uint64_t number_ = 0;
};

struct Caption {
  std::string key;
  std::string text;
};

}  // namespace

int main(int argc, char** argv) {
  using namespace t2i;
  Cli cli({
      .name = "encode-text",
      .purpose = "embed captions with the text encoder of a text model: a stream of float32 [emb_dim] arrays, "
                 "the mean of each key's captions or one per caption",
      .usage = "encode-text -m <text-model> [options] [<captions-file>|-] > <embeddings-out>",
      .example = "list-captions data/birds | encode-text -m text.st > emb.t2i\n"
                 "echo \"a small red bird with a white belly\" | encode-text -m text.st | tensor-info",
      .see_also = "list-captions(1), tensor-info(1), t2i-stream(5)",
  });
  std::string model_path, out_path = "-", mode_text = "mean";
  int batch = 64;
  bool bare = false, strict = false;
  cli.options().add_options()
      ("model,m", po::value(&model_path), "the text model checkpoint (required)")
      ("output,o", po::value(&out_path)->default_value(out_path), "output stream ('-': stdout)")
      ("mode", po::value(&mode_text)->default_value(mode_text), "mean: one record per key, the mean of its captions' embeddings; each: one record per caption, keyed key/index")
      ("batch", po::value(&batch)->default_value(batch), "captions per forward pass (1 to 65536)")
      ("bare", po::bool_switch(&bare), "every line is a bare caption (tabs included), keyed line-N by its line number")
      ("strict", po::bool_switch(&strict), "an empty line is an error instead of being skipped");
  cli.add_compute_options();
  return cli.run(argc, argv, [&] {
    cli.expect_args(0, 1);
    if (model_path.empty()) fail<UsageError>("--model is required");
    if (mode_text != "mean" && mode_text != "each") fail<UsageError>("--mode '{}': expected mean or each", mode_text);
    const bool each = mode_text == "each";
    if (batch < 1 || batch > 65536) fail<UsageError>("--batch {}: expected 1 to 65536", batch);
    const std::string in_path = cli.args().empty() ? "-" : cli.args()[0];

    Checkpoint ck = Checkpoint::load(model_path);
    nn::TextModelConfig cfg = nn::TextModelConfig::from_checkpoint(ck);
    auto be = nn::make_backend(backend_name(cli.compute().backend));
    nn::TextEncoder encoder(cfg.text);
    encoder.bind(*be);
    nn::load_text_model(ck, encoder, nullptr);
    const std::int64_t alphabet = cfg.text.alphabet, length = cfg.text.length;
    if (alphabet != text::kAlphabetSize)
      fail<InputError>("{}: alphabet {} in the checkpoint; encode-text knows the {}-symbol alphabet", model_path,
                       alphabet, text::kAlphabetSize);
    const std::size_t emb = static_cast<std::size_t>(cfg.text.emb_dim);
    log::debug("{}: c1 {} c2 {} c3 {}, emb_dim {}, length {}, backend {}", model_path, cfg.text.c1, cfg.text.c2,
               cfg.text.c3, emb, length, be->name());

    InputFile in(in_path);
    LineReader lines(in);
    StreamWriter writer(out_path);
    Progress progress("encoding captions", 0);

    // Mean mode: sums per key in order of first appearance; each mode: captions per key so far.
    std::unordered_map<std::string, std::size_t> key_index;
    std::vector<std::string> keys;
    std::vector<std::vector<double>> sums;
    std::vector<std::uint64_t> counts;

    std::uint64_t captions = 0, empty = 0, cut = 0, unknown_only = 0;
    const std::size_t per_caption = static_cast<std::size_t>(alphabet * length);
    std::vector<Caption> pending;
    pending.reserve(static_cast<std::size_t>(batch));
    const auto start = std::chrono::steady_clock::now();

    auto flush = [&] {
      if (pending.empty()) return;
      const std::size_t n = pending.size();
      Tensor onehot(DType::kFloat32, {static_cast<std::int64_t>(n), alphabet, length});
      float* data = onehot.span<float>().data();
      for (std::size_t i = 0; i < n; ++i) {
        text::Encoded e = text::encode(pending[i].text, static_cast<int>(length));
        if (e.characters > length) ++cut;
        bool known = false;
        for (std::int16_t s : e.symbols) known = known || s >= 0;
        if (!known) ++unknown_only;
        text::one_hot(e, data + i * per_caption, static_cast<int>(length));
      }
      nn::Array x = nn::upload(*be, onehot);
      std::vector<float> y = nn::to_vector(*be, encoder.forward(0, x));
      for (std::size_t i = 0; i < n; ++i) {
        const float* row = y.data() + i * emb;
        auto [it, added] = key_index.try_emplace(pending[i].key, keys.size());
        if (added) {
          keys.push_back(pending[i].key);
          counts.push_back(0);
          if (!each) sums.emplace_back(emb, 0.0);
        }
        const std::size_t k = it->second;
        if (each) {
          Tensor t(DType::kFloat32, {static_cast<std::int64_t>(emb)});
          std::memcpy(t.span<float>().data(), row, emb * sizeof(float));
          writer.write(fmt::format("{}/{}", pending[i].key, counts[k]), t);
        } else {
          for (std::size_t j = 0; j < emb; ++j) sums[k][j] += row[j];
        }
        ++counts[k];
      }
      captions += n;
      progress.add(n);
      pending.clear();
    };

    std::string line;
    while (lines.next(&line)) {
      if (line.empty()) {
        if (strict) fail<InputError>("{}: line {} is empty (--strict)", in.name(), lines.number());
        ++empty;
        continue;
      }
      Caption c;
      const std::size_t tab = bare ? std::string::npos : line.find('\t');
      if (tab == std::string::npos) {
        c.key = fmt::format("line-{}", lines.number());
        c.text = line;
      } else {
        c.key = line.substr(0, tab);
        c.text = line.substr(tab + 1);
        if (std::string why = key_problem(c.key); !why.empty())
          fail<InputError>("{}: line {}: key '{}' {}", in.name(), lines.number(), printable_key(c.key), why);
        // Each mode appends "/index": the key must stay within the limit then too.
        if (each && c.key.size() + 21 > kMaxKeyBytes)
          fail<InputError>("{}: line {}: key of {} bytes is too long for --mode each", in.name(), lines.number(),
                           c.key.size());
      }
      pending.push_back(std::move(c));
      if (pending.size() == static_cast<std::size_t>(batch)) flush();
    }
    flush();

    if (!each) {
      for (std::size_t k = 0; k < keys.size(); ++k) {
        Tensor t(DType::kFloat32, {static_cast<std::int64_t>(emb)});
        float* out = t.span<float>().data();
        for (std::size_t j = 0; j < emb; ++j) out[j] = static_cast<float>(sums[k][j] / static_cast<double>(counts[k]));
        writer.write(keys[k], t);
      }
    }
    writer.close();
    progress.finish();
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::string notes;
    if (empty) notes += fmt::format("; {} empty lines skipped", empty);
    if (cut) notes += fmt::format("; {} captions cut at {} characters", cut, length);
    if (unknown_only) notes += fmt::format("; {} captions with no known character", unknown_only);
    log::info("encoded {} captions of {} keys into {} records ({} mode, emb_dim {}) in {:.2f} s, {:.1f} captions/s{}",
              captions, keys.size(), writer.records(), mode_text, emb, seconds,
              seconds > 0 ? static_cast<double>(captions) / seconds : 0.0, notes);
    return 0;
  });
}
