// GAN checkpoints: one safetensors file with the generator and discriminator under the names of
// the PyTorch module tests/torch/t2i_nets.py:TextToImageGAN ("generator.up0.weight",
// "discriminator.bn1.running_var", ...), so
//     model.load_state_dict({k: v for k, v in tensors.items() if not k.startswith("optimizer.")})
// loads it in PyTorch; optionally each net's Adam state ("optimizer.generator.<param>.exp_avg",
// ".exp_avg_sq", "optimizer.generator.step"). __metadata__ holds the configuration
// (GanConfig::to_metadata) and whatever the caller adds.
#pragma once

#include <map>
#include <string>

#include "checkpoint.h"
#include "nn/gan.h"
#include "nn/optim.h"

namespace t2i::nn {

inline constexpr const char* kGeneratorPrefix = "generator.";
inline constexpr const char* kDiscriminatorPrefix = "discriminator.";

// Writes atomically. The optimisers may be null (a model for inference).
void save_gan(const std::string& path, Generator& g, Discriminator& d, const Adam* opt_g, const Adam* opt_d,
              const std::map<std::string, std::string>& extra_metadata = {});

// The configuration a checkpoint was made with; InputError if it is not a GAN checkpoint.
GanConfig gan_config(const Checkpoint& ck);

// Loads weights (and, if given, optimiser states) into bound models of the checkpoint's
// configuration; names, dtypes and shapes are checked and the first difference reported.
void load_gan(const Checkpoint& ck, Generator& g, Discriminator& d, Adam* opt_g = nullptr, Adam* opt_d = nullptr);

}  // namespace t2i::nn
