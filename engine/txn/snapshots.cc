// txn/snapshots.cc — snapshots and dead lists (the ZFS scheme).
//
// A snapshot keeps the catalog of one commit. Every block pointer carries
// its birth transaction, so when a transaction stops using a committed page
// it can tell whether any snapshot still holds it: if the page was born
// after the newest snapshot, none does and it is freed; otherwise it goes on
// the dead list, a system tree keyed by (birth, page) whose value says how
// many pages and which transaction freed them. Taking a snapshot writes one
// record: O(1). Destroying snapshot S (with P the snapshot before it and N
// the one after, or the live store) frees exactly the dead-listed pages born
// after P and freed no later than N: those only S held. It visits only the
// entries born in (P, S].
//
// System trees (catalog names start with a NUL byte, hidden from users):
//   "\0dead"      (birth u64 BE, page u64 BE) -> varint pages, varint freed_txn
//   "\0snaps"     snapshot name -> kTree pointer value: aux = its txn,
//                 ptr = that commit's catalog root
//   "\0snapinfo"  snapshot name -> u64 time_ns, u64 pages in use then
#include <limits>

#include "format/coding.h"
#include "txn/txn_impl.h"

namespace bruce {

using format::BlockPtr;
using format::PtrValue;
using format::ValueType;

namespace {

std::string DeadKey(uint64_t birth, uint64_t page) {
  std::string k(16, '\0');
  for (int i = 0; i < 8; i++) {
    k[i] = static_cast<char>(birth >> (56 - 8 * i));
    k[8 + i] = static_cast<char>(page >> (56 - 8 * i));
  }
  return k;
}

uint64_t BigEndian(std::string_view s) {
  uint64_t v = 0;
  for (char c : s) v = (v << 8) | static_cast<unsigned char>(c);
  return v;
}

struct DeadEntry {
  uint64_t birth, page, pages, freed;
};

bool ParseDead(std::string_view key, std::string_view value, DeadEntry* e) {
  if (key.size() != 16) return false;
  e->birth = BigEndian(key.substr(0, 8));
  e->page = BigEndian(key.substr(8, 8));
  format::Reader r(value);
  return r.Varint(&e->pages) && r.Varint(&e->freed) && r.remaining() == 0;
}


// The newest snapshot commit before txn and the oldest after it, among
// snapshots other than `self`; `twin` says whether another snapshot keeps
// the very same commit.
void Neighbours(const SnapMap& snaps, std::string_view self, uint64_t txn, uint64_t* prev,
                uint64_t* next, bool* twin) {
  *prev = 0;
  *next = std::numeric_limits<uint64_t>::max();
  *twin = false;
  for (const auto& [name, r] : snaps) {
    if (name == self) continue;
    if (r.txn < txn) *prev = std::max(*prev, r.txn);
    if (r.txn > txn) *next = std::min(*next, r.txn);
    if (r.txn == txn) *twin = true;
  }
}

}  // namespace

Status CheckSnapshotName(std::string_view name) {
  bool ok = !name.empty() && name.size() <= 255 && name[0] != '.';
  for (char c : name) {
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '.' || c == '_' || c == ':' || c == '+' || c == '@' || c == '-');
  }
  if (!ok) {
    return Status::InvalidArgument("snapshot names are 1 to 255 of [A-Za-z0-9._:+@-], not "
                                   "starting with '.'");
  }
  return Status::OK();
}

Result<TreeRoot*> WriteTxnImpl::SystemTree(const std::string& name) {
  auto it = system_.find(name);
  if (it != system_.end()) return &it->second;
  TreeRoot root;
  std::string raw;
  ValueType vt;
  Status st = btree::Get(this, catalog_, name, &raw, &vt);
  if (st.ok()) {
    PtrValue v;
    if (vt != ValueType::kTree || !format::DecodePtrValue(raw, &v)) {
      return Status::Corruption("system tree entry is malformed");
    }
    root.ptr = v.ptr;
  } else if (!st.IsNotFound()) {
    return st;
  }
  system_written_[name] = root.ptr;
  return &system_.emplace(name, std::move(root)).first->second;
}

