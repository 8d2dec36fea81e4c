// Optimistic write transactions (WriteMode::kOptimistic): several open at
// once, each committing when what it observed still holds at its commit
// (rebased onto the newer state) and failing with kConflict otherwise;
// exclusive transactions keep one writer at a time.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <future>
#include <thread>

#include "bruce/db.h"
#include "store/fault_store.h"
#include "testutil.h"

namespace bruce {
namespace {

std::unique_ptr<WriteTxn> Begin(Db* db, WriteMode mode = WriteMode::kOptimistic) {
  auto w = db->BeginWrite(mode);
  EXPECT_TRUE(w.ok()) << w.status().ToString();
  return std::move(w).value();
}

std::string GetOr(Db* db, const std::string& key, const std::string& dflt = "") {
  auto r = db->BeginRead();
  std::string v;
  Status st = (*r)->Main()->Get(key, &v);
  return st.ok() ? v : dflt;
}

void PutCommitted(Db* db, const std::string& k, const std::string& v) {
  auto w = Begin(db);
  ASSERT_TRUE(w->Main()->Put(k, v).ok());
  ASSERT_TRUE(w->Commit().ok());
}

TEST(Optimistic, DisjointKeysNeverConflict) {
  auto db = testing::OpenMemoryDb();
  PutCommitted(db.get(), "a", "0");
  auto t1 = Begin(db.get());
  auto t2 = Begin(db.get());  // open at once, on one thread: neither waits
  std::string v;
  ASSERT_TRUE(t1->Main()->Get("a", &v).ok());
  ASSERT_TRUE(t1->Main()->Put("b", "1").ok());
  ASSERT_TRUE(t2->Main()->Put("c", "2").ok());
  ASSERT_TRUE(t2->Main()->Get("missing", &v).IsNotFound());
  // Committed in the other order from their start: t1 is rebased onto t2.
  ASSERT_TRUE(t2->Commit().ok());
  ASSERT_TRUE(t1->Commit().ok());
  EXPECT_EQ(GetOr(db.get(), "b"), "1");
  EXPECT_EQ(GetOr(db.get(), "c"), "2");
  EXPECT_EQ(GetOr(db.get(), "a"), "0");
  testing::ExpectClean(db.get());
}

TEST(Optimistic, LostUpdateIsAConflict) {
  auto db = testing::OpenMemoryDb();
  PutCommitted(db.get(), "x", "0");
  auto increment = [](WriteTxn* w) {
    std::string v;
    EXPECT_TRUE(w->Main()->Get("x", &v).ok());
    EXPECT_TRUE(w->Main()->Put("x", std::to_string(std::stoi(v) + 1)).ok());
  };
  auto t1 = Begin(db.get());
  auto t2 = Begin(db.get());
  increment(t1.get());
  increment(t2.get());
  ASSERT_TRUE(t1->Commit().ok());
  const std::string before = db->RootHash();
  Status st = t2->Commit();
  ASSERT_TRUE(st.IsConflict()) << st.ToString();
  EXPECT_EQ(db->RootHash(), before);  // nothing written
  EXPECT_EQ(GetOr(db.get(), "x"), "1");
  auto t3 = Begin(db.get());  // the retry
  increment(t3.get());
  ASSERT_TRUE(t3->Commit().ok());
  EXPECT_EQ(GetOr(db.get(), "x"), "2");
}

TEST(Optimistic, WriteSkewIsAConflict) {
  // Two on-call doctors; each transaction lets one go if the other stays.
  auto db = testing::OpenMemoryDb();
  PutCommitted(db.get(), "alice", "on");
  PutCommitted(db.get(), "bob", "on");
  auto leave = [](WriteTxn* w, const char* me, const char* other) {
    std::string v;
    EXPECT_TRUE(w->Main()->Get(other, &v).ok());
    if (v == "on") {
      EXPECT_TRUE(w->Main()->Put(me, "off").ok());
    }
  };
  auto t1 = Begin(db.get());
  auto t2 = Begin(db.get());
  leave(t1.get(), "alice", "bob");
  leave(t2.get(), "bob", "alice");
  ASSERT_TRUE(t1->Commit().ok());
  ASSERT_TRUE(t2->Commit().IsConflict());  // snapshot isolation would let both go
  EXPECT_EQ(GetOr(db.get(), "alice"), "off");
  EXPECT_EQ(GetOr(db.get(), "bob"), "on");
}

TEST(Optimistic, PhantomInAScannedOrCountedRangeIsAConflict) {
  auto db = testing::OpenMemoryDb();
  for (int i = 0; i < 5; i++) PutCommitted(db.get(), "a" + std::to_string(i), "v");
  PutCommitted(db.get(), "b", "v");  // where the scan stops (it sees it)
  // A scan with a cursor, then a count of a range: an insert into either
  // range by another commit is a conflict, one outside both is not.
  auto scan = [](WriteTxn* w) {
    auto c = w->Main()->NewCursor();
    int n = 0;
    for (c->SeekPrefix("a"); c->Valid() && c->key()[0] == 'a'; c->Next()) n++;
    EXPECT_TRUE(w->Main()->Put("sum/a", std::to_string(n)).ok());
  };
  auto count = [](WriteTxn* w) {
    auto n = w->Main()->Count("m", "n");
    ASSERT_TRUE(n.ok());
    EXPECT_TRUE(w->Main()->Put("sum/m", std::to_string(*n)).ok());
  };
  for (const char* other : {"a9", "m5", "z1"}) {
    SCOPED_TRACE(other);
    auto t1 = Begin(db.get());
    auto t2 = Begin(db.get());
    scan(t1.get());
    count(t2.get());
    PutCommitted(db.get(), other, "phantom");
    Status s1 = t1->Commit(), s2 = t2->Commit();
    EXPECT_EQ(s1.IsConflict(), other[0] == 'a') << s1.ToString();
    EXPECT_EQ(s2.IsConflict(), other[0] == 'm') << s2.ToString();
    EXPECT_TRUE(s1.ok() || s1.IsConflict());
    EXPECT_TRUE(s2.ok() || s2.IsConflict());
  }
  // The outside insert let both commit, with the counts they saw.
  EXPECT_EQ(GetOr(db.get(), "sum/a"), "6");
  EXPECT_EQ(GetOr(db.get(), "sum/m"), "1");
}

TEST(Optimistic, AReadOnlyTransactionConflictsWhenWhatItReadChanged) {
  auto db = testing::OpenMemoryDb();
  PutCommitted(db.get(), "x", "1");
  PutCommitted(db.get(), "y", "1");
  auto t1 = Begin(db.get());
  auto t2 = Begin(db.get());
  std::string v;
  ASSERT_TRUE(t1->Main()->Get("x", &v).ok());
  ASSERT_TRUE(t2->Main()->Get("y", &v).ok());
  PutCommitted(db.get(), "x", "2");
  EXPECT_TRUE(t1->Commit().IsConflict());
  EXPECT_TRUE(t2->Commit().ok());
}

TEST(Optimistic, AReadOnlyTransactionCommitsBesideAnExclusiveWriter) {
  // A transaction that changed nothing takes no writer role at commit: it
  // is checked against the newest commit while an exclusive transaction
  // (which holds the role until it ends) is open.
  auto db = testing::OpenMemoryDb();
  PutCommitted(db.get(), "x", "1");
  PutCommitted(db.get(), "y", "1");
  auto r1 = Begin(db.get());
  auto r2 = Begin(db.get());
  auto r3 = Begin(db.get());
  const uint64_t began = r1->id() - 1;
  std::string v;
  ASSERT_TRUE(r1->Main()->Get("x", &v).ok());
  ASSERT_TRUE(r2->Main()->Get("x", &v).ok());
  ASSERT_TRUE(r3->Main()->Get("y", &v).ok());
  // Nothing came since r1 began: its id is that commit's.
  auto id1 = r1->CommitNoWait();
  ASSERT_TRUE(id1.ok()) << id1.status().ToString();
  EXPECT_EQ(*id1, began);
  PutCommitted(db.get(), "x", "2");  // r2 read x: a conflict; r3 read y: not one
  auto w = Begin(db.get(), WriteMode::kExclusive);
  ASSERT_TRUE(w->Main()->Put("y", "2").ok());  // not committed: r3 still holds
  // On threads of their own: a commit that waited for the writer role would
  // wait for w, which ends below whatever happens.
  auto c2 = std::async(std::launch::async, [&] { return r2->Commit(); });
  auto c3 = std::async(std::launch::async, [&] { return r3->CommitNoWait(); });
  const bool waited = c2.wait_for(std::chrono::seconds(60)) != std::future_status::ready ||
                      c3.wait_for(std::chrono::seconds(60)) != std::future_status::ready;
  ASSERT_TRUE(w->Commit().ok());
  const Status s2 = c2.get();
  const Result<uint64_t> id3 = c3.get();
  EXPECT_FALSE(waited) << "a read-only commit waited for the exclusive writer";
  EXPECT_TRUE(s2.IsConflict()) << s2.ToString();
  ASSERT_TRUE(id3.ok()) << id3.status().ToString();
  EXPECT_EQ(*id3, began + 1);  // checked against the newest commit before w's
  EXPECT_TRUE(db->WaitDurable(*id3).ok());
  EXPECT_EQ(GetOr(db.get(), "y"), "2");
}

TEST(Optimistic, ACallThatChangesNothingWhereItBeganStillWritesLater) {
  // Truncate to the size a value has changes nothing and says only OK; once
  // another commit has resized the value, the same call at commit does
  // change it, and the transaction must commit that (not pass as read-only).
  auto db = testing::OpenMemoryDb();
  PutCommitted(db.get(), "k", "12345");
  auto t = Begin(db.get());
  ASSERT_TRUE(t->Main()->Truncate("k", 5).ok());
  PutCommitted(db.get(), "k", "123456789");
  ASSERT_TRUE(t->Commit().ok());
  EXPECT_EQ(GetOr(db.get(), "k"), "12345");
}

// A durable store on `store` in which "x" was committed.
std::unique_ptr<Db> OpenWithX(const std::shared_ptr<FaultStore>& store) {
  Options o;
  o.create_if_missing = true;
  auto db = Db::Open(store, o);
  if (!db.ok()) {
    ADD_FAILURE() << db.status().ToString();
    return nullptr;
  }
  PutCommitted(db->get(), "x", "1");
  return std::move(db).value();
}

TEST(Optimistic, AReadOnlyCommitFailsOnceACommitCouldNotBeMadeDurable) {
  // A commit whose sync fails poisons the store: no commit is made until it
  // is reopened. A transaction that changed nothing would be ordered at the
  // newest commit, which may never reach the disk: it fails too, whether it
  // waits for durability (Commit) or not (CommitNoWait).
  auto store = std::make_shared<FaultStore>();
  std::unique_ptr<Db> db = OpenWithX(store);
  ASSERT_NE(db, nullptr);
  auto r1 = Begin(db.get());
  auto r2 = Begin(db.get());
  auto writer = Begin(db.get());
  std::string v;
  ASSERT_TRUE(r1->Main()->Get("x", &v).ok());
  ASSERT_TRUE(r2->Main()->Get("x", &v).ok());
  ASSERT_TRUE(writer->Main()->Put("z", "1").ok());
  store->FailSyncs(true);
  auto w = Begin(db.get(), WriteMode::kExclusive);
  ASSERT_TRUE(w->Main()->Put("y", "1").ok());
  const Result<uint64_t> sealed = w->CommitNoWait();
  ASSERT_TRUE(sealed.ok()) << sealed.status().ToString();
  // Writers that began before the sync failed, one with changes and one
  // without, commit after it.
  auto w2 = Begin(db.get(), WriteMode::kExclusive);
  ASSERT_TRUE(w2->Main()->Put("y", "2").ok());
  const Status failed = db->WaitDurable(*sealed);
  ASSERT_EQ(failed.code(), Code::kIOError) << failed.ToString();
  const Result<uint64_t> id_w2 = w2->CommitNoWait();  // not only its wait fails
  EXPECT_EQ(id_w2.status().code(), Code::kIOError) << id_w2.status().ToString();
  auto w3 = db->BeginWrite(WriteMode::kExclusive);
  EXPECT_EQ(w3.status().code(), Code::kIOError);
  const Result<uint64_t> id = r1->CommitNoWait();
  EXPECT_EQ(id.status().code(), Code::kIOError) << id.status().ToString();
  const Status s2 = r2->Commit();
  EXPECT_EQ(s2.code(), Code::kIOError) << s2.ToString();
  const Status so = writer->Commit();
  EXPECT_EQ(so.code(), Code::kIOError) << so.ToString();
  EXPECT_EQ(db->BeginWrite().status().code(), Code::kIOError);
}

TEST(Optimistic, AnExclusiveTransactionThatChangedNothingFailsOnceThePoisonCame) {
  auto store = std::make_shared<FaultStore>();
  std::unique_ptr<Db> db = OpenWithX(store);
  ASSERT_NE(db, nullptr);
  store->FailSyncs(true);
  auto w = Begin(db.get(), WriteMode::kExclusive);
  ASSERT_TRUE(w->Main()->Put("y", "1").ok());
  const Result<uint64_t> sealed = w->CommitNoWait();
  ASSERT_TRUE(sealed.ok()) << sealed.status().ToString();
  auto idle = Begin(db.get(), WriteMode::kExclusive);
  ASSERT_EQ(db->WaitDurable(*sealed).code(), Code::kIOError);
  const Result<uint64_t> id = idle->CommitNoWait();
  EXPECT_EQ(id.status().code(), Code::kIOError) << id.status().ToString();
}

TEST(Optimistic, ATreeRemadeWithOtherOptionsIsAConflict) {
  // The transaction opened tree t with 10-bit filters; another commit drops
  // it and makes a new t with 4-bit ones. Same name, same keys: still not
  // the tree it wrote to, so its commit conflicts.
  auto db = testing::OpenMemoryDb();
  TreeOptions ten;
  ten.bloom_bits_per_key = 10;
  {
    auto w = Begin(db.get());
    ASSERT_TRUE(w->CreateTree("t", ten).ok());
    ASSERT_TRUE(w->Commit().ok());
  }
  auto t = Begin(db.get());
  Tree* mine = t->OpenTree("t").value();
  ASSERT_EQ(mine->options().bloom_bits_per_key, 10u);
  ASSERT_TRUE(mine->Put("k", "v").ok());
  {
    auto w = Begin(db.get());
    ASSERT_TRUE(w->DropTree("t").ok());
    TreeOptions four;
    four.bloom_bits_per_key = 4;
    ASSERT_TRUE(w->CreateTree("t", four).ok());
    ASSERT_TRUE(w->Commit().ok());
  }
  const Status st = t->Commit();
  EXPECT_TRUE(st.IsConflict()) << st.ToString();
  auto r = db->BeginRead().value();
  EXPECT_EQ(r->OpenTree("t").value()->options().bloom_bits_per_key, 4u);
  std::string v;
  EXPECT_TRUE(r->OpenTree("t").value()->Get("k", &v).IsNotFound());
}

TEST(Optimistic, ResultsOfChangesAreObservationsToo) {
  // A Delete's NotFound, a kNoOverwrite Put's kExists and a Rename's source
  // all depend on the store: another commit changing them is a conflict.
  auto db = testing::OpenMemoryDb();
  PutCommitted(db.get(), "gone", "1");
  auto t1 = Begin(db.get());
  auto t2 = Begin(db.get());
  auto t3 = Begin(db.get());
  auto t4 = Begin(db.get());
  ASSERT_TRUE(t1->Main()->Delete("absent").IsNotFound());
  ASSERT_TRUE(t2->Main()->Put("new", "mine", kNoOverwrite).ok());
  ASSERT_TRUE(t3->Main()->Rename("gone", "moved").ok());
  ASSERT_TRUE(t4->Main()->Put("unrelated", "1").ok());
  {
    auto w = Begin(db.get());
    ASSERT_TRUE(w->Main()->Put("absent", "now").ok());
    ASSERT_TRUE(w->Main()->Put("new", "theirs").ok());
    ASSERT_TRUE(w->Main()->Delete("gone").ok());
    ASSERT_TRUE(w->Commit().ok());
  }
  EXPECT_TRUE(t1->Commit().IsConflict());
  EXPECT_TRUE(t2->Commit().IsConflict());
  EXPECT_TRUE(t3->Commit().IsConflict());
  EXPECT_TRUE(t4->Commit().ok());
  EXPECT_EQ(GetOr(db.get(), "new"), "theirs");
}

TEST(Optimistic, SeesItsOwnWritesAndKeepsThemThroughARebase) {
  auto db = testing::OpenMemoryDb();
  for (int i = 0; i < 100; i++) PutCommitted(db.get(), "k" + std::to_string(1000 + i), "v");
  auto w = Begin(db.get());
  Tree* t = w->Main();
  ASSERT_TRUE(t->Put("k1050", "changed").ok());
  ASSERT_TRUE(t->Delete("k1000").ok());
  ASSERT_TRUE(t->Put("p1", "new").ok());
  EXPECT_EQ(t->Count().value(), 100u);
  EXPECT_EQ(t->CountPrefix("k").value(), 99u);
  EXPECT_EQ(t->Rank("k1050").value(), 49u);
  EXPECT_EQ(t->Select(49).value().value, "changed");
  std::string v;
  ASSERT_TRUE(t->Get("k1050", &v).ok());
  EXPECT_EQ(v, "changed");
  auto c = t->NewCursor();
  c->Seek("k1049");
  ASSERT_TRUE(c->Valid());
  c->Next();
  ASSERT_TRUE(c->Valid());
  EXPECT_EQ(c->key(), "k1050");
  EXPECT_EQ(c->value(), "changed");
  ASSERT_TRUE(c->Put("by cursor").ok());
  // Cursors made and dropped in a loop (each goes with its handle).
  for (int i = 0; i < 200; i++) {
    auto probe = t->NewCursor();
    ASSERT_TRUE(probe->SeekExact("k" + std::to_string(1001 + i % 99)));
  }
  // A tree made, filled and dropped, another made and kept; a large value
  // written in pieces with a hole, then renamed.
  auto tmp = w->CreateTree("tmp");
  ASSERT_TRUE(tmp.ok());
  ASSERT_TRUE((*tmp)->Put("x", "y").ok());
  ASSERT_TRUE(w->DropTree("tmp").ok());
  auto files = w->CreateTree("files");
  ASSERT_TRUE(files.ok());
  std::string big(300000, 'b');
  for (size_t i = 0; i < big.size(); i++) big[i] = static_cast<char>('a' + i % 23);
  ASSERT_TRUE((*files)->WriteAt("f", 0, big).ok());
  ASSERT_TRUE((*files)->WriteAt("f", 1 << 20, "tail").ok());
  ASSERT_TRUE((*files)->Rename("f", "g").ok());
  std::string got;
  ASSERT_TRUE((*files)->ReadAt("g", 1000, 5000, &got).ok());
  EXPECT_EQ(got, big.substr(1000, 5000));
  // Reservations one after another (each applied before the next), a
  // small and a large one.
  auto r = (*files)->Reserve("reserved", 4);
  ASSERT_TRUE(r.ok());
  std::memcpy(*r, "abcd", 4);
  auto r2 = (*files)->Reserve("reserved2", 3000);
  ASSERT_TRUE(r2.ok());
  std::memset(*r2, 'r', 3000);
  auto r3 = t->Reserve("reserved3", 5);
  ASSERT_TRUE(r3.ok());
  std::memcpy(*r3, "efghi", 5);
  // Another commit comes first (another tree: w counted all of main): w is
  // rebased.
  {
    auto o = Begin(db.get());
    auto side = o->CreateTree("side");
    ASSERT_TRUE(side.ok());
    ASSERT_TRUE((*side)->Put("other", "1").ok());
    ASSERT_TRUE(o->Commit().ok());
  }
  Status st = w->Commit();
  ASSERT_TRUE(st.ok()) << st.ToString();

  auto rd = db->BeginRead();
  EXPECT_EQ(GetOr(db.get(), "k1050"), "by cursor");
  EXPECT_EQ(GetOr(db.get(), "k1000", "absent"), "absent");
  EXPECT_TRUE((*rd)->OpenTree("side").ok());
  EXPECT_TRUE((*rd)->OpenTree("tmp").status().IsNotFound());
  auto f = (*rd)->OpenTree("files");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ((*f)->ValueSize("g").value(), (1u << 20) + 4);
  ASSERT_TRUE((*f)->ReadAt("g", 0, big.size(), &got).ok());
  EXPECT_EQ(got, big);
  ASSERT_TRUE((*f)->ReadAt("g", 1 << 20, 10, &got).ok());
  EXPECT_EQ(got, "tail");
  ASSERT_TRUE((*f)->Get("reserved", &got).ok());
  EXPECT_EQ(got, "abcd");
  ASSERT_TRUE((*f)->Get("reserved2", &got).ok());
  EXPECT_EQ(got, std::string(3000, 'r'));
  EXPECT_EQ(GetOr(db.get(), "reserved3"), "efghi");
  EXPECT_TRUE((*f)->ValueSize("f").status().IsNotFound());
  testing::ExpectClean(db.get());
}

TEST(Optimistic, ACursorMayOutliveItsTransaction) {
  auto db = testing::OpenMemoryDb();
  PutCommitted(db.get(), "a", "1");
  std::unique_ptr<Cursor> c;
  {
    auto w = Begin(db.get());
    c = w->Main()->NewCursor();
    c->First();
    ASSERT_TRUE(c->Valid());
    ASSERT_TRUE(w->Commit().ok());
    EXPECT_FALSE(c->Valid());  // finished
  }
  EXPECT_FALSE(c->status().ok());
  c.reset();  // after the transaction: nothing to tell it
}

TEST(Optimistic, SnapshotCallsConflictWithAnyCommitSinceTheStart) {
  auto db = testing::OpenMemoryDb();
  PutCommitted(db.get(), "a", "1");
  auto t1 = Begin(db.get());
  ASSERT_TRUE(t1->CreateSnapshot("s1").ok());
  auto t2 = Begin(db.get());
  ASSERT_TRUE(t2->CreateSnapshot("s2").ok());
  ASSERT_TRUE(t2->Commit().ok());  // nothing came between: made
  EXPECT_TRUE(t1->Commit().IsConflict());
  auto list = db->ListSnapshots();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].name, "s2");
}

