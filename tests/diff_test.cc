// Diff (stream/diff.h): against a model of both versions, for plain trees
// (small and large values, compressed nodes) and trees with duplicate keys
// (overflow chains included); and its cost: a few changes in a large tree
// read O(changes x depth) nodes.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>

#include "bruce/db.h"
#include "testutil.h"

namespace bruce {
namespace {

// "+key", "-key", "Mkey" (with the pair's value in a dup tree) in order.
std::vector<std::string> RunDiff(Db* db, const std::string& a, const std::string& b,
                                 const std::string& tree, DiffStats* stats = nullptr) {
  auto ra = a.empty() ? db->BeginRead() : db->BeginRead(a);
  auto rb = b.empty() ? db->BeginRead() : db->BeginRead(b);
  EXPECT_TRUE(ra.ok() && rb.ok());
  auto ta = (*ra)->OpenTree(tree);
  auto tb = (*rb)->OpenTree(tree);
  EXPECT_TRUE(ta.ok() && tb.ok());
  std::vector<std::string> out;
  Status s = Diff(
      *ta, *tb,
      [&](const DiffEntry& e) {
        const char k = e.kind == DiffEntry::kAdded ? '+' : e.kind == DiffEntry::kRemoved ? '-' : 'M';
        std::string line = std::string(1, k) + std::string(e.key);
        if ((*tb)->dupsort()) line += "=" + std::string(k == '-' ? e.old_value : e.new_value);
        out.push_back(line);
        return true;
      },
      stats);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return out;
}

std::vector<std::string> ModelDiff(const std::map<std::string, std::string>& a,
                                   const std::map<std::string, std::string>& b) {
  std::set<std::string> keys;
  for (const auto& [k, v] : a) keys.insert(k);
  for (const auto& [k, v] : b) keys.insert(k);
  std::vector<std::string> out;
  for (const std::string& k : keys) {
    auto ia = a.find(k), ib = b.find(k);
    if (ia == a.end()) {
      out.push_back("+" + k);
    } else if (ib == b.end()) {
      out.push_back("-" + k);
    } else if (ia->second != ib->second) {
      out.push_back("M" + k);
    }
  }
  return out;
}

TEST(Diff, MatchesAModelOfBothVersions) {
  const uint64_t seed = testing::Seed("Diff.Model");
  std::mt19937_64 rng(seed);
  for (int round = 0; round < 12; ++round) {
    auto db = testing::OpenMemoryDb();
    const bool compressed = round % 2 == 1;
    std::map<std::string, std::string> model;
    auto value = [&]() {
      const uint64_t r = rng() % 100;
      // mostly small, some past page_size/4 (chunk trees), some compressible
      const size_t n = r < 5 ? 5000 + rng() % 20000 : rng() % 300;
      std::string v(n, 'a' + static_cast<char>(rng() % 26));
      for (size_t i = 0; i < n; i += 7) v[i] = static_cast<char>(rng());
      return v;
    };
    {
      auto w = db->BeginWrite();
      TreeOptions to;
      to.compression_level = compressed ? 3 : 0;
      auto t = (*w)->CreateTree("t", to);
      ASSERT_TRUE(t.ok());
      const int n = 200 + static_cast<int>(rng() % 3000);
      for (int i = 0; i < n; ++i) {
        std::string k = "k" + std::to_string(rng() % 100000);
        model[k] = value();
        ASSERT_TRUE((*t)->Put(k, model[k]).ok());
      }
      ASSERT_TRUE((*w)->Commit().ok());
    }
    ASSERT_TRUE(db->CreateSnapshot("a").ok());
    const auto before = model;
    // 0 to a few hundred changes: puts, deletes, rewrites, byte-range writes
    const int changes = round == 0 ? 0 : static_cast<int>(rng() % (round * 40));
    {
      auto w = db->BeginWrite();
      auto t = (*w)->OpenTree("t");
      ASSERT_TRUE(t.ok());
      for (int i = 0; i < changes; ++i) {
        const uint64_t op = rng() % 10;
        if (op < 4 || model.empty()) {
          std::string k = "k" + std::to_string(rng() % 100000);
          model[k] = value();
          ASSERT_TRUE((*t)->Put(k, model[k]).ok());
        } else {
          auto it = model.begin();
          std::advance(it, static_cast<long>(rng() % model.size()));
          if (op < 7) {
            ASSERT_TRUE((*t)->Delete(it->first).ok());
            model.erase(it);
          } else if (op < 9) {
            it->second = value();
            ASSERT_TRUE((*t)->Put(it->first, it->second).ok());
          } else if (!it->second.empty()) {
            const uint64_t off = rng() % it->second.size();
            ASSERT_TRUE((*t)->WriteAt(it->first, off, "X").ok());
            it->second[off] = 'X';
          }
        }
      }
      ASSERT_TRUE((*w)->Commit().ok());
    }
    ASSERT_TRUE(db->CreateSnapshot("b").ok());
    EXPECT_EQ(RunDiff(db.get(), "a", "b", "t"), ModelDiff(before, model))
        << "seed " << seed << " round " << round;
    EXPECT_EQ(RunDiff(db.get(), "b", "", "t"), std::vector<std::string>{}) << "b against live";
    // The other way round: added and removed swap.
    std::vector<std::string> back = ModelDiff(model, before);
    EXPECT_EQ(RunDiff(db.get(), "b", "a", "t"), back) << "seed " << seed << " round " << round;
  }
}

TEST(Diff, TreesWithDuplicateKeys) {
  const uint64_t seed = testing::Seed("Diff.Dup");
  std::mt19937_64 rng(seed);
  auto db = testing::OpenMemoryDb();
  std::set<std::pair<std::string, std::string>> model;
  TreeOptions to;
  to.dupsort = true;
  auto put = [&](Tree* t, int n, int keys) {
    for (int i = 0; i < n; ++i) {
      // few keys, many values: leaves overflow into chains
      std::string k = "k" + std::to_string(rng() % keys);
      std::string v = "v" + std::to_string(rng() % 100000) + std::string(rng() % 40, 'x');
      model.insert({k, v});
      ASSERT_TRUE(t->Put(k, v).ok());
    }
  };
  {
    auto w = db->BeginWrite();
    auto t = (*w)->CreateTree("d", to);
    ASSERT_TRUE(t.ok());
    put(*t, 4000, 12);
    ASSERT_TRUE((*w)->Commit().ok());
  }
  ASSERT_TRUE(db->CreateSnapshot("a").ok());
  const auto before = model;
  {
    auto w = db->BeginWrite();
    auto t = (*w)->OpenTree("d");
    put(*t, 300, 12);
    for (int i = 0; i < 200 && !model.empty(); ++i) {
      auto it = model.begin();
      std::advance(it, static_cast<long>(rng() % model.size()));
      ASSERT_TRUE((*t)->Delete(it->first, it->second).ok());
      model.erase(it);
    }
    ASSERT_TRUE((*w)->Commit().ok());
  }
  std::vector<std::string> want;
  std::set<std::pair<std::string, std::string>> all = before;
  all.insert(model.begin(), model.end());
  for (const auto& p : all) {
    const bool in_a = before.count(p) != 0, in_b = model.count(p) != 0;
    if (in_a != in_b) want.push_back((in_b ? "+" : "-") + p.first + "=" + p.second);
  }
  EXPECT_EQ(RunDiff(db.get(), "a", "", "d"), want) << "seed " << seed;
}

TEST(Diff, CostFollowsTheChanges) {
  auto db = testing::OpenMemoryDb();
  const int n = static_cast<int>(testing::Steps(1000000));
  {
    auto w = db->BeginWrite();
    char key[32];
    for (int i = 0; i < n; ++i) {
      snprintf(key, sizeof key, "key%012d", i);
      ASSERT_TRUE((*w)->Main()->Put(key, std::string(100, 'v'), kAppend).ok());
    }
    ASSERT_TRUE((*w)->Commit().ok());
  }
  ASSERT_TRUE(db->CreateSnapshot("a").ok());
  std::mt19937_64 rng(testing::Seed("Diff.Cost"));
  std::set<std::string> changed;
  {
    auto w = db->BeginWrite();
    char key[32];
    while (changed.size() < 100) {
      snprintf(key, sizeof key, "key%012d", static_cast<int>(rng() % n));
      if (changed.insert(key).second) {
        ASSERT_TRUE((*w)->Main()->Put(key, "new").ok());
      }
    }
    ASSERT_TRUE((*w)->Commit().ok());
  }
  auto r = db->BeginRead();
  const uint32_t depth = (*r)->Main()->Depth().value();
  DiffStats stats;
  const auto d = RunDiff(db.get(), "a", "", "main", &stats);
  ASSERT_EQ(d.size(), 100u);
  for (const auto& line : d) {
    EXPECT_EQ(line[0], 'M');
    EXPECT_TRUE(changed.count(line.substr(1))) << line;
  }
  // Each change reads at most its path on each side.
  EXPECT_LE(stats.nodes_read, 2u * 100u * depth)
      << n << " keys, depth " << depth << ", " << stats.subtrees_skipped << " subtrees skipped";
  std::printf("diff of %d keys with 100 changed: %llu nodes read (depth %u), %llu subtrees skipped\n",
              n, static_cast<unsigned long long>(stats.nodes_read), depth,
              static_cast<unsigned long long>(stats.subtrees_skipped));
}

}  // namespace
}  // namespace bruce