Status WriteTxnImpl::CreateSnapshot(std::string_view name) {
  BRUCE_RETURN_IF_ERROR(finished_status());
  BRUCE_RETURN_IF_ERROR(CheckSnapshotName(name));
  if (snaps_.count(name)) return Status::Exists("snapshot '" + std::string(name) + "' exists");
  if (base_.catalog.null()) return Status::InvalidArgument("nothing committed to snapshot yet");
  SnapRecord r;
  r.txn = base_.txn;
  r.catalog = base_.catalog;
  r.time_ns = base_.time_ns;
  r.referenced_pages = base_.total_pages - base_.free_pages - base_.dead_pages;
  snaps_.emplace(std::string(name), r);
  created_.emplace_back(std::string(name), r);
  Changed();
  return Status::OK();
}

Status WriteTxnImpl::DestroySnapshot(std::string_view name) {
  BRUCE_RETURN_IF_ERROR(finished_status());
  auto it = snaps_.find(name);
  if (it == snaps_.end()) return Status::NotFound("no snapshot '" + std::string(name) + "'");
  destroyed_.emplace_back(it->first, it->second);
  snaps_.erase(it);
  Changed();
  return Status::OK();
}

// Frees the dead-listed pages only `rec` held (snaps_ no longer has it).
Status WriteTxnImpl::ReleaseSnapshot(const std::string& name, const SnapRecord& rec) {
  uint64_t prev, next;
  bool twin;
  Neighbours(snaps_, name, rec.txn, &prev, &next, &twin);
  if (twin) return Status::OK();  // another snapshot keeps the same commit
  BRUCE_ASSIGN_OR_RETURN(TreeRoot * dead, SystemTree(kDeadTree));
  std::vector<DeadEntry> gone;
  {
    TreeCursor c(this, dead, nullptr);
    for (c.Seek(DeadKey(prev + 1, 0)); c.Valid(); c.Next()) {
      DeadEntry e;
      if (!ParseDead(c.key(), c.value(), &e)) return Status::Corruption("malformed dead-list entry");
      if (e.birth > rec.txn) break;
      if (e.freed <= next) gone.push_back(e);
    }
    BRUCE_RETURN_IF_ERROR(c.status());
  }
  for (const DeadEntry& e : gone) {
    BRUCE_RETURN_IF_ERROR(btree::Delete(this, dead, DeadKey(e.birth, e.page)));
    db_->space().Free(e.page, e.pages);
    dead_pages_ -= e.pages;
  }
  return Status::OK();
}

