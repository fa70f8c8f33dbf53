// generate: the generator of a GAN checkpoint on a stream of text embeddings: -n images per
// embedding, keyed key/i, from seeded noise or from z vectors given as a stream.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "checkpoint.h"
#include "cli.h"
#include "error.h"
#include "log.h"
#include "nn/backend.h"
#include "nn/gan.h"
#include "nn/gan_checkpoint.h"
#include "progress.h"
#include "rng.h"
#include "stream.h"

namespace {

constexpr int kMaxSamples = 65536;

// 64-bit FNV-1a of a key: the noise of a record depends on its key, not on its position, so a
// stream split into parts (by key ranges, make -j) gives the same images as the whole.
std::uint64_t key_hash(std::string_view key) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : key) h = (h ^ c) * 0x100000001b3ULL;
  return h;
}

// A float32 record holding one vector of `dim` values, as [dim] or [1,dim].
bool is_vector(const t2i::Tensor& t, std::int64_t dim) {
  if (t.dtype() != t2i::DType::kFloat32) return false;
  const t2i::Shape& s = t.shape();
  return (s.size() == 1 && s[0] == dim) || (s.size() == 2 && s[0] == 1 && s[1] == dim);
}

// What a checkpoint of another kind is, for the message that refuses it.
std::string model_kind(const std::string& model) {
  if (model == "t2igan-text") return "a text model checkpoint (model 't2igan-text')";
  return fmt::format("a checkpoint of model '{}'", model);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace t2i;
  Cli cli({
      .name = "generate",
      .purpose = "images from text embeddings with the generator of a GAN checkpoint: -n float32 [3,64,64] "
                 "images in [-1,1] per embedding, keyed key/i, from seeded noise or given z vectors",
      .usage = "generate -m <gan-model> [options] [<embeddings-in>|-] > <images-out>",
      .example = "echo \"a small bird with a red crown and a white belly\" |\n"
                 "  encode-text -m text.st | generate -m gan.st -n 16 | montage --cols 4 > grid.png\n"
                 "generate -m gan.st -n 4 --write-z z.t2i < emb.t2i > a.t2i   # and the same images again:\n"
                 "generate -m gan.st -n 4 --z z.t2i < emb.t2i > b.t2i",
      .see_also = "encode-text(1), interpolate(1), montage(1), tensor-to-png(1), t2i-stream(5)",
  });
  std::string model_path, out_path = "-", z_path, write_z_path;
  int samples = 1, batch = 64;
  cli.options().add_options()
      ("model,m", po::value(&model_path), "the GAN checkpoint (required)")
      ("output,o", po::value(&out_path)->default_value(out_path), "output stream of images ('-': stdout)")
      ("samples,n", po::value(&samples)->default_value(samples), "images per embedding, keyed key/0 .. key/N-1 (1 to 65536)")
      ("z", po::value(&z_path), "take the noise vectors from this stream (float32 [z_dim] records): one per image in order, or one for every image")
      ("write-z", po::value(&write_z_path), "also write the noise vectors used to this stream, keyed like the images")
      ("batch", po::value(&batch)->default_value(batch), "images per forward pass (1 to 4096)");
  cli.add_compute_options();
  return cli.run(argc, argv, [&] {
    cli.expect_args(0, 1);
    if (model_path.empty()) fail<UsageError>("--model is required");
    if (samples < 1 || samples > kMaxSamples) fail<UsageError>("-n {}: expected 1 to {}", samples, kMaxSamples);
    if (batch < 1 || batch > 4096) fail<UsageError>("--batch {}: expected 1 to 4096", batch);
    const std::string in_path = cli.args().empty() ? "-" : cli.args()[0];
    if (cli.given("z") && z_path == "-" && in_path == "-")
      fail<UsageError>("--z - and the embeddings cannot both be standard input");
    if (cli.given("write-z") && write_z_path == out_path)
      fail<UsageError>("--write-z {} and the images cannot go to the same {}", write_z_path,
                       out_path == "-" ? "standard output" : "file");
    const std::uint64_t seed = cli.compute().seed;

    Checkpoint ck = Checkpoint::load(model_path);
    if (auto it = ck.metadata.find("model"); it != ck.metadata.end() && it->second != "t2igan-gan")
      fail<InputError>("{}: {}, not a GAN checkpoint (model 't2igan-gan')", model_path, model_kind(it->second));
    const nn::GanConfig cfg = nn::gan_config(ck);
    auto be = nn::make_backend(backend_name(cli.compute().backend));
    nn::Generator g(cfg);
    g.bind(*be);
    g.params().load_from(ck, nn::kGeneratorPrefix);
    const std::int64_t z_dim = cfg.z_dim, emb_dim = cfg.emb_dim;
    const nn::EmbeddingNorm emb_norm = nn::embedding_norm(ck, emb_dim);  // train-gan's standardisation, if any
    log::debug("{}: {} generator, z_dim {}, emb_dim {}, ngf {}, backend {}", model_path, nn::arch_name(cfg.arch), z_dim,
               emb_dim, cfg.ngf, be->name());

    // Given noise: all of it up front (z_dim floats a vector).
    std::vector<float> given_z;
    std::uint64_t given_count = 0;
    std::string z_name;
    if (cli.given("z")) {
      StreamReader zr(z_path);
      z_name = zr.name();
      Record rec;
      while (zr.next(&rec)) {
        if (!is_vector(rec.tensor, z_dim))
          fail<InputError>("{}: key '{}': {} {}; expected float32 [{}] (or [1,{}]), the z_dim of {}", zr.name(),
                           printable_key(rec.key), dtype_name(rec.tensor.dtype()), shape_text(rec.tensor.shape()), z_dim,
                           z_dim, model_path);
        auto v = rec.tensor.span<const float>();
        given_z.insert(given_z.end(), v.begin(), v.end());
        ++given_count;
      }
      if (given_count == 0) fail<InputError>("{}: no z vectors", zr.name());
      if (given_count == 1 && samples > 1)
        fail<InputError>("{}: holds one z vector, which every image shares: -n {} would give {} identical images",
                         z_name, samples, samples);
    }
    const bool shared_z = given_count == 1;

    StreamReader reader(in_path);
    StreamWriter writer(out_path);
    std::unique_ptr<StreamWriter> z_writer;
    if (cli.given("write-z")) z_writer = std::make_unique<StreamWriter>(write_z_path);
    Progress progress("generating images", 0);

    // A batch of images to make: their keys, noise and embeddings, row by row.
    std::vector<std::string> keys;
    std::vector<float> zs, embs;
    keys.reserve(static_cast<std::size_t>(batch));
    const auto zd = static_cast<std::size_t>(z_dim);
    const auto start = std::chrono::steady_clock::now();

    auto flush = [&] {
      if (keys.empty()) return;
      const auto n = static_cast<std::int64_t>(keys.size());
      Tensor z(DType::kFloat32, {n, z_dim}), emb(DType::kFloat32, {n, emb_dim});
      std::memcpy(z.span<float>().data(), zs.data(), zs.size() * sizeof(float));
      std::memcpy(emb.span<float>().data(), embs.data(), embs.size() * sizeof(float));
      emb_norm.apply(emb.span<float>().data(), static_cast<std::size_t>(n));
      const nn::Array& y = g.forward(0, nn::upload(*be, z), nn::upload(*be, emb), /*training=*/false);
      const Tensor images = nn::download(*be, y);  // [n,3,64,64]
      const Shape image_shape(images.shape().begin() + 1, images.shape().end());
      const auto per_image = static_cast<std::size_t>(images.numel() / n);
      for (std::size_t i = 0; i < keys.size(); ++i) {
        Tensor image(DType::kFloat32, image_shape);
        std::memcpy(image.span<float>().data(), images.span<const float>().data() + i * per_image,
                    per_image * sizeof(float));
        writer.write(keys[i], image);
        if (z_writer) {
          Tensor zi(DType::kFloat32, {z_dim});
          std::memcpy(zi.span<float>().data(), zs.data() + i * zd, zd * sizeof(float));
          z_writer->write(keys[i], zi);
        }
      }
      progress.add(keys.size());
      keys.clear();
      zs.clear();
      embs.clear();
    };

    std::uint64_t used_z = 0;  // given vectors consumed, in order
    Record rec;
    std::vector<float> noise(static_cast<std::size_t>(samples) * zd);
    while (reader.next(&rec)) {
      if (!is_vector(rec.tensor, emb_dim))
        fail<InputError>("{}: key '{}': {} {}; expected float32 [{}] (or [1,{}]), the emb_dim of {}", reader.name(),
                         printable_key(rec.key), dtype_name(rec.tensor.dtype()), shape_text(rec.tensor.shape()), emb_dim,
                         emb_dim, model_path);
      if (given_count == 0) {
        Rng rng(mix(seed, key_hash(rec.key)));
        for (float& v : noise) v = static_cast<float>(rng.normal());
      } else if (shared_z) {
        std::copy(given_z.begin(), given_z.end(), noise.begin());
      } else {
        if (used_z + static_cast<std::uint64_t>(samples) > given_count)
          fail<InputError>("{}: holds {} z vectors, too few: embedding record {} ('{}') of {} needs vectors {} to {} "
                           "(one per image, or one for all)",
                           z_name, given_count, reader.records(), printable_key(rec.key), reader.name(), used_z + 1,
                           used_z + static_cast<std::uint64_t>(samples));
        std::copy_n(given_z.begin() + static_cast<std::ptrdiff_t>(used_z * zd), noise.size(), noise.begin());
        used_z += static_cast<std::uint64_t>(samples);
      }
      const auto e = rec.tensor.span<const float>();
      for (int i = 0; i < samples; ++i) {
        keys.push_back(fmt::format("{}/{}", rec.key, i));
        zs.insert(zs.end(), noise.begin() + static_cast<std::ptrdiff_t>(i * zd),
                  noise.begin() + static_cast<std::ptrdiff_t>((i + 1) * zd));
        embs.insert(embs.end(), e.begin(), e.end());
        if (keys.size() == static_cast<std::size_t>(batch)) flush();
      }
    }
    if (given_count > 1 && used_z != given_count)
      fail<InputError>("{}: holds {} z vectors, but {} embedding records of {} with -n {} need {} (one per image, or "
                       "one for all)",
                       z_name, given_count, reader.records(), reader.name(), samples, used_z);
    flush();
    writer.close();
    if (z_writer) z_writer->close();
    progress.finish();

    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const std::string noise_from = given_count == 0 ? fmt::format("z from seed {}", seed)
                                   : shared_z       ? fmt::format("one z from {} for all", z_name)
                                                    : fmt::format("z from {}", z_name);
    log::info("generated {} images from {} embeddings (-n {}, {}) in {:.2f} s, {:.1f} images/s", writer.records(),
              reader.records(), samples, noise_from, seconds,
              seconds > 0 ? static_cast<double>(writer.records()) / seconds : 0.0);
    return 0;
  });
}
