// bench/workloads.cc — see workloads.h.
#include "workloads.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <thread>
#include <utility>

namespace bench {
namespace {

constexpr size_t kPoolBytes = size_t{1} << 20;
constexpr uint64_t kWriterBatch = 100;

std::vector<uint64_t> Uniform(uint64_t count, uint64_t below, Rng& rng) {
  std::vector<uint64_t> v(count);
  for (auto& x : v) x = rng.Below(below);
  return v;
}

void Expect(bool ok, const Engine& e, const std::string& what) {
  if (!ok) throw BenchError(std::string(e.name()) + " returned a wrong answer: " + what);
}

uint64_t CountKeys(Engine& e) {
  e.BeginRead();
  uint64_t n = e.Count();
  e.EndRead();
  return n;
}

StoreFile Describe(Engine& e, const std::string& dir) {
  StoreFile f;
  f.describe = e.Describe();
  f.path = e.DataFile(dir);
  return f;
}

void Stat(StoreFile* f) {
  struct stat st;
  if (stat(f->path.c_str(), &st) != 0) throw BenchError("cannot stat " + f->path);
  f->bytes = static_cast<uint64_t>(st.st_size);
  f->allocated = static_cast<uint64_t>(st.st_blocks) * 512;
}

// Drops the file's pages from the OS page cache (written back first), so
// that the next reads of it go to the disk.
void EvictFromPageCache(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY);
  if (fd < 0) throw BenchError("cannot open " + path);
  int rc = fdatasync(fd);
  if (rc == 0) rc = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  close(fd);
  if (rc != 0) throw BenchError("cannot drop " + path + " from the page cache");
}

void Report(const Engine& e, Workload w, const Measure& m) {
  std::fprintf(stderr, "  %-6s %-30s %10" PRIu64 " ops %9.3f s %14.0f %s", e.name(),
               Info(w).title, m.ops, m.seconds, m.ops_per_sec(), Info(w).unit);
  if (w >= kWriters1 && w <= kRmw4) std::fprintf(stderr, "  (%" PRIu64 " retried after a conflict)", m.retries);
  std::fprintf(stderr, "\n");
}

}  // namespace

std::vector<uint64_t> Shuffled(uint64_t first, uint64_t n, Rng& rng) {
  std::vector<uint64_t> v(n);
  for (uint64_t i = 0; i < n; ++i) v[i] = first + i;
  for (uint64_t i = n; i > 1; --i) std::swap(v[i - 1], v[rng.Below(i)]);  // Fisher-Yates
  return v;
}

Dataset::Dataset(const Params& p) : p_(p) {
  keys_.resize(p.keys * kKeySize + 1);
  for (uint64_t i = 0; i < p.keys; ++i) {
    std::snprintf(keys_.data() + i * kKeySize, kKeySize + 1, "%016" PRIx64, i);
  }
  Rng rng{p.seed};
  pool_.resize(kPoolBytes + kValueSize);
  for (auto& c : pool_) c = static_cast<char>(rng.Next() >> 56);
  fill_order_ = Shuffled(0, p.keys, rng);
  read_idx_ = Uniform(p.reads, p.keys, rng);
  select_idx_ = Uniform(std::max(p.select_ops_bruce, p.select_ops_lmdb), p.keys, rng);
  durable_idx_ = Uniform(p.durable_commits, p.keys, rng);
  writer_idx_ = Uniform(p.writer_batches * kWriterBatch, p.keys, rng);
  absent_idx_ = Uniform(p.absent_gets, p.keys, rng);
}

std::string_view Dataset::Value(uint64_t i) const {
  Rng r{i ^ p_.seed};
  return std::string_view(pool_.data() + r.Next() % (kPoolBytes + 1), kValueSize);
}

const WorkloadInfo& Info(Workload w) {
  static const WorkloadInfo kInfo[kNumWorkloads] = {
      {"fillseq", "fill sequential (1 txn, nosync)", "puts/s", false},
      {"fillrandom", "fill random (1000/txn, nosync)", "puts/s", false},
      {"readrandom", "read random (1000/read txn)", "gets/s", true},
      {"scan_forward", "scan forward (cursor)", "keys/s", true},
      {"scan_backward", "scan backward (cursor)", "keys/s", true},
      {"select_random", "select(i) random", "ops/s", false},
      {"durable_commit", "durable commit (1 put/txn)", "commits/s", false},
      {"writers1", "1 writer, 100 puts/durable txn", "commits/s", false},
      {"writers2", "2 writers, 100 puts/durable txn", "commits/s", false},
      {"writers4", "4 writers, 100 puts/durable txn", "commits/s", false},
      {"rmw1", "1 writer, 100 get+puts/durable txn", "commits/s", false},
      {"rmw2", "2 writers, 100 get+puts/durable txn", "commits/s", false},
      {"rmw4", "4 writers, 100 get+puts/durable txn", "commits/s", false},
      {"getabsent_cold", "get absent keys (cold)", "gets/s", true},
      {"getabsent_cold_ra", "get absent (cold, LMDB readahead)", "gets/s", true},
  };
  return kInfo[w];
}

