// tree/btree.h — the counted copy-on-write B+tree.
//
// A tree is a root BlockPtr plus, inside a write transaction, the dirty
// nodes the transaction has changed. The first change to a committed node
// copies it (its pages are handed back through WriteContext::FreeRun) and
// later changes go to the copy in place; Flush writes every dirty node
// bottom-up at commit and returns the new root pointer. Each branch entry
// carries its child's key count, so Rank and Select are O(log n).
//
// Invariants: keys strictly ascend; a branch's first separator is empty and
// separator i is <= every key of child i and > every key of child i-1; a
// BlockPtr's count is the number of keys below it; no subtree but the root
// leaf is empty.
//
// Thread safety: read functions may run on any thread over committed nodes;
// write functions belong to the one write transaction.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "bruce/status.h"
#include "format/node.h"
#include "store/node_cache.h"

namespace bruce {

class NodeSource {
 public:
  virtual ~NodeSource() = default;
  // Reads, verifies (checksum, and hash and key count against ptr) and
  // caches a node.
  virtual Result<NodeRef> Load(const format::BlockPtr& ptr) = 0;
  // Reads a data block (a chunk of a large value), verifying its hash and
  // length (ptr.count).
  virtual Status ReadData(const format::BlockPtr& ptr, std::string* out) = 0;
  // A hint that the node will be loaded soon (read-ahead): a source that
  // reads from a file starts reading it unless it is cached.
  virtual void Prefetch(const format::BlockPtr& ptr) { (void)ptr; }
};

class WriteContext : public NodeSource {
 public:
  // The node's pages are no longer used by this transaction.
  virtual void FreeRun(const format::BlockPtr& ptr) = 0;
  // One reference to a data block is gone: a block that clones share
  // (ShareData) loses one of its extra references, any other is freed as
  // FreeRun frees it.
  virtual Status FreeData(const format::BlockPtr& ptr) {
    FreeRun(ptr);
    return Status::OK();
  }
  // One more reference to a data block (a clone of it).
  virtual Status ShareData(const format::BlockPtr& ptr) {
    (void)ptr;
    return Status::NotSupported("this writer cannot share data blocks");
  }
  // Nodes split above this many encoded bytes (the page size).
  virtual size_t node_limit() const = 0;
  // How well the node compresses at zstd_level (stored bytes per encoded
  // byte); records it in the node.
  virtual float MeasureRatio(format::Node* node, int zstd_level) = 0;
  // Writes a clean node at commit, compressed with zstd at zstd_level when
  // that saves pages (0: never), and returns its pointer (birth, hash,
  // count and location filled in).
  virtual Result<format::BlockPtr> WriteNode(std::unique_ptr<format::Node> node,
                                             int zstd_level) = 0;
  // Writes data blocks now, in one run of pages where it can, and returns
  // their pointers.
  virtual Status WriteData(const std::vector<std::string>& blocks,
                           std::vector<format::BlockPtr>* out) = 0;
};

struct TreeRoot {
  format::BlockPtr ptr;                 // the committed root, when not dirty
  std::unique_ptr<format::Node> dirty;  // the changed root, if any
  // The committed root node, kept after its first use so that point reads
  // skip a cache lookup (a transaction is used by one thread at a time).
  mutable NodeRef pinned;
  // Nodes of a tree with compression on are written with zstd, and grow
  // past a page for as long as they fit one compressed.
  int zstd_level = 0;
  // Bits per key of the Bloom filters its level-1 branches keep of their
  // leaves' keys (0: none). Flush builds a filter for every leaf it writes;
  // Find and Delete skip a leaf whose filter rules the key out.
  uint32_t bloom_bits = 0;
  // A dirty root owned elsewhere, read through this root (a dup leaf's
  // changed overflow chain, seen by a cursor).
  const format::Node* view = nullptr;
  uint64_t Count() const {
    return dirty ? dirty->Count() : view ? view->Count() : ptr.count;
  }
};

// A node to read: a dirty one of this transaction, or a pinned cached one.
struct NodeView {
  const format::Node* node = nullptr;
  NodeRef pin;
};

namespace btree {

Result<NodeView> Root(NodeSource* src, const TreeRoot& root);
Result<NodeView> Child(NodeSource* src, const format::Node& parent, size_t i);

// The leaf entry of key: *leaf (with its pin, null for a node the write
// transaction owns) and its index there. kNotFound when absent (without
// reading the leaf when its Bloom filter rules the key out).
Status Find(NodeSource* src, const TreeRoot& root, std::string_view key, NodeView* leaf,
            size_t* index);

// False when key is surely absent: its leaf's Bloom filter rules it out,
// or the leaf (one this transaction changed, or the root) does not hold it.
// Reads no leaf but the root. True otherwise (always, without filters).
Result<bool> MayContain(NodeSource* src, const TreeRoot& root, std::string_view key);

// value and vtype may be null.
Status Get(NodeSource* src, const TreeRoot& root, std::string_view key, std::string* value,
           format::ValueType* vtype);
// What an entry held before Put replaced it or Delete removed it.
struct OldValue {
  bool existed = false;
  format::ValueType vtype = format::ValueType::kInline;
  std::string value;
};

// Inserts or replaces; *added says which. old (may be null) gets what a
// replaced entry held. A node split by an insert at its end keeps `fill`
// of its bytes (0: all but the last entry, as for 1), so that ascending
// loads leave full nodes, or room for later inserts.
Status Put(WriteContext* ctx, TreeRoot* root, std::string_view key, std::string_view value,
           format::ValueType vtype, bool* added, OldValue* old = nullptr, double fill = 0);
// kNotFound when absent. old (may be null) gets what the entry held.
Status Delete(WriteContext* ctx, TreeRoot* root, std::string_view key, OldValue* old = nullptr);
Result<uint64_t> Rank(NodeSource* src, const TreeRoot& root, std::string_view key);
// The i-th entry; kNotFound past the end.
Status Select(NodeSource* src, const TreeRoot& root, uint64_t i, std::string* key,
              std::string* value, format::ValueType* vtype);
Result<uint32_t> Depth(NodeSource* src, const TreeRoot& root);
// Frees every page of a committed subtree, and of every value it points to
// (trees, large values, data blocks).
Status FreeSubtree(WriteContext* ctx, const format::BlockPtr& ptr);
// Frees what one pointer value owns.
Status FreePtrValue(WriteContext* ctx, format::ValueType vtype, std::string_view value);
// Frees every page a tree of this transaction owns, dirty or committed, and
// empties it.
Status FreeTree(WriteContext* ctx, TreeRoot* root);
// Compaction: copies (so that commit writes them low in the file) every
// node of the tree that sits at page `limit` or above, and the path to it.
// In a chunk tree (`chunks`), data blocks at or above limit go to move_data,
// which gets the dirty leaf and the entry.
// Nothing born at or before `held` moves: a snapshot keeps it in place.
struct RelocateLimits {
  uint64_t limit;
  uint64_t held;
};
Status Relocate(WriteContext* ctx, TreeRoot* root, RelocateLimits lim, bool chunks,
                const std::function<Status(format::Node*, size_t)>& move_data);
// Whether the committed subtree at ptr has anything Relocate would move.
Result<bool> NeedsRelocation(WriteContext* ctx, const format::BlockPtr& ptr, RelocateLimits lim,
                             bool chunks);
// The Bloom filter of a leaf's keys at `bits` a key (what Flush keeps in
// the leaf's parent in a tree with filters).
std::string LeafFilter(const format::Node& leaf, uint32_t bits);
// Writes every dirty node; afterwards root->dirty is null and root->ptr is
// the new root (null for an empty tree).
Status Flush(WriteContext* ctx, TreeRoot* root);

}  // namespace btree
}  // namespace bruce