Status WriteTxnImpl::CommitSystem() {
  bool touched = !created_.empty() || !destroyed_.empty();
  for (const auto& [name, root] : system_) {
    const BlockPtr& written = system_written_[name];
    touched = touched || root.dirty != nullptr || root.ptr.page != written.page;
  }
  if (!created_.empty() || !destroyed_.empty()) {
    BRUCE_ASSIGN_OR_RETURN(TreeRoot * snaps, SystemTree(kSnapsTree));
    BRUCE_ASSIGN_OR_RETURN(TreeRoot * info, SystemTree(kSnapInfoTree));
    bool added;
    for (const auto& [name, r] : destroyed_) {
      // A snapshot created in this transaction has no record and holds
      // nothing yet.
      bool made_here = false;
      for (const auto& c : created_) made_here = made_here || c.first == name;
      if (made_here) continue;
      BRUCE_RETURN_IF_ERROR(btree::Delete(this, snaps, name));
      Status st = btree::Delete(this, info, name);
      if (!st.ok() && !st.IsNotFound()) return st;
      BRUCE_RETURN_IF_ERROR(ReleaseSnapshot(name, r));
    }
    for (const auto& [name, r] : created_) {
      if (!snaps_.count(name)) continue;  // created and destroyed in this transaction
      BRUCE_RETURN_IF_ERROR(btree::Put(this, snaps, name, format::EncodePtrValue({r.txn, r.catalog}),
                                       ValueType::kTree, &added));
      std::string v;
      format::PutU64(&v, r.time_ns);
      format::PutU64(&v, r.referenced_pages);
      BRUCE_RETURN_IF_ERROR(btree::Put(this, info, name, v, ValueType::kInline, &added));
    }
  }
  uint64_t newest = 0;
  for (const auto& [name, r] : snaps_) newest = std::max(newest, r.txn);
  // Sort the frees; writing the dead list and the catalog frees more pages,
  // so go round until nothing is left.
  while (!frees_.empty() || touched) {
    touched = false;
    std::vector<Freed> frees;
    frees.swap(frees_);
    for (const Freed& f : frees) {
      if (snaps_.empty() || f.birth > newest) {
        db_->space().Free(f.page, f.pages);
        continue;
      }
      BRUCE_ASSIGN_OR_RETURN(TreeRoot * dead, SystemTree(kDeadTree));
      std::string v;
      format::PutVarint(&v, f.pages);
      format::PutVarint(&v, id_);
      bool added;
      BRUCE_RETURN_IF_ERROR(
          btree::Put(this, dead, DeadKey(f.birth, f.page), v, ValueType::kInline, &added));
      dead_pages_ += f.pages;
    }
    if (!frees_.empty()) continue;
    for (auto& [name, root] : system_) {
      // A tree changes without dirty nodes too: a delete can leave a
      // committed child as the new root. Compare with what the catalog holds.
      BlockPtr& written = system_written_[name];
      if (!root.dirty && root.ptr.page == written.page && root.ptr.hash == written.hash) continue;
      BRUCE_RETURN_IF_ERROR(btree::Flush(this, &root));
      written = root.ptr;
      bool added;
      if (root.ptr.null()) {
        Status st = btree::Delete(this, &catalog_, name);
        if (!st.ok() && !st.IsNotFound()) return st;
      } else {
        BRUCE_RETURN_IF_ERROR(btree::Put(this, &catalog_, name, format::EncodePtrValue({0, root.ptr}),
                                         ValueType::kTree, &added));
      }
    }
  }
  return Status::OK();
}

// Frees the pages of a subtree born after txn (the rest is shared with the
// snapshot of txn: a node is never older than what it points to).
Status WriteTxnImpl::FreeNewer(const BlockPtr& ptr, ValueType vt, uint64_t aux, uint64_t txn) {
  if (ptr.null() || ptr.birth <= txn) return Status::OK();
  bool is_data = vt == ValueType::kData || (vt == ValueType::kExtents && (aux & format::kDirect));
  if (!is_data) {
    BRUCE_ASSIGN_OR_RETURN(NodeRef n, Load(ptr));
    for (size_t i = 0; i < n->size(); i++) {
      if (!n->leaf()) {
        BRUCE_RETURN_IF_ERROR(FreeNewer(n->child(i), ValueType::kInline, 0, txn));
      } else if (n->vtype(i) != ValueType::kInline) {
        PtrValue v;
        if (!format::DecodePtrValue(n->value(i), &v)) return Status::Corruption("bad pointer value");
        BRUCE_RETURN_IF_ERROR(FreeNewer(v.ptr, n->vtype(i), v.aux, txn));
      }
    }
  } else if (!data_freed_.insert(ptr.page).second) {
    return Status::OK();  // a block clones share: every reference goes, it is freed once
  }
  FreeRun(ptr);
  return Status::OK();
}

