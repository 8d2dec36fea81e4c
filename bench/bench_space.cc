// bench/bench_space.cc — bruce_bench_space: snapshots, space reuse, byte
// ranges of one large value and file sizes, bruce vs LMDB where both apply,
// in one run (see bench/README.md).
//
//   bruce_bench_space [--quick] [--big] [--sections LIST] [--dir D] [--json FILE]
//                     [--cache-mb M] [--seed S] [--reps R] [--value-mb M] [--no-check]
//                     [--keep]
#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "engine.h"
#include "report.h"
#include "space_workloads.h"
#include "workloads.h"

#ifndef BRUCE_BENCH_BUILD_TYPE
#define BRUCE_BENCH_BUILD_TYPE "unknown"
#endif

namespace bench {
namespace {

constexpr const char* kProg = "bruce_bench_space";

struct Config {
  SpaceParams p;
  bool quick = false;
  bool big = false;
  std::set<int> sections = {1, 2, 3, 4, 5};
  std::string parent_dir = "/tmp";
  std::string json_path;
  size_t lmdb_map_gb = 8;
  bool keep = false;
};

[[noreturn]] void Usage(int code) {
  std::fprintf(
      code ? stderr : stdout,
      "usage: %s [options]\n"
      "  --quick          smoke run: small stores (10k/100k keys, 64 MiB value, 20k\n"
      "                   JSON records, 100 churn rounds), finishes in well under a minute\n"
      "  --big            also time snapshot creation at 10,000,000 keys (loading\n"
      "                   them takes a while; off by default)\n"
      "  --sections LIST  run only these sections, e.g. 1,3 (default 1,2,3,4,5)\n"
      "  --dir D          make the temporary store directory under D (default /tmp)\n"
      "  --json FILE      also write the results as JSON to FILE\n"
      "  --cache-mb M     bruce node cache budget in MiB (default 1024)\n"
      "  --seed S         data and order seed (default 0x6272756365)\n"
      "  --reps R         snapshot creates / 1-put commits timed per size and mode\n"
      "                   (default 21)\n"
      "  --value-mb M     size of the large value of section 4 in MiB (default 1024;\n"
      "                   64 with --quick)\n"
      "  --no-check       skip Db::Check of the bruce stores\n"
      "  --keep           keep the store directory instead of removing it\n",
      kProg);
  std::exit(code);
}

Config ParseArgs(int argc, char** argv) {
  Config c;
  uint64_t cache_mb = 1024;
  uint64_t value_mb = 0;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s: %s needs a value\n", kProg, a.c_str());
        Usage(2);
      }
      return argv[++i];
    };
    if (a == "--quick") c.quick = true;
    else if (a == "--big") c.big = true;
    else if (a == "--dir") c.parent_dir = value();
    else if (a == "--json") c.json_path = value();
    else if (a == "--cache-mb") cache_mb = ParseU64(kProg, "--cache-mb", value());
    else if (a == "--seed") c.p.seed = ParseU64(kProg, "--seed", value());
    else if (a == "--reps") c.p.snap_reps = int(ParseU64(kProg, "--reps", value()));
    else if (a == "--value-mb") value_mb = ParseU64(kProg, "--value-mb", value());
    else if (a == "--no-check") c.p.check = false;
    else if (a == "--keep") c.keep = true;
    else if (a == "--sections") {
      c.sections.clear();
      std::string list = value();
      for (size_t pos = 0; pos <= list.size();) {
        size_t comma = std::min(list.find(',', pos), list.size());
        std::string item = list.substr(pos, comma - pos);
        uint64_t s = ParseU64(kProg, "--sections", item.c_str());
        if (s < 1 || s > 5) Usage(2);
        c.sections.insert(int(s));
        pos = comma + 1;
      }
    } else if (a == "-h" || a == "--help") Usage(0);
    else {
      std::fprintf(stderr, "%s: unknown option '%s'\n", kProg, a.c_str());
      Usage(2);
    }
  }
  if (c.p.snap_reps < 1) Usage(2);
  SpaceParams& p = c.p;
  p.cache_bytes = size_t(cache_mb) << 20;
  if (c.quick) {
    p.snap_sizes = {10000, 100000};
    p.destroy_keys = 100000;
    p.churn_rounds = 100;
    p.big_bytes = uint64_t{64} << 20;
    p.block_reads = 20000;
    p.block_writes = 20000;
    p.json_records = 20000;
  }
  if (value_mb) p.big_bytes = value_mb << 20;
  if (c.big) p.snap_sizes.push_back(10000000);
  return c;
}

