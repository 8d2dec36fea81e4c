// bruce scrub: read and verify every reachable page, report the damaged.

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <string>

#include "commands.h"
#include "escape.h"
#include "progress.h"
#include "session.h"

namespace bruce::cli {

namespace {

// The source of good copies --repair-from names: a replica store, or a send
// stream on stdin ("-").
int OpenSource(const Invocation& inv, const std::string& from, const ScrubReport& rep,
               std::unique_ptr<Db>* replica, RepairSource* source) {
  if (from == "-") {
    auto src = StreamSource(
        [](char* buf, size_t n, size_t* got) {
          *got = std::fread(buf, 1, n, stdin);
          if (std::ferror(stdin)) return Status::IOError("reading stdin", errno);
          return Status::OK();
        },
        rep);
    if (!src.ok()) return Fail(inv, src.status());
    *source = std::move(src).value();
    return kExitOk;
  }
  Options o;
  o.read_only = true;
  auto db = Db::Open(from, o);
  if (!db.ok()) return Fail(inv, db.status());
  *replica = std::move(db).value();
  *source = ReplicaStoreSource(replica->get());
  return kExitOk;
}

}  // namespace

int RunScrub(const Invocation& inv) {
  const std::string* from = inv.Value("--repair-from");
  ReadSession s;
  if (from) {
    // Repair writes pages: the store open for writing, not mounted.
    Options o;
    o.durability = Durability::kFull;
    auto db = Db::Open(inv.args[0], o);
    if (!db.ok()) {
      if (db.status().code() == Code::kBusy) {
        return Error(inv, inv.args[0] + " is in use (mounted, or written by another bruce): "
                                        "scrub it there, and repair it once it is unmounted");
      }
      return Fail(inv, db.status());
    }
    s.db = std::move(db).value();
  } else if (int rc = OpenRead(inv, /*open_tree=*/false, &s)) {
    return rc;
  }
  ScrubReport rep;
  Progress bar("scrub", "blocks");
  const auto t0 = std::chrono::steady_clock::now();
  Status st = Scrub(s.db.get(), &rep, [&](uint64_t done, uint64_t known) {
    bar.Update(done, known, rep.bytes);
  });
  bar.Finish();
  if (!st.ok()) return Fail(inv, st);
  size_t repaired = 0;
  if (from && !rep.damaged.empty()) {
    std::unique_ptr<Db> replica;
    RepairSource source;
    if (int rc = OpenSource(inv, *from, rep, &replica, &source)) return rc;
    if (Status r = RepairScrubbed(s.db.get(), &rep, source); !r.ok()) return Fail(inv, r);
    for (const ScrubDamage& d : rep.damaged) repaired += d.repaired ? 1 : 0;
  }
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::string out;
  if (inv.Has("--json")) {
    out = "{\"ok\": " + std::string(rep.damaged.size() == repaired ? "true" : "false") +
          ", \"nodes\": " + std::to_string(rep.nodes) +
          ", \"data_blocks\": " + std::to_string(rep.data_blocks) +
          ", \"bytes\": " + std::to_string(rep.bytes) + ", \"seconds\": " + std::to_string(secs) +
          ", \"damaged\": [";
    bool first = true;
    for (const ScrubDamage& d : rep.damaged) {
      out += first ? "\n" : ",\n";
      first = false;
      out += "  {\"page\": " + std::to_string(d.page) + ", \"data\": " +
             (d.data ? "true" : "false") + ", \"error\": " + JsonString(d.error) + ", \"users\": [";
      for (size_t i = 0; i < d.users.size(); ++i) out += (i ? ", " : "") + JsonString(d.users[i]);
      out += "], \"key_lo\": " + JsonString(d.key_lo) + ", \"key_hi\": " + JsonString(d.key_hi);
      if (from) {
        out += std::string(", \"repaired\": ") + (d.repaired ? "true" : "false");
        if (!d.repaired) out += ", \"repair_note\": " + JsonString(d.repair_note);
      }
      out += "}";
    }
    out += first ? "]}\n" : "\n]}\n";
  } else {
    for (const ScrubDamage& d : rep.damaged) {
      out += "damaged page " + std::to_string(d.page) + (d.data ? " (data block): " : " (node): ") +
             d.error + "; used by ";
      for (size_t i = 0; i < d.users.size(); ++i) out += (i ? ", " : "") + d.users[i];
      out += "; keys [" + Escape(d.key_lo) + ", " + (d.key_hi.empty() ? "end" : Escape(d.key_hi)) +
             ")\n";
      if (from) {
        out += d.repaired ? "  repaired from " + *from + "\n"
                          : "  not repaired: " + d.repair_note + "\n";
      }
    }
    char line[200];
    std::snprintf(line, sizeof line,
                  "scrubbed %llu nodes and %llu data blocks (%.1f MB) in %.2f s: %zu damaged\n",
                  static_cast<unsigned long long>(rep.nodes),
                  static_cast<unsigned long long>(rep.data_blocks),
                  static_cast<double>(rep.bytes) / 1e6, secs, rep.damaged.size());
    out += line;
    if (from && !rep.damaged.empty()) {
      out += std::to_string(repaired) + " of " + std::to_string(rep.damaged.size()) +
             " repaired\n";
    }
  }
  Out(out);
  if (int rc = FinishOutput(inv)) return rc;
  return rep.damaged.size() == repaired ? kExitOk : kExitError;
}

}  // namespace bruce::cli
