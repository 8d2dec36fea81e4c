// Tree::CloneRange: values share data blocks, counted in the clone table.
// A random mix of clones, writes, truncates, punched ranges, deletes,
// renames, snapshots and rollbacks is compared with a model of the values'
// bytes, and `check` (which recounts every shared block against the table)
// must pass after each commit; a clone of a large value costs metadata
// only; a store with clones sends, receives and rolls back whole.
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <random>
#include <string>

#include "bruce/db.h"
#include "testutil.h"

namespace bruce {
namespace {

using testing::ExpectClean;
using Model = std::map<std::string, std::string>;

void ExpectModel(Db* db, const Model& m, const std::string& snap, const std::string& what) {
  auto r = snap.empty() ? db->BeginRead() : db->BeginRead(snap);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  Tree* t = (*r)->Main();
  ASSERT_EQ(t->Count().value(), m.size()) << what;
  for (const auto& [k, v] : m) {
    std::string got;
    Status s = t->ReadAt(k, 0, v.size() + 10, &got);
    ASSERT_TRUE(s.ok()) << what << " " << k << ": " << s.ToString();
    ASSERT_EQ(got.size(), v.size()) << what << " " << k;
    ASSERT_TRUE(got == v) << what << " " << k << ": bytes differ";
  }
}

std::string Bytes(std::mt19937_64& g, size_t n) {
  std::string s(n, '\0');
  char c = static_cast<char>('a' + g() % 26);
  for (size_t i = 0; i < n; i++) s[i] = g() % 8 == 0 ? static_cast<char>(g()) : c;
  return s;
}

TEST(Clone, RandomAgainstModel) {
  uint64_t seed = testing::Seed("Clone.Random");
  std::mt19937_64 g(seed);
  auto db = testing::OpenMemoryDb();
  const uint64_t cs = 4096;
  Model live;
  std::map<std::string, Model> snaps;
  uint64_t clones = 0, shared_chunks_possible = 0;
  const uint64_t steps = testing::Steps(1500);
  for (uint64_t step = 0; step < steps; step++) {
    auto w = db->BeginWrite();
    ASSERT_TRUE(w.ok());
    Tree* t = (*w)->Main();
    Model next = live;
    int ops = 1 + static_cast<int>(g() % 6);
    for (int i = 0; i < ops; i++) {
      const std::string k = "f" + std::to_string(g() % 6);
      const bool has = next.count(k) != 0;
      switch (g() % 9) {
        case 0:
        case 1:
        case 2: {  // clone from another value (or this one, not overlapping)
          const std::string from = "f" + std::to_string(g() % 6);
          if (!next.count(from)) {
            ASSERT_EQ(t->CloneRange(t, from, 0, k, 0, 10).status().code(), Code::kNotFound);
            break;
          }
          const std::string src = next[from];
          // Often chunk-aligned on both sides (shared), else anywhere (copied).
          uint64_t so = g() % 2 ? (g() % 12) * cs : g() % (src.size() + 1);
          uint64_t dofs = g() % 2 ? (g() % 12) * cs + so % cs : g() % (14 * cs);
          uint64_t len = g() % 3 == 0 ? UINT64_MAX : g() % (10 * cs);
          uint64_t n = so >= src.size() ? 0 : std::min<uint64_t>(len, src.size() - so);
          auto r = t->CloneRange(t, from, so, k, dofs, len);
          if (from == k && n > 0 && so < dofs + n && dofs < so + n) {
            ASSERT_EQ(r.status().code(), Code::kInvalidArgument);
            break;
          }
          ASSERT_TRUE(r.ok()) << r.status().ToString();
          ASSERT_EQ(r.value(), n);
          if (n > 0) {
            std::string& dst = next[k];
            if (dst.size() < dofs + n) dst.resize(dofs + n, '\0');
            std::memcpy(dst.data() + dofs, src.data() + so, n);
          }
          clones++;
          if (so % cs == dofs % cs && n >= 2 * cs) shared_chunks_possible++;
          break;
        }
        case 3: {  // write
          uint64_t off = g() % (12 * cs);
          std::string data = Bytes(g, g() % (3 * cs));
          ASSERT_TRUE(t->WriteAt(k, off, data).ok());
          std::string& v = next[k];
          if (v.size() < off + data.size()) v.resize(off + data.size(), '\0');
          std::memcpy(v.data() + off, data.data(), data.size());
          break;
        }
        case 4: {  // truncate
          uint64_t size = g() % (14 * cs);
          Status st = t->Truncate(k, size);
          if (!has) {
            ASSERT_TRUE(st.IsNotFound()) << st.ToString();
            break;
          }
          ASSERT_TRUE(st.ok()) << st.ToString();
          next[k].resize(size, '\0');
          break;
        }
        case 5: {  // punch
          uint64_t off = g() % (12 * cs), len = g() % (4 * cs);
          Status st = t->ZeroRange(k, off, len);
          if (!has) {
            ASSERT_TRUE(st.IsNotFound()) << st.ToString();
            break;
          }
          ASSERT_TRUE(st.ok()) << st.ToString();
          std::string& v = next[k];
          for (uint64_t b = off; b < std::min<uint64_t>(v.size(), off + len); b++) v[b] = '\0';
          break;
        }
        case 6: {  // delete
          Status st = t->Delete(k);
          ASSERT_TRUE(has ? st.ok() : st.IsNotFound()) << st.ToString();
          next.erase(k);
          break;
        }
        case 7: {  // rename
          const std::string to = "f" + std::to_string(g() % 6);
          Status st = t->Rename(k, to);
          if (!has) {
            ASSERT_TRUE(st.IsNotFound()) << st.ToString();
            break;
          }
          ASSERT_TRUE(st.ok()) << st.ToString();
          std::string moved = next[k];
          next.erase(k);
          next[to] = moved;
          break;
        }
        default: {  // snapshots
          if (g() % 2 && snaps.size() < 3) {
            std::string name = "s" + std::to_string(step) + "_" + std::to_string(i);
            ASSERT_TRUE((*w)->CreateSnapshot(name).ok());
            snaps[name] = live;
          } else if (!snaps.empty()) {
            auto it = std::next(snaps.begin(), static_cast<long>(g() % snaps.size()));
            ASSERT_TRUE((*w)->DestroySnapshot(it->first).ok());
            snaps.erase(it);
          }
          break;
        }
      }
    }
    ASSERT_TRUE((*w)->Commit().ok());
    live = next;
    ExpectClean(db.get());
    ExpectModel(db.get(), live, "", "step " + std::to_string(step));
    if (g() % 25 == 0 && !snaps.empty()) {
      // Roll back to the newest snapshot.
      auto newest = snaps.begin();
      uint64_t best = 0;
      auto list = db->ListSnapshots();
      ASSERT_TRUE(list.ok());
      for (const auto& s : *list) {
        if (snaps.count(s.name) && s.txn >= best) {
          best = s.txn;
          newest = snaps.find(s.name);
        }
      }
      Status st = db->Rollback(newest->first);
      ASSERT_TRUE(st.ok()) << st.ToString();
      live = newest->second;
      ExpectClean(db.get());
      ExpectModel(db.get(), live, "", "after rollback at step " + std::to_string(step));
    }
    for (const auto& [name, m] : snaps) ExpectModel(db.get(), m, name, "snapshot " + name);
  }
  std::printf("%llu clones (%llu could share chunks), %zu values\n", (unsigned long long)clones,
              (unsigned long long)shared_chunks_possible, live.size());
  EXPECT_GT(shared_chunks_possible, 0u);
}

// A clone of a 16 MiB value writes metadata only, and a write to either
// copy leaves the other as it was; deleting both frees every block.
TEST(Clone, LargeCloneSharesBlocks) {
  auto db = testing::OpenMemoryDb();
  std::mt19937_64 g(7);
  std::string big = Bytes(g, 16 << 20);
  {
    auto w = db->BeginWrite();
    ASSERT_TRUE((*w)->Main()->WriteAt("a", 0, big).ok());
    ASSERT_TRUE((*w)->Commit().ok());
  }
  uint64_t before = db->Stat()->used_pages;
  {
    auto w = db->BeginWrite();
    auto n = (*w)->Main()->CloneRange((*w)->Main(), "a", 0, "b", 0, UINT64_MAX);
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    EXPECT_EQ(n.value(), big.size());
    ASSERT_TRUE((*w)->Commit().ok());
  }
  uint64_t after = db->Stat()->used_pages;
  // 4,096 data blocks are shared; the new chunk tree and the clone table
  // take a few dozen pages.
  EXPECT_LT(after - before, 100u) << before << " -> " << after;
  ExpectClean(db.get());
  {
    auto w = db->BeginWrite();
    ASSERT_TRUE((*w)->Main()->WriteAt("b", 5000, "changed").ok());
    ASSERT_TRUE((*w)->Commit().ok());
  }
  Model m{{"a", big}, {"b", big}};
  std::memcpy(m["b"].data() + 5000, "changed", 7);
  ExpectModel(db.get(), m, "", "after a write to the clone");
  ExpectClean(db.get());
  {
    auto w = db->BeginWrite();
    ASSERT_TRUE((*w)->Main()->Delete("a").ok());
    ASSERT_TRUE((*w)->Commit().ok());
  }
  ExpectModel(db.get(), Model{{"b", m["b"]}}, "", "after deleting the original");
  ExpectClean(db.get());
  {
    auto w = db->BeginWrite();
    ASSERT_TRUE((*w)->Main()->Delete("b").ok());
    ASSERT_TRUE((*w)->Commit().ok());
  }
  ExpectClean(db.get());
  EXPECT_LT(db->Stat()->used_pages, before / 100);
}

TEST(Clone, ErrorsChangeNothing) {
  auto db = testing::OpenMemoryDb();
  auto w = db->BeginWrite();
  Tree* t = (*w)->Main();
  ASSERT_TRUE(t->WriteAt("a", 0, std::string(20000, 'x')).ok());
  EXPECT_EQ(t->CloneRange(t, "missing", 0, "b", 0, 10).status().code(), Code::kNotFound);
  EXPECT_EQ(t->CloneRange(t, "a", 0, "a", 4096, 8192).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(t->CloneRange(t, "a", 30000, "b", 0, 10).value(), 0u);
  EXPECT_EQ(t->CloneRange(t, "a", 0, "c", kMaxValueBytes, 10).status().code(),
            Code::kInvalidArgument);
  TreeOptions dup;
  dup.dupsort = true;
  auto d = (*w)->CreateTree("d", dup);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ((*d)->CloneRange(t, "a", 0, "x", 0, 10).status().code(), Code::kInvalidArgument);
  std::string v;
  EXPECT_TRUE(t->Get("b", &v).IsNotFound());
  EXPECT_TRUE(t->Get("c", &v).IsNotFound());
  ASSERT_TRUE((*w)->Commit().ok());
  ExpectClean(db.get());
}

// A snapshot of the last commit.
void Snap(Db* db, const std::string& name) {
  auto w = db->BeginWrite();
  ASSERT_TRUE((*w)->CreateSnapshot(name).ok());
  ASSERT_TRUE((*w)->Commit().ok());
}

// Clones travel by value: a full stream of a store with clones, then an
// incremental one into a target that made clones of its own since the base
// (received with force, which rolls the target back first), give stores
// that check clean and read as the source.
TEST(Clone, SendReceiveAndRollback) {
  auto src = testing::OpenMemoryDb();
  auto dst = testing::OpenMemoryDb();
  std::mt19937_64 g(11);
  Model m{{"a", Bytes(g, 100000)}};
  {
    auto w = src->BeginWrite();
    Tree* t = (*w)->Main();
    ASSERT_TRUE(t->WriteAt("a", 0, m["a"]).ok());
    ASSERT_TRUE(t->CloneRange(t, "a", 8192, "b", 4096, 50000).ok());
    m["b"] = std::string(4096, '\0') + m["a"].substr(8192, 50000);
    ASSERT_TRUE((*w)->Commit().ok());
  }
  Snap(src.get(), "s1");
  ExpectClean(src.get());
  const Model m1 = m;
  ASSERT_TRUE(testing::ReceiveString(dst.get(), testing::SendToString(src.get(), "s1", "")).ok());
  ExpectClean(dst.get());
  ExpectModel(dst.get(), m, "s1", "received s1");
  {  // the target clones on its own
    auto w = dst->BeginWrite();
    Tree* t = (*w)->Main();
    ASSERT_TRUE(t->CloneRange(t, "a", 0, "c", 0, UINT64_MAX).ok());
    ASSERT_TRUE((*w)->Commit().ok());
  }
  ExpectClean(dst.get());
  {  // the source changes both values and clones again
    auto w = src->BeginWrite();
    Tree* t = (*w)->Main();
    ASSERT_TRUE(t->WriteAt("a", 20000, "new bytes").ok());
    std::memcpy(m["a"].data() + 20000, "new bytes", 9);
    ASSERT_TRUE(t->CloneRange(t, "a", 0, "d", 0, 40960).ok());
    m["d"] = m["a"].substr(0, 40960);
    ASSERT_TRUE((*w)->Commit().ok());
  }
  Snap(src.get(), "s2");
  ExpectClean(src.get());
  std::string inc = testing::SendToString(src.get(), "s2", "s1");
  EXPECT_FALSE(testing::ReceiveString(dst.get(), inc).ok());  // the target changed
  Status st = testing::ReceiveString(dst.get(), inc, /*force=*/true);
  ASSERT_TRUE(st.ok()) << st.ToString();
  ExpectClean(dst.get());
  ExpectModel(dst.get(), m, "", "received s2");
  // Back to s1 on the source: its clones as they were.
  {
    auto w = src->BeginWrite();
    ASSERT_TRUE((*w)->DestroySnapshot("s2").ok());
    ASSERT_TRUE((*w)->Commit().ok());
  }
  ASSERT_TRUE(src->Rollback("s1").ok());
  ExpectClean(src.get());
  ExpectModel(src.get(), m1, "", "the source rolled back to s1");
}

// Failback: a store whose base snapshot shares blocks receives an
// incremental stream from its replica (which holds separate copies). Blocks
// still shared stay, one copy's chunk changed leaves the other's, and after
// the base snapshot is destroyed nothing live was freed.
TEST(Clone, FailbackIntoAStoreWithClones) {
  auto a = testing::OpenMemoryDb();
  auto b = testing::OpenMemoryDb();
  std::mt19937_64 g(23);
  Model m{{"x", Bytes(g, 4 << 20)}};
  {
    auto w = a->BeginWrite();
    Tree* t = (*w)->Main();
    ASSERT_TRUE(t->WriteAt("x", 0, m["x"]).ok());
    // Chunks far apart in one value, and a second value, share blocks.
    ASSERT_TRUE(t->CloneRange(t, "x", 0, "x", 3 << 20, 1 << 20).ok());
    std::memcpy(m["x"].data() + (3 << 20), m["x"].data(), 1 << 20);
    ASSERT_TRUE(t->CloneRange(t, "x", 0, "y", 0, 2 << 20).ok());
    m["y"] = m["x"].substr(0, 2 << 20);
    ASSERT_TRUE((*w)->Commit().ok());
  }
  Snap(a.get(), "s1");
  ExpectClean(a.get());
  ASSERT_TRUE(testing::ReceiveString(b.get(), testing::SendToString(a.get(), "s1", "")).ok());
  {  // the replica changes one chunk of x (and so one of the shared blocks' copies)
    auto w = b->BeginWrite();
    ASSERT_TRUE((*w)->Main()->WriteAt("x", 3 << 20, "changed on the replica").ok());
    std::memcpy(m["x"].data() + (3 << 20), "changed on the replica", 22);
    ASSERT_TRUE((*w)->Commit().ok());
  }
  Snap(b.get(), "s2");
  Status st = testing::ReceiveString(a.get(), testing::SendToString(b.get(), "s2", "s1"));
  ASSERT_TRUE(st.ok()) << st.ToString();
  ExpectClean(a.get());
  ExpectModel(a.get(), m, "", "after the failback");
  {
    auto w = a->BeginWrite();
    ASSERT_TRUE((*w)->DestroySnapshot("s1").ok());
    ASSERT_TRUE((*w)->Commit().ok());
  }
  ExpectClean(a.get());
  ExpectModel(a.get(), m, "", "after the base snapshot went");
  {  // reuse what was freed: live blocks must not be among it
    auto w = a->BeginWrite();
    ASSERT_TRUE((*w)->Main()->WriteAt("z", 0, Bytes(g, 4 << 20)).ok());
    ASSERT_TRUE((*w)->Commit().ok());
  }
  ExpectClean(a.get());
  Model live = m;
  auto r = a->BeginRead();
  std::string got;
  ASSERT_TRUE((*r)->Main()->ReadAt("x", 0, 4 << 20, &got).ok());
  EXPECT_TRUE(got == m["x"]);
  ASSERT_TRUE((*r)->Main()->ReadAt("y", 0, 2 << 20, &got).ok());
  EXPECT_TRUE(got == m["y"]);
}

}  // namespace
}  // namespace bruce
