#include "nn/gan_checkpoint.h"

#include <fmt/format.h>

#include <cmath>
#include <cstring>
#include <string>

#include "error.h"

namespace t2i::nn {

EmbeddingNorm EmbeddingNorm::measure(const float* rows, std::size_t n, std::size_t dim) {
  EmbeddingNorm norm;
  if (n == 0 || dim == 0) return norm;
  std::vector<double> sum(dim, 0.0);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < dim; ++j) sum[j] += rows[i * dim + j];
  norm.mean.resize(dim);
  for (std::size_t j = 0; j < dim; ++j) norm.mean[j] = static_cast<float>(sum[j] / double(n));
  double sq = 0;
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < dim; ++j) {
      const double c = double(rows[i * dim + j]) - double(norm.mean[j]);
      sq += c * c;
    }
  const double rms = std::sqrt(sq / (double(n) * double(dim)));
  norm.scale = rms > 1e-12 ? static_cast<float>(1.0 / rms) : 1.0f;
  return norm;
}

void EmbeddingNorm::apply(float* rows, std::size_t n) const {
  const std::size_t dim = mean.size();
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < dim; ++j) rows[i * dim + j] = (rows[i * dim + j] - mean[j]) * scale;
}

EmbeddingNorm embedding_norm(const Checkpoint& ck, long long emb_dim) {
  EmbeddingNorm norm;
  const bool has_mean = ck.contains(kEmbeddingNormMean);
  const auto it = ck.metadata.find(kEmbeddingNormScale);
  if (!has_mean && it == ck.metadata.end()) {
    const auto mode = ck.metadata.find("train.embedding_norm");
    if (mode != ck.metadata.end() && mode->second != "none")
      fail<InputError>("{}: train.embedding_norm is '{}' but the checkpoint holds no {} and {} (re-saved without "
                       "them?)", ck.source(), mode->second, kEmbeddingNormMean, kEmbeddingNormScale);
    return norm;
  }
  if (!has_mean || it == ck.metadata.end())
    fail<InputError>("{}: has only one of the tensor {} and the metadata {}", ck.source(), kEmbeddingNormMean,
                     kEmbeddingNormScale);
  const Tensor& m = ck.get(kEmbeddingNormMean);
  if (m.dtype() != DType::kFloat32 || m.shape() != Shape{emb_dim})
    fail<InputError>("{}: {} is {} {}; expected float32 [{}]", ck.source(), kEmbeddingNormMean, dtype_name(m.dtype()),
                     shape_text(m.shape()), emb_dim);
  auto v = m.span<const float>();
  norm.mean.assign(v.begin(), v.end());
  char* end = nullptr;
  const float scale = std::strtof(it->second.c_str(), &end);
  if (end == it->second.c_str() || *end != '\0' || !std::isfinite(scale) || !(scale > 0))
    fail<InputError>("{}: metadata {} '{}': expected a positive number", ck.source(), kEmbeddingNormScale, it->second);
  for (float x : norm.mean)
    if (!std::isfinite(x)) fail<InputError>("{}: {} holds a non-finite value", ck.source(), kEmbeddingNormMean);
  norm.scale = scale;
  return norm;
}

void save_gan(const std::string& path, Generator& g, Discriminator& d, const Adam* opt_g, const Adam* opt_d,
              const std::map<std::string, std::string>& extra_metadata, const EmbeddingNorm& norm,
              Generator* g_train) {
  Checkpoint ck;
  ck.metadata = g.config().to_metadata();
  ck.metadata.erase("d_text_head");  // D's setting, not G's
  if (d.config().d_text_head) ck.metadata["d_text_head"] = "1";
  ck.metadata["model"] = "t2igan-gan";
  for (const auto& [k, v] : extra_metadata) ck.metadata[k] = v;
  g.params().save_to(ck, kGeneratorPrefix);
  d.params().save_to(ck, kDiscriminatorPrefix);
  if (g_train) g_train->params().save_to(ck, kTrainGeneratorPrefix);
  if (opt_g) opt_g->save_to(ck, std::string("optimizer.") + kGeneratorPrefix);
  if (opt_d) opt_d->save_to(ck, std::string("optimizer.") + kDiscriminatorPrefix);
  if (!norm.identity()) {
    Tensor m(DType::kFloat32, {static_cast<i64>(norm.mean.size())});
    std::memcpy(m.span<float>().data(), norm.mean.data(), norm.mean.size() * sizeof(float));
    ck.add(kEmbeddingNormMean, std::move(m));
    ck.metadata[kEmbeddingNormScale] = fmt::format("{}", norm.scale);  // shortest text that reads back exactly
  }
  ck.save(path);
}

GanConfig gan_config(const Checkpoint& ck) {
  auto it = ck.metadata.find("model");
  if (it == ck.metadata.end() || it->second != "t2igan-gan")
    fail<InputError>("{}: not a t2igan GAN checkpoint (__metadata__ model is not 't2igan-gan')", ck.source());
  try {
    return GanConfig::from_metadata(ck.metadata);
  } catch (const InputError& e) {
    fail<InputError>("{}: {}", ck.source(), e.what());
  }
}

void load_gan(const Checkpoint& ck, Generator& g, Discriminator& d, Adam* opt_g, Adam* opt_d) {
  std::vector<TensorSpec> expected = g.params().specs(kGeneratorPrefix);
  for (auto& s : d.params().specs(kDiscriminatorPrefix)) expected.push_back(std::move(s));
  // Weights must match exactly; optimiser entries are checked when loaded.
  std::vector<TensorSpec> present;
  for (const auto& name : ck.names())
    if (name.rfind("optimizer.", 0) != 0 && name.rfind(kTrainGeneratorPrefix, 0) != 0 && name != kEmbeddingNormMean)
      present.push_back({name, ck.get(name).dtype(), ck.get(name).shape()});
  Checkpoint weights_only;
  weights_only.metadata = ck.metadata;
  for (const auto& s : present) weights_only.add(s.name, ck.get(s.name));
  try {
    weights_only.check(expected);
  } catch (const InputError& e) {
    // Re-raise naming the real file.
    std::string what = e.what();
    fail<InputError>("{}{}", ck.source(), what.substr(what.find(':')));
  }
  g.params().load_from(ck, kGeneratorPrefix);
  d.params().load_from(ck, kDiscriminatorPrefix);
  if (opt_g) opt_g->load_from(ck, std::string("optimizer.") + kGeneratorPrefix);
  if (opt_d) opt_d->load_from(ck, std::string("optimizer.") + kDiscriminatorPrefix);
}

}  // namespace t2i::nn
