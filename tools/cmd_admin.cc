// The commands about a whole store: stat, check, root-hash, trees.

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "commands.h"
#include "escape.h"
#include "session.h"

namespace bruce::cli {

namespace {

// One line of `bruce stat`: a name, and its value as text or as JSON.
struct Field {
  std::string name;  // human form, e.g. "pages used"
  std::string text;
  std::string json;
};

Field Number(std::string name, uint64_t v) {
  std::string s = std::to_string(v);
  return {std::move(name), s, s};
}

Field Text(std::string name, const std::string& v) {
  return {std::move(name), Escape(v), JsonString(v)};
}

std::string JsonKey(const std::string& name) {
  std::string key = name;
  for (char& c : key) {
    if (c == ' ') c = '_';
  }
  return key;
}

}  // namespace

int RunStat(const Invocation& inv) {
  ReadSession s;
  if (int rc = OpenRead(inv, /*open_tree=*/true, &s)) return rc;
  auto st = s.db->Stat();
  if (!st.ok()) return Fail(inv, st.status());
  auto keys = s.tree->Count();
  if (!keys.ok()) return Fail(inv, keys.status());
  auto depth = s.tree->Depth();
  if (!depth.ok()) return Fail(inv, depth.status());
  auto tree_hash = s.tree->RootHashHex();
  if (!tree_hash.ok()) return Fail(inv, tree_hash.status());
  const DbStats& d = st.value();
  std::vector<Field> fields = {
      Text("tree", s.tree->name()),
      Number("txn id", s.txn->id()),
      Number("keys", keys.value()),
      Number("depth", depth.value()),
      Text("tree hash", tree_hash.value()),
      Number("trees", d.trees),
      Number("pages used", d.used_pages),
      Number("pages free", d.free_pages),
      Number("pages total", d.total_pages),
      Number("file bytes", d.file_bytes),
      Number("page size", d.page_size),
      Number("format version", d.format_version),
      Text("root hash", d.root_hash),
      Number("cache hits", d.cache_hits),
      Number("cache misses", d.cache_misses),
      Number("cache bytes", d.cache_bytes),
  };
  if (!d.recovery_note.empty()) fields.push_back(Text("recovery note", d.recovery_note));
  std::string out;
  if (inv.Has("--json")) {
    out = "{\n";
    for (size_t i = 0; i < fields.size(); ++i) {
      out += "  \"" + JsonKey(fields[i].name) + "\": " + fields[i].json;
      out += i + 1 < fields.size() ? ",\n" : "\n";
    }
    out += "}\n";
  } else {
    size_t width = 0;
    for (const Field& f : fields) width = std::max(width, f.name.size());
    for (const Field& f : fields) {
      out += f.name + ":" + std::string(width - f.name.size() + 1, ' ') + f.text + "\n";
    }
  }
  Out(out);
  return FinishOutput(inv);
}

int RunCheck(const Invocation& inv) {
  ReadSession s;
  if (int rc = OpenRead(inv, /*open_tree=*/false, &s)) return rc;
  CheckReport report;
  if (Status st = s.db->Check(&report); !st.ok()) return Fail(inv, st);
  std::string out;
  for (const std::string& p : report.problems) out += p + "\n";
  out += report.ok() ? "ok: " : std::to_string(report.problems.size()) + " problems: ";
  out += std::to_string(report.pages_checked) + " pages, " +
         std::to_string(report.keys_checked) + " keys, " +
         std::to_string(report.trees_checked) + " trees checked\n";
  Out(out);
  if (int rc = FinishOutput(inv)) return rc;
  return report.ok() ? kExitOk : kExitError;
}

int RunRootHash(const Invocation& inv) {
  ReadSession s;
  const bool per_tree = inv.Value("--tree") != nullptr;
  if (int rc = OpenRead(inv, /*open_tree=*/per_tree, &s)) return rc;
  std::string hash;
  if (per_tree) {
    auto h = s.tree->RootHashHex();
    if (!h.ok()) return Fail(inv, h.status());
    hash = h.value();
  } else {
    hash = s.db->RootHash();
  }
  Out(hash + "\n");
  return FinishOutput(inv);
}

int RunTrees(const Invocation& inv) {
  ReadSession s;
  if (int rc = OpenRead(inv, /*open_tree=*/true, &s)) return rc;
  auto names = s.txn->ListTrees();
  if (!names.ok()) return Fail(inv, names.status());
  std::string out;
  for (const std::string& n : names.value()) out += Escape(n) + "\n";
  Out(out);
  return FinishOutput(inv);
}

}  // namespace bruce::cli
