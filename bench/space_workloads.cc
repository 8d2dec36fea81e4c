// bench/space_workloads.cc — see space_workloads.h.
#include "space_workloads.h"

#include <algorithm>
#include <cctype>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <utility>

#include "bruce/db.h"
#include "report.h"
#include "workloads.h"

namespace bench {
namespace {

// ---- the bruce API directly (sections 1 and 2, and Db::Check) ----

void Ok(const bruce::Status& s, const std::string& what) {
  if (!s.ok()) throw BenchError("bruce: " + what + ": " + s.ToString());
}

template <typename T>
T Take(bruce::Result<T> r, const std::string& what) {
  Ok(r.status(), what);
  return std::move(r).value();
}

std::unique_ptr<bruce::Db> OpenBruce(const std::string& path, bruce::Durability durability,
                                     size_t cache_bytes) {
  bruce::Options o;
  o.create_if_missing = true;
  o.durability = durability;
  o.cache_bytes = cache_bytes;
  return Take(bruce::Db::Open(path, o), "open " + path);
}

// Keys 0..keys-1 in ascending order, kLoadBatch puts per transaction.
double LoadAscending(bruce::Db& db, const Dataset& d, uint64_t keys) {
  Timer t;
  for (uint64_t b = 0; b < keys; b += kLoadBatch) {
    auto w = Take(db.BeginWrite(), "begin write");
    for (uint64_t i = b; i < std::min(b + kLoadBatch, keys); ++i) {
      Ok(w->Main()->Put(d.Key(i), d.Value(i)), "put");
    }
    Ok(w->Commit(), "commit");
  }
  return t.Seconds();
}

bruce::DbStats Stat(bruce::Db& db) { return Take(db.Stat(), "stat"); }

void ExpectKeys(bruce::Db& db, uint64_t keys, const std::string& where) {
  auto r = Take(db.BeginRead(), "begin read");
  uint64_t n = Take(r->Main()->Count(), "count");
  if (n != keys) {
    throw BenchError("bruce returned a wrong answer: " + std::to_string(n) + " keys " + where +
                     ", expected " + std::to_string(keys));
  }
}

// Db::Check; a problem is an engine bug and fails the run. Returns seconds.
double CheckStore(bruce::Db& db, const std::string& where) {
  Timer t;
  bruce::CheckReport report;
  Ok(db.Check(&report), "check");
  if (!report.ok()) {
    std::string msg = "bruce: Db::Check found " + std::to_string(report.problems.size()) +
                      " problem(s) " + where + ":";
    for (size_t i = 0; i < std::min<size_t>(5, report.problems.size()); ++i) {
      msg += "\n    " + report.problems[i];
    }
    throw BenchError(msg);
  }
  return t.Seconds();
}

double CheckFile(const std::string& path, const SpaceParams& p, const std::string& where) {
  auto db = OpenBruce(path, bruce::Durability::kNoSync, p.cache_bytes);
  return CheckStore(*db, where);
}

double Us(const Timer& t) { return t.Seconds() * 1e6; }

// ---- helpers for the Engine workloads ----

std::string Lower(const char* s) {
  std::string o = s;
  for (char& c : o) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return o;
}

std::string MakeDir(const std::string& root, const Engine& e, const std::string& what) {
  std::string dir = root + "/" + Lower(e.name()) + "-" + what;
  std::filesystem::create_directories(dir);
  return dir;
}

void Expect(bool ok, const Engine& e, const std::string& what) {
  if (!ok) throw BenchError(std::string(e.name()) + " returned a wrong answer: " + what);
}

bool IsBruce(const Engine& e) { return std::string(e.name()) == "bruce"; }

void Progress(const Engine& e, const std::string& what, double seconds) {
  std::fprintf(stderr, "  %-6s %-48s %9.3f s\n", e.name(), what.c_str(), seconds);
}

}  // namespace

double Samples::Median() const {
  if (us.empty()) return 0;
  std::vector<double> v = us;
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}
double Samples::Min() const { return us.empty() ? 0 : *std::min_element(us.begin(), us.end()); }
double Samples::Max() const { return us.empty() ? 0 : *std::max_element(us.begin(), us.end()); }

// ---- 1. Snapshot create time ----

SnapCreateRow RunSnapshotCreate(const SpaceParams& p, uint64_t keys, const std::string& dir) {
  SnapCreateRow row;
  row.keys = keys;
  Params dp;
  dp.keys = keys;
  dp.seed = p.seed;
  const Dataset d(dp);
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/data.bruce";
  Rng rng{p.seed ^ 0x736e6170ull};
  uint64_t version = 1;  // every 1-put commit writes a new value

  for (int mode = 0; mode < 2; ++mode) {
    const bool full = mode == 1;
    auto db = OpenBruce(path, full ? bruce::Durability::kFull : bruce::Durability::kNoSync,
                        p.cache_bytes);
    if (!full) {
      row.load_seconds = LoadAscending(*db, d, keys);
      std::fprintf(stderr, "  bruce  load %-43s %9.3f s\n",
                   (Thousands(double(keys)) + " keys (nosync)").c_str(), row.load_seconds);
    }
    // Create, destroy and a 1-put commit in turn, so that all three see the
    // same disk (fsync latency drifts when the machine is shared). Iteration
    // -1 warms up and is not counted.
    for (int r = -1; r < p.snap_reps; ++r) {
      const std::string name = "bench-" + std::to_string(r + 1);
      Timer tc;
      Ok(db->CreateSnapshot(name), "CreateSnapshot");
      const double create = Us(tc);
      Timer td;
      Ok(db->DestroySnapshot(name), "DestroySnapshot");
      const double destroy = Us(td);
      const uint64_t i = rng.Below(keys);
      Timer tp;
      auto w = Take(db->BeginWrite(), "begin write");
      Ok(w->Main()->Put(d.Key(i), d.Value(i + keys * version++)), "put");
      Ok(w->Commit(), "commit");
      const double commit = Us(tp);
      if (r >= 0) {
        row.create[mode].us.push_back(create);
        row.destroy[mode].us.push_back(destroy);
        row.commit[mode].us.push_back(commit);
      }
    }
    std::fprintf(stderr, "  bruce  %-48s create %8.1f us, 1-put commit %8.1f us\n",
                 (Thousands(double(keys)) + " keys, " + (full ? "full" : "nosync")).c_str(),
                 row.create[mode].Median(), row.commit[mode].Median());
    if (full) {
      ExpectKeys(*db, keys, "after the snapshot creates");
      auto list = Take(db->ListSnapshots(), "ListSnapshots");
      if (!list.empty()) throw BenchError("bruce: snapshots left after destroying them all");
      bruce::DbStats st = Stat(*db);
      row.depth = st.main_depth;
      if (p.check) {
        row.check_seconds =
            CheckStore(*db, "after snapshot create/destroy at " + std::to_string(keys) + " keys");
      }
      db.reset();
      uint64_t alloc;
      FileSize(path, &row.file_bytes, &alloc);
    }
  }
  return row;
}

// ---- 2. Snapshot destroy cost vs pages freed ----

SnapDestroyRun RunSnapshotDestroy(const SpaceParams& p, const std::string& dir) {
  SnapDestroyRun run;
  const uint64_t n = p.destroy_keys;
  run.keys = n;
  Params dp;
  dp.keys = n;
  dp.seed = p.seed;
  const Dataset d(dp);
  std::filesystem::create_directories(dir);
  auto db = OpenBruce(dir + "/data.bruce", bruce::Durability::kNoSync, p.cache_bytes);
  run.load_seconds = LoadAscending(*db, d, n);
  run.page_size = Stat(*db).page_size;
  std::fprintf(stderr, "  bruce  load %-43s %9.3f s\n",
               (Thousands(double(n)) + " keys (nosync)").c_str(), run.load_seconds);

  const std::string snap = "destroy-me";
  uint64_t version = 1;
  for (const char* pattern : {"range", "random"}) {
    for (double f : p.destroy_fractions) {
      SnapDestroyRow row;
      row.pattern = pattern;
      row.fraction = f;
      const uint64_t m = std::clamp<uint64_t>(uint64_t(f * double(n) + 0.5), 1, n);
      row.rewritten = m;
      const uint64_t start = (n - m) / 2;  // "range": the middle m keys
      Ok(db->CreateSnapshot(snap), "CreateSnapshot");
      Timer tw;
      for (uint64_t b = 0; b < m; b += kLoadBatch) {
        auto w = Take(db->BeginWrite(), "begin write");
        for (uint64_t j = b; j < std::min(b + kLoadBatch, m); ++j) {
          const uint64_t i = row.pattern == "range" ? start + j : d.fill_order()[j];
          Ok(w->Main()->Put(d.Key(i), d.Value(i + n * version)), "put");
        }
        Ok(w->Commit(), "commit");
      }
      ++version;
      row.rewrite_seconds = tw.Seconds();
      const bruce::DbStats before = Stat(*db);
      Timer tl;
      auto list = Take(db->ListSnapshots(), "ListSnapshots");
      row.list_ms = tl.Seconds() * 1e3;
      bool found = false;
      for (const auto& s : list) {
        if (s.name == snap) found = true, row.unique_pages = s.unique_bytes / run.page_size;
      }
      if (!found || list.size() != 1) throw BenchError("bruce: ListSnapshots lost the snapshot");
      Timer td;
      Ok(db->DestroySnapshot(snap), "DestroySnapshot");
      row.destroy_ms = td.Seconds() * 1e3;
      const bruce::DbStats after = Stat(*db);
      row.used_before = before.used_pages;
      row.live_pages = after.used_pages;
      row.free_before = before.free_pages;
      row.free_after = after.free_pages;
      row.total_before = before.total_pages;
      row.total_after = after.total_pages;
      row.freed_pages = before.used_pages > after.used_pages ? before.used_pages - after.used_pages
                                                             : 0;
      std::fprintf(stderr,
                   "  bruce  destroy after %-6s %5.1f%% rewritten: %8" PRIu64
                   " pages freed in %8.3f ms\n",
                   pattern, f * 100, row.freed_pages, row.destroy_ms);
      run.rows.push_back(row);
    }
  }
  ExpectKeys(*db, n, "after the snapshot destroys");
  if (p.check) run.check_seconds = CheckStore(*db, "after the snapshot destroys");
  return run;
}

// ---- 3. File size after churn ----

ChurnRun RunChurn(Engine& e, const SpaceParams& p, const std::string& root) {
  ChurnRun run;
  run.engine = e.name();
  const std::string dir = MakeDir(root, e, "churn");
  const uint64_t k = p.churn_keys;
  Params dp;
  dp.keys = k;
  dp.seed = p.seed;
  const Dataset d(dp);
  const auto& order = d.fill_order();

  e.Open(dir, /*durable=*/false);
  {
    // Round 0 inserts the keys; rounds 1..churn_rounds overwrite every one
    // of them with a new value, in the same random order, one txn per round.
    Timer t;
    for (uint64_t round = 0; round <= p.churn_rounds; ++round) {
      e.BeginWrite();
      for (uint64_t j = 0; j < k; ++j) e.Put(d.Key(order[j]), d.Value(order[j] + k * round));
      e.Commit();
    }
    run.seconds = t.Seconds();
    run.puts = k * (p.churn_rounds + 1);
  }
  Progress(e, "churn " + Thousands(double(run.puts)) + " puts", run.seconds);
  e.BeginRead();
  std::string_view v;
  for (uint64_t i = 0; i < k; ++i) {
    if (!e.Get(d.Key(i), &v) || v != d.Value(i + k * p.churn_rounds)) {
      Expect(false, e, "Get(" + std::string(d.Key(i)) + ") after churn");
    }
  }
  const uint64_t n = e.Scan(true, &run.checksum);
  e.EndRead();
  Expect(n == k, e, "scan after churn saw " + std::to_string(n) + " keys");
  run.describe = e.Describe();
  e.Close();
  FileSize(e.DataFile(dir), &run.bytes, &run.allocated);

  e.Open(dir, /*durable=*/false);
  {
    Timer t;
    run.compact_bytes = e.Compact(dir);
    run.compact_seconds = t.Seconds();
  }
  run.describe_compacted = e.Describe();
  e.Close();
  Progress(e, "compact", run.compact_seconds);
  if (IsBruce(e) && p.check) run.check_seconds = CheckFile(e.DataFile(dir), p, "after churn");
  return run;
}

// ---- 4. 4 KiB random access inside one large value ----

namespace {

constexpr size_t kBlock = Engine::kBlockSize;
constexpr size_t kBlockPool = size_t{1} << 20;
constexpr uint64_t kPiece = uint64_t{1} << 20;  // the build writes 1 MiB per transaction

// The content of block b after its g-th write (g = 0: the build): a 4 KiB
// slice of a pseudo-random pool, at an offset that depends on b, g and the seed.
class BlockData {
 public:
  explicit BlockData(uint64_t seed) : seed_(seed), pool_(kBlockPool + kBlock, '\0') {
    Rng rng{seed ^ 0x626c6f636bull};
    for (auto& c : pool_) c = static_cast<char>(rng.Next() >> 56);
  }
  std::string_view Block(uint64_t b, uint32_t g) const {
    Rng r{seed_ ^ (b << 24) ^ g};
    return std::string_view(pool_).substr(r.Next() % (kBlockPool + 1), kBlock);
  }

