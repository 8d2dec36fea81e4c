// The commands that change a store: create, put, del, load.

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "bruce/options.h"
#include "commands.h"
#include "escape.h"
#include "progress.h"
#include "remote.h"
#include "session.h"

namespace bruce::cli {

int RunCreate(const Invocation& inv) {
  Options o;
  o.create_if_missing = true;
  o.error_if_exists = true;
  o.durability = Durability::kFull;
  if (const std::string* ps = inv.Value("--page-size")) {
    uint64_t n = 0;
    if (int rc = ParseCount(inv, "--page-size", *ps, &n)) return rc;
    if (n < 4096 || n > 65536 || (n & (n - 1)) != 0) {
      return UsageError(inv, "--page-size must be a power of two from 4096 to 65536");
    }
    o.page_size = static_cast<uint32_t>(n);
  }
  auto db = Db::Open(inv.args[0], o);
  if (!db.ok()) return Fail(inv, db.status());
  return kExitOk;
}

// A value from stdin is read one piece (kPieceBytes) at a time: one that
// fits in the first piece is a single Put; a larger one is Put with its
// first piece (replacing any old value) and grown with WriteAt, all in one
// transaction, so it never sits in memory whole and may be larger than
// kMaxValueSize.
int RunPut(const Invocation& inv) {
  std::string key, value;
  if (int rc = DecodeArg(inv, "KEY", inv.args[1], &key)) return rc;
  bool eof = true;
  if (inv.args.size() > 2) {
    if (int rc = DecodeArg(inv, "VALUE", inv.args[2], &value)) return rc;
  } else if (!ReadStdinPiece(kPieceBytes, &value, &eof)) {
    return Error(inv, std::string("reading stdin: ") + std::strerror(errno));
  }
  WriteSession s;
  if (int rc = OpenWrite(inv, /*create_tree=*/true, &s)) return rc;
  if (s.remote) {
    if (!eof) {
      if (int rc = ReadRestOfStdin(inv, &value)) return rc;
    }
    ctl::Message req;
    req.Set("op", "put");
    req.Set("key", key);
    req.Set("value", std::move(value));
    Status st;
    if (int rc = AskWrite(inv, s.daemon, std::move(req), &st)) return rc;
    return st.ok() ? kExitOk : FailOp(inv, st);
  }
  if (Status st = s.tree->Put(key, value); !st.ok()) return FailOp(inv, st);
  uint64_t offset = value.size();
  while (!eof) {
    if (!ReadStdinPiece(kPieceBytes, &value, &eof)) {
      return Error(inv, std::string("reading stdin: ") + std::strerror(errno));
    }
    if (value.empty()) break;
    if (Status st = s.tree->WriteAt(key, offset, value); !st.ok()) return FailOp(inv, st);
    offset += value.size();
  }
  if (Status st = s.txn->Commit(); !st.ok()) return Fail(inv, st);
  return kExitOk;
}

// With VALUE, only that (key, value) pair: one of a dup tree key's values.
int RunDel(const Invocation& inv) {
  std::string key, value;
  if (int rc = DecodeArg(inv, "KEY", inv.args[1], &key)) return rc;
  const bool pair = inv.args.size() > 2;
  if (pair) {
    if (int rc = DecodeArg(inv, "VALUE", inv.args[2], &value)) return rc;
  }
  WriteSession s;
  if (int rc = OpenWrite(inv, /*create_tree=*/false, &s)) return rc;
  Status st;
  if (s.remote) {
    ctl::Message req;
    req.Set("op", "del");
    req.Set("key", key);
    if (pair) req.Set("value", value);
    if (int rc = AskWrite(inv, s.daemon, std::move(req), &st)) return rc;
  } else {
    st = pair ? s.tree->Delete(key, value) : s.tree->Delete(key);
  }
  if (!st.ok()) {
    if (st.IsNotFound()) {
      return NotFound(inv, (pair ? "pair not found: " + Escape(key) + " " + Escape(value)
                                 : "key not found: " + Escape(key)));
    }
    return Fail(inv, st);
  }
  if (s.remote) return kExitOk;
  if (Status c = s.txn->Commit(); !c.ok()) return Fail(inv, c);
  return kExitOk;
}

namespace {

// Reads stdin one line at a time, binary safe (a line may hold NUL bytes).
class LineReader {
 public:
  ~LineReader() { std::free(buf_); }
  // The next line without its newline; false at end of input or on error.
  bool Next(std::string_view* line) {
    const ssize_t n = getline(&buf_, &cap_, stdin);
    if (n < 0) return false;
    size_t len = static_cast<size_t>(n);
    if (len > 0 && buf_[len - 1] == '\n') --len;
    *line = std::string_view(buf_, len);
    return true;
  }
  bool failed() const { return std::ferror(stdin) != 0; }

