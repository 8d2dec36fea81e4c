// Readers in other processes (store/lock_file.h): a read-only open in a
// child process reads while this process writes, and never sees a torn or
// mixed state; a reader pins what it reads until it ends or is killed.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <random>
#include <string>

#include "bruce/db.h"
#include "testutil.h"

namespace bruce {
namespace {

std::unique_ptr<Db> OpenWriter(const std::string& path) {
  Options o;
  o.create_if_missing = true;
  o.durability = Durability::kNoSync;
  auto db = Db::Open(path, o);
  EXPECT_TRUE(db.ok()) << db.status().ToString();
  return std::move(db).value();
}

std::unique_ptr<Db> OpenReader(const std::string& path) {
  Options o;
  o.read_only = true;
  o.cache_bytes = 64 << 10;  // reads go to the file, where a reused page would show
  auto db = Db::Open(path, o);
  if (!db.ok()) return nullptr;
  return std::move(db).value();
}

// One commit: every key k/0..k/(keys-1) and "sum" are rewritten so that "sum"
// is the sum of their values, and a few keys come and go (so pages are
// freed and reused at every commit).
Status Churn(Db* db, std::mt19937_64& rng, uint64_t round, int keys = 200) {
  BRUCE_ASSIGN_OR_RETURN(auto w, db->BeginWrite());
  uint64_t sum = 0;
  for (int i = 0; i < keys; ++i) {
    uint64_t v = rng() % 1000;
    sum += v;
    BRUCE_RETURN_IF_ERROR(w->Main()->Put("k/" + std::to_string(i), std::to_string(v) +
                                         std::string(rng() % 100, 'x')));
  }
  BRUCE_RETURN_IF_ERROR(w->Main()->Put("sum", std::to_string(sum)));
  BRUCE_RETURN_IF_ERROR(w->Main()->Put("round", std::to_string(round)));
  return w->Commit();
}

// Whether a read transaction sees one whole commit: "sum" is the sum of the
// values of the keys k/..., of which there are `want_keys`. 0 when it is,
// 1 on a mismatch, 2 on a read error.
int CheckSum(ReadTxn* r, int want_keys) {
  uint64_t sum = 0;
  int keys = 0;
  auto c = r->Main()->NewCursor();
  for (c->Seek("k/"); c->Valid() && c->key().substr(0, 2) == "k/"; c->Next()) {
    sum += std::stoull(std::string(c->value()));
    keys++;
  }
  std::string want;
  if (!c->status().ok() || !r->Main()->Get("sum", &want).ok()) return 2;
  return keys == want_keys && std::to_string(sum) == want ? 0 : 1;
}

// In the child: `reads` read transactions, each checking "sum" against the
// values it sees. Exit status 0 when all agree, 1 on a mismatch, 2 on an
// error, 3 when the store does not open.
int ReadLoop(const std::string& path, int reads, int want_keys) {
  auto db = OpenReader(path);
  if (!db) return 3;
  uint64_t last_round = 0;
  int rounds_seen = 0;
  // At least `reads` transactions, and on until 20 commits were seen.
  for (int n = 0; n < reads || (rounds_seen < 20 && n < 100 * reads); ++n) {
    auto r = db->BeginRead();
    if (!r.ok()) return 2;
    // Several passes: a transaction that lasts across several commits.
    for (int pass = 0; pass < 3; ++pass) {
      if (int rc = CheckSum(r->get(), want_keys)) return rc;
    }
    std::string round;
    if (!(*r)->Main()->Get("round", &round).ok()) return 2;
    if (std::stoull(round) < last_round) return 1;  // never back in time
    if (std::stoull(round) != last_round) rounds_seen++;
    last_round = std::stoull(round);
  }
  return rounds_seen >= 20 ? 0 : 4;  // 4: it did not follow the writer
}

// A child process that opens the store read-only, pins its last commit and
// waits: Check() has it check that commit now (CheckSum), and the
// destructor kills it (-9) if Kill() did not.
class PinnedReader {
 public:
  explicit PinnedReader(const std::string& path) {
    if (pipe(up_) != 0 || pipe(down_) != 0) return;
    pid_ = fork();
    if (pid_ != 0) {
      char c = 0;
      if (pid_ < 0 || read(up_[0], &c, 1) != 1) pid_ = -1;  // pinned, or dead
      return;
    }
    auto db = OpenReader(path);
    if (!db) _exit(3);
    auto r = db->BeginRead();
    if (!r.ok()) _exit(2);
    char c = 'r';
    for (;;) {
      if (write(up_[1], &c, 1) != 1 || read(down_[0], &c, 1) != 1) _exit(2);
      c = CheckSum(r->get(), 200) == 0 ? 'y' : 'n';
    }
  }
  ~PinnedReader() { Kill(); }
  // Its pid; -1 when it could not start or pin.
  pid_t pid() const { return pid_; }
  // 'y' when the pinned commit reads whole, 'n' when not, 0 when it died.
  char Check() {
    char c = 0;
    if (pid_ < 0 || write(down_[1], "c", 1) != 1 || read(up_[0], &c, 1) != 1) return 0;
    return c;
  }
  void Kill() {
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    int status;
    waitpid(pid_, &status, 0);
    pid_ = -1;
  }

