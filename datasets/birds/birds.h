// The synthetic bird dataset: 200 species of little birds, drawn with a small supersampling
// rasteriser, captioned by a grammar that names content (part colours, beak, wing pattern, size,
// shape, tail, eye ring) and never style (pose, background, lighting), and written in the folder
// layout of CUB-200-2011 plus Reed et al.'s text_c10 captions.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "image.h"
#include "rng.h"

namespace t2i::birds {

// Random numbers: common/rng.h (splitmix64, the same on every platform).
using t2i::mix;
using t2i::Rng;

// ---- Content attributes. ----
inline constexpr int kNumColours = 15;
enum Colour : std::uint8_t {
  kRed, kOrange, kYellow, kGreen, kBlue, kBrown, kBlack, kWhite, kGrey, kBuff, kOlive, kCrimson,
  kPink, kPurple, kTan
};
const char* colour_name(int c);
std::array<std::uint8_t, 3> colour_rgb(int c);

// The coloured parts, in the order of the attribute list.
inline constexpr int kNumColourParts = 8;
enum ColourPart : std::uint8_t { kCrown, kHead, kThroat, kBreast, kBelly, kWing, kTail, kBeak };
const char* colour_part_name(int p);  // "crown" ... "bill" (CUB says bill)

enum class WingPattern : std::uint8_t { kPlain, kBars, kSpots };
enum class Length : std::uint8_t { kShort, kMedium, kLong };
enum class BeakShape : std::uint8_t { kPointed, kHooked, kCone, kCurved };
enum class BodySize : std::uint8_t { kSmall, kMedium, kLarge };
enum class BodyShape : std::uint8_t { kSlim, kRound };

struct Attributes {
  std::array<std::uint8_t, kNumColourParts> colour{};
  std::uint8_t mark = kWhite;  // colour of wing bars or spots (when the pattern is not plain)
  WingPattern pattern = WingPattern::kPlain;
  Length beak_length = Length::kMedium;
  BeakShape beak_shape = BeakShape::kPointed;
  BodySize size = BodySize::kMedium;
  BodyShape shape = BodyShape::kRound;
  Length tail_length = Length::kMedium;
  bool eye_ring = false;
  bool operator==(const Attributes&) const = default;
};

// The CUB-style attribute list ("has_crown_color::red", ...), 1-based ids in file order.
const std::vector<std::string>& attribute_names();
// For each attribute of attribute_names(), whether it holds.
std::vector<bool> attribute_values(const Attributes& a);

struct Species {
  int id = 0;             // 1..200
  std::string name;       // "Crimson_Crowned_Warbler"
  std::string folder;     // "001.Crimson_Crowned_Warbler"
  Attributes prototype;
};
inline constexpr int kNumSpecies = 200;
inline constexpr int kNumTestClasses = 50;
// The 200 species, from a fixed master seed (not the render seed): the same in every build.
const std::vector<Species>& all_species();
// Whether species id (1-based) is one of Reed's zero-shot test classes (50 of them).
bool is_test_class(int species_id);

// ---- Per-image draw. ----
enum class Background : std::uint8_t { kPlain, kGradient, kHorizon };

// Style: never captioned. make-birds writes it to style.txt (style_line), in these units.
struct Style {
  bool facing_right = true;
  double scale = 1;             // pixels per model unit
  double cx = 0, cy = 0;        // body centre in pixels
  double tilt = 0;              // radians, whole bird
  double head_turn = 0;         // radians, head and beak
  Background background = Background::kPlain;
  std::array<double, 3> bg_top{}, bg_bottom{}, ground{};  // RGB, 0 to 255, before the lighting
  double horizon_y = 0;         // pixels (kHorizon: the ground's top edge)
  bool branch = false;
  double branch_y = 0, branch_slope = 0, branch_width = 0;  // pixels at the feet, dy/dx, pixels
  std::array<double, 3> branch_rgb{};
  double brightness = 0, contrast = 1;  // lighting: v' = (v - 127.5) * contrast + 127.5 + brightness
};
const char* background_name(Background b);  // "plain", "gradient", "horizon"
// One line of style.txt: "<image_id> " then the fields of Style in the order of style_header().
std::string style_line(int image_id, const Style& s);
// The column names of style.txt after image_id (26 of them), space-separated.
const char* style_header();

// CUB's 15 parts, ids 1..15.
inline constexpr int kNumParts = 15;
const char* part_name(int part_id);  // "back", "beak", ...

struct Keypoint {
  double x = 0, y = 0;
  bool visible = false;
};

// Labels of the mask: what covers each pixel.
enum Label : std::uint8_t {
  kLabelBackground = 0, kLabelBody, kLabelBelly, kLabelBreast, kLabelHead, kLabelThroat,
  kLabelCrown, kLabelWing, kLabelTail, kLabelBeak, kLabelEye, kLabelLeg, kLabelMark
};

struct RenderedBird {
  Image image;                        // size x size RGB
  std::vector<std::uint8_t> label;    // size x size: the label at each pixel's centre sample
  std::vector<float> coverage;        // size x size: the fraction of samples covered by the bird
  std::array<Keypoint, kNumParts> parts;  // index part_id - 1
  double bx = 0, by = 0, bw = 0, bh = 0;  // bounding box of the drawn bird, pixels
  std::array<double, 3> background_rgb{};  // mean of pixels not covered by the bird
  Attributes attributes;              // what was drawn (may differ from the species' prototype)
  Style style;
};

// Draws one image of a species, deterministically from rng.
RenderedBird render_bird(const Species& species, int size, Rng& rng, int supersample = 4);

// Ten captions (lower-case ASCII, 5 to 40 words) of the content attributes. With `mentioned`,
// also the attributes each caption states (1-based ids of attribute_names(), sorted): what
// mentioned_attributes() must find in it. The captions do not depend on whether it is given.
std::vector<std::string> make_captions(const Attributes& a, Rng& rng, int count = 10,
                                       std::vector<std::vector<int>>* mentioned = nullptr);

// The attributes a caption states, as 1-based ids of attribute_names() ("has_breast_color::orange"),
// sorted and distinct: the inverse of the caption grammar (synonyms such as cap, abdomen, chest,
// beak, gray, pale buff; wing bars and spots and their colour; "mostly <colour>" and "<colour>
// bird" for the base plumage, which is the wing colour; beak and tail length and shape words;
// size and shape words before "bird"; eye rings). Words it does not know are ignored, so novel
// sentences ("a green bird with a pink crown") parse too. See parse.cc for the rules.
std::vector<int> mentioned_attributes(const std::string& caption);

// ---- The dataset. ----
struct DatasetOptions {
  std::string out;
  int count = 11788;
  std::uint64_t seed = 1;
  int size = 128;
  bool force = false;
  std::string command;  // recorded in README.txt
};

struct ImageEntry {
  int image_id = 0;      // 1-based
  int species_id = 0;    // 1-based
  int index = 0;         // 1-based, within the species
  std::string path;      // "001.Name/Name_0001_1" (no extension)
};
// Which species each image belongs to: N >= 200 spreads N over all 200 species (the first
// N % 200 get one more); N < 200 gives one image to each of the first N species.
std::vector<ImageEntry> plan_images(int count);

struct DatasetSummary {
  int images = 0, classes = 0, train = 0;
  double seconds = 0;
};
// Renders and writes the whole dataset; progress goes to stderr.
DatasetSummary write_dataset(const DatasetOptions& options);

}  // namespace t2i::birds
