// The char-CNN-RNN's view of a caption (Reed et al. CVPR 2016, after Zhang et al. 2015): a
// one-hot matrix over Reed's 70-symbol alphabet (lower-case letters, digits, punctuation, space;
// it lists '-' twice, so one row stays unused) and 201 time steps. Text is lower-cased; a character outside the alphabet (including
// every non-ASCII code point, and each byte of invalid UTF-8) is an all-zero column; shorter
// captions are padded with zero columns, longer ones cut.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace t2i::text {

inline constexpr int kAlphabetSize = 70;
inline constexpr int kMaxLength = 201;

// The alphabet, index order = one-hot row.
std::string_view alphabet();

// The alphabet index of an ASCII byte after lower-casing, or -1.
int symbol_index(unsigned char c);

struct Encoded {
  std::vector<std::int16_t> symbols;  // kMaxLength entries: alphabet index, or -1 (zero column)
  int length = 0;                     // characters before padding (at most kMaxLength)
  int characters = 0;                 // characters in the caption (code points; a bad byte counts as one)
  bool truncated() const { return characters > kMaxLength; }
};

// Splits UTF-8 into characters (code points; each invalid byte is one) and maps them.
Encoded encode(std::string_view caption, int max_length = kMaxLength);

// The one-hot matrix [kAlphabetSize, max_length] (channels first, as Conv1d reads it) written
// into out, which must hold kAlphabetSize * max_length floats.
void one_hot(const Encoded& e, float* out, int max_length = kMaxLength);

}  // namespace t2i::text
