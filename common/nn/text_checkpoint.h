// Text-model checkpoints: one safetensors file with the char-CNN-RNN text encoder and the
// jointly trained image encoder, named as PyTorch modules would name them
// ("text_encoder.conv1.weight", "text_encoder.rnn.weight_ih_l0", "image_encoder.bn1.running_var"),
// optionally their optimiser states ("optimizer.text_encoder.<param>.exp_avg" for Adam,
// ".square_avg" for RMSprop, ...step), and the
// configuration in __metadata__ (model "t2igan-text"), so encode-text needs nothing else.
#pragma once

#include <map>
#include <string>

#include "checkpoint.h"
#include "nn/text_encoder.h"

namespace t2i::nn {

inline constexpr const char* kTextPrefix = "text_encoder.";
inline constexpr const char* kImagePrefix = "image_encoder.";

struct TextModelConfig {
  TextEncoderConfig text;
  ImageEncoderConfig image;

  std::map<std::string, std::string> to_metadata() const;
  // InputError naming the file and key when the checkpoint is not a text model.
  static TextModelConfig from_checkpoint(const Checkpoint& ck);
};

// Writes atomically. The optimisers may be null.
void save_text_model(const std::string& path, const TextModelConfig& cfg, TextEncoder& text, ImageEncoder& image,
                     const Optimizer* opt_text, const Optimizer* opt_image,
                     const std::map<std::string, std::string>& extra_metadata = {});

// InputError unless ck holds the image encoder (an export-model export may not): names the file
// and how to get one that does.
void require_image_encoder(const Checkpoint& ck);

// Loads the weights (and the optimiser states if given) into bound models of the checkpoint's
// configuration, checking names, dtypes and shapes. The image encoder may be null (encode-text).
void load_text_model(const Checkpoint& ck, TextEncoder& text, ImageEncoder* image, Optimizer* opt_text = nullptr,
                     Optimizer* opt_image = nullptr);

}  // namespace t2i::nn
