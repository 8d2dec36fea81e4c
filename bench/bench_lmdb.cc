// bench/bench_lmdb.cc — bruce_bench: the same workloads on bruce and on LMDB
// in one run, printed side by side (see bench/README.md).
//
//   bruce_bench [--quick] [--keys N] [--dir D] [--json FILE] [--cache-mb M]
//               [--seed S] [--only bruce|lmdb] [--keep]
#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "engine.h"
#include "report.h"
#include "workloads.h"

#ifndef BRUCE_BENCH_BUILD_TYPE
#define BRUCE_BENCH_BUILD_TYPE "unknown"
#endif

namespace bench {
namespace {

struct Config {
  Params params;
  bool quick = false;
  bool keys_given = false;
  std::string parent_dir = "/tmp";
  std::string json_path;
  size_t cache_mb = 1024;
  size_t lmdb_map_gb = 8;
  bool run_bruce = true, run_lmdb = true;
  bool keep = false;
  bool two_sync = false;
  bool direct = false;
  bool write_thread = true;
  uint32_t bloom = 0;
};

[[noreturn]] void Usage(int code) {
  std::fprintf(code ? stderr : stdout,
               "usage: bruce_bench [options]\n"
               "  --keys N       keys to load (default 1000000; 20000 with --quick)\n"
               "  --quick        smoke run: 20000 keys and fewer ops, finishes in seconds\n"
               "  --dir D        make the temporary store directory under D (default /tmp)\n"
               "  --json FILE    also write the results as JSON to FILE\n"
               "  --cache-mb M   bruce node cache budget in MiB (default 1024; 0: the\n"
               "                 engine's default, bruce::DefaultCacheBytes())\n"
               "  --seed S       data and order seed (default 0x6272756365)\n"
               "  --only ENGINE  run only 'bruce' or only 'lmdb'\n"
               "  --keep         keep the store directory instead of removing it\n"
               "  --fills-only   run the two fills and stop (to profile the write path)\n"
               "  --two-sync     bruce's durable commits sync pages, then the meta page\n"
               "  --direct       bruce reads and writes its store with O_DIRECT\n"
               "  --no-write-thread  bruce's commits make every write themselves\n"
               "  --bloom B      bruce's data goes to a tree \"bench\" with Bloom filters of\n"
               "                 B bits a key (default 0: the main tree, no filters)\n");
  std::exit(code);
}

Config ParseArgs(int argc, char** argv) {
  Config c;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "bruce_bench: %s needs a value\n", a.c_str());
        Usage(2);
      }
      return argv[++i];
    };
    if (a == "--quick") c.quick = true;
    else if (a == "--keys") {
      c.params.keys = ParseU64("bruce_bench", "--keys", value());
      c.keys_given = true;
    }
    else if (a == "--dir") c.parent_dir = value();
    else if (a == "--json") c.json_path = value();
    else if (a == "--cache-mb") c.cache_mb = ParseU64("bruce_bench", "--cache-mb", value());
    else if (a == "--seed") c.params.seed = ParseU64("bruce_bench", "--seed", value());
    else if (a == "--keep") c.keep = true;
    else if (a == "--fills-only") c.params.fills_only = true;
    else if (a == "--two-sync") c.two_sync = true;
    else if (a == "--direct") c.direct = true;
    else if (a == "--no-write-thread") c.write_thread = false;
    else if (a == "--bloom") {
      c.bloom = static_cast<uint32_t>(ParseU64("bruce_bench", "--bloom", value()));
      if (c.bloom > 32) Usage(2);
    }
    else if (a == "--only") {
      std::string e = value();
      if (e != "bruce" && e != "lmdb") Usage(2);
      c.run_bruce = e == "bruce";
      c.run_lmdb = e == "lmdb";
    } else if (a == "-h" || a == "--help") Usage(0);
    else {
      std::fprintf(stderr, "bruce_bench: unknown option '%s'\n", a.c_str());
      Usage(2);
    }
  }
  Params& p = c.params;
  if (c.quick && !c.keys_given) p.keys = 20000;
  if (p.keys < 1) Usage(2);
  p.reads = p.keys;
  p.durable_commits = c.quick ? 100 : 1000;
  p.writer_batches = c.quick ? 100 : 1000;
  p.absent_gets = std::max<uint64_t>(100, p.keys / 100);
  p.select_ops_bruce = std::min<uint64_t>(100000, std::max<uint64_t>(2000, p.keys / 10));
  // LMDB walks i/2 keys per select on average: aim at ~1e8 cursor steps in all.
  p.select_ops_lmdb = std::min<uint64_t>(2000, std::max<uint64_t>(20, 200000000 / p.keys));
  return c;
}

