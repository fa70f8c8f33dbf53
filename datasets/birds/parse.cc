// mentioned_attributes(): the caption grammar of captions.cc read backwards.
//
// A caption is a sequence of noun phrases ("a short pointed black bill", "red and white striped
// wings") and clauses ("its tail is long and red", "this small bird is mostly blue"). The parser
// walks the words once: adjectives (colours, lengths, shapes, sizes, patterns) wait until the
// noun they describe, which decides what they mean ("small" is a short tail or beak before
// "tail" or "beak" and a small body before "bird"); after "<noun> is/are" the adjectives up to
// the next "with" or punctuation describe that noun. "with", "has" and punctuation (a comma only
// after a clause) drop adjectives that found no noun. Unknown words are skipped.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <optional>

#include "birds/birds.h"

namespace t2i::birds {
namespace {

enum class Noun { kNone, kCrown, kHead, kThroat, kBreast, kBelly, kWings, kTail, kBeak, kBird, kBars, kSpots, kEyeRing };

const std::map<std::string, Noun>& nouns() {
  static const std::map<std::string, Noun> m = {
      {"crown", Noun::kCrown},   {"cap", Noun::kCrown},      {"head", Noun::kHead},      {"throat", Noun::kThroat},
      {"breast", Noun::kBreast}, {"chest", Noun::kBreast},   {"belly", Noun::kBelly},    {"abdomen", Noun::kBelly},
      {"stomach", Noun::kBelly}, {"wing", Noun::kWings},     {"wings", Noun::kWings},    {"tail", Noun::kTail},
      {"beak", Noun::kBeak},     {"bill", Noun::kBeak},      {"bird", Noun::kBird},      {"bars", Noun::kBars},
      {"wingbars", Noun::kBars}, {"stripes", Noun::kBars},   {"spots", Noun::kSpots},    {"eyering", Noun::kEyeRing},
      {"ring", Noun::kEyeRing},  {"eyerings", Noun::kEyeRing}};
  return m;
}

std::optional<int> colour_of(const std::string& w) {
  if (w == "gray") return kGrey;
  for (int c = 0; c < kNumColours; ++c)
    if (w == colour_name(c)) return c;
  return std::nullopt;
}

int id_of(const std::string& name) {
  static const std::map<std::string, int> ids = [] {
    std::map<std::string, int> m;
    const auto& names = attribute_names();
    for (std::size_t i = 0; i < names.size(); ++i) m.emplace(names[i], static_cast<int>(i) + 1);
    return m;
  }();
  return ids.at(name);
}

struct Parser {
  std::vector<int> out;

  void colour(const char* part, int c) { out.push_back(id_of(fmt::format("has_{}_color::{}", part, colour_name(c)))); }
  void colours(const char* part, const std::vector<std::string>& adj) {
    for (const auto& w : adj)
      if (auto c = colour_of(w)) colour(part, *c);
  }
  // Length words of a tail or beak ("small" is short there).
  void lengths(const char* group, const std::vector<std::string>& adj) {
    for (const auto& w : adj) {
      if (w == "short" || w == "small") out.push_back(id_of(fmt::format("{}::short", group)));
      else if (w == "medium") out.push_back(id_of(fmt::format("{}::medium", group)));
      else if (w == "long") out.push_back(id_of(fmt::format("{}::long", group)));
    }
  }

  void attach(Noun noun, const std::vector<std::string>& adj) {
    switch (noun) {
      case Noun::kCrown: colours("crown", adj); break;
      case Noun::kHead: colours("head", adj); break;
      case Noun::kThroat: colours("throat", adj); break;
      case Noun::kBreast: colours("breast", adj); break;
      case Noun::kBelly: colours("belly", adj); break;
      case Noun::kTail:
        colours("tail", adj);
        lengths("has_tail_length", adj);
        break;
      case Noun::kBeak: {
        colours("bill", adj);
        lengths("has_bill_length", adj);
        // "curved hooked" is hooked; otherwise the one shape word.
        const char* shape = nullptr;
        for (const auto& w : adj) {
          if (w == "hooked") shape = "hooked";
          else if (shape && std::string(shape) == "hooked") continue;
          else if (w == "pointed" || w == "pointy" || w == "sharp") shape = "pointed";
          else if (w == "cone" || w == "conical") shape = "cone";
          else if (w == "curved" || w == "downcurved" || w == "curving") shape = "curved";
        }
        if (shape) out.push_back(id_of(fmt::format("has_bill_shape::{}", shape)));
        break;
      }
      case Noun::kBird:
        colours("wing", adj);  // the base plumage: the wing colour
        for (const auto& w : adj) {
          if (w == "small" || w == "tiny" || w == "little") out.push_back(id_of("has_size::small"));
          else if (w == "medium") out.push_back(id_of("has_size::medium"));
          else if (w == "large" || w == "big") out.push_back(id_of("has_size::large"));
          else if (w == "slim" || w == "slender" || w == "sleek") out.push_back(id_of("has_shape::slim"));
          else if (w == "round" || w == "plump" || w == "chubby") out.push_back(id_of("has_shape::round"));
        }
        break;
      case Noun::kBars:
      case Noun::kSpots:
        colours("wing_mark", adj);
        out.push_back(id_of(noun == Noun::kBars ? "has_wing_pattern::striped" : "has_wing_pattern::spotted"));
        break;
      case Noun::kWings: wings(adj); break;
      case Noun::kEyeRing: out.push_back(id_of("has_eye_pattern::eyering")); break;
      case Noun::kNone: break;
    }
  }

