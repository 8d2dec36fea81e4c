// store/write_behind.cc — see write_behind.h.
#include "store/write_behind.h"

namespace bruce {

void WriteBatch::Add(uint64_t offset, std::string_view data, size_t len) {
  if (!runs.empty() && runs.back().offset + runs.back().len == offset) {
    runs.back().len += len;
  } else {
    runs.push_back(Run{offset, len});
  }
  bytes.append(data);
  bytes.resize(bytes.size() + len - data.size(), '\0');
}

Status WriteBatch::WriteTo(PageStore* store) const {
  size_t at = 0;
  for (const Run& r : runs) {
    BRUCE_RETURN_IF_ERROR(store->Write(r.offset, std::string_view(bytes.data() + at, r.len)));
    at += r.len;
  }
  return Status::OK();
}

WriteBehind::~WriteBehind() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  work_.notify_one();
  if (thread_.joinable()) thread_.join();
}

Status WriteBehind::Submit(WriteBatch* batch) {
  std::unique_lock lock(mu_);
  if (!thread_.joinable()) thread_ = std::thread([this] { Run(); });
  done_.wait(lock, [&] { return queue_.size() < kMaxQueued; });
  if (!error_.ok()) {
    batch->clear();
    return error_;
  }
  queue_.push_back(std::move(*batch));
  batch->clear();
  lock.unlock();
  work_.notify_one();
  return Status::OK();
}

Status WriteBehind::Drain() {
  std::unique_lock lock(mu_);
  done_.wait(lock, [&] { return queue_.empty() && !busy_; });
  Status st = std::move(error_);
  error_ = Status::OK();
  return st;
}

WriteBatch WriteBehind::TakeBuffer() {
  std::lock_guard lock(mu_);
  if (spare_.empty()) return WriteBatch();
  WriteBatch b = std::move(spare_.back());
  spare_.pop_back();
  b.clear();
  return b;
}

void WriteBehind::Run() {
  std::unique_lock lock(mu_);
  for (;;) {
    work_.wait(lock, [&] { return stop_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, nothing left
    WriteBatch b = std::move(queue_.front());
    queue_.pop_front();
    bool write = error_.ok();  // after a failure the rest is dropped
    busy_ = true;
    lock.unlock();
    Status st = write ? b.WriteTo(store_) : Status::OK();
    lock.lock();
    busy_ = false;
    if (write && st.ok()) written_++;
    if (!st.ok() && error_.ok()) error_ = std::move(st);
    if (spare_.size() < kMaxQueued + 1) spare_.push_back(std::move(b));
    done_.notify_all();
  }
}

}  // namespace bruce