Status WriteTxnImpl::Revive(TreeRoot* dead, const BlockPtr& ptr, ValueType vt, uint64_t aux,
                            uint64_t txn) {
  if (ptr.null()) return Status::OK();
  std::string raw;
  Status st = btree::Get(this, *dead, DeadKey(ptr.birth, ptr.page), &raw, nullptr);
  if (st.IsNotFound()) return Status::OK();  // still in use: so is all below
  BRUCE_RETURN_IF_ERROR(st);
  DeadEntry e;
  if (!ParseDead(DeadKey(ptr.birth, ptr.page), raw, &e)) {
    return Status::Corruption("malformed dead-list entry");
  }
  if (e.freed <= txn) return Status::OK();
  BRUCE_RETURN_IF_ERROR(btree::Delete(this, dead, DeadKey(ptr.birth, ptr.page)));
  dead_pages_ -= e.pages;
  bool is_data = vt == ValueType::kData || (vt == ValueType::kExtents && (aux & format::kDirect));
  if (is_data) return Status::OK();
  BRUCE_ASSIGN_OR_RETURN(NodeRef n, Load(ptr));
  for (size_t i = 0; i < n->size(); i++) {
    if (!n->leaf()) {
      BRUCE_RETURN_IF_ERROR(Revive(dead, n->child(i), ValueType::kInline, 0, txn));
    } else if (n->vtype(i) != ValueType::kInline) {
      PtrValue v;
      if (!format::DecodePtrValue(n->value(i), &v)) return Status::Corruption("bad pointer value");
      BRUCE_RETURN_IF_ERROR(Revive(dead, v.ptr, n->vtype(i), v.aux, txn));
    }
  }
  return Status::OK();
}

Status WriteTxnImpl::RollbackTo(std::string_view name) {
  BRUCE_RETURN_IF_ERROR(finished_status());
  auto it = snaps_.find(name);
  if (it == snaps_.end()) return Status::NotFound("no snapshot '" + std::string(name) + "'");
  const SnapRecord rec = it->second;
  for (const auto& [other, r] : snaps_) {
    if (r.txn > rec.txn) {
      return Status::InvalidArgument("snapshot '" + other + "' is newer than '" +
                                     std::string(name) + "': destroy it first");
    }
  }
  if (!trees_.empty() || catalog_.dirty) {
    return Status::InvalidArgument("rollback needs a transaction that has changed nothing");
  }
  // The user trees of the snapshot and of the live store, by name.
  auto user_trees = [&](const BlockPtr& catalog, std::map<std::string, std::string>* out) {
    TreeRoot root;
    root.ptr = catalog;
    TreeCursor c(this, &root, nullptr);
    for (c.First(); c.Valid(); c.Next()) {
      if (c.key()[0] != '\0') out->emplace(std::string(c.key()), std::string(c.value()));
    }
    return c.status();
  };
  std::map<std::string, std::string> live, then;
  BRUCE_RETURN_IF_ERROR(user_trees(catalog_.ptr, &live));
  BRUCE_RETURN_IF_ERROR(user_trees(rec.catalog, &then));
  data_freed_.clear();
  for (const auto& [tree, raw] : live) {
    PtrValue v;
    if (!format::DecodePtrValue(raw, &v)) return Status::Corruption("bad catalog entry");
    BRUCE_RETURN_IF_ERROR(FreeNewer(v.ptr, ValueType::kTree, 0, rec.txn));
    if (!then.count(tree)) BRUCE_RETURN_IF_ERROR(btree::Delete(this, &catalog_, tree));
  }
  bool added;
  for (const auto& [tree, raw] : then) {
    BRUCE_RETURN_IF_ERROR(btree::Put(this, &catalog_, tree, raw, ValueType::kTree, &added));
  }
  // Pages of the snapshot's trees that were freed since are live again:
  // off the dead list with them. A node that is not on it was still in use,
  // and so is everything below it.
  BRUCE_ASSIGN_OR_RETURN(TreeRoot * dead, SystemTree(kDeadTree));
  for (const auto& [tree, raw] : then) {
    PtrValue v;
    if (!format::DecodePtrValue(raw, &v)) return Status::Corruption("bad catalog entry");
    BRUCE_RETURN_IF_ERROR(Revive(dead, v.ptr, ValueType::kTree, 0, rec.txn));
  }
  data_freed_.clear();
  BRUCE_RETURN_IF_ERROR(RebuildClones());
  Changed();
  return Status::OK();
}