 private:
  uint64_t seed_;
  std::string pool_;
};

}  // namespace

BlockRun RunBlocks(Engine& e, const SpaceParams& p, const std::string& root) {
  BlockRun run;
  run.engine = e.name();
  const std::string dir = MakeDir(root, e, "blocks");
  const uint64_t blocks = p.big_bytes / kBlock;
  run.blocks = blocks;
  const BlockData data(p.seed);
  std::vector<uint32_t> gen(blocks, 0);
  Rng rng{p.seed ^ 0x72616e646f6dull};
  std::vector<uint64_t> read_idx(p.block_reads), write_idx(p.block_writes);
  for (auto& b : read_idx) b = rng.Below(blocks);
  for (auto& b : write_idx) b = rng.Below(blocks);

  e.Open(dir, /*durable=*/false);
  // Build: the whole value, 1 MiB per transaction, in file order.
  {
    Timer t;
    std::string piece;
    const uint64_t per_piece = kPiece / kBlock;
    for (uint64_t first = 0; first < blocks; first += per_piece) {
      piece.clear();
      for (uint64_t b = first; b < std::min(first + per_piece, blocks); ++b) {
        piece += data.Block(b, 0);
      }
      e.BeginWrite();
      e.WriteBlocks(first, piece);
      e.Commit();
    }
    run.build_seconds = t.Seconds();
  }
  Progress(e, "build " + Thousands(double(p.big_bytes >> 20)) + " MiB", run.build_seconds);

  // Random 4 KiB reads, 1000 per read transaction, each checked.
  {
    Timer t;
    uint64_t acc = 0;
    std::string_view v;
    for (uint64_t b = 0; b < read_idx.size(); b += kBatch) {
      e.BeginRead();
      for (uint64_t j = b; j < std::min<uint64_t>(b + kBatch, read_idx.size()); ++j) {
        const uint64_t blk = read_idx[j];
        // The message is built only on a wrong answer: the loop times the engine.
        if (!e.ReadBlock(blk, &v) || v != data.Block(blk, 0)) {
          Expect(false, e, "block " + std::to_string(blk));
        }
        acc = Touch(acc, v);
      }
      e.EndRead();
    }
    run.read_seconds = t.Seconds();
    run.reads = read_idx.size();
    run.read_checksum = acc;
  }
  Progress(e, "random 4 KiB reads: " + Thousands(double(run.reads)), run.read_seconds);

  // Random 4 KiB writes, writes_per_txn per transaction.
  {
    Timer t;
    for (uint64_t b = 0; b < write_idx.size(); b += p.writes_per_txn) {
      e.BeginWrite();
      for (uint64_t j = b; j < std::min<uint64_t>(b + p.writes_per_txn, write_idx.size()); ++j) {
        const uint64_t blk = write_idx[j];
        e.WriteBlocks(blk, data.Block(blk, ++gen[blk]));
      }
      e.Commit();
    }
    run.write_seconds = t.Seconds();
    run.writes = write_idx.size();
  }
  Progress(e, "random 4 KiB writes: " + Thousands(double(run.writes)), run.write_seconds);

  // Read back every block written, in file order, in one read transaction.
  {
    std::vector<uint64_t> written = write_idx;
    std::sort(written.begin(), written.end());
    written.erase(std::unique(written.begin(), written.end()), written.end());
    Timer t;
    uint64_t acc = 0;
    std::string_view v;
    e.BeginRead();
    for (uint64_t blk : written) {
      if (!e.ReadBlock(blk, &v) || v != data.Block(blk, gen[blk])) {
        Expect(false, e, "block " + std::to_string(blk) + " after the writes");
      }
      acc = Touch(acc, v);
    }
    e.EndRead();
    run.verify_seconds = t.Seconds();
    run.verified = written.size();
    run.verify_checksum = acc;
  }
  run.describe = e.Describe();
  e.Close();
  FileSize(e.DataFile(dir), &run.bytes, &run.allocated);
  if (IsBruce(e) && p.check) {
    run.check_seconds = CheckFile(e.DataFile(dir), p, "after the 4 KiB writes");
    Progress(e, "Db::Check", run.check_seconds);
  }
  return run;
}

// ---- 5. File size with compressible values ----

std::string JsonRecord(uint64_t i, uint64_t seed) {
  static const char* const kCountries[] = {"US", "DE", "FR", "GB", "JP",
                                           "BR", "IN", "CA", "NL", "SE"};
  static const char* const kPlans[] = {"free", "basic", "pro", "enterprise"};
  static const char* const kTags[] = {"admin", "beta", "mobile", "web", "ios",
                                      "android", "vip", "trial", "eu", "us"};
  static const char* const kWords[] = {"loves", "coffee", "and", "open", "source", "software",
                                       "hiking", "music", "data", "engineer", "cats", "travel",
                                       "photography", "books", "running", "design"};
  Rng r{i ^ seed ^ 0x6a736f6eull};
  const uint64_t x = r.Next(), y = r.Next();
  std::string s = Format(
      "{\"id\":%" PRIu64 ",\"name\":\"user-%" PRIu64 "\",\"email\":\"user%" PRIu64
      "@example.com\",\"active\":%s,\"score\":%u.%02u,\"country\":\"%s\",\"plan\":\"%s\","
      "\"tags\":[\"%s\",\"%s\"],\"created\":\"2024-%02u-%02uT%02u:%02u:%02uZ\",\"bio\":\"",
      i, i, i, (x & 1) ? "true" : "false", unsigned(x >> 1) % 100, unsigned(x >> 8) % 100,
      kCountries[(x >> 16) % 10], kPlans[(x >> 24) % 4], kTags[(x >> 32) % 10],
      kTags[((x >> 32) % 10 + 1 + (x >> 40) % 9) % 10], unsigned(y % 12 + 1),
      unsigned((y >> 8) % 28 + 1), unsigned((y >> 16) % 24), unsigned((y >> 24) % 60),
      unsigned((y >> 32) % 60));
  const size_t target = 190 + r.Below(31);  // 190..220 bytes in all
  for (bool first = true; s.size() + 2 < target; first = false) {
    if (!first) s += ' ';
    s += kWords[r.Below(16)];
  }
  return s + "\"}";
}

std::vector<JsonRun> RunJson(Engine& e, const SpaceParams& p, const std::string& root) {
  const uint64_t n = p.json_records;
  Params dp;
  dp.keys = n;
  dp.seed = p.seed;
  const Dataset d(dp);
  std::string values;
  std::vector<uint64_t> off(n + 1, 0);
  for (uint64_t i = 0; i < n; ++i) {
    values += JsonRecord(i, p.seed);
    off[i + 1] = values.size();
  }
  auto value = [&](uint64_t i) {
    return std::string_view(values).substr(off[i], off[i + 1] - off[i]);
  };

  std::vector<JsonRun> runs;
  for (const char* order : {"ascending", "random"}) {
    JsonRun run;
    run.engine = e.name();
    run.order = order;
    run.records = n;
    run.payload_bytes = n * kKeySize + values.size();
    const bool random = run.order == "random";
    const uint64_t batch = random ? kBatch : kLoadBatch;
    const std::string dir = MakeDir(root, e, std::string("json-") + order);
    e.Open(dir, /*durable=*/false);
    Timer t;
    for (uint64_t b = 0; b < n; b += batch) {
      e.BeginWrite();
      for (uint64_t j = b; j < std::min(b + batch, n); ++j) {
        const uint64_t i = random ? d.fill_order()[j] : j;
        e.Put(d.Key(i), value(i));
      }
      e.Commit();
    }
    run.seconds = t.Seconds();
    Progress(e, "load " + Thousands(double(n)) + " JSON records, " + order, run.seconds);
    e.BeginRead();
    const uint64_t got = e.Scan(true, &run.checksum);
    std::string_view v;
    for (uint64_t i = 0; i < n; i += 997) {
      if (!e.Get(d.Key(i), &v) || v != value(i)) {
        Expect(false, e, "Get(" + std::string(d.Key(i)) + ")");
      }
    }
    e.EndRead();
    Expect(got == n, e, "scan saw " + std::to_string(got) + " records");
    run.describe = e.Describe();
    e.Close();
    FileSize(e.DataFile(dir), &run.bytes, &run.allocated);
    runs.push_back(run);
  }
  return runs;
}

}  // namespace bench
