// bruce_bench_io: what a durable commit's I/O pattern costs on this disk,
// without either engine: the floor under the "durable commit" row of
// bruce_bench.
//
// A file of --mib MiB (under --dir, default /var/tmp; tmpfs is refused) is
// written and synced once; then each pattern below runs --commits times,
// the patterns taking turns commit by commit in a rotating order (so a noisy
// neighbour slows them alike), each "commit" writing --pages pages of
// 4 KiB at random page offsets of the file and one meta page (page 0 or 1,
// alternating), then making them durable:
//   lmdb        the pages, fdatasync, then the meta page through a second
//               descriptor opened O_DSYNC (mdb_txn_commit with default flags)
//   one-sync    the pages and the meta page, one fdatasync (bruce's commit)
//   one-sync+stat   the same after an fstat of the file
//   one-sync+lseek  the same after lseek(SEEK_END) (the size, not the times)
//   one-sync, one run   the pages in one contiguous run, and the meta page,
//               one fdatasync (the best a copy-on-write layout could do)
//   one page    one page and fdatasync: the floor under any commit that is
//               made durable by a sync (a log record of one page, say)
//   log         a write-ahead log's commit: the pages written at random
//               offsets of a second file of the same size without a sync,
//               then one log page appended to a log region of that file
//               with pwritev2(RWF_DSYNC) (which syncs that page's range
//               only); every 64th commit also writes a meta page and
//               fdatasyncs the file (a checkpoint, its time counted)
//   log, pages at the checkpoint   the same, but the pages are kept in
//               memory and written at the checkpoint, where the commits
//               since the last one share their upper branches: 140 pages
//               (what 64 single puts at random into a 1,000,000-key tree
//               dirty: 64 leaves, about 60 of the 500 branches above them,
//               the 8 above those, the root, the catalog and a space-log
//               page), then the meta page and fdatasync
// Prints commits/s for each, and each against lmdb.
//   bruce_bench_io [--dir D] [--mib M] [--pages K] [--commits N] [--seed S]
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace {

constexpr size_t kPage = 4096;

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "bruce_bench_io: %s: %s\n", what.c_str(), std::strerror(errno));
  std::exit(1);
}

void WriteAt(int fd, const char* buf, size_t n, uint64_t page) {
  const ssize_t got = ::pwrite(fd, buf, n, static_cast<off_t>(page * kPage));
  if (got < 0) Die("pwrite");
  if (static_cast<size_t>(got) != n) {
    std::fprintf(stderr, "bruce_bench_io: short write (%zd of %zu bytes)\n", got, n);
    std::exit(1);
  }
}

void Sync(int fd) {
  if (::fdatasync(fd) != 0) Die("fdatasync");
}

struct Pattern {
  const char* name;
  double seconds = 0;
};

}  // namespace