// ---- Db ----

Status DbImpl::LoadSnapshots(const BlockPtr& catalog, SnapMap* out) {
  out->clear();
  if (catalog.null()) return Status::OK();
  TreeRoot cat;
  cat.ptr = catalog;
  auto system = [&](const std::string& name, TreeRoot* root) -> Status {
    std::string raw;
    ValueType vt;
    Status st = btree::Get(this, cat, name, &raw, &vt);
    if (st.IsNotFound()) return Status::OK();
    BRUCE_RETURN_IF_ERROR(st);
    PtrValue v;
    if (vt != ValueType::kTree || !format::DecodePtrValue(raw, &v)) {
      return Status::Corruption("system tree entry is malformed");
    }
    root->ptr = v.ptr;
    return Status::OK();
  };
  TreeRoot snaps, info;
  BRUCE_RETURN_IF_ERROR(system(kSnapsTree, &snaps));
  BRUCE_RETURN_IF_ERROR(system(kSnapInfoTree, &info));
  TreeCursor c(this, &snaps, nullptr);
  for (c.First(); c.Valid(); c.Next()) {
    PtrValue v;
    if (!format::DecodePtrValue(c.value(), &v)) return Status::Corruption("bad snapshot record");
    SnapRecord r;
    r.txn = v.aux;
    r.catalog = v.ptr;
    std::string raw;
    if (btree::Get(this, info, c.key(), &raw, nullptr).ok() && raw.size() == 16) {
      r.time_ns = format::LoadU64(raw.data());
      r.referenced_pages = format::LoadU64(raw.data() + 8);
    }
    out->emplace(std::string(c.key()), r);
  }
  return c.status();
}

Result<std::unique_ptr<ReadTxn>> DbImpl::BeginRead(std::string_view snapshot) {
  BRUCE_RETURN_IF_ERROR(Refresh());  // (a read-only store: its new snapshots)
  std::lock_guard lock(state_mu_);
  auto it = snaps_.find(snapshot);
  if (it == snaps_.end()) return Status::NotFound("no snapshot '" + std::string(snapshot) + "'");
  Version v;
  v.txn = it->second.txn;
  v.catalog = it->second.catalog;
  v.time_ns = it->second.time_ns;
  // The snapshot keeps its pages; what could free them (its destruction)
  // comes after the current commit, so pinning that is enough.
  readers_[current_.txn]++;
  return std::unique_ptr<ReadTxn>(new ReadTxnImpl(this, v, std::string(snapshot), current_.txn));
}

Status DbImpl::CreateSnapshot(std::string_view name) {
  BRUCE_ASSIGN_OR_RETURN(std::unique_ptr<WriteTxn> w, BeginWrite(WriteMode::kExclusive));
  BRUCE_RETURN_IF_ERROR(w->CreateSnapshot(name));
  return w->Commit();
}

Status DbImpl::DestroySnapshot(std::string_view name) {
  BRUCE_ASSIGN_OR_RETURN(std::unique_ptr<WriteTxn> w, BeginWrite(WriteMode::kExclusive));
  BRUCE_RETURN_IF_ERROR(w->DestroySnapshot(name));
  return w->Commit();
}

Status DbImpl::Rollback(std::string_view snapshot) {
  BRUCE_ASSIGN_OR_RETURN(std::unique_ptr<WriteTxn> w, BeginWrite(WriteMode::kExclusive));
  BRUCE_RETURN_IF_ERROR(static_cast<WriteTxnImpl*>(w.get())->RollbackTo(snapshot));
  return w->Commit();
}

