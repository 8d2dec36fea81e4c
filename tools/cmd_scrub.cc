// bruce scrub: read and verify every reachable page, report the damaged.

#include <chrono>
#include <string>

#include "commands.h"
#include "escape.h"
#include "progress.h"
#include "session.h"

namespace bruce::cli {

int RunScrub(const Invocation& inv) {
  ReadSession s;
  if (int rc = OpenRead(inv, /*open_tree=*/false, &s)) return rc;
  ScrubReport rep;
  Progress bar("scrub", "blocks");
  const auto t0 = std::chrono::steady_clock::now();
  Status st = Scrub(s.db.get(), &rep, [&](uint64_t done, uint64_t known) {
    bar.Update(done, known, rep.bytes);
  });
  bar.Finish();
  if (!st.ok()) return Fail(inv, st);
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::string out;
  if (inv.Has("--json")) {
    out = "{\"ok\": " + std::string(rep.damaged.empty() ? "true" : "false") +
          ", \"nodes\": " + std::to_string(rep.nodes) +
          ", \"data_blocks\": " + std::to_string(rep.data_blocks) +
          ", \"bytes\": " + std::to_string(rep.bytes) + ", \"seconds\": " + std::to_string(secs) +
          ", \"damaged\": [";
    bool first = true;
    for (const ScrubDamage& d : rep.damaged) {
      out += first ? "\n" : ",\n";
      first = false;
      out += "  {\"page\": " + std::to_string(d.page) + ", \"data\": " +
             (d.data ? "true" : "false") + ", \"error\": " + JsonString(d.error) + ", \"users\": [";
      for (size_t i = 0; i < d.users.size(); ++i) out += (i ? ", " : "") + JsonString(d.users[i]);
      out += "], \"key_lo\": " + JsonString(d.key_lo) + ", \"key_hi\": " + JsonString(d.key_hi) + "}";
    }
    out += first ? "]}\n" : "\n]}\n";
  } else {
    for (const ScrubDamage& d : rep.damaged) {
      out += "damaged page " + std::to_string(d.page) + (d.data ? " (data block): " : " (node): ") +
             d.error + "; used by ";
      for (size_t i = 0; i < d.users.size(); ++i) out += (i ? ", " : "") + d.users[i];
      out += "; keys [" + Escape(d.key_lo) + ", " + (d.key_hi.empty() ? "end" : Escape(d.key_hi)) +
             ")\n";
    }
    char line[200];
    std::snprintf(line, sizeof line,
                  "scrubbed %llu nodes and %llu data blocks (%.1f MB) in %.2f s: %zu damaged\n",
                  static_cast<unsigned long long>(rep.nodes),
                  static_cast<unsigned long long>(rep.data_blocks),
                  static_cast<double>(rep.bytes) / 1e6, secs, rep.damaged.size());
    out += line;
  }
  Out(out);
  if (int rc = FinishOutput(inv)) return rc;
  return rep.damaged.empty() ? kExitOk : kExitError;
}

}  // namespace bruce::cli
