// Options::direct_io: a store in a file read and written with O_DIRECT
// holds exactly what the model says, across reopens with and without it,
// and passes check. Every request the engine makes (nodes of any length,
// meta slots, data blocks, the space log) goes through the aligned path.
#include <gtest/gtest.h>

#include <map>
#include <random>

#include "bruce/db.h"
#include "testutil.h"

namespace bruce {
namespace {

using Model = std::map<std::string, std::string>;

std::unique_ptr<Db> OpenDirect(const std::string& path, bool direct, bool create) {
  Options o;
  o.create_if_missing = create;
  o.direct_io = direct;
  o.cache_bytes = 256 << 10;  // small: most reads go to the file
  auto db = Db::Open(path, o);
  EXPECT_TRUE(db.ok()) << db.status().ToString();
  return db.ok() ? std::move(*db) : nullptr;
}

void ExpectModel(Db* db, const Model& model) {
  auto r = db->BeginRead();
  ASSERT_TRUE(r.ok());
  Model got;
  auto c = (*r)->Main()->NewCursor();
  for (c->First(); c->Valid(); c->Next()) got.emplace(c->key(), c->value());
  ASSERT_TRUE(c->status().ok()) << c->status().ToString();
  ASSERT_EQ(got.size(), model.size());
  EXPECT_TRUE(got == model);
  for (const auto& [k, v] : model) {
    std::string part;
    ASSERT_TRUE((*r)->Main()->ReadAt(k, v.size() / 3, 5000, &part).ok());
    ASSERT_EQ(part, v.substr(v.size() / 3, 5000));
  }
}

TEST(DirectIo, RoundTripsAcrossReopensWithAndWithout) {
  std::mt19937_64 rng(testing::Seed("DirectIo.RoundTrips"));
  testing::TempDir dir;
  const std::string path = dir.File("direct.bruce");
  Model model;
  for (int round = 0; round < 6; round++) {
    const bool direct = round % 3 != 2;  // mostly direct; every third round not
    auto db = OpenDirect(path, direct, round == 0);
    ASSERT_NE(db, nullptr);
    ExpectModel(db.get(), model);
    auto w = db->BeginWrite();
    ASSERT_TRUE(w.ok());
    for (int i = 0; i < 400; i++) {
      std::string k = "k" + std::to_string(rng() % 700);
      switch (rng() % 4) {
        case 0:
          if ((*w)->Main()->Delete(k).ok()) model.erase(k);
          break;
        case 1: {  // a byte range of a value, often a large one
          uint64_t off = rng() % 30000;
          std::string data(rng() % 9000, static_cast<char>('A' + rng() % 26));
          ASSERT_TRUE((*w)->Main()->WriteAt(k, off, data).ok());
          std::string& v = model[k];
          if (v.size() < off + data.size()) v.resize(off + data.size(), '\0');
          v.replace(off, data.size(), data);
          break;
        }
        default: {
          std::string v(rng() % 300, static_cast<char>('a' + rng() % 26));
          ASSERT_TRUE((*w)->Main()->Put(k, v).ok());
          model[k] = v;
        }
      }
    }
    ASSERT_TRUE((*w)->Commit().ok());
    ExpectModel(db.get(), model);
    testing::ExpectClean(db.get());
  }
}

}  // namespace
}  // namespace bruce
