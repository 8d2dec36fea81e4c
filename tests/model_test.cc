// Randomized test against a model (a std::map), in the manner of LevelDB's
// ModelDB: random puts, deletes, gets, scans both ways, rank, select and
// count, with commits, aborts, read transactions pinned at random points,
// and the store closed and reopened every few hundred steps.
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <vector>

#include "bruce/db.h"
#include "testutil.h"

namespace bruce {
namespace {

using Model = std::map<std::string, std::string>;

class Rng {
 public:
  explicit Rng(uint64_t seed) : g_(seed) {}
  uint64_t Below(uint64_t n) { return g_() % n; }
  bool OneIn(uint64_t n) { return Below(n) == 0; }
  std::string Bytes(size_t n) {
    std::string s(n, '\0');
    for (char& c : s) c = static_cast<char>(Below(256));
    return s;
  }

 private:
  std::mt19937_64 g_;
};

// Keys share prefixes (so separators and prefix logic get work) and are
// drawn from a bounded pool (so overwrites and deletes hit).
std::string RandomKey(Rng& r) {
  static const std::string kPrefixes[] = {"", "a/", "a/b/", "user:", "\xff\xff",
                                          std::string("\0", 1)};
  std::string k = kPrefixes[r.Below(6)];
  if (r.OneIn(500)) return k + std::string(kMaxKeySize - k.size(), static_cast<char>('k' + r.Below(3)));
  if (r.OneIn(120)) {  // long keys sharing long prefixes: separators past a page
    static const size_t kLens[] = {1500, 5000, 30000, kMaxKeySize - 16};
    k += std::string(kLens[r.Below(4)], static_cast<char>('m' + r.Below(2)));
    k += std::to_string(r.Below(30));
    return k;
  }
  uint64_t id = r.Below(800);
  k += std::to_string(id * 7919 % 3001);
  if (r.OneIn(8)) k.push_back(static_cast<char>(r.Below(4)));
  return k;
}

std::string RandomValue(Rng& r) {
  if (r.OneIn(400)) return r.Bytes(20000 + r.Below(20000));  // a multi-page node
  if (r.OneIn(20)) return r.Bytes(500 + r.Below(3000));
  return r.Bytes(r.Below(40));
}

// One random read compared with the model.
void RandomRead(Tree* t, const Model& m, Rng& r) {
  std::string k = RandomKey(r);
  switch (r.Below(5)) {
    case 0: {  // get
      std::string v;
      Status s = t->Get(k, &v);
      auto it = m.find(k);
      auto may = t->MayContain(k);  // never false for a key that is there
      ASSERT_TRUE(may.ok()) << may.status().ToString();
      ASSERT_TRUE(may.value() || it == m.end()) << "a present key ruled out";
      if (it == m.end()) {
        ASSERT_TRUE(s.IsNotFound()) << s.ToString();
      } else {
        ASSERT_TRUE(s.ok()) << s.ToString();
        ASSERT_EQ(v, it->second);
      }
      break;
    }
    case 1: {  // scan from a key, either way
      auto c = t->NewCursor();
      c->Seek(k);
      auto it = m.lower_bound(k);
      bool forward = r.OneIn(2);
      if (!forward) {
        // Step back once from the seek position, as a reverse range scan does.
        if (c->Valid()) {
          c->Prev();
        } else {
          c->Last();
        }
        if (it == m.begin()) {
          it = m.end();
        } else {
          --it;
        }
      }
      for (int i = 0; i < 20; i++) {
        if (it == m.end()) {
          ASSERT_FALSE(c->Valid());
          break;
        }
        ASSERT_TRUE(c->Valid());
        ASSERT_EQ(c->key(), it->first);
        ASSERT_EQ(c->value(), it->second);
        if (forward) {
          c->Next();
          ++it;
        } else {
          c->Prev();
          it = it == m.begin() ? m.end() : std::prev(it);
        }
      }
      ASSERT_TRUE(c->status().ok());
      break;
    }
    case 2: {  // rank
      auto rank = t->Rank(k);
      ASSERT_TRUE(rank.ok());
      ASSERT_EQ(rank.value(), static_cast<uint64_t>(std::distance(m.begin(), m.lower_bound(k))));
      break;
    }
    case 3: {  // select
      uint64_t i = r.Below(m.size() + 2);
      auto e = t->Select(i);
      if (i >= m.size()) {
        ASSERT_TRUE(e.status().IsNotFound());
      } else {
        ASSERT_TRUE(e.ok()) << e.status().ToString();
        auto it = std::next(m.begin(), static_cast<long>(i));
        ASSERT_EQ(e->key, it->first);
        ASSERT_EQ(e->value, it->second);
      }
      break;
    }
    case 4: {  // count in a range, and by prefix
      std::string k2 = RandomKey(r);
      auto n = t->Count(k, k2);
      ASSERT_TRUE(n.ok());
      uint64_t want = k2 <= k ? 0 : std::distance(m.lower_bound(k), m.lower_bound(k2));
      ASSERT_EQ(n.value(), want);
      std::string prefix = k.substr(0, r.Below(k.size() + 1));
      auto p = t->CountPrefix(prefix);
      ASSERT_TRUE(p.ok());
      uint64_t pw = 0;
      for (auto it = m.lower_bound(prefix); it != m.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it) pw++;
      ASSERT_EQ(p.value(), pw);
      break;
    }
  }
}

struct Reader {
  std::unique_ptr<ReadTxn> txn;
  Model snapshot;
};

// bloom: the bits per key of the Bloom filters of the tree the test uses
// ("b", made in every write transaction), or 0 for the main tree.
void RunModel(uint32_t page_size, uint64_t steps, const char* name, uint32_t bloom = 0) {
  auto tree_of = [bloom](Txn* txn) -> Tree* {
    if (bloom == 0) return txn->Main();
    auto t = txn->OpenTree("b");
    EXPECT_TRUE(t.ok()) << t.status().ToString();
    return t.ok() ? t.value() : nullptr;
  };
  Rng r(testing::Seed(name));
  auto store = std::shared_ptr<PageStore>(NewMemoryStore());
  Options opts;
  opts.create_if_missing = true;
  opts.page_size = page_size;
  opts.cache_bytes = 1 << 20;  // small: evictions happen
  auto db = Db::Open(store, opts);
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  opts.create_if_missing = false;

  Model committed, working;
  std::unique_ptr<WriteTxn> w;
  std::vector<Reader> readers;
  uint64_t commits = 0, reopens = 0;

  for (uint64_t step = 0; step < steps; step++) {
    if (!w) {
      auto wr = (*db)->BeginWrite();
      ASSERT_TRUE(wr.ok());
      w = std::move(wr).value();
      working = committed;
      if (bloom > 0) {
        TreeOptions o;
        o.bloom_bits_per_key = bloom;
        ASSERT_TRUE(w->CreateTree("b", o).ok());
      }
    }
    Tree* t = tree_of(w.get());
    uint64_t op = r.Below(100);
    if (op < 35) {
      std::string k = RandomKey(r), v = RandomValue(r);
      ASSERT_TRUE(t->Put(k, v).ok());
      working[k] = v;
    } else if (op < 50) {
      // Delete a present key most of the time.
      std::string k = RandomKey(r);
      if (!working.empty() && r.OneIn(2)) {
        k = std::next(working.begin(), static_cast<long>(r.Below(working.size())))->first;
      }
      Status s = t->Delete(k);
      ASSERT_EQ(s.IsNotFound(), working.count(k) == 0) << s.ToString();
      working.erase(k);
    } else if (op < 80) {
      RandomRead(t, working, r);
    } else if (op < 84) {
      ASSERT_TRUE(w->Commit().ok());
      w.reset();
      committed = working;
      commits++;
    } else if (op < 85) {
      w->Abort();
      w.reset();
    } else if (op < 88 && readers.size() < 6 && (bloom == 0 || commits > 0)) {
      auto rd = (*db)->BeginRead();
      ASSERT_TRUE(rd.ok());
      readers.push_back(Reader{std::move(rd).value(), committed});
    } else if (op < 90 && !readers.empty()) {
      readers.erase(readers.begin() + static_cast<long>(r.Below(readers.size())));
    } else if (op < 99 && !readers.empty()) {
      Reader& rd = readers[r.Below(readers.size())];
      RandomRead(tree_of(rd.txn.get()), rd.snapshot, r);
      if (r.OneIn(20)) {
        testing::ExpectSameAsModel(tree_of(rd.txn.get()), rd.snapshot, "reader snapshot");
      }
    }
    if (step % 300 == 299) {
      // Reopen: finish the writer one way or the other, drop readers.
      if (w && r.OneIn(2)) {
        ASSERT_TRUE(w->Commit().ok());
        committed = working;
      }
      w.reset();
      readers.clear();
      CheckReport rep;
      ASSERT_TRUE((*db)->Check(&rep).ok());
      ASSERT_TRUE(rep.ok()) << rep.problems[0];
      std::string hash = (*db)->RootHash();
      db = Result<std::unique_ptr<Db>>(Status::OK());
      db = Db::Open(store, opts);
      ASSERT_TRUE(db.ok()) << db.status().ToString();
      EXPECT_EQ((*db)->RootHash(), hash);
      auto rd = (*db)->BeginRead();
      if (bloom == 0 || commits > 0) {
        testing::ExpectSameAsModel(tree_of(rd->get()), committed, "after reopen");
      }
      reopens++;
    }
    if (::testing::Test::HasFatalFailure()) {
      ADD_FAILURE() << "at step " << step;
      return;
    }
  }
  if (w) {
    ASSERT_TRUE(w->Commit().ok());
    committed = working;
  }
  w.reset();
  readers.clear();
  auto rd = (*db)->BeginRead();
  testing::ExpectSameAsModel(tree_of(rd->get()), committed, "at the end");
  CheckReport rep;
  ASSERT_TRUE((*db)->Check(&rep).ok());
  EXPECT_TRUE(rep.ok()) << rep.problems[0];
  std::fprintf(stderr, "%s: %llu steps, %llu commits, %llu reopens, %zu keys\n", name,
               (unsigned long long)steps, (unsigned long long)commits,
               (unsigned long long)reopens, committed.size());
}

TEST(Model, RandomOpsAgainstStdMap) { RunModel(4096, testing::Steps(100000), "Model.RandomOps"); }

// The same in a tree with Bloom filters (4 bits a key: false positives
// are common, so both answers of a filter are exercised).
TEST(Model, RandomOpsWithBloomFilters) {
  RunModel(4096, testing::Steps(100000) / 2, "Model.Bloom", 4);
}

TEST(Model, RandomOpsLargePages) { RunModel(16384, testing::Steps(100000) / 4, "Model.LargePages"); }

}  // namespace
}  // namespace bruce

