#include "session.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "escape.h"
#include "remote.h"

namespace bruce::cli {

namespace {

void ErrLine(const Invocation& inv, const std::string& msg) {
  std::string line = "bruce: ";
  line += inv.spec->name;
  line += ": ";
  line += msg;
  line += '\n';
  std::fflush(stdout);
  std::fwrite(line.data(), 1, line.size(), stderr);
}

Options StoreOptions(bool write) {
  Options o;
  o.read_only = !write;
  o.durability = Durability::kFull;
  return o;
}

}  // namespace

int Fail(const Invocation& inv, const Status& s) {
  ErrLine(inv, s.ToString());
  return kExitError;
}

int NotFound(const Invocation& inv, const std::string& msg) {
  ErrLine(inv, msg);
  return kExitNotFound;
}

int Error(const Invocation& inv, const std::string& msg) {
  ErrLine(inv, msg);
  return kExitError;
}

int UsageError(const Invocation& inv, const std::string& msg) {
  ErrLine(inv, msg);
  std::string line = "usage: " + UsageLine(*inv.spec) + "\n";
  std::fwrite(line.data(), 1, line.size(), stderr);
  return kExitUsage;
}

int BadInput(const Invocation& inv, const std::string& msg) {
  ErrLine(inv, msg);
  return kExitUsage;
}

int FailOp(const Invocation& inv, const Status& s) {
  if (s.code() == Code::kInvalidArgument) return BadInput(inv, s.ToString());
  if (s.IsNotFound()) return NotFound(inv, s.ToString());
  return Fail(inv, s);
}

std::string TreeName(const Invocation& inv) {
  const std::string* t = inv.Value("--tree");
  return t ? *t : std::string("main");
}

int OpenRead(const Invocation& inv, bool open_tree, ReadSession* s) {
  auto db = Db::Open(inv.args[0], StoreOptions(false));
  if (!db.ok()) return Fail(inv, db.status());
  s->db = std::move(db).value();
  if (!open_tree) return kExitOk;
  const std::string* snapshot = inv.Value("--snapshot");
  auto txn = snapshot ? s->db->BeginRead(*snapshot) : s->db->BeginRead();
  if (!txn.ok()) {
    if (snapshot && txn.status().IsNotFound()) {
      return NotFound(inv, "no such snapshot: " + Escape(*snapshot));
    }
    return Fail(inv, txn.status());
  }
  s->txn = std::move(txn).value();
  if (inv.Value("--tree") == nullptr) {
    s->tree = s->txn->Main();
    return kExitOk;
  }
  auto tree = s->txn->OpenTree(TreeName(inv));
  if (!tree.ok()) {
    if (tree.status().IsNotFound()) return NotFound(inv, "no such tree: " + Escape(TreeName(inv)));
    return Fail(inv, tree.status());
  }
  s->tree = tree.value();
  return kExitOk;
}

int OpenStore(const Invocation& inv, std::unique_ptr<Db>* db, bool* remote, Endpoint* daemon) {
  *remote = false;
  auto r = Db::Open(inv.args[0], StoreOptions(true));
  if (!r.ok()) {
    if (r.status().code() == Code::kBusy && FindDaemon(inv.args[0], daemon)) {
      *remote = true;
      return kExitOk;
    }
    return Fail(inv, r.status());
  }
  *db = std::move(r).value();
  return kExitOk;
}

int OpenWrite(const Invocation& inv, bool create_tree, WriteSession* s) {
  if (inv.Value("--tree") == nullptr && inv.Has("--dup")) {
    return UsageError(inv, "--dup needs --tree (main has one value a key)");
  }
  TreeOptions options;
  options.dupsort = inv.Has("--dup");
  if (const std::string* b = inv.Value("--bloom")) {
    if (inv.Value("--tree") == nullptr) {
      return UsageError(inv, "--bloom needs --tree (main is made without filters)");
    }
    uint64_t bits = 0;
    if (int rc = ParseCount(inv, "--bloom", *b, &bits)) return rc;
    if (bits > 32) return UsageError(inv, "--bloom must be 0 to 32 bits a key");
    options.bloom_bits_per_key = static_cast<uint32_t>(bits);
  }
  if (int rc = OpenStore(inv, &s->db, &s->remote, &s->daemon)) return rc;
  if (s->remote) return kExitOk;
  // Exclusive: the CLI is the only writer in its process, and a streamed
  // value would be held in memory by an optimistic transaction.
  auto txn = s->db->BeginWrite(WriteMode::kExclusive);
  if (!txn.ok()) return Fail(inv, txn.status());
  s->txn = std::move(txn).value();
  if (inv.Value("--tree") == nullptr) {
    s->tree = s->txn->Main();
    return kExitOk;
  }
  const std::string name = TreeName(inv);
  // Without --dup an existing tree is taken as it is (with duplicate keys
  // or not, with its own filters); a missing one is made with the options
  // given (plain without any).
  auto tree = options.dupsort ? s->txn->CreateTree(name, options) : s->txn->OpenTree(name);
  if (create_tree && !options.dupsort && tree.status().IsNotFound()) {
    tree = s->txn->CreateTree(name, options);
  }
  if (!tree.ok()) return TreeError(inv, tree.status());
  s->tree = tree.value();
  return kExitOk;
}

int TreeError(const Invocation& inv, const Status& st) {
  const std::string name = TreeName(inv);
  if (st.IsNotFound()) return NotFound(inv, "no such tree: " + Escape(name));
  if (st.code() == Code::kInvalidArgument) {
    return BadInput(inv, "tree " + Escape(name) + " exists without duplicate keys");
  }
  return Fail(inv, st);
}

int DecodeArg(const Invocation& inv, const std::string& what, const std::string& text,
              std::string* out) {
  if (!inv.Has("--escaped")) {
    *out = text;
    return kExitOk;
  }
  std::string why;
  if (!Unescape(text, out, &why)) return UsageError(inv, what + ": " + why);
  return kExitOk;
}

int DecodePrefix(const Invocation& inv, std::string* prefix) {
  prefix->clear();
  const std::string* p = inv.Value("--prefix");
  return p ? DecodeArg(inv, "--prefix", *p, prefix) : kExitOk;
}

int ParseCount(const Invocation& inv, const std::string& what, const std::string& text,
               uint64_t* out) {
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, *out);
  if (text.empty() || ec != std::errc() || ptr != end) {
    return UsageError(inv, what + " must be a non-negative integer, not '" + Escape(text) + "'");
  }
  return kExitOk;
}