TEST(Optimistic, AbortedAndUnfinishedTransactionsWriteNothing) {
  auto db = testing::OpenMemoryDb();
  PutCommitted(db.get(), "a", "1");
  const std::string before = db->RootHash();
  {
    auto w = Begin(db.get());
    ASSERT_TRUE(w->Main()->Put("a", "2").ok());
    ASSERT_TRUE(w->Main()->WriteAt("big", 0, std::string(100000, 'x')).ok());
  }  // destroyed without a commit
  auto w = Begin(db.get());
  ASSERT_TRUE(w->Main()->Put("a", "3").ok());
  w->Abort();
  EXPECT_FALSE(w->Main()->Put("a", "4").ok());  // finished
  EXPECT_EQ(db->RootHash(), before);
  EXPECT_EQ(GetOr(db.get(), "a"), "1");
}

TEST(Optimistic, ExclusiveTransactionsTakeTurnsAndOptimisticCommitsWaitForThem) {
  auto db = testing::OpenMemoryDb();
  auto ex = Begin(db.get(), WriteMode::kExclusive);
  // An optimistic transaction begins and works while it is open...
  auto opt = Begin(db.get());
  ASSERT_TRUE(opt->Main()->Put("o", "1").ok());
  // ... but a second exclusive one, and the optimistic commit, wait for it:
  // their commits come after its commit.
  std::atomic<int> started{0};
  auto second = std::async(std::launch::async, [&]() -> uint64_t {
    started++;
    auto w = Begin(db.get(), WriteMode::kExclusive);
    EXPECT_EQ(GetOr(db.get(), "e"), "1");
    EXPECT_TRUE(w->Main()->Put("e2", "1").ok());
    auto id = w->CommitNoWait();
    EXPECT_TRUE(id.ok());
    return id.ok() ? *id : 0;
  });
  auto commit = std::async(std::launch::async, [&]() -> uint64_t {
    started++;
    auto id = opt->CommitNoWait();
    EXPECT_TRUE(id.ok()) << id.status().ToString();
    return id.ok() ? *id : 0;
  });
  while (started.load() < 2) std::this_thread::yield();
  ASSERT_TRUE(ex->Main()->Put("e", "1").ok());
  auto ex_id = ex->CommitNoWait();
  ASSERT_TRUE(ex_id.ok());
  EXPECT_GT(second.get(), *ex_id);
  EXPECT_GT(commit.get(), *ex_id);
  EXPECT_EQ(GetOr(db.get(), "o"), "1");
  EXPECT_EQ(GetOr(db.get(), "e2"), "1");
}

