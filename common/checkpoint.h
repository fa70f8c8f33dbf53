// Checkpoints as safetensors files: an 8-byte little-endian header length, a JSON header naming
// each tensor's dtype, shape and byte range, and "__metadata__" (string to string: the model's
// configuration), then the raw little-endian tensor data. The format PyTorch users already read
// (safetensors.torch.load_file). Written to a temporary file, fsynced and renamed into place.
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

  // Writes atomically (temporary file, fsync, rename).
  void save(const std::string& path) const;
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

// "F32", "U8", "I32", "I64": safetensors' dtype names.
std::string_view safetensors_dtype(DType dtype);

// A list of numbers as one metadata value ("1.5,0.25": %.9g, comma-separated) and back; the
// training tools keep their per-epoch losses this way. split_doubles throws std::invalid_argument
// (std::stod's) on text that is not such a list.
std::string join_doubles(const std::vector<double>& v);
std::vector<double> split_doubles(const std::string& s);

}  // namespace t2i
