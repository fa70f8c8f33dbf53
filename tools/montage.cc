// montage: a grid PNG of the images in a tensor stream.
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <map>

#include "captions.h"
#include "cli.h"
#include "error.h"
#include "file.h"
#include "font5x8.h"
#include "image.h"
#include "log.h"
#include "stream.h"

namespace {

using namespace t2i;

struct Tile {
  std::string key;
  Image image;
};

// A key's group: everything before the last '/' ("caption3/7" -> "caption3"), or the key.
std::string group_of(const std::string& key) {
  auto slash = key.rfind('/');
  return slash == std::string::npos ? key : key.substr(0, slash);
}

void fill_rect(Image& img, int x0, int y0, int w, int h, const std::uint8_t* rgb) {
  for (int y = std::max(0, y0); y < std::min(img.height, y0 + h); ++y)
    for (int x = std::max(0, x0); x < std::min(img.width, x0 + w); ++x) std::copy(rgb, rgb + 3, img.at(x, y));
}

void draw_text(Image& img, int x0, int y0, const std::string& text, int scale, const std::uint8_t* rgb, int max_width) {
  int x = x0;
  for (char c : text) {
    if (x + font5x8::kWidth * scale > x0 + max_width) break;
    const auto& g = font5x8::glyph(c);
    for (int row = 0; row < font5x8::kHeight; ++row)
      for (int col = 0; col < font5x8::kWidth; ++col)
        if (g[static_cast<std::size_t>(row)] & (0x10 >> col)) fill_rect(img, x + col * scale, y0 + row * scale, scale, scale, rgb);
    x += (font5x8::kWidth + 1) * scale;
  }
}

// Greedy word wrap into lines of at most `width` characters (a long word is cut).
std::vector<std::string> wrap(const std::string& text, std::size_t width, std::size_t max_lines) {
  std::vector<std::string> lines;
  std::string line;
  std::size_t i = 0;
  while (i < text.size() && lines.size() < max_lines) {
    std::size_t j = text.find(' ', i);
    std::string word = text.substr(i, j == std::string::npos ? std::string::npos : j - i);
    i = j == std::string::npos ? text.size() : j + 1;
    if (word.empty()) continue;
    if (word.size() > width) word = word.substr(0, width);
    if (!line.empty() && line.size() + 1 + word.size() > width) {
      lines.push_back(line);
      line.clear();
    }
    line += (line.empty() ? "" : " ") + word;
  }
  if (!line.empty() && lines.size() < max_lines) lines.push_back(line);
  return lines;
}

// Captions by key from "key<TAB>caption" lines (list-captions output): the first of each key.
std::map<std::string, std::string> read_captions(const std::string& path) {
  std::map<std::string, std::string> out;
  for (CaptionLine& c : read_caption_lines(path)) out.emplace(std::move(c.key), std::move(c.caption));
  return out;
}

void parse_colour(const std::string& text, std::uint8_t* rgb) {
  unsigned v = 0;
  char extra = 0;
  std::string hex = text[0] == '#' ? text.substr(1) : text;
  if (hex.size() != 6 || std::sscanf(hex.c_str(), "%x%c", &v, &extra) != 1)
    fail<UsageError>("--background '{}': expected a hex colour such as ffffff", text);
  rgb[0] = static_cast<std::uint8_t>(v >> 16), rgb[1] = static_cast<std::uint8_t>(v >> 8), rgb[2] = static_cast<std::uint8_t>(v);
}

}  // namespace

