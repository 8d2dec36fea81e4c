// fs/name_codec.h — the bijection between key components and file names.
//
// A key is bytes; `/` separates its components. Every component is shown as
// a file name, and every file name a user can create stands for exactly one
// component (docs/FS.md "Names"):
//
//   - the escape character is `%`; `%00` is a NUL byte, `%25` a `%` byte;
//   - a `%` is written as `%25` only where it would otherwise be read as an
//     escape: when the two bytes after it are `00` or `25`, or when the
//     whole component is one of the three tokens below; anywhere else a `%`
//     stands for itself, so names like `50% off` or `a%20b` are unchanged;
//   - whole components: "" is `%`, "." is `%2E`, ".." is `%2E%2E`.
//
// A name that is not the encoding of any component (it spells `%25` where a
// plain `%` would do, e.g. `%25x`) is refused: DecodeName returns nullopt.
//
// Thread safety: pure functions.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace brucefs {

// NAME_MAX: a component whose encoding is longer cannot be shown.
constexpr size_t kNameMax = 255;

std::string EncodeComponent(std::string_view component);

// The component `name` stands for, or nullopt when `name` is not a
// canonical encoding (or is "", ".", "..", or holds `/` or NUL).
std::optional<std::string> DecodeName(std::string_view name);

// "dir/child", or "child" in the root (dir "").
std::string JoinPath(std::string_view dir, std::string_view child);

// The parent of a path ("" for a top-level one) and its last component.
std::string_view ParentPath(std::string_view path);
std::string_view BaseName(std::string_view path);

}  // namespace brucefs
