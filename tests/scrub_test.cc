// Scrub: every reachable page read once; bits flipped in chosen pages
// (nodes and data blocks, of the live store and of a snapshot only) are
// reported exactly, with who uses them.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <map>
#include <random>
#include <set>

#include "bruce/db.h"
#include "testutil.h"

namespace bruce {
namespace {

std::unique_ptr<Db> Open(const std::string& path, bool create) {
  Options o;
  o.create_if_missing = create;
  o.durability = Durability::kNoSync;
  auto db = Db::Open(path, o);
  EXPECT_TRUE(db.ok()) << db.status().ToString();
  return std::move(db).value();
}

TEST(Scrub, ReportsExactlyTheDamagedPages) {
  testing::TempDir dir;
  const std::string path = dir.File("s.bruce");
  std::mt19937_64 rng(testing::Seed("Scrub.Damage"));
  {
    auto db = Open(path, true);
    auto w = db->BeginWrite().value();
    char key[32];
    for (int i = 0; i < 20000; ++i) {
      snprintf(key, sizeof key, "key%06d", i);
      ASSERT_TRUE(w->Main()->Put(key, std::string(60, static_cast<char>('a' + rng() % 26))).ok());
    }
    std::string big(200000, 'x');
    for (auto& c : big) c = static_cast<char>(rng());
    ASSERT_TRUE(w->Main()->Put("zbig", big).ok());
    ASSERT_TRUE(w->Commit().ok());
    ASSERT_TRUE(db->CreateSnapshot("old").ok());
    // Rewrite the first half: the old leaves are the snapshot's alone.
    auto w2 = db->BeginWrite().value();
    for (int i = 0; i < 10000; ++i) {
      snprintf(key, sizeof key, "key%06d", i);
      ASSERT_TRUE(w2->Main()->Put(key, "new").ok());
    }
    ASSERT_TRUE(w2->Commit().ok());
  }
  uint32_t page_size = 0;
  std::string root_hash;
  ScrubReport clean;
  clean.want_pages = true;
  {
    auto db = Open(path, false);
    page_size = db->Stat()->page_size;
    root_hash = db->RootHash();
    ASSERT_TRUE(Scrub(db.get(), &clean).ok());
    ASSERT_TRUE(clean.damaged.empty());
  }
  std::set<uint64_t> once;
  for (const auto& p : clean.pages) EXPECT_TRUE(once.insert(p.page).second) << "page read twice";
  // Pick leaves and data blocks (nothing under another pick): two of the
  // live store's data blocks, two leaves only the snapshot has, two leaves
  // the live store has.
  std::set<uint64_t> parents;
  for (const auto& p : clean.pages) parents.insert(p.parent);
  std::vector<uint64_t> data, snap_only, live;
  for (const auto& p : clean.pages) {
    if (parents.count(p.page)) continue;  // not a leaf
    const bool in_live = std::any_of(p.users.begin(), p.users.end(),
                                     [](const std::string& u) { return u.rfind("live", 0) == 0; });
    if (p.data) {
      data.push_back(p.page);
    } else if (!in_live) {
      snap_only.push_back(p.page);
    } else if (p.users.size() == 1) {
      live.push_back(p.page);
    }
  }
  ASSERT_GE(data.size(), 2u);
  ASSERT_GE(snap_only.size(), 2u);
  ASSERT_GE(live.size(), 2u);
  std::set<uint64_t> chosen = {data[0], data[data.size() / 2], snap_only[0], snap_only.back(),
                               live[0], live.back()};
  std::map<uint64_t, uint32_t> length;
  for (const auto& p : clean.pages) length[p.page] = p.stored_len;
  {
    int fd = ::open(path.c_str(), O_RDWR);
    ASSERT_GE(fd, 0);
    for (uint64_t page : chosen) {
      char b;
      // A byte of what is stored (the rest of the last page is padding),
      // past the first 16: a zstd frame's header has bits a decoder need
      // not look at, whose change leaves the content whole.
      const off_t at = static_cast<off_t>(page * page_size + 16 + rng() % (length[page] - 16));
      ASSERT_EQ(::pread(fd, &b, 1, at), 1);
      b = static_cast<char>(b ^ (1 << (rng() % 8)));
      ASSERT_EQ(::pwrite(fd, &b, 1, at), 1);
    }
    ::close(fd);
  }
  auto db = Open(path, false);
  ScrubReport rep;
  ASSERT_TRUE(Scrub(db.get(), &rep).ok());
  std::set<uint64_t> found;
  for (const ScrubDamage& d : rep.damaged) {
    found.insert(d.page);
    EXPECT_FALSE(d.users.empty());
    EXPECT_FALSE(d.error.empty());
    if (d.page == snap_only[0]) {
      EXPECT_EQ(d.users, std::vector<std::string>{"snapshot old tree main"});
    }
    if (d.page == data[0]) {
      EXPECT_EQ(d.key_lo, "zbig") << "a data block names its value's key";
      EXPECT_TRUE(d.data);
    }
  }
  EXPECT_EQ(found, chosen);
  EXPECT_EQ(rep.nodes + rep.data_blocks, clean.nodes + clean.data_blocks);
  EXPECT_EQ(db->RootHash(), root_hash) << "scrub changes nothing";
}

}  // namespace
}  // namespace bruce
