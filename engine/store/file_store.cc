// The file and memory PageStores.
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <shared_mutex>

#include "bruce/page_store.h"

namespace bruce {
namespace {

// With O_DIRECT, offsets, lengths and buffers must be aligned to the
// device's logical block size; 4096 covers every common one.
constexpr size_t kDirectAlign = 4096;

// A thread's aligned buffer for direct I/O of unaligned requests.
char* BounceBuffer(size_t n) {
  struct Buf {
    std::unique_ptr<char, decltype(&std::free)> p{nullptr, &std::free};
    size_t size = 0;
  };
  thread_local Buf b;
  if (b.size < n) {
    size_t want = (n + kDirectAlign - 1) / kDirectAlign * kDirectAlign;
    b.p.reset(static_cast<char*>(std::aligned_alloc(kDirectAlign, want)));
    b.size = b.p ? want : 0;
  }
  return b.p.get();
}

// The file's size by lseek(SEEK_END), not fstat: it reads the size and not
// the timestamps, so it does not make the writer's next fdatasync write the
// inode (see FileStore). The store reads and writes at explicit offsets,
// so moving the file position changes nothing.
Result<uint64_t> FileSize(int fd, const std::string& path) {
  off_t end = ::lseek(fd, 0, SEEK_END);
  if (end < 0) return Status::IOError("lseek " + path, errno);
  return static_cast<uint64_t>(end);
}

bool Aligned(uint64_t offset, size_t n, const void* buf) {
  return offset % kDirectAlign == 0 && n % kDirectAlign == 0 &&
         reinterpret_cast<uintptr_t>(buf) % kDirectAlign == 0;
}

// A store opened for writing holds the file's exclusive lock: no other
// process changes its size, so the store keeps the size itself (`known`)
// and Size() asks the file nothing. That matters beyond the system call:
// on Linux 6.13 and later, once a file's timestamps were read (any stat),
// its next write records a fine-grained change time and the fdatasync
// after it writes the inode too (bench/README.md, "What a durable commit's
// I/O costs"). A read-only store asks the file (a writer elsewhere grows
// it), by FileSize, which reads no timestamps: another process following
// the writer's commits (`bruce stat` beside a mount) slows none of them.
class FileStore final : public PageStore {
 public:
  FileStore(int fd, std::string path, bool direct, bool known, uint64_t size)
      : fd_(fd), path_(std::move(path)), direct_(direct), known_(known), size_(size) {}
  ~FileStore() override { ::close(fd_); }

  void WillNeed(uint64_t offset, uint64_t n) override {
    if (direct_) return;  // no page cache to fill
    (void)::posix_fadvise(fd_, static_cast<off_t>(offset), static_cast<off_t>(n),
                          POSIX_FADV_WILLNEED);
  }

  Status Read(uint64_t offset, size_t n, char* out) override {
    if (direct_ && !Aligned(offset, n, out)) return ReadBounced(offset, n, out);
    size_t got = 0;
    BRUCE_RETURN_IF_ERROR(PreadFull(offset, n, out, &got));
    return got < n ? PastEnd(offset + got) : Status::OK();
  }

  Status Write(uint64_t offset, std::string_view data) override {
    Status st = direct_ && !Aligned(offset, data.size(), data.data())
                    ? WriteBounced(offset, data)
                    : PwriteFull(offset, data.data(), data.size());
    if (known_) {
      if (st.ok()) {
        // The largest end written (writes run in several threads at once).
        uint64_t end = offset + data.size(), was = size_.load();
        while (was < end && !size_.compare_exchange_weak(was, end)) {
        }
      } else {
        Refresh();  // a failed write may have grown the file in part
      }
    }
    return st;
  }

  Status Sync() override {
    while (::fdatasync(fd_) != 0) {
      if (errno != EINTR) return Status::IOError("fdatasync " + path_, errno);
    }
    return Status::OK();
  }

  Result<uint64_t> Size() override {
    if (known_) return size_.load();
    return FileSize(fd_, path_);
  }

  Status Truncate(uint64_t size) override {
    if (::ftruncate(fd_, static_cast<off_t>(size)) != 0) {
      Status st = Status::IOError("truncate " + path_, errno);
      if (known_) Refresh();
      return st;
    }
    if (known_) size_.store(size);
    return Status::OK();
  }

  std::string Name() const override { return path_; }

 private:
  // Direct I/O of an unaligned request: through an aligned buffer, widened
  // to whole blocks (a read past the end of the file comes back short).
  Status ReadBounced(uint64_t offset, size_t n, char* out) {
    const uint64_t start = offset / kDirectAlign * kDirectAlign;
    const size_t skip = offset - start;
    const size_t len = (skip + n + kDirectAlign - 1) / kDirectAlign * kDirectAlign;
    char* buf = BounceBuffer(len);
    if (buf == nullptr) return Status::IOError("no memory for a direct read of " + path_, ENOMEM);
    size_t got = 0;
    BRUCE_RETURN_IF_ERROR(PreadFull(start, len, buf, &got));
    if (got < skip + n) return PastEnd(start + got);
    std::memcpy(out, buf + skip, n);
    return Status::OK();
  }

