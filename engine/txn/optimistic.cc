// txn/optimistic.cc — optimistic write transactions: recording, commit,
// and the rebase that runs the record again on the newest state.
#include "txn/optimistic.h"

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
  if (finished_) return Status::InvalidArgument("transaction already finished");
  return Status::OK();
}

OpOut OptimisticTxn::Record(Op op) {
  OpOut out;
  out.st = Usable();
  if (!out.st.ok()) return out;
  Settle();
  RunOp(op, &targets_, &out);
  if (MakesTree(op.kind) && out.tree != nullptr) {
    OptTree* t = Wrap(out.tree);
    op.tree = t->id();
    out.tree = t;
  }
  if (IsChange(op.kind)) changes_++;
  if (op.kind == OpKind::kCreateSnapshot || op.kind == OpKind::kDestroySnapshot) {
    whole_store_ = true;
  }
  op.digest = out.digest;
  log_.push_back(std::move(op));
  return out;
}

OptTree* OptimisticTxn::Wrap(Tree* inner) {
  auto it = wrapped_.find(inner);
  if (it != wrapped_.end()) return it->second.get();
  const auto id = static_cast<uint32_t>(targets_.trees.size());
  targets_.SetTree(id, inner);
  auto t = std::make_unique<OptTree>(this, inner, id);
  OptTree* raw = t.get();
  wrapped_.emplace(inner, std::move(t));
  return raw;
}

void OptimisticTxn::SetPending(uint32_t tree, std::string key, char* buf, size_t size) {
  Settle();
  pending_ = Pending{tree, std::move(key), buf, size};
}

void OptimisticTxn::Settle() {
  if (!pending_) return;
  Pending p = std::move(*pending_);
  pending_.reset();
  // The detached tree applies the reservation itself on its next call; the
  // record holds it as the Put it amounts to.
  Op op;
  op.kind = OpKind::kPut;
  op.tree = p.tree;
  op.k1 = std::move(p.key);
  op.k2.assign(p.buf, p.size);
  Record(std::move(op));
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
  op.k1 = std::string(name);
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
  op.k1 = std::string(name);
  op.flags = options.dupsort ? 1 : 0;
  op.a = static_cast<uint64_t>(options.compression_level + 1);
  OpOut o = Record(std::move(op));
  if (!o.st.ok()) return o.st;
  return o.tree;
}

Status OptimisticTxn::DropTree(std::string_view name) {
  Op op;
  op.kind = OpKind::kDropTree;
  op.k1 = std::string(name);
  return Record(std::move(op)).st;
}

Status OptimisticTxn::CreateSnapshot(std::string_view name) {
  Op op;
  op.kind = OpKind::kCreateSnapshot;
  op.k1 = std::string(name);
  return Record(std::move(op)).st;
}

Status OptimisticTxn::DestroySnapshot(std::string_view name) {
  Op op;
  op.kind = OpKind::kDestroySnapshot;
  op.k1 = std::string(name);
  return Record(std::move(op)).st;
}

Status OptimisticTxn::Commit() {
  BRUCE_ASSIGN_OR_RETURN(uint64_t txn, CommitNoWait());
  return db_->WaitDurable(txn);
}

Result<uint64_t> OptimisticTxn::CommitNoWait() {
  BRUCE_RETURN_IF_ERROR(Usable());
  Settle();
  Result<Version> cur = db_->AcquireWriter();
  if (!cur.ok()) {
    Abort();
    return cur.status();
  }
  const bool moved = cur->txn != base_.txn;
  if (moved && whole_store_) {
    db_->EndWrite();
    Abort();
    return Status::Conflict("a snapshot was made or destroyed in a transaction that began at "
                            "commit " + std::to_string(base_.txn) + ", and commit " +
                            std::to_string(cur->txn) + " came since");
  }
  targets_.cursors.clear();
  if (!moved && !inner_->wrote_private()) {
    // Nothing came between: the detached state is what a writer would hold.
    inner_->Attach();
    real_ = std::move(inner_);
  } else {
    real_ = std::make_unique<WriteTxnImpl>(db_, cur.value());
    rebased_ = moved;
    Status st = Replay(real_.get(), moved, cur->txn);
    if (!st.ok()) {
      real_->Abort();  // gives the writer role back
      Abort();
      return st;
    }
  }
  Result<uint64_t> r = real_->CommitNoWait();
  Finish();
  return r;
}

Status OptimisticTxn::Replay(WriteTxnImpl* w, bool compare, uint64_t newest) {
  OpTargets rt;
  rt.txn = w;
  Status result;
  for (const Op& op : log_) {
    OpOut out;
    RunOp(op, &rt, &out);
    if (MakesTree(op.kind) && out.tree != nullptr) rt.SetTree(op.tree, out.tree);
    if (out.digest == op.digest) continue;
    if (StoreFailure(out.st)) {
      result = out.st;
      break;
    }
    // Unchanged state gives unchanged results; a difference there is as
    // much a reason to write nothing as a conflict.
    const Tree* t = op.kind >= OpKind::kCurFirst || op.kind <= OpKind::kDestroySnapshot
                        ? nullptr : rt.tree(op.tree);
    std::string what = Describe(op.kind);
    if (t != nullptr) what += " in tree '" + t->name() + "'";
    result = Status::Conflict(what + " changed: the transaction began at commit " +
                              std::to_string(base_.txn) + (compare ? ", rebased onto " : ", at ") +
                              std::to_string(newest));
    break;
  }
  rt.cursors.clear();
  return result;
}

void OptimisticTxn::Abort() {
  if (finished_) return;
  if (inner_) inner_->Abort();
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
