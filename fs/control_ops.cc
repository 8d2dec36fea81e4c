// The requests of brucefs's control socket (fs/control_proto.h): the bruce
// CLI's write commands on a mounted store, run in the open transaction
// group so that the mount sees them at once and the next commit holds them.
//
// A request is all or nothing, as the same command is on an unmounted store:
// the open group is sealed before it when it holds changes, and dropped
// (Abort) when the request fails half way; nothing seals in between.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <algorithm>
#include <string>

#include "brucefs.h"
#include "errno_map.h"
#include "name_codec.h"

namespace brucefs {

using bruce::Result;
using bruce::Status;

namespace {

// brucefs's own trees: a CLI write to them would go behind its caches.
bool FsTreeName(const std::string& name) {
  return name == "attrs" || name == "fsmeta" || name == "links" || name == "orphans" ||
         name == "orphan_attrs";
}

// Checks --append's order before any change: every record after the one
// before it, the first after the tree's last (pairs in a dup tree).
Status CheckAppendOrder(bruce::Tree* t, const std::string& records) {
  std::string last_key, last_value;
  bool have = false;
  {
    auto c = t->NewCursor();
    c->Last();
    if (c->Valid()) {
      last_key = c->key();
      last_value = c->value();
      have = true;
    }
  }
  size_t pos = 0, index = 0;
  std::string_view k, v;
  bool bad = false;
  while (ctl::NextRecord(records, &pos, &k, &v, &bad)) {
    const bool after = !have || k > last_key ||
                       (t->dupsort() && k == last_key && v > last_value);
    if (!after) {
      return Status::InvalidArgument("record " + std::to_string(index + 1) +
                                     ": not after the tree's last key");
    }
    last_key = k;
    last_value = v;
    have = true;
    ++index;
  }
  return Status::OK();
}

}  // namespace

Result<bruce::Tree*> BruceFs::CtlTree(const ctl::Message& req, bool create) {
  const std::string& name = req.Has("tree") ? req.Get("tree") : "main";
  if (name == "main") {
    if (req.Has("dup")) return Status::InvalidArgument("main has no duplicate keys");
    return wtxn_->Main();
  }
  if (FsTreeName(name)) {
    return Status::Busy("tree " + name + " belongs to the brucefs mount; change it with the "
                        "store unmounted");
  }
  bruce::TreeOptions o;
  o.dupsort = req.Has("dup");
  if (req.Has("bloom")) {
    const std::string& b = req.Get("bloom");
    if (b.empty() || b.size() > 2 || b.find_first_not_of("0123456789") != std::string::npos) {
      return Status::InvalidArgument("bloom must be 0 to 32 bits a key");
    }
    o.bloom_bits_per_key = static_cast<uint32_t>(std::stoul(b));
  }
  if (o.dupsort) return wtxn_->CreateTree(name, o);
  // An existing tree as it is; a missing one made with the options given
  // (as the CLI does).
  auto t = wtxn_->OpenTree(name);
  if (create && t.status().IsNotFound()) return wtxn_->CreateTree(name, o);
  return t;
}

void BruceFs::KeyChanged(const std::string& key, Invalidations* inval) {
  {
    // The listings above the key changed: their directories' mtimes move
    // (kept in memory; the kernel checks a kept listing against it).
    const int64_t now = NowNs();
    std::lock_guard<std::mutex> l(ctl_mtimes_mu_);
    if (ctl_mtimes_.size() > 65536) ctl_mtimes_.clear();  // (times then go back: also a change)
    for (size_t slash = key.rfind('/'); slash != std::string::npos && slash > 0;
         slash = key.rfind('/', slash - 1)) {
      ctl_mtimes_[key.substr(0, slash)] = now;
    }
    ctl_mtimes_[""] = now;
  }
  uint64_t dir_ino = InodeTable::kRootIno;
  inval->inodes.insert(dir_ino);
  size_t start = 0;
  for (;;) {
    const size_t slash = key.find('/', start);
    const std::string comp = key.substr(start, slash == std::string::npos ? slash : slash - start);
    inval->entries.insert({dir_ino, EncodeComponent(comp)});
    const std::string path = key.substr(0, slash);
    const uint64_t ino = inodes_.Find(InodeTable::kLiveView, path);
    if (ino == 0) break;
    inval->inodes.insert(ino);
    if (slash == std::string::npos) break;
    dir_ino = ino;
    start = slash + 1;
  }
  // A name that is gone now: its inode is unlinked, as by rm.
  Node n;
  if (LiveTree()->Stat(key, &n).ok() && n.kind == Kind::kNone) {
    inodes_.Remove(InodeTable::kLiveView, key);
  }
}

Status BruceFs::CtlWrite(const ctl::Message& req, ctl::Message* reply, Invalidations* inval) {
  if (opt_.read_only) return Status::ReadOnly("the store is mounted read-only");
  GroupLock l(this);
  if (!wtxn_) return Status::ReadOnly("the mount refuses changes (a failed sync)");
  const std::string& op = req.Get("op");
  if (op != "put" && op != "del" && op != "write" && op != "truncate" && op != "load") {
    return Status::InvalidArgument("unknown request: " + op);
  }
  // A request is all or nothing, and the engine has no savepoints: the
  // group is sealed first when it holds changes, so that a request that
  // fails half way can be undone by dropping the group.
  if (dirty_) BRUCE_RETURN_IF_ERROR(Seal("control request"));
  if (!wtxn_) return Status::ReadOnly("the mount refuses changes (a failed sync)");
  std::vector<std::string> keys;
  uint64_t bytes = 256;
  // Reads of the live tree go through the group until the next commit:
  // the request may change any path (and the directories above it).
  if (live_views_) live_views_->TouchAll();
  Status s = CtlApply(req, reply, &keys, &bytes);
  if (!s.ok()) {
    // Nothing of it stays: the group held only this request.
    orphans_.reset();
    live_.reset();
    wtxn_->Abort();
    wtxn_.reset();
    Status o = OpenGroup();
    (void)o;  // logged; the mount goes read-only
    return s;
  }
  const bool main = !req.Has("tree") || req.Get("tree") == "main";
  if (main) {
    for (const std::string& k : keys) KeyChanged(k, inval);
    // Listings and link counts of directories may have changed anywhere
    // above the keys.
    dirty_all_dirs_ = true;
    listing_gen_++;
    std::lock_guard<std::mutex> sl(subdirs_mu_);
    subdirs_.clear();
  }
  Dirty(bytes);
  return Status::OK();
}

Status BruceFs::CtlApply(const ctl::Message& req, ctl::Message* reply,
                         std::vector<std::string>* keys, uint64_t* bytes) {
  const std::string& op = req.Get("op");
  const std::string& key = req.Get("key");
  if (op != "load" && key.size() > bruce::kMaxKeySize) {
    return Status::InvalidArgument("key longer than " + std::to_string(bruce::kMaxKeySize) +
                                   " bytes");
  }
  auto tree = CtlTree(req, op == "put" || op == "load" || op == "write");
  if (!tree.ok()) {
    reply->Set("failed", "tree");
    return tree.status();
  }
  bruce::Tree* t = *tree;
  if (op == "put") {
    const std::string& v = req.Get("value");
    // One Put, then WriteAt for what is past kMaxValueSize (as the CLI).
    const size_t first = std::min(v.size(), bruce::kMaxValueSize);
    BRUCE_RETURN_IF_ERROR(t->Put(key, std::string_view(v).substr(0, first)));
    if (first < v.size()) {
      BRUCE_RETURN_IF_ERROR(t->WriteAt(key, first, std::string_view(v).substr(first)));
    }
    *bytes += v.size();
  } else if (op == "del") {
    BRUCE_RETURN_IF_ERROR(req.Has("value") ? t->Delete(key, req.Get("value")) : t->Delete(key));
  } else if (op == "write") {
    const std::string& data = req.Get("data");
    BRUCE_RETURN_IF_ERROR(t->WriteAt(key, req.GetU64("offset"), data));
    *bytes += data.size();
  } else if (op == "truncate") {
    BRUCE_RETURN_IF_ERROR(t->Truncate(key, req.GetU64("size")));
  } else {  // load
    const std::string& records = req.Get("records");
    const bool append = req.Has("append");
    if (append) BRUCE_RETURN_IF_ERROR(CheckAppendOrder(t, records));
    size_t pos = 0;
    std::string_view k, v;
    bool bad = false;
    uint64_t n = 0;
    while (ctl::NextRecord(records, &pos, &k, &v, &bad)) {
      BRUCE_RETURN_IF_ERROR(t->Put(k, v, append ? bruce::kAppend : 0u));
      keys->emplace_back(k);
      ++n;
    }
    if (bad) return Status::InvalidArgument("malformed records");
    reply->SetU64("records", n);
    *bytes += records.size();
    return Status::OK();
  }
  keys->push_back(key);
  return Status::OK();
}

Status BruceFs::CtlCompact(ctl::Message* reply) {
  if (opt_.read_only) return Status::ReadOnly("the store is mounted read-only");
  GroupLock l(this);
  if (!wtxn_) return Status::ReadOnly("the mount refuses changes (a failed sync)");
  // The engine's Compact commits on its own: close the group (committing
  // what it holds), compact, open the next. Operations wait meanwhile.
  BRUCE_ASSIGN_OR_RETURN(bruce::DbStats before, db_->Stat());
  dirty_ = true;  // seal even an empty group: Compact needs the writer
  const bool was_stopped = stopped_;
  stopped_ = true;
  Status s = Seal("compact");
  stopped_ = was_stopped;
  if (!s.ok()) {
    if (!wtxn_) (void)OpenGroup();  // (a Seal that failed early kept it open)
    return s;
  }
  // Pooled read views would keep the commit before the seal pinned.
  ResetViews();
  auto after = db_->Compact();
  BRUCE_RETURN_IF_ERROR(OpenGroup());
  if (!after.ok()) return after.status();
  last_commit_ns_ = NowNs();
  reply->SetU64("before", before.file_bytes);
  reply->SetU64("after", *after);
  return Status::OK();
}

namespace {

// A "Name:   N kB" field of /proc/self/status, in bytes (0 if absent).
uint64_t ProcStatusBytes(const char* name) {
  FILE* f = std::fopen("/proc/self/status", "r");
  if (f == nullptr) return 0;
  char line[256];
  uint64_t v = 0;
  const size_t n = std::strlen(name);
  while (std::fgets(line, sizeof line, f) != nullptr) {
    if (std::strncmp(line, name, n) == 0 && line[n] == ':') {
      v = std::strtoull(line + n + 1, nullptr, 10) * 1024;
      break;
    }
  }
  std::fclose(f);
  return v;
}

}  // namespace

Status BruceFs::CtlStatus(ctl::Message* reply) {
  BRUCE_ASSIGN_OR_RETURN(bruce::DbStats st, db_->Stat());
  // Memory: the process, the node cache, and what holds views and names.
  reply->SetU64("rss", ProcStatusBytes("VmRSS"));
  reply->SetU64("peak_rss", ProcStatusBytes("VmHWM"));
  reply->SetU64("cache_bytes", st.cache_bytes);
  reply->SetU64("cache_budget", st.cache_budget);
  ViewPool::Counts views = live_views_ ? live_views_->counts() : ViewPool::Counts{};
  {
    std::lock_guard<std::mutex> vl(views_mu_);
    for (auto& [id, v] : views_) {
      ViewPool::Counts c = v.pool->counts();
      views.out += c.out;
      views.idle += c.idle;
    }
    reply->SetU64("snapshot_views", views_.size());
  }
  reply->SetU64("views_out", views.out);
  reply->SetU64("views_idle", views.idle);
  {
    std::lock_guard<std::mutex> dl(dir_mu_);
    reply->SetU64("dir_handles", dirs_.size());
  }
  reply->SetU64("inodes", inodes_.size());
  reply->SetU64("open_files", OpenCount());
  BRUCE_ASSIGN_OR_RETURN(std::vector<bruce::ReaderInfo> readers, db_->Readers());
  std::lock_guard<std::mutex> l(mu_);
  reply->SetU64("pid", static_cast<uint64_t>(::getpid()));
  reply->SetU64("txn", st.txn_id);
  reply->SetU64("durable_txn", st.durable_txn);
  reply->SetU64("dirty_bytes", dirty_ ? dirty_bytes_ : 0);
  reply->SetU64("last_commit_ns", static_cast<uint64_t>(last_commit_ns_));
  reply->SetU64("txg_timeout_s", opt_.txg_timeout_s);
  reply->SetU64("readers", readers.size());
  reply->SetU64("snapshots", st.snapshots);
  reply->SetU64("commits", commits_.load());
  reply->Set("read_only", opt_.read_only || !wtxn_ ? "1" : "0");
  return Status::OK();
}

void BruceFs::Control(const ctl::Message& req, ctl::Message* reply, Invalidations* inval) {
  const std::string& op = req.Get("op");
  Status s;
  if (op == "status") {
    s = CtlStatus(reply);
  } else if (op == "sync") {
    s = opt_.read_only ? Status::OK() : Commit("sync");
    if (s.ok()) reply->SetU64("durable_txn", durable_txn());
  } else if (op == "compact") {
    s = CtlCompact(reply);
  } else if (op == "snapshot-create") {
    s = TakeSnapshot(req.Get("name"));
    if (s.ok()) inval->entries.insert({InodeTable::kSnapDirIno, EncodeComponent(req.Get("name"))});
    if (s.ok()) inval->inodes.insert(InodeTable::kSnapDirIno);
  } else if (op == "snapshot-destroy") {
    s = DropSnapshot(req.Get("name"));
    if (s.ok()) inval->entries.insert({InodeTable::kSnapDirIno, EncodeComponent(req.Get("name"))});
    if (s.ok()) inval->inodes.insert(InodeTable::kSnapDirIno);
  } else if (op == "snapshot-rollback") {
    // The kernel holds open files, cached pages and names of the live tree
    // that a rollback would pull out from under it.
    s = Status::Busy("cannot roll back a mounted store: unmount it first (or copy what you "
                     "need back from .snapshots/" + req.Get("name") + "/)");
  } else {
    s = CtlWrite(req, reply, inval);
  }
  reply->SetStatus(s);
}

}  // namespace brucefs
