// stream/diff.h — the difference of two versions of a tree, by their hashes.
//
// Walks both trees at once, in key order, from the roots down. Two subtrees
// whose Merkle hashes are equal hold the same entries, so both are skipped
// without being read: the walk reads the nodes on the paths to what
// changed, and its cost follows the changes, not the size of the trees.
//
// Each side is a "frontier": the next thing in key order, either a whole
// subtree not yet read (a child pointer) or an entry of a leaf. The walk
// skips equal subtrees, opens the higher of two different ones (both when
// level with each other), and merges entries by key ((key, value) in a tree
// with duplicate keys, whose overflow chains open like subtrees).
//
// Thread safety: one call, one thread; the trees' transactions must stay
// open and unchanged for the call.
#pragma once

#include <functional>

#include "bruce/db.h"
#include "format/node.h"
#include "tree/btree.h"

namespace bruce::stream {

// Compares the tree rooted at `a` (the old version) with the one at `b`
// (the new), both committed, read through `src`. fn returning false stops
// the walk (OK). dup: the trees hold (key, value) pairs.
Status DiffRoots(NodeSource* src, const format::BlockPtr& a, const format::BlockPtr& b, bool dup,
                 const std::function<bool(const DiffEntry&)>& fn, DiffStats* stats);

}  // namespace bruce::stream
