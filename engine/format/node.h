// format/node.h — a B+tree node, decoded, and its on-disk page layout.
//
// In memory a node is an arena of key and value bytes plus a vector of slots
// that point into it, in key order. A leaf's slot holds a key and a value; a
// branch's slot holds a separator key, a BlockPtr to a child and, in a tree
// with Bloom filters, the filter of the child's keys when the child is a
// leaf (in the slot's value bytes: 8 bytes of tag, the child hash's low
// word, then the filter; see filter()). A branch's first separator is always
// empty (it stands for "everything below the next separator").
//
// A node in the cache is frozen (Freeze): shared and immutable, in one
// allocation with its reference count, its entries packed behind it (key
// heads, slots, keys, values, children), and searched by the heads: a warm
// lookup touches few cache lines and pages. (A written node that was a
// clone changed a little is adopted instead: it moves next to its count
// with its heads, and its other containers stay on the heap as they are.)
// A write transaction changes a Clone, whose containers live on the heap.
//
// Page layout of a node (all integers little-endian, see docs/FORMAT.md):
//
//   0        1        2        4           8              12
//   +--------+--------+--------+-----------+--------------+
//   | kind   | level  | flags  | nentries  | logical_len  |   header
//   +--------+--------+--------+-----------+--------------+
//   | varint plen, prefix: the bytes every key starts with (a branch's
//   |   first key aside), stored once; each key below is its remainder
//   | entries ...                 (logical section ends at logical_len)
//   | leaf entry:   varint klen, key, u8 vtype, value:
//   |                 vtype 0 (inline):  varint vlen, bytes
//   |                 vtype 1-3 (a pointer value): varint aux, hash[16],
//   |                                              varint count
//   | branch entry: varint klen, key, hash[16], varint count
//   +------------------------------------------------------
//   | locators: for every child (branch) or pointer value (leaf), in order:
//   |   varint page, varint stored_len, u8 comp, varint birth
//   |   (a branch's child only: when comp has bit 7 (kLocatorFilter) set,
//   |   the child's Bloom filter follows: varint length, bytes; see
//   |   format/bloom.h. The compression is comp's low 7 bits.)
//   +------------------------------------------------------
//   | u64 checksum: XXH3-64 of every byte before it
//   +------------------------------------------------------
//
// The Merkle hash of the node is XXH3-128 of bytes [0, logical_len): keys,
// values, and the children's hashes and counts, but nothing about where
// anything is stored. The checksum protects the locators as well. A filter
// is derived from the child's keys and sits with its location: outside the
// hash, so a tree's hash does not depend on whether it keeps filters.
//
// Thread safety: a Node in the cache is immutable and shared; a dirty Node
// belongs to one write transaction.
#pragma once

#include <cstdint>
#include <memory>
#include <memory_resource>
#include <string>
#include <string_view>
#include <vector>

#include "bruce/status.h"
#include "format/hash.h"

namespace bruce::format {

// Frozen on-disk values.
enum class PageKind : uint8_t { kLeaf = 1, kBranch = 2, kSpaceLog = 3 };
enum class ValueType : uint8_t {
  kInline = 0,   // the value's bytes, in the leaf
  kTree = 1,     // catalog: a named tree (aux = tree flags, ptr = its root)
  kExtents = 2,  // a large value (aux = size | kDirect, ptr = chunk tree root
                 // or, with kDirect, the one data block)
  kData = 3,     // in a chunk tree: a data block (ptr.count = its length)
  kOverflow = 4,  // in a dup tree: the leaf's overflow chain, more values of
                  // its last key (ptr = a counted tree of them, count = how
                  // many); always the leaf's last entry
};
constexpr uint64_t kDirect = uint64_t{1} << 63;
// Whether a pointer value of type vt (and aux) points to a data block
// rather than to a node: a chunk, or a large value kept in one block.
inline bool PointsToData(ValueType vt, uint64_t aux) {
  return vt == ValueType::kData || (vt == ValueType::kExtents && (aux & kDirect) != 0);
}
enum class Compression : uint8_t { kNone = 0, kZstd = 1 };

// A pointer to a node: where it is, how it was stored, and what it holds.
struct BlockPtr {
  uint64_t page = 0;        // first page of the node's run; 0 = none
  uint32_t stored_len = 0;  // bytes stored (the run is rounded up to pages)
  Compression comp = Compression::kNone;
  uint64_t birth = 0;       // transaction that wrote it
  Hash128 hash;             // Merkle hash of the node
  uint64_t count = 0;       // keys in the subtree
  bool null() const { return page == 0; }
};

// The value of a pointer-typed entry (every ValueType but kInline). In
// memory it is encoded in full (kPtrValueSize bytes); on disk its aux, hash
// and count go in the logical section and its location in the locators.
struct PtrValue {
  uint64_t aux = 0;
  BlockPtr ptr;
};
constexpr size_t kPtrValueSize = 8 + 8 + 4 + 1 + 8 + 16 + 8;
std::string EncodePtrValue(const PtrValue& v);
bool DecodePtrValue(std::string_view bytes, PtrValue* v);

// In a locator's comp byte: a Bloom filter follows the locator.
constexpr uint8_t kLocatorFilter = 0x80;

constexpr size_t kNodeHeaderSize = 12;
constexpr size_t kNodeTrailerSize = 8;
// Upper bound of one locator's encoded size.
constexpr size_t kMaxLocatorSize = 10 + 5 + 1 + 10;
// Upper bound of a branch entry's bytes beyond its key.
constexpr size_t kBranchEntryOverhead = 2 + kHashBytes + 10 + kMaxLocatorSize;

class Node {
 public:
  struct Slot {
    uint32_t koff;
    uint32_t klen;
    uint32_t voff;  // leaf: value bytes; branch: tag and filter (or empty)
    uint32_t vlen;
    ValueType vtype;
  };

