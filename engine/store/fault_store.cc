#include "store/fault_store.h"

#include <cerrno>
#include <cstring>

namespace bruce {

Status FaultStore::Mutating() {
  if (dead_) return Status::IOError("fault store: power is off", EIO);
  if (die_after_ == 0) {
    dead_ = true;
    return Status::IOError("fault store: power lost", EIO);
  }
  if (die_after_ > 0) die_after_--;
  ops_++;
  return Status::OK();
}

void FaultStore::Apply(std::string* image, const Op& op, size_t prefix) {
  if (op.truncate) {
    image->resize(op.offset);
    return;
  }
  size_t n = std::min(prefix, op.data.size());
  if (image->size() < op.offset + n) image->resize(op.offset + n);
  std::memcpy(image->data() + op.offset, op.data.data(), n);
}

Status FaultStore::Read(uint64_t offset, size_t n, char* out) {
  std::lock_guard lock(mu_);
  if (offset > current_.size() || current_.size() - offset < n) {
    return Status::Corruption("read past end of store at byte " + std::to_string(offset));
  }
  std::memcpy(out, current_.data() + offset, n);
  return Status::OK();
}

Status FaultStore::Write(uint64_t offset, std::string_view data) {
  std::lock_guard lock(mu_);
  bool was_dead = dead_;
  Status st = Mutating();
  if (!st.ok()) {
    // The write the machine died in may still have reached the disk, whole or
    // in part; PowerCut decides.
    if (!was_dead) pending_.push_back(Op{false, offset, std::string(data)});
    return st;
  }
  if (fail_err_ != 0) return Status::IOError("fault store: injected write error", fail_err_);
  Op op{false, offset, std::string(data)};
  Apply(&current_, op, op.data.size());
  pending_.push_back(std::move(op));
  return Status::OK();
}

Status FaultStore::Sync() {
  std::lock_guard lock(mu_);
  BRUCE_RETURN_IF_ERROR(Mutating());
  if (fail_syncs_) return Status::IOError("fault store: injected sync error", EIO);
  for (const Op& op : pending_) Apply(&durable_, op, op.data.size());
  pending_.clear();
  return Status::OK();
}

Result<uint64_t> FaultStore::Size() {
  std::lock_guard lock(mu_);
  return static_cast<uint64_t>(current_.size());
}

Status FaultStore::Truncate(uint64_t size) {
  std::lock_guard lock(mu_);
  BRUCE_RETURN_IF_ERROR(Mutating());
  Op op{true, size, {}};
  Apply(&current_, op, 0);
  pending_.push_back(std::move(op));
  return Status::OK();
}

void FaultStore::DieAfter(int64_t ops) {
  std::lock_guard lock(mu_);
  die_after_ = ops;
}

void FaultStore::FailWritesWith(int err) {
  std::lock_guard lock(mu_);
  fail_err_ = err;
}

bool FaultStore::dead() const {
  std::lock_guard lock(mu_);
  return dead_;
}

uint64_t FaultStore::mutating_ops() const {
  std::lock_guard lock(mu_);
  return ops_;
}

void FaultStore::PowerCut(std::mt19937_64& rng) {
  std::lock_guard lock(mu_);
  // Writes may reach the platter in any order, so each one independently
  // survives or not; one surviving write is torn at a random byte.
  std::vector<size_t> landed;
  for (size_t i = 0; i < pending_.size(); i++) {
    if (rng() % 2 == 0) landed.push_back(i);
  }
  size_t torn = landed.empty() ? SIZE_MAX : landed[rng() % landed.size()];
  for (size_t i : landed) {
    const Op& op = pending_[i];
    size_t prefix = op.data.size();
    if (i == torn && !op.truncate && prefix > 0) prefix = rng() % prefix;
    Apply(&durable_, op, prefix);
  }
  FinishCut();
}

void FaultStore::FinishCut() {
  pending_.clear();
  current_ = durable_;
  dead_ = false;
  die_after_ = -1;
  fail_err_ = 0;
  fail_syncs_ = false;
}

void FaultStore::FailSyncs(bool fail) {
  std::lock_guard lock(mu_);
  fail_syncs_ = fail;
}

std::vector<FaultStore::Pending> FaultStore::pending() const {
  std::lock_guard lock(mu_);
  std::vector<Pending> out;
  for (const Op& op : pending_) out.push_back(Pending{op.truncate, op.offset, op.data.size()});
  return out;
}

void FaultStore::PowerCutKeeping(const std::vector<size_t>& landed) {
  std::lock_guard lock(mu_);
  for (size_t i = 0; i < pending_.size() && i < landed.size(); i++) {
    if (landed[i] > 0) Apply(&durable_, pending_[i], landed[i]);
  }
  FinishCut();
}

void FaultStore::PowerCutWithHole(size_t op, uint64_t from, uint64_t len) {
  std::vector<size_t> all;
  std::string before;
  {
    std::lock_guard lock(mu_);
    all.assign(pending_.size(), SIZE_MAX);
    const Op& o = pending_.at(op);
    before = durable_.substr(std::min<size_t>(durable_.size(), o.offset + from), len);
    from += o.offset;
  }
  PowerCutKeeping(all);
  std::lock_guard lock(mu_);
  // What the disk held there before (past its old end: zeros).
  before.resize(std::min<uint64_t>(len, durable_.size() - std::min<uint64_t>(from, durable_.size())), '\0');
  std::memcpy(durable_.data() + from, before.data(), before.size());
  current_ = durable_;
}

std::string& FaultStore::mutable_image() {
  std::lock_guard lock(mu_);
  return current_;
}

}  // namespace bruce
