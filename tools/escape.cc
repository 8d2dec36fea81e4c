#include "escape.h"

#include <cstdint>

namespace bruce::cli {
namespace {

constexpr char kHexDigits[] = "0123456789abcdef";

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Names the escape `\c` in an error message.
std::string BadEscape(char c) {
  const auto b = static_cast<uint8_t>(c);
  if (b >= 0x20 && b < 0x7f) return std::string("unknown escape \\") + c;
  return std::string("backslash before byte 0x") + kHexDigits[b >> 4] + kHexDigits[b & 0xf];
}

}  // namespace

void AppendEscaped(std::string_view raw, std::string* out) {
  out->reserve(out->size() + raw.size());
  for (char c : raw) {
    const auto b = static_cast<uint8_t>(c);
    if (c == '\\') {
      out->append("\\\\");
    } else if (c == '\t') {
      out->append("\\t");
    } else if (c == '\n') {
      out->append("\\n");
    } else if (b < 0x20 || b >= 0x7f) {
      out->append("\\x");
      out->push_back(kHexDigits[b >> 4]);
      out->push_back(kHexDigits[b & 0xf]);
    } else {
      out->push_back(c);
    }
  }
}

std::string Escape(std::string_view raw) {
  std::string out;
  AppendEscaped(raw, &out);
  return out;
}

bool Unescape(std::string_view text, std::string* out, std::string* error) {
  out->clear();
  out->reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\\') {
      out->push_back(text[i]);
      continue;
    }
    const size_t at = i;
    if (++i == text.size()) {
      *error = "backslash at end of text (at offset " + std::to_string(at) + ")";
      return false;
    }
    switch (text[i]) {
      case '\\': out->push_back('\\'); break;
      case 't': out->push_back('\t'); break;
      case 'n': out->push_back('\n'); break;
      case 'x': {
        const int hi = i + 1 < text.size() ? HexValue(text[i + 1]) : -1;
        const int lo = i + 2 < text.size() ? HexValue(text[i + 2]) : -1;
        if (hi < 0 || lo < 0) {
          *error = "\\x needs two hex digits (at offset " + std::to_string(at) + ")";
          return false;
        }
        out->push_back(static_cast<char>(hi << 4 | lo));
        i += 2;
        break;
      }
      default:
        *error = BadEscape(text[i]) + " (at offset " + std::to_string(at) + ")";
        return false;
    }
  }
  return true;
}

std::string FormatRecord(std::string_view key, std::string_view value) {
  std::string line;
  AppendEscaped(key, &line);
  line.push_back('\t');
  AppendEscaped(value, &line);
  line.push_back('\n');
  return line;
}

bool ParseRecord(std::string_view line, std::string* key, std::string* value,
                 std::string* error) {
  const size_t tab = line.find('\t');
  if (tab == std::string_view::npos) {
    *error = "no TAB between key and value";
    return false;
  }
  if (line.find('\t', tab + 1) != std::string_view::npos) {
    *error = "more than one TAB (write a TAB inside a key or value as \\t)";
    return false;
  }
  std::string why;
  if (!Unescape(line.substr(0, tab), key, &why)) {
    *error = "key: " + why;
    return false;
  }
  if (!Unescape(line.substr(tab + 1), value, &why)) {
    *error = "value: " + why;
    return false;
  }
  return true;
}

}  // namespace bruce::cli
