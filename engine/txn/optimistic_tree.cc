// txn/optimistic_tree.cc — the trees and cursors of an optimistic
// transaction: every call becomes an Op, run and recorded by the
// transaction.
#include "txn/optimistic_tree.h"

namespace bruce {

// ---- OptTree ----

Result<uint64_t> OptTree::U64(Op op) {
  OpOut o = txn_->Record(std::move(op));
  if (!o.st.ok()) return o.st;
  return o.u;
}

OptTree* OptTree::Mine(Tree* t) const {
  auto* o = dynamic_cast<OptTree*>(t);
  return o != nullptr && o->txn_ == txn_ ? o : nullptr;
}

Status OptTree::Get(std::string_view key, std::string* value) {
  OpOut o = txn_->Record(Make(OpKind::kGet, key));
  if (o.st.ok()) *value = std::move(o.str);
  return o.st;
}

Status OptTree::GetPinned(std::string_view key, PinnedValue* value) {
  OpOut o = txn_->Record(Make(OpKind::kGetPinned, key));
  if (o.st.ok()) *value = std::move(o.pinned);
  return o.st;
}

Status OptTree::ReadPinned(std::string_view key, uint64_t offset, size_t n, PinnedValue* out) {
  Op op = Make(OpKind::kReadPinned, key);
  op.a = offset;
  op.b = n;
  OpOut o = txn_->Record(std::move(op));
  if (o.st.ok()) *out = std::move(o.pinned);
  return o.st;
}

Status OptTree::Put(std::string_view key, std::string_view value, uint32_t flags,
                    std::string* existing) {
  Op op = Make(OpKind::kPut, key, value);
  op.flags = flags;
  OpOut o = txn_->Record(std::move(op));
  if (existing != nullptr && o.st.code() == Code::kExists) *existing = std::move(o.str);
  return o.st;
}

Result<char*> OptTree::Reserve(std::string_view key, size_t size) {
  BRUCE_RETURN_IF_ERROR(txn_->Usable());
  // The last reservation first (its buffer goes with the tree's next call,
  // this one), which may also take the writer role.
  txn_->Settle();
  BRUCE_RETURN_IF_ERROR(txn_->Usable());
  Op op = Make(OpKind::kReserve, key);
  op.a = size;
  OpOut o;
  RunOp(op, &txn_->targets(), &o);
  if (!o.st.ok()) {
    txn_->Record(std::move(op));  // the same failure, recorded
    return o.st;
  }
  txn_->SetPending(id_, key, o.buf, size);
  return o.buf;
}

Status OptTree::Delete(std::string_view key) {
  return txn_->Record(Make(OpKind::kDelete, key)).st;
}

Status OptTree::Delete(std::string_view key, std::string_view value) {
  return txn_->Record(Make(OpKind::kDeleteValue, key, value)).st;
}

Result<uint64_t> OptTree::CountDups(std::string_view key) {
  return U64(Make(OpKind::kCountDups, key));
}

Result<bool> OptTree::MayContain(std::string_view key) {
  OpOut o = txn_->Record(Make(OpKind::kMayContain, key));
  if (!o.st.ok()) return o.st;
  return o.b;
}

Result<uint64_t> OptTree::Count() { return U64(Make(OpKind::kCount)); }

Result<uint64_t> OptTree::Count(std::string_view lo, std::string_view hi) {
  return U64(Make(OpKind::kCountRange, lo, hi));
}

Result<uint64_t> OptTree::CountPrefix(std::string_view prefix) {
  return U64(Make(OpKind::kCountPrefix, prefix));
}

Result<uint64_t> OptTree::Rank(std::string_view key) { return U64(Make(OpKind::kRank, key)); }

Result<Entry> OptTree::Select(uint64_t i) {
  Op op = Make(OpKind::kSelect);
  op.a = i;
  OpOut o = txn_->Record(std::move(op));
  if (!o.st.ok()) return o.st;
  return std::move(o.entry);
}

Result<std::string> OptTree::KeyAt(uint64_t i) {
  Op op = Make(OpKind::kKeyAt);
  op.a = i;
  OpOut o = txn_->Record(std::move(op));
  if (!o.st.ok()) return o.st;
  return std::move(o.str);
}

Result<std::string> OptTree::RootHashHex() {
  OpOut o = txn_->Record(Make(OpKind::kRootHash));
  if (!o.st.ok()) return o.st;
  return std::move(o.str);
}

Result<uint32_t> OptTree::Depth() {
  OpOut o = txn_->Record(Make(OpKind::kDepth));
  if (!o.st.ok()) return o.st;
  return static_cast<uint32_t>(o.u);
}

Result<uint64_t> OptTree::ValueSize(std::string_view key) {
  return U64(Make(OpKind::kValueSize, key));
}

Status OptTree::ReadAt(std::string_view key, uint64_t offset, size_t n, std::string* out) {
  Op op = Make(OpKind::kReadAt, key);
  op.a = offset;
  op.b = n;
  OpOut o = txn_->Record(std::move(op));
  if (o.st.ok()) *out = std::move(o.str);
  return o.st;
}

Status OptTree::WriteAt(std::string_view key, uint64_t offset, std::string_view data) {
  Op op = Make(OpKind::kWriteAt, key, data);
  op.a = offset;
  return txn_->Record(std::move(op)).st;
}

Status OptTree::Truncate(std::string_view key, uint64_t size) {
  Op op = Make(OpKind::kTruncate, key);
  op.a = size;
  return txn_->Record(std::move(op)).st;
}

Status OptTree::Rename(std::string_view from, std::string_view to) {
  return txn_->Record(Make(OpKind::kRename, from, to)).st;
}

Status OptTree::MoveTo(std::string_view from, Tree* dest, std::string_view to) {
  OptTree* d = Mine(dest);
  if (d == nullptr) return Status::InvalidArgument("MoveTo: a tree of another transaction");
  Op op = Make(OpKind::kMoveTo, from, to);
  op.other = d->id_;
  return txn_->Record(std::move(op)).st;
}

Result<uint64_t> OptTree::AllocatedBytes(std::string_view key) {
  return U64(Make(OpKind::kAllocatedBytes, key));
}

Status OptTree::ZeroRange(std::string_view key, uint64_t offset, uint64_t length) {
  Op op = Make(OpKind::kZeroRange, key);
  op.a = offset;
  op.b = length;
  return txn_->Record(std::move(op)).st;
}

Result<uint64_t> OptTree::SeekData(std::string_view key, uint64_t offset, bool hole) {
  Op op = Make(OpKind::kSeekData, key);
  op.a = offset;
  op.flags = hole ? 1 : 0;
  return U64(std::move(op));
}

Result<uint64_t> OptTree::CloneRange(Tree* src, std::string_view src_key, uint64_t src_offset,
                                     std::string_view dst_key, uint64_t dst_offset,
                                     uint64_t length) {
  OptTree* s = Mine(src);
  if (s == nullptr) return Status::InvalidArgument("CloneRange: a tree of another transaction");
  Op op = Make(OpKind::kCloneRange, src_key, dst_key);
  op.other = s->id_;
  op.a = src_offset;
  op.b = dst_offset;
  op.c = length;
  return U64(std::move(op));
}

std::unique_ptr<Cursor> OptTree::NewCursor() {
  Op op = Make(OpKind::kNewCursor);
  op.other = txn_->NewCursorId();
  const uint32_t id = op.other;
  txn_->Record(std::move(op));
  return std::make_unique<OptCursor>(txn_, id);
}

// ---- OptCursor ----

Cursor* OptCursor::inner() const {
  if (Gone() || !txn_->Usable().ok()) return nullptr;
  auto& cs = txn_->targets().cursors;
  return id_ < cs.size() ? cs[id_].get() : nullptr;
}

void OptCursor::Look() const {
  if (Gone() || inner() == nullptr || seen_changes_ == txn_->changes()) return;
  Op op;
  op.kind = OpKind::kCurLook;
  op.tree = id_;
  txn_->Record(std::move(op));
  seen_changes_ = txn_->changes();
}

bool OptCursor::Move(OpKind kind, std::string_view k1, std::string_view k2) {
  if (Gone()) return false;
  Op op;
  op.kind = kind;
  op.tree = id_;
  op.k1 = k1;
  op.k2 = k2;
  OpOut o = txn_->Record(std::move(op));
  moves_++;
  seen_changes_ = txn_->changes();
  return o.b;
}

bool OptCursor::Valid() const {
  Look();
  Cursor* c = inner();
  return c != nullptr && c->Valid();
}

std::string_view OptCursor::key() const {
  Look();
  Cursor* c = inner();
  return c != nullptr ? c->key() : std::string_view();
}

std::string_view OptCursor::value() const {
  if (Gone()) return {};
  Look();
  Cursor* c = inner();
  if (c == nullptr) return {};
  if (value_seen_ == moves_ && value_changes_ == txn_->changes()) return c->value();
  Op op;
  op.kind = OpKind::kCurValue;
  op.tree = id_;
  OpOut o = txn_->Record(std::move(op));
  value_seen_ = moves_;
  value_changes_ = txn_->changes();
  return o.view;
}

Status OptCursor::status() const {
  if (Gone()) return GoneStatus();
  Status u = txn_->Usable();
  if (!u.ok()) return u;
  Look();
  Cursor* c = inner();
  return c != nullptr ? c->status() : Status::InvalidArgument("no such cursor");
}

Status OptCursor::Put(std::string_view value) {
  if (Gone()) return GoneStatus();
  Op op;
  op.kind = OpKind::kCurPut;
  op.tree = id_;
  op.k1 = value;
  Status st = txn_->Record(std::move(op)).st;
  moves_++;
  seen_changes_ = txn_->changes();
  return st;
}

Status OptCursor::Delete() {
  if (Gone()) return GoneStatus();
  Op op;
  op.kind = OpKind::kCurDelete;
  op.tree = id_;
  Status st = txn_->Record(std::move(op)).st;
  moves_++;
  seen_changes_ = txn_->changes();
  return st;
}

Result<uint64_t> OptCursor::CountDups() {
  if (Gone()) return GoneStatus();
  Op op;
  op.kind = OpKind::kCurCountDups;
  op.tree = id_;
  OpOut o = txn_->Record(std::move(op));
  if (!o.st.ok()) return o.st;
  return o.u;
}

}  // namespace bruce
