// The file and memory PageStores.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <shared_mutex>

#include "bruce/page_store.h"

namespace bruce {
namespace {

class FileStore final : public PageStore {
 public:
  FileStore(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  ~FileStore() override { ::close(fd_); }

  void WillNeed(uint64_t offset, uint64_t n) override {
    (void)::posix_fadvise(fd_, static_cast<off_t>(offset), static_cast<off_t>(n),
                          POSIX_FADV_WILLNEED);
  }

  Status Read(uint64_t offset, size_t n, char* out) override {
    size_t done = 0;
    while (done < n) {
      ssize_t r = ::pread(fd_, out + done, n - done, static_cast<off_t>(offset + done));
      if (r < 0) {
        if (errno == EINTR) continue;
        return Status::IOError("read " + path_ + " at " + std::to_string(offset + done), errno);
      }
      if (r == 0) {
        return Status::Corruption("read past end of " + path_ + " at byte " +
                                  std::to_string(offset + done));
      }
      done += static_cast<size_t>(r);
    }
    return Status::OK();
  }

  Status Write(uint64_t offset, std::string_view data) override {
    size_t done = 0;
    while (done < data.size()) {
      ssize_t r = ::pwrite(fd_, data.data() + done, data.size() - done,
                           static_cast<off_t>(offset + done));
      if (r < 0) {
        if (errno == EINTR) continue;
        return Status::IOError("write " + path_ + " at " + std::to_string(offset + done), errno);
      }
      done += static_cast<size_t>(r);
    }
    return Status::OK();
  }

  Status Sync() override {
    while (::fdatasync(fd_) != 0) {
      if (errno != EINTR) return Status::IOError("fdatasync " + path_, errno);
    }
    return Status::OK();
  }

  Result<uint64_t> Size() override {
    struct stat st;
    if (::fstat(fd_, &st) != 0) return Status::IOError("fstat " + path_, errno);
    return static_cast<uint64_t>(st.st_size);
  }

  Status Truncate(uint64_t size) override {
    if (::ftruncate(fd_, static_cast<off_t>(size)) != 0) {
      return Status::IOError("truncate " + path_, errno);
    }
    return Status::OK();
  }

  std::string Name() const override { return path_; }

 private:
  int fd_;
  std::string path_;
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
                                                 bool read_only, bool lock) {
  int flags = O_CLOEXEC | (read_only ? O_RDONLY : O_RDWR);
  if (create && !read_only) flags |= O_CREAT;
  int fd = ::open(path.c_str(), flags, 0644);
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT) return Status::NotFound("no store at " + path);
    return Status::IOError("open " + path, err);
  }
  if (lock && ::flock(fd, (read_only ? LOCK_SH : LOCK_EX) | LOCK_NB) != 0) {
    int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK) {
      return Status::Busy(path + " is in use by another process (is brucefs mounted on it?)");
    }
    return Status::IOError("lock " + path, err);
  }
  return std::unique_ptr<PageStore>(new FileStore(fd, path));
}

std::unique_ptr<PageStore> NewMemoryStore() { return std::make_unique<MemoryStore>(); }

}  // namespace bruce
