#include "text/charset.h"

#include <algorithm>
#include <array>

namespace t2i::text {

namespace {
// Reed's alphabet, character for character: it lists '-' twice, and as in his code the later
// position wins, so row 36 is never set (69 distinct symbols in 70 rows).
constexpr std::string_view kAlphabet =
    "abcdefghijklmnopqrstuvwxyz0123456789-,;.!?:'\"/\\|_@#$%^&*~`+-=<>()[]{} ";
static_assert(kAlphabet.size() == kAlphabetSize, "the alphabet has 70 symbols");

constexpr std::array<std::int8_t, 256> make_table() {
  std::array<std::int8_t, 256> t{};
  for (auto& v : t) v = -1;
  for (std::size_t i = 0; i < kAlphabet.size(); ++i) t[static_cast<unsigned char>(kAlphabet[i])] = static_cast<std::int8_t>(i);
  for (int c = 'A'; c <= 'Z'; ++c) t[static_cast<std::size_t>(c)] = t[static_cast<std::size_t>(c - 'A' + 'a')];
  return t;
}
constexpr auto kTable = make_table();

// Bytes of the UTF-8 sequence starting with lead byte c, or 1 for an invalid lead.
int sequence_length(unsigned char c) {
  if (c < 0x80) return 1;
  if ((c & 0xE0) == 0xC0 && c >= 0xC2) return 2;
  if ((c & 0xF0) == 0xE0) return 3;
  if ((c & 0xF8) == 0xF0 && c <= 0xF4) return 4;
  return 1;
}
}  // namespace

std::string_view alphabet() { return kAlphabet; }

int symbol_index(unsigned char c) { return kTable[c]; }

Encoded encode(std::string_view caption, int max_length) {
  Encoded e;
  e.symbols.assign(static_cast<std::size_t>(max_length), -1);
  std::size_t i = 0;
  while (i < caption.size()) {
    const auto c = static_cast<unsigned char>(caption[i]);
    int n = sequence_length(c);
    // A multi-byte sequence counts as one character only if its continuation bytes are valid.
    bool valid = i + static_cast<std::size_t>(n) <= caption.size();
    for (int k = 1; valid && k < n; ++k) valid = (static_cast<unsigned char>(caption[i + static_cast<std::size_t>(k)]) & 0xC0) == 0x80;
    if (!valid) n = 1;
    if (e.characters < max_length) e.symbols[static_cast<std::size_t>(e.characters)] = n == 1 ? static_cast<std::int16_t>(kTable[c]) : -1;
    ++e.characters;
    i += static_cast<std::size_t>(n);
  }
  e.length = std::min(e.characters, max_length);
  return e;
}

void one_hot(const Encoded& e, float* out, int max_length) {
  std::fill(out, out + static_cast<std::size_t>(kAlphabetSize) * static_cast<std::size_t>(max_length), 0.0f);
  for (int t = 0; t < std::min<int>(max_length, static_cast<int>(e.symbols.size())); ++t)
    if (e.symbols[static_cast<std::size_t>(t)] >= 0)
      out[static_cast<std::size_t>(e.symbols[static_cast<std::size_t>(t)]) * static_cast<std::size_t>(max_length) +
          static_cast<std::size_t>(t)] = 1.0f;
}

}  // namespace t2i::text
