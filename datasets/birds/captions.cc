// The caption grammar: CUB-like sentences about a random subset of an image's content
// attributes, with synonyms and varied order. Never pose, position, background or lighting.
#include <fmt/format.h>

#include <algorithm>
#include <sstream>

#include "birds/birds.h"

namespace t2i::birds {
namespace {

template <typename T>
const T& pick(Rng& rng, const std::vector<T>& v) {
  return v[static_cast<std::size_t>(rng.below(static_cast<int>(v.size())))];
}

std::string colour_word(int c, Rng& rng) {
  if (c == kGrey && rng.chance(0.5)) return "gray";
  if (c == kBuff && rng.chance(0.3)) return "pale buff";
  return colour_name(c);
}

// One attribute said three ways: a noun phrase with an article ("a red crown"), without ("red
// crown"), and a clause ("its crown is red").
struct Fact {
  std::string np, bare, clause;
};

std::string with_article(const std::string& bare) {
  if (bare.empty()) return bare;
  if (bare.back() == 's' && bare.find("wing") != std::string::npos) return bare;  // plural
  return (std::string("aeiou").find(bare[0]) != std::string::npos ? "an " : "a ") + bare;
}

std::string length_word(Length l, Rng& rng) {
  switch (l) {
    case Length::kShort: return rng.chance(0.8) ? "short" : "small";
    case Length::kMedium: return rng.chance(0.5) ? "medium" : "medium length";
    default: return "long";
  }
}

std::string beak_shape_word(BeakShape s, Rng& rng) {
  switch (s) {
    case BeakShape::kPointed: return pick(rng, std::vector<std::string>{"pointed", "pointy", "sharp"});
    case BeakShape::kHooked: return pick(rng, std::vector<std::string>{"hooked", "hooked", "curved hooked"});
    case BeakShape::kCone: return pick(rng, std::vector<std::string>{"cone shaped", "conical", "thick cone"});
    default: return pick(rng, std::vector<std::string>{"curved", "downcurved", "curving"});
  }
}

std::vector<Fact> facts(const Attributes& a, Rng& rng) {
  std::vector<Fact> f;
  auto part = [&](int p, const std::vector<std::string>& nouns) {
    std::string c = colour_word(a.colour[p], rng), noun = pick(rng, nouns);
    f.push_back({with_article(c + " " + noun), c + " " + noun, fmt::format("its {} is {}", noun, c)});
  };
  part(kCrown, {"crown", "crown", "cap"});
  part(kHead, {"head", "head"});
  part(kThroat, {"throat", "throat"});
  part(kBreast, {"breast", "breast", "chest"});
  part(kBelly, {"belly", "belly", "abdomen"});
  {
    std::string c = colour_word(a.colour[kWing], rng), m = colour_word(a.mark, rng);
    std::string bare;
    if (a.pattern == WingPattern::kPlain)
      bare = pick(rng, std::vector<std::string>{c + " wings", "solid " + c + " wings", c + " wings"});
    else if (a.pattern == WingPattern::kBars)
      bare = pick(rng, std::vector<std::string>{c + " wings with " + m + " wing bars", c + " wings with " + m + " bars",
                                                c + " and " + m + " striped wings", m + " barred " + c + " wings"});
    else
      bare = pick(rng, std::vector<std::string>{c + " wings with " + m + " spots", m + " spotted " + c + " wings",
                                                c + " wings covered in " + m + " spots"});
    std::string clause = a.pattern == WingPattern::kPlain ? "its wings are " + c
                         : a.pattern == WingPattern::kBars ? fmt::format("its wings are {} with {} bars", c, m)
                                                           : fmt::format("its wings are {} with {} spots", c, m);
    f.push_back({bare, bare, clause});
  }
  {
    std::string c = colour_word(a.colour[kTail], rng), l = length_word(a.tail_length, rng);
    std::string bare = pick(rng, std::vector<std::string>{l + " " + c + " tail", c + " tail", l + " tail", l + " " + c + " tail feathers"});
    f.push_back({bare.find("feathers") != std::string::npos ? bare : with_article(bare), bare,
                 fmt::format("its tail is {} and {}", l, c)});
  }
  {
    std::string c = colour_word(a.colour[kBeak], rng), l = length_word(a.beak_length, rng), s = beak_shape_word(a.beak_shape, rng);
    std::string noun = rng.chance(0.5) ? "beak" : "bill";
    std::string bare = pick(rng, std::vector<std::string>{l + " " + s + " " + noun, c + " " + s + " " + noun,
                                                          l + " " + c + " " + noun, l + " " + s + " " + c + " " + noun});
    f.push_back({with_article(bare), bare, fmt::format("its {} is {} and {}", noun, l, s)});
  }
  if (a.eye_ring) {
    std::string bare = pick(rng, std::vector<std::string>{"white eye ring", "white eyering", "eye ring"});
    f.push_back({with_article(bare), bare, "it has a white ring around its eye"});
  }
  return f;
}

std::string join(const std::vector<std::string>& items, Rng& rng) {
  if (items.empty()) return "";
  if (items.size() == 1) return items[0];
  std::string s;
  for (std::size_t i = 0; i + 1 < items.size(); ++i) s += (i ? ", " : "") + items[i];
  return s + (items.size() > 2 && rng.chance(0.5) ? ", and " : " and ") + items.back();
}

std::string size_word(BodySize s, Rng& rng) {
  switch (s) {
    case BodySize::kSmall: return pick(rng, std::vector<std::string>{"small", "tiny", "little"});
    case BodySize::kMedium: return pick(rng, std::vector<std::string>{"medium sized", "medium"});
    default: return pick(rng, std::vector<std::string>{"large", "big"});
  }
}
std::string shape_word(BodyShape s, Rng& rng) {
  return s == BodyShape::kSlim ? pick(rng, std::vector<std::string>{"slim", "slender", "sleek"})
                               : pick(rng, std::vector<std::string>{"round", "plump", "chubby"});
}

std::string one_caption(const Attributes& a, Rng& rng) {
  std::vector<Fact> f = facts(a, rng);
  for (int i = static_cast<int>(f.size()) - 1; i > 0; --i) std::swap(f[i], f[rng.below(i + 1)]);
  int k = 1 + rng.below(std::min<int>(4, static_cast<int>(f.size())));
  std::vector<std::string> nps, bares;
  for (int i = 0; i < k; ++i) nps.push_back(f[i].np), bares.push_back(f[i].bare);
  const std::string main = colour_word(a.colour[kWing], rng);
  std::string body_words = rng.chance(0.5) ? size_word(a.size, rng) : rng.chance(0.5) ? shape_word(a.shape, rng)
                                                                                      : size_word(a.size, rng) + " " + shape_word(a.shape, rng);
  std::string other = f.size() > static_cast<std::size_t>(k) ? f[k].clause : f[0].clause;
  switch (rng.below(10)) {
    case 0: return "this bird has " + join(nps, rng) + ".";
    case 1: return with_article(body_words) + " bird with " + join(nps, rng) + ".";
    case 2: return "this " + body_words + " bird is mostly " + main + ", with " + join(nps, rng) + ".";
    case 3: return "the bird has " + join(nps, rng) + ", and " + other + ".";
    case 4: return join(bares, rng) + ".";
    case 5: return "this is " + with_article(main) + " bird with " + join(nps, rng) + ".";
    case 6: return "this " + body_words + " bird has " + join(nps, rng) + ", and " + other + ".";
    case 7: return other + ", and this bird has " + join(nps, rng) + ".";
    case 8: return "a bird with " + join(nps, rng) + ".";
    default: return "this " + main + " bird has " + join(nps, rng) + ".";
  }
}

int words(const std::string& s) {
  std::istringstream in(s);
  std::string w;
  int n = 0;
  while (in >> w) ++n;
  return n;
}

}  // namespace

std::vector<std::string> make_captions(const Attributes& a, Rng& rng, int count) {
  std::vector<std::string> out;
  while (static_cast<int>(out.size()) < count) {
    std::string c = one_caption(a, rng);
    int n = words(c);
    if (n >= 5 && n <= 40) out.push_back(std::move(c));
  }
  return out;
}

}  // namespace t2i::birds
