// A host tensor: a dtype, a shape and the bytes, C order (row-major), little-endian.
// This is the currency of streams and checkpoints; compute backends upload from and download to it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace t2i {

enum class DType : std::uint8_t { kFloat32, kUInt8, kInt32, kInt64 };

std::size_t dtype_size(DType t);
std::string_view dtype_name(DType t);  // "float32", "uint8", "int32", "int64"
std::optional<DType> dtype_from_name(std::string_view name);

template <typename T> constexpr DType dtype_of();
template <> constexpr DType dtype_of<float>() { return DType::kFloat32; }
template <> constexpr DType dtype_of<std::uint8_t>() { return DType::kUInt8; }
template <> constexpr DType dtype_of<std::int32_t>() { return DType::kInt32; }
template <> constexpr DType dtype_of<std::int64_t>() { return DType::kInt64; }

using Shape = std::vector<std::int64_t>;

std::string shape_text(const Shape& shape);  // "[3,76,76]"; "[]" for a scalar

// Number of elements of a shape, or nullopt if a dimension is negative or the byte size of the
// array (with elements of elem_size bytes) would not fit in 63 bits.
std::optional<std::int64_t> checked_numel(const Shape& shape, std::size_t elem_size);

class Tensor {
 public:
  Tensor() = default;  // a float32 tensor of shape [0]
  Tensor(DType dtype, Shape shape);  // zero-filled
  // Takes ownership of bytes, which must hold exactly numel * dtype_size bytes.
  Tensor(DType dtype, Shape shape, std::vector<std::byte> bytes);

  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  int rank() const { return static_cast<int>(shape_.size()); }
  std::int64_t dim(int i) const { return shape_.at(static_cast<std::size_t>(i)); }
  std::int64_t numel() const { return numel_; }
  std::size_t nbytes() const { return bytes_.size(); }

  std::byte* bytes() { return bytes_.data(); }
  const std::byte* bytes() const { return bytes_.data(); }

  template <typename T> std::span<T> span() {
    check_dtype(dtype_of<std::remove_const_t<T>>());
    return {reinterpret_cast<T*>(bytes_.data()), static_cast<std::size_t>(numel_)};
  }
  template <typename T> std::span<const T> span() const {
    check_dtype(dtype_of<std::remove_const_t<T>>());
    return {reinterpret_cast<const T*>(bytes_.data()), static_cast<std::size_t>(numel_)};
  }

  // Same bytes, new shape with the same element count.
  void reshape(Shape shape);

  bool operator==(const Tensor& other) const;

 private:
  void check_dtype(DType wanted) const;

  DType dtype_ = DType::kFloat32;
  Shape shape_{0};
  std::int64_t numel_ = 0;
  std::vector<std::byte> bytes_;
};

}  // namespace t2i
