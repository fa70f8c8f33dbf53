// The caption grammar: CUB-like sentences about a random subset of an image's content
// attributes, with synonyms and varied order. Never pose, position, background or lighting.
#include <fmt/format.h>

#include <algorithm>
#include <map>
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
// `said` and `clause_said`: the attribute ids (1-based, attribute_names()) that the noun
// phrases and the clause mention, for mentioned_attributes()'s tests.
struct Fact {
  std::string np, bare, clause;
  std::vector<int> said, clause_said;
};

// Attribute ids by name (1-based), for the mention report.
int attr(const std::string& name) {
  static const std::map<std::string, int> ids = [] {
    std::map<std::string, int> m;
    const auto& names = attribute_names();
    for (std::size_t i = 0; i < names.size(); ++i) m.emplace(names[i], static_cast<int>(i) + 1);
    return m;
  }();
  return ids.at(name);
}
int colour_attr(int part, int c) { return attr(fmt::format("has_{}_color::{}", colour_part_name(part), colour_name(c))); }
int mark_attr(int c) { return attr(fmt::format("has_wing_mark_color::{}", colour_name(c))); }
int pattern_attr(WingPattern p) {
  return attr(std::string("has_wing_pattern::") + (p == WingPattern::kPlain ? "solid" : p == WingPattern::kBars ? "striped" : "spotted"));
}
const char* length_name(Length l) { return l == Length::kShort ? "short" : l == Length::kMedium ? "medium" : "long"; }
int beak_length_attr(Length l) { return attr(std::string("has_bill_length::") + length_name(l)); }
int tail_length_attr(Length l) { return attr(std::string("has_tail_length::") + length_name(l)); }
int beak_shape_attr(BeakShape s) {
  const char* n[] = {"pointed", "hooked", "cone", "curved"};
  return attr(std::string("has_bill_shape::") + n[static_cast<int>(s)]);
}
int size_attr(BodySize s) {
  const char* n[] = {"small", "medium", "large"};
  return attr(std::string("has_size::") + n[static_cast<int>(s)]);
}
int shape_attr(BodyShape s) { return attr(s == BodyShape::kSlim ? "has_shape::slim" : "has_shape::round"); }

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
    const int said = colour_attr(p, a.colour[p]);
    f.push_back({with_article(c + " " + noun), c + " " + noun, fmt::format("its {} is {}", noun, c), {said}, {said}});
  };
  part(kCrown, {"crown", "crown", "cap"});
  part(kHead, {"head", "head"});
  part(kThroat, {"throat", "throat"});
  part(kBreast, {"breast", "breast", "chest"});
  part(kBelly, {"belly", "belly", "abdomen"});
  {
    std::string c = colour_word(a.colour[kWing], rng), m = colour_word(a.mark, rng);
    std::string bare;
    const int wing = colour_attr(kWing, a.colour[kWing]);
    std::vector<int> said = {wing}, clause_said = {wing};
    if (a.pattern != WingPattern::kPlain) said = clause_said = {wing, pattern_attr(a.pattern), mark_attr(a.mark)};
    if (a.pattern == WingPattern::kPlain) {
      bare = pick(rng, std::vector<std::string>{c + " wings", "solid " + c + " wings", c + " wings"});
      if (bare.rfind("solid ", 0) == 0) said.push_back(pattern_attr(a.pattern));
    } else if (a.pattern == WingPattern::kBars)
      bare = pick(rng, std::vector<std::string>{c + " wings with " + m + " wing bars", c + " wings with " + m + " bars",
                                                c + " and " + m + " striped wings", m + " barred " + c + " wings"});
    else
      bare = pick(rng, std::vector<std::string>{c + " wings with " + m + " spots", m + " spotted " + c + " wings",
                                                c + " wings covered in " + m + " spots"});
    std::string clause = a.pattern == WingPattern::kPlain ? "its wings are " + c
                         : a.pattern == WingPattern::kBars ? fmt::format("its wings are {} with {} bars", c, m)
                                                           : fmt::format("its wings are {} with {} spots", c, m);
    f.push_back({bare, bare, clause, said, clause_said});
  }
  {
    std::string c = colour_word(a.colour[kTail], rng), l = length_word(a.tail_length, rng);
    const std::vector<std::string> options = {l + " " + c + " tail", c + " tail", l + " tail", l + " " + c + " tail feathers"};
    const int which = rng.below(static_cast<int>(options.size()));  // as pick()
    const std::string& bare = options[static_cast<std::size_t>(which)];
    const int colour = colour_attr(kTail, a.colour[kTail]), length = tail_length_attr(a.tail_length);
    std::vector<int> said = which == 1 ? std::vector<int>{colour} : which == 2 ? std::vector<int>{length} : std::vector<int>{length, colour};
    f.push_back({bare.find("feathers") != std::string::npos ? bare : with_article(bare), bare,
                 fmt::format("its tail is {} and {}", l, c), said, {length, colour}});
  }
  {
    std::string c = colour_word(a.colour[kBeak], rng), l = length_word(a.beak_length, rng), s = beak_shape_word(a.beak_shape, rng);
    std::string noun = rng.chance(0.5) ? "beak" : "bill";
    const std::vector<std::string> options = {l + " " + s + " " + noun, c + " " + s + " " + noun, l + " " + c + " " + noun,
                                              l + " " + s + " " + c + " " + noun};
    const int which = rng.below(static_cast<int>(options.size()));  // as pick()
    const std::string& bare = options[static_cast<std::size_t>(which)];
    const int colour = colour_attr(kBeak, a.colour[kBeak]), length = beak_length_attr(a.beak_length),
              shape = beak_shape_attr(a.beak_shape);
    const std::vector<std::vector<int>> said = {{length, shape}, {colour, shape}, {length, colour}, {length, shape, colour}};
    f.push_back({with_article(bare), bare, fmt::format("its {} is {} and {}", noun, l, s), said[static_cast<std::size_t>(which)],
                 {length, shape}});
  }
  if (a.eye_ring) {
    std::string bare = pick(rng, std::vector<std::string>{"white eye ring", "white eyering", "eye ring"});
    const int ring = attr("has_eye_pattern::eyering");
    f.push_back({with_article(bare), bare, "it has a white ring around its eye", {ring}, {ring}});
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

std::string one_caption(const Attributes& a, Rng& rng, std::vector<int>& said) {
  std::vector<Fact> f = facts(a, rng);
  for (int i = static_cast<int>(f.size()) - 1; i > 0; --i) std::swap(f[i], f[rng.below(i + 1)]);
  int k = 1 + rng.below(std::min<int>(4, static_cast<int>(f.size())));
  std::vector<std::string> nps, bares;
  said.clear();
  for (int i = 0; i < k; ++i) {
    nps.push_back(f[i].np), bares.push_back(f[i].bare);
    said.insert(said.end(), f[i].said.begin(), f[i].said.end());
  }
  const std::string main = colour_word(a.colour[kWing], rng);
  // body_words: size (0), shape (1) or both (2); the same draws as before the mention report.
  int body_kind = 0;
  std::string body_words;
  if (rng.chance(0.5)) {
    body_words = size_word(a.size, rng);
  } else if (rng.chance(0.5)) {
    body_words = shape_word(a.shape, rng), body_kind = 1;
  } else {
    body_words = size_word(a.size, rng) + " " + shape_word(a.shape, rng), body_kind = 2;  // as before
  }
  const Fact& other_fact = f.size() > static_cast<std::size_t>(k) ? f[k] : f[0];
  const std::string& other = other_fact.clause;
  auto say_body = [&] {
    if (body_kind != 1) said.push_back(size_attr(a.size));
    if (body_kind != 0) said.push_back(shape_attr(a.shape));
  };
  auto say_main = [&] { said.push_back(colour_attr(kWing, a.colour[kWing])); };
  auto say_other = [&] { said.insert(said.end(), other_fact.clause_said.begin(), other_fact.clause_said.end()); };
  switch (rng.below(10)) {
    case 0: return "this bird has " + join(nps, rng) + ".";
    case 1: say_body(); return with_article(body_words) + " bird with " + join(nps, rng) + ".";
    case 2: say_body(), say_main(); return "this " + body_words + " bird is mostly " + main + ", with " + join(nps, rng) + ".";
    case 3: say_other(); return "the bird has " + join(nps, rng) + ", and " + other + ".";
    case 4: return join(bares, rng) + ".";
    case 5: say_main(); return "this is " + with_article(main) + " bird with " + join(nps, rng) + ".";
    case 6: say_body(), say_other(); return "this " + body_words + " bird has " + join(nps, rng) + ", and " + other + ".";
    case 7: say_other(); return other + ", and this bird has " + join(nps, rng) + ".";
    case 8: return "a bird with " + join(nps, rng) + ".";
    default: say_main(); return "this " + main + " bird has " + join(nps, rng) + ".";
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

std::vector<std::string> make_captions(const Attributes& a, Rng& rng, int count, std::vector<std::vector<int>>* mentioned) {
  std::vector<std::string> out;
  if (mentioned) mentioned->clear();
  std::vector<int> said;
  while (static_cast<int>(out.size()) < count) {
    std::string c = one_caption(a, rng, said);
    int n = words(c);
    if (n >= 5 && n <= 40) {
      out.push_back(std::move(c));
      if (mentioned) {
        std::sort(said.begin(), said.end());
        said.erase(std::unique(said.begin(), said.end()), said.end());
        mentioned->push_back(said);
      }
    }
  }
  return out;
}

}  // namespace t2i::birds
