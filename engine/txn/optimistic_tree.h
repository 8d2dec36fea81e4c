// txn/optimistic_tree.h — the Tree and Cursor an optimistic transaction
// hands out: each call is recorded (OptimisticTxn::Record) and run on the
// transaction's detached state.
#pragma once

#include "txn/optimistic.h"

namespace bruce {

class OptTree final : public Tree {
 public:
  OptTree(OptimisticTxn* txn, const Tree& inner, uint32_t id)
      : txn_(txn), name_(inner.name()), options_(inner.options()), id_(id) {}
  uint32_t id() const { return id_; }
  OptimisticTxn* txn() const { return txn_; }

  const std::string& name() const override { return name_; }
  bool dupsort() const override { return options_.dupsort; }
  TreeOptions options() const override { return options_; }
  Status Get(std::string_view key, std::string* value) override;
  Status GetPinned(std::string_view key, PinnedValue* value) override;
  Status Put(std::string_view key, std::string_view value) override {
    return Put(key, value, kPutDefault, nullptr);
  }
  Status Put(std::string_view key, std::string_view value, uint32_t flags,
             std::string* existing) override;
  Result<char*> Reserve(std::string_view key, size_t size) override;
  Status Delete(std::string_view key) override;
  Status Delete(std::string_view key, std::string_view value) override;
  Result<uint64_t> CountDups(std::string_view key) override;
  Result<bool> MayContain(std::string_view key) override;
  Result<uint64_t> Count() override;
  Result<uint64_t> Count(std::string_view lo, std::string_view hi) override;
  Result<uint64_t> CountPrefix(std::string_view prefix) override;
  Result<uint64_t> Rank(std::string_view key) override;
  Result<Entry> Select(uint64_t i) override;
  Result<std::string> KeyAt(uint64_t i) override;
  std::unique_ptr<Cursor> NewCursor() override;
  Result<std::string> RootHashHex() override;
  Result<uint32_t> Depth() override;
  Result<uint64_t> ValueSize(std::string_view key) override;
  Status ReadAt(std::string_view key, uint64_t offset, size_t n, std::string* out) override;
  Status ReadPinned(std::string_view key, uint64_t offset, size_t n, PinnedValue* out) override;
  Status WriteAt(std::string_view key, uint64_t offset, std::string_view data) override;
  Status Truncate(std::string_view key, uint64_t size) override;
  Status Rename(std::string_view from, std::string_view to) override;
  Status MoveTo(std::string_view from, Tree* dest, std::string_view to) override;
  Result<uint64_t> AllocatedBytes(std::string_view key) override;
  Status ZeroRange(std::string_view key, uint64_t offset, uint64_t length) override;
  Result<uint64_t> SeekData(std::string_view key, uint64_t offset, bool hole) override;
  Result<uint64_t> CloneRange(Tree* src, std::string_view src_key, uint64_t src_offset,
                              std::string_view dst_key, uint64_t dst_offset,
                              uint64_t length) override;

 private:
  Op Make(OpKind kind, std::string_view k1 = {}, std::string_view k2 = {}) const {
    Op op;
    op.kind = kind;
    op.tree = id_;
    op.k1 = k1;
    op.k2 = k2;
    return op;
  }
  Result<uint64_t> U64(Op op);
  // Another tree of this transaction, or null.
  OptTree* Mine(Tree* t) const;

  OptimisticTxn* txn_;
  std::string name_;
  TreeOptions options_;
  uint32_t id_;
};

class OptCursor final : public Cursor {
 public:
  OptCursor(OptimisticTxn* txn, uint32_t id) : txn_(txn), alive_(txn->alive()), id_(id) {}
  ~OptCursor() override {
    if (!alive_.expired()) txn_->DropCursor(id_);
  }
  void First() override { Move(OpKind::kCurFirst); }
  void Last() override { Move(OpKind::kCurLast); }
  void Seek(std::string_view key) override { Move(OpKind::kCurSeek, key); }
  void Next() override { Move(OpKind::kCurNext); }
  void Prev() override { Move(OpKind::kCurPrev); }
  bool Valid() const override;
  std::string_view key() const override;
  std::string_view value() const override;
  Status status() const override;
  bool SeekExact(std::string_view key) override { return Move(OpKind::kCurSeekExact, key); }
  bool SeekPrefix(std::string_view prefix) override {
    return Move(OpKind::kCurSeekPrefix, prefix);
  }
  Status Put(std::string_view value) override;
  Status Delete() override;
  bool SeekBoth(std::string_view key, std::string_view value) override {
    return Move(OpKind::kCurSeekBoth, key, value);
  }
  bool NextDup() override { return Move(OpKind::kCurNextDup); }
  bool PrevDup() override { return Move(OpKind::kCurPrevDup); }
  void NextNoDup() override { Move(OpKind::kCurNextNoDup); }
  void PrevNoDup() override { Move(OpKind::kCurPrevNoDup); }
  Result<uint64_t> CountDups() override;

 private:
  bool Move(OpKind kind, std::string_view k1 = {}, std::string_view k2 = {});
  // Whether the transaction is gone (destroyed): nothing to ask it then.
  bool Gone() const { return alive_.expired(); }
  static Status GoneStatus() { return Status::InvalidArgument("transaction already finished"); }
  // The cursor of the detached state; null once the transaction finished.
  Cursor* inner() const;
  // Records where the cursor is when changes since it last moved may have
  // moved it (a write transaction's cursor re-finds its key).
  void Look() const;

  OptimisticTxn* txn_;
  std::weak_ptr<bool> alive_;
  uint32_t id_;
  mutable uint64_t seen_changes_ = 0;
  mutable uint64_t moves_ = 0;
  mutable uint64_t value_seen_ = ~uint64_t{0};  // moves_ when value() was last recorded
  mutable uint64_t value_changes_ = 0;
};

}  // namespace bruce
