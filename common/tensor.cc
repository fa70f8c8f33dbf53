#include "tensor.h"

#include <fmt/format.h>

#include <bit>
#include <cstring>
#include <limits>

#include "error.h"

static_assert(std::endian::native == std::endian::little,
              "t2igan streams and checkpoints are little-endian; a big-endian host needs byte swaps");

namespace t2i {

std::size_t dtype_size(DType t) {
  switch (t) {
    case DType::kFloat32: return 4;
    case DType::kUInt8: return 1;
    case DType::kInt32: return 4;
    case DType::kInt64: return 8;
  }
  return 0;
}

std::string_view dtype_name(DType t) {
  switch (t) {
    case DType::kFloat32: return "float32";
    case DType::kUInt8: return "uint8";
    case DType::kInt32: return "int32";
    case DType::kInt64: return "int64";
  }
  return "?";
}

std::optional<DType> dtype_from_name(std::string_view name) {
  for (DType t : {DType::kFloat32, DType::kUInt8, DType::kInt32, DType::kInt64})
    if (dtype_name(t) == name) return t;
  return std::nullopt;
}

std::string shape_text(const Shape& shape) { return fmt::format("[{}]", fmt::join(shape, ",")); }

std::optional<std::int64_t> checked_numel(const Shape& shape, std::size_t elem_size) {
  constexpr std::int64_t kMaxBytes = std::numeric_limits<std::int64_t>::max();
  std::int64_t n = 1;
  bool zero = false;
  for (std::int64_t d : shape) {
    if (d < 0) return std::nullopt;
    if (d == 0) zero = true;
  }
  if (zero) return 0;
  const auto limit = kMaxBytes / static_cast<std::int64_t>(elem_size);
  for (std::int64_t d : shape) {
    if (n > limit / d) return std::nullopt;
    n *= d;
  }
  return n;
}

Tensor::Tensor(DType dtype, Shape shape) : dtype_(dtype), shape_(std::move(shape)) {
  auto n = checked_numel(shape_, dtype_size(dtype_));
  if (!n) fail<RuntimeError>("tensor shape {} is invalid or too large", shape_text(shape_));
  numel_ = *n;
  bytes_.resize(static_cast<std::size_t>(numel_) * dtype_size(dtype_));
}

Tensor::Tensor(DType dtype, Shape shape, std::vector<std::byte> bytes)
    : dtype_(dtype), shape_(std::move(shape)), bytes_(std::move(bytes)) {
  auto n = checked_numel(shape_, dtype_size(dtype_));
  if (!n || static_cast<std::size_t>(*n) * dtype_size(dtype_) != bytes_.size())
    fail<RuntimeError>("tensor of shape {} {} given {} bytes", shape_text(shape_), dtype_name(dtype_),
                       bytes_.size());
  numel_ = *n;
}

void Tensor::reshape(Shape shape) {
  auto n = checked_numel(shape, dtype_size(dtype_));
  if (!n || *n != numel_)
    fail<RuntimeError>("cannot reshape {} to {}", shape_text(shape_), shape_text(shape));
  shape_ = std::move(shape);
}

bool Tensor::operator==(const Tensor& other) const {
  return dtype_ == other.dtype_ && shape_ == other.shape_ && bytes_ == other.bytes_;
}

void Tensor::check_dtype(DType wanted) const {
  if (wanted != dtype_)
    fail<RuntimeError>("tensor holds {}, accessed as {}", dtype_name(dtype_), dtype_name(wanted));
}

}  // namespace t2i