TEST(Optimistic, ItsIdIsAnObservation) {
  // A transaction that wrote the id it would commit as conflicts when
  // another commit took that id first.
  auto db = testing::OpenMemoryDb();
  auto t1 = Begin(db.get());
  auto t2 = Begin(db.get());
  const uint64_t id = t1->id();
  ASSERT_TRUE(t1->Main()->Put("last", std::to_string(id)).ok());
  ASSERT_TRUE(t2->Main()->Put("other", "1").ok());
  auto committed = t2->CommitNoWait();
  ASSERT_TRUE(committed.ok());
  EXPECT_EQ(*committed, id);
  EXPECT_TRUE(t1->Commit().IsConflict());
  auto t3 = Begin(db.get());
  ASSERT_TRUE(t3->Main()->Put("last", std::to_string(t3->id())).ok());
  auto mine = t3->CommitNoWait();
  ASSERT_TRUE(mine.ok());
  EXPECT_EQ(GetOr(db.get(), "last"), std::to_string(*mine));
}

std::unique_ptr<Db> OpenWithRecordLimit(size_t bytes) {
  Options o;
  o.create_if_missing = true;
  o.durability = Durability::kNoSync;
  o.optimistic_record_bytes = bytes;
  auto db = Db::Open(std::shared_ptr<PageStore>(NewMemoryStore()), o);
  EXPECT_TRUE(db.ok()) << db.status().ToString();
  return std::move(db).value();
}

