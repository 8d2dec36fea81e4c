// fs/read_views.h — read views that take no lock of the transaction group.
//
// A read of a snapshot, or of a live path the open transaction group has
// not changed, needs nothing of the group: the snapshot's commit, or the
// last commit sealed (which holds the newest state of every path the group
// has not touched), answers it. Such reads go through a read transaction
// of their own, so that they run beside the writers and beside each other,
// disk reads included, and never wait for the group's mutex.
//
// A transaction is used by one thread at a time, so a ViewPool keeps a
// pool of them over one commit: a reader borrows one (a new one is opened
// when all are out) and gives it back when its operation ends. The live
// tree's pool also keeps the paths the open group touched; Reset, when a
// group is sealed and the next one opens, moves the pool to the new commit
// and forgets them. Views over an older commit are dropped as they come
// back.
//
// Thread safety: every method may be called from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "bruce/db.h"
#include "fs_tree.h"

namespace brucefs {

class ViewPool : public std::enable_shared_from_this<ViewPool> {
 public:
  using Opener = std::function<bruce::Result<std::unique_ptr<bruce::ReadTxn>>()>;

  // Idle views kept beyond max_idle are closed (the live tree's pool keeps
  // one for each of the FUSE loop's threads; a snapshot's, fewer).
  static constexpr size_t kMaxIdle = 16;

  ViewPool(Opener open, Defaults defaults, size_t max_idle = kMaxIdle);
  ~ViewPool();

  // One borrowed view; given back when destroyed.
  class Lease {
   public:
    Lease() = default;
    Lease(Lease&& o) noexcept { *this = std::move(o); }
    Lease& operator=(Lease&& o) noexcept;
    ~Lease() { Return(); }
    FsTree* tree() const { return tree_; }
    uint64_t gen() const { return gen_; }
    explicit operator bool() const { return tree_ != nullptr; }

   private:
    friend class ViewPool;
    void Return();
    std::shared_ptr<ViewPool> pool_;
    std::unique_ptr<bruce::ReadTxn> txn_;
    std::unique_ptr<FsTree> owned_;
    FsTree* tree_ = nullptr;
    uint64_t gen_ = 0;
  };

  // Borrows a view of the current commit. Fails as opening one fails, or
  // with kNotFound after Close.
  bruce::Status Borrow(Lease* out);
  // The same for reading `path` of the live tree: false (and nothing
  // borrowed) when the open group touched it, or a failure.
  bool BorrowFor(std::string_view path, Lease* out);

  // Views borrowed from now on are opened anew (they read the newest
  // commit); the paths touched are forgotten (a new group opened on it).
  void Reset();
  // No more views: idle ones are closed, borrowed ones when they return.
  void Close();

  // Views borrowed now, and idle.
  struct Counts {
    size_t out = 0;
    size_t idle = 0;
  };
  Counts counts();

  // The open group changed `path` / everything under `path` too /
  // anything at all.
  void Touch(std::string_view path);
  void TouchTree(std::string_view path);
  void TouchAll();
  // Whether a view of generation `gen` still shows `path` as the open
  // group does: nothing touched it and no new commit came since.
  bool Fresh(std::string_view path, uint64_t gen);

 private:
  bool TouchedLocked(std::string_view path) const;  // requires mu_
  bruce::Status BorrowLocked(std::unique_lock<std::mutex>* l, Lease* out);
  void GiveBack(std::unique_ptr<bruce::ReadTxn> txn, std::unique_ptr<FsTree> tree,
                uint64_t gen);

  struct Idle {
    std::unique_ptr<bruce::ReadTxn> txn;
    std::unique_ptr<FsTree> tree;
  };

  std::mutex mu_;
  const Opener open_;
  const Defaults defaults_;
  const size_t max_idle_;
  size_t out_ = 0;              // guarded by mu_
  uint64_t gen_ = 1;            // guarded by mu_
  bool closed_ = false;         // guarded by mu_
  std::vector<Idle> idle_;      // guarded by mu_
  // Touched by the open group: paths, whole subtrees, or everything.
  std::unordered_set<std::string> touched_;  // guarded by mu_
  std::set<std::string> trees_;              // guarded by mu_
  bool all_ = false;                         // guarded by mu_
};

}  // namespace brucefs
