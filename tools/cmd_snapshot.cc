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
#include "remote.h"
#include "session.h"

namespace bruce::cli {

namespace {

// Runs a snapshot command: on the store opened for writing (the Db calls
// commit on their own), or through the daemon that holds it (request op,
// the snapshot's name).
Status SnapshotOp(const Invocation& inv, const char* op, Status (Db::*call)(std::string_view),
                  int* rc) {
  std::unique_ptr<Db> db;
  bool remote = false;
  Endpoint daemon;
  if ((*rc = OpenStore(inv, &db, &remote, &daemon)) != kExitOk) return Status::OK();
  if (!remote) return (db.get()->*call)(inv.args[1]);
  ctl::Message req;
  req.Set("op", op);
  req.Set("name", inv.args[1]);
  Status st;
  *rc = AskWrite(inv, daemon, std::move(req), &st);
  return st;
}

}  // namespace

int RunSnapshotCreate(const Invocation& inv) {
  int rc = kExitOk;
  Status st = SnapshotOp(inv, "snapshot-create", &Db::CreateSnapshot, &rc);
  if (rc != kExitOk) return rc;
  if (st.code() == Code::kExists) return Error(inv, "snapshot already exists: " + Escape(inv.args[1]));
  if (!st.ok()) return FailOp(inv, st);
  return kExitOk;
}

int RunSnapshotDestroy(const Invocation& inv) {
  int rc = kExitOk;
  Status st = SnapshotOp(inv, "snapshot-destroy", &Db::DestroySnapshot, &rc);
  if (rc != kExitOk) return rc;
  if (st.IsNotFound()) return NotFound(inv, "no such snapshot: " + Escape(inv.args[1]));
  if (!st.ok()) return FailOp(inv, st);
  return kExitOk;
}

// A mounted store is not rolled back: the daemon refuses (Busy).
int RunSnapshotRollback(const Invocation& inv) {
  int rc = kExitOk;
  Status st = SnapshotOp(inv, "snapshot-rollback", &Db::Rollback, &rc);
  if (rc != kExitOk) return rc;
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
