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
// alone at its commit, so the history stays serializable. A transaction
// whose record grows past Options::optimistic_record_bytes takes the writer role early (the
// same check and replay) and goes on as an exclusive transaction.
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

// Where a transaction's record keeps the bytes of its calls: chunks that
// never move, so the record's views stay valid. Chunks start at 4 KiB and
// double up to 1 MiB (a small transaction allocates little); they are not
// zeroed.
class Arena {
 public:
  std::string_view Copy(std::string_view s);
  size_t bytes() const { return bytes_; }
  void Clear();

 private:
  static constexpr size_t kFirstChunk = size_t{4} << 10;
  static constexpr size_t kMaxChunk = size_t{1} << 20;
  std::vector<std::unique_ptr<char[]>> chunks_;
  size_t size_ = 0;  // of the last small chunk
  size_t used_ = 0;  // bytes taken in it
  char* last_ = nullptr;
  size_t bytes_ = 0;
};

class OptimisticTxn final : public WriteTxn {
 public:
  // base: pinned by the caller (DbImpl::PinCurrent); unpinned at the end.
  OptimisticTxn(DbImpl* db, const Version& base);
  ~OptimisticTxn() override;

  // Before the writer role is taken: the id after the base commit, recorded
  // as an observation (another commit since makes it a conflict).
  uint64_t id() const override;
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

  // For the wrappers: runs op on the transaction's state, records it, and
  // returns what it returned.
  OpOut Record(Op op);
  Status Usable() const;
  uint32_t NewCursorId() { return next_cursor_++; }
  // A cursor handed out is destroyed: its state's cursor goes too (and in
  // a rebase). Cursors may outlive the transaction: they check `alive`.
  void DropCursor(uint32_t id);
  std::weak_ptr<bool> alive() const { return alive_; }
  // Bumped by every recorded change; cursors notice their position may
  // have moved.
  uint64_t changes() const { return changes_; }
  // A Reserve in flight: recorded as a Put of what the caller wrote into
  // the buffer, before the next call.
  void SetPending(uint32_t tree, std::string_view key, char* buf, size_t size);
  OpTargets& targets() { return targets_; }
  // Records the Put a pending Reserve amounts to.
  void Settle();

 private:
  OptTree* Wrap(Tree* inner);
  // Takes the writer role; on return the transaction works on real_ (the
  // detached state itself when nothing was committed since it began, else
  // a fresh one with the record replayed), or failed_ says why not.
  Status TakeRole();
  // The conflict of a transaction that made or destroyed a snapshot (which
  // observes the whole store) when commit `newest` came since it began.
  Status SnapshotConflict(uint64_t newest) const;
  // Commit of a transaction that changed nothing: its calls are run again
  // on the newest commit, pinned as a reader pins one, without the writer
  // role; the id of that commit, or kConflict. Nothing (the transaction
  // untouched) when there they do change something (a Truncate to the size
  // a value had, say): it then commits as a writer.
  std::optional<Result<uint64_t>> CommitReadOnly();
  // Runs the record on t (a writer on the newest state); compare: the
  // digests must match (else kConflict). newest: the commit t began from.
  Status Replay(OpTargets* t, bool compare, uint64_t newest);
  void Finish();

  DbImpl* db_;
  Version base_;
  std::unique_ptr<WriteTxnImpl> inner_;  // the detached state
  std::unique_ptr<WriteTxnImpl> real_;   // the writer, once the role is taken
  std::vector<Op> log_;
  Arena arena_;
  std::vector<std::unique_ptr<OptTree>> handles_;  // by id
  std::map<Tree*, uint32_t> handle_of_;
  OpTargets targets_;  // the trees and cursors calls run on (inner's, then real's)
  struct Pending {
    uint32_t tree;
    std::string_view key;
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
  Status failed_;  // taking the role early found a conflict
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace bruce
