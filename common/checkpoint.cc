#include "checkpoint.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "error.h"
#include "file.h"

namespace t2i {

std::string_view safetensors_dtype(DType dtype) {
  switch (dtype) {
    case DType::kFloat32: return "F32";
    case DType::kUInt8: return "U8";
    case DType::kInt32: return "I32";
    case DType::kInt64: return "I64";
  }
  return "";
}

std::uint16_t float_to_half(float f) {
  std::uint32_t u;
  std::memcpy(&u, &f, 4);
  const auto sign = static_cast<std::uint16_t>((u >> 16) & 0x8000u);
  const std::uint32_t exp = (u >> 23) & 0xffu, mant = u & 0x7fffffu;
  if (exp == 0xff) return static_cast<std::uint16_t>(sign | 0x7c00u | (mant ? 0x200u | (mant >> 13) : 0u));
  const int e = static_cast<int>(exp) - 127 + 15;
  if (e >= 0x1f) return static_cast<std::uint16_t>(sign | 0x7c00u);
  if (e <= 0) {  // a subnormal float16 (or zero): m * 2^-24
    if (e < -10) return sign;
    const std::uint32_t m_full = mant | 0x800000u;
    const int shift = 14 - e;
    std::uint32_t m = m_full >> shift;
    const std::uint32_t rem = m_full & ((1u << shift) - 1u), halfway = 1u << (shift - 1);
    if (rem > halfway || (rem == halfway && (m & 1u))) ++m;
    return static_cast<std::uint16_t>(sign | m);
  }
  std::uint32_t h = sign | (static_cast<std::uint32_t>(e) << 10) | (mant >> 13);
  const std::uint32_t rem = mant & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) ++h;  // a carry rounds up into the exponent
  return static_cast<std::uint16_t>(h);
}

