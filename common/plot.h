// Line plots as PNG images, for the curves tools report (probe-disentangle's ROC curves): one or
// more square panels side by side, each with axes, ticks, labels, a title, optional diagonal, and
// a legend, drawn with the toolkit's 5x8 font (font5x8.h). No dependency beyond common/image.h.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "image.h"

namespace t2i::plot {

struct Series {
  std::string name;  // the legend's text
  std::vector<std::pair<double, double>> points;  // (x, y), joined in order
};

struct Panel {
  std::string title, x_label, y_label;
  double x_min = 0, x_max = 1, y_min = 0, y_max = 1;
  bool diagonal = false;  // the line y = x, dashed grey (chance for an ROC curve)
  std::vector<Series> series;
};

// The colour of the i-th series (a fixed palette of 8, then repeating).
std::array<std::uint8_t, 3> series_colour(std::size_t i);

// RGB image of the panels side by side, each `size` pixels square (at least 200).
Image draw_panels(const std::vector<Panel>& panels, int size = 400);

// Pixel-level helpers, also for other drawings.
void fill_rect(Image& img, int x0, int y0, int w, int h, const std::array<std::uint8_t, 3>& rgb);
// A line of the given thickness (a square pen), optionally dashed (every other `dash` pixels).
void draw_line(Image& img, double x0, double y0, double x1, double y1, const std::array<std::uint8_t, 3>& rgb,
               int thickness = 1, int dash = 0);
// Text from its top left corner, `scale` pixels per font dot; returns the width drawn.
int draw_text(Image& img, int x, int y, const std::string& text, const std::array<std::uint8_t, 3>& rgb, int scale = 1);
int text_width(const std::string& text, int scale = 1);

}  // namespace t2i::plot
