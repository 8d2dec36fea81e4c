// txn/optimistic.cc — optimistic write transactions: recording, commit,
// and the rebase that runs the record again on the newest state.
#include "txn/optimistic.h"

#include <algorithm>
#include <cstring>

#include "txn/optimistic_tree.h"

namespace bruce {

namespace {

bool MakesTree(OpKind k) {
  return k == OpKind::kMain || k == OpKind::kOpenTree || k == OpKind::kCreateTree;
}

// Failures of the store itself (not of what the transaction observed).
bool StoreFailure(const Status& st) {
  return st.code() == Code::kIOError || st.code() == Code::kCorruption ||
         st.code() == Code::kNoSpace;
}

const char* Describe(OpKind k) {
  switch (k) {
    case OpKind::kOpenTree: case OpKind::kCreateTree: case OpKind::kDropTree:
    case OpKind::kListTrees:
      return "the trees it opened or listed";
    case OpKind::kCount: case OpKind::kCountRange: case OpKind::kCountPrefix:
    case OpKind::kRank: case OpKind::kSelect: case OpKind::kKeyAt:
      return "a range it counted";
    case OpKind::kCurFirst: case OpKind::kCurLast: case OpKind::kCurSeek:
    case OpKind::kCurNext: case OpKind::kCurPrev: case OpKind::kCurSeekExact:
    case OpKind::kCurSeekPrefix: case OpKind::kCurSeekBoth: case OpKind::kCurNextDup:
    case OpKind::kCurPrevDup: case OpKind::kCurNextNoDup: case OpKind::kCurPrevNoDup:
    case OpKind::kCurLook: case OpKind::kCurValue: case OpKind::kCurCountDups:
      return "a range it scanned";
    case OpKind::kRootHash: case OpKind::kDepth:
      return "a tree's hash or depth";
    default:
      return "a key it read or changed";
  }
}

}  // namespace

std::string_view Arena::Copy(std::string_view s) {
  if (s.empty()) return std::string_view("", 0);  // never null: callers memcpy it
  bytes_ += s.size();
  if (s.size() > kMaxChunk / 4) {  // a chunk of its own, before the current one
    std::unique_ptr<char[]> big(new char[s.size()]);
    std::memcpy(big.get(), s.data(), s.size());
    std::string_view v(big.get(), s.size());
    chunks_.insert(chunks_.empty() ? chunks_.end() : chunks_.end() - 1, std::move(big));
    return v;
  }
  if (used_ + s.size() > size_) {
    size_ = std::min(kMaxChunk, std::max({kFirstChunk, 2 * size_, s.size()}));
    chunks_.emplace_back(new char[size_]);
    last_ = chunks_.back().get();
    used_ = 0;
  }
  char* at = last_ + used_;
  std::memcpy(at, s.data(), s.size());
  used_ += s.size();
  return std::string_view(at, s.size());
}

void Arena::Clear() {
  chunks_.clear();
  last_ = nullptr;
  size_ = used_ = 0;
  bytes_ = 0;
}

OptimisticTxn::OptimisticTxn(DbImpl* db, const Version& base)
    : db_(db), base_(base), inner_(std::make_unique<WriteTxnImpl>(db, base, true)) {
  targets_.txn = inner_.get();
  Main();  // recorded first, so the main tree is handle 0 everywhere
}

OptimisticTxn::~OptimisticTxn() {
  Abort();
  targets_.cursors.clear();  // before the trees they walk
}

Status OptimisticTxn::Usable() const {
  if (!failed_.ok()) return failed_;
  if (finished_) return Status::InvalidArgument("transaction already finished");
  return Status::OK();
}

OpOut OptimisticTxn::Record(Op op) {
  OpOut out;
  out.st = Usable();
  if (!out.st.ok()) return out;
  Settle();
  out.st = Usable();  // settling may have taken the role, and failed
  if (!out.st.ok()) return out;
  const bool recording = real_ == nullptr;
  if (recording) {
    op.k1 = arena_.Copy(op.k1);
    op.k2 = arena_.Copy(op.k2);
  }
  RunOp(op, &targets_, &out);
  if (MakesTree(op.kind) && out.tree != nullptr) {
    OptTree* t = Wrap(out.tree);
    op.tree = t->id();
    out.tree = t;
  }
  if (IsChange(op.kind)) changes_++;
  if (!recording) return out;
  if (op.kind == OpKind::kCreateSnapshot || op.kind == OpKind::kDestroySnapshot) {
    whole_store_ = true;
  }
  op.digest = out.digest;
  // A "may contain" holds in any state (a filter may always say maybe):
  // only an "absent" must hold again at a rebase.
  if (op.kind == OpKind::kMayContain && out.st.ok() && out.b) op.c = 1;
  log_.push_back(op);
  if (IsChange(op.kind) &&
      arena_.bytes() + inner_->private_bytes() + log_.size() * sizeof(Op) >
                              db_->options().optimistic_record_bytes) {
    Status st = TakeRole();
    if (!st.ok()) out.st = st;  // the change did not happen after all
  }
  return out;
}

OptTree* OptimisticTxn::Wrap(Tree* tree) {
  auto it = handle_of_.find(tree);
  if (it != handle_of_.end()) return handles_[it->second].get();
  const auto id = static_cast<uint32_t>(handles_.size());
  targets_.SetTree(id, tree);
  handles_.push_back(std::make_unique<OptTree>(this, *tree, id));
  handle_of_.emplace(tree, id);
  return handles_.back().get();
}

void OptimisticTxn::SetPending(uint32_t tree, std::string_view key, char* buf, size_t size) {
  Settle();
  pending_ = Pending{tree, arena_.Copy(key), buf, size};
}

void OptimisticTxn::Settle() {
  if (!pending_) return;
  Pending p = *pending_;
  pending_.reset();
  // The tree applies the reservation itself on its next call; the record
  // holds it as the Put it amounts to.
  Op op;
  op.kind = OpKind::kPut;
  op.tree = p.tree;
  // Copied first: the tree's next call (this Put) takes the buffer away.
  const std::string data(p.buf, p.size);
  op.k1 = p.key;
  op.k2 = data;
  Record(op);
}

void OptimisticTxn::DropCursor(uint32_t id) {
  if (finished_ || !failed_.ok()) return;
  Op op;
  op.kind = OpKind::kCurDrop;
  op.tree = id;
  Record(op);
}

uint64_t OptimisticTxn::id() const {
  if (real_ != nullptr) return real_->id();
  Op op;
  op.kind = OpKind::kId;
  OpOut o = const_cast<OptimisticTxn*>(this)->Record(op);
  return o.st.ok() ? o.u : base_.txn + 1;
}

Tree* OptimisticTxn::Main() {
  if (main_ == nullptr) {
    Op op;
    op.kind = OpKind::kMain;
    main_ = Record(std::move(op)).tree;
  }
  return main_;
}

Result<Tree*> OptimisticTxn::OpenTree(std::string_view name) {
  Op op;
  op.kind = OpKind::kOpenTree;
  op.k1 = name;
  OpOut o = Record(std::move(op));
  if (!o.st.ok()) return o.st;
  return o.tree;
}

Result<std::vector<std::string>> OptimisticTxn::ListTrees() {
  Op op;
  op.kind = OpKind::kListTrees;
  OpOut o = Record(std::move(op));
  if (!o.st.ok()) return o.st;
  return std::move(o.names);
}

Result<Tree*> OptimisticTxn::CreateTree(std::string_view name, const TreeOptions& options) {
  Op op;
  op.kind = OpKind::kCreateTree;
  op.k1 = name;
  op.flags = options.dupsort ? 1 : 0;
  op.a = static_cast<uint64_t>(options.compression_level + 1);
  op.b = options.bloom_bits_per_key;
  OpOut o = Record(std::move(op));
  if (!o.st.ok()) return o.st;
  return o.tree;
}

Status OptimisticTxn::DropTree(std::string_view name) {
  Op op;
  op.kind = OpKind::kDropTree;
  op.k1 = name;
  return Record(std::move(op)).st;
}

Status OptimisticTxn::CreateSnapshot(std::string_view name) {
  Op op;
  op.kind = OpKind::kCreateSnapshot;
  op.k1 = name;
  return Record(std::move(op)).st;
}

Status OptimisticTxn::DestroySnapshot(std::string_view name) {
  Op op;
  op.kind = OpKind::kDestroySnapshot;
  op.k1 = name;
  return Record(std::move(op)).st;
}

Status OptimisticTxn::Commit() {
  BRUCE_ASSIGN_OR_RETURN(uint64_t txn, CommitNoWait());
  return db_->WaitDurable(txn);
}

Result<uint64_t> OptimisticTxn::CommitNoWait() {
  if (Status st = Usable(); !st.ok()) {
    Abort();
    return st;
  }
  Settle();
  if (Status st = Usable(); !st.ok()) {
    Abort();
    return st;
  }
  if (real_ == nullptr && !inner_->HasChanges() && !inner_->wrote_private()) {
    if (std::optional<Result<uint64_t>> r = CommitReadOnly()) return *std::move(r);
  }
  if (real_ == nullptr) {
    Status st = TakeRole();
    if (!st.ok()) {
      Abort();
      return st;
    }
  }
  targets_.cursors.clear();
  Result<uint64_t> r = real_->CommitNoWait();
  Finish();
  return r;
}

Status OptimisticTxn::SnapshotConflict(uint64_t newest) const {
  return Status::Conflict("a snapshot was made or destroyed in a transaction that began at commit " +
                          std::to_string(base_.txn) + ", and commit " + std::to_string(newest) +
                          " came since");
}

Status OptimisticTxn::TakeRole() {
  Result<Version> cur = db_->AcquireWriter();
  if (!cur.ok()) return failed_ = cur.status();
  const bool moved = cur->txn != base_.txn;
  if (moved && whole_store_) {
    db_->EndWrite();
    return failed_ = SnapshotConflict(cur->txn);
  }
  if (!moved && !inner_->wrote_private()) {
    // Nothing came between: the detached state is what a writer would hold.
    inner_->Attach();
    real_ = std::move(inner_);
  } else {
    auto w = std::make_unique<WriteTxnImpl>(db_, cur.value());
    OpTargets rt;
    rt.txn = w.get();
    Status st = Replay(&rt, moved, cur->txn);
    if (!st.ok()) {
      rt.cursors.clear();
      w->Abort();  // gives the writer role back
      return failed_ = st;
    }
    // Calls go on on the writer, through the same handles and cursors.
    targets_.cursors.clear();
    targets_ = std::move(rt);
    handle_of_.clear();
    for (uint32_t id = 0; id < targets_.trees.size(); id++) {
      if (targets_.trees[id] != nullptr) handle_of_.emplace(targets_.trees[id], id);
    }
    inner_.reset();
    real_ = std::move(w);
  }
  targets_.txn = real_.get();
  log_.clear();
  log_.shrink_to_fit();
  arena_.Clear();
  pending_.reset();
  return Status::OK();
}

std::optional<Result<uint64_t>> OptimisticTxn::CommitReadOnly() {
  // What it observed must still hold at some commit during this call: the
  // newest one. No commit can take that one's pages while it is pinned, and
  // commits after it do not matter (the transaction is ordered at it), so
  // no writer role is needed and none is waited for.
  const Version cur = db_->PinCurrent();
  // As a writer's commit fails once the store is poisoned (a commit could
  // not be made durable), so does this one: the newest commit it would be
  // ordered at may never reach the disk.
  Status st = db_->poisoned();
  bool changes = false;
  if (st.ok() && cur.txn != base_.txn) {
    if (whole_store_) {
      st = SnapshotConflict(cur.txn);
    } else {
      auto w = std::make_unique<WriteTxnImpl>(db_, cur, /*detached=*/true);
      OpTargets rt;
      rt.txn = w.get();
      st = Replay(&rt, /*compare=*/true, cur.txn);
      // A call that changed nothing where the transaction began may change
      // something here and return the same: that is a write to commit.
      changes = st.ok() && (w->HasChanges() || w->wrote_private());
      rt.cursors.clear();
      w->Abort();
    }
  }
  db_->Unpin(cur.txn);
  if (changes) return std::nullopt;
  if (!st.ok()) failed_ = st;
  Abort();
  if (!st.ok()) return st;
  return cur.txn;
}

Status OptimisticTxn::Replay(OpTargets* rt, bool compare, uint64_t newest) {
  for (const Op& op : log_) {
    OpOut out;
    RunOp(op, rt, &out);
    if (MakesTree(op.kind) && out.tree != nullptr) rt->SetTree(op.tree, out.tree);
    if (out.digest == op.digest) continue;
    if (op.kind == OpKind::kMayContain && op.c == 1 && out.st.ok()) continue;
    if (StoreFailure(out.st)) return out.st;
    // Unchanged state gives unchanged results; a difference there is as
    // much a reason to write nothing as a conflict.
    const Tree* t = op.kind >= OpKind::kCurFirst || op.kind <= OpKind::kDestroySnapshot
                        ? nullptr : rt->tree(op.tree);
    std::string what = Describe(op.kind);
    if (t != nullptr) what += " in tree '" + t->name() + "'";
    return Status::Conflict(what + " changed: the transaction began at commit " +
                            std::to_string(base_.txn) + (compare ? ", rebased onto " : ", at ") +
                            std::to_string(newest));
  }
  return Status::OK();
}

void OptimisticTxn::Abort() {
  if (finished_) return;
  targets_.cursors.clear();
  if (inner_) inner_->Abort();
  if (real_) real_->Abort();  // the role, taken early
  Finish();
}

void OptimisticTxn::Finish() {
  finished_ = true;
  pending_.reset();
  targets_.cursors.clear();
  if (pinned_) {
    pinned_ = false;
    db_->Unpin(base_.txn);
  }
}

}  // namespace bruce
