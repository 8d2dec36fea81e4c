// The commands for a store that brucefs has mounted: sync and status.

#include <sys/stat.h>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "commands.h"
#include "remote.h"
#include "session.h"

namespace bruce::cli {

namespace {

// A /proc/self/mountinfo field with its octal escapes (\040 for a space...)
// undone.
std::string Unoctal(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && s[i + 1] >= '0' && s[i + 1] <= '3') {
      out.push_back(static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 +
                                      (s[i + 3] - '0')));
      i += 3;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

// The store mounted (by brucefs) on directory `dir`: the source of the
// topmost fuse.brucefs mount there. Empty when there is none.
std::string StoreMountedOn(const std::string& dir) {
  char abs[PATH_MAX];
  if (realpath(dir.c_str(), abs) == nullptr) return "";
  std::ifstream in("/proc/self/mountinfo");
  std::string line, found;
  while (std::getline(in, line)) {
    // id parent major:minor root mountpoint options [optional...] - type source super
    std::istringstream f(line);
    std::vector<std::string> w;
    for (std::string x; f >> x;) w.push_back(x);
    size_t dash = 0;
    while (dash < w.size() && w[dash] != "-") ++dash;
    if (w.size() < 5 || dash + 2 >= w.size()) continue;
    if (Unoctal(w[4]) == abs && w[dash + 1] == "fuse.brucefs") found = Unoctal(w[dash + 2]);
  }
  return found;
}

}  // namespace

// Every CLI commit is durable when the command returns; a mounted store's
// open transaction group is committed and waited for.
int RunSync(const Invocation& inv) {
  std::unique_ptr<Db> db;
  bool remote = false;
  Endpoint daemon;
  if (int rc = OpenStore(inv, &db, &remote, &daemon)) return rc;
  if (!remote) return kExitOk;
  ctl::Message req;
  req.Set("op", "sync");
  Status st;
  if (int rc = AskWrite(inv, daemon, std::move(req), &st)) return rc;
  return st.ok() ? kExitOk : Fail(inv, st);
}

int RunStatus(const Invocation& inv) {
  std::string store = inv.args[0];
  struct stat st;
  if (::stat(store.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    store = StoreMountedOn(inv.args[0]);
    if (store.empty()) return NotFound(inv, inv.args[0] + " is not a brucefs mount point");
  }
  Endpoint daemon;
  if (!FindDaemon(store, &daemon)) {
    return NotFound(inv, store + " is not mounted read-write by brucefs");
  }
  ctl::Message req, r;
  req.Set("op", "status");
  if (int rc = Ask(inv, daemon, req, &r)) return rc;
  if (Status s = r.GetStatus(); !s.ok()) return Fail(inv, s);
  const uint64_t last = r.GetU64("last_commit_ns");
  std::string out;
  if (inv.Has("--json")) {
    out = "{\"mountpoint\": " + JsonString(r.Get("mountpoint")) +
          ", \"store\": " + JsonString(store) + ", \"pid\": " + r.Get("pid") +
          ", \"txn\": " + r.Get("txn") + ", \"durable_txn\": " + r.Get("durable_txn") +
          ", \"dirty_bytes\": " + r.Get("dirty_bytes") + ", \"last_commit_ns\": " +
          std::to_string(last) + ", \"txg_timeout_s\": " + r.Get("txg_timeout_s") +
          ", \"readers\": " + r.Get("readers") + ", \"snapshots\": " + r.Get("snapshots") +
          ", \"commits\": " + r.Get("commits") + ", \"rss\": " + r.Get("rss") +
          ", \"peak_rss\": " + r.Get("peak_rss") + ", \"cache_bytes\": " + r.Get("cache_bytes") +
          ", \"cache_budget\": " + r.Get("cache_budget") + ", \"views_out\": " +
          r.Get("views_out") + ", \"views_idle\": " + r.Get("views_idle") +
          ", \"snapshot_views\": " + r.Get("snapshot_views") + ", \"dir_handles\": " +
          r.Get("dir_handles") + ", \"open_files\": " + r.Get("open_files") +
          ", \"inodes\": " + r.Get("inodes") +
          ", \"read_only\": " + (r.Get("read_only") == "1" ? "true" : "false") + "}\n";
  } else {
    auto row = [&](const char* name, const std::string& v) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%-14s", name);
      out += buf + v + "\n";
    };
    row("mountpoint", r.Get("mountpoint"));
    row("store", store);
    row("pid", r.Get("pid"));
    row("txn", r.Get("txn"));
    row("durable txn", r.Get("durable_txn"));
    row("dirty bytes", r.Get("dirty_bytes"));
    row("last commit", last == 0 ? "none since mounted" : Iso8601(last));
    row("txg timeout", r.Get("txg_timeout_s") + " s");
    row("commits", r.Get("commits") + " since mounted");
    row("readers", r.Get("readers"));
    row("snapshots", r.Get("snapshots"));
    auto mib = [&](const char* k) { return std::to_string((r.GetU64(k) + (1 << 19)) >> 20); };
    row("memory", "RSS " + mib("rss") + " MiB (peak " + mib("peak_rss") + " MiB); node cache " +
                      mib("cache_bytes") + " of " + mib("cache_budget") + " MiB");
    row("read views", r.Get("views_out") + " in use, " + r.Get("views_idle") + " idle (" +
                          r.Get("snapshot_views") + " snapshots looked at)");
    row("handles", r.Get("dir_handles") + " directories, " + r.Get("open_files") +
                       " files open; " + r.Get("inodes") + " inodes known");
    if (r.Get("read_only") == "1") row("state", "read-only (a commit failed)");
  }
  Out(out);
  return FinishOutput(inv);
}

}  // namespace bruce::cli
