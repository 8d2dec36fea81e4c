// fs/read_views.cc — pools of read views, and what the open group touched.
#include "read_views.h"

#include <utility>

namespace brucefs {

using bruce::Status;

namespace {
// Past this many touched paths a group counts as having touched all.
constexpr size_t kMaxTouched = 1 << 16;
}  // namespace

ViewPool::ViewPool(Opener open, Defaults defaults, size_t max_idle)
    : open_(std::move(open)), defaults_(defaults), max_idle_(max_idle) {}

ViewPool::Counts ViewPool::counts() {
  std::lock_guard<std::mutex> l(mu_);
  return Counts{out_, idle_.size()};
}

ViewPool::~ViewPool() = default;

ViewPool::Lease& ViewPool::Lease::operator=(Lease&& o) noexcept {
  if (this != &o) {
    Return();
    pool_ = std::move(o.pool_);
    txn_ = std::move(o.txn_);
    owned_ = std::move(o.owned_);
    tree_ = std::exchange(o.tree_, nullptr);
    gen_ = o.gen_;
  }
  return *this;
}

void ViewPool::Lease::Return() {
  if (pool_) pool_->GiveBack(std::move(txn_), std::move(owned_), gen_);
  pool_.reset();
  txn_.reset();
  owned_.reset();
  tree_ = nullptr;
}

Status ViewPool::Borrow(Lease* out) {
  *out = Lease();  // (what it held goes back first, without mu_)
  std::unique_lock<std::mutex> l(mu_);
  return BorrowLocked(&l, out);
}

bool ViewPool::BorrowFor(std::string_view path, Lease* out) {
  *out = Lease();
  std::unique_lock<std::mutex> l(mu_);
  if (TouchedLocked(path)) return false;
  return BorrowLocked(&l, out).ok();
}

Status ViewPool::BorrowLocked(std::unique_lock<std::mutex>* l, Lease* out) {
  if (closed_) return Status::NotFound("the view is closed");
  const uint64_t gen = gen_;
  std::unique_ptr<bruce::ReadTxn> txn;
  std::unique_ptr<FsTree> tree;
  if (!idle_.empty()) {
    txn = std::move(idle_.back().txn);
    tree = std::move(idle_.back().tree);
    idle_.pop_back();
  } else {
    // Opened without the lock: a commit sealed meanwhile makes it newer
    // than `gen`, never older, and it is dropped when it comes back.
    l->unlock();
    auto r = open_();
    if (!r.ok()) {
      l->lock();
      return r.status();
    }
    txn = std::move(*r);
    tree = std::make_unique<FsTree>(txn.get(), nullptr, defaults_);
    l->lock();
  }
  out_++;
  out->pool_ = shared_from_this();
  out->tree_ = tree.get();
  out->txn_ = std::move(txn);
  out->owned_ = std::move(tree);
  out->gen_ = gen;
  return Status::OK();
}

void ViewPool::GiveBack(std::unique_ptr<bruce::ReadTxn> txn, std::unique_ptr<FsTree> tree,
                        uint64_t gen) {
  {
    std::lock_guard<std::mutex> l(mu_);
    out_--;
    if (!closed_ && gen == gen_ && idle_.size() < max_idle_ && txn) {
      idle_.push_back(Idle{std::move(txn), std::move(tree)});
      return;
    }
  }
  tree.reset();  // closed outside the lock (the tree before its transaction)
  txn.reset();
}

void ViewPool::Reset() {
  std::vector<Idle> old;
  {
    std::lock_guard<std::mutex> l(mu_);
    gen_++;
    old.swap(idle_);
    touched_.clear();
    trees_.clear();
    all_ = false;
  }
  for (Idle& v : old) v.tree.reset();
}

void ViewPool::Close() {
  std::vector<Idle> old;
  {
    std::lock_guard<std::mutex> l(mu_);
    closed_ = true;
    old.swap(idle_);
  }
  for (Idle& v : old) v.tree.reset();
}

void ViewPool::Touch(std::string_view path) {
  std::lock_guard<std::mutex> l(mu_);
  if (all_) return;
  if (touched_.size() >= kMaxTouched) {
    all_ = true;
    return;
  }
  touched_.emplace(path);
}

void ViewPool::TouchTree(std::string_view path) {
  std::lock_guard<std::mutex> l(mu_);
  if (path.empty() || trees_.size() >= kMaxTouched) {
    all_ = true;
    return;
  }
  trees_.emplace(path);
}

void ViewPool::TouchAll() {
  std::lock_guard<std::mutex> l(mu_);
  all_ = true;
}

bool ViewPool::Fresh(std::string_view path, uint64_t gen) {
  std::lock_guard<std::mutex> l(mu_);
  return gen == gen_ && !TouchedLocked(path);
}

bool ViewPool::TouchedLocked(std::string_view path) const {
  if (all_) return true;
  if (!touched_.empty() && touched_.count(std::string(path)) != 0) return true;
  if (trees_.empty()) return false;
  // The path itself or a directory above it, as a whole subtree.
  for (size_t end = path.size();;) {
    if (trees_.count(std::string(path.substr(0, end))) != 0) return true;
    size_t slash = path.rfind('/', end == 0 ? 0 : end - 1);
    if (end == 0 || slash == std::string_view::npos) return false;
    end = slash;
  }
}

}  // namespace brucefs
