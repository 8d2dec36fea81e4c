#include "store/lock_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <ctime>

#include "format/coding.h"

namespace bruce {
namespace {

constexpr char kMagic[8] = {'b', 'r', 'u', 'c', 'e', 'L', 'K', '\n'};
constexpr uint32_t kVersion = 1;
constexpr size_t kHeader = 64;
constexpr size_t kSlotSize = 32;

// The endpoint fields (pid, name length, name) and its liveness lock.
constexpr off_t kEndpointAt = 16;
constexpr off_t kEndpointLockAt = 4096;

struct flock EndpointLock(short type) {
  struct flock l;
  std::memset(&l, 0, sizeof(l));
  l.l_type = type;
  l.l_whence = SEEK_SET;
  l.l_start = kEndpointLockAt;
  l.l_len = 1;
  return l;
}

off_t SlotOffset(uint32_t i) { return static_cast<off_t>(kHeader + kSlotSize * i); }

uint64_t NowNs() {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return uint64_t(ts.tv_sec) * 1000000000 + uint64_t(ts.tv_nsec);
}

struct flock SlotLock(uint32_t i, short type) {
  struct flock l;
  std::memset(&l, 0, sizeof(l));
  l.l_type = type;
  l.l_whence = SEEK_SET;
  l.l_start = SlotOffset(i);
  l.l_len = kSlotSize;
  return l;
}

Status Pwrite(int fd, const std::string& path, const char* p, size_t n, off_t at) {
  while (n > 0) {
    ssize_t w = ::pwrite(fd, p, n, at);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return Status::IOError("write " + path, w < 0 ? errno : EIO);
    p += w;
    n -= static_cast<size_t>(w);
    at += w;
  }
  return Status::OK();
}

}  // namespace

Result<std::unique_ptr<LockFile>> LockFile::Open(const std::string& store_path) {
  const std::string path = store_path + "-lock";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return Status::IOError("open " + path, errno);
  std::unique_ptr<LockFile> lf(new LockFile(fd, path));
  // Whoever comes first writes the header; a lock on it makes that one
  // writer, and everyone after checks it.
  struct flock l;
  std::memset(&l, 0, sizeof(l));
  l.l_type = F_WRLCK;
  l.l_whence = SEEK_SET;
  l.l_len = kHeader;
  if (::fcntl(fd, F_OFD_SETLKW, &l) != 0) return Status::IOError("lock " + path, errno);
  char head[kHeader];
  ssize_t n = ::pread(fd, head, kHeader, 0);
  Status st;
  auto init = [&]() {
    std::string page(kFileSize, '\0');
    std::memcpy(page.data(), kMagic, 8);
    format::StoreU32(page.data() + 8, kVersion);
    format::StoreU32(page.data() + 12, kSlots);
    // It takes the store file's permissions: whoever may use the store may
    // use its table (a reader of another user may be the one making it).
    struct stat sst;
    if (::stat(store_path.c_str(), &sst) == 0) (void)::fchmod(fd, sst.st_mode & 0666);
    return Pwrite(fd, path, page.data(), page.size(), 0);
  };
  auto valid = [&]() {
    return n == static_cast<ssize_t>(kHeader) && std::memcmp(head, kMagic, 8) == 0;
  };
  if (n == 0) {
    st = init();
  } else if (!valid()) {
    // A header cut short (a crash while it was written) or foreign bytes:
    // rebuilt when no reader holds a slot, else left alone.
    struct flock all;
    std::memset(&all, 0, sizeof(all));
    all.l_type = F_WRLCK;
    all.l_whence = SEEK_SET;
    all.l_start = kHeader;
    all.l_len = kFileSize - kHeader;
    if (::fcntl(fd, F_OFD_SETLK, &all) == 0) {
      st = init();
      all.l_type = F_UNLCK;
      (void)::fcntl(fd, F_OFD_SETLK, &all);
    } else {
      st = Status::Corruption(path + " is not a bruce lock file");
    }
  } else if (format::LoadU32(head + 8) != kVersion || format::LoadU32(head + 12) != kSlots) {
    st = Status::NotSupported(path + ": lock file version " +
                              std::to_string(format::LoadU32(head + 8)) + " is not supported");
  }
  l.l_type = F_UNLCK;
  (void)::fcntl(fd, F_OFD_SETLK, &l);
  if (!st.ok()) return st;
  return lf;
}

LockFile::~LockFile() {
  if (endpoint_) {
    char zero[kHeader - kEndpointAt] = {};
    (void)Pwrite(fd_, path_, zero, sizeof zero, kEndpointAt);
  }
  if (slot_ >= 0) {
    // Free the slot before its lock goes, so that it is never live and stale.
    char zero[kSlotSize] = {};
    (void)Pwrite(fd_, path_, zero, kSlotSize, SlotOffset(static_cast<uint32_t>(slot_)));
  }
  ::close(fd_);  // drops the slot's lock
}

Status LockFile::Claim() {
  if (slot_ >= 0) return Status::OK();
  for (uint32_t i = 0; i < kSlots; ++i) {
    struct flock l = SlotLock(i, F_WRLCK);
    if (::fcntl(fd_, F_OFD_SETLK, &l) == 0) {
      slot_ = static_cast<int>(i);
      since_ns_ = NowNs();
      return Status::OK();
    }
    if (errno != EAGAIN && errno != EACCES) return Status::IOError("lock " + path_, errno);
  }
  return Status::Busy(path_ + ": all " + std::to_string(kSlots) + " reader slots are in use");
}

Status LockFile::Publish(uint64_t txn) {
  if (slot_ < 0) return Status::InvalidArgument("no reader slot");
  char s[kSlotSize] = {};
  format::StoreU32(s, static_cast<uint32_t>(::getpid()));
  format::StoreU64(s + 8, txn);
  format::StoreU64(s + 16, since_ns_);
  return Pwrite(fd_, path_, s, kSlotSize, SlotOffset(static_cast<uint32_t>(slot_)));
}

Result<bool> LockFile::Live(uint32_t i) {
  struct flock l = SlotLock(i, F_WRLCK);
  if (::fcntl(fd_, F_OFD_GETLK, &l) != 0) return Status::IOError("test lock " + path_, errno);
  return l.l_type != F_UNLCK;
}

Result<std::vector<ReaderInfo>> LockFile::Readers() {
  char page[kFileSize], again[kFileSize];
  const ssize_t n = ::pread(fd_, page, kFileSize, 0);
  if (n < 0) return Status::IOError("read " + path_, errno);
  // The slots up to the last one that names a process. A slot being
  // written as it is read could show half of its old transaction and half
  // of its new one, so those bytes are read until two reads agree. A table
  // with no process in it (no reader in another process: the common case)
  // needs no second look: a slot being claimed just then that still reads
  // empty is a reader that publishes after this read, which checks the
  // newest meta page again afterwards (DbImpl::OpenBesideWriter).
  size_t used = 0;
  for (uint32_t i = 0; i < kSlots; ++i) {
    if (SlotOffset(i) + static_cast<off_t>(kSlotSize) > n) break;
    if (format::LoadU32(page + SlotOffset(i)) != 0) {
      used = static_cast<size_t>(SlotOffset(i)) + kSlotSize;
    }
  }
  for (int i = 0; used > 0 && i < 100; ++i) {
    const ssize_t m = ::pread(fd_, again, used, 0);
    if (m < 0) return Status::IOError("read " + path_, errno);
    if (static_cast<size_t>(m) == used && std::memcmp(page, again, used) == 0) break;
    if (static_cast<size_t>(m) == used) std::memcpy(page, again, used);
  }
  std::vector<ReaderInfo> out;
  for (uint32_t i = 0; i < kSlots; ++i) {
    if (SlotOffset(i) + static_cast<off_t>(kSlotSize) > static_cast<off_t>(used)) break;
    if (static_cast<int>(i) == slot_) continue;  // this process's own
    const char* s = page + SlotOffset(i);
    const uint32_t pid = format::LoadU32(s);
    if (pid == 0) continue;
    BRUCE_ASSIGN_OR_RETURN(bool live, Live(i));
    if (!live) continue;  // its process is gone
    out.push_back(ReaderInfo{pid, format::LoadU64(s + 8), format::LoadU64(s + 16)});
  }
  return out;
}

Status LockFile::PublishEndpoint(std::string_view name) {
  if (name.empty() || name.size() > kMaxEndpoint) {
    return Status::InvalidArgument("an endpoint name has 1 to " + std::to_string(kMaxEndpoint) +
                                   " bytes");
  }
  struct flock l = EndpointLock(F_WRLCK);
  if (::fcntl(fd_, F_OFD_SETLK, &l) != 0) {
    if (errno == EAGAIN || errno == EACCES) {
      return Status::Busy(path_ + ": another process serves this store");
    }
    return Status::IOError("lock " + path_, errno);
  }
  endpoint_ = true;
  char f[kHeader - kEndpointAt] = {};
  format::StoreU32(f, static_cast<uint32_t>(::getpid()));
  format::StoreU32(f + 4, static_cast<uint32_t>(name.size()));
  std::memcpy(f + 8, name.data(), name.size());
  return Pwrite(fd_, path_, f, sizeof f, kEndpointAt);
}

Result<Endpoint> LockFile::FindEndpoint(const std::string& store_path) {
  const std::string path = store_path + "-lock";
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Status::NotFound(path + ": no lock file");
    return Status::IOError("open " + path, errno);
  }
  struct flock l = EndpointLock(F_WRLCK);
  Status st;
  Endpoint e;
  if (::fcntl(fd, F_OFD_GETLK, &l) != 0) {
    st = Status::IOError("test lock " + path, errno);
  } else if (l.l_type == F_UNLCK) {
    st = Status::NotFound(store_path + ": no process serves this store");
  } else {
    char f[kHeader - kEndpointAt];
    const ssize_t n = ::pread(fd, f, sizeof f, kEndpointAt);
    const uint32_t len = n == static_cast<ssize_t>(sizeof f) ? format::LoadU32(f + 4) : 0;
    if (n < 0) {
      st = Status::IOError("read " + path, errno);
    } else if (len == 0 || len > kMaxEndpoint || format::LoadU32(f) == 0) {
      // Taken but not yet written (or being withdrawn).
      st = Status::NotFound(store_path + ": no process serves this store");
    } else {
      e.pid = format::LoadU32(f);
      e.name.assign(f + 8, len);
    }
  }
  ::close(fd);
  if (!st.ok()) return st;
  return e;
}

Result<uint64_t> LockFile::OldestReader() {
  BRUCE_ASSIGN_OR_RETURN(std::vector<ReaderInfo> readers, Readers());
  uint64_t oldest = UINT64_MAX;
  for (const ReaderInfo& r : readers) oldest = std::min(oldest, r.txn);
  return oldest;
}

}  // namespace bruce
