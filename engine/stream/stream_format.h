// stream/stream_format.h — the records of a send stream (docs/FORMAT.md
// "Send stream").
//
// A stream is a sequence of records:
//
//   u32 length of what follows up to the checksum (type + payload)
//   u8  type
//   payload
//   u64 checksum: XXH3-64 of type and payload, seeded with the previous
//       record's checksum (kChainSeed for the first)
//
// so a record that is changed, missing, repeated or moved breaks the chain.
// The first record is the header, the last the trailer; in between, per
// tree: TREE_BEGIN, the NODE and DATA records of its new nodes and blocks
// (children before parents), TREE_END.
//
// Thread safety: a RecordWriter or RecordReader is used by one thread.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "bruce/db.h"
#include "format/hash.h"
#include "format/coding.h"
#include "format/node.h"

namespace bruce::stream {

enum class RecordType : uint8_t {
  kHeader = 1,
  kTreeBegin = 2,
  kNode = 3,
  kData = 4,
  kTreeEnd = 5,
  kTrailer = 6,
  kStoredNode = 7,  // a NODE as stored: its zstd frame (with --compressed)
  kNodeDelta = 8,   // a leaf as its changes from a base leaf (stream/leaf_delta.h)
};

constexpr char kStreamMagic[8] = {'b', 'r', 'u', 'c', 'e', 'S', 'N', 'D'};
// Version 2 added NODE_DELTA records; a receiver reads versions 1 and 2.
constexpr uint32_t kStreamVersion = 2;
constexpr uint64_t kChainSeed = 0x6272756365534e44ull;  // "bruceSND"
// The largest record: a node (a few pages) or a data block with its refs.
constexpr uint32_t kMaxRecord = 64u << 20;

// A reference to a node or data block, in a NODE record or TREE_END:
// kNull, a record sent earlier in the stream (by its number), or one the
// receiver already has in the base snapshot (by its path from the tree's
// root: the index taken in each node).
struct Ref {
  enum Kind : uint8_t { kNull = 0, kSent = 1, kBase = 2 };
  Kind kind = kNull;
  uint64_t id = 0;
  std::vector<uint32_t> path;
};
void PutRef(std::string* out, const Ref& r);
// One step of a path: the pointer at index `step` of node n, a branch's
// child or a leaf entry's pointer value (*data: it points to a data block,
// where a path must end). False when n has no pointer there.
bool PathStep(const format::Node& n, uint32_t step, format::BlockPtr* p, bool* data);
bool GetRef(format::Reader* in, Ref* r);

// A user tree of one version: its flags (catalog aux) and root.
struct TreeInfo {
  uint64_t flags = 0;
  format::BlockPtr root;
};
using Version = std::map<std::string, TreeInfo>;
// The user trees of a read transaction (no system tree).
Result<Version> DescribeVersion(ReadTxn* txn);
// What identifies a version's content: XXH3-128 over every user tree's
// name, flags, root hash and count, in name order. Equal for two stores
// that hold the same trees node for node, whatever their snapshots.
format::Hash128 ContentHash(const Version& v);

struct Header {
  uint32_t page_size = 0;
  std::string snapshot;          // what the stream makes on the target
  uint64_t snapshot_txn = 0;     // its commit on the source
  format::Hash128 content;       // ContentHash of it
  std::string base;              // empty: a full stream
  format::Hash128 base_content;  // ContentHash of the base
};
std::string EncodeHeader(const Header& h);
bool DecodeHeader(std::string_view payload, Header* h);

// The logical bytes of a NODE or STORED_NODE record's node (a stored one's
// zstd frame decompressed and cut at its logical length), and where the
// references after it start. kCorruption for a malformed one.
Status NodeLogical(RecordType type, std::string_view payload, std::string* logical,
                   size_t* refs_at);

class RecordWriter {
 public:
  using Sink = std::function<Status(std::string_view)>;
  explicit RecordWriter(Sink sink) : sink_(std::move(sink)) {}
  Status Write(RecordType type, std::string_view payload);
  uint64_t records() const { return records_; }
  uint64_t bytes() const { return bytes_; }

 private:
  Sink sink_;
  uint64_t chain_ = kChainSeed;
  uint64_t records_ = 0;
  uint64_t bytes_ = 0;
  std::string buf_;
};

class RecordReader {
 public:
  // Reads exactly n bytes into buf; *got is less only at the end of input.
  using Source = std::function<Status(char* buf, size_t n, size_t* got)>;
  explicit RecordReader(Source source) : source_(std::move(source)) {}
  // The next record; kCorruption for a broken chain, a bad length or an
  // input that ends inside a record or before the trailer.
  Status Next(RecordType* type, std::string* payload);
  uint64_t records() const { return records_; }
  uint64_t bytes() const { return bytes_; }

 private:
  Source source_;
  uint64_t chain_ = kChainSeed;
  uint64_t records_ = 0;
  uint64_t bytes_ = 0;
};

}  // namespace bruce::stream