float half_to_float(std::uint16_t h) {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  const std::uint32_t exp = (h >> 10) & 0x1fu, m = h & 0x3ffu;
  std::uint32_t u;
  if (exp == 0) {
    const float v = std::ldexp(static_cast<float>(m), -24);
    return sign ? -v : v;
  }
  if (exp == 0x1f)
    u = sign | 0x7f800000u | (m << 13);
  else
    u = sign | ((exp + 112u) << 23) | (m << 13);
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

void require_training_checkpoint(const Checkpoint& ck, std::string_view what) {
  auto it = ck.metadata.find(kExportPartsKey);
  if (it != ck.metadata.end())
    fail<InputError>("{}: an inference model made by export-model ({} only); {} needs the training checkpoint",
                     ck.source(), it->second, what);
}

bool has_part(const Checkpoint& ck, std::string_view part) {
  auto it = ck.metadata.find(kExportPartsKey);
  if (it == ck.metadata.end()) return true;
  const std::string& parts = it->second;
  for (std::size_t p = 0; p <= parts.size();) {
    auto q = std::min(parts.find(',', p), parts.size());
    if (std::string_view(parts).substr(p, q - p) == part) return true;
    p = q + 1;
  }
  return false;
}

namespace {
constexpr const char* kF16 = "F16";

std::optional<DType> dtype_from_safetensors(std::string_view s) {
  for (DType t : {DType::kFloat32, DType::kUInt8, DType::kInt32, DType::kInt64})
    if (safetensors_dtype(t) == s) return t;
  return std::nullopt;
}
}  // namespace

void Checkpoint::add(std::string name, Tensor tensor) {
  if (auto it = index_.find(name); it != index_.end()) {
    tensors_[it->second].second = std::move(tensor);
    return;
  }
  index_.emplace(name, tensors_.size());
  tensors_.emplace_back(std::move(name), std::move(tensor));
}

bool Checkpoint::contains(std::string_view name) const { return index_.count(std::string(name)) > 0; }

const Tensor& Checkpoint::get(std::string_view name) const {
  auto it = index_.find(std::string(name));
  if (it == index_.end()) fail<InputError>("{}: no tensor '{}' in the checkpoint", source_, name);
  return tensors_[it->second].second;
}

std::vector<std::string> Checkpoint::names() const {
  std::vector<std::string> out;
  out.reserve(tensors_.size());
  for (const auto& [name, t] : tensors_) out.push_back(name);
  return out;
}

const std::string& Checkpoint::meta(const std::string& key) const {
  auto it = metadata.find(key);
  if (it == metadata.end()) fail<InputError>("{}: __metadata__ has no '{}'; not a checkpoint of this model?", source_, key);
  return it->second;
}

void Checkpoint::check(const std::vector<TensorSpec>& expected) const {
  for (const TensorSpec& spec : expected) {
    auto it = index_.find(spec.name);
    if (it == index_.end())
      fail<InputError>("{}: tensor '{}' is missing; expected {} {}", source_, spec.name, dtype_name(spec.dtype),
                       shape_text(spec.shape));
    const Tensor& t = tensors_[it->second].second;
    if (t.dtype() != spec.dtype || t.shape() != spec.shape)
      fail<InputError>("{}: tensor '{}' is {} {}; expected {} {}", source_, spec.name, dtype_name(t.dtype()),
                       shape_text(t.shape()), dtype_name(spec.dtype), shape_text(spec.shape));
  }
  if (tensors_.size() != expected.size()) {
    for (const auto& entry : tensors_) {
      const std::string& name = entry.first;
      bool known = std::any_of(expected.begin(), expected.end(), [&](const TensorSpec& s) { return s.name == name; });
      if (!known) fail<InputError>("{}: unexpected tensor '{}'; not a checkpoint of this model?", source_, name);
    }
  }
}

void Checkpoint::save(const std::string& path, bool float16) const {
  auto as_half = [&](const Tensor& t) { return float16 && t.dtype() == DType::kFloat32; };
  auto stored_bytes = [&](const Tensor& t) { return as_half(t) ? t.nbytes() / 2 : t.nbytes(); };
  if (float16)
    for (const auto& [name, t] : tensors_)
      if (as_half(t)) {
        const auto p = t.span<const float>();
        for (std::size_t i = 0; i < p.size(); ++i)
          if (std::isfinite(p[i]) && std::fabs(p[i]) > 65504.0f)
            fail<InputError>("{}: tensor '{}' holds {} at index {}, beyond float16's range (65504); keep it float32",
                             path, name, p[i], i);
      }
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  nlohmann::ordered_json meta = nlohmann::ordered_json::object();
  for (const auto& [k, v] : metadata) meta[k] = v;
  if (!meta.contains("format")) meta["format"] = "pt";
  header["__metadata__"] = meta;
  std::uint64_t offset = 0;
  for (const auto& [name, t] : tensors_) {
    header[name] = {{"dtype", as_half(t) ? std::string_view(kF16) : safetensors_dtype(t.dtype())},
                    {"shape", t.shape()},
                    {"data_offsets", {offset, offset + stored_bytes(t)}}};
    offset += stored_bytes(t);
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // keep the data 8-byte aligned
  unsigned char len[8];
  for (int i = 0; i < 8; ++i) len[i] = static_cast<unsigned char>((text.size() >> (8 * i)) & 0xff);

  AtomicFile out(path);
  out.write(len, sizeof len);
  out.write(text.data(), text.size());
  std::vector<std::uint16_t> half;
  for (const auto& [name, t] : tensors_) {
    if (!as_half(t)) {
      out.write(t.bytes(), t.nbytes());
      continue;
    }
    const auto p = t.span<const float>();
    half.resize(p.size());
    for (std::size_t i = 0; i < half.size(); ++i) half[i] = float_to_half(p[i]);  // little-endian hosts only, as the rest
    out.write(half.data(), half.size() * 2);
  }
  out.commit();
}

Checkpoint Checkpoint::load(const std::string& path) {
  InputFile in(path);
  if (!in.seekable()) fail<InputError>("{}: a checkpoint must be a regular file", in.name());
  return parse(read_file(path), path);
}

Checkpoint Checkpoint::parse(std::string_view bytes, const std::string& name) {
  auto bad = [&](std::string_view what) { fail<InputError>("{}: not a valid safetensors checkpoint: {}", name, what); };
  if (bytes.size() < 8) bad(fmt::format("{} bytes, shorter than the 8-byte header length", bytes.size()));
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(bytes[static_cast<std::size_t>(i)]);
  if (n > kMaxHeaderBytes) bad(fmt::format("header length {} exceeds the limit of {}", n, kMaxHeaderBytes));
  if (n > bytes.size() - 8)
    bad(fmt::format("header length {} points past the end of the {}-byte file", n, bytes.size()));
  std::string_view text = bytes.substr(8, static_cast<std::size_t>(n));
  if (text.empty() || text[0] != '{') bad("header does not start with '{'");
  auto header = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (header.is_discarded() || !header.is_object()) bad("header is not a JSON object");
  std::string_view data = bytes.substr(8 + static_cast<std::size_t>(n));

  Checkpoint ck;
  ck.source_ = name;
  struct Span {
    std::uint64_t begin, end;
    std::string name;
    DType dtype;
    Shape shape;
    bool half;  // stored as F16, widened to float32
  };
  std::vector<Span> spans;
  for (auto& item : header.items()) {
    const std::string& key = item.key();
    auto& value = item.value();
    if (key == "__metadata__") {
      if (!value.is_object()) bad("__metadata__ is not an object");
      for (auto& [mk, mv] : value.items()) {
        if (!mv.is_string()) bad(fmt::format("__metadata__ value of '{}' is not a string", mk));
        ck.metadata[mk] = mv.get<std::string>();
      }
      continue;
    }
    auto tensor_bad = [&](std::string_view what) { bad(fmt::format("tensor '{}': {}", key, what)); };
    if (!value.is_object()) tensor_bad("entry is not an object");
    const auto& dt = value.find("dtype");
    const auto& sh = value.find("shape");
    const auto& off = value.find("data_offsets");
    if (dt == value.end() || sh == value.end() || off == value.end())
      tensor_bad("needs dtype, shape and data_offsets");
    if (!dt->is_string()) tensor_bad("dtype is not a string");
    const bool half = dt->get<std::string>() == kF16;
    auto dtype = half ? std::optional<DType>(DType::kFloat32) : dtype_from_safetensors(dt->get<std::string>());
    if (!dtype)
      tensor_bad(fmt::format("unsupported dtype '{}'; expected F32, F16, U8, I32 or I64", dt->get<std::string>()));
    if (!sh->is_array() || sh->size() > 32) tensor_bad("shape is not an array of at most 32 dimensions");
    Shape shape;
    for (const auto& d : *sh) {
      if (!d.is_number_unsigned()) tensor_bad("shape holds something other than non-negative integers");
      std::uint64_t v = d.get<std::uint64_t>();
      if (v > static_cast<std::uint64_t>(INT64_MAX)) tensor_bad("dimension does not fit in 64 bits");
      shape.push_back(static_cast<std::int64_t>(v));
    }
    if (!off->is_array() || off->size() != 2 || !(*off)[0].is_number_unsigned() || !(*off)[1].is_number_unsigned())
      tensor_bad("data_offsets is not a pair of non-negative integers");
    std::uint64_t b = (*off)[0].get<std::uint64_t>(), e = (*off)[1].get<std::uint64_t>();
    if (b > e) tensor_bad(fmt::format("data_offsets [{}, {}] run backwards", b, e));
    if (e > data.size())
      tensor_bad(fmt::format("data_offsets [{}, {}] point past the end of the {}-byte data", b, e, data.size()));
    const std::size_t elem = half ? 2 : dtype_size(*dtype);
    auto numel = checked_numel(shape, elem);
    if (!numel || static_cast<std::uint64_t>(*numel) * elem != e - b)
      tensor_bad(fmt::format("shape {} {} does not match its {} bytes of data", shape_text(shape),
                             dt->get<std::string>(), e - b));
    spans.push_back({b, e, key, *dtype, std::move(shape), half});
  }
  std::sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  std::uint64_t pos = 0;
  for (const Span& s : spans) {
    if (s.begin < pos) bad(fmt::format("tensor '{}': data_offsets [{}, {}] overlap another tensor", s.name, s.begin, s.end));
    if (s.begin > pos) bad(fmt::format("bytes {}..{} of the data belong to no tensor", pos, s.begin));
    pos = s.end;
  }
  if (pos != data.size()) bad(fmt::format("bytes {}..{} of the data belong to no tensor", pos, data.size()));
  for (Span& s : spans) {
    const std::size_t stored = static_cast<std::size_t>(s.end - s.begin);
    std::vector<std::byte> buf(s.half ? stored * 2 : stored);
    if (s.half) {
      for (std::size_t i = 0; i < stored / 2; ++i) {
        std::uint16_t h;
        std::memcpy(&h, data.data() + s.begin + 2 * i, 2);
        const float f = half_to_float(h);
        std::memcpy(buf.data() + 4 * i, &f, 4);
      }
    } else if (!buf.empty()) {
      std::memcpy(buf.data(), data.data() + s.begin, buf.size());
    }
    ck.add(s.name, Tensor(s.dtype, std::move(s.shape), std::move(buf)));
  }
  return ck;
}

std::string join_doubles(const std::vector<double>& v) {
  std::string s;
  for (double x : v) s += (s.empty() ? "" : ",") + fmt::format("{:.9g}", x);
  return s;
}

std::vector<double> split_doubles(const std::string& s) {
  std::vector<double> out;
  for (std::size_t p = 0; p < s.size();) {
    auto q = s.find(',', p);
    out.push_back(std::stod(s.substr(p, q - p)));
    p = q == std::string::npos ? s.size() : q + 1;
  }
  return out;
}

}  // namespace t2i