int main(int argc, char** argv) {
  std::string dir = "/var/tmp";
  uint64_t mib = 64, pages = 6, commits = 1000, seed = 0x6272756365;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--dir") {
      dir = next();
    } else if (a == "--mib") {
      mib = std::strtoull(next().c_str(), nullptr, 10);
    } else if (a == "--pages") {
      pages = std::strtoull(next().c_str(), nullptr, 10);
    } else if (a == "--commits") {
      commits = std::strtoull(next().c_str(), nullptr, 10);
    } else if (a == "--seed") {
      seed = std::strtoull(next().c_str(), nullptr, 0);
    } else {
      std::fprintf(stderr,
                   "usage: bruce_bench_io [--dir D] [--mib M] [--pages K] [--commits N] "
                   "[--seed S]\n");
      return 2;
    }
  }
  const uint64_t file_pages = mib * 1024 * 1024 / kPage;
  if (pages == 0 || pages > 64 || file_pages < pages + 16 || commits == 0) {
    std::fprintf(stderr, "bruce_bench_io: want 1 to 64 pages, a file of at least %" PRIu64
                         " pages and some commits\n", pages + 16);
    return 2;
  }
  std::string path = dir + "/bruce_bench_io.XXXXXX";
  int fd = ::mkstemp(path.data());
  if (fd < 0) Die("mkstemp in " + dir);
  int dsync = ::open(path.c_str(), O_RDWR | O_DSYNC);
  ::unlink(path.c_str());  // gone when the program ends, however it ends
  if (dsync < 0) Die("open O_DSYNC");
  struct statfs fs {};
  (void)::fstatfs(fd, &fs);
  if (fs.f_type == 0x01021994) {
    std::fprintf(stderr, "bruce_bench_io: %s is tmpfs, where fdatasync is free: "
                         "measure on a disk (--dir)\n", dir.c_str());
    return 2;
  }

  std::vector<char> buf(64 * kPage, 'b');
  for (uint64_t p = 0; p < file_pages; p += 64) {
    WriteAt(fd, buf.data(), std::min<uint64_t>(64, file_pages - p) * kPage, p);
  }
  Sync(fd);

  // Each log pattern has a file of its own: the writes it leaves unsynced
  // must not be flushed by another pattern's fdatasync (nor another's by
  // its checkpoints).
  int log_fds[2];
  for (int& lfd : log_fds) {
    std::string log_path = dir + "/bruce_bench_io.XXXXXX";
    lfd = ::mkstemp(log_path.data());
    if (lfd < 0) Die("mkstemp in " + dir);
    ::unlink(log_path.c_str());
    for (uint64_t p = 0; p < file_pages; p += 64) {
      WriteAt(lfd, buf.data(), std::min<uint64_t>(64, file_pages - p) * kPage, p);
    }
    Sync(lfd);
  }
  constexpr uint64_t kCheckpointEvery = 64;
  constexpr uint64_t kCheckpointPages = 140;
  const uint64_t log_pages = std::min<uint64_t>(4096, file_pages / 4);
  uint64_t log_next[2] = {0, 0};

  std::mt19937_64 rng(seed);
  auto random_page = [&] { return 2 + rng() % (file_pages - 2 - pages); };
  Pattern pats[] = {{"lmdb: pages, fdatasync, meta O_DSYNC"},
                    {"one-sync: pages + meta, fdatasync"},
                    {"one-sync after an fstat"},
                    {"one-sync, the pages in one run"},
                    {"one-sync after an lseek(SEEK_END)"},
                    {"one page, fdatasync"},
                    {"log: page RWF_DSYNC, checkpoint every 64"},
                    {"log, the pages at the checkpoint"}};
  constexpr int kPatterns = 8;
  for (uint64_t c = 0; c < commits; c++) {
    for (int j = 0; j < kPatterns; j++) {
      const int k = static_cast<int>((static_cast<uint64_t>(j) + c) % kPatterns);  // each follows each
      buf[0] = static_cast<char>(c);
      const uint64_t meta = c % 2;
      const double t = Now();
      switch (k) {
        case 0:
          for (uint64_t i = 0; i < pages; i++) WriteAt(fd, buf.data(), kPage, random_page());
          Sync(fd);
          WriteAt(dsync, buf.data(), kPage, meta);
          break;
        case 2: {
          struct stat st {};
          if (::fstat(fd, &st) != 0) Die("fstat");
        }
          [[fallthrough]];
        case 4:
          if (k == 4 && ::lseek(fd, 0, SEEK_END) < 0) Die("lseek");
          [[fallthrough]];
        case 1:
          for (uint64_t i = 0; i < pages; i++) WriteAt(fd, buf.data(), kPage, random_page());
          WriteAt(fd, buf.data(), kPage, meta);
          Sync(fd);
          break;
        case 3:
          WriteAt(fd, buf.data(), pages * kPage, random_page());
          WriteAt(fd, buf.data(), kPage, meta);
          Sync(fd);
          break;
        case 5:
          WriteAt(fd, buf.data(), kPage, random_page());
          Sync(fd);
          break;
        case 6:
        case 7: {
          const int log_fd = log_fds[k - 6];
          auto data_page = [&] { return 2 + rng() % (file_pages - 2 - pages - log_pages); };
          for (uint64_t i = 0; k == 6 && i < pages; i++) WriteAt(log_fd, buf.data(), kPage, data_page());
          // The log region: the file's last log_pages pages, written in turn.
          const uint64_t at = file_pages - log_pages + log_next[k - 6];
          log_next[k - 6] = (log_next[k - 6] + 1) % log_pages;
          struct iovec v {buf.data(), kPage};
          const ssize_t got = ::pwritev2(log_fd, &v, 1, static_cast<off_t>(at * kPage), RWF_DSYNC);
          if (got < 0) Die("pwritev2(RWF_DSYNC)");
          if (static_cast<size_t>(got) != kPage) {
            std::fprintf(stderr, "bruce_bench_io: short write (%zd of %zu bytes)\n", got, kPage);
            std::exit(1);
          }
          if ((c + 1) % kCheckpointEvery == 0) {
            for (uint64_t i = 0; k == 7 && i < kCheckpointPages; i++) {
              WriteAt(log_fd, buf.data(), kPage, data_page());
            }
            WriteAt(log_fd, buf.data(), kPage, meta);
            Sync(log_fd);
          }
          break;
        }
      }
      pats[k].seconds += Now() - t;
    }
  }
  ::close(dsync);
  for (int lfd : log_fds) ::close(lfd);
  ::close(fd);

  std::printf("file %s (%" PRIu64 " MiB, file system magic 0x%lx), %" PRIu64
              " pages a commit, %" PRIu64 " commits each, taking turns\n",
              dir.c_str(), mib, static_cast<unsigned long>(fs.f_type), pages, commits);
  const double lmdb = static_cast<double>(commits) / pats[0].seconds;
  for (const Pattern& p : pats) {
    const double rate = static_cast<double>(commits) / p.seconds;
    std::printf("  %-40s %9.0f commits/s  %5.2fx lmdb\n", p.name, rate, rate / lmdb);
  }
  return 0;
}