namespace bruce {
namespace {

// Cursor moves and writes, put flags and Reserve, against std::map.
TEST(Model, CursorsAndPutFlagsAgainstStdMap) {
  Rng r(testing::Seed("Model.CursorsAndFlags"));
  auto store = std::shared_ptr<PageStore>(NewMemoryStore());
  Options opts;
  opts.create_if_missing = true;
  opts.cache_bytes = 1 << 20;
  auto db = Db::Open(store, opts);
  ASSERT_TRUE(db.ok());
  Model m;
  auto w = std::move((*db)->BeginWrite()).value();
  Tree* t = w->Main();
  auto c = t->NewCursor();
  auto it = m.end();  // where the cursor should be
  uint64_t steps = testing::Steps(100000) / 5;
  for (uint64_t step = 0; step < steps; step++) {
    std::string k = RandomKey(r);
    switch (r.Below(12)) {
      case 0: {  // put that must not overwrite
        std::string v = RandomValue(r), existing;
        Status s = t->Put(k, v, kNoOverwrite, &existing);
        if (m.count(k)) {
          ASSERT_EQ(s.code(), Code::kExists);
          ASSERT_EQ(existing, m[k]);
        } else {
          ASSERT_TRUE(s.ok()) << s.ToString();
          m[k] = v;
        }
        break;
      }
      case 1: {  // append: only past the last key
        std::string last = m.empty() ? "" : m.rbegin()->first;
        std::string bigger = last + "\x01";
        if (bigger.size() <= kMaxKeySize) {
          ASSERT_TRUE(t->Put(bigger, "appended", kAppend).ok());
          m[bigger] = "appended";
        }
        if (!m.empty()) {
          ASSERT_EQ(t->Put(m.begin()->first, "x", kAppend).code(), Code::kInvalidArgument);
        }
        break;
      }
      case 2: {  // reserve, fill, read back
        size_t n = r.Below(3000);
        auto buf = t->Reserve(k, n);
        ASSERT_TRUE(buf.ok()) << buf.status().ToString();
        std::string v(n, static_cast<char>('a' + r.Below(26)));
        std::memcpy(buf.value(), v.data(), n);
        m[k] = v;
        std::string got;
        ASSERT_TRUE(t->Get(k, &got).ok());
        ASSERT_EQ(got, v);
        break;
      }
      case 3: {
        bool found = c->SeekExact(k);
        ASSERT_EQ(found, m.count(k) == 1);
        it = found ? m.find(k) : m.end();
        break;
      }
      case 4: {
        std::string p = k.substr(0, r.Below(k.size() + 1));
        bool found = c->SeekPrefix(p);
        auto lb = m.lower_bound(p);
        bool want = lb != m.end() && lb->first.compare(0, p.size(), p) == 0;
        ASSERT_EQ(found, want) << "prefix";
        it = want ? lb : m.end();
        break;
      }
      case 5:
        c->Seek(k);
        it = m.lower_bound(k);
        break;
      case 6:
        if (it != m.end()) {
          c->Next();
          ++it;
        }
        break;
      case 7:
        if (it != m.end()) {
          c->Prev();
          it = it == m.begin() ? m.end() : std::prev(it);
        }
        break;
      case 8:
        if (it != m.end()) {  // write at the cursor
          std::string v = RandomValue(r);
          ASSERT_TRUE(c->Put(v).ok());
          it->second = v;
        }
        break;
      case 9:
        if (it != m.end()) {  // delete at the cursor: it moves on to the next key
          ASSERT_TRUE(c->Delete().ok());
          it = m.erase(it);
        }
        break;
      case 10: {
        std::string v = RandomValue(r);
        ASSERT_TRUE(t->Put(k, v).ok());  // a change behind the cursor's back
        m[k] = v;
        break;
      }
      case 11:
        if (r.OneIn(20)) {
          ASSERT_TRUE(w->Commit().ok());
          w = std::move((*db)->BeginWrite()).value();
          t = w->Main();
          c = t->NewCursor();
          it = m.end();
        }
        break;
    }
    ASSERT_EQ(c->Valid(), it != m.end()) << "step " << step;
    if (it != m.end()) {
      ASSERT_EQ(c->key(), it->first) << "step " << step;
      ASSERT_EQ(c->value(), it->second) << "step " << step;
    }
  }
  ASSERT_TRUE(w->Commit().ok());
  auto rd = (*db)->BeginRead();
  testing::ExpectSameAsModel((*rd)->Main(), m, "at the end");
  auto rc = (*rd)->Main()->NewCursor();
  rc->First();
  EXPECT_EQ(rc->Put("x").code(), Code::kReadOnly);
}

}  // namespace
}  // namespace bruce