void Turns::Begin(int who) {
  std::unique_lock lock(mu_);
  if (started_[who]) done_[who]++;
  started_[who] = true;
  cv_.notify_all();
  const uint64_t k = done_[who];  // the workload about to run, from 0
  const int first = static_cast<int>(k % 2);
  const int other = 1 - who;
  const uint64_t need = who == first ? k : k + 1;  // the other's finished workloads
  cv_.wait(lock, [&] { return done_[other] >= need; });
}

void Turns::End(int who) {
  std::lock_guard lock(mu_);
  done_[who] = UINT64_MAX;
  cv_.notify_all();
}

EngineRun RunWorkloads(Engine& e, const Dataset& d, const std::string& root, Turns* turns,
                       int who) {
  auto turn = [&] {
    if (turns != nullptr) turns->Begin(who);
  };
  const Params& p = d.params();
  EngineRun run;
  run.engine = e.name();
  std::string lower = run.engine;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const std::string seq_dir = root + "/" + lower + "-seq";
  const std::string rand_dir = root + "/" + lower + "-rand";
  std::filesystem::create_directories(seq_dir);
  std::filesystem::create_directories(rand_dir);

  auto finish = [&](Workload w, uint64_t ops, const Timer& t, uint64_t checksum) {
    Measure& m = run.m[w];
    m.ran = true;
    m.ops = ops;
    m.seconds = t.Seconds();
    m.checksum = checksum;
    Report(e, w, m);
  };

  // 1. Sequential fill: every key in ascending order, one transaction.
  turn();
  e.Open(seq_dir, /*durable=*/false);
  {
    Timer t;
    e.BeginWrite();
    for (uint64_t i = 0; i < p.keys; ++i) e.Put(d.Key(i), d.Value(i));
    e.Commit();
    finish(kFillSeq, p.keys, t, 0);
  }
  Expect(CountKeys(e) == p.keys, e, "key count after the sequential fill");
  run.seq_store = Describe(e, seq_dir);
  e.Close();
  Stat(&run.seq_store);

  // 2. Random fill: the same keys in random order, 1000 puts per transaction.
  turn();
  e.Open(rand_dir, /*durable=*/false);
  {
    Timer t;
    const auto& order = d.fill_order();
    for (uint64_t b = 0; b < p.keys; b += kBatch) {
      e.BeginWrite();
      for (uint64_t j = b; j < std::min(b + kBatch, p.keys); ++j) {
        e.Put(d.Key(order[j]), d.Value(order[j]));
      }
      e.Commit();
    }
    finish(kFillRandom, p.keys, t, 0);
  }
  Expect(CountKeys(e) == p.keys, e, "key count after the random fill");
  if (p.fills_only) {
    run.rand_store = Describe(e, rand_dir);
    e.Close();
    Stat(&run.rand_store);
    return run;
  }

  // 3. Random reads of existing keys, 1000 per read transaction; every value
  // is compared with the expected one and checksummed.
  turn();
  {
    Timer t;
    uint64_t acc = 0;
    const auto& idx = d.read_idx();
    std::string_view v;
    for (uint64_t b = 0; b < idx.size(); b += kBatch) {
      e.BeginRead();
      for (uint64_t j = b; j < std::min<uint64_t>(b + kBatch, idx.size()); ++j) {
        bool found = e.Get(d.Key(idx[j]), &v);
        // The message is built only on a wrong answer: the loop times the engine.
        if (!found || v != d.Value(idx[j])) {
          Expect(false, e, "Get(" + std::string(d.Key(idx[j])) + ")");
        }
        acc = Touch(acc, v);
      }
      e.EndRead();
    }
    finish(kReadRandom, idx.size(), t, acc);
  }

  // 4, 5. Full scans with a cursor, in one read transaction each.
  for (Workload w : {kScanForward, kScanBackward}) {
    turn();
    Timer t;
    uint64_t acc = 0;
    e.BeginRead();
    uint64_t n = e.Scan(w == kScanForward, &acc);
    e.EndRead();
    finish(w, n, t, acc);
    Expect(n == p.keys, e, std::string(Info(w).title) + " saw " + std::to_string(n) + " keys");
  }

  // 6. select(i) at random i, in one read transaction; Key(i) is the answer.
  turn();
  {
    const uint64_t ops = run.engine == "LMDB" ? p.select_ops_lmdb : p.select_ops_bruce;
    Timer t;
    uint64_t acc = 0;
    std::string_view k, v;
    e.BeginRead();
    for (uint64_t j = 0; j < ops; ++j) {
      const uint64_t i = d.select_idx()[j];
      e.Select(i, &k, &v);
      if (k != d.Key(i) || v != d.Value(i)) Expect(false, e, "Select(" + std::to_string(i) + ")");
      acc = Touch(acc, v);
    }
    e.EndRead();
    finish(kSelect, ops, t, acc);
  }

  run.after_reads = e.Describe();

  // 7. Durable single-put commits into the filled store: each overwrites a
  // random existing key with a new value (so the key count stays put).
  turn();
  e.Close();
  e.Open(rand_dir, /*durable=*/true);
  {
    Timer t;
    for (uint64_t i : d.durable_idx()) {
      e.BeginWrite();
      e.Put(d.Key(i), d.Value(i + p.keys));
      e.Commit();
    }
    finish(kDurableCommit, d.durable_idx().size(), t, 0);
  }
  Expect(CountKeys(e) == p.keys, e, "key count after the durable commits");

  // 8. Writer threads: the same batches of 100 random overwrites, each a
  // durable commit, shared among 1, 2 and 4 threads (thread j takes every
  // T-th batch). Both engines take writers one at a time; a commit's sync
  // may be shared by the writers waiting for it.
  for (const auto& wt : {std::pair{kWriters1, 1}, {kWriters2, 2}, {kWriters4, 4}, {kRmw1, 1},
                         {kRmw2, 2}, {kRmw4, 4}}) {
    const Workload w = wt.first;
    const int threads = wt.second;
    const bool read = w >= kRmw1;
    turn();
    Timer t;
    std::vector<std::thread> pool;
    std::vector<std::exception_ptr> failed(threads);
    std::atomic<uint64_t> retries{0};
    for (int j = 0; j < threads; ++j) {
      pool.emplace_back([&, j] {
        try {
          std::vector<std::pair<std::string_view, std::string_view>> kvs(kWriterBatch);
          for (uint64_t b = j; b < p.writer_batches; b += threads) {
            for (uint64_t i = 0; i < kWriterBatch; ++i) {
              const uint64_t k = d.writer_idx()[b * kWriterBatch + i];
              kvs[i] = {d.Key(k), d.Value(k + 2 * p.keys + w)};
            }
            retries += e.PutBatch(kvs, read);
          }
        } catch (...) {
          failed[j] = std::current_exception();
        }
      });
    }
    for (auto& th : pool) th.join();
    for (auto& f : failed) {
      if (f) std::rethrow_exception(f);
    }
    run.m[w].retries = retries.load();
    finish(w, p.writer_batches, t, 0);
  }
  Expect(CountKeys(e) == p.keys, e, "key count after the writers");
  run.rand_store = Describe(e, rand_dir);
  e.Close();
  Stat(&run.rand_store);

  // 9. Lookups of absent keys on a cold store: reopened (the engine's own
  // cache empty) with its file dropped from the OS page cache, one read
  // transaction. Each key falls inside the key range of a leaf. First
  // with LMDB's readahead off (each miss reads its page, as in a store
  // larger than RAM), then on (each page fault reads 128 KiB around it: in
  // a store this size, soon the whole file).
  for (Workload w : {kGetAbsentCold, kGetAbsentColdReadahead}) {
    turn();
    EvictFromPageCache(e.DataFile(rand_dir));
    e.Open(rand_dir, /*durable=*/false, /*random_cold=*/w == kGetAbsentCold);
    Timer t;
    uint64_t found = 0;
    std::string key;
    std::string_view v;
    e.BeginRead();
    for (uint64_t i : d.absent_idx()) {
      key.assign(d.Key(i));
      key.push_back('!');
      found += e.Get(key, &v) ? 1 : 0;
    }
    e.EndRead();
    finish(w, d.absent_idx().size(), t, found);
    Expect(found == 0, e, "a get of an absent key found it");
    e.Close();
  }
  return run;
}

}  // namespace bench
