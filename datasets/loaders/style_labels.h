// What the disentangling probe (probe-disentangle, PAPER.md section 7) reads of a CUB-layout
// dataset besides its index: the part keypoints (parts/parts.txt, parts/part_locs.txt), the
// synthetic birds' background colours (background_rgb.txt, which real CUB lacks), and image sizes
// from file headers (PNG, JPEG) without decoding the pixels.
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "loaders/dataset.h"

namespace t2i::data {

struct PartLoc {
  float x = 0, y = 0;  // pixels from the top left corner
  bool visible = false;
};

struct PartTable {
  std::vector<std::string> names;          // index: part id - 1 (parts.txt, else CUB's 15 names)
  std::vector<std::vector<PartLoc>> locs;  // per image of Dataset::images, per part
  std::vector<bool> labelled;              // per image: at least one line in part_locs.txt
};

// CUB's part names in id order (1 back .. 15 throat), used when parts/parts.txt is absent.
const std::vector<std::string>& cub_part_names();

// parts/part_locs.txt ("<image_id> <part_id> <x> <y> <visible>") and parts/parts.txt
// ("<part_id> <name>") when present. InputError naming the file (and line) when part_locs.txt is
// missing or malformed, or a line names an image or part that does not exist.
PartTable read_part_locs(const Dataset& dataset);

// The index of the part named `name` (case-insensitive), or -1.
int find_part(const PartTable& parts, const std::string& name);

// background_rgb.txt ("<image_id> <r> <g> <b>", mean RGB of the pixels the bird does not cover,
// as make-birds writes it), per image of Dataset::images (nullopt for an image without a line);
// nullopt when the file does not exist. InputError for a malformed line or an unknown image id.
std::optional<std::vector<std::optional<std::array<double, 3>>>> read_background_rgb(const Dataset& dataset);

// The style the synthetic birds were drawn with besides what the probe's labels hold (style.txt,
// make-birds(1)): per image, kOtherStyleDim values (the backdrop's kind as three 0/1 flags; its
// colour change from top to bottom, -1 to 1; the ground's colour and the horizon's row, 0 unless
// there is one; the branch's flag, row, slope, width and colour, 0 without a branch; the
// brightness / 255 and the contrast). Rows and widths are divided by the image's height (height_by_image,
// per image of Dataset::images; 0 or missing: left in pixels), colours by 255.
// Per image of Dataset::images (nullopt for an image without a line); nullopt when the file does
// not exist (real CUB). InputError naming the file and line for a malformed line or an unknown id.
inline constexpr std::size_t kOtherStyleDim = 19;
std::optional<std::vector<std::optional<std::array<double, kOtherStyleDim>>>> read_other_style(
    const Dataset& dataset, const std::vector<double>& height_by_image);

// The width and height of a PNG or JPEG file from its header; InputError naming the file if it
// is neither or the header is broken.
std::array<int, 2> image_file_size(const std::string& path);

// The mean RGB of an image's background, estimated where no background file exists: the pixels
// outside the bounding box when one is given and leaves at least 1/16 of the image, else the
// border frame (the outer eighth of each side).
std::array<double, 3> estimated_background_rgb(const Image& image, const std::optional<BoundingBox>& box);

}  // namespace t2i::data
