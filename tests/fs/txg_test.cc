// Tests of BruceFs's transaction groups and listings, calling its
// operations directly (no kernel, no mount) over a store whose Sync can be
// held shut: a deterministic stand-in for a slow disk.
//
//  - an fsync waiting for its group's sync holds up no other operation:
//    while the sync is held shut, reads, stats, writes, creates, opendir
//    and readdir all complete, and the fsync is still waiting;
//  - a sync that fails reaches the fsync caller as EIO (and every later
//    fsync, and unmount), and the mount goes on read-only;
//  - unmount makes every commit durable;
//  - a listing pins a view: no entry twice, no untouched entry skipped,
//    whatever changes meanwhile, also when opendir finds uncommitted changes.
#include <fcntl.h>
#include <gtest/gtest.h>

#include <sys/statvfs.h>

#include <chrono>
#include <cstring>
#include <condition_variable>
#include <future>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "brucefs.h"
#include "fs_fixture.h"

namespace brucefs {
namespace {

using namespace std::chrono_literals;


// Lists a directory handle from *off in calls of a small buffer, at most
// `max` names (or a few more), as the kernel does; *off follows.
std::vector<std::string> ReadSome(BruceFs* fs, uint64_t ino, uint64_t fh, off_t* off, size_t max) {
  std::vector<std::string> out;
  while (out.size() < max) {
    std::string buf;
    EXPECT_EQ(fs->ReadDir(nullptr, ino, fh, 512, *off, false, &buf), 0);
    if (buf.empty()) break;
    for (auto& d : ParseDirents(buf)) {
      out.push_back(std::move(d.name));
      *off = d.off;
    }
  }
  return out;
}

TEST(Txg, ReadsDoNotWaitForAnFsync) {
  Fixture f;
  const uint64_t small = f.Create(kRoot, "small");
  ASSERT_EQ(f.Write(small, "hello"), 0);
  ASSERT_EQ(f.fs->Fsync(), 0);
  const uint64_t durable = f.fs->durable_txn();
  EXPECT_GT(durable, 0u);

  // A large dirty file, then an fsync whose sync cannot finish.
  const uint64_t big = f.Create(kRoot, "big");
  std::string mib(1 << 20, '\0');
  for (int i = 0; i < 16; ++i) {
    std::fill(mib.begin(), mib.end(), static_cast<char>('a' + i));
    ASSERT_EQ(f.Write(big, mib, off_t{i} << 20), 0);
  }
  f.store->Shut();
  const int before = f.store->entered();
  std::atomic<bool> fsync_done{false};
  std::atomic<int> fsync_rc{-1};
  std::thread fsyncer([&] {
    fsync_rc = f.fs->Fsync();
    fsync_done = true;
  });
  ASSERT_TRUE(f.store->WaitEntered(before)) << "the fsync never reached the disk";

  // Everything else goes on while that sync is held.
  auto others = std::async(std::launch::async, [&] {
    EXPECT_EQ(f.Size(big), off_t{16} << 20);
    EXPECT_EQ(f.Read(big, 4096, off_t{5} << 20), std::string(4096, 'f'));
    EXPECT_EQ(f.Lookup(kRoot, "small"), small);
    EXPECT_EQ(f.Read(small, 100), "hello");
    const uint64_t n = f.Create(kRoot, "new");
    EXPECT_EQ(f.Write(n, "written meanwhile"), 0);
    EXPECT_EQ(f.Read(n, 100), "written meanwhile");
    fuse_entry_param e{};
    EXPECT_EQ(f.fs->Mkdir(kMe, kRoot, "dir", 0755, &e), 0);
    // opendir seals the open group (it has changes): no sync either.
    uint64_t fh = 0;
    EXPECT_EQ(f.fs->OpenDir(kRoot, &fh), 0);
    off_t off = 0;
    auto names = ReadSome(f.fs.get(), kRoot, fh, &off, 100);
    f.fs->ReleaseDir(fh);
    std::set<std::string> got(names.begin(), names.end());
    EXPECT_EQ(got, (std::set<std::string>{".", "..", "big", "dir", "new", "small"}));
    struct statvfs sv;
    EXPECT_EQ(f.fs->StatFs(&sv), 0);
    return true;
  });
  const bool finished = others.wait_for(60s) == std::future_status::ready;
  EXPECT_TRUE(finished) << "operations waited for another thread's fsync";
  EXPECT_FALSE(fsync_done.load()) << "the fsync returned before its sync could finish";
  EXPECT_EQ(f.fs->durable_txn(), durable);

  f.store->Open();
  fsyncer.join();
  if (finished) others.get();
  EXPECT_EQ(fsync_rc.load(), 0);
  EXPECT_GT(f.fs->durable_txn(), durable);
  // The fsync'ed group and everything before it are durable.
  auto st = f.db->Stat();
  ASSERT_TRUE(st.ok());
  EXPECT_GE(st->durable_txn, f.fs->durable_txn());
  EXPECT_TRUE(f.fs->Shutdown().ok());
}

TEST(Txg, AFailedSyncIsEioAndTheMountGoesReadOnly) {
  Fixture f;
  const uint64_t a = f.Create(kRoot, "a");
  ASSERT_EQ(f.Write(a, "before"), 0);
  ASSERT_EQ(f.fs->Fsync(), 0);
  ASSERT_EQ(f.Write(a, "after!"), 0);
  f.store->Fail(EIO);
  EXPECT_EQ(f.fs->Fsync(), EIO);
  EXPECT_EQ(f.fs->Fsync(), EIO) << "a sync error is not forgotten";
  // Reads go on; changes are refused once no group can be opened.
  EXPECT_EQ(f.Read(a, 100), "after!");
  const uint64_t b = f.Lookup(kRoot, "b");
  EXPECT_EQ(b, 0u);
  int err = 0;
  for (int i = 0; i < 3 && err == 0; ++i) {
    fuse_entry_param e{};
    err = f.fs->Create(kMe, kRoot, ("c" + std::to_string(i)).c_str(), 0644, O_CREAT, &e);
    if (err == 0) {
      EXPECT_EQ(f.fs->Fsync(), EIO);
    }
  }
  EXPECT_EQ(err, EROFS);
  EXPECT_FALSE(f.fs->Shutdown().ok()) << "unmount must report that the store is not durable";
}

TEST(Txg, UnmountMakesEveryCommitDurable) {
  Fixture f(1);
  const uint64_t a = f.Create(kRoot, "a");
  ASSERT_EQ(f.Write(a, std::string(100000, 'x')), 0);
  uint64_t fh = 0;
  ASSERT_EQ(f.fs->OpenDir(kRoot, &fh), 0);  // a seal that nothing waits for
  f.fs->ReleaseDir(fh);
  ASSERT_EQ(f.Write(a, "y", 5), 0);           // and an open group
  ASSERT_TRUE(f.fs->Shutdown().ok());
  auto st = f.db->Stat();
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->durable_txn, st->txn_id);
  EXPECT_EQ(f.fs->durable_txn(), st->txn_id);
}

TEST(Txg, DirtyMaxSealsWithoutWaitingForItsOwnSync) {
  bruce::Options o;
  o.create_if_missing = true;
  auto store = std::make_shared<GatedStore>();
  auto d = bruce::Db::Open(store, o);
  ASSERT_TRUE(d.ok());
  FsOptions fo;
  fo.txg_timeout_s = 0;
  fo.dirty_max = 1 << 20;
  BruceFs fs(std::move(*d), fo);
  ASSERT_TRUE(fs.Start().ok());
  fuse_entry_param e{};
  ASSERT_EQ(fs.Create(kMe, kRoot, "f", 0644, O_CREAT, &e), 0);
  // The first group past dirty_max syncs in the background (held shut
  // here) and the writer goes on into the next group.
  store->Shut();
  std::string chunk(256 << 10, 'z');
  for (int i = 0; i < 6; ++i) {
    ASSERT_EQ(fs.Write(e.ino, O_WRONLY, chunk.data(), chunk.size(), off_t{i} * (256 << 10)), 0) << i;
  }
  EXPECT_GT(fs.commits(), 0u);
  store->Open();
  EXPECT_EQ(fs.Fsync(), 0);
  EXPECT_TRUE(fs.Shutdown().ok());
}

// No entry twice, no untouched entry skipped, while the directory changes
// between readdir calls; `fsync_first` false: opendir finds the group with
// uncommitted changes and seals it for its view.
void ListingUnderChange(bool fsync_first) {
  Fixture f;
  fuse_entry_param e{};
  ASSERT_EQ(f.fs->Mkdir(kMe, kRoot, "many", 0755, &e), 0);
  const uint64_t dir = e.ino;
  std::mt19937 rng(fsync_first ? 1 : 2);
  std::vector<std::string> names;
  for (int i = 0; i < 1500; ++i) {
    names.push_back("e" + std::to_string(i) + std::string(rng() % 40, 'x'));
    f.Create(dir, names.back());
    if (i % 3 == 0) {
      fuse_entry_param d{};
      ASSERT_EQ(f.fs->Mkdir(kMe, dir, ("d" + std::to_string(i)).c_str(), 0755, &d), 0);
      names.push_back("d" + std::to_string(i));
      f.Create(d.ino, "inside");
    }
  }
  if (fsync_first) {
    ASSERT_EQ(f.fs->Fsync(), 0);
  }
  uint64_t fh = 0;
  ASSERT_EQ(f.fs->OpenDir(dir, &fh), 0);
  off_t off = 0;
  std::vector<std::string> seen = ReadSome(f.fs.get(), dir, fh, &off, 700);
  std::set<std::string> removed;
  for (int i = 0; i < 300; ++i) {
    const std::string& n = names[rng() % names.size()];
    if (!removed.insert(n).second) continue;
    if (n[0] == 'e') {
      EXPECT_EQ(f.fs->Unlink(dir, n.c_str()), 0) << n;
    } else {
      EXPECT_EQ(f.fs->Rename(dir, n.c_str(), kRoot, ("moved" + n).c_str(), 0), 0) << n;
    }
  }
  for (int i = 0; i < 300; ++i) f.Create(dir, "new" + std::to_string(i));
  // Go on from the kernel's offset on the same handle.
  auto rest = ReadSome(f.fs.get(), dir, fh, &off, SIZE_MAX);
  f.fs->ReleaseDir(fh);
  seen.insert(seen.end(), rest.begin(), rest.end());
  std::multiset<std::string> ms(seen.begin(), seen.end());
  for (const auto& n : ms) EXPECT_EQ(ms.count(n), 1u) << n << " listed twice";
  // The view is the directory as opendir found it: every entry once, the
  // removed ones too, and nothing created later.
  std::set<std::string> want(names.begin(), names.end());
  want.insert(".");
  want.insert("..");
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()), want);
  EXPECT_EQ(seen.size(), want.size());
}

