// Scrub: every reachable page read once; bits flipped in chosen pages
// (nodes and data blocks, of the live store and of a snapshot only) are
// reported exactly, with who uses them.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
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

// Builds a store whose live tree and snapshot "old" differ (the first half
// of the keys rewritten), and with snapshot_now a snapshot "now" of the live
// one.
void BuildStore(const std::string& path, std::mt19937_64& rng, bool snapshot_now) {
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
  auto w2 = db->BeginWrite().value();
  for (int i = 0; i < 10000; ++i) {
    snprintf(key, sizeof key, "key%06d", i);
    ASSERT_TRUE(w2->Main()->Put(key, "new").ok());
  }
  ASSERT_TRUE(w2->Commit().ok());
  if (snapshot_now) {
    ASSERT_TRUE(db->CreateSnapshot("now").ok());
  }
}

// Flips one bit of a byte the page stores (the rest of the last page is
// padding), past the first 16: a zstd frame's header has bits a decoder
// need not look at, whose change leaves the content whole.
// Eight bits at random places of the page's stored bytes (past its first
// 16): one bit alone can land where a zstd frame's decoder does not look
// (its window size, say), and the page would still read as it was.
void Flip(const std::string& path, uint64_t page, uint32_t page_size, uint32_t len,
          std::mt19937_64& rng) {
  int fd = ::open(path.c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  for (int i = 0; i < 8; ++i) {
    char b;
    const off_t at = static_cast<off_t>(page * page_size + 16 + rng() % (len - 16));
    ASSERT_EQ(::pread(fd, &b, 1, at), 1);
    b = static_cast<char>(b ^ (1 << (rng() % 8)));
    ASSERT_EQ(::pwrite(fd, &b, 1, at), 1);
  }
  ::close(fd);
}

TEST(Scrub, ReportsExactlyTheDamagedPages) {
  testing::TempDir dir;
  const std::string path = dir.File("s.bruce");
  std::mt19937_64 rng(testing::Seed("Scrub.Damage"));
  BuildStore(path, rng, /*snapshot_now=*/false);
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
  for (uint64_t page : chosen) Flip(path, page, page_size, length[page], rng);
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

// Sends `snap` (from base) of the store at `from` into `to`.
void Replicate(const std::string& from, const std::string& to, const std::string& snap,
               const std::string& base) {
  auto src = Open(from, false);
  auto dst = Open(to, true);
  std::string stream;
  ASSERT_TRUE(Send(src.get(), snap, base, [&](std::string_view p) {
                stream.append(p);
                return Status::OK();
              }).ok());
  size_t pos = 0;
  std::string name;
  Status s = Receive(dst.get(),
                     [&](char* buf, size_t n, size_t* got) {
                       *got = std::min(n, stream.size() - pos);
                       std::memcpy(buf, stream.data() + pos, *got);
                       pos += *got;
                       return Status::OK();
                     },
                     ReceiveOptions{}, &name);
  ASSERT_TRUE(s.ok()) << s.ToString();
}

TEST(Scrub, RepairsFromAReplicaWhatItCan) {
  testing::TempDir dir;
  const std::string path = dir.File("s.bruce"), full = dir.File("full.bruce"),
                    partial = dir.File("partial.bruce");
  std::mt19937_64 rng(testing::Seed("Scrub.Repair"));
  BuildStore(path, rng, /*snapshot_now=*/true);
  // A replica with both snapshots, and one with only "now".
  Replicate(path, full, "old", "");
  Replicate(path, full, "now", "old");
  Replicate(path, partial, "now", "");
  ScrubReport clean;
  clean.want_pages = true;
  uint32_t ps = 0;
  std::string root;
  {
    auto db = Open(path, false);
    ps = db->Stat()->page_size;
    root = db->RootHash();
    ASSERT_TRUE(Scrub(db.get(), &clean).ok());
  }
  std::set<uint64_t> parents;
  for (const auto& p : clean.pages) parents.insert(p.parent);
  // Damage: leaves and data blocks of both versions, and one branch.
  std::vector<const ScrubReport::Page*> leaves, branches;
  for (const auto& p : clean.pages) {
    if (p.users.size() == 1 && p.users[0].find(" tree main") != std::string::npos) {
      (parents.count(p.page) ? branches : leaves).push_back(&p);
    }
  }
  ASSERT_GE(leaves.size(), 8u);
  ASSERT_FALSE(branches.empty());
  std::set<uint64_t> chosen;
  for (int i = 0; i < 8; ++i) chosen.insert(leaves[rng() % leaves.size()]->page);
  std::map<uint64_t, const ScrubReport::Page*> by_page;
  for (const auto& p : clean.pages) by_page[p.page] = &p;
  for (uint64_t page : chosen) Flip(path, page, ps, by_page[page]->stored_len, rng);
  {
    auto db = Open(path, false);  // (a writer: repair writes)
    ScrubReport rep;
    ASSERT_TRUE(Scrub(db.get(), &rep).ok());
    ASSERT_EQ(rep.damaged.size(), chosen.size());
    // The partial replica lacks snapshot "old": those pages stay damaged.
    auto replica = Open(partial, false);
    ASSERT_TRUE(RepairScrubbed(db.get(), &rep, ReplicaStoreSource(replica.get())).ok());
    size_t left = 0;
    for (const ScrubDamage& d : rep.damaged) {
      const bool old_only = d.users.size() == 1 && d.users[0] == "snapshot old tree main";
      if (old_only) {
        EXPECT_FALSE(d.repaired);
        EXPECT_NE(d.repair_note.find("no snapshot old"), std::string::npos) << d.repair_note;
        ++left;
      } else {
        EXPECT_TRUE(d.repaired) << "page " << d.page << ": " << d.repair_note;
      }
    }
    ScrubReport again;
    ASSERT_TRUE(Scrub(db.get(), &again).ok());
    EXPECT_EQ(again.damaged.size(), left);
    // The full replica has the rest.
    auto whole = Open(full, false);
    ASSERT_TRUE(RepairScrubbed(db.get(), &again, ReplicaStoreSource(whole.get())).ok());
    for (const ScrubDamage& d : again.damaged) EXPECT_TRUE(d.repaired) << d.repair_note;
  }
  {
    auto db = Open(path, false);
    ScrubReport rep;
    ASSERT_TRUE(Scrub(db.get(), &rep).ok());
    EXPECT_TRUE(rep.damaged.empty());
    CheckReport check;
    ASSERT_TRUE(db->Check(&check).ok());
    EXPECT_TRUE(check.ok()) << check.problems.front();
    EXPECT_EQ(db->RootHash(), root) << "a repair changes no hash";
  }
  // A damaged branch (stored raw): its children's locations are in the
  // page, after its logical bytes. Damage among the logical bytes is
  // repaired from the replica's copy and the page's own locations; damage
  // to the locations is reported and left.
  const ScrubReport::Page* branch = nullptr;
  std::string raw;
  for (const ScrubReport::Page* b : branches) {
    raw.assign(b->stored_len, '\0');
    int fd = ::open(path.c_str(), O_RDONLY);
    ASSERT_EQ(::pread(fd, raw.data(), raw.size(), static_cast<off_t>(b->page * ps)),
              static_cast<ssize_t>(raw.size()));
    ::close(fd);
    if (raw[0] == 2) {  // a branch's kind byte: not a zstd frame
      branch = b;
      break;
    }
  }
  ASSERT_NE(branch, nullptr) << "no branch stored raw";
  const uint32_t logical = static_cast<uint8_t>(raw[8]) | static_cast<uint8_t>(raw[9]) << 8 |
                           static_cast<uint8_t>(raw[10]) << 16 |
                           static_cast<uint32_t>(static_cast<uint8_t>(raw[11])) << 24;
  ASSERT_LT(logical + 8, branch->stored_len);
  auto damage_at = [&](uint32_t off) {
    int fd = ::open(path.c_str(), O_RDWR);
    char b;
    const off_t at = static_cast<off_t>(branch->page * ps + off);
    ASSERT_EQ(::pread(fd, &b, 1, at), 1);
    b = static_cast<char>(b ^ 0x10);
    ASSERT_EQ(::pwrite(fd, &b, 1, at), 1);
    ::close(fd);
  };
  auto whole = Open(full, false);
  damage_at(16 + static_cast<uint32_t>(rng() % (logical - 16)));
  {
    auto db = Open(path, false);
    ScrubReport rep;
    ASSERT_TRUE(Scrub(db.get(), &rep).ok());
    ASSERT_EQ(rep.damaged.size(), 1u);
    ASSERT_TRUE(RepairScrubbed(db.get(), &rep, ReplicaStoreSource(whole.get())).ok());
    EXPECT_TRUE(rep.damaged[0].repaired) << rep.damaged[0].repair_note;
    ScrubReport again;
    ASSERT_TRUE(Scrub(db.get(), &again).ok());
    EXPECT_TRUE(again.damaged.empty());
    EXPECT_EQ(db->RootHash(), root);
  }
  damage_at(logical + static_cast<uint32_t>(rng() % (branch->stored_len - 8 - logical)));
  auto db = Open(path, false);
  ScrubReport rep;
  ASSERT_TRUE(Scrub(db.get(), &rep).ok());
  ASSERT_EQ(rep.damaged.size(), 1u);
  ASSERT_TRUE(RepairScrubbed(db.get(), &rep, ReplicaStoreSource(whole.get())).ok());
  EXPECT_FALSE(rep.damaged[0].repaired);
  EXPECT_NE(rep.damaged[0].repair_note.find("locators (or checksum) are damaged"), std::string::npos)
      << rep.damaged[0].repair_note;
}

}  // namespace
}  // namespace bruce
