#include "nn/text_checkpoint.h"

#include <fmt/format.h>

#include "error.h"

namespace t2i::nn {

namespace {
i64 positive(const Checkpoint& ck, const char* key) {
  const std::string& v = ck.meta(key);
  try {
    std::size_t used = 0;
    long long n = std::stoll(v, &used);
    if (used == v.size() && n > 0 && n <= (1 << 20)) return n;
  } catch (const std::exception&) {
  }
  fail<InputError>("{}: __metadata__ '{}' is '{}', expected a positive integer", ck.source(), key, v);
}

// Checks that the checkpoint holds, under prefix, exactly the tensors of ps.
void check_part(const Checkpoint& ck, const ParamSet& ps, const std::string& prefix) {
  Checkpoint part;
  for (const auto& name : ck.names())
    if (name.rfind(prefix, 0) == 0) part.add(name, ck.get(name));
  try {
    part.check(ps.specs(prefix));
  } catch (const InputError& e) {
    std::string what = e.what();
    fail<InputError>("{}{}", ck.source(), what.substr(what.find(':')));
  }
}
}  // namespace

std::map<std::string, std::string> TextModelConfig::to_metadata() const {
  return {{"model", "t2igan-text"},
          {"alphabet", std::to_string(text.alphabet)},
          {"length", std::to_string(text.length)},
          {"c1", std::to_string(text.c1)},
          {"c2", std::to_string(text.c2)},
          {"c3", std::to_string(text.c3)},
          {"cell", text.cell == RnnCell::kGru ? "gru" : "relu"},
          {"emb_dim", std::to_string(text.emb_dim)},
          {"image_ndf", std::to_string(image.ndf)},
          {"norm", fmt::format("{:.9g}", text.norm)}};
}

TextModelConfig TextModelConfig::from_checkpoint(const Checkpoint& ck) {
  auto it = ck.metadata.find("model");
  if (it == ck.metadata.end() || it->second != "t2igan-text")
    fail<InputError>("{}: not a t2igan text model (__metadata__ model is not 't2igan-text')", ck.source());
  TextModelConfig c;
  c.text.alphabet = positive(ck, "alphabet");
  c.text.length = positive(ck, "length");
  c.text.c1 = positive(ck, "c1");
  c.text.c2 = positive(ck, "c2");
  c.text.c3 = positive(ck, "c3");
  c.text.emb_dim = positive(ck, "emb_dim");
  const std::string& cell = ck.meta("cell");
  if (cell == "gru") c.text.cell = RnnCell::kGru;
  else if (cell == "relu") c.text.cell = RnnCell::kRelu;
  else fail<InputError>("{}: __metadata__ 'cell' is '{}', expected gru or relu", ck.source(), cell);
  c.image.ndf = positive(ck, "image_ndf");
  c.image.emb_dim = c.text.emb_dim;
  // Models written before the option have no key: the raw projection.
  if (ck.metadata.count("norm")) {
    const std::string& v = ck.meta("norm");
    float norm = -1;
    try {
      std::size_t used = 0;
      norm = std::stof(v, &used);
      if (used != v.size()) norm = -1;
    } catch (const std::exception&) {
    }
    if (!(norm >= 0 && norm <= 1e6))
      fail<InputError>("{}: __metadata__ 'norm' is '{}', expected a number >= 0", ck.source(), v);
    c.text.norm = c.image.norm = norm;
  }
  return c;
}

void save_text_model(const std::string& path, const TextModelConfig& cfg, TextEncoder& text, ImageEncoder& image,
                     const Optimizer* opt_text, const Optimizer* opt_image,
                     const std::map<std::string, std::string>& extra_metadata) {
  Checkpoint ck;
  ck.metadata = cfg.to_metadata();
  for (const auto& [k, v] : extra_metadata) ck.metadata[k] = v;
  text.params().save_to(ck, kTextPrefix);
  image.params().save_to(ck, kImagePrefix);
  if (opt_text) opt_text->save_to(ck, std::string("optimizer.") + kTextPrefix);
  if (opt_image) opt_image->save_to(ck, std::string("optimizer.") + kImagePrefix);
  ck.save(path);
}

void require_image_encoder(const Checkpoint& ck) {
  if (!has_part(ck, "image_encoder"))
    fail<InputError>("{}: an inference model made by export-model ({} only); this needs the image encoder too: the "
                     "training checkpoint, or an export made with export-model --with-image-encoder",
                     ck.source(), ck.meta(kExportPartsKey));
}

void load_text_model(const Checkpoint& ck, TextEncoder& text, ImageEncoder* image, Optimizer* opt_text,
                     Optimizer* opt_image) {
  check_part(ck, text.params(), kTextPrefix);
  text.params().load_from(ck, kTextPrefix);
  if (image) {
    require_image_encoder(ck);
    check_part(ck, image->params(), kImagePrefix);
    image->params().load_from(ck, kImagePrefix);
  }
  if (opt_text) opt_text->load_from(ck, std::string("optimizer.") + kTextPrefix);
  if (opt_image) opt_image->load_from(ck, std::string("optimizer.") + kImagePrefix);
}

}  // namespace t2i::nn
