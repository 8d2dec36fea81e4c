// The snapshot commands: snapshot create, destroy, rollback, list.
//
// Exit codes follow the engine's Status: kNotFound (no such snapshot) is 1,
// kInvalidArgument for a bad name is 2, kExists (the name is taken) is 3 —
// exit 1 means "not found" only. Rollback's kInvalidArgument (a newer
// snapshot exists) is a conflict with the store's state, not a bad command
// line, so it is 3 too.

#include <algorithm>
#include <cstdint>
#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include "commands.h"
#include "escape.h"
#include "session.h"

namespace bruce::cli {

namespace {

// Opens the store for writing without beginning a transaction: the Db
// snapshot calls commit on their own.
int OpenForSnapshot(const Invocation& inv, std::unique_ptr<Db>* db) {
  Options o;
  o.durability = Durability::kFull;
  auto r = Db::Open(inv.args[0], o);
  if (!r.ok()) return Fail(inv, r.status());
  *db = std::move(r).value();
  return kExitOk;
}

// "2024-05-01T12:34:56Z" (seconds, UTC) from nanoseconds since the epoch.
std::string Iso8601(uint64_t time_ns) {
  const std::time_t secs = static_cast<std::time_t>(time_ns / 1000000000u);
  std::tm tm{};
  if (gmtime_r(&secs, &tm) == nullptr) return "?";
  char buf[32];
  if (std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) return "?";
  return buf;
}

}  // namespace

int RunSnapshotCreate(const Invocation& inv) {
  std::unique_ptr<Db> db;
  if (int rc = OpenForSnapshot(inv, &db)) return rc;
  Status st = db->CreateSnapshot(inv.args[1]);
  if (st.code() == Code::kExists) return Error(inv, "snapshot already exists: " + Escape(inv.args[1]));
  if (!st.ok()) return FailOp(inv, st);
  return kExitOk;
}

int RunSnapshotDestroy(const Invocation& inv) {
  std::unique_ptr<Db> db;
  if (int rc = OpenForSnapshot(inv, &db)) return rc;
  Status st = db->DestroySnapshot(inv.args[1]);
  if (st.IsNotFound()) return NotFound(inv, "no such snapshot: " + Escape(inv.args[1]));
  if (!st.ok()) return FailOp(inv, st);
  return kExitOk;
}

int RunSnapshotRollback(const Invocation& inv) {
  std::unique_ptr<Db> db;
  if (int rc = OpenForSnapshot(inv, &db)) return rc;
  Status st = db->Rollback(inv.args[1]);
  if (st.IsNotFound()) return NotFound(inv, "no such snapshot: " + Escape(inv.args[1]));
  if (!st.ok()) return Fail(inv, st);
  return kExitOk;
}

int RunSnapshotList(const Invocation& inv) {
  ReadSession s;
  if (int rc = OpenRead(inv, /*open_tree=*/false, &s)) return rc;
  auto list = s.db->ListSnapshots();
  if (!list.ok()) return Fail(inv, list.status());
  std::string out;
  if (inv.Has("--json")) {
    out = "[";
    bool first = true;
    for (const SnapshotInfo& i : list.value()) {
      out += first ? "\n" : ",\n";
      first = false;
      out += "  {\"name\": " + JsonString(i.name) + ", \"txn\": " + std::to_string(i.txn) +
             ", \"time_ns\": " + std::to_string(i.time_ns) +
             ", \"created\": " + JsonString(Iso8601(i.time_ns)) +
             ", \"referenced_bytes\": " + std::to_string(i.referenced_bytes) +
             ", \"unique_bytes\": " + std::to_string(i.unique_bytes) + "}";
    }
    out += first ? "]\n" : "\n]\n";
  } else {
    // Aligned columns under a header; numbers right-aligned.
    std::vector<std::vector<std::string>> rows = {
        {"name", "txn", "created", "referenced", "unique"}};
    for (const SnapshotInfo& i : list.value()) {
      rows.push_back({Escape(i.name), std::to_string(i.txn), Iso8601(i.time_ns),
                      std::to_string(i.referenced_bytes), std::to_string(i.unique_bytes)});
    }
    std::vector<size_t> width(5, 0);
    for (const auto& r : rows) {
      for (size_t c = 0; c < r.size(); ++c) width[c] = std::max(width[c], r[c].size());
    }
    for (const auto& r : rows) {
      std::string line;
      for (size_t c = 0; c < r.size(); ++c) {
        const std::string pad(width[c] - r[c].size(), ' ');
        const bool right = c == 1 || c >= 3;
        if (c > 0) line += "  ";
        line += right ? pad + r[c] : r[c] + (c + 1 < r.size() ? pad : "");
      }
      out += line + "\n";
    }
  }
  Out(out);
  return FinishOutput(inv);
}

}  // namespace bruce::cli
