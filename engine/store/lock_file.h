// store/lock_file.h — the reader table beside a store file (LMDB's model).
//
// A store at PATH has a lock file PATH-lock, one page of 4096 bytes, every
// integer little-endian (docs/FORMAT.md "Lock file"):
//
//   offset  size  field
//   0       8     magic "bruceLK\n"
//   8       4     version (1)
//   12      4     slots (126)
//   16      4     pid of the process serving the store's endpoint (0: none)
//   20      4     length of the endpoint's name (at most 40)
//   24      40    the endpoint's name (brucefs: its control socket)
//   64+32i  32    reader slot i:
//                   0  4  pid of the reading process (0: free)
//                   4  4  reserved, 0
//                   8  8  the oldest transaction it reads
//                   16 8  when that reader began, ns since the epoch
//                   24 8  reserved, 0
//
// A process that opens the store read-only takes a slot for as long as it
// has the store open: it holds an open-file-description lock (F_OFD_SETLK)
// on the slot's 32 bytes and writes there the oldest commit it may still
// read. The writing process (which has the store file itself locked) reads
// the table before it reuses freed pages and never reuses a page freed
// after the oldest transaction of a live slot. A slot whose lock is not
// held belongs to a process that is gone (kill -9 included: the kernel
// drops its locks), so it holds nothing back and the next reader takes it.
// Nobody waits for anybody: readers and the writer only take and test locks
// that never block (but for the moment it takes the first opener to write
// the header).
//
// The writing process may publish an endpoint, a name through which it
// takes requests (brucefs's control socket): it holds an OFD lock on one
// byte just past the table (offset 4096) for as long as it serves, so a
// name whose lock is free is stale.
//
// Thread safety: Claim once, before sharing; Publish under the owner's lock
// (DbImpl's slot_mu_); Readers and OldestReader from any thread (they only
// read the file). The file is shared with other processes by design.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "bruce/db.h"
#include "bruce/status.h"

namespace bruce {

class LockFile {
 public:
  static constexpr uint32_t kSlots = 126;
  static constexpr size_t kFileSize = 4096;

  // Opens PATH-lock, making it when absent. kIOError when that cannot be
  // done (e.g. no write permission on the directory).
  static Result<std::unique_ptr<LockFile>> Open(const std::string& store_path);
  ~LockFile();
  LockFile(const LockFile&) = delete;
  LockFile& operator=(const LockFile&) = delete;

  // Takes a free (or dead) slot for this reader: kBusy when all are live.
  Status Claim();
  // Writes the oldest transaction this reader may read into its slot.
  Status Publish(uint64_t txn);
  // The oldest transaction of the live slots of other readers, or
  // UINT64_MAX when there is none.
  Result<uint64_t> OldestReader();
  // The live readers.
  Result<std::vector<ReaderInfo>> Readers();

  // Records this process as serving `name` (at most kMaxEndpoint bytes) for
  // the store: kBusy when another live process does.
  Status PublishEndpoint(std::string_view name);
  // The live endpoint of the store at store_path (its lock file opened
  // read-only); kNotFound when there is none.
  static Result<Endpoint> FindEndpoint(const std::string& store_path);
  static constexpr size_t kMaxEndpoint = 40;

 private:
  LockFile(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  // Whether another open file description holds slot i's lock.
  Result<bool> Live(uint32_t i);

  int fd_;
  std::string path_;
  int slot_ = -1;
  bool endpoint_ = false;
  uint64_t since_ns_ = 0;
};

}  // namespace bruce