// ---- output ----

double MiB(uint64_t bytes) { return double(bytes) / 1048576.0; }

std::string Ratio(double b, double l) { return l > 0 ? Format("%.2fx", b / l) : "-"; }

// "date | machine", printed under every section title so that a table copied
// on its own keeps its context.
std::string g_stamp;

void Title(const std::string& t) { std::printf("\n== %s ==\n%s\n", t.c_str(), g_stamp.c_str()); }

// Sections 3 to 5: one line per metric, bruce, LMDB, bruce/LMDB.
struct Line {
  std::string metric;
  double bruce = 0, lmdb = 0;
  int decimals = 0;
};

void PrintLines(const std::vector<Line>& lines) {
  std::printf("%-36s %14s %14s %11s\n", "metric", "bruce", "LMDB", "bruce/LMDB");
  for (const Line& l : lines) {
    auto num = [&](double x) {
      return l.decimals == 0 ? Thousands(x) : Format("%.*f", l.decimals, x);
    };
    std::printf("%-36s %14s %14s %11s\n", l.metric.c_str(), num(l.bruce).c_str(),
                num(l.lmdb).c_str(), Ratio(l.bruce, l.lmdb).c_str());
  }
}

std::string MedianRange(const Samples& s) {
  return Format("%9.1f [%.0f..%.0f]", s.Median(), s.Min(), s.Max());
}

void PrintSnapCreate(const Config& c, const std::vector<SnapCreateRow>& rows) {
  Title("1. snapshot create time (bruce only: LMDB has no snapshots)");
  std::printf("16 B keys, 100 B values, loaded in key order, %s puts/txn, nosync. Per size and\n"
              "mode, %d times (after one untimed warm-up): Db::CreateSnapshot, Db::DestroySnapshot\n"
              "of it, and a one-put commit (BeginWrite, Put, Commit), timed separately.\n"
              "Microseconds: median [min..max].%s\n\n",
              Thousands(double(kLoadBatch)).c_str(), c.p.snap_reps,
              c.big ? "" : " (10,000,000 keys only with --big.)");
  std::printf("%12s %5s %8s %6s  %-26s %10s  %-26s %14s\n", "keys", "depth", "load s", "mode",
              "create us", "destroy us", "1-put commit us", "create/commit");
  for (const SnapCreateRow& r : rows) {
    for (int mode = 0; mode < 2; ++mode) {
      std::printf("%12s %5u %8.2f %6s  %-26s %10.1f  %-26s %13.2fx\n",
                  Thousands(double(r.keys)).c_str(), r.depth, r.load_seconds,
                  mode ? "full" : "nosync", MedianRange(r.create[mode]).c_str(),
                  r.destroy[mode].Median(), MedianRange(r.commit[mode]).c_str(),
                  r.create[mode].Median() / std::max(1e-9, r.commit[mode].Median()));
    }
  }
  if (rows.empty()) return;
  double lo = 1e300, hi = 0;
  for (const SnapCreateRow& r : rows) {
    lo = std::min(lo, r.create[0].Median());
    hi = std::max(hi, r.create[0].Median());
  }
  std::printf("nosync create median: %.1f to %.1f us across sizes (largest/smallest %.2fx); "
              "target < 1000 us: %s\n",
              lo, hi, hi / std::max(1e-9, lo), hi < 1000 ? "met" : "NOT MET");
}

void PrintSnapDestroy(const SnapDestroyRun& r) {
  Title("2. snapshot destroy cost vs pages freed (bruce only)");
  const uint64_t live = r.rows.empty() ? 0 : r.rows.front().live_pages;
  std::printf("%s keys (16 B + 100 B), %u B pages, %s pages used by the live store. Per row:\n"
              "Db::CreateSnapshot, overwrite a fraction f of the keys (%s puts/txn, nosync;\n"
              "range = consecutive keys, random = spread uniformly), then time\n"
              "Db::DestroySnapshot (nosync). unique = ListSnapshots unique_bytes / page size;\n"
              "freed = used pages before - after the destroy commit (Stat).\n\n",
              Thousands(double(r.keys)).c_str(), r.page_size, Thousands(double(live)).c_str(),
              Thousands(double(kLoadBatch)).c_str());
  std::printf("%-7s %6s %10s %12s %9s %12s %11s %14s %9s\n", "pattern", "f", "rewritten",
              "unique pages", "% of live", "pages freed", "destroy ms", "us/freed page",
              "list ms");
  for (const SnapDestroyRow& x : r.rows) {
    std::printf("%-7s %5.1f%% %10s %12s %8.1f%% %12s %11.3f %14.3f %9.3f\n", x.pattern.c_str(),
                x.fraction * 100, Thousands(double(x.rewritten)).c_str(),
                Thousands(double(x.unique_pages)).c_str(),
                x.live_pages ? 100.0 * double(x.unique_pages) / double(x.live_pages) : 0.0,
                Thousands(double(x.freed_pages)).c_str(), x.destroy_ms,
                x.freed_pages ? x.destroy_ms * 1e3 / double(x.freed_pages) : 0.0, x.list_ms);
  }
}

