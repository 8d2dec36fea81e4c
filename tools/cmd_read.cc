// The commands that read one tree: get, dump, ls, count, rank, nth. All take
// --snapshot NAME to read a snapshot instead of the live store (OpenRead).

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
// at most limit of them, handing the cursor at each to emit (which reads
// value() only if it needs it: a large value is read whole). Reports a
// failed read.
template <typename Emit>
int Walk(const Invocation& inv, Cursor* c, std::string_view prefix, uint64_t limit, Emit emit) {
  std::string buf;
  for (uint64_t n = 0; n < limit && c->Valid() && HasPrefix(c->key(), prefix); ++n) {
    buf.clear();
    emit(*c, &buf);
    if (!c->status().ok()) break;
    Out(buf);
    c->Next();
  }
  if (Status st = c->status(); !st.ok()) return Fail(inv, st);
  return FinishOutput(inv);
}

}  // namespace

// Streamed piece by piece (ReadAt), so a value of any size prints in
// bounded memory; a small value still costs a single lookup.
int RunGet(const Invocation& inv) {
  std::string key;
  if (int rc = DecodeArg(inv, "KEY", inv.args[1], &key)) return rc;
  ReadSession s;
  if (int rc = OpenRead(inv, /*open_tree=*/true, &s)) return rc;
  return StreamValue(inv, s.tree, key, 0, UINT64_MAX);
}

int RunDump(const Invocation& inv) {
  std::string prefix;
  if (int rc = DecodePrefix(inv, &prefix)) return rc;
  ReadSession s;
  if (int rc = OpenRead(inv, /*open_tree=*/true, &s)) return rc;
  auto c = s.tree->NewCursor();
  c->Seek(prefix);
  return Walk(inv, c.get(), prefix, UINT64_MAX,
              [](const Cursor& c, std::string* out) {
                AppendEscaped(c.key(), out);
                out->push_back('\t');
                AppendEscaped(c.value(), out);
                out->push_back('\n');
              });
}

// --offset N is answered with Rank/Select in O(log n): the prefix range starts
// at rank Rank(prefix), so its N-th key is KeyAt(Rank(prefix) + N), where a
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
    auto key = s.tree->KeyAt(first.value() + offset);  // the key alone, not its value
    if (!key.ok()) return Fail(inv, key.status());
    c->Seek(key.value());
  }
  return Walk(inv, c.get(), prefix, limit,
              [](const Cursor& c, std::string* out) {
                AppendEscaped(c.key(), out);
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
