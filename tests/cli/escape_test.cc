// Unit tests of the CLI's escaping (tools/escape.h): exact bytes both ways.

#include "escape.h"

#include <gtest/gtest.h>

#include <string>

namespace bruce::cli {
namespace {

using namespace std::string_literals;

std::string MustUnescape(std::string_view text) {
  std::string out, error;
  EXPECT_TRUE(Unescape(text, &out, &error)) << error;
  return out;
}

std::string UnescapeError(std::string_view text) {
  std::string out, error;
  EXPECT_FALSE(Unescape(text, &out, &error)) << "accepted: " << text;
  return error;
}

TEST(Escape, PrintableAsciiIsLiteral) {
  EXPECT_EQ(Escape("abc XYZ 09 ~!\"#$%&'()*+,-./:;<=>?@[]^_`{|}"),
            "abc XYZ 09 ~!\"#$%&'()*+,-./:;<=>?@[]^_`{|}");
  EXPECT_EQ(Escape(""), "");
}

TEST(Escape, SpecialBytes) {
  EXPECT_EQ(Escape("\\"), "\\\\");
  EXPECT_EQ(Escape("\t"), "\\t");
  EXPECT_EQ(Escape("\n"), "\\n");
  EXPECT_EQ(Escape("\r"), "\\x0d");
  EXPECT_EQ(Escape("\0"s), "\\x00");
  EXPECT_EQ(Escape("\x1f"), "\\x1f");
  EXPECT_EQ(Escape("\x7f"), "\\x7f");
  EXPECT_EQ(Escape("\x80"), "\\x80");
  EXPECT_EQ(Escape("\xab"), "\\xab");  // lowercase hex
  EXPECT_EQ(Escape("\xff"), "\\xff");
  EXPECT_EQ(Escape("a\tb\\c\nd\0e"s), "a\\tb\\\\c\\nd\\x00e");
  EXPECT_EQ(Escape("\xc3\xa9"), "\\xc3\\xa9");  // UTF-8 is escaped byte by byte
}

TEST(Escape, AppendKeepsPrefix) {
  std::string out = "x=";
  AppendEscaped("\t", &out);
  EXPECT_EQ(out, "x=\\t");
}

TEST(Unescape, AcceptsEveryEscape) {
  EXPECT_EQ(MustUnescape("\\\\"), "\\");
  EXPECT_EQ(MustUnescape("\\t"), "\t");
  EXPECT_EQ(MustUnescape("\\n"), "\n");
  EXPECT_EQ(MustUnescape("\\x00"), "\0"s);
  EXPECT_EQ(MustUnescape("\\xff"), "\xff");
  EXPECT_EQ(MustUnescape("\\xAB\\xaB"), "\xab\xab");  // either case
  EXPECT_EQ(MustUnescape("\\x41"), "A");  // an unneeded escape is still fine
  EXPECT_EQ(MustUnescape("a\\x00b\\tc"), "a\0b\tc"s);
  EXPECT_EQ(MustUnescape(""), "");
}

TEST(Unescape, LiteralBytesPassThrough) {
  EXPECT_EQ(MustUnescape("\t\x01\xff"), "\t\x01\xff");
}

TEST(Unescape, RejectsBadEscapes) {
  EXPECT_EQ(UnescapeError("ab\\"), "backslash at end of text (at offset 2)");
  EXPECT_EQ(UnescapeError("\\q"), "unknown escape \\q (at offset 0)");
  EXPECT_EQ(UnescapeError("x\\r"), "unknown escape \\r (at offset 1)");
  EXPECT_EQ(UnescapeError("\\0"), "unknown escape \\0 (at offset 0)");
  EXPECT_EQ(UnescapeError("\\\x01"), "backslash before byte 0x01 (at offset 0)");
  EXPECT_EQ(UnescapeError("\\\t"), "backslash before byte 0x09 (at offset 0)");
  EXPECT_EQ(UnescapeError("\\x"), "\\x needs two hex digits (at offset 0)");
  EXPECT_EQ(UnescapeError("\\x4"), "\\x needs two hex digits (at offset 0)");
  EXPECT_EQ(UnescapeError("\\x4g"), "\\x needs two hex digits (at offset 0)");
  EXPECT_EQ(UnescapeError("\\xg4"), "\\x needs two hex digits (at offset 0)");
  EXPECT_EQ(UnescapeError("\\X41"), "unknown escape \\X (at offset 0)");
}

TEST(Unescape, RoundTripsEveryByte) {
  std::string all;
  for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(b));
  const std::string text = Escape(all);
  EXPECT_EQ(text.find('\t'), std::string::npos);
  EXPECT_EQ(text.find('\n'), std::string::npos);
  for (char c : text) {
    EXPECT_GE(static_cast<unsigned char>(c), 0x20);
    EXPECT_LT(static_cast<unsigned char>(c), 0x7f);
  }
  EXPECT_EQ(MustUnescape(text), all);
}

TEST(Record, FormatsExactBytes) {
  EXPECT_EQ(FormatRecord("k", "v"), "k\tv\n");
  EXPECT_EQ(FormatRecord("", ""), "\t\n");
  EXPECT_EQ(FormatRecord("a\tb", "c\nd\0"s), "a\\tb\tc\\nd\\x00\n");
}

TEST(Record, ParsesAndRoundTrips) {
  std::string key, value, error;
  ASSERT_TRUE(ParseRecord("a\\tb\tc\\nd\\x00", &key, &value, &error)) << error;
  EXPECT_EQ(key, "a\tb");
  EXPECT_EQ(value, "c\nd\0"s);
  ASSERT_TRUE(ParseRecord("\t", &key, &value, &error)) << error;
  EXPECT_EQ(key, "");
  EXPECT_EQ(value, "");
  const std::string k = "\\\x7f\x80 x", v = "\x01\x02\t\n\\";
  std::string line = FormatRecord(k, v);
  line.pop_back();  // the newline
  ASSERT_TRUE(ParseRecord(line, &key, &value, &error)) << error;
  EXPECT_EQ(key, k);
  EXPECT_EQ(value, v);
}

TEST(Record, RejectsMalformedLines) {
  std::string key, value, error;
  EXPECT_FALSE(ParseRecord("no tab here", &key, &value, &error));
  EXPECT_EQ(error, "no TAB between key and value");
  EXPECT_FALSE(ParseRecord("", &key, &value, &error));
  EXPECT_FALSE(ParseRecord("a\tb\tc", &key, &value, &error));
  EXPECT_EQ(error, "more than one TAB (write a TAB inside a key or value as \\t)");
  EXPECT_FALSE(ParseRecord("a\\q\tb", &key, &value, &error));
  EXPECT_EQ(error, "key: unknown escape \\q (at offset 1)");
  EXPECT_FALSE(ParseRecord("a\tb\\x1", &key, &value, &error));
  EXPECT_EQ(error, "value: \\x needs two hex digits (at offset 1)");
}

}  // namespace
}  // namespace bruce::cli
