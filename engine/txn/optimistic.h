// txn/optimistic.h — optimistic write transactions (WriteMode::kOptimistic).
//
// An OptimisticTxn runs every call on a detached WriteTxnImpl of the commit
// it began from (its own copy-on-write state: no writer role, no pages) and
// records the call with a digest of what it returned (ops.h). Commit takes
// the writer role. If nothing was committed since the start and no large
// value's data was written, the detached state becomes the writer and
// commits as it is. Otherwise a fresh write transaction on the newest commit
// runs the record again, call by call, comparing each digest: the first
// difference is a conflict (kConflict, nothing written); if none differs,
// the transaction observed exactly what it would have observed running
// alone at its commit, so the history stays serializable.
//
// Thread safety: one thread at a time, as every transaction.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "txn/ops.h"
#include "txn/txn_impl.h"

namespace bruce {

class OptTree;
class OptCursor;

class OptimisticTxn final : public WriteTxn {
 public:
  // base: pinned by the caller (DbImpl::PinCurrent); unpinned at the end.
  OptimisticTxn(DbImpl* db, const Version& base);
  ~OptimisticTxn() override;

  uint64_t id() const override { return base_.txn + 1; }
  Tree* Main() override;
  Result<Tree*> OpenTree(std::string_view name) override;
  Result<std::vector<std::string>> ListTrees() override;
  Result<Tree*> CreateTree(std::string_view name) override {
    return CreateTree(name, TreeOptions{});
  }
  Result<Tree*> CreateTree(std::string_view name, const TreeOptions& options) override;
  Status DropTree(std::string_view name) override;
  Status CreateSnapshot(std::string_view name) override;
  Status DestroySnapshot(std::string_view name) override;
  Status Commit() override;
  Result<uint64_t> CommitNoWait() override;
  void Abort() override;

  // For the wrappers: runs op on the detached state, records it, and
  // returns what it returned.
  OpOut Record(Op op);
  Status Usable() const;
  // The handle a tree of the detached state has here (made on first sight).
  OptTree* Wrap(Tree* inner);
  uint32_t NewCursorId() { return next_cursor_++; }
  // Bumped by every recorded change; cursors notice their position may
  // have moved.
  uint64_t changes() const { return changes_; }
  // A Reserve in flight: recorded as a Put of what the caller wrote into
  // the buffer, before the next call.
  void SetPending(uint32_t tree, std::string key, char* buf, size_t size);
  OpTargets& targets() { return targets_; }

  // What Commit found, for tests and the bench.
  bool rebased() const { return rebased_; }

 private:
  void Settle();
  // Runs the record on w (the newest state); compare: digests must match.
  // newest: the commit w began from (for the message).
  Status Replay(WriteTxnImpl* w, bool compare, uint64_t newest);
  void Finish();

  DbImpl* db_;
  Version base_;
  std::unique_ptr<WriteTxnImpl> inner_;
  std::unique_ptr<WriteTxnImpl> real_;  // keeps the trees alive after commit
  OpTargets targets_;                  // the detached state's trees and cursors
  std::vector<Op> log_;
  std::map<Tree*, std::unique_ptr<OptTree>> wrapped_;
  struct Pending {
    uint32_t tree;
    std::string key;
    char* buf;
    size_t size;
  };
  std::optional<Pending> pending_;
  Tree* main_ = nullptr;
  uint32_t next_cursor_ = 0;
  uint64_t changes_ = 0;
  bool whole_store_ = false;  // a snapshot call: any commit since is a conflict
  bool finished_ = false;
  bool pinned_ = true;
  bool rebased_ = false;
};

}  // namespace bruce
