// bruce diff: what changed between two snapshots (or a snapshot and the
// live store), by the trees' hashes.

#include <memory>
#include <string>

#include "commands.h"
#include "escape.h"
#include "session.h"

namespace bruce::cli {

namespace {

constexpr char kLive[] = "@live";

// A read transaction of snapshot `name`, or of the last commit for @live.
int BeginVersion(const Invocation& inv, Db* db, const std::string& name,
                 std::unique_ptr<ReadTxn>* out) {
  auto r = name == kLive ? db->BeginRead() : db->BeginRead(name);
  if (!r.ok()) {
    if (r.status().IsNotFound()) return NotFound(inv, "no such snapshot: " + Escape(name));
    return Fail(inv, r.status());
  }
  *out = std::move(r).value();
  return kExitOk;
}

}  // namespace

// Text: one line a difference, in key order: "+", "-" or "M", a tab and the
// escaped key (and in a tree with duplicate keys a tab and the pair's
// value). --json: an array of {"op", "key"[, "value"]} objects.
int RunDiff(const Invocation& inv) {
  ReadSession s;
  if (int rc = OpenRead(inv, /*open_tree=*/false, &s)) return rc;
  std::unique_ptr<ReadTxn> a, b;
  if (int rc = BeginVersion(inv, s.db.get(), inv.args[1], &a)) return rc;
  if (int rc = BeginVersion(inv, s.db.get(), inv.args[2], &b)) return rc;
  const std::string name = TreeName(inv);
  auto ta = a->OpenTree(name);
  auto tb = b->OpenTree(name);
  // A tree that one side lacks is empty there.
  std::unique_ptr<ReadTxn> empty_txn;
  if (!ta.ok() && !tb.ok()) {
    if (ta.status().IsNotFound()) return NotFound(inv, "no such tree: " + Escape(name));
    return Fail(inv, ta.status());
  }
  if (!ta.ok() && !ta.status().IsNotFound()) return Fail(inv, ta.status());
  if (!tb.ok() && !tb.status().IsNotFound()) return Fail(inv, tb.status());
  const bool json = inv.Has("--json");
  bool first = true;
  std::string out = json ? "[" : "";
  const bool dup = ta.ok() ? (*ta)->dupsort() : (*tb)->dupsort();
  auto line = [&](char op, std::string_view key, std::string_view value) {
    if (json) {
      out += first ? "\n" : ",\n";
      out += "  {\"op\": \"";
      out += op;
      out += "\", \"key\": ";
      out += JsonString(key);
      if (dup) {
        out += ", \"value\": ";
        out += JsonString(value);
      }
      out += "}";
    } else {
      out += op;
      out += '\t';
      out += Escape(key);
      if (dup) {
        out += '\t';
        out += Escape(value);
      }
      out += '\n';
    }
    first = false;
    if (out.size() > (1u << 16)) {
      Out(out);
      out.clear();
    }
  };
  auto each = [&](const DiffEntry& e) {
    const char op = e.kind == DiffEntry::kAdded ? '+' : e.kind == DiffEntry::kRemoved ? '-' : 'M';
    line(op, e.key, e.kind == DiffEntry::kRemoved ? e.old_value : e.new_value);
    return !std::ferror(stdout);
  };
  Status st;
  if (ta.ok() && tb.ok()) {
    st = Diff(*ta, *tb, each);
  } else {
    // Every entry of the one side is added (or removed).
    Tree* t = ta.ok() ? *ta : *tb;
    const char op = ta.ok() ? '-' : '+';
    auto c = t->NewCursor();
    for (c->First(); c->Valid() && !std::ferror(stdout); c->Next()) {
      line(op, c->key(), c->value());
    }
    st = c->status();
  }
  if (!st.ok()) return Fail(inv, st);
  if (json) out += first ? "]\n" : "\n]\n";
  Out(out);
  return FinishOutput(inv);
}

}  // namespace bruce::cli
