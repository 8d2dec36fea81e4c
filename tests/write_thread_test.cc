// The write thread (store/write_behind.h, Options::write_thread): the order
// and errors of its writes, and large commits, whose node writes it makes,
// under power cuts and a full disk, on the fault-injecting store.
#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <map>
#include <random>
#include <thread>

#include "bruce/db.h"
#include "store/fault_store.h"
#include "store/write_behind.h"
#include "testutil.h"
#include "txn/db_impl.h"

namespace bruce {
namespace {

using Model = std::map<std::string, std::string>;

uint64_t BatchesByThread(Db* db) {
  WriteBehind* wb = static_cast<DbImpl*>(db)->write_behind();
  return wb ? wb->batches_written() : 0;
}

// A store whose writes fail with `err` when made by a thread other than
// the one that made it (the write thread's), while armed.
class FailOtherThreads final : public PageStore {
 public:
  explicit FailOtherThreads(std::shared_ptr<PageStore> inner) : inner_(std::move(inner)) {}
  Status Read(uint64_t offset, size_t n, char* out) override { return inner_->Read(offset, n, out); }
  Status Write(uint64_t offset, std::string_view data) override {
    if (armed_.load() && std::this_thread::get_id() != owner_) {
      failed_++;
      return Status::IOError("write refused", ENOSPC);
    }
    return inner_->Write(offset, data);
  }
  Status Sync() override { return inner_->Sync(); }
  Result<uint64_t> Size() override { return inner_->Size(); }
  Status Truncate(uint64_t size) override { return inner_->Truncate(size); }
  std::string Name() const override { return "fails other threads' writes"; }
  void Arm(bool on) { armed_.store(on); }
  int failed() const { return failed_.load(); }

