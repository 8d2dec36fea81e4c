// tests/fs/fs_fixture.h — BruceFs over a memory page store whose syncs and
// reads a test can hold shut: a deterministic stand-in for a slow disk.
#pragma once

#include <fcntl.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "bruce/page_store.h"
#include "brucefs.h"

namespace brucefs {

// A memory store whose Sync blocks while the gate is shut, or fails, and
// whose reads of data blocks can be held shut too.
class GatedStore final : public bruce::PageStore {
 public:
  GatedStore() : inner_(bruce::NewMemoryStore()) {}

  bruce::Status Read(uint64_t offset, size_t n, char* out) override {
    bruce::Status s = inner_->Read(offset, n, out);
    std::unique_lock<std::mutex> l(mu_);
    if (!hold_.empty() && n >= hold_.size() && std::string_view(out, hold_.size()) == hold_) {
      ++reads_held_;
      cv_.notify_all();
      cv_.wait(l, [&] { return hold_.empty(); });
      --reads_held_;
    }
    return s;
  }
  bruce::Status Write(uint64_t offset, std::string_view data) override {
    return inner_->Write(offset, data);
  }
  bruce::Status Sync() override {
    std::unique_lock<std::mutex> l(mu_);
    ++entered_;
    cv_.notify_all();
    cv_.wait(l, [this] { return open_; });
    ++syncs_;
    if (fail_errno_ != 0) return bruce::Status::IOError("injected sync failure", fail_errno_);
    return inner_->Sync();
  }
  bruce::Result<uint64_t> Size() override { return inner_->Size(); }
  bruce::Status Truncate(uint64_t size) override { return inner_->Truncate(size); }
  std::string Name() const override { return "gated memory"; }

  void Shut() {
    std::lock_guard<std::mutex> l(mu_);
    open_ = false;
  }
  void Open() {
    std::lock_guard<std::mutex> l(mu_);
    open_ = true;
    cv_.notify_all();
  }
  // Reads of blocks that start with `prefix` (a file's raw data blocks)
  // block until OpenReads.
  void HoldReadsOf(const std::string& prefix) {
    std::lock_guard<std::mutex> l(mu_);
    hold_ = prefix;
  }
  void OpenReads() {
    std::lock_guard<std::mutex> l(mu_);
    hold_.clear();
    cv_.notify_all();
  }
  // Waits (bounded) until a read is held.
  bool WaitReadHeld() {
    std::unique_lock<std::mutex> l(mu_);
    return cv_.wait_for(l, std::chrono::seconds(60), [&] { return reads_held_ > 0; });
  }
  void Fail(int err) {
    std::lock_guard<std::mutex> l(mu_);
    fail_errno_ = err;
  }
  int entered() {
    std::lock_guard<std::mutex> l(mu_);
    return entered_;
  }
  // Waits (bounded) until a Sync has started since `before` were.
  bool WaitEntered(int before) {
    std::unique_lock<std::mutex> l(mu_);
    return cv_.wait_for(l, std::chrono::seconds(60), [&] { return entered_ > before; });
  }

 private:
  std::unique_ptr<bruce::PageStore> inner_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = true;
  int fail_errno_ = 0;
  int entered_ = 0;
  int syncs_ = 0;
  std::string hold_;
  int reads_held_ = 0;
};

constexpr uint64_t kRoot = InodeTable::kRootIno;
const Caller kMe{0, 0};

struct Fixture {
  std::shared_ptr<GatedStore> store = std::make_shared<GatedStore>();
  bruce::Db* db = nullptr;
  std::unique_ptr<BruceFs> fs;

  explicit Fixture(unsigned txg_timeout_s = 0) {
    bruce::Options o;
    o.create_if_missing = true;
    auto d = bruce::Db::Open(store, o);
    EXPECT_TRUE(d.ok()) << d.status().ToString();
    db = d->get();
    FsOptions fo;
    fo.txg_timeout_s = txg_timeout_s;
    fs = std::make_unique<BruceFs>(std::move(*d), fo);
    EXPECT_TRUE(fs->Start().ok());
  }
  ~Fixture() {
    store->Open();
    store->OpenReads();
    store->Fail(0);
  }

  uint64_t Create(uint64_t dir, const std::string& name) {
    fuse_entry_param e{};
    EXPECT_EQ(fs->Create(kMe, dir, name.c_str(), 0644, O_CREAT | O_EXCL, &e), 0) << name;
    return e.ino;
  }
  uint64_t Lookup(uint64_t dir, const std::string& name) {
    fuse_entry_param e{};
    int err = fs->Lookup(dir, name.c_str(), &e);
    return err == 0 ? e.ino : 0;
  }
  int Write(uint64_t ino, const std::string& data, off_t off = 0) {
    return fs->Write(ino, O_WRONLY, data.data(), data.size(), off);
  }
  std::string Read(uint64_t ino, size_t n, off_t off = 0) {
    bruce::PinnedValue out;
    EXPECT_EQ(fs->Read(ino, n, off, &out), 0);
    return std::string(out.view());
  }
  off_t Size(uint64_t ino) {
    struct stat st {};
    EXPECT_EQ(fs->GetAttr(ino, &st), 0);
    return st.st_size;
  }
};

// The entries of a readdir buffer (struct fuse_dirent: ino, off, namelen,
// type, name; each padded to 8 bytes): names and the offset after each.
struct Dirent {
  std::string name;
  off_t off;
};
inline std::vector<Dirent> ParseDirents(const std::string& buf) {
  std::vector<Dirent> out;
  size_t pos = 0;
  while (pos + 24 <= buf.size()) {
    uint64_t off;
    uint32_t namelen;
    std::memcpy(&off, buf.data() + pos + 8, 8);
    std::memcpy(&namelen, buf.data() + pos + 16, 4);
    out.push_back(Dirent{std::string(buf.data() + pos + 24, namelen), static_cast<off_t>(off)});
    pos += (24 + namelen + 7) & ~size_t{7};
  }
  return out;
}

}  // namespace brucefs