Result<std::vector<SnapshotInfo>> DbImpl::ListSnapshots() {
  Version v = PinCurrent();
  SnapMap snaps;
  {
    std::lock_guard lock(state_mu_);
    snaps = snaps_;
  }
  std::vector<SnapshotInfo> out;
  Status st;
  {
    // The dead list of the current commit tells what each snapshot alone holds.
    TreeRoot cat, dead;
    cat.ptr = v.catalog;
    std::string raw;
    ValueType vt;
    Status got = btree::Get(this, cat, kDeadTree, &raw, &vt);
    PtrValue dv;
    if (got.ok() && format::DecodePtrValue(raw, &dv)) dead.ptr = dv.ptr;
    if (!got.ok() && !got.IsNotFound()) st = got;
    for (const auto& [name, r] : snaps) {
      SnapshotInfo i;
      i.name = name;
      i.txn = r.txn;
      i.time_ns = r.time_ns;
      i.referenced_bytes = r.referenced_pages * page_size_;
      uint64_t prev, next;
      bool twin;
      Neighbours(snaps, name, r.txn, &prev, &next, &twin);
      if (!twin && st.ok()) {
        TreeCursor c(this, &dead, nullptr);
        for (c.Seek(DeadKey(prev + 1, 0)); c.Valid(); c.Next()) {
          DeadEntry e;
          if (!ParseDead(c.key(), c.value(), &e) || e.birth > r.txn) break;
          if (e.freed <= next) i.unique_bytes += e.pages * page_size_;
        }
        if (!c.status().ok()) st = c.status();
      }
      out.push_back(std::move(i));
    }
  }
  Unpin(v.txn);
  if (!st.ok()) return st;
  std::sort(out.begin(), out.end(),
            [](const SnapshotInfo& a, const SnapshotInfo& b) { return a.txn < b.txn; });
  return out;
}

}  // namespace bruce

// ---- Compaction (kept here with the other whole-store operations) ----

namespace bruce {

Status WriteTxnImpl::Relocate(uint64_t limit) {
  BRUCE_RETURN_IF_ERROR(finished_status());
  btree::RelocateLimits lim{limit, 0};
  for (const auto& [name, r] : snaps_) lim.held = std::max(lim.held, r.txn);
  BRUCE_ASSIGN_OR_RETURN(std::vector<std::string> names, Names());
  for (const std::string& name : names) {
    BRUCE_ASSIGN_OR_RETURN(Tree * t, Open(name));
    BRUCE_RETURN_IF_ERROR(static_cast<TreeImpl*>(t)->Relocate(lim));
  }
  for (const std::string* name : {&kDeadTree, &kSnapsTree, &kSnapInfoTree, &kClonesTree}) {
    BRUCE_ASSIGN_OR_RETURN(TreeRoot * root, SystemTree(*name));
    BRUCE_RETURN_IF_ERROR(btree::Relocate(this, root, lim, false, nullptr));
  }
  BRUCE_RETURN_IF_ERROR(btree::Relocate(this, &catalog_, lim, false, nullptr));
  db_->space().ForceCondense();
  force_ = true;
  Changed();
  return Status::OK();
}

Result<uint64_t> DbImpl::Compact(const std::function<void(uint64_t, uint64_t)>& progress) {
  // Each pass copies what lies above the size the store would have if it
  // were packed; the copies land in the lowest free pages, and the old ones
  // come free once the pass commits. Stop when the file stops shrinking.
  uint64_t last = UINT64_MAX;
  for (int pass = 0; pass < 8; pass++) {
    BRUCE_ASSIGN_OR_RETURN(std::unique_ptr<WriteTxn> w, BeginWrite(WriteMode::kExclusive));
    uint64_t total = space_.total_pages();
    uint64_t limit = std::max<uint64_t>(format::kMetaPages, total - space_.free_pages());
    BRUCE_RETURN_IF_ERROR(static_cast<WriteTxnImpl*>(w.get())->Relocate(limit));
    BRUCE_RETURN_IF_ERROR(w->Commit());
    uint64_t now;
    {
      std::lock_guard lock(state_mu_);
      now = current_.total_pages;
    }
    if (progress) progress(static_cast<uint64_t>(pass) + 1, 8);
    if (now >= last && pass >= 2) break;
    last = now;
  }
  return store_->Size();
}

}  // namespace bruce
