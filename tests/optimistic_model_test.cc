// Optimistic write transactions on several threads at once, against a
// model: every transaction records what it observed; the committed ones,
// replayed on the model in commit order, must each observe exactly that
// (the history is equivalent to running them one after another in that
// order), and readers must see exactly the commit they read. Then the same
// with power cuts: the store that opens is a prefix of the commits, at
// least up to the last one whose Commit returned.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <atomic>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <thread>

#include "bruce/db.h"
#include "store/fault_store.h"
#include "testutil.h"

namespace bruce {
namespace {

using Model = std::map<std::string, std::string>;

// One call a transaction made and what it saw.
struct Event {
  enum Kind { kGet, kPut, kDel, kCount, kScan } kind = kGet;
  std::string k, k2;                // key (or range), value (or range end)
  std::optional<std::string> seen;  // Get: the value; Del: whether it was there
  uint64_t n = 0;                   // Count
  std::vector<std::pair<std::string, std::string>> rows;  // Scan, with the key it stopped on
};

struct Done {
  uint64_t id = 0;
  bool read_only = false;
  std::vector<Event> events;
};

std::string Key(uint64_t i) { return "k" + std::to_string(i % 16); }

// Runs one random transaction on w, recording what it does; false when a
// call failed, with *failure saying why: kConflict (a transaction that took
// the writer role early found what it read changed) or an I/O error (the
// store died).
bool RunRandom(std::mt19937_64& rng, WriteTxn* w, int thread, uint64_t serial, bool* read_only,
               std::vector<Event>* ev, Status* failure) {
  Tree* t = w->Main();
  auto ok = [&](Status st) {
    if (!st.ok()) *failure = st;
    return st.ok();
  };
  auto get = [&](const std::string& k) {
    Event e;
    e.kind = Event::kGet;
    e.k = k;
    std::string v;
    Status st = t->Get(k, &v);
    if (st.ok()) e.seen = v;
    ev->push_back(e);
    return st.IsNotFound() || ok(st);
  };
  auto put = [&](const std::string& k, const std::string& v) {
    std::this_thread::yield();  // between reading and writing: let others commit
    ev->push_back(Event{Event::kPut, k, v, {}, 0, {}});
    return ok(t->Put(k, v));
  };
  const int type = static_cast<int>(rng() % 5);
  *read_only = type == 4;
  const std::string mine = "t" + std::to_string(thread) + "." + std::to_string(serial);
  switch (type) {
    case 0: {  // increment a counter: lost updates
      std::string c = "c" + std::to_string(rng() % 3);
      if (!get(c)) return false;
      uint64_t v = ev->back().seen ? std::stoull(*ev->back().seen) : 0;
      if (!put(c, std::to_string(v + 1))) return false;
      break;
    }
    case 1: {  // read two, write one of them: write skew
      std::string a = Key(rng()), b = Key(rng());
      if (!get(a) || !get(b)) return false;
      if (!put(rng() % 2 ? a : b, mine)) return false;
      break;
    }
    case 2: {  // count a range and scan a prefix, then record the figures: phantoms
      Event e;
      e.kind = Event::kCount;
      e.k = Key(rng());
      e.k2 = Key(rng());
      auto n = t->Count(e.k, e.k2);
      if (!ok(n.status())) return false;
      e.n = *n;
      ev->push_back(e);
      Event s;
      s.kind = Event::kScan;
      s.k = "k1";
      auto c = t->NewCursor();
      for (c->SeekPrefix("k1"); c->Valid(); c->Next()) {
        s.rows.emplace_back(c->key(), c->value());
        if (c->key().substr(0, 2) != "k1") break;  // the key it stopped on
      }
      if (!ok(c->status())) return false;
      ev->push_back(s);
      if (!put("sum" + std::to_string(thread), std::to_string(e.n) + "/" +
                                                   std::to_string(s.rows.size()))) {
        return false;
      }
      break;
    }
    case 3: {  // blind changes
      for (int i = 0, n = 1 + static_cast<int>(rng() % 4); i < n; i++) {
        std::string k = Key(rng());
        if (rng() % 3 == 0) {
          Event e;
          e.kind = Event::kDel;
          e.k = k;
          Status st = t->Delete(k);
          if (!st.IsNotFound() && !ok(st)) return false;
          if (st.ok()) e.seen = "";
          ev->push_back(e);
        } else if (rng() % 3 == 0) {  // a reservation, up to 3,000 bytes
          std::string v = mine + "." + std::to_string(i);
          v.resize(v.size() + rng() % 3000, 'r');
          std::this_thread::yield();
          ev->push_back(Event{Event::kPut, k, v, {}, 0, {}});
          auto buf = t->Reserve(k, v.size());
          if (!ok(buf.status())) return false;
          std::memcpy(*buf, v.data(), v.size());
        } else if (!put(k, mine + "." + std::to_string(i))) {
          return false;
        }
      }
      break;
    }
    default:  // read only
      for (int i = 0; i < 3; i++) {
        if (!get(Key(rng()))) return false;
      }
      return true;
  }
  // Every writing transaction changes something for certain.
  return put("log/" + mine, "1");
}

// Replays one committed transaction on the model, checking what it saw.
void Apply(const Done& d, Model* m) {
  for (const Event& e : d.events) {
    switch (e.kind) {
      case Event::kGet: {
        auto it = m->find(e.k);
        std::optional<std::string> now;
        if (it != m->end()) now = it->second;
        ASSERT_EQ(e.seen, now) << "commit " << d.id << " read " << e.k;
        break;
      }
      case Event::kPut:
        (*m)[e.k] = e.k2;
        break;
      case Event::kDel:
        ASSERT_EQ(e.seen.has_value(), m->count(e.k) == 1) << "commit " << d.id << " del " << e.k;
        m->erase(e.k);
        break;
      case Event::kCount: {
        uint64_t n = e.k < e.k2 ? static_cast<uint64_t>(std::distance(
                                      m->lower_bound(e.k), m->lower_bound(e.k2)))
                                : 0;
        ASSERT_EQ(e.n, n) << "commit " << d.id << " count [" << e.k << ", " << e.k2 << ")";
        break;
      }
      case Event::kScan: {
        std::vector<std::pair<std::string, std::string>> rows;
        auto first = m->lower_bound(e.k);
        const bool any = first != m->end() && first->first.substr(0, 2) == "k1";
        for (auto it = first; any && it != m->end(); ++it) {
          rows.emplace_back(it->first, it->second);
          if (it->first.substr(0, 2) != "k1") break;
        }
        ASSERT_EQ(e.rows, rows) << "commit " << d.id << " scan";
        break;
      }
    }
  }
}

// A store in memory whose optimistic transactions take the writer role
// early once their record passes a few KiB: the large writes above do.
std::unique_ptr<Db> OpenSmallRecordDb() {
  Options o;
  o.create_if_missing = true;
  o.durability = Durability::kNoSync;
  o.optimistic_record_bytes = 4 << 10;
  auto db = Db::Open(std::shared_ptr<PageStore>(NewMemoryStore()), o);
  EXPECT_TRUE(db.ok()) << db.status().ToString();
  return std::move(db).value();
}

TEST(OptimisticModel, ConcurrentWritersAreSerializableInCommitOrder) {
  const uint64_t seed = testing::Seed("OptimisticModel.Concurrent");
  auto db = OpenSmallRecordDb();
  const uint64_t start = (*db->BeginRead())->id();
  const int kWriters = 3;
  const uint64_t steps = testing::Steps(400);
  std::mutex mu;
  std::vector<Done> done;
  std::atomic<uint64_t> conflicts{0}, exclusive{0};
  std::atomic<int> running{kWriters};
  std::vector<std::pair<uint64_t, Model>> seen_by_readers;
  std::vector<std::thread> threads;
  for (int th = 0; th < kWriters; th++) {
    threads.emplace_back([&, th] {
      std::mt19937_64 rng(seed + static_cast<uint64_t>(th));
      for (uint64_t i = 0; i < steps; i++) {
        const bool excl = rng() % 10 == 0;
        while (true) {
          auto w = db->BeginWrite(excl ? WriteMode::kExclusive : WriteMode::kOptimistic);
          ASSERT_TRUE(w.ok()) << w.status().ToString();
          Done d;
          Status failure;
          if (!RunRandom(rng, w->get(), th, i, &d.read_only, &d.events, &failure)) {
            ASSERT_TRUE(failure.IsConflict()) << failure.ToString();
            conflicts++;
            continue;
          }
          auto id = (*w)->CommitNoWait();
          if (id.status().IsConflict()) {
            ASSERT_FALSE(excl);
            conflicts++;
            continue;
          }
          ASSERT_TRUE(id.ok()) << id.status().ToString();
          if (i % 4 == 0) {
            ASSERT_TRUE(db->WaitDurable(*id).ok());
          }
          d.id = *id;
          if (excl) exclusive++;
          std::lock_guard lock(mu);
          done.push_back(std::move(d));
          break;
        }
      }
      running--;
    });
  }
  threads.emplace_back([&] {  // a reader: each read sees one commit, whole
    while (running.load() > 0) {
      auto r = db->BeginRead();
      ASSERT_TRUE(r.ok());
      Model m;
      auto c = (*r)->Main()->NewCursor();
      for (c->First(); c->Valid(); c->Next()) m.emplace(c->key(), c->value());
      ASSERT_TRUE(c->status().ok());
      if (seen_by_readers.size() < 2000) seen_by_readers.emplace_back((*r)->id(), std::move(m));
    }
  });
  for (auto& t : threads) t.join();
  ASSERT_FALSE(HasFailure());

  // Writers by commit id (each once), then the read-only transactions that
  // validated against that commit.
  std::sort(done.begin(), done.end(), [](const Done& a, const Done& b) {
    return a.id != b.id ? a.id < b.id : a.read_only < b.read_only;
  });
  std::sort(seen_by_readers.begin(), seen_by_readers.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  Model model;
  uint64_t last = start, writers = 0;
  size_t reader = 0;
  auto check_readers = [&](uint64_t upto) {
    for (; reader < seen_by_readers.size() && seen_by_readers[reader].first <= upto; reader++) {
      ASSERT_EQ(seen_by_readers[reader].first, last) << "a reader saw a commit no writer made";
      ASSERT_EQ(seen_by_readers[reader].second, model) << "reader at " << last;
    }
  };
  for (const Done& d : done) {
    if (!d.read_only) {
      ASSERT_GT(d.id, last) << "two writers got one commit id";
      check_readers(d.id - 1);
      last = d.id;
      writers++;
    }
    Apply(d, &model);
    ASSERT_FALSE(HasFailure()) << "seed " << seed;
  }
  check_readers(~uint64_t{0});
  EXPECT_EQ(testing::ReadAll(db.get()), model);
  testing::ExpectClean(db.get());
  std::printf("%zu transactions (%llu writing, %llu exclusive), %llu conflicts retried, %zu "
              "reads checked\n",
              done.size(), static_cast<unsigned long long>(writers),
              static_cast<unsigned long long>(exclusive.load()),
              static_cast<unsigned long long>(conflicts.load()), seen_by_readers.size());
}

TEST(OptimisticModel, PowerCutsWithConcurrentWriters) {
  const uint64_t seed = testing::Seed("OptimisticModel.PowerCuts");
  std::mt19937_64 rng(seed);
  auto store = std::make_shared<FaultStore>();
  Options opts;
  opts.create_if_missing = true;
  opts.cache_bytes = 256 << 10;
  opts.optimistic_record_bytes = 4 << 10;
  Model state;  // what the store holds after the last cut
  {
    auto db = Db::Open(store, opts);
    ASSERT_TRUE(db.ok()) << db.status().ToString();
  }
  ASSERT_TRUE(store->Sync().ok());
  opts.create_if_missing = false;
  const uint64_t cuts = testing::Steps(40);
  uint64_t sealed_total = 0, landed_beyond = 0;
  for (uint64_t cut = 0; cut < cuts; cut++) {
    opts.durability = cut % 4 == 3 ? Durability::kFullTwoSync : Durability::kFull;
    auto db = Db::Open(store, opts);
    ASSERT_TRUE(db.ok()) << "cut " << cut << ": " << db.status().ToString();
    ASSERT_EQ(testing::ReadAll(db->get()), state) << "cut " << cut;
    store->DieAfter(static_cast<int64_t>(20 + rng() % 300));
    std::mutex mu;
    std::vector<Done> sealed;
    uint64_t durable = 0;
    std::vector<std::thread> threads;
    for (int th = 0; th < 3; th++) {
      threads.emplace_back([&, th, s = rng()] {
        std::mt19937_64 r(s);
        for (uint64_t i = 0;; i++) {
          auto w = (*db)->BeginWrite();
          if (!w.ok()) return;  // poisoned
          Done d;
          Status failure;
          if (!RunRandom(r, w->get(), th, i, &d.read_only, &d.events, &failure)) {
            if (failure.IsConflict()) continue;
            return;
          }
          auto id = (*w)->CommitNoWait();
          if (id.status().IsConflict()) continue;
          if (!id.ok()) return;
          d.id = *id;
          Status st = (*db)->WaitDurable(*id);
          std::lock_guard lock(mu);
          sealed.push_back(std::move(d));  // read-only ones too: checked below
          if (!st.ok()) return;
          durable = std::max(durable, *id);
        }
      });
    }
    for (auto& t : threads) t.join();
    db->reset();
    store->PowerCut(rng);
    // Writers in commit order, each followed by the read-only transactions
    // that were checked against its commit.
    std::sort(sealed.begin(), sealed.end(), [](const Done& a, const Done& b) {
      return a.id != b.id ? a.id < b.id : a.read_only < b.read_only;
    });
    // The store holds the commits up to one at or after the last durable
    // one, in order.
    auto reopened = Db::Open(store, opts);
    ASSERT_TRUE(reopened.ok()) << "cut " << cut << ": " << reopened.status().ToString();
    const Model found = testing::ReadAll(reopened->get());
    testing::ExpectClean(reopened->get());
    Model m = state;
    uint64_t first_writer = ~uint64_t{0};
    for (const Done& d : sealed) {
      if (!d.read_only) {
        first_writer = std::min(first_writer, d.id);
        sealed_total++;
      }
    }
    bool match = m == found && durable < first_writer;
    for (const Done& d : sealed) {
      Apply(d, &m);  // a read-only one only checks what it read
      ASSERT_FALSE(HasFailure()) << "seed " << seed << " cut " << cut;
      if (d.read_only) continue;
      if (d.id >= durable && m == found) {
        match = true;
        if (d.id > durable) landed_beyond++;
        break;
      }
    }
    ASSERT_TRUE(match) << "seed " << seed << " cut " << cut
                       << ": the store is no prefix of the commits at or after " << durable;
    state = found;
  }
  std::printf("%llu cuts, %llu commits sealed, %llu cuts kept commits past the last durable one\n",
              static_cast<unsigned long long>(cuts), static_cast<unsigned long long>(sealed_total),
              static_cast<unsigned long long>(landed_beyond));
}

}  // namespace
}  // namespace bruce