void PrintChurn(const SpaceParams& p, const ChurnRun& b, const ChurnRun& l) {
  Title("3. file size after churn");
  std::printf("%s keys x 100 B values inserted, then each overwritten %s times: one txn per\n"
              "round (%s puts), same random order every round, nosync on both. Live data\n"
              "(keys + values): %.2f MiB. Compaction: bruce Db::Compact() in place, LMDB\n"
              "mdb_env_copy2(MDB_CP_COMPACT) into a new file. Sizes: bruce/LMDB below 1 = bruce\n"
              "smaller.\n\n",
              Thousands(double(p.churn_keys)).c_str(), Thousands(double(p.churn_rounds)).c_str(),
              Thousands(double(p.churn_keys)).c_str(),
              MiB(p.churn_keys * (kKeySize + kValueSize)));
  PrintLines({
      {"churn puts/s", b.puts / b.seconds, l.puts / l.seconds, 0},
      {"file after churn (MiB)", MiB(b.bytes), MiB(l.bytes), 2},
      {"  allocated on disk (MiB)", MiB(b.allocated), MiB(l.allocated), 2},
      {"file after compaction (MiB)", MiB(b.compact_bytes), MiB(l.compact_bytes), 2},
      {"compaction time (ms)", b.compact_seconds * 1e3, l.compact_seconds * 1e3, 1},
  });
  std::printf("bruce after churn:   %s\n", b.describe.c_str());
  std::printf("bruce after compact: %s\n", b.describe_compacted.c_str());
  std::printf("LMDB after churn:    %s\n", l.describe.c_str());
}

void PrintBlocks(const SpaceParams& p, const BlockRun& b, const BlockRun& l) {
  Title("4. random 4 KiB read/write inside one " + Thousands(double(p.big_bytes >> 20)) +
        " MiB value");
  std::printf("bruce: one value built with Tree::WriteAt in 1 MiB pieces (one txn each), then\n"
              "ReadAt / WriteAt of random 4 KiB-aligned blocks. LMDB cannot write part of a\n"
              "value: %s separate 4 KiB values keyed by block index (8 B big-endian), one\n"
              "mdb_get / mdb_put per block (1 MiB = 256 puts per build txn). nosync on both;\n"
              "reads: %s, %s per read txn, each compared with the expected block; writes: %s,\n"
              "%s per txn. Rates: bruce/LMDB above 1 = bruce faster; sizes: below 1 = smaller.\n\n",
              Thousands(double(b.blocks)).c_str(), Thousands(double(p.block_reads)).c_str(),
              Thousands(double(kBatch)).c_str(), Thousands(double(p.block_writes)).c_str(),
              Thousands(double(p.writes_per_txn)).c_str());
  PrintLines({
      {"build (MiB/s)", MiB(p.big_bytes) / b.build_seconds, MiB(p.big_bytes) / l.build_seconds, 1},
      {"random 4 KiB read (ops/s)", b.reads / b.read_seconds, l.reads / l.read_seconds, 0},
      {"random 4 KiB write (ops/s)", b.writes / b.write_seconds, l.writes / l.write_seconds, 0},
      {"read back written blocks (ops/s)", b.verified / b.verify_seconds,
       l.verified / l.verify_seconds, 0},
      {"file size (MiB)", MiB(b.bytes), MiB(l.bytes), 1},
      {"  allocated on disk (MiB)", MiB(b.allocated), MiB(l.allocated), 1},
  });
  std::printf("bruce: %s\n", b.describe.c_str());
  std::printf("LMDB:  %s\n", l.describe.c_str());
}

