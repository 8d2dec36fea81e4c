// The commands that read one tree: get, dump, ls, count, rank, nth.

#include <cstdint>
#include <string>

#include "commands.h"
#include "escape.h"
#include "session.h"

namespace bruce::cli {

namespace {

bool HasPrefix(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// Walks the keys from the cursor's position while they start with prefix,
// at most limit of them, handing each to emit. Reports a failed read.
template <typename Emit>
int Walk(const Invocation& inv, Cursor* c, std::string_view prefix, uint64_t limit, Emit emit) {
  std::string buf;
  for (uint64_t n = 0; n < limit && c->Valid() && HasPrefix(c->key(), prefix); ++n) {
    buf.clear();
    emit(c->key(), c->value(), &buf);
    Out(buf);
    c->Next();
  }
  if (Status st = c->status(); !st.ok()) return Fail(inv, st);
  return FinishOutput(inv);
}

}  // namespace

int RunGet(const Invocation& inv) {
  std::string key, value;
  if (int rc = DecodeArg(inv, "KEY", inv.args[1], &key)) return rc;
  ReadSession s;
  if (int rc = OpenRead(inv, /*open_tree=*/true, &s)) return rc;
  if (Status st = s.tree->Get(key, &value); !st.ok()) {
    if (st.IsNotFound()) return NotFound(inv, "key not found: " + Escape(key));
    return Fail(inv, st);
  }
  Out(value);
  return FinishOutput(inv);
}

int RunDump(const Invocation& inv) {
  std::string prefix;
  if (int rc = DecodePrefix(inv, &prefix)) return rc;
  ReadSession s;
  if (int rc = OpenRead(inv, /*open_tree=*/true, &s)) return rc;
  auto c = s.tree->NewCursor();
  c->Seek(prefix);
  return Walk(inv, c.get(), prefix, UINT64_MAX,
              [](std::string_view k, std::string_view v, std::string* out) {
                AppendEscaped(k, out);
                out->push_back('\t');
                AppendEscaped(v, out);
                out->push_back('\n');
              });
}

// --offset N is answered with Rank/Select in O(log n): the prefix range starts
// at rank Rank(prefix), so its N-th key is Select(Rank(prefix) + N), where a
// cursor then starts.
int RunLs(const Invocation& inv) {
  std::string prefix;
  uint64_t offset = 0, limit = UINT64_MAX;
  if (int rc = DecodePrefix(inv, &prefix)) return rc;
  if (const std::string* v = inv.Value("--offset")) {
    if (int rc = ParseCount(inv, "--offset", *v, &offset)) return rc;
  }
  if (const std::string* v = inv.Value("--limit")) {
    if (int rc = ParseCount(inv, "--limit", *v, &limit)) return rc;
  }
  ReadSession s;
  if (int rc = OpenRead(inv, /*open_tree=*/true, &s)) return rc;
  auto c = s.tree->NewCursor();
  if (offset == 0) {
    c->Seek(prefix);
  } else {
    auto first = s.tree->Rank(prefix);
    if (!first.ok()) return Fail(inv, first.status());
    auto in_range = prefix.empty() ? s.tree->Count() : s.tree->CountPrefix(prefix);
    if (!in_range.ok()) return Fail(inv, in_range.status());
    if (offset >= in_range.value()) return FinishOutput(inv);
    auto e = s.tree->Select(first.value() + offset);
    if (!e.ok()) return Fail(inv, e.status());
    c->Seek(e.value().key);
  }
  return Walk(inv, c.get(), prefix, limit,
              [](std::string_view k, std::string_view, std::string* out) {
                AppendEscaped(k, out);
                out->push_back('\n');
              });
}

int RunCount(const Invocation& inv) {
  std::string prefix;
  if (int rc = DecodePrefix(inv, &prefix)) return rc;
  ReadSession s;
  if (int rc = OpenRead(inv, /*open_tree=*/true, &s)) return rc;
  auto n = inv.Value("--prefix") ? s.tree->CountPrefix(prefix) : s.tree->Count();
  if (!n.ok()) return Fail(inv, n.status());
  Out(std::to_string(n.value()) + "\n");
  return FinishOutput(inv);
}

int RunRank(const Invocation& inv) {
  std::string key;
  if (int rc = DecodeArg(inv, "KEY", inv.args[1], &key)) return rc;
  ReadSession s;
  if (int rc = OpenRead(inv, /*open_tree=*/true, &s)) return rc;
  auto r = s.tree->Rank(key);
  if (!r.ok()) return Fail(inv, r.status());
  Out(std::to_string(r.value()) + "\n");
  return FinishOutput(inv);
}

int RunNth(const Invocation& inv) {
  uint64_t i = 0;
  if (int rc = ParseCount(inv, "N", inv.args[1], &i)) return rc;
  ReadSession s;
  if (int rc = OpenRead(inv, /*open_tree=*/true, &s)) return rc;
  auto e = s.tree->Select(i);
  if (!e.ok()) {
    if (e.status().IsNotFound()) {
      auto n = s.tree->Count();
      std::string count = n.ok() ? std::to_string(n.value()) : "?";
      return NotFound(inv, "index " + std::to_string(i) + " out of range (" + count + " keys)");
    }
    return Fail(inv, e.status());
  }
  Out(FormatRecord(e.value().key, e.value().value));
  return FinishOutput(inv);
}

}  // namespace bruce::cli
