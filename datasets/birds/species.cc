// Random numbers, the colour palette, the attribute list and the 200 species.
#include <fmt/format.h>

#include <algorithm>
#include <set>
#include <tuple>

#include "birds/birds.h"

namespace t2i::birds {

namespace {

constexpr const char* kColourNames[kNumColours] = {"red",   "orange", "yellow", "green",   "blue",
                                                   "brown", "black",  "white",  "grey",    "buff",
                                                   "olive", "crimson", "pink",  "purple", "tan"};
constexpr std::uint8_t kColourRgb[kNumColours][3] = {
    {215, 35, 35},  {240, 130, 20}, {245, 215, 40},  {60, 160, 60},  {45, 95, 205},
    {120, 75, 40},  {25, 25, 25},   {245, 245, 240}, {140, 140, 145}, {225, 200, 150},
    {125, 130, 50}, {160, 10, 50},  {240, 140, 175}, {120, 50, 150},  {195, 160, 110}};

constexpr const char* kColourPartNames[kNumColourParts] = {"crown", "head", "throat", "breast",
                                                           "belly", "wing", "tail",   "bill"};
constexpr const char* kPartNames[kNumParts] = {"back",    "beak",      "belly",     "breast",   "crown",
                                               "forehead", "left eye", "left leg",  "left wing", "nape",
                                               "right eye", "right leg", "right wing", "tail",    "throat"};

}  // namespace

const char* colour_name(int c) { return kColourNames[c]; }
std::array<std::uint8_t, 3> colour_rgb(int c) { return {kColourRgb[c][0], kColourRgb[c][1], kColourRgb[c][2]}; }
const char* colour_part_name(int p) { return kColourPartNames[p]; }
const char* part_name(int part_id) { return kPartNames[part_id - 1]; }

const std::vector<std::string>& attribute_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> n;
    for (int p = 0; p < kNumColourParts; ++p)
      for (int c = 0; c < kNumColours; ++c) n.push_back(fmt::format("has_{}_color::{}", kColourPartNames[p], kColourNames[c]));
    for (const char* s : {"pointed", "hooked", "cone", "curved"}) n.push_back(fmt::format("has_bill_shape::{}", s));
    for (const char* s : {"short", "medium", "long"}) n.push_back(fmt::format("has_bill_length::{}", s));
    for (const char* s : {"solid", "striped", "spotted"}) n.push_back(fmt::format("has_wing_pattern::{}", s));
    for (int c = 0; c < kNumColours; ++c) n.push_back(fmt::format("has_wing_mark_color::{}", kColourNames[c]));
    for (const char* s : {"small", "medium", "large"}) n.push_back(fmt::format("has_size::{}", s));
    for (const char* s : {"slim", "round"}) n.push_back(fmt::format("has_shape::{}", s));
    for (const char* s : {"short", "medium", "long"}) n.push_back(fmt::format("has_tail_length::{}", s));
    n.push_back("has_eye_pattern::eyering");
    return n;
  }();
  return names;
}

std::vector<bool> attribute_values(const Attributes& a) {
  std::vector<bool> v;
  for (int p = 0; p < kNumColourParts; ++p)
    for (int c = 0; c < kNumColours; ++c) v.push_back(a.colour[p] == c);
  for (int s = 0; s < 4; ++s) v.push_back(static_cast<int>(a.beak_shape) == s);
  for (int s = 0; s < 3; ++s) v.push_back(static_cast<int>(a.beak_length) == s);
  for (int s = 0; s < 3; ++s) v.push_back(static_cast<int>(a.pattern) == s);
  for (int c = 0; c < kNumColours; ++c) v.push_back(a.pattern != WingPattern::kPlain && a.mark == c);
  for (int s = 0; s < 3; ++s) v.push_back(static_cast<int>(a.size) == s);
  for (int s = 0; s < 2; ++s) v.push_back(static_cast<int>(a.shape) == s);
  for (int s = 0; s < 3; ++s) v.push_back(static_cast<int>(a.tail_length) == s);
  v.push_back(a.eye_ring);
  return v;
}