void PrintJson(const SpaceParams& p, const std::vector<JsonRun>& b,
               const std::vector<JsonRun>& l) {
  Title("5. file size with compressible (JSON-like) values");
  const JsonRun& any = b.front();
  std::printf("%s records: 16 B keys, JSON text values of %.0f B on average, e.g.\n  %s\n"
              "nosync; ascending: %s puts/txn in key order; random: %s puts/txn in random\n"
              "order. Payload = keys + values. Sizes: bruce/LMDB below 1 = bruce smaller.\n\n",
              Thousands(double(p.json_records)).c_str(),
              double(any.payload_bytes - any.records * kKeySize) / double(any.records),
              JsonRecord(123, p.seed).c_str(), Thousands(double(kLoadBatch)).c_str(),
              Thousands(double(kBatch)).c_str());
  std::printf("%-10s %11s %11s %11s %11s %11s %11s %12s %12s\n", "order", "payload MiB",
              "bruce MiB", "LMDB MiB", "bruce/LMDB", "bruce B/rec", "LMDB B/rec", "bruce puts/s",
              "LMDB puts/s");
  for (size_t i = 0; i < b.size() && i < l.size(); ++i) {
    std::printf("%-10s %11.1f %11.1f %11.1f %11s %11.1f %11.1f %12s %12s\n", b[i].order.c_str(),
                MiB(b[i].payload_bytes), MiB(b[i].bytes), MiB(l[i].bytes),
                Ratio(double(b[i].bytes), double(l[i].bytes)).c_str(),
                double(b[i].bytes) / double(b[i].records),
                double(l[i].bytes) / double(l[i].records),
                Thousands(double(b[i].records) / b[i].seconds).c_str(),
                Thousands(double(l[i].records) / l[i].seconds).c_str());
  }
  for (size_t i = 0; i < b.size(); ++i) {
    std::printf("bruce %-10s %s\n", b[i].order.c_str(), b[i].describe.c_str());
  }
}

// ---- JSON ----

std::string J(double x) { return Format("%.6g", x); }

std::string JSamples(const Samples& s) {
  return "{\"median_us\": " + J(s.Median()) + ", \"min_us\": " + J(s.Min()) +
         ", \"max_us\": " + J(s.Max()) + "}";
}

struct Results {
  std::vector<SnapCreateRow> create;
  bool has_destroy = false;
  SnapDestroyRun destroy;
  std::vector<ChurnRun> churn;  // bruce, LMDB
  std::vector<BlockRun> blocks;
  std::vector<std::vector<JsonRun>> json;
};

