// The synthetic birds: species, drawing, keypoints, boxes, backgrounds and captions.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <regex>
#include <set>
#include <sstream>

#include "birds/birds.h"

namespace t2i::birds {
namespace {

TEST(BirdsSpecies, TwoHundredDistinctStableSpecies) {
  const auto& species = all_species();
  ASSERT_EQ(species.size(), 200u);
  std::set<std::string> names;
  std::regex folder(R"(\d{3}\.[A-Z][a-z]+(_[A-Z][a-z]+)+)");
  int test = 0;
  for (std::size_t i = 0; i < species.size(); ++i) {
    const Species& s = species[i];
    EXPECT_EQ(s.id, static_cast<int>(i) + 1);
    EXPECT_TRUE(std::regex_match(s.folder, folder)) << s.folder;
    EXPECT_EQ(s.folder.substr(4), s.name);
    names.insert(s.name);
    for (std::size_t j = 0; j < i; ++j) EXPECT_FALSE(species[j].prototype == s.prototype) << i << " " << j;
    test += is_test_class(s.id);
  }
  EXPECT_EQ(names.size(), 200u);
  EXPECT_EQ(test, 50);
  // The species come from a fixed master seed: the same in every build and run.
  EXPECT_EQ(species[0].folder.substr(0, 4), "001.");
}

TEST(BirdsSpecies, AttributeListMatchesValues) {
  const auto& names = attribute_names();
  EXPECT_EQ(names.size(), attribute_values(all_species()[0].prototype).size());
  EXPECT_EQ(names[0], "has_crown_color::red");
  for (const auto& n : names) EXPECT_EQ(n.rfind("has_", 0), 0u) << n;
  EXPECT_EQ(std::string(part_name(1)), "back");
  EXPECT_EQ(std::string(part_name(15)), "throat");
}

TEST(BirdsPlan, CountsPerClass) {
  auto full = plan_images(11788);
  ASSERT_EQ(full.size(), 11788u);
  std::vector<int> per(201, 0);
  for (std::size_t i = 0; i < full.size(); ++i) {
    EXPECT_EQ(full[i].image_id, static_cast<int>(i) + 1);
    ++per[full[i].species_id];
  }
  for (int s = 1; s <= 200; ++s) EXPECT_TRUE(per[s] == 58 || per[s] == 59) << s;
  EXPECT_EQ(full[0].path, all_species()[0].folder + "/" + all_species()[0].name + "_0001_1");
  auto small = plan_images(7);
  ASSERT_EQ(small.size(), 7u);
  for (int i = 0; i < 7; ++i) EXPECT_EQ(small[i].species_id, i + 1);
  auto some = plan_images(450);
  EXPECT_EQ(std::count_if(some.begin(), some.end(), [](const ImageEntry& e) { return e.species_id == 200; }), 2);
}

RenderedBird render(int image, int size) {
  Rng rng(mix(42, static_cast<std::uint64_t>(image)));
  return render_bird(all_species()[static_cast<std::size_t>(image) % 200], size, rng);
}

TEST(BirdsRender, Deterministic) {
  RenderedBird a = render(17, 64), b = render(17, 64), c = render(18, 64);
  EXPECT_EQ(a.image, b.image);
  EXPECT_EQ(a.label, b.label);
  EXPECT_NE(a.image, c.image);
}

// Whether some pixel within `r` of (x, y) satisfies f.
template <typename F>
bool near(const RenderedBird& b, double x, double y, int r, F f) {
  int size = b.image.width;
  for (int dy = -r; dy <= r; ++dy)
    for (int dx = -r; dx <= r; ++dx) {
      int px = static_cast<int>(std::floor(x)) + dx, py = static_cast<int>(std::floor(y)) + dy;
      if (px >= 0 && py >= 0 && px < size && py < size && f(static_cast<std::size_t>(py) * size + px)) return true;
    }
  return false;
}

TEST(BirdsRender, KeypointsBoxesAndBackgrounds) {
  int plain = 0;
  for (int image = 0; image < 300; ++image) {
    const int size = image % 2 ? 64 : 96;
    RenderedBird b = render(image, size);
    ASSERT_EQ(b.image.width, size);
    // The box holds every pixel the bird touches, and touches the bird on each side.
    double x0 = size, y0 = size, x1 = 0, y1 = 0;
    for (int y = 0; y < size; ++y)
      for (int x = 0; x < size; ++x)
        if (b.coverage[static_cast<std::size_t>(y) * size + x] > 0)
          x0 = std::min<double>(x0, x), y0 = std::min<double>(y0, y), x1 = std::max<double>(x1, x + 1), y1 = std::max<double>(y1, y + 1);
    EXPECT_GE(b.bx, x0 - 1e-9);
    EXPECT_LE(b.bx, x0 + 1);
    EXPECT_GE(b.by, y0 - 1e-9);
    EXPECT_LE(b.by + b.bh, y1 + 1e-9);
    EXPECT_GE(b.bx + b.bw, x1 - 1);
    EXPECT_GE(b.bx, 0);
    EXPECT_LE(b.bx + b.bw, size);
    EXPECT_GT(b.bw * b.bh, 0.1 * size * size) << "a bird too small to see";

    // Keypoints: visible ones on the bird and in the box, hidden ones at 0,0; one eye, one wing.
    for (int p = 1; p <= kNumParts; ++p) {
      const Keypoint& k = b.parts[p - 1];
      if (!k.visible) {
        EXPECT_EQ(k.x, 0);
        EXPECT_EQ(k.y, 0);
        continue;
      }
      EXPECT_TRUE(k.x >= b.bx && k.x <= b.bx + b.bw && k.y >= b.by && k.y <= b.by + b.bh) << "image " << image << " part " << p;
      EXPECT_TRUE(near(b, k.x, k.y, 0, [&](std::size_t i) { return b.coverage[i] > 0; })) << "image " << image << " part " << p;
    }
    EXPECT_NE(b.parts[6].visible, b.parts[10].visible);  // left eye, right eye
    EXPECT_NE(b.parts[8].visible, b.parts[12].visible);  // left wing, right wing
    EXPECT_EQ(b.parts[10].visible, b.style.facing_right);
    const Keypoint& beak = b.parts[1];
    EXPECT_TRUE(near(b, beak.x, beak.y, 1, [&](std::size_t i) { return b.label[i] == kLabelBeak; })) << "image " << image;
    const Keypoint& crown = b.parts[4];
    EXPECT_TRUE(near(b, crown.x, crown.y, 1, [&](std::size_t i) { return b.label[i] == kLabelCrown; })) << "image " << image;
    const Keypoint& tail = b.parts[13];
    EXPECT_TRUE(near(b, tail.x, tail.y, 1, [&](std::size_t i) { return b.label[i] == kLabelTail; })) << "image " << image;

    // A plain background: the corners have the mean background colour.
    if (b.style.background == Background::kPlain && !b.style.branch) {
      ++plain;
      for (auto [x, y] : {std::pair{0, 0}, {size - 1, 0}, {0, size - 1}, {size - 1, size - 1}})
        for (int k = 0; k < 3; ++k) EXPECT_NEAR(b.image.at(x, y)[k], b.background_rgb[k], 0.51) << "image " << image;
    }
  }
  EXPECT_GT(plain, 10);
}

const std::vector<std::string> kStyleWords = {
    "left", "right", "facing", "faces", "sky", "background", "branch", "perched", "perching", "standing",
    "sitting", "flying", "ground", "water", "tree", "horizon", "light", "dark", "corner", "centre", "center",
    "top", "bottom", "side", "front", "back", "up", "down", "looking", "image", "picture", "photo", "frame",
    "scene", "leaf", "grass", "bright background", "gradient", "shadow", "tilted", "turned", "pose"};

TEST(BirdsCaptions, ContentOnly) {
  std::set<std::string> all_colours;
  for (int c = 0; c < kNumColours; ++c) all_colours.insert(colour_name(c));
  all_colours.insert("gray");
  std::set<std::string> seen;
  for (int image = 0; image < 400; ++image) {
    Rng rng(mix(3, static_cast<std::uint64_t>(image)));
    Attributes a = all_species()[static_cast<std::size_t>(image) % 200].prototype;
    auto captions = make_captions(a, rng);
    ASSERT_EQ(captions.size(), 10u);
    std::set<std::string> mine;
    for (int p = 0; p < kNumColourParts; ++p) mine.insert(colour_name(a.colour[p]));
    if (a.pattern != WingPattern::kPlain) mine.insert(colour_name(a.mark));
    if (a.eye_ring) mine.insert("white");
    if (mine.count("grey")) mine.insert("gray");
    for (const std::string& c : captions) {
      seen.insert(c);
      for (char ch : c) EXPECT_TRUE((ch >= 'a' && ch <= 'z') || ch == ' ' || ch == ',' || ch == '.') << c;
      std::istringstream in(c);
      std::vector<std::string> words;
      for (std::string w; in >> w;) {
        while (!w.empty() && (w.back() == ',' || w.back() == '.')) w.pop_back();
        words.push_back(w);
      }
      EXPECT_GE(words.size(), 5u) << c;
      EXPECT_LE(words.size(), 40u) << c;
      std::string spaced = " " + c + " ";
      for (char& ch : spaced)
        if (ch == ',' || ch == '.') ch = ' ';
      for (const std::string& w : kStyleWords) EXPECT_EQ(spaced.find(" " + w + " "), std::string::npos) << w << ": " << c;
      // Every colour named is one the bird has.
      for (const std::string& w : words)
        if (all_colours.count(w)) {
          EXPECT_TRUE(mine.count(w)) << w << ": " << c;
        }
    }
  }
  EXPECT_GT(seen.size(), 3000u) << "captions repeat too much";
}


// The caption parser inverts the grammar: on thousands of captions of random birds it finds
// exactly the attributes the generator put in, and each of them holds for the bird.
TEST(BirdsCaptions, ParserFindsExactlyWhatTheGeneratorSaid) {
  const auto& names = attribute_names();
  std::size_t captions_seen = 0, facts = 0;
  std::set<int> ids_seen;
  for (int image = 0; image < 1200; ++image) {
    Rng rng(mix(11, static_cast<std::uint64_t>(image)));
    Attributes a = all_species()[static_cast<std::size_t>(rng.below(200))].prototype;
    // Variants no species has, so every combination of the grammar is exercised.
    if (rng.chance(0.3)) a.pattern = static_cast<WingPattern>(rng.below(3));
    if (rng.chance(0.3)) a.eye_ring = !a.eye_ring;
    const std::vector<bool> truth = attribute_values(a);
    std::vector<std::vector<int>> said;
    Rng twin = rng;
    const auto captions = make_captions(a, rng, 10, &said);
    // The report does not change the captions.
    EXPECT_EQ(make_captions(a, twin, 10), captions);
    ASSERT_EQ(said.size(), captions.size());
    for (std::size_t i = 0; i < captions.size(); ++i) {
      const std::vector<int> parsed = mentioned_attributes(captions[i]);
      EXPECT_EQ(parsed, said[i]) << captions[i];
      for (int id : parsed) {
        ASSERT_GE(id, 1);
        ASSERT_LE(id, static_cast<int>(names.size()));
        EXPECT_TRUE(truth[static_cast<std::size_t>(id - 1)]) << names[static_cast<std::size_t>(id - 1)] << ": " << captions[i];
        ids_seen.insert(id);
      }
      facts += parsed.size();
      ++captions_seen;
    }
  }
  EXPECT_EQ(captions_seen, 12000u);
  EXPECT_GT(facts, 3u * captions_seen) << "captions mention about three facts or more";
  EXPECT_GT(ids_seen.size(), 140u) << "most attributes are mentioned somewhere";
}

TEST(BirdsCaptions, ParserReadsNovelSentences) {
  const auto& names = attribute_names();
  auto parse = [&](const std::string& s) {
    std::set<std::string> out;
    for (int id : mentioned_attributes(s)) out.insert(names[static_cast<std::size_t>(id - 1)]);
    return out;
  };
  using S = std::set<std::string>;
  EXPECT_EQ(parse("a green bird with a pink crown"), (S{"has_wing_color::green", "has_crown_color::pink"}));
  EXPECT_EQ(parse("A tiny, plump bird: grey cap and a long hooked orange beak!"),
            (S{"has_size::small", "has_shape::round", "has_crown_color::grey", "has_bill_length::long", "has_bill_shape::hooked",
               "has_bill_color::orange"}));
  EXPECT_EQ(parse("its wings are blue with white bars, and it has a pale buff abdomen"),
            (S{"has_wing_color::blue", "has_wing_pattern::striped", "has_wing_mark_color::white", "has_belly_color::buff"}));
  EXPECT_EQ(parse("black spotted yellow wings and a white eye ring"),
            (S{"has_wing_color::yellow", "has_wing_pattern::spotted", "has_wing_mark_color::black",
               "has_eye_pattern::eyering"}));
  EXPECT_EQ(parse("this small bird has a small tail and a medium length curved bill"),
            (S{"has_size::small", "has_tail_length::short", "has_bill_length::medium", "has_bill_shape::curved"}));
  EXPECT_EQ(parse("a bird in a tree, looking left"), S{});
  EXPECT_EQ(parse(""), S{});
}

}  // namespace
}  // namespace t2i::birds
