#include "loaders/style_labels.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <sstream>
#include <stdexcept>
#include <unordered_map>

#include "error.h"
#include "file.h"

namespace t2i::data {

namespace {

std::unordered_map<int, std::size_t> index_by_id(const Dataset& d) {
  std::unordered_map<int, std::size_t> m;
  for (std::size_t i = 0; i < d.images.size(); ++i) m.emplace(d.images[i].id, i);
  return m;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// The fields of a line; InputError naming file and line unless there are `want` of them (at least
// `want` when at_least).
std::vector<std::string> fields(const std::string& line, std::size_t want, bool at_least, const std::string& file,
                                std::size_t lineno, const char* format) {
  std::istringstream in(line);
  std::vector<std::string> f;
  for (std::string w; in >> w;) f.push_back(w);
  if (at_least ? f.size() < want : f.size() != want)
    fail<InputError>("{}:{}: '{}': expected '{}'", file, lineno, line.substr(0, 80), format);
  return f;
}

double number(const std::string& s, const std::string& file, std::size_t lineno, const char* what) {
  try {
    std::size_t used = 0;
    const double v = std::stod(s, &used);
    if (used != s.size() || !std::isfinite(v)) throw std::invalid_argument(s);
    return v;
  } catch (const std::logic_error&) {
    fail<InputError>("{}:{}: {} '{}' is not a number", file, lineno, what, s.substr(0, 40));
  }
}

int integer(const std::string& s, const std::string& file, std::size_t lineno, const char* what) {
  try {
    std::size_t used = 0;
    const long v = std::stol(s, &used);
    if (used != s.size() || v < 0 || v > 100'000'000) throw std::invalid_argument(s);
    return static_cast<int>(v);
  } catch (const std::logic_error&) {
    fail<InputError>("{}:{}: {} '{}' is not an integer id", file, lineno, what, s.substr(0, 40));
  }
}

}  // namespace

const std::vector<std::string>& cub_part_names() {
  static const std::vector<std::string> names = {"back",      "beak",      "belly",      "breast", "crown",
                                                 "forehead",  "left eye",  "left leg",   "left wing", "nape",
                                                 "right eye", "right leg", "right wing", "tail",   "throat"};
  return names;
}

PartTable read_part_locs(const Dataset& d) {
  PartTable t;
  const std::string names_path = d.file("parts/parts.txt"), locs_path = d.file("parts/part_locs.txt");
  if (std::filesystem::exists(names_path)) {
    std::size_t lineno = 0;
    for (const std::string& line : read_lines(names_path)) {
      ++lineno;
      if (line.find_first_not_of(" \t") == std::string::npos) continue;
      std::istringstream in(line);
      std::string id_text, name;
      in >> id_text;
      std::getline(in, name);
      name.erase(0, name.find_first_not_of(" \t"));
      const int id = integer(id_text, names_path, lineno, "part id");
      if (name.empty() || id != static_cast<int>(t.names.size()) + 1)
        fail<InputError>("{}:{}: '{}': expected '<part_id> <name>' with ids 1, 2, ... in order", names_path, lineno,
                         line.substr(0, 80));
      t.names.push_back(name);
    }
  } else {
    t.names = cub_part_names();
  }
  if (!std::filesystem::exists(locs_path))
    fail<InputError>("{}: no part keypoints (a CUB-200-2011 layout dataset has parts/part_locs.txt)", locs_path);
  const auto by_id = index_by_id(d);
  t.locs.assign(d.images.size(), std::vector<PartLoc>(t.names.size()));
  t.labelled.assign(d.images.size(), false);
  std::size_t lineno = 0;
  for (const std::string& line : read_lines(locs_path)) {
    ++lineno;
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    const auto f = fields(line, 5, false, locs_path, lineno, "<image_id> <part_id> <x> <y> <visible>");
    const int image_id = integer(f[0], locs_path, lineno, "image id"), part = integer(f[1], locs_path, lineno, "part id");
    auto it = by_id.find(image_id);
    if (it == by_id.end()) fail<InputError>("{}:{}: image id {} is not in images.txt", locs_path, lineno, image_id);
    if (part < 1 || part > static_cast<int>(t.names.size()))
      fail<InputError>("{}:{}: part id {} is not one of the {} parts", locs_path, lineno, part, t.names.size());
    const double vis = number(f[4], locs_path, lineno, "visibility");
    if (vis != 0 && vis != 1) fail<InputError>("{}:{}: visibility '{}': expected 0 or 1", locs_path, lineno, f[4]);
    PartLoc& p = t.locs[it->second][static_cast<std::size_t>(part - 1)];
    p.x = static_cast<float>(number(f[2], locs_path, lineno, "x"));
    p.y = static_cast<float>(number(f[3], locs_path, lineno, "y"));
    p.visible = vis == 1;
    t.labelled[it->second] = true;
  }
  return t;
}

int find_part(const PartTable& parts, const std::string& name) {
  for (std::size_t i = 0; i < parts.names.size(); ++i)
    if (lower(parts.names[i]) == lower(name)) return static_cast<int>(i);
  return -1;
}

// A per-image file of "<image_id> ..." lines with `want` fields (blank lines skipped), as
// parse(fields, image index, line number) gives each row; nullopt when the file does not exist.
// InputError naming the file and line for a wrong field count or an unknown image id.
template <typename Parse>
auto read_image_lines(const Dataset& d, const std::string& name, std::size_t want, const char* format, Parse&& parse)
    -> std::optional<std::vector<std::optional<decltype(parse(std::vector<std::string>{}, std::size_t{}, std::size_t{}))>>> {
  using Row = decltype(parse(std::vector<std::string>{}, std::size_t{}, std::size_t{}));
  const std::string path = d.file(name);
  if (!std::filesystem::exists(path)) return std::nullopt;
  const auto by_id = index_by_id(d);
  std::vector<std::optional<Row>> out(d.images.size());
  std::size_t lineno = 0;
  for (const std::string& line : read_lines(path)) {
    ++lineno;
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    const auto f = fields(line, want, false, path, lineno, format);
    const int image_id = integer(f[0], path, lineno, "image id");
    auto it = by_id.find(image_id);
    if (it == by_id.end()) fail<InputError>("{}:{}: image id {} is not in images.txt", path, lineno, image_id);
    out[it->second] = parse(f, it->second, lineno);
  }
  return out;
}

std::optional<std::vector<std::optional<std::array<double, 3>>>> read_background_rgb(const Dataset& d) {
  const std::string path = d.file("background_rgb.txt");
  return read_image_lines(d, "background_rgb.txt", 4, "<image_id> <r> <g> <b>",
                          [&](const std::vector<std::string>& f, std::size_t, std::size_t lineno) {
                            std::array<double, 3> rgb{};
                            for (std::size_t k = 0; k < 3; ++k) rgb[k] = number(f[k + 1], path, lineno, "colour");
                            return rgb;
                          });
}

std::optional<std::vector<std::optional<std::array<double, kOtherStyleDim>>>> read_other_style(
    const Dataset& d, const std::vector<double>& heights) {
  const std::string path = d.file("style.txt");
  auto row = [&](const std::vector<std::string>& f, std::size_t image, std::size_t lineno) {
    // f[1..26]: facing_right scale cx cy tilt head_turn background bg_top(3) bg_bottom(3) ground(3)
    // horizon_y branch branch_y branch_slope branch_width branch(3) brightness contrast.
    auto num = [&](std::size_t i, const char* what) { return number(f[i], path, lineno, what); };
    const std::string& kind = f[7];
    if (kind != "plain" && kind != "gradient" && kind != "horizon")
      fail<InputError>("{}:{}: background '{}': expected plain, gradient or horizon", path, lineno, kind.substr(0, 40));
    const double h = image < heights.size() && heights[image] > 0 ? heights[image] : 1.0;
    const double horizon = kind == "horizon" ? 1.0 : 0.0, branch = num(18, "branch flag");
    if (branch != 0 && branch != 1) fail<InputError>("{}:{}: branch flag '{}': expected 0 or 1", path, lineno, f[18]);
    if (const double facing = num(1, "facing_right"); facing != 0 && facing != 1)
      fail<InputError>("{}:{}: facing_right '{}': expected 0 or 1", path, lineno, f[1]);
    std::array<double, kOtherStyleDim> v{};
    std::size_t k = 0;
    v[k++] = kind == "plain", v[k++] = kind == "gradient", v[k++] = horizon;
    for (std::size_t c = 0; c < 3; ++c) v[k++] = (num(11 + c, "colour") - num(8 + c, "colour")) / 255.0;
    for (std::size_t c = 0; c < 3; ++c) v[k++] = horizon * num(14 + c, "colour") / 255.0;
    v[k++] = horizon * num(17, "horizon row") / h;
    v[k++] = branch;
    v[k++] = branch * num(19, "branch row") / h;
    v[k++] = branch * num(20, "branch slope");
    v[k++] = branch * num(21, "branch width") / h;
    for (std::size_t c = 0; c < 3; ++c) v[k++] = branch * num(22 + c, "colour") / 255.0;
    v[k++] = num(25, "brightness") / 255.0;
    v[k++] = num(26, "contrast");
    for (std::size_t i = 2; i <= 6; ++i) num(i, "pose value");  // well-formed, though the pose label holds them
    if (k != kOtherStyleDim) throw std::logic_error("read_other_style: the values do not fill kOtherStyleDim");
    return v;
  };
  return read_image_lines(d, "style.txt", 27, "<image_id> and the 26 fields of make-birds(1), style.txt", row);
}

std::array<int, 2> image_file_size(const std::string& path) {
  const std::string b = read_file(path);
  auto u8 = [&](std::size_t i) { return static_cast<unsigned>(static_cast<unsigned char>(b[i])); };
  auto be32 = [&](std::size_t i) { return (u8(i) << 24) | (u8(i + 1) << 16) | (u8(i + 2) << 8) | u8(i + 3); };
  if (b.size() >= 24 && b.compare(0, 8, "\x89PNG\r\n\x1a\n") == 0 && b.compare(12, 4, "IHDR") == 0) {
    const unsigned w = be32(16), h = be32(20);
    if (w >= 1 && h >= 1 && w <= static_cast<unsigned>(kMaxImageSide) && h <= static_cast<unsigned>(kMaxImageSide))
      return {static_cast<int>(w), static_cast<int>(h)};
    fail<InputError>("{}: PNG header gives a size of {} x {}", path, w, h);
  }
  if (b.size() >= 4 && u8(0) == 0xFF && u8(1) == 0xD8) {
    std::size_t i = 2;
    while (i + 4 <= b.size()) {
      if (u8(i) != 0xFF) break;
      const unsigned marker = u8(i + 1);
      if (marker == 0xFF) {  // fill byte
        ++i;
        continue;
      }
      if (marker == 0xD8 || (marker >= 0xD0 && marker <= 0xD7) || marker == 0x01) {
        i += 2;
        continue;
      }
      const std::size_t len = (u8(i + 2) << 8) | u8(i + 3);
      const bool sof = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
      if (sof && i + 9 <= b.size()) {
        const int h = static_cast<int>((u8(i + 5) << 8) | u8(i + 6)), w = static_cast<int>((u8(i + 7) << 8) | u8(i + 8));
        if (w >= 1 && h >= 1 && w <= kMaxImageSide && h <= kMaxImageSide) return {w, h};
        break;
      }
      if (len < 2) break;
      i += 2 + len;
    }
    fail<InputError>("{}: JPEG without a readable frame header (SOF)", path);
  }
  fail<InputError>("{}: neither PNG nor JPEG", path);
}

std::array<double, 3> estimated_background_rgb(const Image& image, const std::optional<BoundingBox>& box) {
  const Image rgb = image.channels == 3 ? image : convert_channels(image, 3);
  const int w = rgb.width, h = rgb.height;
  auto mean_where = [&](auto&& inside) {
    std::array<double, 3> sum{};
    std::size_t n = 0;
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x)
        if (inside(x, y)) {
          const std::uint8_t* p = rgb.at(x, y);
          for (int k = 0; k < 3; ++k) sum[static_cast<std::size_t>(k)] += p[k];
          ++n;
        }
    for (double& s : sum) s /= double(std::max<std::size_t>(n, 1));
    return std::make_pair(sum, n);
  };
  if (box) {
    const double x0 = box->x, y0 = box->y, x1 = box->x + box->width, y1 = box->y + box->height;
    auto [m, n] = mean_where([&](int x, int y) { return x + 0.5 < x0 || x + 0.5 > x1 || y + 0.5 < y0 || y + 0.5 > y1; });
    if (n * 16 >= static_cast<std::size_t>(w) * static_cast<std::size_t>(h)) return m;
  }
  const int bx = std::max(1, w / 8), by = std::max(1, h / 8);
  return mean_where([&](int x, int y) { return x < bx || x >= w - bx || y < by || y >= h - by; }).first;
}

}  // namespace t2i::data
