// export-model: a training checkpoint to a small inference model: only the networks a tool
// runs (the generator of a GAN, the text encoder of a text model, ...), no optimiser states,
// optionally with float16 storage.
#include <fmt/format.h>

#include <filesystem>
#include <string>
#include <vector>

#include "checkpoint.h"
#include "cli.h"
#include "error.h"
#include "log.h"
#include "nn/gan_checkpoint.h"
#include "nn/judge.h"
#include "nn/style_encoder.h"
#include "nn/text_checkpoint.h"

using namespace t2i;

namespace {

// The tensors an export keeps, by name prefix, and the parts it names in export.parts.
struct Keep {
  std::vector<std::string> prefixes;
  std::vector<std::string> parts;
};

Keep what_to_keep(const Checkpoint& ck, bool image_encoder) {
  auto it = ck.metadata.find("model");
  const std::string model = it == ck.metadata.end() ? "" : it->second;
  if (model == "t2igan-gan")
    return {{nn::kGeneratorPrefix, nn::kEmbeddingNormMean}, {"generator"}};
  if (model == "t2igan-text") {
    if (image_encoder) return {{nn::kTextPrefix, nn::kImagePrefix}, {"text_encoder", "image_encoder"}};
    return {{nn::kTextPrefix}, {"text_encoder"}};
  }
  if (model == nn::kStyleModel) return {{nn::kStylePrefix}, {"style_encoder"}};
  if (model == nn::kJudgeModel) return {{nn::kJudgePrefix}, {"judge"}};
  fail<InputError>("{}: {}; expected a checkpoint of train-gan, train-text, invert-style train or train-judge",
                   ck.source(), nn::model_kind_text(ck));
}

}  // namespace

int main(int argc, char** argv) {
  Cli cli({
      .name = "export-model",
      .purpose = "a training checkpoint to a small inference model: the networks a tool runs, without the "
                 "discriminator and the optimiser states, float16 storage by default",
      .usage = "export-model [options] <checkpoint.st> -o <model.st>",
      .example = "export-model gan.st -o gan-small.st        # the generator, float16: generate and invert-style train read it\n"
                 "export-model text.st -o text-small.st      # the text encoder: encode-text reads it\n"
                 "echo \"a red bird with black wings\" | encode-text -m text-small.st | generate -m gan-small.st -n 8 | montage > red.png",
      .see_also = "generate(1), encode-text(1), train-gan(1), train-text(1), tensor-info(1)",
  });
  std::string out_path, dtype = "f16";
  bool image_encoder = false;
  cli.options().add_options()
      ("output,o", po::value(&out_path), "the model to write (required; written to a temporary name and renamed)")
      ("dtype", po::value(&dtype)->default_value(dtype), "f16: store the float32 weights as IEEE float16, rounded to nearest (half the size; the tools widen them back on load); f32: as they are")
      ("with-image-encoder", po::bool_switch(&image_encoder), "text models: keep the jointly trained image encoder too (eval-text and eval-images need it)");
  return cli.run(argc, argv, [&] {
    cli.expect_args(1, 1);
    if (out_path.empty() || out_path == "-") fail<UsageError>("-o: the model file to write is required (not '-')");
    if (dtype != "f16" && dtype != "f32") fail<UsageError>("--dtype '{}': expected f16 or f32", dtype);
    const std::string in_path = cli.args()[0];
    if (std::filesystem::exists(out_path) && std::filesystem::exists(in_path) &&
        std::filesystem::equivalent(out_path, in_path))
      fail<UsageError>("-o {}: is the input checkpoint; write the export to another file", out_path);

    const Checkpoint ck = Checkpoint::load(in_path);
    if (ck.metadata.count(kExportPartsKey))
      fail<InputError>("{}: is already an export (export.parts: {}); export the training checkpoint", in_path,
                       ck.meta(kExportPartsKey));
    const bool is_text = ck.metadata.count("model") && ck.meta("model") == "t2igan-text";
    if (image_encoder && !is_text)
      fail<UsageError>("--with-image-encoder: {} is {}, not a text model", in_path, nn::model_kind_text(ck));
    const Keep keep = what_to_keep(ck, image_encoder);

    Checkpoint out;
    out.metadata = ck.metadata;
    std::size_t kept = 0, dropped = 0;
    std::int64_t kept_values = 0;
    for (const auto& name : ck.names()) {
      bool wanted = false;
      for (const auto& p : keep.prefixes) wanted = wanted || name.rfind(p, 0) == 0;
      if (!wanted) {
        ++dropped;
        continue;
      }
      out.add(name, ck.get(name));
      ++kept;
      kept_values += ck.get(name).numel();
    }
    if (kept == 0) fail<InputError>("{}: holds no tensor named {}...", in_path, keep.prefixes.front());
    std::string parts;
    for (const auto& p : keep.parts) parts += (parts.empty() ? "" : ",") + p;
    out.metadata[kExportPartsKey] = parts;
    out.metadata["export.dtype"] = dtype;
    out.metadata["export.source"] = std::filesystem::path(in_path).filename().string();
    out.metadata["export.command"] = cli.command_line();
    out.save(out_path, dtype == "f16");

    const auto in_bytes = std::filesystem::file_size(in_path), out_bytes = std::filesystem::file_size(out_path);
    log::info("{}: kept {} tensors ({} values: {}), dropped {}; {} -> {} ({:.1f} MB -> {:.2f} MB)", out_path, kept,
              kept_values, parts, dropped, in_path, out_path, double(in_bytes) / 1e6, double(out_bytes) / 1e6);
    return 0;
  });
}
