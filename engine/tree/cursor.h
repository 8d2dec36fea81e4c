// tree/cursor.h — in-order iteration over one tree, both ways.
//
// The cursor keeps the path from the root to its leaf, pinning the cached
// nodes on it. In a write transaction the tree may change under it: the
// transaction bumps a generation counter on every change, and a cursor that
// sees a new generation re-finds its key before it moves (or the first key
// after it, if that key was deleted).
//
// Thread safety: one thread at a time, like its transaction.
#pragma once

#include <string>
#include <vector>

#include "bruce/db.h"
#include "tree/btree.h"

namespace bruce {

class TreeCursor final {
 public:
  // generation may be null (a read transaction: nothing changes).
  TreeCursor(NodeSource* src, const TreeRoot* root, const uint64_t* generation)
      : src_(src), root_(root), gen_(generation) {}

  void First();
  void Last();
  void Seek(std::string_view key);
  void Next();
  void Prev();
  bool Valid() const;
  std::string_view key() const;
  std::string_view value() const;
  Status status() const { return status_; }

  format::ValueType vtype() const;
  // The leaf the cursor is on (Valid() only).
  const format::Node& leaf_node() const { return leaf(); }

 private:
  struct Frame {
    const format::Node* node;
    NodeRef pin;
    size_t idx;
  };
  bool Fail(const Status& s);
  // Pushes frames from v down to a leaf along the first or last child.
  bool Descend(NodeView v, bool leftmost);
  // Moves to the next (or previous) leaf entry, crossing leaves.
  void Step(bool forward);
  // Hints the source about the next kReadAhead leaves under the level-1
  // branch frame b, in the scan's direction (each leaf once).
  void ReadAhead(const Frame& b, bool forward);
  void Positioned();
  // Re-finds the key after the transaction changed the tree.
  void Revalidate() const;
  const format::Node& leaf() const { return *stack_.back().node; }

  NodeSource* src_;
  const TreeRoot* root_;
  const uint64_t* gen_;
  mutable uint64_t seen_gen_ = 0;
  mutable std::string saved_key_;
  mutable std::vector<Frame> stack_;
  mutable bool valid_ = false;
  mutable Status status_;
  // Read-ahead: the branch it last hinted under, the direction, and the
  // next child index to hint there.
  const format::Node* ra_node_ = nullptr;
  bool ra_forward_ = true;
  int64_t ra_next_ = 0;
};

}  // namespace bruce
