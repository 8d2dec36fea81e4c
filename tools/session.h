// tools/session.h — what every bruce subcommand shares: opening the store and
// the tree it names, decoding arguments, writing output, and reporting errors
// as one `bruce: CMD: ...` line on stderr with the right exit code.
//
// Thread safety: single-threaded, like the CLI.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "bruce/db.h"
#include "bruce/status.h"
#include "command.h"

namespace bruce::cli {

// Error reporting. Each prints one line on stderr and returns the exit code.
int Fail(const Invocation& inv, const Status& s);             // kExitError
int NotFound(const Invocation& inv, const std::string& msg);  // kExitNotFound
int Error(const Invocation& inv, const std::string& msg);     // kExitError
// Prints the error line and the command's usage line; returns kExitUsage.
int UsageError(const Invocation& inv, const std::string& msg);
// Malformed input data (not the command line): the error line only, kExitUsage.
int BadInput(const Invocation& inv, const std::string& msg);
// For the result of an operation on data the user named (a key too long, a
// size past the limit, a bad snapshot name): kInvalidArgument is reported
// like BadInput (kExitUsage), kNotFound as NotFound, anything else as Fail.
// Not for Db::Open, whose kInvalidArgument means "not a bruce store".
int FailOp(const Invocation& inv, const Status& s);

// A store opened for one command, with its transaction and selected tree.
// Members are destroyed txn first, then the store.
struct ReadSession {
  std::unique_ptr<Db> db;
  std::unique_ptr<ReadTxn> txn;
  Tree* tree = nullptr;
};
// A write session of a store that brucefs holds has no db: the command
// goes to the daemon (remote.h) instead.
struct WriteSession {
  std::unique_ptr<Db> db;
  std::unique_ptr<WriteTxn> txn;
  Tree* tree = nullptr;
  bool remote = false;
  Endpoint daemon;
};

// Opens args[0] read-only. With open_tree, also begins a read transaction --
// on the --snapshot snapshot when that option is given, else on the live
// store -- and selects the --tree tree (default main); a missing tree or
// snapshot is kExitNotFound.
// Returns kExitOk or the exit code after reporting the error.
int OpenRead(const Invocation& inv, bool open_tree, ReadSession* s);
// Opens args[0] for writing (Durability::kFull) and begins a write
// transaction on the --tree tree, creating it when create_tree is set (with
// --dup, as a tree with duplicate keys), else a missing tree is
// kExitNotFound. A store that a brucefs daemon holds sets s->remote and
// s->daemon instead (and opens nothing).
int OpenWrite(const Invocation& inv, bool create_tree, WriteSession* s);
// Opens args[0] for writing (Durability::kFull) without a transaction, or
// finds the brucefs daemon holding it (*remote set, *daemon its endpoint).
int OpenStore(const Invocation& inv, std::unique_ptr<Db>* db, bool* remote, Endpoint* daemon);

// Reports a failure to open or create the --tree tree.
int TreeError(const Invocation& inv, const Status& st);

// The name the --tree option selects, or "main".
std::string TreeName(const Invocation& inv);

// Decodes a key or value argument: literal, or with --escaped unescaped.
// Reports a bad escape as a usage error.
int DecodeArg(const Invocation& inv, const std::string& what, const std::string& text,
              std::string* out);
// The --prefix option decoded as DecodeArg does; empty when absent.
int DecodePrefix(const Invocation& inv, std::string* prefix);
// Parses a decimal uint64 argument; a usage error otherwise.
int ParseCount(const Invocation& inv, const std::string& what, const std::string& text,
               uint64_t* out);

// Values are streamed in pieces of this size (Tree::ReadAt / WriteAt), so a
// value far larger than memory never sits in it whole.
inline constexpr size_t kPieceBytes = size_t{1} << 20;

// Writes `length` bytes (UINT64_MAX: to the end) of KEY's value from offset
// to stdout, one piece at a time. A missing key is kExitNotFound; a range
// past the end prints nothing.
int StreamValue(const Invocation& inv, Tree* tree, const std::string& key, uint64_t offset,
                uint64_t length);

// Reads up to max bytes of stdin into *out (less only at the end of input;
// *eof tells whether it was reached). False on a read error (errno set).
bool ReadStdinPiece(size_t max, std::string* out, bool* eof);

// Writes bytes to stdout as they are (binary safe).
void Out(std::string_view bytes);
// Flushes stdout; a write error is reported and returns kExitError.
int FinishOutput(const Invocation& inv);

// "2024-05-01T12:34:56Z" (seconds, UTC) from nanoseconds since the epoch.
std::string Iso8601(uint64_t time_ns);

// A JSON string literal for arbitrary bytes: printable ASCII as is, `"` and
// `\` escaped, every other byte as \u00XX.
std::string JsonString(std::string_view bytes);

}  // namespace bruce::cli