void WriteJson(const std::string& path, const Config& c, const Machine& m, const Results& r) {
  std::ofstream o(path);
  const SpaceParams& p = c.p;
  o << "{\n  \"program\": \"bruce_bench_space\",\n  \"machine\": {\"nproc\": " << m.nproc
    << ", \"cpu\": " << JsonStr(m.cpu) << ", \"mem\": " << JsonStr(m.mem)
    << ", \"kernel\": " << JsonStr(m.kernel) << ", \"date\": " << JsonStr(m.date)
    << ", \"fs\": " << JsonStr(m.fs) << "},\n"
    << "  \"build_type\": " << JsonStr(BRUCE_BENCH_BUILD_TYPE)
    << ", \"lmdb_version\": " << JsonStr(LmdbVersion()) << ",\n"
    << "  \"params\": {\"seed\": " << p.seed << ", \"quick\": " << (c.quick ? "true" : "false")
    << ", \"big\": " << (c.big ? "true" : "false") << ", \"cache_bytes\": " << p.cache_bytes
    << ", \"snap_reps\": " << p.snap_reps << ", \"destroy_keys\": " << p.destroy_keys
    << ", \"churn_keys\": " << p.churn_keys << ", \"churn_rounds\": " << p.churn_rounds
    << ", \"big_bytes\": " << p.big_bytes << ", \"block_reads\": " << p.block_reads
    << ", \"block_writes\": " << p.block_writes << ", \"writes_per_txn\": " << p.writes_per_txn
    << ", \"json_records\": " << p.json_records << "},\n";

  o << "  \"snapshot_create\": [";
  for (size_t i = 0; i < r.create.size(); ++i) {
    const SnapCreateRow& x = r.create[i];
    o << (i ? ",\n" : "\n") << "    {\"keys\": " << x.keys << ", \"depth\": " << x.depth
      << ", \"load_seconds\": " << J(x.load_seconds) << ", \"file_bytes\": " << x.file_bytes;
    for (int mode = 0; mode < 2; ++mode) {
      o << ", \"" << (mode ? "full" : "nosync") << "\": {\"create\": " << JSamples(x.create[mode])
        << ", \"destroy\": " << JSamples(x.destroy[mode])
        << ", \"commit_1put\": " << JSamples(x.commit[mode]) << "}";
    }
    o << "}";
  }
  o << "\n  ],\n  \"snapshot_destroy\": ";
  if (!r.has_destroy) {
    o << "null";
  } else {
    const SnapDestroyRun& d = r.destroy;
    o << "{\"keys\": " << d.keys << ", \"page_size\": " << d.page_size << ", \"rows\": [";
    for (size_t i = 0; i < d.rows.size(); ++i) {
      const SnapDestroyRow& x = d.rows[i];
      o << (i ? ",\n" : "\n") << "    {\"pattern\": " << JsonStr(x.pattern)
        << ", \"fraction\": " << J(x.fraction) << ", \"rewritten\": " << x.rewritten
        << ", \"unique_pages\": " << x.unique_pages << ", \"used_before\": " << x.used_before
        << ", \"used_after\": " << x.live_pages << ", \"free_before\": " << x.free_before
        << ", \"free_after\": " << x.free_after << ", \"total_before\": " << x.total_before
        << ", \"total_after\": " << x.total_after << ", \"freed_pages\": " << x.freed_pages
        << ", \"destroy_ms\": " << J(x.destroy_ms) << ", \"list_ms\": " << J(x.list_ms) << "}";
    }
    o << "\n  ]}";
  }
  o << ",\n  \"churn\": [";
  for (size_t i = 0; i < r.churn.size(); ++i) {
    const ChurnRun& x = r.churn[i];
    o << (i ? ",\n" : "\n") << "    {\"engine\": " << JsonStr(x.engine) << ", \"puts\": " << x.puts
      << ", \"seconds\": " << J(x.seconds) << ", \"file_bytes\": " << x.bytes
      << ", \"allocated\": " << x.allocated << ", \"compacted_bytes\": " << x.compact_bytes
      << ", \"compact_seconds\": " << J(x.compact_seconds)
      << ", \"describe\": " << JsonStr(x.describe) << "}";
  }
  o << "\n  ],\n  \"blocks\": [";
  for (size_t i = 0; i < r.blocks.size(); ++i) {
    const BlockRun& x = r.blocks[i];
    o << (i ? ",\n" : "\n") << "    {\"engine\": " << JsonStr(x.engine)
      << ", \"blocks\": " << x.blocks << ", \"build_seconds\": " << J(x.build_seconds)
      << ", \"reads\": " << x.reads << ", \"read_ops_per_sec\": " << J(x.reads / x.read_seconds)
      << ", \"writes\": " << x.writes
      << ", \"write_ops_per_sec\": " << J(x.writes / x.write_seconds)
      << ", \"file_bytes\": " << x.bytes << ", \"allocated\": " << x.allocated
      << ", \"describe\": " << JsonStr(x.describe) << "}";
  }
  o << "\n  ],\n  \"json_values\": [";
  bool first = true;
  for (const auto& runs : r.json) {
    for (const JsonRun& x : runs) {
      o << (first ? "\n" : ",\n") << "    {\"engine\": " << JsonStr(x.engine)
        << ", \"order\": " << JsonStr(x.order) << ", \"records\": " << x.records
        << ", \"payload_bytes\": " << x.payload_bytes << ", \"seconds\": " << J(x.seconds)
        << ", \"file_bytes\": " << x.bytes << ", \"allocated\": " << x.allocated
        << ", \"describe\": " << JsonStr(x.describe) << "}";
      first = false;
    }
  }
  o << "\n  ]\n}\n";
  if (!o) throw BenchError("cannot write " + path);
}

// Both engines must have read the same bytes.
void SameChecksum(const char* what, uint64_t b, uint64_t l) {
  if (b != l) {
    throw BenchError(Format("checksum mismatch in %s: bruce %016" PRIx64 ", LMDB %016" PRIx64,
                            what, b, l));
  }
}

