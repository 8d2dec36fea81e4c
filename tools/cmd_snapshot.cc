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
#include "retention.h"
#include "session.h"

namespace bruce::cli {

namespace {

// A store opened for the snapshot commands: the Db (they commit on their
// own), or the daemon that holds it.
struct SnapshotTarget {
  std::unique_ptr<Db> db;
  bool remote = false;
  Endpoint daemon;
};

// One snapshot call on the target: op is the daemon's request.
Status SnapshotCall(const Invocation& inv, SnapshotTarget* t, const char* op,
                    Status (Db::*call)(std::string_view), const std::string& name, int* rc) {
  *rc = kExitOk;
  if (!t->remote) return (t->db.get()->*call)(name);
  ctl::Message req;
  req.Set("op", op);
  req.Set("name", name);
  Status st;
  *rc = AskWrite(inv, t->daemon, std::move(req), &st);
  return st;
}

Status SnapshotOp(const Invocation& inv, const char* op, Status (Db::*call)(std::string_view),
                  int* rc) {
  SnapshotTarget t;
  if ((*rc = OpenStore(inv, &t.db, &t.remote, &t.daemon)) != kExitOk) return Status::OK();
  return SnapshotCall(inv, &t, op, call, inv.args[1], rc);
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

// Takes PREFIX + the UTC time, then destroys the automatic snapshots (those
// named PREFIX + a time) that the --keep-* policy does not keep; with no
// --keep-* option, none. Other snapshots are never touched.
int RunSnapshotAuto(const Invocation& inv) {
  const std::string* p = inv.Value("--prefix");
  const std::string prefix = p ? *p : "auto-";
  RetentionPolicy policy;
  const std::pair<const char*, uint64_t*> keeps[] = {{"--keep-hourly", &policy.hourly},
                                                     {"--keep-daily", &policy.daily},
                                                     {"--keep-weekly", &policy.weekly},
                                                     {"--keep-monthly", &policy.monthly}};
  for (const auto& [opt, field] : keeps) {
    if (const std::string* v = inv.Value(opt)) {
      if (int rc = ParseCount(inv, opt, *v, field)) return rc;
    }
  }
  int64_t now = static_cast<int64_t>(std::time(nullptr));
  if (const std::string* n = inv.Value("--now")) {
    auto t = ParseUtcTime(*n);
    if (!t) return UsageError(inv, "--now must be a UTC time like 2026-11-28T21:00:00Z");
    now = *t;
  }
  const std::string name = AutoSnapshotName(prefix, now);
  std::vector<std::string> names;
  std::vector<int64_t> times;
  {
    ReadSession r;
    if (int rc = OpenRead(inv, /*open_tree=*/false, &r)) return rc;
    auto list = r.db->ListSnapshots();
    if (!list.ok()) return Fail(inv, list.status());
    for (const SnapshotInfo& i : *list) {
      if (i.name == name) return Error(inv, "snapshot already exists: " + Escape(name));
      if (auto t = AutoSnapshotTime(prefix, i.name)) {
        names.push_back(i.name);
        times.push_back(*t);
      }
    }
  }
  names.push_back(name);
  times.push_back(now);
  const std::vector<bool> keep =
      policy.any() ? SnapshotsToKeep(times, policy) : std::vector<bool>(times.size(), true);
  const bool dry = inv.Has("--dry-run");
  if (dry) {
    Out("would create " + Escape(name) + "\n");
    for (size_t i = 0; i + 1 < names.size(); ++i) {
      if (!keep[i]) Out("would destroy " + Escape(names[i]) + "\n");
    }
    return FinishOutput(inv);
  }
  SnapshotTarget t;
  if (int rc = OpenStore(inv, &t.db, &t.remote, &t.daemon)) return rc;
  int rc = kExitOk;
  Status st = SnapshotCall(inv, &t, "snapshot-create", &Db::CreateSnapshot, name, &rc);
  if (rc != kExitOk) return rc;
  if (st.code() == Code::kExists) return Error(inv, "snapshot already exists: " + Escape(name));
  if (!st.ok()) return FailOp(inv, st);
  Out("created " + Escape(name) + "\n");
  for (size_t i = 0; i + 1 < names.size(); ++i) {
    if (keep[i]) continue;
    st = SnapshotCall(inv, &t, "snapshot-destroy", &Db::DestroySnapshot, names[i], &rc);
    if (rc != kExitOk) return rc;
    // Gone already (another run destroyed it): what was wanted.
    if (!st.ok() && !st.IsNotFound()) return Fail(inv, st);
    Out("destroyed " + Escape(names[i]) + "\n");
  }
  return FinishOutput(inv);
}

}  // namespace bruce::cli
