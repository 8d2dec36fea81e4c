// Bit flips anywhere in the file: every open, get, scan and check afterwards
// either returns the right data or reports Corruption/IOError. Never a
// crash, a hang, or wrong bytes.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <random>

#include "bruce/db.h"
#include "format/hash.h"
#include "testutil.h"

namespace bruce {
namespace {

using Model = std::map<std::string, std::string>;

std::string ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

void WriteFile(const std::string& path, const std::string& data) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(data.data(), static_cast<std::streamsize>(data.size()));
}

bool Acceptable(const Status& s) {
  return s.code() == Code::kCorruption || s.code() == Code::kIOError;
}

TEST(Corruption, RandomBitFlipsNeverYieldWrongData) {
  std::mt19937_64 rng(testing::Seed("Corruption.BitFlips"));
  testing::TempDir dir;
  std::string path = dir.File("store.bruce");
  // Two commits: a flip in the newest meta page may fall back to the older.
  Model models[2];
  uint64_t txns[2];
  {
    Options o;
    o.create_if_missing = true;
    auto db = Db::Open(path, o);
    ASSERT_TRUE(db.ok());
    Model m;
    for (int c = 0; c < 2; c++) {
      auto w = (*db)->BeginWrite();
      for (int i = 0; i < 1500; i++) {
        std::string k = "k" + std::to_string(rng() % 3000);
        std::string v(rng() % 200, static_cast<char>('a' + rng() % 26));
        ASSERT_TRUE((*w)->Main()->Put(k, v).ok());
        m[k] = v;
      }
      txns[c] = (*w)->id();
      ASSERT_TRUE((*w)->Commit().ok());
      models[c] = m;
    }
  }
  const std::string pristine = ReadFile(path);
  uint64_t opened = 0, refused = 0, detected = 0;
  for (int round = 0; round < 400; round++) {
    std::string img = pristine;
    int flips = 1 + static_cast<int>(rng() % 4);
    // Half the rounds aim at the pages in use (the start of the file).
    for (int f = 0; f < flips; f++) {
      size_t span = round % 2 ? img.size() : std::min<size_t>(img.size(), 64 * 4096);
      size_t at = rng() % span;
      img[at] = static_cast<char>(img[at] ^ (1 << (rng() % 8)));
    }
    WriteFile(path, img);
    Options o;
    auto db = Db::Open(path, o);
    if (!db.ok()) {
      ASSERT_TRUE(Acceptable(db.status())) << db.status().ToString();
      refused++;
      continue;
    }
    opened++;
    auto r = (*db)->BeginRead();
    ASSERT_TRUE(r.ok());
    uint64_t id = (*r)->id();
    ASSERT_TRUE(id == txns[0] || id == txns[1]) << id;
    const Model& m = models[id == txns[1] ? 1 : 0];
    bool saw_error = false;
    for (const auto& [k, v] : m) {
      std::string got;
      Status s = (*r)->Main()->Get(k, &got);
      if (s.ok()) {
        ASSERT_EQ(got, v) << "wrong bytes for " << k;
      } else {
        ASSERT_TRUE(Acceptable(s)) << s.ToString();
        saw_error = true;
      }
    }
    auto c = (*r)->Main()->NewCursor();
    for (c->First(); c->Valid(); c->Next()) {
      auto it = m.find(std::string(c->key()));
      ASSERT_NE(it, m.end()) << "scan returned a key that was never written";
      ASSERT_EQ(c->value(), it->second);
    }
    if (!c->status().ok()) {
      ASSERT_TRUE(Acceptable(c->status())) << c->status().ToString();
      saw_error = true;
    }
    CheckReport rep;
    Status cs = (*db)->Check(&rep);
    ASSERT_TRUE(cs.ok() || Acceptable(cs)) << cs.ToString();
    if (saw_error) {
      EXPECT_FALSE(rep.ok()) << "reads failed but check found nothing";
    }
    if (!rep.ok()) detected++;
  }
  std::fprintf(stderr, "Corruption: %llu opened, %llu refused, %llu detected by check\n",
               (unsigned long long)opened, (unsigned long long)refused,
               (unsigned long long)detected);
  EXPECT_GT(refused + detected, 0u);
}

TEST(Corruption, NewerFormatIsRefusedClearly) {
  testing::TempDir dir;
  std::string path = dir.File("store.bruce");
  {
    Options o;
    o.create_if_missing = true;
    ASSERT_TRUE(Db::Open(path, o).ok());
  }
  // Rewrite both meta slots as format version 99 with valid checksums, the
  // way a future bruce would write them.
  std::string img = ReadFile(path);
  for (size_t slot = 0; slot < 2; slot++) {
    char* p = img.data() + slot * 4096;
    if (p[0] != 'b') continue;  // the slot never written
    p[8] = 99;
    uint64_t sum = format::Checksum64(std::string_view(p, 128));
    for (int i = 0; i < 8; i++) p[128 + i] = static_cast<char>(sum >> (8 * i));
  }
  WriteFile(path, img);
  auto db = Db::Open(path, Options{});
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.status().code(), Code::kNotSupported);
  EXPECT_NE(db.status().message().find("newer"), std::string::npos) << db.status().ToString();
}

// Regression: damage to the newest commit's tree made open fall back to the
// commit before without a word, and check then said the store was fine.
TEST(Corruption, FallingBackToTheOlderCommitIsReported) {
  testing::TempDir dir;
  std::string path = dir.File("store.bruce");
  {
    Options o;
    o.create_if_missing = true;
    auto db = Db::Open(path, o);
    ASSERT_TRUE(db.ok());
    for (int c = 0; c < 2; c++) {
      auto w = (*db)->BeginWrite();
      for (int i = 0; i < 300; i++) ASSERT_TRUE((*w)->Main()->Put("k" + std::to_string(i + c * 1000), "v").ok());
      ASSERT_TRUE((*w)->Commit().ok());
    }
  }
  // Txn 3 wrote slot 1; its catalog root page is at offset 40 of that slot.
  std::string img = ReadFile(path);
  uint64_t root = 0;
  for (int i = 7; i >= 0; i--) root = (root << 8) | static_cast<unsigned char>(img[4096 + 40 + i]);
  ASSERT_GT(root, 1u);
  for (int i = 0; i < 64; i++) img[root * 4096 + 20 + i] ^= 0x5a;
  WriteFile(path, img);
  auto db = Db::Open(path, Options{});
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  auto st = (*db)->Stat();
  EXPECT_EQ(st->txn_id, 2u);
  EXPECT_NE(st->recovery_note.find("newest commit"), std::string::npos) << st->recovery_note;
  CheckReport rep;
  ASSERT_TRUE((*db)->Check(&rep).ok());
  ASSERT_FALSE(rep.ok());
  EXPECT_NE(rep.problems[0].find("txn 3"), std::string::npos) << rep.problems[0];
}

TEST(Corruption, NotABruceFile) {
  testing::TempDir dir;
  std::string path = dir.File("notes.txt");
  WriteFile(path, std::string(10000, 'x'));
  auto db = Db::Open(path, Options{});
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.status().code(), Code::kCorruption) << db.status().ToString();
  EXPECT_EQ(ReadFile(path), std::string(10000, 'x'));  // untouched
}

}  // namespace

}  // namespace bruce