int Main(int argc, char** argv) {
  Config c = ParseArgs(argc, argv);
  const SpaceParams& p = c.p;

  std::string tmpl = c.parent_dir + "/bruce_bench_space.XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr) {
    std::perror((std::string(kProg) + ": mkdtemp " + tmpl).c_str());
    return 1;
  }
  const std::string root = tmpl;
  const Machine m = GetMachine(root);
  g_stamp = m.date + " | " + std::to_string(m.nproc) + " cpus, " + m.cpu + ", " + m.kernel +
            " | " + BRUCE_BENCH_BUILD_TYPE + ", " + m.fs;

  std::printf("bruce_bench_space: snapshots, space reuse, large values, file sizes "
              "(bruce vs LMDB)\n");
  std::printf("machine: %ld cpus, %s, mem %s, %s\n", m.nproc, m.cpu.c_str(), m.mem.c_str(),
              m.kernel.c_str());
  std::printf("date: %s   build: %s   %s\n", m.date.c_str(), BRUCE_BENCH_BUILD_TYPE,
              LmdbVersion().c_str());
  std::printf("dir: %s (%s)\n", root.c_str(), m.fs.c_str());
  std::printf("seed 0x%" PRIx64
              ", bruce cache %zu MiB, LMDB map %zu GiB, page size 4096 both%s%s\n",
              p.seed, p.cache_bytes >> 20, c.lmdb_map_gb, c.quick ? "  [--quick]" : "",
              c.big ? "  [--big]" : "");
  std::fflush(stdout);

  // Each section's stores are removed when it ends (unless --keep): the
  // large-value section alone takes about 3 GiB.
  auto done = [&](const std::string& dir) {
    if (c.keep) return;
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  };

  int rc = 0;
  Results r;
  try {
    auto bruce = NewBruceEngine(p.cache_bytes);
    auto lmdb = NewLmdbEngine(c.lmdb_map_gb << 30);
    if (c.sections.count(1)) {
      std::fprintf(stderr, "1. snapshot create\n");
      for (uint64_t keys : p.snap_sizes) {
        const std::string dir = root + "/snap-create-" + std::to_string(keys);
        r.create.push_back(RunSnapshotCreate(p, keys, dir));
        done(dir);
      }
      PrintSnapCreate(c, r.create);
      std::fflush(stdout);
    }
    if (c.sections.count(2)) {
      std::fprintf(stderr, "2. snapshot destroy\n");
      const std::string dir = root + "/snap-destroy";
      r.destroy = RunSnapshotDestroy(p, dir);
      r.has_destroy = true;
      done(dir);
      PrintSnapDestroy(r.destroy);
      std::fflush(stdout);
    }
    if (c.sections.count(3)) {
      std::fprintf(stderr, "3. churn\n");
      for (Engine* e : {bruce.get(), lmdb.get()}) r.churn.push_back(RunChurn(*e, p, root));
      SameChecksum("churn scan", r.churn[0].checksum, r.churn[1].checksum);
      PrintChurn(p, r.churn[0], r.churn[1]);
      done(root + "/bruce-churn");
      done(root + "/lmdb-churn");
      std::fflush(stdout);
    }
    if (c.sections.count(4)) {
      std::fprintf(stderr, "4. 4 KiB blocks of one large value\n");
      for (Engine* e : {bruce.get(), lmdb.get()}) {
        r.blocks.push_back(RunBlocks(*e, p, root));
        done(root + "/" + (e == bruce.get() ? "bruce" : "lmdb") + "-blocks");
      }
      SameChecksum("random 4 KiB reads", r.blocks[0].read_checksum, r.blocks[1].read_checksum);
      SameChecksum("read back after writes", r.blocks[0].verify_checksum,
                   r.blocks[1].verify_checksum);
      PrintBlocks(p, r.blocks[0], r.blocks[1]);
      std::fflush(stdout);
    }
    if (c.sections.count(5)) {
      std::fprintf(stderr, "5. JSON-like values\n");
      for (Engine* e : {bruce.get(), lmdb.get()}) r.json.push_back(RunJson(*e, p, root));
      for (size_t i = 0; i < r.json[0].size(); ++i) {
        SameChecksum("JSON scan", r.json[0][i].checksum, r.json[1][i].checksum);
      }
      PrintJson(p, r.json[0], r.json[1]);
      for (const char* d : {"bruce-json-ascending", "bruce-json-random", "lmdb-json-ascending",
                            "lmdb-json-random"}) {
        done(root + "/" + d);
      }
    }
    std::printf("\nbruce stores checked with Db::Check: %s\n",
                p.check ? "no problems" : "skipped (--no-check)");
    if (!c.json_path.empty()) {
      WriteJson(c.json_path, c, m, r);
      std::printf("results written to %s\n", c.json_path.c_str());
    }
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "%s: FAILED: %s\n", kProg, e.what());
    rc = 1;
  }

  if (c.keep) {
    std::printf("kept %s\n", root.c_str());
  } else {
    std::error_code ec;
    std::filesystem::remove_all(root, ec);
  }
  return rc;
}

}  // namespace
}  // namespace bench

int main(int argc, char** argv) { return bench::Main(argc, argv); }
