// The commands on byte ranges of one value: cat, write, truncate.
//
// Values may be far larger than memory (up to kMaxValueBytes), so these
// stream through Tree::ReadAt / WriteAt one piece (kPieceBytes) at a time.

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>

#include "bruce/options.h"
#include "commands.h"
#include "escape.h"
#include "remote.h"
#include "session.h"

namespace bruce::cli {

namespace {

// Parses the value of a byte-count option, default when absent.
int ParseOption(const Invocation& inv, const std::string& option, uint64_t dflt, uint64_t* out) {
  *out = dflt;
  const std::string* v = inv.Value(option);
  return v ? ParseCount(inv, option, *v, out) : kExitOk;
}

}  // namespace

int RunCat(const Invocation& inv) {
  std::string key;
  uint64_t offset = 0, length = UINT64_MAX;
  if (int rc = DecodeArg(inv, "KEY", inv.args[1], &key)) return rc;
  if (int rc = ParseOption(inv, "--offset", 0, &offset)) return rc;
  if (int rc = ParseOption(inv, "--length", UINT64_MAX, &length)) return rc;
  ReadSession s;
  if (int rc = OpenRead(inv, /*open_tree=*/true, &s)) return rc;
  return StreamValue(inv, s.tree, key, offset, length);
}

// All of stdin goes into one write transaction, committed once at the end:
// a failed read or write leaves the store as it was.
int RunWrite(const Invocation& inv) {
  std::string key;
  uint64_t offset = 0;
  if (int rc = DecodeArg(inv, "KEY", inv.args[1], &key)) return rc;
  if (int rc = ParseOption(inv, "--offset", 0, &offset)) return rc;
  if (offset > kMaxValueBytes) {
    return UsageError(inv, "--offset is past the largest value size, " +
                               std::to_string(kMaxValueBytes) + " bytes");
  }
  WriteSession s;
  if (int rc = OpenWrite(inv, /*create_tree=*/true, &s)) return rc;
  if (s.remote) {
    std::string data;
    if (int rc = ReadRestOfStdin(inv, &data)) return rc;
    ctl::Message req;
    req.Set("op", "write");
    req.Set("key", key);
    req.SetU64("offset", offset);
    req.Set("data", std::move(data));
    Status st;
    if (int rc = AskWrite(inv, s.daemon, std::move(req), &st)) return rc;
    return st.ok() ? kExitOk : FailOp(inv, st);
  }
  std::string piece;
  bool eof = false;
  bool first = true;
  while (!eof) {
    if (!ReadStdinPiece(kPieceBytes, &piece, &eof)) {
      return Error(inv, std::string("reading stdin: ") + std::strerror(errno));
    }
    // Empty input still writes once, so that KEY exists afterwards.
    if (piece.empty() && !first) break;
    if (Status st = s.tree->WriteAt(key, offset, piece); !st.ok()) return FailOp(inv, st);
    offset += piece.size();
    first = false;
  }
  if (Status st = s.txn->Commit(); !st.ok()) return Fail(inv, st);
  return kExitOk;
}

int RunTruncate(const Invocation& inv) {
  std::string key;
  uint64_t size = 0;
  if (int rc = DecodeArg(inv, "KEY", inv.args[1], &key)) return rc;
  if (int rc = ParseCount(inv, "SIZE", inv.args[2], &size)) return rc;
  if (size > kMaxValueBytes) {
    return UsageError(inv, "SIZE is past the largest value size, " +
                               std::to_string(kMaxValueBytes) + " bytes");
  }
  WriteSession s;
  if (int rc = OpenWrite(inv, /*create_tree=*/false, &s)) return rc;
  Status st;
  if (s.remote) {
    ctl::Message req;
    req.Set("op", "truncate");
    req.Set("key", key);
    req.SetU64("size", size);
    if (int rc = AskWrite(inv, s.daemon, std::move(req), &st)) return rc;
  } else {
    st = s.tree->Truncate(key, size);
  }
  if (!st.ok()) {
    if (st.IsNotFound()) return NotFound(inv, "key not found: " + Escape(key));
    return FailOp(inv, st);
  }
  if (s.remote) return kExitOk;
  if (Status c = s.txn->Commit(); !c.ok()) return Fail(inv, c);
  return kExitOk;
}

}  // namespace bruce::cli
