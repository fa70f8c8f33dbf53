// t2i_make_text_model: writes an untrained text model with random weights, for the encode-text
// CLI tests and throughput measurements.
//   t2i_make_text_model OUT SEED [C1 C2 C3 EMB NDF]   (default sizes: 16 16 16 24 4)
#include <cstdio>
#include <exception>
#include <string>

#include "nn/backend.h"
#include "nn/ref_backend.h"
#include "nn/text_checkpoint.h"

int main(int argc, char** argv) {
  using namespace t2i::nn;
  if (argc != 3 && argc != 8) {
    std::fprintf(stderr, "usage: t2i_make_text_model OUT SEED [C1 C2 C3 EMB NDF]\n");
    return 1;
  }
  try {
    TextModelConfig cfg;
    cfg.text.c1 = cfg.text.c2 = cfg.text.c3 = 16;
    cfg.text.emb_dim = cfg.image.emb_dim = 24;
    cfg.image.ndf = 4;
    if (argc == 8) {
      cfg.text.c1 = std::stoll(argv[3]);
      cfg.text.c2 = std::stoll(argv[4]);
      cfg.text.c3 = std::stoll(argv[5]);
      cfg.text.emb_dim = cfg.image.emb_dim = std::stoll(argv[6]);
      cfg.image.ndf = std::stoll(argv[7]);
    }
    const auto seed = std::stoull(argv[2]);
    auto be = make_backend("cpu");
    TextEncoder text(cfg.text);
    ImageEncoder image(cfg.image);
    text.bind(*be);
    image.bind(*be);
    text.params().init(seed);
    image.params().init(seed + 1);
    save_text_model(argv[1], cfg, text, image, nullptr, nullptr);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "t2i_make_text_model: %s\n", e.what());
    return 1;
  }
  return 0;
}