// ---- output ----

std::string Ratio(const Measure& b, const Measure& l) {
  if (!b.ran || !l.ran || l.ops_per_sec() <= 0) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2fx", b.ops_per_sec() / l.ops_per_sec());
  return buf;
}

const Measure kNotRun{};

const Measure& Find(const std::vector<EngineRun>& runs, const std::string& engine, Workload w) {
  for (const auto& r : runs) {
    if (r.engine == engine) return r.m[w];
  }
  return kNotRun;
}

void PrintTable(const std::vector<EngineRun>& runs) {
  std::printf("\n%-32s %-10s %15s %15s %11s %16s\n", "workload", "unit", "bruce ops/s",
              "LMDB ops/s", "bruce/LMDB", "ops bruce/LMDB");
  for (int w = 0; w < kNumWorkloads; ++w) {
    const Measure& b = Find(runs, "bruce", Workload(w));
    const Measure& l = Find(runs, "LMDB", Workload(w));
    std::string ops = (b.ran ? std::to_string(b.ops) : "-") + "/" +
                      (l.ran ? std::to_string(l.ops) : "-");
    std::printf("%-32s %-10s %15s %15s %11s %16s\n", Info(Workload(w)).title,
                Info(Workload(w)).unit, b.ran ? Thousands(b.ops_per_sec()).c_str() : "-",
                l.ran ? Thousands(l.ops_per_sec()).c_str() : "-", Ratio(b, l).c_str(),
                ops.c_str());
  }
}

// Returns false when the engines disagree about data they both read.
bool CompareChecksums(const std::vector<EngineRun>& runs) {
  if (runs.size() < 2) return true;
  std::printf("\n");
  bool ok = true;
  for (int w = 0; w < kNumWorkloads; ++w) {
    if (!Info(Workload(w)).checksummed) continue;
    const Measure &a = runs[0].m[w], &b = runs[1].m[w];
    if (a.ops != b.ops || a.checksum != b.checksum) {
      std::printf("CHECKSUM MISMATCH in %s: %s %016" PRIx64 " (%" PRIu64 " ops) vs %s %016" PRIx64
                  " (%" PRIu64 " ops)\n",
                  Info(Workload(w)).name, runs[0].engine.c_str(), a.checksum, a.ops,
                  runs[1].engine.c_str(), b.checksum, b.ops);
      ok = false;
    }
  }
  if (ok) std::printf("checksums of reads and scans: identical on both engines\n");
  return ok;
}

void PrintStores(const std::vector<EngineRun>& runs) {
  std::printf("\nstore files (size / allocated on disk):\n");
  for (const auto& r : runs) {
    for (const StoreFile* f : {&r.seq_store, &r.rand_store}) {
      std::printf("  %-6s %-45s %8.1f MiB / %8.1f MiB\n", r.engine.c_str(), f->path.c_str(),
                  f->bytes / 1048576.0, f->allocated / 1048576.0);
      if (f == &r.rand_store) std::printf("         after reads: %s\n", r.after_reads.c_str());
      std::printf("         at close:    %s\n", f->describe.c_str());
    }
  }
}