 private:
  std::shared_ptr<PageStore> inner_;
  const std::thread::id owner_ = std::this_thread::get_id();
  std::atomic<bool> armed_{false};
  std::atomic<int> failed_{0};
};

std::string Read(PageStore* s, uint64_t off, size_t n) {
  std::string out(n, '\0');
  EXPECT_TRUE(s->Read(off, n, out.data()).ok());
  return out;
}

TEST(WriteBatch, AddJoinsAdjacentRunsAndPads) {
  WriteBatch b;
  b.Add(4096, "abc", 4096);
  b.Add(8192, "def", 4096);  // right after: the same run
  b.Add(20480, "g", 8192);   // apart: a new run
  ASSERT_EQ(b.runs.size(), 2u);
  EXPECT_EQ(b.runs[0].offset, 4096u);
  EXPECT_EQ(b.runs[0].len, 8192u);
  EXPECT_EQ(b.runs[1].offset, 20480u);
  EXPECT_EQ(b.runs[1].len, 8192u);
  EXPECT_EQ(b.size(), 16384u);
  auto store = NewMemoryStore();
  ASSERT_TRUE(b.WriteTo(store.get()).ok());
  EXPECT_EQ(Read(store.get(), 4096, 4), std::string("abc\0", 4));
  EXPECT_EQ(Read(store.get(), 8192, 3), "def");
  EXPECT_EQ(Read(store.get(), 20480, 2), std::string("g\0", 2));
  EXPECT_EQ(Read(store.get(), 20480 + 8191, 1), std::string(1, '\0'));
}

// Batches are written in the order given: of two writes to one page, the
// later one is what the page holds.
TEST(WriteBehind, WritesInSubmissionOrder) {
  auto store = NewMemoryStore();
  WriteBehind wb(store.get());
  for (int round = 0; round < 50; round++) {
    for (int page = 0; page < 8; page++) {
      WriteBatch b = wb.TakeBuffer();
      std::string v = std::to_string(round) + "/" + std::to_string(page);
      b.Add(uint64_t(page) * 4096, v, 4096);
      ASSERT_TRUE(wb.Submit(&b).ok());
      EXPECT_TRUE(b.empty());
    }
  }
  ASSERT_TRUE(wb.Drain().ok());
  for (int page = 0; page < 8; page++) {
    std::string want = "49/" + std::to_string(page);
    EXPECT_EQ(Read(store.get(), uint64_t(page) * 4096, want.size()), want);
  }
}

// A failed write stops the ones queued behind it, and its error comes back
// once (from Submit or Drain); then writing goes on.
TEST(WriteBehind, AnErrorStopsTheRestAndIsReportedOnce) {
  FaultStore store;
  WriteBehind wb(&store);
  store.FailWritesWith(ENOSPC);
  WriteBatch b;
  b.Add(0, "first", 4096);
  ASSERT_TRUE(wb.Submit(&b).ok());  // queued: its error is not known yet
  Status st = wb.Drain();
  EXPECT_EQ(st.code(), Code::kNoSpace) << st.ToString();
  EXPECT_TRUE(wb.Drain().ok());  // reported once
  store.FailWritesWith(0);
  const uint64_t before = store.mutating_ops();
  b.Add(4096, "second", 4096);
  ASSERT_TRUE(wb.Submit(&b).ok());
  ASSERT_TRUE(wb.Drain().ok());
  EXPECT_EQ(store.mutating_ops(), before + 1);
  EXPECT_EQ(Read(&store, 4096, 6), "second");

  // Dropped after a failure: the writes queued behind it never reach the
  // store.
  // The store sees one write (the failed one) of all those queued.
  store.FailWritesWith(EIO);
  const uint64_t ops = store.mutating_ops();
  Status first;
  for (int i = 0; i < 20 && first.ok(); i++) {
    b.Add(uint64_t(10 + i) * 4096, "x", 4096);
    first = wb.Submit(&b);
  }
  Status drained = wb.Drain();
  EXPECT_TRUE(!first.ok() || !drained.ok());
  EXPECT_EQ(first.ok() ? drained.code() : first.code(), Code::kIOError);
  EXPECT_EQ(store.mutating_ops(), ops + 1);
  store.FailWritesWith(0);
}

// The main tree's contents, and with `mixed` the second tree's too, its
// keys named "side/<key>".
Model ReadBoth(Db* db, bool mixed) {
  Model m = testing::ReadAll(db);
  if (!mixed) return m;
  auto r = db->BeginRead();
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  if (!r.ok()) return m;
  auto side = (*r)->OpenTree("side");
  EXPECT_TRUE(side.ok()) << side.status().ToString();
  if (!side.ok()) return m;
  auto c = (*side)->NewCursor();
  for (c->First(); c->Valid(); c->Next()) m["side/" + std::string(c->key())] = std::string(c->value());
  EXPECT_TRUE(c->status().ok()) << c->status().ToString();
  return m;
}

// Commits of thousands of operations (each writes well over a batch, so
// their nodes go through the write thread), with power cuts at random
// points: the store opens, passes check, and holds the last durable commit
// or the one in flight; each is checked against a model.
// Plain: small puts over 40,000 keys. Mixed: over 4,000 keys, so that a
// commit changes a key again and frees nodes (and values) it wrote itself,
// whose pages it then reuses; one put in 20 is a value of 2 to 20 KiB
// (written as data blocks at commit, between the thread's node batches),
// a tenth of the operations are deletes, and half of them go to a second
// tree, whose values' blocks are written after the main tree's nodes have
// gone to the thread.
void PowerCutsInLargeCommits(const char* name, bool mixed) {
  std::mt19937_64 rng(testing::Seed(name));
  auto store = std::make_shared<FaultStore>();
  Options opts;
  opts.create_if_missing = true;
  opts.cache_bytes = 1 << 20;
  opts.compression_level = 0;
  {
    auto db = Db::Open(store, opts);
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    if (mixed) {
      auto w = (*db)->BeginWrite();
      ASSERT_TRUE(w.ok());
      ASSERT_TRUE((*w)->CreateTree("side").ok());
      ASSERT_TRUE((*w)->Commit().ok());
    }
  }
  ASSERT_TRUE(store->Sync().ok());
  opts.create_if_missing = false;
  Model durable;
  uint64_t durable_txn = 0, landed = 0, commits = 0, by_thread = 0;
  const uint64_t cuts = testing::Steps(30);
  const uint64_t key_space = mixed ? 4000 : 40000;
  for (uint64_t cut = 0; cut < cuts; cut++) {
    auto db = Db::Open(store, opts);
    ASSERT_TRUE(db.ok()) << "cut " << cut << ": " << db.status().ToString();
    durable_txn = (*(*db)->BeginRead())->id();
    // A commit of 3,000 puts writes a few hundred pages in one or two
    // hundred runs (mixed: about as many again for its large values): die
    // somewhere in the first few commits.
    store->DieAfter(static_cast<int64_t>(rng() % (mixed ? 2500 : 700)));
    Model in_flight;
    uint64_t in_flight_txn = 0;
    while (true) {
      auto w = (*db)->BeginWrite();
      if (!w.ok()) break;
      Model next = durable;
      bool died = false;
      Tree* side = nullptr;
      if (mixed) {
        auto t = (*w)->OpenTree("side");
        ASSERT_TRUE(t.ok()) << t.status().ToString();
        side = *t;
      }
      for (int i = 0; i < 3000 && !died; i++) {
        std::string k = "k" + std::to_string(rng() % key_space);
        const bool to_side = mixed && rng() % 2 == 0;
        Tree* tree = to_side ? side : (*w)->Main();
        const std::string mk = to_side ? "side/" + k : k;
        Status s;
        if (mixed && rng() % 10 == 0) {
          s = tree->Delete(k);
          if (s.IsNotFound()) s = Status::OK();
          next.erase(mk);
        } else {
          size_t len = mixed && rng() % 20 == 0 ? 2048 + rng() % (18 << 10) : 100;
          std::string v(len, static_cast<char>('a' + rng() % 26));
          v += std::to_string(rng());
          s = tree->Put(k, v);
          next[mk] = v;
        }
        if (!s.ok()) {
          ASSERT_EQ(s.code(), Code::kIOError) << s.ToString();
          died = true;
        }
      }
      if (died) break;
      auto sealed = (*w)->CommitNoWait();
      Status s = sealed.status();
      if (s.ok()) s = (*db)->WaitDurable(sealed.value());
      if (!s.ok()) {
        ASSERT_EQ(s.code(), Code::kIOError) << s.ToString();
        if (sealed.ok()) {
          in_flight = std::move(next);
          in_flight_txn = sealed.value();
        }
        break;
      }
      commits++;
      durable = std::move(next);
      durable_txn = sealed.value();
    }
    by_thread += BatchesByThread(db->get());
    db = Result<std::unique_ptr<Db>>(Status::OK());  // close
    store->PowerCut(rng);
    auto reopened = Db::Open(store, opts);
    ASSERT_TRUE(reopened.ok()) << "cut " << cut << ": " << reopened.status().ToString();
    CheckReport rep;
    ASSERT_TRUE((*reopened)->Check(&rep).ok());
    ASSERT_TRUE(rep.ok()) << "cut " << cut << ": " << rep.problems[0];
    uint64_t txn = (*(*reopened)->BeginRead())->id();
    if (txn != durable_txn) {
      ASSERT_EQ(txn, in_flight_txn) << "cut " << cut << ": txn " << txn << " after durable "
                                    << durable_txn;
      durable = std::move(in_flight);
      landed++;
    }
    ASSERT_TRUE(ReadBoth(reopened->get(), mixed) == durable)
        << "cut " << cut << ": contents differ from the last commit";
  }
  EXPECT_GT(commits, 0u);
  EXPECT_GT(by_thread, 0u);
  std::fprintf(stderr,
               "%s: %llu cuts, %llu large commits, %llu in flight landed, %llu batches "
               "written by the thread\n",
               name, (unsigned long long)cuts, (unsigned long long)commits,
               (unsigned long long)landed, (unsigned long long)by_thread);
}

TEST(WriteThread, PowerCutsInLargeCommits) {
  PowerCutsInLargeCommits("WriteThread.PowerCuts", false);
}

TEST(WriteThread, PowerCutsInLargeMixedCommits) {
  PowerCutsInLargeCommits("WriteThread.PowerCutsMixed", true);
}

// A full disk in the middle of a large commit fails it with NoSpace; the
// store keeps its last commit and takes new large ones once space returns.
// With the thread, only its writes fail (so the error must come from it);
// without, every write does.
TEST(WriteThread, FullDiskInALargeCommitLosesNothing) {
  std::mt19937_64 rng(testing::Seed("WriteThread.FullDisk"));
  for (bool thread : {true, false}) {
    SCOPED_TRACE(thread ? "write thread" : "no write thread");
    auto faults = std::make_shared<FaultStore>();
    auto others = std::make_shared<FailOtherThreads>(faults);
    std::shared_ptr<PageStore> store = thread ? std::shared_ptr<PageStore>(others) : faults;
    Options opts;
    opts.create_if_missing = true;
    opts.write_thread = thread;
    opts.compression_level = 0;  // random values: a commit of 5,000 is about 700 KiB of leaves
    auto db = Db::Open(store, opts);
    ASSERT_TRUE(db.ok());
    Model want;
    auto fill = [&](Model* m) {
      auto w = (*db)->BeginWrite();
      EXPECT_TRUE(w.ok());
      for (int i = 0; i < 5000; i++) {
        std::string k = "k" + std::to_string(rng() % 100000), v(120, '\0');
        for (char& c : v) c = static_cast<char>(rng());
        EXPECT_TRUE((*w)->Main()->Put(k, v).ok());
        if (m) (*m)[k] = v;
      }
      return (*w)->Commit();
    };
    ASSERT_TRUE(fill(&want).ok());
    const uint64_t batches = BatchesByThread(db->get());
    EXPECT_EQ(batches > 0, thread);
    if (thread) {
      others->Arm(true);
    } else {
      faults->FailWritesWith(ENOSPC);
    }
    Status s = fill(nullptr);
    EXPECT_EQ(s.code(), Code::kNoSpace) << s.ToString();
    if (thread) {
      EXPECT_GT(others->failed(), 0);
    }
    others->Arm(false);
    faults->FailWritesWith(0);
    EXPECT_TRUE(testing::ReadAll(db->get()) == want);
    ASSERT_TRUE(fill(&want).ok());
    EXPECT_EQ(BatchesByThread(db->get()) > batches, thread);
    testing::ExpectClean(db->get());
    db = Result<std::unique_ptr<Db>>(Status::OK());
    opts.create_if_missing = false;
    auto again = Db::Open(store, opts);
    ASSERT_TRUE(again.ok()) << again.status().ToString();
    EXPECT_TRUE(testing::ReadAll(again->get()) == want);
  }
}

}  // namespace
}  // namespace bruce