TEST(ReadDir, PinnedViewAfterFsync) { ListingUnderChange(true); }
TEST(ReadDir, PinnedViewOfUncommittedChanges) { ListingUnderChange(false); }

std::set<std::string> ListAll(BruceFs* fs, uint64_t ino) {
  uint64_t fh = 0;
  EXPECT_EQ(fs->OpenDir(ino, &fh), 0);
  off_t off = 0;
  auto names = ReadSome(fs, ino, fh, &off, SIZE_MAX);
  fs->ReleaseDir(fh);
  return std::set<std::string>(names.begin(), names.end());
}

// opendir seals the group only when it changed that directory's entries;
// a directory renamed in the group lists its entries at the new path.
TEST(ReadDir, SealsOnlyForAChangedDirectory) {
  Fixture f;
  fuse_entry_param a{}, b{}, sub{};
  ASSERT_EQ(f.fs->Mkdir(kMe, kRoot, "a", 0755, &a), 0);
  ASSERT_EQ(f.fs->Mkdir(kMe, kRoot, "b", 0755, &b), 0);
  ASSERT_EQ(f.fs->Mkdir(kMe, a.ino, "sub", 0755, &sub), 0);
  f.Create(a.ino, "x");
  f.Create(sub.ino, "y");
  ASSERT_EQ(f.fs->Fsync(), 0);
  f.Create(b.ino, "new");  // the group changes b only
  ASSERT_EQ(f.Write(f.Lookup(a.ino, "x"), "data"), 0);  // and x's content
  const uint64_t commits = f.fs->commits();
  EXPECT_EQ(ListAll(f.fs.get(), a.ino), (std::set<std::string>{".", "..", "sub", "x"}));
  EXPECT_EQ(f.fs->commits(), commits) << "a listing of an unchanged directory sealed";
  EXPECT_EQ(ListAll(f.fs.get(), b.ino), (std::set<std::string>{".", "..", "new"}));
  EXPECT_EQ(f.fs->commits(), commits + 1);
  // Renaming a directory moves every listing under it.
  ASSERT_EQ(f.fs->Rename(kRoot, "a", kRoot, "c", 0), 0);
  const uint64_t c = f.Lookup(kRoot, "c");
  const uint64_t csub = f.Lookup(c, "sub");
  ASSERT_NE(csub, 0u);
  EXPECT_EQ(ListAll(f.fs.get(), csub), (std::set<std::string>{".", "..", "y"}));
  EXPECT_EQ(ListAll(f.fs.get(), kRoot), (std::set<std::string>{".", "..", "b", "c"}));
}