 private:
  char* buf_ = nullptr;
  size_t cap_ = 0;
};

}  // namespace

int RunLoad(const Invocation& inv) {
  WriteSession s;
  if (int rc = OpenWrite(inv, /*create_tree=*/true, &s)) return rc;
  // kAppend: every key must follow the tree's last one (the engine checks).
  const bool append = inv.Has("--append");
  LineReader reader;
  std::string_view line;
  std::string key, value, why, records;
  uint64_t line_no = 0, bytes = 0;
  // Progress against stdin's size when it is a file.
  Progress bar("load", "bytes");
  struct stat in{};
  const uint64_t total = fstat(STDIN_FILENO, &in) == 0 && S_ISREG(in.st_mode) ? in.st_size : 0;
  while (reader.Next(&line)) {
    ++line_no;
    bytes += line.size() + 1;
    if ((line_no & 1023) == 0) bar.Update(bytes, total, bytes);
    const std::string where = "line " + std::to_string(line_no) + ": ";
    if (!ParseRecord(line, &key, &value, &why)) return BadInput(inv, where + why);
    if (key.size() > kMaxKeySize) {
      return BadInput(inv, where + "key longer than " + std::to_string(kMaxKeySize) + " bytes");
    }
    if (value.size() > kMaxValueSize) {
      return BadInput(inv, where + "value longer than " + std::to_string(kMaxValueSize) + " bytes");
    }
    if (s.remote) {
      if (records.size() + key.size() + value.size() + 8 > ctl::kMaxPayload) {
        return BadInput(inv, where + "the store is mounted, and its daemon takes at most " +
                                 std::to_string(ctl::kMaxPayload >> 20) +
                                 " MiB in one request: load fewer records at a time");
      }
      ctl::AppendRecord(&records, key, value);
      continue;
    }
    if (Status st = s.tree->Put(key, value, append ? kAppend : 0u); !st.ok()) {
      if (append && st.code() == Code::kInvalidArgument) {
        return BadInput(inv, where + "--append needs keys in ascending order, each after the "
                                     "tree's last key: " + st.ToString());
      }
      return Error(inv, where + st.ToString());
    }
  }
  bar.Finish();
  if (reader.failed()) return Error(inv, std::string("reading stdin: ") + std::strerror(errno));
  // --json: a summary of what was loaded (once committed).
  auto summary = [&]() -> int {
    if (!inv.Has("--json")) return kExitOk;
    Out("{\"records\": " + std::to_string(line_no) + ", \"bytes\": " + std::to_string(bytes) +
        "}\n");
    return FinishOutput(inv);
  };
  if (s.remote) {
    ctl::Message req;
    req.Set("op", "load");
    if (append) req.Set("append", "1");
    req.Set("records", std::move(records));
    Status st;
    if (int rc = AskWrite(inv, s.daemon, std::move(req), &st)) return rc;
    if (append && st.code() == Code::kInvalidArgument) {
      return BadInput(inv, "--append needs keys in ascending order, each after the tree's last "
                           "key: " + st.ToString());
    }
    return st.ok() ? summary() : Fail(inv, st);
  }
  if (Status st = s.txn->Commit(); !st.ok()) return Fail(inv, st);
  return summary();
}

}  // namespace bruce::cli
