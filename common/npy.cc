#include "npy.h"

#include <fmt/format.h>

#include <cctype>
#include <cstdint>
#include <limits>
#include <optional>

namespace t2i::npy {

std::string_view descr(DType dtype) {
  switch (dtype) {
    case DType::kFloat32: return "<f4";
    case DType::kUInt8: return "|u1";
    case DType::kInt32: return "<i4";
    case DType::kInt64: return "<i8";
  }
  return "";
}

std::string format_header(DType dtype, const Shape& shape) {
  std::string shape_tuple;
  if (shape.size() == 1) {
    shape_tuple = fmt::format("({},)", shape[0]);
  } else {
    shape_tuple = fmt::format("({})", fmt::join(shape, ", "));
  }
  std::string dict = fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': {}, }}",
                                 descr(dtype), shape_tuple);
  // Pad with spaces so that preamble + dict + '\n' is a multiple of 64, as NumPy does.
  std::size_t total = kPreambleSize + dict.size() + 1;
  dict.append((64 - total % 64) % 64, ' ');
  dict.push_back('\n');
  std::string out(kMagic);
  out.push_back('\x01');
  out.push_back('\x00');
  out.push_back(static_cast<char>(dict.size() & 0xff));
  out.push_back(static_cast<char>((dict.size() >> 8) & 0xff));
  out += dict;
  return out;
}

namespace {

// A small recursive-descent parser for the one Python literal NumPy writes.
class DictParser {
 public:
  explicit DictParser(std::string_view s) : s_(s) {}

  bool parse(Header* header, std::string* why) {
    std::optional<std::string> descr_value;
    std::optional<bool> fortran;
    std::optional<Shape> shape;
    skip_space();
    if (!eat('{')) return error(why, "expected '{' to open the header dict");
    if (s_.find('}') == std::string_view::npos) return error(why, "header dict never closes: no '}' in the header");
    while (true) {
      skip_space();
      if (eat('}')) break;
      std::string key;
      if (!string_literal(&key)) return error(why, "expected a quoted key or '}' in the header dict");
      skip_space();
      if (!eat(':')) return error(why, fmt::format("expected ':' after key '{}'", key));
      skip_space();
      if (key == "descr") {
        std::string v;
        if (descr_value || !string_literal(&v)) return error(why, "expected one quoted 'descr' value");
        descr_value = v;
      } else if (key == "fortran_order") {
        bool v = false;
        if (fortran || !boolean(&v)) return error(why, "expected one True/False 'fortran_order' value");
        fortran = v;
      } else if (key == "shape") {
        Shape v;
        if (shape || !tuple(&v, why)) return why->empty() ? error(why, "expected one tuple 'shape' value") : false;
        shape = std::move(v);
      } else {
        return error(why, fmt::format("unexpected key '{}' in the header dict (expected descr, fortran_order, shape)", key));
      }
      skip_space();
      if (eat(',')) continue;
      skip_space();
      if (eat('}')) break;
      return error(why, "expected ',' or '}' in the header dict");
    }
    skip_space();
    if (pos_ != s_.size()) return error(why, "unexpected text after the header dict");
    if (!descr_value || !fortran || !shape)
      return error(why, "header dict lacks one of descr, fortran_order, shape");
    if (*fortran) return error(why, "array is in Fortran order; expected C order (fortran_order False)");
    const std::string& d = *descr_value;
    if (d == "<f4") header->dtype = DType::kFloat32;
    else if (d == "|u1" || d == "<u1" || d == "u1") header->dtype = DType::kUInt8;
    else if (d == "<i4") header->dtype = DType::kInt32;
    else if (d == "<i8") header->dtype = DType::kInt64;
    else if (!d.empty() && d[0] == '>')
      return error(why, fmt::format("big-endian dtype '{}'; expected little-endian <f4, |u1, <i4 or <i8", d));
    else
      return error(why, fmt::format("unsupported dtype '{}'; expected <f4, |u1, <i4 or <i8", d));
    header->shape = std::move(*shape);
    return true;
  }

 private:
  static bool error(std::string* why, std::string text) {
    *why = std::move(text);
    return false;
  }
  void skip_space() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\n' || s_[pos_] == '\t' || s_[pos_] == '\r')) ++pos_;
  }
  bool eat(char c) {
    if (pos_ < s_.size() && s_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  bool string_literal(std::string* out) {
    if (pos_ >= s_.size() || (s_[pos_] != '\'' && s_[pos_] != '"')) return false;
    char quote = s_[pos_++];
    std::size_t start = pos_;
    while (pos_ < s_.size() && s_[pos_] != quote) {
      if (s_[pos_] == '\\' || s_[pos_] == '\n') return false;
      ++pos_;
    }
    if (pos_ >= s_.size()) return false;
    *out = std::string(s_.substr(start, pos_ - start));
    ++pos_;
    return true;
  }
  bool boolean(bool* out) {
    if (s_.substr(pos_, 4) == "True") {
      pos_ += 4;
      *out = true;
      return true;
    }
    if (s_.substr(pos_, 5) == "False") {
      pos_ += 5;
      *out = false;
      return true;
    }
    return false;
  }
  bool tuple(Shape* out, std::string* why) {
    if (!eat('(')) return false;
    while (true) {
      skip_space();
      if (eat(')')) return true;
      if (pos_ < s_.size() && s_[pos_] == '-') {
        *why = "negative dimension in 'shape'";
        return false;
      }
      if (pos_ >= s_.size() || !std::isdigit(static_cast<unsigned char>(s_[pos_]))) return false;
      std::int64_t v = 0;
      while (pos_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[pos_]))) {
        int digit = s_[pos_++] - '0';
        if (v > (std::numeric_limits<std::int64_t>::max() - digit) / 10) {
          *why = "dimension in 'shape' does not fit in 64 bits";
          return false;
        }
        v = v * 10 + digit;
      }
      eat('L');  // Python 2 long suffix
      if (out->size() >= static_cast<std::size_t>(kMaxRank)) {
        *why = fmt::format("more than {} dimensions in 'shape'", kMaxRank);
        return false;
      }
      out->push_back(v);
      skip_space();
      if (eat(',')) continue;
      skip_space();
      if (eat(')')) return true;
      return false;
    }
  }

  std::string_view s_;
  std::size_t pos_ = 0;
};

}  // namespace

bool parse_header_dict(std::string_view dict, Header* header, std::string* why) {
  why->clear();
  return DictParser(dict).parse(header, why);
}

}  // namespace t2i::npy
