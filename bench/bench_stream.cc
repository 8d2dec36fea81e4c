// bruce_bench_stream: replication costs (issue "Integrity and replication").
//
// A store of N keys (16 bytes, 100-byte random values) in a file; snapshot
// a; 1% of the keys rewritten at random; snapshot b. Measures:
//   - the full stream of a and the incremental stream a -> b: bytes and
//     send time (to a memory sink), the incremental as a fraction of the full;
//   - send and receive throughput (stream bytes/s) against reading the store
//     file whole (`cat` to nothing: read(2) in 1 MiB pieces) in the same run.
//   - scrub of the store against reading its file whole, both with the
//     file's pages dropped from the page cache first (posix_fadvise
//     DONTNEED), so both read the disk.
// Every figure is the median of 3 runs.
//   bruce_bench_stream [--keys N] [--dir DIR]
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "bruce/db.h"

using namespace bruce;

namespace {

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

void Check(const Status& s, const char* what) {
  if (!s.ok()) {
    std::fprintf(stderr, "%s: %s\n", what, s.ToString().c_str());
    std::exit(1);
  }
}

std::unique_ptr<Db> OpenFile(const std::string& path) {
  Options o;
  o.create_if_missing = true;
  o.durability = Durability::kNoSync;
  auto db = Db::Open(path, o);
  Check(db.status(), "open");
  return std::move(db).value();
}

// Drops the file's pages from the page cache (clean pages: no privilege).
void DropCache(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY);
  ::fdatasync(fd);
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  ::close(fd);
}