int main(int argc, char** argv) {
  t2i::Cli cli({
      .name = "montage",
      .purpose = "lay the images of a tensor stream out in a grid and write it as one PNG",
      .usage = "montage [options] < <stream-in> > <grid.png>",
      .example = "encode-text -m text.st < captions.txt | generate -m gan.st -n 8 | montage --rows-by-group --labels > grid.png\n"
                 "png-to-tensor photos/ | montage --cols 4 --tile 64 -o contact.png",
      .see_also = "tensor-to-png(1), png-to-tensor(1), t2i-stream(5)",
  });
  std::string in_path = "-", out_path = "-", tile_text, background = "ffffff", captions_path;
  int cols = 8, pad = 2, label_scale = 2, max_images = 4096, caption_lines = 3;
  bool labels = false, by_group = false;
  cli.options().add_options()
      ("input,i", po::value(&in_path)->default_value(in_path), "input stream ('-': stdin)")
      ("output,o", po::value(&out_path)->default_value(out_path), "output PNG ('-': stdout)")
      ("cols", po::value(&cols)->default_value(cols), "images per row")
      ("rows-by-group", po::bool_switch(&by_group), "start a new row whenever the key's group (the part before the last '/') changes")
      ("labels", po::bool_switch(&labels), "label each row with the group of its first key, in a column on the left")
      ("label-scale", po::value(&label_scale)->default_value(label_scale), "size of label text: pixels per font dot")
      ("captions", po::value(&captions_path), "write each image's caption under it, from 'key<TAB>caption' lines (list-captions); a key's group also matches")
      ("caption-lines", po::value(&caption_lines)->default_value(caption_lines), "lines of caption text under each image")
      ("tile", po::value(&tile_text), "resize each image to N x N or W x H (default: the first image's size)")
      ("pad", po::value(&pad)->default_value(pad), "pixels between and around tiles")
      ("background", po::value(&background)->default_value(background), "colour between tiles, hex RRGGBB")
      ("max-images", po::value(&max_images)->default_value(max_images), "refuse streams with more images than this");
  return cli.run(argc, argv, [&] {
    cli.expect_args(0, 0);
    if (cols < 1 || cols > 4096) fail<UsageError>("--cols {}: expected 1 to 4096", cols);
    if (pad < 0 || pad > 256) fail<UsageError>("--pad {}: expected 0 to 256", pad);
    if (label_scale < 1 || label_scale > 16) fail<UsageError>("--label-scale {}: expected 1 to 16", label_scale);
    if (max_images < 1) fail<UsageError>("--max-images {}: expected at least 1", max_images);
    if (caption_lines < 1 || caption_lines > 20) fail<UsageError>("--caption-lines {}: expected 1 to 20", caption_lines);
    std::map<std::string, std::string> captions;
    if (!captions_path.empty()) captions = read_captions(captions_path);
    std::uint8_t bg[3], ink[3];
    parse_colour(background, bg);
    const bool dark = bg[0] + bg[1] + bg[2] < 384;
    std::fill(ink, ink + 3, dark ? 255 : 0);
    int tw = 0, th = 0;
    if (!tile_text.empty()) parse_size(tile_text, "tile", &tw, &th);
    if (out_path == "-" && ::isatty(STDOUT_FILENO))
      fail<UsageError>("refusing to write a PNG to a terminal; redirect stdout or use -o");

    // Read and size the tiles.
    StreamReader reader(in_path);
    std::vector<Tile> tiles;
    Record rec;
    while (reader.next(&rec)) {
      if (static_cast<int>(tiles.size()) >= max_images)
        fail<InputError>("{}: more than {} images; raise --max-images or select fewer", reader.name(), max_images);
      Image img = tensor_to_image(rec.tensor, fmt::format("{}: key '{}'", reader.name(), printable_key(rec.key)));
      img = convert_channels(img, 3);
      if (tw == 0) tw = img.width, th = img.height;
      tiles.push_back({rec.key, resize_area(img, tw, th)});
    }
    if (tiles.empty()) fail<InputError>("{}: no images in the stream", reader.name());

    // Rows: fixed width, or one per key group.
    std::vector<std::vector<const Tile*>> rows;
    for (const Tile& t : tiles) {
      bool new_row = rows.empty() || static_cast<int>(rows.back().size()) >= cols ||
                     (by_group && group_of(rows.back().front()->key) != group_of(t.key));
      if (new_row) rows.emplace_back();
      rows.back().push_back(&t);
    }
    std::size_t max_cols = 0;
    for (const auto& r : rows) max_cols = std::max(max_cols, r.size());
    const int glyph_w = (font5x8::kWidth + 1) * label_scale;
    int label_w = 0;
    if (labels) {
      std::size_t longest = 0;
      for (const auto& r : rows) longest = std::max(longest, group_of(r.front()->key).size());
      label_w = std::min<int>(static_cast<int>(longest) * glyph_w, 64 * glyph_w) + pad;
    }
    // Caption text under each tile, in the font at scale 1.
    const int line_h = font5x8::kHeight + 2;
    const int caption_h = captions.empty() ? 0 : caption_lines * line_h + 2;
    const std::size_t chars_per_line = static_cast<std::size_t>(std::max(1, (tw + 1) / (font5x8::kWidth + 1)));
    auto caption_of = [&](const std::string& key) -> const std::string* {
      auto it = captions.find(key);
      if (it == captions.end()) it = captions.find(group_of(key));
      return it == captions.end() ? nullptr : &it->second;
    };
    const int cell_h = th + caption_h;
    const std::int64_t width = pad + label_w + static_cast<std::int64_t>(max_cols) * (tw + pad);
    const std::int64_t height = pad + static_cast<std::int64_t>(rows.size()) * (cell_h + pad);
    if (width > kMaxImageSide || height > kMaxImageSide)
      fail<UsageError>("the grid would be {}x{} pixels, over {}; use fewer images, --cols or a smaller --tile", width, height,
                       kMaxImageSide);

    Image grid(static_cast<int>(width), static_cast<int>(height), 3);
    fill_rect(grid, 0, 0, grid.width, grid.height, bg);
    for (std::size_t r = 0; r < rows.size(); ++r) {
      const int y = pad + static_cast<int>(r) * (cell_h + pad);
      if (labels) {
        int ty = y + std::max(0, (th - font5x8::kHeight * label_scale) / 2);
        draw_text(grid, pad, ty, group_of(rows[r].front()->key), label_scale, ink, label_w - pad);
      }
      for (std::size_t c = 0; c < rows[r].size(); ++c) {
        const Image& img = rows[r][c]->image;
        const int x = pad + label_w + static_cast<int>(c) * (tw + pad);
        for (int yy = 0; yy < th; ++yy) std::copy(img.at(0, yy), img.at(0, yy) + tw * 3, grid.at(x, y + yy));
        if (const std::string* text = caption_of(rows[r][c]->key)) {
          const auto lines = wrap(*text, chars_per_line, static_cast<std::size_t>(caption_lines));
          for (std::size_t l = 0; l < lines.size(); ++l)
            draw_text(grid, x, y + th + 2 + static_cast<int>(l) * line_h, lines[l], 1, ink, tw);
        }
      }
    }
    OutputFile out(out_path);
    out.write(encode_png(grid));
    out.close();
    log::info("{} images in {} rows: {}x{} grid to {}", tiles.size(), rows.size(), grid.width, grid.height, out.name());
    return 0;
  });
}
