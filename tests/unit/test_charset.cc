#include <gtest/gtest.h>

#include <set>

#include "text/charset.h"

namespace t2i::text {
namespace {

TEST(Charset, AlphabetIsReeds) {
  std::set<char> seen(alphabet().begin(), alphabet().end());
  EXPECT_EQ(alphabet().size(), 70u);
  EXPECT_EQ(seen.size(), 69u) << "'-' is listed twice, as in Reed's code";
  EXPECT_EQ(symbol_index('-'), 59) << "the later position wins";
  EXPECT_EQ(symbol_index('a'), 0);
  EXPECT_EQ(symbol_index('A'), 0) << "upper case maps to lower case";
  EXPECT_EQ(symbol_index('0'), 26);
  EXPECT_EQ(symbol_index(' '), 69);
  EXPECT_EQ(symbol_index('\t'), -1);
  EXPECT_EQ(symbol_index(0xE9), -1);
}

TEST(Charset, EncodesLowerCasesAndPads) {
  Encoded e = encode("A Red bird.");
  EXPECT_EQ(e.characters, 11);
  EXPECT_EQ(e.length, 11);
  EXPECT_FALSE(e.truncated());
  EXPECT_EQ(e.symbols[0], symbol_index('a'));
  EXPECT_EQ(e.symbols[2], symbol_index('r'));
  EXPECT_EQ(e.symbols[10], symbol_index('.'));
  EXPECT_EQ(e.symbols[11], -1);
  EXPECT_EQ(e.symbols.size(), static_cast<std::size_t>(kMaxLength));
  std::vector<float> m(static_cast<std::size_t>(kAlphabetSize * kMaxLength));
  one_hot(e, m.data());
  double sum = 0;
  for (float v : m) sum += v;
  EXPECT_EQ(sum, 11.0);
  EXPECT_EQ(m[static_cast<std::size_t>(symbol_index('r')) * kMaxLength + 2], 1.0f);
}

TEST(Charset, UnknownAndNonAsciiCharactersAreZeroColumns) {
  // "é" is one character (two bytes), an invalid byte one character, a tab one.
  Encoded e = encode("a\xc3\xa9" "b\xff\tc");
  EXPECT_EQ(e.characters, 6);
  EXPECT_EQ(e.symbols[0], symbol_index('a'));
  EXPECT_EQ(e.symbols[1], -1);
  EXPECT_EQ(e.symbols[2], symbol_index('b'));
  EXPECT_EQ(e.symbols[3], -1);
  EXPECT_EQ(e.symbols[4], -1);
  EXPECT_EQ(e.symbols[5], symbol_index('c'));
  // A truncated multi-byte sequence at the end: each byte is one bad character.
  EXPECT_EQ(encode("x\xe2\x82").characters, 3);
  EXPECT_EQ(encode("").length, 0);
}

TEST(Charset, LongCaptionsAreCut) {
  std::string s(10000, 'z');
  Encoded e = encode(s);
  EXPECT_EQ(e.characters, 10000);
  EXPECT_EQ(e.length, kMaxLength);
  EXPECT_TRUE(e.truncated());
  EXPECT_EQ(e.symbols.back(), symbol_index('z'));
}

}  // namespace
}  // namespace t2i::text
