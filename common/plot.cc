#include "plot.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "font5x8.h"

namespace t2i::plot {

namespace {
using Rgb = std::array<std::uint8_t, 3>;
constexpr Rgb kBlack{0, 0, 0}, kGrey{150, 150, 150}, kLight{225, 225, 225}, kWhite{255, 255, 255};

void put(Image& img, int x, int y, const Rgb& rgb) {
  if (x < 0 || y < 0 || x >= img.width || y >= img.height) return;
  std::copy(rgb.begin(), rgb.end(), img.at(x, y));
}
}  // namespace

Rgb series_colour(std::size_t i) {
  static constexpr Rgb kPalette[] = {{31, 119, 180}, {214, 39, 40}, {44, 160, 44}, {255, 127, 14},
                                     {148, 103, 189}, {140, 86, 75}, {227, 119, 194}, {23, 190, 207}};
  return kPalette[i % 8];
}

void fill_rect(Image& img, int x0, int y0, int w, int h, const Rgb& rgb) {
  for (int y = std::max(0, y0); y < std::min(img.height, y0 + h); ++y)
    for (int x = std::max(0, x0); x < std::min(img.width, x0 + w); ++x) std::copy(rgb.begin(), rgb.end(), img.at(x, y));
}

void draw_line(Image& img, double x0, double y0, double x1, double y1, const Rgb& rgb, int thickness, int dash) {
  const double len = std::max(std::abs(x1 - x0), std::abs(y1 - y0));
  const int steps = std::max(1, static_cast<int>(std::ceil(len)));
  const int lo = -(thickness - 1) / 2, hi = thickness / 2;
  for (int s = 0; s <= steps; ++s) {
    if (dash > 0 && (s / dash) % 2 == 1) continue;
    const double t = double(s) / steps;
    const int x = static_cast<int>(std::lround(x0 + t * (x1 - x0))), y = static_cast<int>(std::lround(y0 + t * (y1 - y0)));
    for (int dy = lo; dy <= hi; ++dy)
      for (int dx = lo; dx <= hi; ++dx) put(img, x + dx, y + dy, rgb);
  }
}

int text_width(const std::string& text, int scale) {
  return text.empty() ? 0 : static_cast<int>(text.size()) * (font5x8::kWidth + 1) * scale - scale;
}

int draw_text(Image& img, int x0, int y0, const std::string& text, const Rgb& rgb, int scale) {
  int x = x0;
  for (char c : text) {
    const auto& g = font5x8::glyph(c);
    for (int row = 0; row < font5x8::kHeight; ++row)
      for (int col = 0; col < font5x8::kWidth; ++col)
        if (g[static_cast<std::size_t>(row)] & (0x10 >> col)) fill_rect(img, x + col * scale, y0 + row * scale, scale, scale, rgb);
    x += (font5x8::kWidth + 1) * scale;
  }
  return x - x0;
}

Image draw_panels(const std::vector<Panel>& panels, int size) {
  if (panels.empty()) throw std::invalid_argument("draw_panels: no panels");
  size = std::max(size, 200);
  Image img(size * static_cast<int>(panels.size()), size, 3);
  std::fill(img.pixels.begin(), img.pixels.end(), std::uint8_t{255});
  const int left = 46, right = 14, top = 30, bottom = 40;
  const int pw = size - left - right, ph = size - top - bottom;
  for (std::size_t p = 0; p < panels.size(); ++p) {
    const Panel& pn = panels[p];
    if (!(pn.x_max > pn.x_min) || !(pn.y_max > pn.y_min)) throw std::invalid_argument("draw_panels: empty axis range");
    const int ox = static_cast<int>(p) * size + left, oy = top;  // the plot area's top left corner
    auto px = [&](double x) { return ox + (x - pn.x_min) / (pn.x_max - pn.x_min) * (pw - 1); };
    auto py = [&](double y) { return oy + (1 - (y - pn.y_min) / (pn.y_max - pn.y_min)) * (ph - 1); };
    // Grid and ticks: five intervals on each axis.
    for (int t = 0; t <= 5; ++t) {
      const double xv = pn.x_min + (pn.x_max - pn.x_min) * t / 5, yv = pn.y_min + (pn.y_max - pn.y_min) * t / 5;
      if (t > 0 && t < 5) {
        draw_line(img, px(xv), oy, px(xv), oy + ph - 1, kLight);
        draw_line(img, ox, py(yv), ox + pw - 1, py(yv), kLight);
      }
      const std::string xs = fmt::format("{:g}", std::round(xv * 100) / 100), ys = fmt::format("{:g}", std::round(yv * 100) / 100);
      draw_line(img, px(xv), oy + ph, px(xv), oy + ph + 3, kBlack);
      draw_text(img, static_cast<int>(px(xv)) - text_width(xs) / 2, oy + ph + 6, xs, kBlack);
      draw_line(img, ox - 4, py(yv), ox - 1, py(yv), kBlack);
      draw_text(img, ox - 6 - text_width(ys), static_cast<int>(py(yv)) - 4, ys, kBlack);
    }
    if (pn.diagonal) draw_line(img, px(pn.x_min), py(pn.y_min), px(pn.x_max), py(pn.y_max), kGrey, 1, 4);
    for (std::size_t s = 0; s < pn.series.size(); ++s) {
      const auto& pts = pn.series[s].points;
      for (std::size_t i = 1; i < pts.size(); ++i)
        draw_line(img, px(pts[i - 1].first), py(pts[i - 1].second), px(pts[i].first), py(pts[i].second),
                  series_colour(s), 2);
    }
    // The frame, the labels and the title.
    draw_line(img, ox - 1, oy - 1, ox + pw, oy - 1, kBlack);
    draw_line(img, ox - 1, oy + ph, ox + pw, oy + ph, kBlack);
    draw_line(img, ox - 1, oy - 1, ox - 1, oy + ph, kBlack);
    draw_line(img, ox + pw, oy - 1, ox + pw, oy + ph, kBlack);
    draw_text(img, ox + pw / 2 - text_width(pn.x_label) / 2, oy + ph + 20, pn.x_label, kBlack);
    // The y label, written vertically one character a line (the font has no rotation).
    const int yl_top = oy + ph / 2 - static_cast<int>(pn.y_label.size()) * 9 / 2;
    for (std::size_t i = 0; i < pn.y_label.size(); ++i)
      draw_text(img, static_cast<int>(p) * size + 4, yl_top + static_cast<int>(i) * 9, std::string(1, pn.y_label[i]), kBlack);
    draw_text(img, ox + pw / 2 - text_width(pn.title, 2) / 2, 8, pn.title, kBlack, 2);
    // The legend: bottom right inside the plot area.
    if (!pn.series.empty()) {
      int widest = 0;
      for (const auto& s : pn.series) widest = std::max(widest, text_width(s.name));
      const int lw = widest + 30, lh = static_cast<int>(pn.series.size()) * 12 + 6;
      const int lx = ox + pw - lw - 6, ly = oy + ph - lh - 6;
      fill_rect(img, lx, ly, lw, lh, kWhite);
      draw_line(img, lx, ly, lx + lw - 1, ly, kGrey);
      draw_line(img, lx, ly + lh - 1, lx + lw - 1, ly + lh - 1, kGrey);
      draw_line(img, lx, ly, lx, ly + lh - 1, kGrey);
      draw_line(img, lx + lw - 1, ly, lx + lw - 1, ly + lh - 1, kGrey);
      for (std::size_t s = 0; s < pn.series.size(); ++s) {
        const int y = ly + 4 + static_cast<int>(s) * 12;
        draw_line(img, lx + 5, y + 4, lx + 21, y + 4, series_colour(s), 2);
        draw_text(img, lx + 26, y, pn.series[s].name, kBlack);
      }
    }
  }
  return img;
}

}  // namespace t2i::plot