void WriteJson(const std::string& path, const Config& c, const Machine& m,
               const std::vector<EngineRun>& runs) {
  std::ofstream o(path);
  o.precision(10);
  const Params& p = c.params;
  o << "{\n  \"machine\": {\"nproc\": " << m.nproc << ", \"cpu\": " << JsonStr(m.cpu)
    << ", \"mem\": " << JsonStr(m.mem) << ", \"kernel\": " << JsonStr(m.kernel)
    << ", \"date\": " << JsonStr(m.date) << ", \"fs\": " << JsonStr(m.fs) << "},\n"
    << "  \"build_type\": " << JsonStr(BRUCE_BENCH_BUILD_TYPE)
    << ", \"lmdb_version\": " << JsonStr(LmdbVersion()) << ",\n"
    << "  \"params\": {\"keys\": " << p.keys << ", \"key_bytes\": " << kKeySize
    << ", \"value_bytes\": " << kValueSize << ", \"seed\": " << p.seed
    << ", \"quick\": " << (c.quick ? "true" : "false") << ", \"cache_mb\": " << c.cache_mb
    << "},\n  \"results\": [\n";
  for (int w = 0; w < kNumWorkloads; ++w) {
    o << "    {\"workload\": " << JsonStr(Info(Workload(w)).name)
      << ", \"unit\": " << JsonStr(Info(Workload(w)).unit);
    for (const auto& r : runs) {
      const Measure& x = r.m[w];
      o << ", " << JsonStr(r.engine) << ": {\"ops\": " << x.ops << ", \"seconds\": " << x.seconds
        << ", \"ops_per_sec\": " << x.ops_per_sec() << ", \"retries\": " << x.retries << "}";
    }
    const Measure &b = Find(runs, "bruce", Workload(w)), &l = Find(runs, "LMDB", Workload(w));
    if (b.ran && l.ran && l.ops_per_sec() > 0) {
      o << ", \"ratio_bruce_lmdb\": " << b.ops_per_sec() / l.ops_per_sec();
    }
    o << "}" << (w + 1 < kNumWorkloads ? "," : "") << "\n";
  }
  o << "  ],\n  \"stores\": [\n";
  for (size_t i = 0; i < runs.size(); ++i) {
    const EngineRun& r = runs[i];
    o << "    {\"engine\": " << JsonStr(r.engine) << ", \"seq_bytes\": " << r.seq_store.bytes
      << ", \"seq_allocated\": " << r.seq_store.allocated << ", \"rand_bytes\": "
      << r.rand_store.bytes << ", \"rand_allocated\": " << r.rand_store.allocated
      << ", \"describe\": " << JsonStr(r.rand_store.describe)
      << ", \"after_reads\": " << JsonStr(r.after_reads) << "}"
      << (i + 1 < runs.size() ? "," : "") << "\n";
  }
  o << "  ]\n}\n";
  if (!o) throw BenchError("cannot write " + path);
}

int Main(int argc, char** argv) {
  Config c = ParseArgs(argc, argv);
  const Params& p = c.params;

  std::string tmpl = c.parent_dir + "/bruce_bench.XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr) {
    std::perror(("bruce_bench: mkdtemp " + tmpl).c_str());
    return 1;
  }
  const std::string root = tmpl;
  const Machine m = GetMachine(root);

  std::printf("bruce_bench: bruce vs LMDB\n");
  std::printf("machine: %ld cpus, %s, mem %s, %s\n", m.nproc, m.cpu.c_str(), m.mem.c_str(),
              m.kernel.c_str());
  std::printf("date: %s   build: %s   %s\n", m.date.c_str(), BRUCE_BENCH_BUILD_TYPE,
              LmdbVersion().c_str());
  std::printf("dir: %s (%s)\n", root.c_str(), m.fs.c_str());
  std::printf("keys: %" PRIu64 " x %zu B, values %zu B, seed 0x%" PRIx64
              " (splitmix64; Fisher-Yates fill order)%s\n",
              p.keys, kKeySize, kValueSize, p.seed, c.quick ? "  [--quick]" : "");
  std::printf("bruce cache %zu MiB, Bloom filters %u bits a key, LMDB map %zu GiB; select ops "
              "bruce %" PRIu64 ", LMDB %" PRIu64 "; durable commits %" PRIu64 "\n",
              c.cache_mb, c.bloom, c.lmdb_map_gb, p.select_ops_bruce, p.select_ops_lmdb,
              p.durable_commits);
  std::fflush(stdout);

  int rc = 0;
  std::vector<EngineRun> runs;
  try {
    Dataset d(p);
    std::vector<std::unique_ptr<Engine>> engines;
    if (c.run_bruce) engines.push_back(NewBruceEngine(c.cache_mb << 20, c.two_sync, c.direct, c.bloom,
                                                        c.write_thread));
    if (c.run_lmdb) engines.push_back(NewLmdbEngine(c.lmdb_map_gb << 30));
    runs.resize(engines.size());
    if (engines.size() == 1) {
      runs[0] = RunWorkloads(*engines[0], d, root);
    } else {
      // Each engine in its own thread, taking turns workload by workload.
      Turns turns;
      std::vector<std::exception_ptr> failed(engines.size());
      std::vector<std::thread> threads;
      for (int who = 0; who < 2; ++who) {
        threads.emplace_back([&, who] {
          try {
            runs[who] = RunWorkloads(*engines[who], d, root, &turns, who);
          } catch (...) {
            failed[who] = std::current_exception();
          }
          turns.End(who);
        });
      }
      for (auto& t : threads) t.join();
      for (auto& f : failed) {
        if (f) std::rethrow_exception(f);
      }
    }
    PrintTable(runs);
    if (!CompareChecksums(runs)) rc = 1;
    PrintStores(runs);
    if (!c.json_path.empty()) {
      WriteJson(c.json_path, c, m, runs);
      std::printf("\nresults written to %s\n", c.json_path.c_str());
    }
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "bruce_bench: FAILED: %s\n", e.what());
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