namespace {

constexpr std::uint64_t kMasterSeed = 0x5EEDB12D2016ull;

std::string capitalise(std::string s) {
  if (!s.empty()) s[0] = static_cast<char>(s[0] - 'a' + 'A');
  return s;
}

// Families by beak shape, so that names fit the birds a little.
const std::vector<std::vector<const char*>> kFamilies = {
    {"Warbler", "Vireo", "Wren", "Flycatcher", "Pipit", "Kinglet", "Redstart", "Swallow", "Nuthatch", "Chickadee"},
    {"Shrike", "Kestrel", "Kite", "Falcon", "Tyrant", "Butcherbird"},
    {"Finch", "Sparrow", "Bunting", "Grosbeak", "Cardinal", "Junco", "Towhee", "Seedeater", "Siskin", "Crossbill"},
    {"Thrasher", "Creeper", "Hummingbird", "Curlew", "Sunbird", "Honeyeater"}};
constexpr const char* kPartWords[] = {"Crowned", "Headed", "Throated", "Breasted", "Bellied", "Winged", "Tailed"};
constexpr const char* kPrefixes[] = {"Lesser", "Greater", "Western", "Eastern", "Northern", "Southern",
                                     "Common", "Little", "Mountain", "Coastal", "Forest", "Marsh"};

Attributes random_attributes(Rng& rng) {
  Attributes a;
  // A base plumage colour, with a few parts in accent colours: birds look like birds, not quilts.
  int base = rng.below(kNumColours);
  int under = rng.chance(0.5) ? rng.below(kNumColours) : (rng.chance(0.5) ? kWhite : kBuff);
  int accent = rng.below(kNumColours);
  a.colour[kWing] = static_cast<std::uint8_t>(base);
  a.colour[kHead] = static_cast<std::uint8_t>(rng.chance(0.6) ? base : rng.below(kNumColours));
  a.colour[kCrown] = static_cast<std::uint8_t>(rng.chance(0.5) ? accent : a.colour[kHead]);
  a.colour[kTail] = static_cast<std::uint8_t>(rng.chance(0.7) ? base : rng.below(kNumColours));
  a.colour[kBelly] = static_cast<std::uint8_t>(under);
  a.colour[kBreast] = static_cast<std::uint8_t>(rng.chance(0.5) ? under : (rng.chance(0.5) ? accent : rng.below(kNumColours)));
  a.colour[kThroat] = static_cast<std::uint8_t>(rng.chance(0.5) ? a.colour[kBreast] : rng.below(kNumColours));
  const std::uint8_t beaks[] = {kBlack, kBlack, kGrey, kOrange, kYellow, kBrown, kPink, kTan};
  a.colour[kBeak] = beaks[rng.below(8)];
  a.pattern = static_cast<WingPattern>(rng.below(3));
  do a.mark = static_cast<std::uint8_t>(rng.chance(0.6) ? (rng.chance(0.5) ? kWhite : kBlack) : rng.below(kNumColours));
  while (a.mark == a.colour[kWing]);
  a.beak_shape = static_cast<BeakShape>(rng.below(4));
  a.beak_length = static_cast<Length>(rng.below(3));
  a.size = static_cast<BodySize>(rng.below(3));
  a.shape = static_cast<BodyShape>(rng.below(2));
  a.tail_length = static_cast<Length>(rng.below(3));
  a.eye_ring = rng.chance(0.35);
  return a;
}

std::vector<Species> make_species() {
  Rng rng(kMasterSeed);
  std::vector<Species> all;
  std::set<std::string> names;
  std::vector<Attributes> seen;
  while (static_cast<int>(all.size()) < kNumSpecies) {
    Attributes a = random_attributes(rng);
    // Distinct: differ from every earlier species in at least two attributes' worth of look.
    bool close = std::any_of(seen.begin(), seen.end(), [&](const Attributes& b) {
      int diff = 0;
      for (int p = 0; p < kNumColourParts; ++p) diff += a.colour[p] != b.colour[p];
      diff += a.pattern != b.pattern;
      diff += a.beak_shape != b.beak_shape;
      diff += a.beak_length != b.beak_length;
      diff += a.size != b.size;
      diff += a.shape != b.shape;
      diff += a.tail_length != b.tail_length;
      diff += a.eye_ring != b.eye_ring;
      return diff < 3;
    });
    if (close) continue;
    const auto& family = kFamilies[static_cast<int>(a.beak_shape)];
    std::string name;
    for (int attempt = 0; name.empty() || names.count(name); ++attempt) {
      int part = rng.below(7);
      const int part_of[] = {kCrown, kHead, kThroat, kBreast, kBelly, kWing, kTail};
      std::string colour = capitalise(kColourNames[a.colour[part_of[part]]]);
      name = fmt::format("{}_{}_{}", colour, kPartWords[part], family[rng.below(static_cast<int>(family.size()))]);
      if (attempt > 8) name = fmt::format("{}_{}", kPrefixes[rng.below(12)], name);
    }
    names.insert(name);
    seen.push_back(a);
    Species s;
    s.id = static_cast<int>(all.size()) + 1;
    s.name = name;
    s.folder = fmt::format("{:03d}.{}", s.id, name);
    s.prototype = a;
    all.push_back(std::move(s));
  }
  return all;
}

}  // namespace

const std::vector<Species>& all_species() {
  static const std::vector<Species> species = make_species();
  return species;
}

bool is_test_class(int species_id) {
  static const std::vector<bool> test = [] {
    std::vector<int> ids(kNumSpecies);
    for (int i = 0; i < kNumSpecies; ++i) ids[i] = i + 1;
    Rng rng(kMasterSeed ^ 0x7E57);
    for (int i = kNumSpecies - 1; i > 0; --i) std::swap(ids[i], ids[rng.below(i + 1)]);
    std::vector<bool> t(kNumSpecies + 1, false);
    for (int i = 0; i < kNumTestClasses; ++i) t[ids[i]] = true;
    return t;
  }();
  return species_id >= 1 && species_id <= kNumSpecies && test[species_id];
}

}  // namespace t2i::birds