// Every offset handed out resumes at the entry after it, on the same
// handle and on a new handle of the same state (telldir/seekdir).
TEST(ReadDir, EveryOffsetResumes) {
  Fixture f;
  for (int i = 0; i < 200; ++i) f.Create(kRoot, "f" + std::to_string(i) + std::string(i % 7, 'y'));
  uint64_t fh = 0;
  ASSERT_EQ(f.fs->OpenDir(kRoot, &fh), 0);
  std::vector<Dirent> all;
  off_t off = 0;
  for (;;) {
    std::string buf;
    ASSERT_EQ(f.fs->ReadDir(nullptr, kRoot, fh, 4096, off, false, &buf), 0);
    if (buf.empty()) break;
    for (auto& d : ParseDirents(buf)) all.push_back(d);
    off = all.back().off;
  }
  ASSERT_EQ(all.size(), 202u);
  uint64_t fh2 = 0;
  ASSERT_EQ(f.fs->OpenDir(kRoot, &fh2), 0);
  for (size_t i = 0; i + 1 < all.size(); ++i) {
    for (uint64_t h : {fh, fh2}) {
      std::string buf;
      ASSERT_EQ(f.fs->ReadDir(nullptr, kRoot, h, 100, all[i].off, false, &buf), 0);
      auto got = ParseDirents(buf);
      ASSERT_FALSE(got.empty()) << "offset " << all[i].off;
      EXPECT_EQ(got[0].name, all[i + 1].name) << "offset " << all[i].off;
    }
  }
  f.fs->ReleaseDir(fh);
  f.fs->ReleaseDir(fh2);
}

}  // namespace
}  // namespace brucefs
