// Tests of brucefs's concurrency, calling its operations directly (no
// kernel) over a store whose reads of chosen data blocks can be held shut:
//
//  - a read waiting for the disk holds up no one: reads of other files,
//    stats, lookups, listings, snapshot reads, creates, writes and an
//    fsync all complete meanwhile;
//  - a read of a path the open group changed reads through the group (and
//    holds it while it waits for the disk), yet snapshot reads and reads
//    of untouched files still go on;
//  - randomized: a writer streams versions of files with fsyncs, renames
//    and a snapshot while readers check read-after-write (a read sees at
//    least the version whose write returned before it began), a lister
//    checks listings and a reader checks the snapshot; all make progress
//    while the writer runs. The seed is printed (BRUCE_SEED replays).
#include <fcntl.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <future>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "brucefs.h"
#include "fs_fixture.h"

namespace brucefs {
namespace {

using namespace std::chrono_literals;

constexpr char kHeld[] = "HELDBLK!";

// Bytes whose every 4 KiB block starts with kHeld (raw data blocks).
std::string HeldContent(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(rng());
  for (size_t b = 0; b < n; b += 4096) std::memcpy(&s[b], kHeld, 8);
  return s;
}

// The names a directory lists (without . and ..).
std::set<std::string> List(BruceFs* fs, uint64_t ino) {
  std::set<std::string> out;
  uint64_t fh = 0;
  EXPECT_EQ(fs->OpenDir(ino, &fh), 0);
  off_t off = 0;
  for (;;) {
    std::string buf;
    EXPECT_EQ(fs->ReadDir(nullptr, ino, fh, 4096, off, false, &buf), 0);
    if (buf.empty()) break;
    for (auto& d : ParseDirents(buf)) {
      if (d.name != "." && d.name != "..") out.insert(d.name);
      off = d.off;
    }
  }
  fs->ReleaseDir(fh);
  return out;
}

// Files "cold" (content, its blocks held at will) and "other", and a
// directory "d" holding `names`, all made durable; returns their inodes.
struct Files {
  uint64_t cold = 0, other = 0, d = 0;
};
Files MakeFiles(Fixture* f, const std::string& cold, const std::vector<std::string>& names) {
  Files out;
  out.cold = f->Create(kRoot, "cold");
  EXPECT_EQ(f->Write(out.cold, cold), 0);
  out.other = f->Create(kRoot, "other");
  EXPECT_EQ(f->Write(out.other, "other bytes"), 0);
  fuse_entry_param e{};
  EXPECT_EQ(f->fs->Mkdir(kMe, kRoot, "d", 0755, &e), 0);
  out.d = e.ino;
  for (const auto& n : names) f->Create(out.d, n);
  EXPECT_EQ(f->fs->Fsync(), 0);
  return out;
}

// The root of snapshot `name`.
uint64_t SnapRoot(Fixture* f, const std::string& name) {
  const uint64_t dir = f->Lookup(kRoot, ".snapshots");
  EXPECT_NE(dir, 0u);
  return f->Lookup(dir, name);
}

// Runs `ops` on another thread; false when it has not finished within a
// minute (it is then waited for after `release`).
bool FinishesWhileHeld(const std::function<void()>& ops, const std::function<void()>& release) {
  auto done = std::async(std::launch::async, ops);
  const bool finished = done.wait_for(60s) == std::future_status::ready;
  release();
  done.get();
  return finished;
}

TEST(Concurrency, AReadWaitingForTheDiskHoldsUpNoOne) {
  Fixture f;
  const std::string cold = HeldContent(256 << 10, 1);
  const Files files = MakeFiles(&f, cold, {"x", "y"});
  const uint64_t cold_ino = files.cold, other = files.other, d = files.d;
  ASSERT_TRUE(f.fs->TakeSnapshot("s1").ok());
  const uint64_t snap = SnapRoot(&f, "s1");
  ASSERT_NE(snap, 0u);
  const uint64_t snap_other = f.Lookup(snap, "other");
  ASSERT_NE(snap_other, 0u);
  EXPECT_EQ(f.Read(snap_other, 100), "other bytes");  // its nodes are cached now

  f.store->HoldReadsOf(kHeld);
  std::string got;
  std::thread reader([&] { got = f.Read(cold_ino, cold.size()); });
  ASSERT_TRUE(f.store->WaitReadHeld()) << "the read never reached the disk";

  std::atomic<int> steps{0};
  const bool finished = FinishesWhileHeld(
      [&] {
        EXPECT_EQ(f.Read(other, 100), "other bytes");
        steps++;
        EXPECT_EQ(f.Size(cold_ino), static_cast<off_t>(cold.size()));
        steps++;
        EXPECT_NE(f.Lookup(d, "x"), 0u);
        EXPECT_EQ(List(f.fs.get(), d), (std::set<std::string>{"x", "y"}));
        steps++;
        EXPECT_EQ(f.Read(snap_other, 100), "other bytes");
        EXPECT_EQ(List(f.fs.get(), snap), (std::set<std::string>{"cold", "d", "other"}));
        steps++;
        const uint64_t fresh = f.Create(kRoot, "fresh");
        EXPECT_EQ(f.Write(fresh, "fresh bytes"), 0);
        EXPECT_EQ(f.Read(fresh, 100), "fresh bytes");
        EXPECT_EQ(f.Write(other, "OTHER"), 0);
        EXPECT_EQ(f.Read(other, 100), "OTHER bytes");
        steps++;
        EXPECT_EQ(f.fs->Fsync(), 0);
        EXPECT_EQ(f.Read(other, 100), "OTHER bytes");
        steps++;
      },
      [&] { f.store->OpenReads(); });
  reader.join();
  EXPECT_TRUE(finished) << "operations waited for a read held at the disk (" << steps.load()
                        << " of 6 steps done)";
  EXPECT_TRUE(got == cold) << "the held read returned other bytes";
}

TEST(Concurrency, SnapshotReadsDoNotWaitForTheGroup) {
  Fixture f;
  const std::string cold = HeldContent(64 << 10, 2);
  const Files files = MakeFiles(&f, cold, {"x"});
  const uint64_t cold_ino = files.cold, other = files.other, d = files.d;
  ASSERT_TRUE(f.fs->TakeSnapshot("s1").ok());
  const uint64_t snap = SnapRoot(&f, "s1");
  const uint64_t snap_other = f.Lookup(snap, "other");
  ASSERT_NE(snap_other, 0u);
  EXPECT_EQ(f.Read(snap_other, 100), "other bytes");
  EXPECT_EQ(f.Read(other, 100), "other bytes");

  // The open group changes the end of cold: a read of it goes through the
  // group, and its first blocks come from the disk, held.
  ASSERT_EQ(f.Write(cold_ino, "tail", static_cast<off_t>(cold.size())), 0);
  f.store->HoldReadsOf(kHeld);
  std::string got;
  std::thread reader([&] { got = f.Read(cold_ino, cold.size() + 4); });
  ASSERT_TRUE(f.store->WaitReadHeld()) << "the read never reached the disk";

  const bool finished = FinishesWhileHeld(
      [&] {
        EXPECT_EQ(f.Read(snap_other, 100), "other bytes");
        EXPECT_EQ(List(f.fs.get(), snap), (std::set<std::string>{"cold", "d", "other"}));
        EXPECT_EQ(f.Lookup(snap, "none"), 0u);
        struct stat st {};
        EXPECT_EQ(f.fs->GetAttr(f.Lookup(snap, "cold"), &st), 0);
        EXPECT_EQ(st.st_size, static_cast<off_t>(cold.size()));
        EXPECT_EQ(f.Read(other, 100), "other bytes");  // untouched, live
        EXPECT_EQ(List(f.fs.get(), d), (std::set<std::string>{"x"}));
      },
      [&] { f.store->OpenReads(); });
  reader.join();
  EXPECT_TRUE(finished) << "a snapshot read waited for the transaction group";
  EXPECT_TRUE(got == cold + "tail");
}

TEST(Concurrency, ImplicitDirectoriesStayAfterTheirLastEntry) {
  // Keys written by the engine (no records): a and a/b are implicit
  // directories. Removing the last entry of one leaves it in place, as on
  // any filesystem, and reads see that at once (no commit between).
  Fixture f;
  f.fs = nullptr;  // unmounted
  {
    auto db = bruce::Db::Open(f.store, bruce::Options{});
    ASSERT_TRUE(db.ok());
    auto w = (*db)->BeginWrite();
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Main()->Put("a/b/c", "bytes").ok());
    ASSERT_TRUE((*w)->Main()->Put("keep", "bytes").ok());
    ASSERT_TRUE((*w)->Commit().ok());
  }
  auto d = bruce::Db::Open(f.store, bruce::Options{});
  ASSERT_TRUE(d.ok());
  f.fs = std::make_unique<BruceFs>(std::move(*d), FsOptions{});
  ASSERT_TRUE(f.fs->Start().ok());
  const uint64_t a = f.Lookup(kRoot, "a");
  ASSERT_NE(a, 0u);
  const uint64_t b = f.Lookup(a, "b");
  ASSERT_NE(b, 0u);
  EXPECT_EQ(List(f.fs.get(), kRoot), (std::set<std::string>{"a", "keep"}));
  EXPECT_EQ(List(f.fs.get(), b), (std::set<std::string>{"c"}));
  ASSERT_EQ(f.fs->Unlink(b, "c"), 0);
  EXPECT_EQ(f.Lookup(b, "c"), 0u);
  EXPECT_EQ(List(f.fs.get(), b), (std::set<std::string>{}));
  EXPECT_EQ(f.Lookup(kRoot, "a"), a);
  EXPECT_EQ(f.Lookup(a, "b"), b);
  ASSERT_EQ(f.fs->Rmdir(a, "b"), 0);
  EXPECT_EQ(f.Lookup(a, "b"), 0u);
  EXPECT_EQ(List(f.fs.get(), a), (std::set<std::string>{}));
  struct stat st {};
  EXPECT_EQ(f.fs->GetAttr(a, &st), 0);
  EXPECT_EQ(st.st_nlink, 2u);
  EXPECT_EQ(List(f.fs.get(), kRoot), (std::set<std::string>{"a", "keep"}));
}

TEST(Concurrency, ControlRequestsMoveTheMtimeOfTheDirectoriesAbove) {
  // The kernel keeps listings and checks them against the directory's
  // mtime: a key put through the control socket must move it.
  Fixture f;
  fuse_entry_param e{};
  ASSERT_EQ(f.fs->Mkdir(kMe, kRoot, "d", 0755, &e), 0);
  const uint64_t d = e.ino;
  ASSERT_EQ(f.fs->Fsync(), 0);
  struct stat before {}, root_before {};
  ASSERT_EQ(f.fs->GetAttr(d, &before), 0);
  ASSERT_EQ(f.fs->GetAttr(kRoot, &root_before), 0);
  ctl::Message req, reply;
  req.Set("op", "put");
  req.Set("key", "d/e/new");
  req.Set("value", "v");
  BruceFs::Invalidations inval;
  f.fs->Control(req, &reply, &inval);
  ASSERT_TRUE(reply.GetStatus().ok()) << reply.GetStatus().ToString();
  EXPECT_TRUE(inval.inodes.count(d)) << "the directory's inode is not invalidated";
  struct stat after {}, root_after {};
  ASSERT_EQ(f.fs->GetAttr(d, &after), 0);
  ASSERT_EQ(f.fs->GetAttr(kRoot, &root_after), 0);
  auto ns = [](const struct timespec& t) { return int64_t{t.tv_sec} * 1000000000 + t.tv_nsec; };
  EXPECT_GT(ns(after.st_mtim), ns(before.st_mtim));
  EXPECT_GT(ns(root_after.st_mtim), ns(root_before.st_mtim));
  EXPECT_EQ(List(f.fs.get(), d), (std::set<std::string>{"e"}));
}

// The content of version v of a file: a header naming it, then bytes of
// a length and pattern of its own.
std::string Version(uint64_t v) {
  char head[24];
  std::snprintf(head, sizeof head, "v%010llu;", static_cast<unsigned long long>(v));
  std::string s(head);
  const size_t n = 64 + (v * 2654435761u) % 9000;
  for (size_t j = 0; j < n; ++j) s.push_back(static_cast<char>('a' + (v + j) % 26));
  return s;
}

TEST(Concurrency, ReadersSeeEveryWriteThatReturnedAndKeepGoing) {
  uint64_t seed = std::random_device{}();
  if (const char* e = std::getenv("BRUCE_SEED")) seed = std::strtoull(e, nullptr, 10);
  std::printf("Concurrency seed %llu (BRUCE_SEED replays)\n", static_cast<unsigned long long>(seed));
  Fixture f;
  constexpr int kFiles = 12;
  fuse_entry_param e{};
  ASSERT_EQ(f.fs->Mkdir(kMe, kRoot, "w", 0755, &e), 0);
  const uint64_t w = e.ino;
  std::vector<uint64_t> inos(kFiles);
  std::vector<std::atomic<uint64_t>> version(kFiles);
  for (int k = 0; k < kFiles; ++k) {
    inos[k] = f.Create(w, "f" + std::to_string(k));
    ASSERT_EQ(f.Write(inos[k], Version(k)), 0);
    version[k] = k;
  }
  const uint64_t kept = f.Create(kRoot, "kept");
  ASSERT_EQ(f.Write(kept, "before the snapshot"), 0);
  ASSERT_TRUE(f.fs->TakeSnapshot("base").ok());
  const uint64_t snap = SnapRoot(&f, "base");
  const uint64_t snap_kept = f.Lookup(snap, "kept");
  ASSERT_NE(snap_kept, 0u);

  std::atomic<bool> writing{true};
  std::atomic<uint64_t> reads{0}, lists{0}, snap_reads{0};
  std::thread writer([&] {
    std::mt19937_64 rng(seed);
    for (uint64_t v = kFiles; v < 1500; ++v) {
      const int k = static_cast<int>(rng() % kFiles);
      const std::string data = Version(v);
      // Write the new version whole, then cut what the old one had beyond it.
      EXPECT_EQ(f.Write(inos[k], data), 0);
      struct stat in {}, out {};
      in.st_size = static_cast<off_t>(data.size());
      EXPECT_EQ(f.fs->SetAttr(inos[k], in, FUSE_SET_ATTR_SIZE, &out), 0);
      version[k] = v;
      switch (rng() % 16) {
        case 0: EXPECT_EQ(f.fs->Fsync(), 0); break;
        case 1: {
          const std::string tmp = "t" + std::to_string(v);
          f.Create(w, tmp);
          EXPECT_EQ(f.fs->Rename(w, tmp.c_str(), kRoot, tmp.c_str(), 0), 0);
          EXPECT_EQ(f.fs->Unlink(kRoot, tmp.c_str()), 0);
          break;
        }
        case 2: EXPECT_EQ(f.Write(kept, "after the snapshot"), 0); break;
        default: break;
      }
    }
    writing = false;
  });
  auto read_loop = [&](uint64_t salt) {
    std::mt19937_64 rng(seed ^ salt);
    while (writing) {
      const int k = static_cast<int>(rng() % kFiles);
      const uint64_t at_least = version[k].load();
      const uint64_t ino = f.Lookup(w, "f" + std::to_string(k));
      ASSERT_EQ(ino, inos[k]);
      const std::string got = f.Read(ino, 16384);
      ASSERT_GE(got.size(), 12u);
      const uint64_t v = std::strtoull(got.c_str() + 1, nullptr, 10);
      ASSERT_GE(v, at_least) << "f" << k << " read an older version than a write that returned";
      reads++;
    }
  };
  std::thread r1(read_loop, 1), r2(read_loop, 2);
  std::thread lister([&] {
    std::set<std::string> all;
    for (int k = 0; k < kFiles; ++k) all.insert("f" + std::to_string(k));
    while (writing) {
      std::set<std::string> names = List(f.fs.get(), w);
      for (int k = 0; k < kFiles; ++k) {
        ASSERT_TRUE(names.count("f" + std::to_string(k))) << "f" << k << " missing from a listing";
      }
      lists++;
    }
  });
  std::thread snapper([&] {
    while (writing) {
      ASSERT_EQ(f.Read(snap_kept, 100), "before the snapshot");
      snap_reads++;
    }
  });
  writer.join();
  r1.join();
  r2.join();
  lister.join();
  snapper.join();
  std::printf("while the writer ran: %llu reads, %llu listings, %llu snapshot reads\n",
              static_cast<unsigned long long>(reads.load()),
              static_cast<unsigned long long>(lists.load()),
              static_cast<unsigned long long>(snap_reads.load()));
  EXPECT_GT(reads.load(), 0u);
  EXPECT_GT(lists.load(), 0u);
  EXPECT_GT(snap_reads.load(), 0u);
  for (int k = 0; k < kFiles; ++k) {
    EXPECT_EQ(f.Read(inos[k], 16384), Version(version[k])) << "f" << k;
  }
  EXPECT_TRUE(f.fs->Shutdown().ok());
}

}  // namespace
}  // namespace brucefs
