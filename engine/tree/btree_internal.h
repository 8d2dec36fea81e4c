// tree/btree_internal.h — the pieces of btree.cc that dup.cc builds on:
// node size limits, splits, copy-on-write of children, and a dup leaf's
// overflow chain lent out as a tree. Not for use outside engine/tree.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "tree/btree.h"

namespace bruce::btree::internal {

// How big a tree's nodes may grow: a page, or with compression, as much as
// fits a page compressed (at most kMaxLogicalPages pages raw).
struct Fit {
  WriteContext* ctx;
  size_t page;
  int level;  // zstd level, 0: no compression
  uint32_t bloom_bits;  // of the tree's filters, 0: none
};
constexpr size_t kMaxLogicalPages = 4;

Fit FitOf(WriteContext* ctx, const TreeRoot& root);
bool TooBig(format::Node& n, const Fit& fit);
bool Underfull(const format::Node& n, const Fit& fit);
// Whether the filter of n's child i rules key out (n a branch).
bool FilterRulesOut(const format::Node& n, size_t i, std::string_view key);
// The shortest key s with a < s <= b (a < b).
std::string ShortSeparator(std::string_view a, std::string_view b);

struct Split {
  std::unique_ptr<format::Node> right;
  std::string sep;
};
// Splits n in two by bytes; with `append` (an insert at the end) the left
// node keeps `fill` of the bytes (0 or 1: all but the last entry).
Split SplitNode(format::Node* n, bool append, double fill = 0);

// Makes child i of the dirty branch n writable, copying it on first use.
Result<format::Node*> MutableChild(WriteContext* ctx, format::Node* n, size_t i);
Result<format::Node*> MutableRoot(WriteContext* ctx, TreeRoot* root);
// Frees a dirty subtree: its committed parts, and every value below it.
Status FreeDirty(WriteContext* ctx, std::unique_ptr<format::Node> d);
// Frees the whole subtree under child i of n and erases the entry.
Status DropChild(WriteContext* ctx, format::Node* n, size_t i);

// After a delete: a dirty branch root with one child gives way to that child.
void ShrinkRoot(TreeRoot* root);

// A dup leaf's overflow chain (its last entry, a kOverflow) as a tree of its
// values: BorrowOverflow moves the chain's dirty root out of the leaf,
// ReturnOverflow puts it back and records the chain's count, erasing the
// entry when the chain is empty.
TreeRoot BorrowOverflow(format::Node* leaf, int zstd_level);
void ReturnOverflow(format::Node* leaf, TreeRoot* chain);
// A read-only view of the chain (dirty or committed).
TreeRoot OverflowView(const format::Node& leaf);
// The i-th value of the chain.
Status SelectOverflow(NodeSource* src, const format::Node& leaf, uint64_t i, std::string* value);

}  // namespace bruce::btree::internal
