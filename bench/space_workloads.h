// bench/space_workloads.h — the workloads of bruce_bench_space: snapshots,
// space reuse, byte-range access to one large value, file sizes (see
// bench/README.md). Sections 1 and 2 (snapshots) are bruce-only, since LMDB
// has no snapshots, and use the bruce API directly; sections 3 to 5 are
// written once against bench::Engine and run on each engine in turn.
//
// Every function throws BenchError when an engine fails, returns a wrong
// answer, or (bruce) when Db::Check finds a problem in the store.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine.h"

namespace bench {

struct SpaceParams {
  uint64_t seed = 0x6272756365ull;  // "bruce"
  size_t cache_bytes = size_t{1} << 30;
  bool check = true;  // Db::Check the bruce store at the end of sections 1 to 4
  // 1. Snapshot create: store sizes, and creates (and 1-put commits) per mode.
  std::vector<uint64_t> snap_sizes = {10000, 1000000};
  int snap_reps = 21;
  // 2. Snapshot destroy: keys in the store; fractions rewritten after the snapshot.
  uint64_t destroy_keys = 1000000;
  std::vector<double> destroy_fractions = {0.01, 0.10, 0.50};
  // 3. Churn: keys overwritten `churn_rounds` times, one transaction per round.
  uint64_t churn_keys = 10000;
  uint64_t churn_rounds = 1000;
  // 4. One large value: its size, random 4 KiB reads and writes.
  uint64_t big_bytes = uint64_t{1} << 30;
  uint64_t block_reads = 100000;
  uint64_t block_writes = 100000;
  uint64_t writes_per_txn = 100;
  // 5. JSON-like values: records.
  uint64_t json_records = 1000000;
};

// Puts per write transaction when a section loads its store.
constexpr uint64_t kLoadBatch = 10000;

// Durations of repeated operations, in microseconds.
struct Samples {
  std::vector<double> us;
  double Median() const;
  double Min() const;
  double Max() const;
};

// ---- 1. Snapshot create time (bruce only) ----

struct SnapCreateRow {
  uint64_t keys = 0;
  double load_seconds = 0;
  uint32_t depth = 0;
  uint64_t file_bytes = 0;
  // [0]: Durability::kNoSync, [1]: Durability::kFull.
  Samples create[2], destroy[2], commit[2];
  double check_seconds = -1;  // -1: not checked
};
SnapCreateRow RunSnapshotCreate(const SpaceParams& p, uint64_t keys, const std::string& dir);

// ---- 2. Snapshot destroy cost vs pages freed (bruce only) ----

struct SnapDestroyRow {
  std::string pattern;  // "range": consecutive keys; "random": uniformly spread keys
  double fraction = 0;
  uint64_t rewritten = 0;       // keys overwritten after the snapshot
  double rewrite_seconds = 0;
  uint64_t used_before = 0;     // used pages (live store + snapshot) before destroy
  uint64_t live_pages = 0;      // used pages after destroy: the live store alone
  uint64_t unique_pages = 0;    // ListSnapshots unique_bytes / page size
  double list_ms = 0;           // ListSnapshots time
  uint64_t free_before = 0, free_after = 0, total_before = 0, total_after = 0;
  uint64_t freed_pages = 0;     // used_before - used after destroy
  double destroy_ms = 0;
};
struct SnapDestroyRun {
  uint64_t keys = 0;
  uint32_t page_size = 0;
  double load_seconds = 0;
  std::vector<SnapDestroyRow> rows;
  double check_seconds = -1;
};
SnapDestroyRun RunSnapshotDestroy(const SpaceParams& p, const std::string& dir);

// ---- 3. File size after churn ----

struct ChurnRun {
  std::string engine;
  uint64_t puts = 0;
  double seconds = 0;
  uint64_t bytes = 0, allocated = 0;  // data file after churn, store closed
  std::string describe;
  uint64_t compact_bytes = 0;  // Engine::Compact
  double compact_seconds = 0;
  std::string describe_compacted;
  uint64_t checksum = 0;  // forward scan of the final content
  double check_seconds = -1;
};
ChurnRun RunChurn(Engine& e, const SpaceParams& p, const std::string& root);

// ---- 4. 4 KiB random access inside one large value ----

struct BlockRun {
  std::string engine;
  uint64_t blocks = 0;
  double build_seconds = 0;
  uint64_t reads = 0;
  double read_seconds = 0;
  uint64_t writes = 0;
  double write_seconds = 0;
  uint64_t verified = 0;  // distinct written blocks read back after the writes
  double verify_seconds = 0;
  uint64_t read_checksum = 0, verify_checksum = 0;
  uint64_t bytes = 0, allocated = 0;
  std::string describe;
  double check_seconds = -1;
};
BlockRun RunBlocks(Engine& e, const SpaceParams& p, const std::string& root);

// ---- 5. File size with compressible (JSON-like) values ----

// The JSON-like text of record i: about 200 bytes.
std::string JsonRecord(uint64_t i, uint64_t seed);

struct JsonRun {
  std::string engine;
  std::string order;  // "ascending" (10,000 puts/txn) or "random" (1,000 puts/txn)
  uint64_t records = 0;
  uint64_t payload_bytes = 0;  // keys + values
  double seconds = 0;
  uint64_t bytes = 0, allocated = 0;
  std::string describe;
  uint64_t checksum = 0;
};
// One run per order.
std::vector<JsonRun> RunJson(Engine& e, const SpaceParams& p, const std::string& root);

}  // namespace bench