  Status WriteBounced(uint64_t offset, std::string_view data) {
    if (offset % kDirectAlign != 0 || data.size() % kDirectAlign != 0) {
      return Status::InvalidArgument("a direct write to " + path_ + " of " +
                                     std::to_string(data.size()) + " bytes at " +
                                     std::to_string(offset) + " is not block-aligned");
    }
    constexpr size_t kPiece = size_t{1} << 20;
    char* buf = BounceBuffer(std::min(kPiece, data.size()));
    if (buf == nullptr) return Status::IOError("no memory for a direct write of " + path_, ENOMEM);
    for (size_t at = 0; at < data.size();) {
      const size_t n = std::min(kPiece, data.size() - at);
      std::memcpy(buf, data.data() + at, n);
      BRUCE_RETURN_IF_ERROR(PwriteFull(offset + at, buf, n));
      at += n;
    }
    return Status::OK();
  }

  // Reads up to n bytes at offset into out; *got says how many (fewer at
  // the end of the file; with O_DIRECT the end shows as a short block).
  Status PreadFull(uint64_t offset, size_t n, char* out, size_t* got) {
    size_t done = 0;
    while (done < n) {
      ssize_t r = ::pread(fd_, out + done, n - done, static_cast<off_t>(offset + done));
      if (r < 0) {
        if (errno == EINTR) continue;
        return Status::IOError("read " + path_ + " at " + std::to_string(offset + done), errno);
      }
      if (r == 0) break;
      done += static_cast<size_t>(r);
      if (direct_ && done % kDirectAlign != 0) break;  // the end of the file
    }
    *got = done;
    return Status::OK();
  }

  Status PwriteFull(uint64_t offset, const char* p, size_t n) {
    size_t done = 0;
    while (done < n) {
      ssize_t r = ::pwrite(fd_, p + done, n - done, static_cast<off_t>(offset + done));
      if (r < 0) {
        if (errno == EINTR) continue;
        return Status::IOError("write " + path_ + " at " + std::to_string(offset + done), errno);
      }
      done += static_cast<size_t>(r);
    }
    return Status::OK();
  }

  void Refresh() {
    if (auto s = FileSize(fd_, path_); s.ok()) size_.store(s.value());
  }

  Status PastEnd(uint64_t at) const {
    return Status::Corruption("read past end of " + path_ + " at byte " + std::to_string(at));
  }

  int fd_;
  std::string path_;
  bool direct_;
  const bool known_;  // the size is kept here, not asked of the file
  std::atomic<uint64_t> size_;
};

class MemoryStore final : public PageStore {
 public:
  Status Read(uint64_t offset, size_t n, char* out) override {
    std::shared_lock lock(mu_);
    if (offset > data_.size() || data_.size() - offset < n) {
      return Status::Corruption("read past end of memory store at byte " + std::to_string(offset));
    }
    std::memcpy(out, data_.data() + offset, n);
    return Status::OK();
  }
  Status Write(uint64_t offset, std::string_view d) override {
    std::unique_lock lock(mu_);
    if (data_.size() < offset + d.size()) data_.resize(offset + d.size());
    std::memcpy(data_.data() + offset, d.data(), d.size());
    return Status::OK();
  }
  Status Sync() override { return Status::OK(); }
  Result<uint64_t> Size() override {
    std::shared_lock lock(mu_);
    return static_cast<uint64_t>(data_.size());
  }
  Status Truncate(uint64_t size) override {
    std::unique_lock lock(mu_);
    data_.resize(size);
    return Status::OK();
  }
  std::string Name() const override { return "memory"; }

 private:
  std::shared_mutex mu_;
  std::string data_;
};

}  // namespace

Result<std::unique_ptr<PageStore>> OpenFileStore(const std::string& path, bool create,
                                                 bool read_only, bool lock, bool direct) {
  int flags = O_CLOEXEC | (read_only ? O_RDONLY : O_RDWR);
  if (create && !read_only) flags |= O_CREAT;
  int fd = ::open(path.c_str(), flags, 0644);
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT) return Status::NotFound("no store at " + path);
    return Status::IOError("open " + path, err);
  }
  // O_DIRECT is set after the open, so a filesystem without it (tmpfs)
  // gets a clear message rather than a bare EINVAL from open.
  if (direct && ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_DIRECT) != 0) {
    int err = errno;
    ::close(fd);
    if (err == EINVAL) {
      return Status::NotSupported("direct I/O (O_DIRECT) is not supported by the filesystem of " +
                                  path);
    }
    return Status::IOError("set O_DIRECT on " + path, err);
  }
  if (lock && ::flock(fd, (read_only ? LOCK_SH : LOCK_EX) | LOCK_NB) != 0) {
    int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK) {
      return Status::Busy(path + " is in use by another process (is brucefs mounted on it?)");
    }
    return Status::IOError("lock " + path, err);
  }
  // The size a writer keeps from now on (see FileStore).
  const bool known = !read_only && lock;
  uint64_t size = 0;
  if (known) {
    auto s = FileSize(fd, path);
    if (!s.ok()) {
      ::close(fd);
      return s.status();
    }
    size = s.value();
  }
  return std::unique_ptr<PageStore>(new FileStore(fd, path, direct, known, size));
}

std::unique_ptr<PageStore> NewMemoryStore() { return std::make_unique<MemoryStore>(); }

}  // namespace bruce