void Out(std::string_view bytes) { std::fwrite(bytes.data(), 1, bytes.size(), stdout); }

int FinishOutput(const Invocation& inv) {
  if (std::fflush(stdout) != 0 || std::ferror(stdout)) {
    return Error(inv, std::string("writing output: ") + std::strerror(errno));
  }
  return kExitOk;
}

int StreamValue(const Invocation& inv, Tree* tree, const std::string& key, uint64_t offset,
                uint64_t length) {
  PinnedValue piece;
  // One read per piece: a short piece means the end of the value, so a
  // small value costs one lookup, as Get would, and is written straight
  // from the cached leaf (ReadPinned).
  for (;;) {
    const size_t want = static_cast<size_t>(std::min<uint64_t>(kPieceBytes, length));
    if (want == 0) break;
    if (Status st = tree->ReadPinned(key, offset, want, &piece); !st.ok()) {
      if (st.IsNotFound()) return NotFound(inv, "key not found: " + Escape(key));
      return Fail(inv, st);
    }
    Out(piece.view());
    if (std::ferror(stdout)) break;  // FinishOutput reports it
    offset += piece.size();
    length -= piece.size();
    if (piece.size() < want) break;
  }
  return FinishOutput(inv);
}

bool ReadStdinPiece(size_t max, std::string* out, bool* eof) {
  out->resize(max);
  const size_t n = std::fread(out->data(), 1, max, stdin);
  out->resize(n);
  *eof = n < max;  // fread stops short only at the end of input or on an error
  return !std::ferror(stdin);
}

// "2024-05-01T12:34:56Z" (seconds, UTC) from nanoseconds since the epoch.
std::string Iso8601(uint64_t time_ns) {
  const std::time_t secs = static_cast<std::time_t>(time_ns / 1000000000u);
  std::tm tm{};
  if (gmtime_r(&secs, &tm) == nullptr) return "?";
  char buf[32];
  if (std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) return "?";
  return buf;
}

std::string JsonString(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (char c : bytes) {
    const auto b = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (b < 0x20 || b >= 0x7f) {
      out += "\\u00";
      out.push_back(kHex[b >> 4]);
      out.push_back(kHex[b & 0xf]);
    } else {
      out.push_back(c);
    }
  }
  out.push_back('"');
  return out;
}

}  // namespace bruce::cli
