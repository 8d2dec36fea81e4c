// bench/workloads.h — the data set and the workloads, written once against
// bench::Engine and run on each engine in turn.
#pragma once

#include <array>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "engine.h"

namespace bench {

// splitmix64: a tiny, fully specified generator, so the data set and the
// orders are the same on every platform and standard library for a seed.
struct Rng {
  uint64_t s;
  uint64_t Next() {
    uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  uint64_t Below(uint64_t n) { return Next() % n; }  // bias is negligible for n << 2^64
};

// A permutation of [first, first + n) (Fisher-Yates).
std::vector<uint64_t> Shuffled(uint64_t first, uint64_t n, Rng& rng);

class Timer {
 public:
  double Seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }

 private:
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

constexpr size_t kKeySize = 16;
constexpr size_t kValueSize = 100;
constexpr uint64_t kBatch = 1000;  // puts per txn (random fill), gets per read txn

struct Params {
  uint64_t keys = 1000000;
  uint64_t seed = 0x6272756365ull;  // "bruce"
  uint64_t reads = 0;               // random Gets
  uint64_t durable_commits = 0;     // single-put durable transactions
  uint64_t writer_batches = 0;      // durable 100-put commits, per writers workload
  uint64_t absent_gets = 0;         // gets of absent keys on a cold store
  uint64_t select_ops_bruce = 0;
  uint64_t select_ops_lmdb = 0;     // LMDB walks i steps per select: far fewer
  bool fills_only = false;          // stop after the two fills (to profile writes)
};

// Keys are the 16 lower-case hex digits of an index, so key order is index
// order and the i-th key of the filled store is Key(i). Values are 100
// pseudo-random bytes that depend only on the index and the seed.
class Dataset {
 public:
  explicit Dataset(const Params& p);
  std::string_view Key(uint64_t i) const {
    return std::string_view(keys_.data() + i * kKeySize, kKeySize);
  }
  std::string_view Value(uint64_t i) const;

  const Params& params() const { return p_; }
  // A permutation of [0, keys): the random fill order.
  const std::vector<uint64_t>& fill_order() const { return fill_order_; }
  // Uniform random indices of existing keys, for Get and Select.
  const std::vector<uint64_t>& read_idx() const { return read_idx_; }
  const std::vector<uint64_t>& select_idx() const { return select_idx_; }
  // Existing keys the durable commits overwrite (with Value(i + keys)).
  const std::vector<uint64_t>& durable_idx() const { return durable_idx_; }
  // writer_batches * 100 random indices: the writers workloads' puts.
  const std::vector<uint64_t>& writer_idx() const { return writer_idx_; }
  // absent_gets random indices i: the absent key looked up is Key(i) + "!",
  // which falls between Key(i) and Key(i + 1), in the leaf that holds them.
  const std::vector<uint64_t>& absent_idx() const { return absent_idx_; }

 private:
  Params p_;
  std::vector<char> keys_;
  std::vector<char> pool_;
  std::vector<uint64_t> fill_order_, read_idx_, select_idx_, durable_idx_, writer_idx_,
      absent_idx_;
};

enum Workload : int {
  kFillSeq,
  kFillRandom,
  kReadRandom,
  kScanForward,
  kScanBackward,
  kSelect,
  kDurableCommit,
  kWriters1,  // durable commits of 100 random puts, from 1, 2 and 4 threads
  kWriters2,
  kWriters4,
  kRmw1,  // the same, each put after a get of its key (read-modify-write)
  kRmw2,
  kRmw4,
  // Gets of absent keys on a store just opened, its file out of the page
  // cache: LMDB without readahead (as for a store larger than RAM), then
  // with its default readahead.
  kGetAbsentCold,
  kGetAbsentColdReadahead,
  kNumWorkloads,
};

struct WorkloadInfo {
  const char* name;  // short id, used in the JSON
  const char* title; // table label
  const char* unit;  // what one op is
  bool checksummed;  // both engines must produce the same checksum
};
const WorkloadInfo& Info(Workload w);

struct Measure {
  bool ran = false;
  uint64_t ops = 0;
  double seconds = 0;
  uint64_t checksum = 0;
  uint64_t retries = 0;  // transactions run again after a conflict
  double ops_per_sec() const { return seconds > 0 ? static_cast<double>(ops) / seconds : 0; }
};

struct StoreFile {
  std::string path;
  uint64_t bytes = 0;      // st_size
  uint64_t allocated = 0;  // st_blocks * 512 (LMDB's file may be sparse)
  std::string describe;    // Engine::Describe() just before closing
};

struct EngineRun {
  std::string engine;
  std::array<Measure, kNumWorkloads> m;
  StoreFile seq_store;   // after the sequential fill
  StoreFile rand_store;  // after random fill, reads, and the durable commits
  std::string after_reads;  // Engine::Describe() after the read workloads (cache stats)
};

// Two engines' runs taking turns workload by workload, each in its own
// thread but never at the same time: engine 0 runs workload 1, engine 1
// runs workload 1, then engine 1 runs workload 2 and engine 0 follows, and
// so on (the order flips at every workload). A noisy neighbour then slows
// both engines' runs of a workload alike, instead of one engine's whole run.
class Turns {
 public:
  // Called by engine `who` (0 or 1) before each workload: ends its previous
  // one and waits until the workload is its to run.
  void Begin(int who);
  // Engine `who` is done (or failed): the other no longer waits for it.
  void End(int who);

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::array<uint64_t, 2> done_{0, 0};  // workloads each has finished
  std::array<bool, 2> started_{false, false};
};

// Runs every workload on e, in stores under root/<engine>-seq and
// root/<engine>-rand; with `turns`, as engine `who` of two taking turns.
// Progress goes to stderr. Throws BenchError when the engine fails or
// returns a wrong answer.
EngineRun RunWorkloads(Engine& e, const Dataset& d, const std::string& root,
                       Turns* turns = nullptr, int who = 0);

}  // namespace bench
