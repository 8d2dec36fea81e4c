// Power cuts at random points of random commits, on the fault-injecting
// store: after each, the store must open, pass check, and hold exactly the
// last commit that returned, or the one in flight if its meta page and
// every page it needs landed.
//
// BRUCE_CRASH_CUTS sets the number of cuts (default 2,000; the long mode in
// scripts/test-long.sh runs 100,000).
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <random>
#include <set>

#include "bruce/db.h"
#include "store/fault_store.h"
#include "testutil.h"

namespace bruce {
namespace {

using Model = std::map<std::string, std::string>;


// The pairs of the dup tree "dups" (empty when it does not exist).
using DupModel = std::set<std::pair<std::string, std::string>>;

// Whether the tree "bloom" holds exactly `want` (no tree: want is empty),
// and for one key in eight, Get finds it, MayContain does not rule it out,
// and the key just after it is not found.
bool ReadBloom(Db* db, const std::map<std::string, std::string>& want) {
  auto r = db->BeginRead();
  if (!r.ok()) return false;
  auto t = (*r)->OpenTree("bloom");
  if (!t.ok()) return t.status().IsNotFound() && want.empty();
  std::map<std::string, std::string> got;
  auto c = (*t)->NewCursor();
  for (c->First(); c->Valid(); c->Next()) got.emplace(c->key(), c->value());
  if (!c->status().ok() || got != want) return false;
  size_t i = 0;
  for (const auto& [k, v] : want) {
    if (i++ % 8 != 0) continue;  // a sample: the cursor saw them all
    std::string g;
    auto may = (*t)->MayContain(k);
    if (!may.ok() || !may.value() || !(*t)->Get(k, &g).ok() || g != v) return false;
    if (!(*t)->Get(k + "~", &g).IsNotFound()) return false;
  }
  return true;
}

DupModel ReadDups(Db* db) {
  DupModel m;
  auto r = db->BeginRead();
  EXPECT_TRUE(r.ok());
  auto t = (*r)->OpenTree("dups");
  if (!t.ok()) return m;
  auto c = (*t)->NewCursor();
  for (c->First(); c->Valid(); c->Next()) m.emplace(c->key(), c->value());
  EXPECT_TRUE(c->status().ok()) << c->status().ToString();
  return m;
}

uint64_t Cuts() {
  if (const char* s = std::getenv("BRUCE_CRASH_CUTS")) return std::strtoull(s, nullptr, 10);
  return 2000;
}

uint64_t CheckFrom() {
  if (const char* s = std::getenv("BRUCE_CRASH_CHECK_FROM")) return std::strtoull(s, nullptr, 10);
  return 0;
}

TEST(Crash, PowerCutsAtRandomPoints) {
  std::mt19937_64 rng(testing::Seed("Crash.PowerCuts"));
  auto store = std::make_shared<FaultStore>();
  Options opts;
  opts.create_if_missing = true;
  opts.cache_bytes = 256 << 10;
  // What the last successful commit holds, and the commit in flight when
  // the power went (it may or may not have landed).
  struct State {
    uint64_t txn = 0;
    Model live;
    DupModel dups;  // a tree with duplicate keys, overflow chains and all
    Model bloom;    // a tree with Bloom filters
    std::map<std::string, Model> snaps;
  };
  State durable, in_flight;
  {
    auto db = Db::Open(store, opts);
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    durable.txn = (*(*db)->BeginRead())->id();
  }
  ASSERT_TRUE(store->Sync().ok());
  opts.create_if_missing = false;

  // Every 20th key is long (up to 61,000 bytes), sharing long prefixes
  // with others: nodes of more than a page.
  auto key_of = [](uint64_t id) {
    std::string k = "key" + std::to_string(id);
    if (id % 20 == 0) k = std::string(2000 + id * 100, static_cast<char>('p' + id % 3)) + k;
    return k;
  };
  State last_sealed = durable;          // what the next writer starts from
  std::map<uint64_t, State> candidates;  // sealed after `durable`, by txn
  uint64_t cuts = Cuts(), in_flight_landed = 0, commits = 0, snap_ops = 0, next_snap = 0;
  for (uint64_t cut = 0; cut < cuts; cut++) {
    // Mostly one sync per commit (the meta page with its pages, verified at
    // open); every fourth open syncs the pages before the meta page.
    opts.durability = cut % 4 == 3 ? Durability::kFullTwoSync : Durability::kFull;
    auto db = Db::Open(store, opts);
    ASSERT_TRUE(db.ok()) << "cut " << cut << ": " << db.status().ToString();
    store->DieAfter(static_cast<int64_t>(rng() % 120));
    bool have_in_flight = false;
    while (true) {
      auto w = (*db)->BeginWrite();
      if (!w.ok()) break;  // poisoned by a failed meta write
      State next = last_sealed;
      next.txn = (*w)->id();
      // Snapshot operations mixed in: a snapshot keeps the last commit.
      if (rng() % 6 == 0 && next.snaps.size() < 4) {
        std::string name = "snap" + std::to_string(next_snap++);
        ASSERT_TRUE((*w)->CreateSnapshot(name).ok());
        next.snaps[name] = last_sealed.live;
        snap_ops++;
      }
      if (rng() % 6 == 0 && !next.snaps.empty()) {
        auto it = std::next(next.snaps.begin(), static_cast<long>(rng() % next.snaps.size()));
        ASSERT_TRUE((*w)->DestroySnapshot(it->first).ok());
        next.snaps.erase(it);
        snap_ops++;
      }
      Model& live = next.live;
      int ops = 1 + static_cast<int>(rng() % 40);
      bool died = false;  // large values write their chunks before commit
      for (int i = 0; i < ops && !died; i++) {
        const std::string k = key_of(rng() % 600);
        Tree* t = (*w)->Main();
        Status s;
        if (rng() % 5 == 0) {  // the tree with Bloom filters: 100-byte values
          TreeOptions bo;
          bo.bloom_bits_per_key = 10;
          auto bt = (*w)->CreateTree("bloom", bo);
          s = bt.status();
          std::string bk = "b" + std::to_string(rng() % 2000);
          if (s.ok() && rng() % 4 == 0) {
            s = (*bt)->Delete(bk);
            if (s.IsNotFound()) s = Status::OK();
            if (s.ok()) next.bloom.erase(bk);
          } else if (s.ok()) {
            std::string bv(100, static_cast<char>('a' + rng() % 26));
            s = (*bt)->Put(bk, bv);
            if (s.ok()) next.bloom[bk] = bv;
          }
          if (!s.ok()) {
            ASSERT_EQ(s.code(), Code::kIOError) << s.ToString();
            died = true;
          }
          continue;
        }
        if (rng() % 4 == 0) {  // the dup tree: a few keys with many values each
          TreeOptions dup;
          dup.dupsort = true;
          auto dt = (*w)->CreateTree("dups", dup);
          s = dt.status();
          std::string dk = "d" + std::to_string(rng() % 4);
          uint64_t n = rng() % 400;  // bounded: puts and deletes both hit
          std::string dv = std::to_string(n);
          dv.resize(60 + n % 100, static_cast<char>('a' + n % 26));
          if (s.ok() && rng() % 4 == 0) {
            s = (*dt)->Delete(dk, dv);
            if (s.IsNotFound()) s = Status::OK();
            if (s.ok()) next.dups.erase({dk, dv});
          } else if (s.ok()) {
            s = (*dt)->Put(dk, dv);
            if (s.ok()) next.dups.emplace(dk, dv);
          }
          if (!s.ok()) {
            ASSERT_EQ(s.code(), Code::kIOError) << s.ToString();
            died = true;
          }
          continue;
        }
        switch (rng() % 8) {
          case 0:
            s = t->Delete(k);
            if (s.IsNotFound()) s = Status::OK();
            if (s.ok()) live.erase(k);
            break;
          case 1: {  // a byte range of a value, often a large one
            uint64_t off = rng() % 20000, len = rng() % 9000;
            std::string data(len, static_cast<char>('A' + rng() % 26));
            s = t->WriteAt(k, off, data);
            if (s.ok()) {
              std::string& v = live[k];
              if (v.size() < off + len) v.resize(off + len, '\0');
              v.replace(off, len, data);
            }
            break;
          }
          case 3: {  // a clone of part of another value (chunk-aligned: shared)
            const std::string from = key_of(rng() % 600);
            uint64_t so = (rng() % 4) * 4096, off = (rng() % 4) * 4096 + (rng() % 2 ? 0 : rng() % 100);
            auto n = t->CloneRange(t, from, so, k, off, rng() % 20000);
            s = n.status();
            if (s.IsNotFound() || s.code() == Code::kInvalidArgument) {
              s = Status::OK();  // no such value, or overlapping ranges of one
            } else if (s.ok() && n.value() > 0) {
              const std::string src = live[from];
              std::string& v = live[k];
              if (v.size() < off + n.value()) v.resize(off + n.value(), '\0');
              v.replace(off, n.value(), src.substr(so, n.value()));
            }
            break;
          }
          case 2: {
            uint64_t size = rng() % 15000;
            s = t->Truncate(k, size);
            if (s.IsNotFound()) {
              s = Status::OK();
            } else if (s.ok()) {
              live[k].resize(size, '\0');
            }
            break;
          }
          default: {
            std::string v(rng() % (rng() % 8 == 0 ? 12000 : 60), static_cast<char>('a' + rng() % 26));
            s = t->Put(k, v);
            if (s.ok()) live[k] = v;
          }
        }
        if (!s.ok()) {
          ASSERT_EQ(s.code(), Code::kIOError) << s.ToString();
          died = true;
        }
      }
      if (died) break;
      // Some commits only seal (the next writer goes on at once) and become
      // durable with a later commit's wait: a crash may keep any of them.
      bool wait = rng() % 3 != 0;
      auto sealed = (*w)->CommitNoWait();
      Status s = sealed.status();
      if (s.ok() && wait) s = (*db)->WaitDurable(sealed.value());
      next.txn = sealed.ok() ? sealed.value() : next.txn;
      if (!s.ok()) {
        if (sealed.ok()) candidates[next.txn] = next;
        in_flight = std::move(next);
        have_in_flight = true;
        break;
      }
      commits++;
      if (!wait) {
        candidates[next.txn] = next;
        last_sealed = std::move(next);
        continue;
      }
      candidates.clear();
      durable = std::move(next);
      last_sealed = durable;
    }
    db = Result<std::unique_ptr<Db>>(Status::OK());  // close
    store->PowerCut(rng);

    auto reopened = Db::Open(store, opts);
    ASSERT_TRUE(reopened.ok()) << "cut " << cut << ": " << reopened.status().ToString();
    // Replaying a failure far into a long run: BRUCE_CRASH_CHECK_FROM=N
    // skips the comparisons of the cuts before N. (Not Check: it takes the
    // writer role, which may truncate a free tail, an operation the next
    // power cut draws for like any other.)
    const bool verify = cut >= CheckFrom();
    CheckReport rep;
    ASSERT_TRUE((*reopened)->Check(&rep).ok());
    ASSERT_TRUE(rep.ok()) << "cut " << cut << ": " << rep.problems[0];
    uint64_t txn = (*(*reopened)->BeginRead())->id();
    if (txn != durable.txn) {
      // A commit after the last durable one: sealed, and its meta landed.
      auto it = candidates.find(txn);
      ASSERT_NE(it, candidates.end()) << "cut " << cut << ": txn " << txn << " after durable "
                                      << durable.txn << "; "
                                      << (*reopened)->Stat()->recovery_note;
      durable = it->second;
      in_flight_landed++;
    }
    candidates.clear();
    last_sealed = durable;
    (void)have_in_flight;
    if (!verify) continue;
    Model got = testing::ReadAll(reopened->get());
    ASSERT_EQ(got.size(), durable.live.size()) << "cut " << cut;
    ASSERT_TRUE(got == durable.live) << "cut " << cut << ": contents differ from the last commit";
    ASSERT_TRUE(ReadDups(reopened->get()) == durable.dups)
        << "cut " << cut << ": the dup tree differs from the last commit";
    ASSERT_TRUE(ReadBloom(reopened->get(), durable.bloom))
        << "cut " << cut << ": the tree with Bloom filters differs from the last commit";
    auto list = (*reopened)->ListSnapshots();
    ASSERT_TRUE(list.ok());
    ASSERT_EQ(list->size(), durable.snaps.size()) << "cut " << cut;
    for (const auto& [name, model] : durable.snaps) {
      auto r = (*reopened)->BeginRead(name);
      ASSERT_TRUE(r.ok()) << "cut " << cut << ": " << r.status().ToString();
      Model m;
      auto c = (*r)->Main()->NewCursor();
      for (c->First(); c->Valid(); c->Next()) m.emplace(c->key(), c->value());
      ASSERT_TRUE(c->status().ok());
      ASSERT_TRUE(m == model) << "cut " << cut << ": snapshot " << name << " differs";
    }
  }
  std::fprintf(stderr,
               "Crash: %llu cuts, %llu commits, %llu in-flight commits survived, %llu snapshot "
               "operations\n",
               (unsigned long long)cuts, (unsigned long long)commits,
               (unsigned long long)in_flight_landed, (unsigned long long)snap_ops);
}

// A full disk fails the commit with NoSpace and loses nothing: the store
// keeps its last commit and takes new ones once space returns.
TEST(Crash, FullDiskLosesNothing) {
  auto store = std::make_shared<FaultStore>();
  Options opts;
  opts.create_if_missing = true;
  auto db = Db::Open(store, opts);
  ASSERT_TRUE(db.ok());
  {
    auto w = (*db)->BeginWrite();
    ASSERT_TRUE((*w)->Main()->Put("a", "1").ok());
    ASSERT_TRUE((*w)->Commit().ok());
  }
  store->FailWritesWith(ENOSPC);
  {
    auto w = (*db)->BeginWrite();
    for (int i = 0; i < 500; i++) {
      ASSERT_TRUE((*w)->Main()->Put("k" + std::to_string(i), std::string(100, 'x')).ok());
    }
    Status s = (*w)->Commit();
    EXPECT_EQ(s.code(), Code::kNoSpace) << s.ToString();
  }
  store->FailWritesWith(0);
  std::string v;
  auto r = (*db)->BeginRead();
  EXPECT_TRUE((*r)->Main()->Get("a", &v).ok());
  EXPECT_EQ(v, "1");
  EXPECT_TRUE((*r)->Main()->Get("k1", &v).IsNotFound());
  r.value().reset();
  {
    auto w = (*db)->BeginWrite();
    ASSERT_TRUE(w.ok()) << w.status().ToString();
    ASSERT_TRUE((*w)->Main()->Put("b", "2").ok());
    ASSERT_TRUE((*w)->Commit().ok());
  }
  CheckReport rep;
  ASSERT_TRUE((*db)->Check(&rep).ok());
  EXPECT_TRUE(rep.ok()) << rep.problems[0];
  db = Result<std::unique_ptr<Db>>(Status::OK());
  opts.create_if_missing = false;
  auto again = Db::Open(store, opts);
  ASSERT_TRUE(again.ok());
  auto r2 = (*again)->BeginRead();
  EXPECT_TRUE((*r2)->Main()->Get("b", &v).ok());
  EXPECT_EQ((*r2)->Main()->Count().value(), 2u);
}

}  // namespace
}  // namespace bruce
