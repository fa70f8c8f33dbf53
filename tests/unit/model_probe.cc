// A test helper for tests/torch/state_dict_roundtrip.py: writes a GAN checkpoint with the
// outputs its nets give, and runs any GAN checkpoint (one PyTorch wrote, say) on given inputs.
//   t2i_model_probe write <arch>[+text][+shift] <checkpoint-out> <io-out>
//   t2i_model_probe run <checkpoint> <io-in> <outputs-out>
// io files are safetensors: in/z, in/emb, in/image and out/g (G in inference mode), out/d
// (D logits in inference mode), and with D's text head (+text: train-gan --text-head) out/text
// (its reading of in/image). +shift: G's text shifts (train-gan --g-text-shift).
#include <fmt/format.h>

#include <cstdio>

#include "checkpoint.h"
#include "error.h"
#include "nn/gan_checkpoint.h"
#include "nn/gan_step.h"
#include "nn/ref_backend.h"

using namespace t2i;
using namespace t2i::nn;

namespace {

Tensor random_tensor(Rng& rng, const Shape& s) {
  Tensor t(DType::kFloat32, s);
  for (float& v : t.span<float>()) v = static_cast<float>(rng.normal());
  return t;
}

void outputs(Backend& be, Generator& g, Discriminator& d, const Checkpoint& io, Checkpoint& out) {
  Array z = upload(be, io.get("in/z")), h = upload(be, io.get("in/emb")), img = upload(be, io.get("in/image"));
  out.add("out/g", download(be, g.forward(0, z, h, /*training=*/false)));
  out.add("out/d", download(be, d.forward(0, img, h, /*training=*/false)));
  if (d.config().d_text_head) out.add("out/text", download(be, d.text(0)));
}

int write(std::string arch, const std::string& ck_path, const std::string& io_path) {
  GanConfig cfg;
  auto take_suffix = [&](const std::string& suffix) {
    const std::size_t at = arch.find(suffix);
    if (at == std::string::npos || at == 0) return false;
    arch.erase(at, suffix.size());
    return true;
  };
  cfg.d_text_head = take_suffix("+text");
  cfg.g_text_shift = take_suffix("+shift");
  cfg.arch = arch_from_name(arch);
  cfg.z_dim = 10, cfg.emb_dim = 24, cfg.proj_dim = 8, cfg.ngf = 8, cfg.ndf = 8;
  auto be = make_backend("cpu");
  Generator g(cfg);
  Discriminator d(cfg);
  g.bind(*be);
  d.bind(*be);
  g.params().init(11);
  d.params().init(12);
  // One training step, so batch-norm statistics and Adam states are not at their initial values.
  Rng rng(13);
  const i64 n = 4;
  GanStepOptions opt = variant_options(GanVariant::kCls);
  opt.text_weight = cfg.d_text_head ? 1.0f : 0.0f;
  GanClsStep step(*be, g, d, opt);
  step.run(upload(*be, random_tensor(rng, {n, 3, 64, 64})), upload(*be, random_tensor(rng, {n, cfg.emb_dim})),
           upload(*be, random_tensor(rng, {n, cfg.emb_dim})), upload(*be, random_tensor(rng, {n, cfg.z_dim})));
  save_gan(ck_path, g, d, &step.opt_g(), &step.opt_d(), {{"note", "model_probe"}});
  Checkpoint io;
  io.add("in/z", random_tensor(rng, {3, cfg.z_dim}));
  io.add("in/emb", random_tensor(rng, {3, cfg.emb_dim}));
  io.add("in/image", random_tensor(rng, {3, 3, 64, 64}));
  outputs(*be, g, d, io, io);
  io.save(io_path);
  return 0;
}

int run(const std::string& ck_path, const std::string& io_path, const std::string& out_path) {
  Checkpoint ck = Checkpoint::load(ck_path);
  GanConfig cfg = gan_config(ck);
  auto be = make_backend("cpu");
  Generator g(cfg);
  Discriminator d(cfg);
  g.bind(*be);
  d.bind(*be);
  load_gan(ck, g, d);
  Checkpoint io = Checkpoint::load(io_path), out;
  outputs(*be, g, d, io, out);
  out.save(out_path);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    if (argc == 5 && std::string(argv[1]) == "write") return write(argv[2], argv[3], argv[4]);
    if (argc == 5 && std::string(argv[1]) == "run") return run(argv[2], argv[3], argv[4]);
    std::fprintf(stderr, "usage: t2i_model_probe write <arch> <ckpt-out> <io-out> | run <ckpt> <io-in> <out>\n");
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "t2i_model_probe: error: %s\n", e.what());
    return 2;
  }
}
