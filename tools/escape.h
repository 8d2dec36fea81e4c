// tools/escape.h — the text form of keys and values used by `bruce dump`,
// `bruce load`, `bruce ls` and `--escaped` arguments.
//
// Escape() turns any bytes into printable text: `\` becomes `\\`, TAB `\t`,
// newline `\n`, every other byte below 0x20 or from 0x7f up `\xHH` (lowercase
// hex); all else is copied. Unescape() accepts exactly those escapes (hex in
// either case) and rejects anything else after a backslash, so
// Unescape(Escape(b)) == b for every byte string b.
//
// A record is one line `KEY<TAB>VALUE` of escaped text; since escaped text
// holds no TAB or newline, the first TAB is the only one.
//
// Thread safety: pure functions.
#pragma once

#include <string>
#include <string_view>

namespace bruce::cli {

std::string Escape(std::string_view raw);
void AppendEscaped(std::string_view raw, std::string* out);

// Decodes escaped text into *out. On a bad or truncated escape returns false
// and sets *error to a short description naming its offset. Literal
// bytes other than `\` (even TAB) are copied as they are.
bool Unescape(std::string_view text, std::string* out, std::string* error);

// "KEY<TAB>VALUE\n", both escaped.
std::string FormatRecord(std::string_view key, std::string_view value);

// Parses one record line (without its newline). Exactly one literal TAB must
// separate key from value; returns false with *error set otherwise or on a
// bad escape in either part.
bool ParseRecord(std::string_view line, std::string* key, std::string* value,
                 std::string* error);

}  // namespace bruce::cli