 private:
  int up_[2] = {-1, -1}, down_[2] = {-1, -1};
  pid_t pid_ = -1;
};

TEST(Reader, OtherProcessesReadConsistentStatesWhileOneWrites) {
  testing::TempDir dir;
  const std::string path = dir.File("s.bruce");
  std::mt19937_64 rng(testing::Seed("Reader.Consistent"));
  {
    auto db = OpenWriter(path);
    ASSERT_TRUE(Churn(db.get(), rng, 1, 3000).ok());
  }
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) _exit(ReadLoop(path, 200, 3000));
  auto db = OpenWriter(path);  // the writer opens while the reader reads
  int status = 0;
  uint64_t round = 2;
  for (; round < 200000; ++round) {
    Status s = Churn(db.get(), rng, round, 3000);
    ASSERT_TRUE(s.ok()) << s.ToString();
    if (waitpid(child, &status, WNOHANG) == child) break;
  }
  if (round == 200000) {
    kill(child, SIGKILL);
    waitpid(child, &status, 0);
    FAIL() << "the reader did not finish within 200,000 commits";
  }
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0)
      << "1: a read transaction saw a mixed state, 2: a read error, 3: no open, 4: it saw fewer "
         "than 20 commits";
  CheckReport report;
  ASSERT_TRUE(db->Check(&report).ok());
  EXPECT_TRUE(report.ok()) << report.problems.front();
  EXPECT_GT(round, 3u);
}

// A reader in another process keeps its commit readable however much the
// writer churns (the file grows instead of reusing its pages); once it is
// killed (-9), the writer reuses them again and the file stops growing.
TEST(Reader, APinnedReaderKeepsItsPagesUntilKilled) {
  testing::TempDir dir;
  const std::string path = dir.File("s.bruce");
  std::mt19937_64 rng(testing::Seed("Reader.Pinned"));
  auto db = OpenWriter(path);
  ASSERT_TRUE(Churn(db.get(), rng, 1).ok());
  PinnedReader reader(path);
  ASSERT_GT(reader.pid(), 0) << "the reader did not pin a commit";
  auto readers = db->Readers();
  ASSERT_TRUE(readers.ok());
  ASSERT_EQ(readers->size(), 1u);
  EXPECT_EQ((*readers)[0].pid, static_cast<uint32_t>(reader.pid()));
  const uint64_t pinned_txn = (*readers)[0].txn;
  for (int i = 0; i < 300; ++i) ASSERT_TRUE(Churn(db.get(), rng, 2 + i).ok());
  const uint64_t grown = db->Stat()->total_pages;
  EXPECT_EQ(reader.Check(), 'y') << "the pinned reader read wrong bytes after the writer churned";
  EXPECT_EQ(db->Readers()->at(0).txn, pinned_txn);
  reader.Kill();
  EXPECT_TRUE(db->Readers()->empty()) << "a killed reader's slot still counts";
  // Its pages come back: after a few commits the file stops growing.
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(Churn(db.get(), rng, 400 + i).ok());
  const uint64_t settled = db->Stat()->total_pages;
  for (int i = 0; i < 300; ++i) ASSERT_TRUE(Churn(db.get(), rng, 500 + i).ok());
  EXPECT_LE(db->Stat()->total_pages, settled) << "the store still grows after the reader died";
  EXPECT_GT(grown, settled / 2) << "the store did not grow while a reader pinned it";
  // Without the pinned reader, churn reuses pages: 300 commits grow the
  // store far less than with it.
  CheckReport report;
  ASSERT_TRUE(db->Check(&report).ok());
  EXPECT_TRUE(report.ok()) << report.problems.front();
}

