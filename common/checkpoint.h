// Checkpoints as safetensors files: an 8-byte little-endian header length, a JSON header naming
// each tensor's dtype, shape and byte range, and "__metadata__" (string to string: the model's
// configuration), then the raw little-endian tensor data. The format PyTorch users already read
// (safetensors.torch.load_file). Written to a temporary file, fsynced and renamed into place.
// float16 ("F16") tensors are read too and widened to float32 on load (exactly), so the toolkit
// only ever computes in float32; save() can store float32 tensors as float16 (export-model's
// small inference models).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tensor.h"

namespace t2i {

// What a model expects to find in a checkpoint.
struct TensorSpec {
  std::string name;
  DType dtype = DType::kFloat32;
  Shape shape;
};

class Checkpoint {
 public:
  // The safetensors limit on the JSON header size.
  static constexpr std::uint64_t kMaxHeaderBytes = 100'000'000;

  std::map<std::string, std::string> metadata;

  // Adds a tensor; a second tensor of the same name replaces the first.
  void add(std::string name, Tensor tensor);
  bool contains(std::string_view name) const;
  const Tensor& get(std::string_view name) const;  // InputError naming the file if missing
  // Names in the order added (loaded checkpoints: in order of their data offsets).
  std::vector<std::string> names() const;
  std::size_t size() const { return tensors_.size(); }

  // The metadata value for key, or InputError naming the file and key.
  const std::string& meta(const std::string& key) const;

  // Checks that the checkpoint holds exactly the expected tensors with their dtypes and shapes.
  // Throws InputError naming the first tensor that is missing, unexpected or different.
  void check(const std::vector<TensorSpec>& expected) const;

  // Writes atomically (temporary file, fsync, rename). With float16, every float32 tensor is
  // stored as IEEE binary16, rounded to nearest even; InputError naming the tensor if a finite
  // value lies beyond float16's range (65504).
  void save(const std::string& path, bool float16 = false) const;
  // Reads and validates a whole checkpoint; InputError for anything malformed.
  static Checkpoint load(const std::string& path);
  // Parses a checkpoint held in memory; `name` is used in messages.
  static Checkpoint parse(std::string_view bytes, const std::string& name);

  const std::string& source() const { return source_; }

 private:
  std::vector<std::pair<std::string, Tensor>> tensors_;
  std::unordered_map<std::string, std::size_t> index_;
  std::string source_ = "<checkpoint>";
};

// export-model's inference models name the networks they kept ("generator", "text_encoder",
// "text_encoder,image_encoder", ...) under this metadata key; training checkpoints have none.
inline constexpr const char* kExportPartsKey = "export.parts";
// InputError when ck is such an export: "<file>: an inference model made by export-model
// (generator only); <what> needs the training checkpoint".
void require_training_checkpoint(const Checkpoint& ck, std::string_view what);
// Whether ck holds `part`: true for a training checkpoint, else whether export.parts names it.
bool has_part(const Checkpoint& ck, std::string_view part);

// IEEE binary16 <-> binary32: float_to_half rounds to nearest even (overflow gives infinity, NaN
// stays NaN); half_to_float is exact.
std::uint16_t float_to_half(float f);
float half_to_float(std::uint16_t h);

// "F32", "U8", "I32", "I64": safetensors' dtype names.
std::string_view safetensors_dtype(DType dtype);

// A list of numbers as one metadata value ("1.5,0.25": %.9g, comma-separated) and back; the
// training tools keep their per-epoch losses this way. split_doubles throws std::invalid_argument
// (std::stod's) on text that is not such a list.
std::string join_doubles(const std::vector<double>& v);
std::vector<double> split_doubles(const std::string& s);

}  // namespace t2i
