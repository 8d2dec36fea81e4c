#include "name_codec.h"

namespace brucefs {
namespace {

bool IsToken(std::string_view s) { return s == "%" || s == "%2E" || s == "%2E%2E"; }

// True when the bytes at s[i+1], s[i+2] would make a `%` at s[i] an escape.
bool LooksLikeEscape(std::string_view s, size_t i) {
  if (i + 2 >= s.size()) return false;
  std::string_view two = s.substr(i + 1, 2);
  return two == "00" || two == "25";
}

}  // namespace

std::string EncodeComponent(std::string_view c) {
  if (c.empty()) return "%";
  if (c == ".") return "%2E";
  if (c == "..") return "%2E%2E";
  const bool token = IsToken(c);
  std::string out;
  out.reserve(c.size() + 4);
  for (size_t i = 0; i < c.size(); ++i) {
    char ch = c[i];
    if (ch == '\0') {
      out += "%00";
    } else if (ch == '%' && ((i == 0 && token) || LooksLikeEscape(c, i))) {
      out += "%25";
    } else {
      out += ch;
    }
  }
  return out;
}

std::optional<std::string> DecodeName(std::string_view name) {
  if (name == "%") return std::string();
  if (name == "%2E") return std::string(".");
  if (name == "%2E%2E") return std::string("..");
  if (name.empty() || name == "." || name == "..") return std::nullopt;
  std::string out;
  out.reserve(name.size());
  for (size_t i = 0; i < name.size(); ++i) {
    char ch = name[i];
    if (ch == '/' || ch == '\0') return std::nullopt;
    if (ch == '%' && LooksLikeEscape(name, i)) {
      out += name[i + 1] == '0' ? '\0' : '%';
      i += 2;
    } else {
      out += ch;
    }
  }
  if (EncodeComponent(out) != name) return std::nullopt;
  return out;
}

std::string JoinPath(std::string_view dir, std::string_view child) {
  std::string out;
  out.reserve(dir.size() + 1 + child.size());
  out.append(dir);
  if (!dir.empty()) out += '/';
  out.append(child);
  return out;
}

std::string_view ParentPath(std::string_view path) {
  size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? std::string_view() : path.substr(0, slash);
}

std::string_view BaseName(std::string_view path) {
  size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

}  // namespace brucefs