  // "red wings", "solid red wings", "red and white striped wings", "white barred red wings",
  // "white spotted red wings": with a pattern word, the colours after it are the wings'; without
  // colours after it, the first colour is the wings' and the others the marks'.
  void wings(const std::vector<std::string>& adj) {
    std::size_t at = adj.size();
    const char* pattern = nullptr;
    for (std::size_t i = 0; i < adj.size(); ++i) {
      if (adj[i] == "striped" || adj[i] == "barred") at = i, pattern = "striped";
      else if (adj[i] == "spotted") at = i, pattern = "spotted";
      else if (adj[i] == "solid" && !pattern) out.push_back(id_of("has_wing_pattern::solid"));
    }
    if (!pattern) {
      colours("wing", adj);
      return;
    }
    out.push_back(id_of(fmt::format("has_wing_pattern::{}", pattern)));
    std::vector<int> before, after;
    for (std::size_t i = 0; i < adj.size(); ++i)
      if (auto c = colour_of(adj[i])) (i < at ? before : after).push_back(*c);
    if (after.empty() && !before.empty()) after.push_back(before.front()), before.erase(before.begin());
    for (int c : after) colour("wing", c);
    for (int c : before) colour("wing_mark", c);
  }
};

std::vector<std::string> tokens(const std::string& caption) {
  std::vector<std::string> t;
  std::string w;
  auto end_word = [&] {
    if (!w.empty()) t.push_back(std::move(w)), w.clear();
  };
  for (char ch : caption) {
    const auto u = static_cast<unsigned char>(ch);
    if (std::isalpha(u)) w += static_cast<char>(std::tolower(u));
    else {
      end_word();
      if (ch == ',' || ch == '.' || ch == ';' || ch == ':' || ch == '!' || ch == '?') t.emplace_back(1, ch);
    }
  }
  end_word();
  return t;
}

bool is_punct(const std::string& w) { return w.size() == 1 && !std::isalpha(static_cast<unsigned char>(w[0])); }

}  // namespace

std::vector<int> mentioned_attributes(const std::string& caption) {
  const std::vector<std::string> t = tokens(caption);
  Parser p;
  std::vector<std::string> pending;  // adjectives waiting for their noun
  Noun subject = Noun::kNone;        // after "<noun> is/are": the noun the adjectives describe
  Noun last = Noun::kNone;           // the noun just read
  auto end_clause = [&] {
    if (subject != Noun::kNone) p.attach(subject, pending);
    subject = Noun::kNone;
    pending.clear();
  };
  for (std::size_t i = 0; i < t.size(); ++i) {
    const std::string& w = t[i];
    const Noun prev = last;
    last = Noun::kNone;
    // A comma between adjectives ("a tiny, plump bird") keeps them; one after a clause ends it.
    if (w == "," && subject == Noun::kNone) continue;
    if (is_punct(w) || w == "with" || w == "has" || w == "have") {
      end_clause();
      continue;
    }
    if (w == "is" || w == "are") {
      end_clause();
      subject = prev;
      continue;
    }
    const std::string next = i + 1 < t.size() ? t[i + 1] : "";
    // "wing bars", "wing spots": one noun; "eye ring": the ring.
    if (w == "wing" && (next == "bars" || next == "spots" || next == "stripes")) continue;
    if (w == "eye" && (next == "ring" || next == "rings")) continue;
    if (auto it = nouns().find(w); it != nouns().end()) {
      if (subject != Noun::kNone) end_clause();  // "its wings are red, ..." ends at a noun too
      p.attach(it->second, pending);
      pending.clear();
      last = it->second;
      continue;
    }
    pending.push_back(w);
  }
  end_clause();
  std::vector<int> out = std::move(p.out);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace t2i::birds
