// GAN checkpoints: one safetensors file with the generator and discriminator under the names of
// the PyTorch module tests/torch/t2i_nets.py:TextToImageGAN ("generator.up0.weight",
// "discriminator.bn1.running_var", ...), so
//     model.load_state_dict({k: v for k, v in tensors.items() if k.startswith(("generator.", "discriminator."))})
// loads it in PyTorch; optionally each net's Adam state ("optimizer.generator.<param>.exp_avg",
// ".exp_avg_sq", "optimizer.generator.step"), and the embedding standardisation train-gan
// measured ("embedding_norm.mean", see EmbeddingNorm; leave it out of load_state_dict too).
// __metadata__ holds the configuration (GanConfig::to_metadata) and whatever the caller adds.
// A run with a generator average (train-gan --g-ema) stores the average as "generator.*", the
// weights every tool runs, and the generator it trains as "train.generator.*", which only
// train-gan --resume reads (tools and load_state_dict leave it out, as the optimiser states).
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "checkpoint.h"
#include "nn/gan.h"
#include "nn/optim.h"

namespace t2i::nn {

inline constexpr const char* kGeneratorPrefix = "generator.";
inline constexpr const char* kDiscriminatorPrefix = "discriminator.";
inline constexpr const char* kTrainGeneratorPrefix = "train.generator.";

// The standardisation of text embeddings before G and D see them: h' = (h - mean) * scale, with
// the mean per dimension and one scale, measured by train-gan on its training embeddings (the
// means of captions it feeds the nets). A text encoder's embeddings can share one large common
// direction (mean cosine 0.8-0.96 between captions of different birds for train-text's
// normalised embeddings), which leaves G's text projection, initialised at N(0, 0.02), almost
// blind to the text; centring and scaling restores the differences. Measured on the individual
// caption embeddings train-gan reads. Stored in the checkpoint as
// the tensor "embedding_norm.mean" [emb_dim] and the metadata "embedding_norm.scale"; without
// them (older checkpoints, train-gan --embedding-norm none: the paper's raw embeddings) the
// embeddings go in as they are. Every tool that feeds G (generate, invert-style) applies it, so
// users always pass encode-text's output.
struct EmbeddingNorm {
  std::vector<float> mean;  // emb_dim values; empty: the identity
  float scale = 1.0f;

  bool identity() const { return mean.empty(); }
  // The mean of n rows of dim values and the scale that gives the centred values an RMS of 1.
  static EmbeddingNorm measure(const float* rows, std::size_t n, std::size_t dim);
  // In place, n rows of mean.size() values (nothing for the identity).
  void apply(float* rows, std::size_t n) const;
};
inline constexpr const char* kEmbeddingNormMean = "embedding_norm.mean";
inline constexpr const char* kEmbeddingNormScale = "embedding_norm.scale";

// The checkpoint's standardisation (the identity if it has none); InputError if it is malformed,
// not of emb_dim values, or missing where train.embedding_norm says "standardize" (a checkpoint
// whose weights were re-saved without it: G would get raw embeddings and ignore the text).
EmbeddingNorm embedding_norm(const Checkpoint& ck, long long emb_dim);

// Writes atomically. The optimisers may be null (a model for inference); g_train, where given,
// is the generator being trained when g is its average, saved under kTrainGeneratorPrefix.
void save_gan(const std::string& path, Generator& g, Discriminator& d, const Adam* opt_g, const Adam* opt_d,
              const std::map<std::string, std::string>& extra_metadata = {}, const EmbeddingNorm& norm = {},
              Generator* g_train = nullptr);

// The configuration a checkpoint was made with; InputError if it is not a GAN checkpoint.
GanConfig gan_config(const Checkpoint& ck);

// Loads weights (and, if given, optimiser states) into bound models of the checkpoint's
// configuration; names, dtypes and shapes are checked and the first difference reported.
void load_gan(const Checkpoint& ck, Generator& g, Discriminator& d, Adam* opt_g = nullptr, Adam* opt_d = nullptr);

}  // namespace t2i::nn