// Regression (found in review): a writer that opens the store after another
// writer's commits freed pages an older reader still reads must not reuse
// them: its space log cannot say which commit freed what.
TEST(Reader, ANewWriterKeepsWhatOlderReadersRead) {
  testing::TempDir dir;
  const std::string path = dir.File("s.bruce");
  std::mt19937_64 rng(testing::Seed("Reader.NewWriter"));
  {
    auto db = OpenWriter(path);
    ASSERT_TRUE(Churn(db.get(), rng, 1).ok());
  }
  PinnedReader reader(path);
  ASSERT_GT(reader.pid(), 0) << "the reader did not pin a commit";
  {
    // The first writer frees the reader's pages...
    auto db = OpenWriter(path);
    for (int i = 0; i < 20; ++i) ASSERT_TRUE(Churn(db.get(), rng, 2 + i).ok());
  }
  {
    // ...and the next one, opened afresh, must not reuse them.
    auto db = OpenWriter(path);
    for (int i = 0; i < 200; ++i) ASSERT_TRUE(Churn(db.get(), rng, 100 + i).ok());
  }
  EXPECT_EQ(reader.Check(), 'y') << "the old reader read reused pages, or died";
}

// Without a reader table (the directory is not writable), a reader falls
// back to the store's shared lock, and a writer is then refused.
TEST(Reader, WritersAndReadersShareTheTable) {
  testing::TempDir dir;
  const std::string path = dir.File("s.bruce");
  auto w = OpenWriter(path);
  struct stat st;
  ASSERT_EQ(stat((path + "-lock").c_str(), &st), 0) << "the writer made no reader table";
  EXPECT_EQ(st.st_size, 4096);
  auto r = OpenReader(path);
  ASSERT_NE(r, nullptr) << "a reader cannot open a store that a writer has open";
  ASSERT_TRUE(w->Readers().ok());
  EXPECT_EQ(w->Readers()->size(), 1u);
  Options o;
  auto second = Db::Open(path, o);
  EXPECT_EQ(second.status().code(), Code::kBusy) << "two writers";
  r.reset();
  EXPECT_TRUE(w->Readers()->empty()) << "a closed reader's slot still counts";
}

// The writer's endpoint (brucefs's control socket) in the lock file: found
// while its process lives and holds the store, gone when it closes or dies.
TEST(Reader, TheWritersEndpointIsFoundWhileItLives) {
  testing::TempDir dir;
  const std::string path = dir.File("s.bruce");
  EXPECT_EQ(Db::FindEndpoint(path).status().code(), Code::kNotFound) << "no lock file yet";
  {
    auto w = OpenWriter(path);
    EXPECT_EQ(Db::FindEndpoint(path).status().code(), Code::kNotFound) << "none published";
    EXPECT_EQ(w->PublishEndpoint(std::string(41, 'n')).code(), Code::kInvalidArgument);
    EXPECT_EQ(w->PublishEndpoint("").code(), Code::kInvalidArgument);
    ASSERT_TRUE(w->PublishEndpoint("brucefs-ctl-0123456789abcdef").ok());
    auto e = Db::FindEndpoint(path);
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    EXPECT_EQ(e->pid, static_cast<uint32_t>(getpid()));
    EXPECT_EQ(e->name, "brucefs-ctl-0123456789abcdef");
    auto r = OpenReader(path);
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(r->PublishEndpoint("x").code(), Code::kNotSupported) << "a reader published";
    EXPECT_TRUE(Db::FindEndpoint(path).ok()) << "a reader's open lost the endpoint";
  }
  EXPECT_EQ(Db::FindEndpoint(path).status().code(), Code::kNotFound) << "closed, still found";

  // A writer killed with -9 leaves its name in the header, but not its lock.
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(ready[0]);
    Options o;
    auto db = Db::Open(path, o);
    const char c = db.ok() && (*db)->PublishEndpoint("brucefs-ctl-dead").ok() ? 'y' : 'n';
    (void)!write(ready[1], &c, 1);
    pause();
    _exit(0);
  }
  close(ready[1]);
  char c = 0;
  ASSERT_EQ(read(ready[0], &c, 1), 1);
  close(ready[0]);
  ASSERT_EQ(c, 'y');
  auto e = Db::FindEndpoint(path);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(e->pid, static_cast<uint32_t>(child));
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  EXPECT_EQ(Db::FindEndpoint(path).status().code(), Code::kNotFound) << "a dead writer's name";
  auto w = OpenWriter(path);
  EXPECT_TRUE(w->PublishEndpoint("brucefs-ctl-next").ok()) << "the dead one's slot is not free";
  EXPECT_EQ(Db::FindEndpoint(path)->name, "brucefs-ctl-next");
}

}  // namespace
}  // namespace bruce