  explicit Node(uint8_t level) : level_(level) {}
  // What only Node can make: the key to the frozen node's constructor.
  class FrozenKey {
    FrozenKey() = default;
    friend class Node;
  };
  struct Block;
  // A frozen node whose block is made at *tail with `bytes` to hand out.
  Node(FrozenKey, uint8_t level, char* const* tail, size_t bytes);
  // A frozen node that takes src's entries (slots, keys and values,
  // children) as they are and makes only its search aids in the block.
  Node(FrozenKey, Node&& src, char* const* tail, size_t bytes);
  ~Node();
  Node(Node&&) = delete;
  // A clean copy to change in a write transaction (no dirty children).
  std::unique_ptr<Node> Clone() const;

  uint8_t level() const { return level_; }
  bool leaf() const { return level_ == 0; }
  size_t size() const { return slots_.size(); }
  std::string_view key(size_t i) const {
    return std::string_view(arena_.data() + slots_[i].koff, slots_[i].klen);
  }
  std::string_view value(size_t i) const {
    return std::string_view(arena_.data() + slots_[i].voff, slots_[i].vlen);
  }
  ValueType vtype(size_t i) const { return slots_[i].vtype; }
  const BlockPtr& child(size_t i) const { return kids_[i]; }
  BlockPtr& child(size_t i) { return kids_[i]; }
  // A branch's Bloom filter of child i's keys, or empty: when it has none,
  // when the child is dirty, or when the filter was set for another child
  // pointer than the one there now (its tag is not the child hash's low
  // word). So a filter never outlives the child it was built from.
  std::string_view filter(size_t i) const;
  // Sets child i's filter (empty: none), tagged with child(i)'s hash: set
  // the child pointer first. Kept out of every size: the tree reserves
  // room for filters itself (they are set at commit, after splits).
  // `filter` must not point into this node's memory (Decode aside).
  void SetFilter(size_t i, std::string_view filter);

  // Keys in the subtree: entries of a leaf (with the values of its
  // overflow chain, in a dup tree), the sum of a branch's children.
  uint64_t Count() const;
  // Whether the last entry is a dup tree's overflow chain.
  bool HasOverflow() const {
    return leaf() && !slots_.empty() && slots_.back().vtype == ValueType::kOverflow;
  }
  // An upper bound of the encoded size, kept up to date by every change
  // (it assumes the largest varint for every child count).
  size_t EncodedSizeBound() const { return bytes_; }
  // The encoded size with exact counts: what split and merge decide on. Only
  // the locators (written at commit) are still taken at their largest.
  size_t TightSize() const;
  size_t TightEntrySize(size_t i) const;
  // Bytes every key shares at its start (a branch's first key aside):
  // stored once in the encoding.
  size_t SharedPrefix() const;

  // The shared, immutable form of a node that will not change again (one
  // read from the store, or just written and going to the cache): its
  // entries in one block of memory (heads, slots, keys, then values,
  // children), with the search aids (see heads_), and nothing a dirty node
  // needs.
  // A node that a write transaction copied and changed a little (see
  // Adoptable) keeps its entries instead: their containers move, as they
  // are, into a node made next to its count, with its search aids after it;
  // no entry is copied.
  static std::shared_ptr<const Node> Freeze(std::unique_ptr<Node> node);

  // First index whose key is >= key (leaf), and whether it is equal.
  size_t LowerBound(std::string_view key, bool* found) const;
  // Index of the child whose range holds key (branch).
  size_t ChildIndex(std::string_view key) const;

