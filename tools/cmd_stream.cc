// bruce send and bruce receive: replicate a store's snapshots as streams
// (docs/FORMAT.md "Send stream"), e.g.
//   bruce send S snap2 --from snap1 | ssh host bruce receive /srv/S

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>

#include "commands.h"
#include "escape.h"
#include "progress.h"
#include "session.h"

namespace bruce::cli {

namespace {

// The --json summary of a send or receive.
std::string StatsJson(const StreamStats& st, std::chrono::steady_clock::duration took,
                      const std::string& snapshot = "") {
  const double secs = std::chrono::duration<double>(took).count();
  std::string out = "{";
  if (!snapshot.empty()) out += "\"snapshot\": " + JsonString(snapshot) + ", ";
  out += "\"bytes\": " + std::to_string(st.bytes) + ", \"records\": " +
         std::to_string(st.records) + ", \"nodes\": " + std::to_string(st.nodes) +
         ", \"leaf_deltas\": " + std::to_string(st.leaf_deltas) +
         ", \"data_blocks\": " + std::to_string(st.data_blocks) + ", \"reused\": " +
         std::to_string(st.reused) + ", \"seconds\": " + std::to_string(secs) + "}";
  return out;
}

}  // namespace

int RunSend(const Invocation& inv) {
  if (isatty(STDOUT_FILENO)) {
    return UsageError(inv, "a stream is binary: redirect it to a file or a pipe");
  }
  ReadSession s;
  if (int rc = OpenRead(inv, /*open_tree=*/false, &s)) return rc;
  const std::string* from = inv.Value("--from");
  StreamStats st;
  SendOptions so;
  if (from) so.base = *from;
  so.compressed = inv.Has("--compressed");
  // A full stream is about the snapshot's referenced bytes: the progress
  // line's total (none for an incremental one).
  uint64_t total = 0;
  if (!from) {
    if (auto list = s.db->ListSnapshots(); list.ok()) {
      for (const SnapshotInfo& i : *list) {
        if (i.name == inv.args[1]) total = i.referenced_bytes;
      }
    }
  }
  Progress bar("send", "bytes");
  uint64_t sent = 0;
  const auto t0 = std::chrono::steady_clock::now();
  Status r = Send(
      s.db.get(), inv.args[1], so,
      [&](std::string_view piece) {
        if (std::fwrite(piece.data(), 1, piece.size(), stdout) != piece.size()) {
          return Status::IOError("writing the stream", errno);
        }
        sent += piece.size();
        bar.Update(sent, total, sent);
        return Status::OK();
      },
      &st);
  bar.Finish();
  if (r.IsNotFound()) {
    return NotFound(inv, "no such snapshot: " + Escape(r.message().find(inv.args[1]) !=
                                                               std::string::npos || !from
                                                           ? inv.args[1]
                                                           : *from));
  }
  if (!r.ok()) return Fail(inv, r);
  if (int rc = FinishOutput(inv)) return rc;
  if (inv.Has("--json")) {
    // stdout is the stream: the summary goes to stderr.
    const std::string line = StatsJson(st, std::chrono::steady_clock::now() - t0) + "\n";
    std::fwrite(line.data(), 1, line.size(), stderr);
  }
  return kExitOk;
}

int RunReceive(const Invocation& inv) {
  // The header comes first: with --create, a missing store is made with the
  // stream's page size (the header's bytes 17..20, docs/FORMAT.md).
  std::string head;
  size_t head_pos = 0;
  auto fill = [&](size_t n) {
    while (head.size() < n) {
      char buf[4096];
      const size_t want = std::min(sizeof buf, n - head.size());
      const size_t got = std::fread(buf, 1, want, stdin);
      head.append(buf, got);
      if (got < want) break;
    }
  };
  fill(21);
  if (std::ferror(stdin)) return Error(inv, std::string("reading stdin: ") + std::strerror(errno));
  Options o;
  o.durability = Durability::kFull;
  bool created = false;
  if (inv.Has("--create") && access(inv.args[0].c_str(), F_OK) != 0) {
    if (head.size() < 21 || head.compare(5, 8, "bruceSND") != 0) {
      return BadInput(inv, "stdin is not a bruce send stream");
    }
    uint32_t ps = 0;
    for (int i = 3; i >= 0; --i) ps = (ps << 8) | static_cast<uint8_t>(head[17 + i]);
    o.create_if_missing = true;
    o.page_size = ps;
    created = true;
  }
  auto db = Db::Open(inv.args[0], o);
  if (!db.ok()) {
    if (db.status().code() == Code::kBusy) {
      return Fail(inv, Status::Busy(inv.args[0] +
                                    " is in use (mounted, or written by another bruce): receive "
                                    "into it once it is unmounted"));
    }
    return Fail(inv, db.status());
  }
  ReceiveOptions ro;
  ro.force = inv.Has("--force");
  std::string snap;
  StreamStats st;
  Progress bar("receive", "bytes");
  struct stat in{};
  const uint64_t total = fstat(STDIN_FILENO, &in) == 0 && S_ISREG(in.st_mode) ? in.st_size : 0;
  uint64_t read_bytes = 0;
  const auto t0 = std::chrono::steady_clock::now();
  Status r = Receive(
      db->get(),
      [&](char* buf, size_t n, size_t* got) {
        *got = 0;
        if (head_pos < head.size()) {
          *got = std::min(n, head.size() - head_pos);
          std::memcpy(buf, head.data() + head_pos, *got);
          head_pos += *got;
        }
        if (*got < n) *got += std::fread(buf + *got, 1, n - *got, stdin);
        if (std::ferror(stdin)) return Status::IOError("reading stdin", errno);
        read_bytes += *got;
        bar.Update(read_bytes, total, read_bytes);
        return Status::OK();
      },
      ro, &snap, &st);
  bar.Finish();
  if (!r.ok()) {
    if (created) {
      // Nothing of a refused stream stays: not even the store made for it.
      db->reset();
      (void)unlink(inv.args[0].c_str());
      (void)unlink((inv.args[0] + "-lock").c_str());
    }
    return Fail(inv, r);
  }
  if (inv.Has("--json")) {
    Out(StatsJson(st, std::chrono::steady_clock::now() - t0, snap) + "\n");
  } else {
    Out("received " + Escape(snap) + ": " + std::to_string(st.bytes) + " bytes, " +
        std::to_string(st.nodes) + " nodes, " + std::to_string(st.data_blocks) + " blocks, " +
        std::to_string(st.reused) + " taken from the base\n");
  }
  return FinishOutput(inv);
}

}  // namespace bruce::cli