TEST(Optimistic, ALargeTransactionTakesTheWriterRoleEarly) {
  // Three transactions pass a 256 KiB record: one with nothing committed
  // since its start (its state becomes the writer's), one after a disjoint
  // commit (rebased, then goes on as an exclusive transaction: its cursor
  // and trees keep working) and one whose read changed (kConflict from the
  // call that passed the limit, and from Commit).
  auto db = OpenWithRecordLimit(256 << 10);
  PutCommitted(db.get(), "x", "0");
  const std::string chunk(64 << 10, 'c');
  auto t1 = Begin(db.get());
  auto t2 = Begin(db.get());
  auto t3 = Begin(db.get());
  std::string v;
  ASSERT_TRUE(t2->Main()->Get("x", &v).ok());
  ASSERT_TRUE(t3->Main()->Get("x", &v).ok());
  auto c2 = t2->Main()->NewCursor();
  c2->Seek("x");
  ASSERT_TRUE(c2->Valid());
  for (int i = 0; i < 8; i++) {
    ASSERT_TRUE(t1->Main()->WriteAt("one", static_cast<uint64_t>(i) * chunk.size(), chunk).ok());
  }
  // t1 now holds the role: an exclusive transaction waits for it, so its
  // commit comes after t1's.
  std::atomic<bool> started{false};
  auto ex = std::async(std::launch::async, [&]() -> uint64_t {
    started = true;
    auto w = Begin(db.get(), WriteMode::kExclusive);
    EXPECT_TRUE(w->Main()->Put("ex", "1").ok());
    auto id = w->CommitNoWait();
    EXPECT_TRUE(id.ok());
    return id.ok() ? *id : 0;
  });
  while (!started.load()) std::this_thread::yield();
  ASSERT_TRUE(t1->Main()->Put("one-more", "1").ok());
  auto t1_id = t1->CommitNoWait();
  ASSERT_TRUE(t1_id.ok());
  EXPECT_GT(ex.get(), *t1_id);
  for (int i = 0; i < 8; i++) {
    ASSERT_TRUE(t2->Main()->Put("two" + std::to_string(i), chunk).ok());
  }
  EXPECT_EQ(c2->key(), "x");  // the cursor, moved to the writer
  ASSERT_TRUE(c2->Put("from the cursor").ok());
  auto extra = t2->CreateTree("extra");
  ASSERT_TRUE(extra.ok());
  ASSERT_TRUE((*extra)->Put("k", "v").ok());
  ASSERT_TRUE(t2->Commit().ok());
  PutCommitted(db.get(), "x", "changed");
  Status st;
  for (int i = 0; i < 8 && st.ok(); i++) st = t3->Main()->Put("three" + std::to_string(i), chunk);
  EXPECT_TRUE(st.IsConflict()) << st.ToString();
  EXPECT_TRUE(t3->Commit().IsConflict());

  EXPECT_EQ(GetOr(db.get(), "x"), "changed");
  EXPECT_EQ(GetOr(db.get(), "one-more"), "1");
  EXPECT_EQ(GetOr(db.get(), "two7"), chunk);
  EXPECT_EQ(GetOr(db.get(), "three0", "absent"), "absent");
  auto r = db->BeginRead();
  EXPECT_EQ((*r)->Main()->ValueSize("one").value(), 8 * chunk.size());
  std::string got;
  ASSERT_TRUE((*r)->Main()->ReadAt("one", 7 * chunk.size(), chunk.size(), &got).ok());
  EXPECT_EQ(got, chunk);
  EXPECT_TRUE((*r)->OpenTree("extra").ok());
  testing::ExpectClean(db.get());
}

}  // namespace
}  // namespace bruce