// Seconds to read a file whole (the page cache is warm, as for the store).
double Cat(const std::string& path, uint64_t* bytes) {
  const double t0 = Now();
  int fd = ::open(path.c_str(), O_RDONLY);
  std::vector<char> buf(1 << 20);
  *bytes = 0;
  ssize_t n;
  while ((n = ::read(fd, buf.data(), buf.size())) > 0) *bytes += static_cast<uint64_t>(n);
  ::close(fd);
  return Now() - t0;
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t keys = 1000000;
  std::string dir = "/tmp";
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--keys")) keys = std::strtoull(argv[i + 1], nullptr, 10);
    if (!std::strcmp(argv[i], "--dir")) dir = argv[i + 1];
  }
  const std::string src_path = dir + "/bench-stream-src.bruce";
  ::unlink(src_path.c_str());
  ::unlink((src_path + "-lock").c_str());
  auto db = OpenFile(src_path);
  std::mt19937_64 rng(42);
  auto value = [&]() {
    std::string v(100, '\0');
    for (size_t i = 0; i < v.size(); i += 8) {
      const uint64_t r = rng();
      std::memcpy(&v[i], &r, std::min<size_t>(8, v.size() - i));
    }
    return v;
  };
  {
    auto w = db->BeginWrite().value();
    char key[32];
    for (uint64_t i = 0; i < keys; ++i) {
      std::snprintf(key, sizeof key, "%016llu", static_cast<unsigned long long>(i));
      Check(w->Main()->Put(key, value(), kAppend), "fill");
    }
    Check(w->Commit(), "commit");
  }
  Check(db->CreateSnapshot("a"), "snapshot a");
  {
    auto w = db->BeginWrite().value();
    char key[32];
    for (uint64_t i = 0; i < keys / 100; ++i) {
      std::snprintf(key, sizeof key, "%016llu", static_cast<unsigned long long>(rng() % keys));
      Check(w->Main()->Put(key, value()), "change");
    }
    Check(w->Commit(), "commit");
  }
  Check(db->CreateSnapshot("b"), "snapshot b");
  {
    // The same number of changes in one run of keys (new data in one place,
    // as logs and time series change).
    auto w = db->BeginWrite().value();
    char key[32];
    const uint64_t start = rng() % (keys - keys / 100);
    for (uint64_t i = 0; i < keys / 100; ++i) {
      std::snprintf(key, sizeof key, "%016llu", static_cast<unsigned long long>(start + i));
      Check(w->Main()->Put(key, value()), "change");
    }
    Check(w->Commit(), "commit");
  }
  Check(db->CreateSnapshot("c"), "snapshot c");

  std::vector<double> full_t, inc_t, run_t, recv_t, cat_t, cold_cat_t, scrub_t;
  uint64_t scrub_bytes = 0;
  uint64_t full_bytes = 0, inc_bytes = 0, run_bytes = 0, file_bytes = 0, reused = 0;
  std::string full;
  for (int run = 0; run < 3; ++run) {
    full.clear();
    double t0 = Now();
    Check(Send(db.get(), "a", "", [&](std::string_view p) { full.append(p); return Status::OK(); }),
          "send full");
    full_t.push_back(Now() - t0);
    full_bytes = full.size();
    std::string inc;
    StreamStats st;
    t0 = Now();
    Check(Send(db.get(), "b", "a", [&](std::string_view p) { inc.append(p); return Status::OK(); },
               &st),
          "send incremental");
    inc_t.push_back(Now() - t0);
    inc_bytes = inc.size();
    reused = st.reused;
    std::string run_inc;
    t0 = Now();
    Check(Send(db.get(), "c", "b", [&](std::string_view p) { run_inc.append(p); return Status::OK(); }),
          "send incremental (one run)");
    run_t.push_back(Now() - t0);
    run_bytes = run_inc.size();
    const std::string dst_path = dir + "/bench-stream-dst.bruce";
    ::unlink(dst_path.c_str());
    ::unlink((dst_path + "-lock").c_str());
    auto dst = OpenFile(dst_path);
    size_t pos = 0;
    std::string snap;
    t0 = Now();
    Check(Receive(dst.get(),
                  [&](char* buf, size_t n, size_t* got) {
                    *got = std::min(n, full.size() - pos);
                    std::memcpy(buf, full.data() + pos, *got);
                    pos += *got;
                    return Status::OK();
                  },
                  ReceiveOptions{}, &snap),
          "receive");
    recv_t.push_back(Now() - t0);
    dst.reset();
    ::unlink(dst_path.c_str());
    ::unlink((dst_path + "-lock").c_str());
    cat_t.push_back(Cat(src_path, &file_bytes));
    uint64_t cold_bytes = 0;
    DropCache(src_path);
    cold_cat_t.push_back(Cat(src_path, &cold_bytes));
    DropCache(src_path);
    ScrubReport rep;
    t0 = Now();
    Check(Scrub(db.get(), &rep), "scrub");
    scrub_t.push_back(Now() - t0);
    scrub_bytes = rep.bytes;
    if (!rep.damaged.empty()) Check(Status::Corruption("scrub found damage"), "scrub");
  }
  const double mb = 1e6;
  const double cat_rate = static_cast<double>(file_bytes) / Median(cat_t) / mb;
  const double send_rate = static_cast<double>(full_bytes) / Median(full_t) / mb;
  const double recv_rate = static_cast<double>(full_bytes) / Median(recv_t) / mb;
  std::printf("bruce_bench_stream (%s build): %llu keys, 1%% changed, median of 3 runs\n",
              BRUCE_BENCH_BUILD_TYPE, static_cast<unsigned long long>(keys));
  std::printf("| measure | value | against |\n|---|---:|---:|\n");
  std::printf("| full stream | %.1f MB in %.3f s | |\n", full_bytes / mb, Median(full_t));
  std::printf("| incremental stream (1%% of keys changed at random) | %.2f MB in %.3f s | %.2f%% of the "
              "full's bytes, %.2f%% of its time |\n",
              inc_bytes / mb, Median(inc_t), 100.0 * inc_bytes / full_bytes,
              100.0 * Median(inc_t) / Median(full_t));
  std::printf("| incremental stream (1%% of keys changed, in one run of keys) | %.2f MB in %.3f s "
              "| %.2f%% of the full's bytes, %.2f%% of its time |\n",
              run_bytes / mb, Median(run_t), 100.0 * run_bytes / full_bytes,
              100.0 * Median(run_t) / Median(full_t));
  std::printf("| send (full) | %.0f MB/s | %.2fx cat of the store file (%.0f MB/s) |\n", send_rate,
              send_rate / cat_rate, cat_rate);
  std::printf("| receive (full, into a new store) | %.0f MB/s | %.2fx cat |\n", recv_rate,
              recv_rate / cat_rate);
  const double cold_cat = static_cast<double>(file_bytes) / Median(cold_cat_t) / mb;
  const double scrub_rate = static_cast<double>(scrub_bytes) / Median(scrub_t) / mb;
  std::printf("| scrub (file pages dropped from the page cache) | %.0f MB/s (%.1f MB in %.3f s) | "
              "%.2fx reading the file cold (%.0f MB/s) |\n",
              scrub_rate, scrub_bytes / mb, Median(scrub_t), scrub_rate / cold_cat, cold_cat);
  std::printf("(store file %.1f MB; %llu subtrees taken from the base)\n", file_bytes / mb,
              static_cast<unsigned long long>(reused));
  ::unlink(src_path.c_str());
  ::unlink((src_path + "-lock").c_str());
  return 0;
}