  // Changes (dirty nodes only).
  void InsertLeaf(size_t i, std::string_view key, std::string_view value, ValueType vt);
  void SetValue(size_t i, std::string_view value, ValueType vt);
  void InsertBranch(size_t i, std::string_view key, const BlockPtr& child);
  void SetKey(size_t i, std::string_view key);
  void Erase(size_t i);
  // Moves entries [from, size()) to the end of `dst` (same level).
  void MoveTail(size_t from, Node* dst);
  // Moves all entries of `src` (same level) to the end of this node.
  void AppendAll(Node* src);
  // Makes room for as many entries and bytes as `like` holds: a node a split
  // makes grows to about its sibling's size, and growing its containers a
  // doubling at a time costs a load more than its inserts.
  void ReserveLike(const Node& like);

  // Dirty children of a branch in a write transaction, parallel to the
  // BlockPtrs; null for a clean child. Empty for clean nodes.
  std::vector<std::unique_ptr<Node>>& dirty_kids() { return dirty_; }
  Node* dirty_kid(size_t i) const { return dirty_.empty() ? nullptr : dirty_[i].get(); }
  bool HasDirtyKids() const;
  // A dup-tree leaf's overflow chain, when this transaction changed it: the
  // chain's dirty root (its kOverflow entry then has a null location).
  // MoveTail and AppendAll carry it with that entry.
  std::unique_ptr<Node>& overflow_dirty() { return overflow_dirty_; }
  const Node* overflow_dirty() const { return overflow_dirty_.get(); }

  // Serializes into `out` (cleared first); returns the Merkle hash.
  Hash128 Encode(std::string* out);
  // The first logical_len bytes of the encoding (what the hash covers):
  // keys, values, children's hashes and counts; no locations.
  std::string LogicalBytes() const;
  // Parses an encoded node, checking its checksum and every bound. `page`
  // names it in errors.
  static Result<std::unique_ptr<Node>> Decode(std::string buf, uint64_t page);

  // The Merkle hash, set by Decode and by Encode (clean nodes only).
  const Hash128& hash() const { return hash_; }
  // Stored bytes per encoded byte when last written or read (1 when stored
  // raw): lets a compressed tree grow nodes until they fill a page
  // compressed.
  float ratio() const { return ratio_; }
  // measured: the encoded size the ratio was measured at (0: not measured).
  void set_ratio(float r, size_t measured) {
    ratio_ = r;
    measured_ = measured;
  }
  size_t measured() const { return measured_; }

  // Asks the CPU to bring the node's entries (slots, keys, values) into its
  // cache: for a scan that is about to read them all.
  void PrefetchMemory() const;

  // Bytes of memory it holds (for the cache's budget).
  size_t MemoryBytes() const;

 private:
  size_t EntryBound(size_t i) const;
  bool Adoptable() const;
  // A frozen node's heads, made from the n keys of `from` (this node's, or
  // the ones it is copied from) past the shared prefix of p bytes.
  void SetHeads(const Node& from, size_t n, size_t p);
  uint32_t AppendArena(std::string_view bytes);
  void MaybeCompactArena();
  // With the aids of a frozen node: narrows the search for `key` among the
  // entries [first, size()) to [*lo, *hi): every key before *lo is less
  // than `key`, every key from *hi on greater. True when the range is not
  // empty and its keys are known to equal `key` (the heads held them whole).
  bool Narrow(std::string_view key, size_t first, size_t* lo, size_t* hi) const;

  // A frozen node's memory (null otherwise), right after the node in the
  // same allocation: it goes with the node.
  Block* block_ = nullptr;
  // What a search reads comes first, near the node's start (a cached node
  // shares its allocation with its reference count, read just before).
  // The containers allocate from the block in a frozen node (an adopted
  // one: only heads_ and prefix_), from the heap otherwise.
  uint8_t level_;
  std::pmr::vector<Slot> slots_;
  // A frozen node's search aids (empty otherwise): the bytes every key (a
  // branch's first aside) starts with, and for each entry its head: the next
  // 7 bytes of its key and their count (see HeadOf in node.cc). Heads in
  // order say the keys are in that order, so a search compares heads, dense
  // in one array, and reads keys only among equal heads of long keys.
  std::pmr::vector<uint64_t> heads_;
  std::pmr::string arena_;
  std::pmr::string prefix_;
  std::pmr::vector<BlockPtr> kids_;
  std::vector<std::unique_ptr<Node>> dirty_;
  std::unique_ptr<Node> overflow_dirty_;
  size_t bytes_ = kNodeHeaderSize + kNodeTrailerSize + 1;  // + an empty prefix's length
  size_t garbage_ = 0;
  Hash128 hash_;
  float ratio_ = 1.0f;
  size_t measured_ = 0;
  bool cloned_ = false;  // made by Clone (see Adoptable)
  bool adopted_ = false;  // frozen with its entries' containers on the heap
};

// Pages a run of `stored_len` bytes occupies.
inline uint64_t PagesFor(uint64_t stored_len, uint32_t page_size) {
  return (stored_len + page_size - 1) / page_size;
}

}  // namespace bruce::format
