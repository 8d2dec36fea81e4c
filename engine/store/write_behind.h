// store/write_behind.h — a commit's page writes, made by a thread of their
// own while the committing thread encodes the next nodes.
//
// A commit of many nodes spends a good part of its time in pwrite: the
// kernel copying each node's pages into the page cache. A WriteBehind takes
// batches of encoded pages (a buffer and the runs of pages in it) and
// writes them on its thread, in the order given, so that copying one batch
// into the file overlaps encoding the next. The writer waits for all of
// them (Drain) before it writes anything else that must follow them (the
// space log, the meta page, a data block whose page a queued write may
// still hold), and before its transaction ends.
//
// Writes happen in submission order, one at a time, through the same store
// calls the writer would make: a store that counts or drops writes (the
// fault store) sees the same sequence. After a write fails, the writes
// queued behind it are dropped, as the writer would not have made them: the
// error comes back from the next Submit or Drain.
//
// The thread starts at the first Submit (a store that only ever sees small
// commits never has one) and stops when the WriteBehind is destroyed.
//
// Thread safety: Submit, Drain and TakeBuffer are called by one thread at a
// time (the holder of the store's writer role).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "bruce/page_store.h"
#include "bruce/status.h"

namespace bruce {

// Encoded pages for the store: `bytes` holds runs of adjacent pages back to
// back; run i is written at runs[i].offset, runs[i].len bytes long.
struct WriteBatch {
  struct Run {
    uint64_t offset;
    size_t len;
  };
  std::string bytes;
  std::vector<Run> runs;

  bool empty() const { return runs.empty(); }
  // Appends `data` to be written at `offset`, zero-padded to `len` bytes:
  // to the last run when it ends there, else as a new run.
  void Add(uint64_t offset, std::string_view data, size_t len);
  // The bytes of every run.
  size_t size() const { return bytes.size(); }
  // Writes every run to the store, in order; stops at the first error.
  Status WriteTo(PageStore* store) const;
  void clear() {
    bytes.clear();
    runs.clear();
  }
};

class WriteBehind {
 public:
  explicit WriteBehind(PageStore* store) : store_(store) {}
  ~WriteBehind();
  WriteBehind(const WriteBehind&) = delete;
  WriteBehind& operator=(const WriteBehind&) = delete;

  // Queues `batch` (taken; left empty) for the thread. Returns the error of
  // an earlier write, if one failed (the batch is then dropped). Waits while
  // kMaxQueued batches are already queued, so memory stays bounded.
  Status Submit(WriteBatch* batch);
  // Waits until every queued write is done; the first error since the last
  // Drain, if any (then cleared).
  Status Drain();
  // An empty batch whose buffers come from a written one (no allocation
  // once warm).
  WriteBatch TakeBuffer();

  // Batches the thread has written (for tests and statistics).
  uint64_t batches_written() {
    std::lock_guard lock(mu_);
    return written_;
  }

  static constexpr size_t kMaxQueued = 4;

 private:
  void Run();

  PageStore* store_;
  std::mutex mu_;
  std::condition_variable work_;  // the thread waits for batches
  std::condition_variable done_;  // Submit and Drain wait for room or an empty queue
  std::deque<WriteBatch> queue_;
  std::vector<WriteBatch> spare_;  // written batches, for TakeBuffer
  bool busy_ = false;              // the thread is writing a batch
  uint64_t written_ = 0;
  bool stop_ = false;
  Status error_;
  std::thread thread_;
};

}  // namespace bruce
