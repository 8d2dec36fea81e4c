// The commands about a whole store: stat, check, root-hash, trees.

#include <ctime>
#include <algorithm>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "commands.h"
#include "escape.h"
#include "progress.h"
#include "remote.h"
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

// A ratio with two decimals: "4.82x" as text, 4.82 in JSON.
Field Ratio(std::string name, uint64_t num, uint64_t den) {
  double r = den == 0 ? 1.0 : static_cast<double>(num) / static_cast<double>(den);
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.2f", r);
  return {std::move(name), std::string(buf) + "x", buf};
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
  auto snapshots = s.db->ListSnapshots();
  if (!snapshots.ok()) return Fail(inv, snapshots.status());
  // The space walk reads every node of the live trees; a node that fails to
  // read stops it, and the other figures are still shown, with the reason.
  auto space = s.db->Space();
  SpaceStats sp = space.ok() ? space.value() : SpaceStats{};
  const DbStats& d = st.value();
  const TreeOptions options = s.tree->options();
  // With --snapshot the tree fields (and txn id) are the snapshot's; the
  // store fields are always the live store's.
  std::vector<Field> fields;
  if (!s.txn->snapshot().empty()) fields.push_back(Text("snapshot", s.txn->snapshot()));
  std::vector<Field> rest = {
      Text("tree", s.tree->name()),
      Number("txn id", s.txn->id()),
      Number("keys", keys.value()),
      Number("depth", depth.value()),
      Text("duplicate keys", options.dupsort ? "yes" : "no"),
      Number("zstd level", static_cast<uint64_t>(options.compression_level)),
      Number("bloom bits per key", options.bloom_bits_per_key),
      Text("tree hash", tree_hash.value()),
      Number("trees", d.trees),
      Number("snapshots", snapshots.value().size()),
      Number("pages used", d.used_pages),
      Number("pages free", d.free_pages),
      Number("pages total", d.total_pages),
      Number("file bytes", d.file_bytes),
      Number("page size", d.page_size),
      Number("format version", d.format_version),
      Text("root hash", d.root_hash),
      Number("cache hits", d.cache_hits),
      Number("cache misses", d.cache_misses),
      Number("cache evictions", d.cache_evictions),
      Number("cache bytes", d.cache_bytes),
      Number("cache budget", d.cache_budget),
  };
  if (space.ok()) {
    std::vector<Field> more = {
        Number("logical bytes", sp.logical_bytes),
        Number("stored bytes", sp.stored_bytes),
        Number("stored pages", sp.stored_pages),
        Ratio("compress ratio", sp.logical_bytes, sp.stored_bytes),
        Number("nodes", sp.nodes),
        Number("compressed nodes", sp.compressed_nodes),
        Number("data blocks", sp.data_blocks),
    };
    rest.insert(rest.end(), more.begin(), more.end());
  }
  fields.insert(fields.end(), rest.begin(), rest.end());
  // Other processes reading the store (read-only opens, `-o ro` mounts):
  // one that pins an old commit keeps the pages freed since.
  auto readers = s.db->Readers();
  if (readers.ok()) {
    fields.push_back(Number("readers", readers->size()));
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    const uint64_t now_ns = uint64_t(now.tv_sec) * 1000000000 + uint64_t(now.tv_nsec);
    for (size_t i = 0; i < readers->size(); ++i) {
      const ReaderInfo& r = (*readers)[i];
      const uint64_t age = now_ns > r.since_ns ? (now_ns - r.since_ns) / 1000000000 : 0;
      fields.push_back(Text("reader " + std::to_string(i + 1),
                            "pid " + std::to_string(r.pid) + ", txn " + std::to_string(r.txn) +
                                " (" + std::to_string(d.txn_id > r.txn ? d.txn_id - r.txn : 0) +
                                " commits behind), for " + std::to_string(age) + " s"));
    }
  }
  if (!d.recovery_note.empty()) fields.push_back(Text("recovery note", d.recovery_note));
  if (!space.ok()) {
    fields.push_back(Text("space note", "the space walk stopped: " + space.status().ToString()));
  }
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

namespace {

std::string CheckJson(const CheckReport& r, uint64_t orphans) {
  std::string out = "{\n  \"ok\": ";
  out += r.ok() ? "true" : "false";
  out += ",\n  \"orphans\": " + std::to_string(orphans);
  out += ",\n  \"nodes\": " + std::to_string(r.nodes_checked);
  out += ",\n  \"pages\": " + std::to_string(r.pages_checked);
  out += ",\n  \"keys\": " + std::to_string(r.keys_checked);
  out += ",\n  \"trees\": " + std::to_string(r.trees_checked);
  out += ",\n  \"problems\": [";
  for (size_t i = 0; i < r.problems.size(); ++i) {
    out += i == 0 ? "\n    " : ",\n    ";
    out += JsonString(r.problems[i]);
  }
  out += r.problems.empty() ? "]\n}\n" : "\n  ]\n}\n";
  return out;
}

}  // namespace

// With --json, a report is printed even when the walk could not run at all
// (the store does not open): "ok": false, the error as the one problem, and
// the usual error line on stderr.
int RunCheck(const Invocation& inv) {
  const bool json = inv.Has("--json");
  CheckReport report;
  auto could_not_run = [&](int rc, const std::string& why) {
    if (!json) return rc;
    report.problems.push_back(why);
    Out(CheckJson(report, 0));
    if (int out_rc = FinishOutput(inv)) return out_rc;
    return rc;
  };
  Options o;
  o.read_only = true;
  auto db = Db::Open(inv.args[0], o);
  if (!db.ok()) return could_not_run(Fail(inv, db.status()), db.status().ToString());
  Progress bar("check", "pages");
  auto stat = db.value()->Stat();
  const uint64_t page_size = stat.ok() ? stat->page_size : 0;
  report.progress = [&](uint64_t done, uint64_t total) {
    bar.Update(done, total, done * page_size);
  };
  Status checked = db.value()->Check(&report);
  bar.Finish();
  if (Status st = checked; !st.ok()) {
    return could_not_run(Fail(inv, st), st.ToString());
  }
  // brucefs keeps files unlinked while open in the "orphans" tree until
  // their last close; a crash leaves them there until the next mount frees
  // them. Their pages are in use, so they are counted, not leaks.
  uint64_t orphans = 0;
  if (auto r = db.value()->BeginRead(); r.ok()) {
    if (auto t = (*r)->OpenTree("orphans"); t.ok()) {
      auto n = (*t)->Count();
      if (n.ok()) orphans = *n;
    }
  }
  std::string out;
  if (json) {
    out = CheckJson(report, orphans);
  } else {
    for (const std::string& p : report.problems) out += p + "\n";
    if (orphans > 0) {
      out += "note: " + std::to_string(orphans) +
             " files unlinked while open (brucefs orphans): their pages are in use until the "
             "next read-write mount frees them\n";
    }
    out += report.ok() ? "ok: " : std::to_string(report.problems.size()) + " problems: ";
    out += std::to_string(report.pages_checked) + " pages, " +
           std::to_string(report.keys_checked) + " keys, " +
           std::to_string(report.trees_checked) + " trees checked\n";
  }
  Out(out);
  if (int rc = FinishOutput(inv)) return rc;
  return report.ok() ? kExitOk : kExitError;
}

int RunCompact(const Invocation& inv) {
  std::unique_ptr<Db> db;
  bool remote = false;
  Endpoint daemon;
  if (int rc = OpenStore(inv, &db, &remote, &daemon)) return rc;
  uint64_t before = 0, after = 0;
  Progress bar("compact", "passes");
  if (remote) {
    ctl::Message req, reply;
    req.Set("op", "compact");
    Status st;
    if (int rc = AskWrite(inv, daemon, std::move(req), &st, &reply)) return rc;
    if (!st.ok()) return Fail(inv, st);
    before = reply.GetU64("before");
    after = reply.GetU64("after");
  } else {
    auto b = db->Stat();
    if (!b.ok()) return Fail(inv, b.status());
    auto a = db->Compact([&](uint64_t done, uint64_t total) { bar.Update(done, total, 0); });
    bar.Finish();
    if (!a.ok()) return Fail(inv, a.status());
    before = b->file_bytes;
    after = *a;
  }
  if (inv.Has("--json")) {
    Out("{\"before_bytes\": " + std::to_string(before) + ", \"after_bytes\": " +
        std::to_string(after) + "}\n");
  } else {
    Out("compacted: " + std::to_string(before) + " -> " + std::to_string(after) + " bytes\n");
  }
  return FinishOutput(inv);
}

int RunRootHash(const Invocation& inv) {
  ReadSession s;
  // A snapshot has no store-wide root hash in the API: with --snapshot the
  // hash is that of its main tree (or of --tree).
  const bool per_tree = inv.Value("--tree") != nullptr || inv.Value("--snapshot") != nullptr;
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
