// stream/frontier.h — one side of a walk over a tree in key order that can
// pass over whole subtrees unread (diff.cc, send.cc).
//
// The current element is either a subtree not yet read (a child pointer,
// or a dup leaf's overflow chain) or an entry of a leaf. Skip passes it;
// Descend reads a pending subtree and makes its first element current.
//
// Thread safety: one thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "format/node.h"
#include "tree/btree.h"

namespace bruce::stream {

using format::BlockPtr;
using format::Node;
using format::ValueType;

class Frontier {
 public:
  Frontier(NodeSource* src, uint64_t* nodes) : src_(src), nodes_(nodes) {}

  Status Start(const BlockPtr& root) {
    if (root.null()) return Status::OK();
    pending_ = Pending{root, /*chain=*/false, std::string()};
    return Status::OK();
  }

  bool end() const { return !pending_ && stack_.empty(); }
  bool at_subtree() const { return pending_.has_value(); }
  const BlockPtr& subtree() const { return pending_->ptr; }
  bool subtree_is_chain() const { return pending_->chain; }
  const std::string& chain_key() const { return pending_->chain_key; }
  // The level of the pending subtree: one below its parent (unknown, -1,
  // for a root or an overflow chain).
  int subtree_level() const { return pending_->level; }

  // The current entry (not at a subtree): its key and value as the diff
  // shows them. Inside an overflow chain the key is the chain's key and the
  // value the chain entry's key.
  std::string_view key() const {
    const Frame& f = stack_.back();
    return f.chain ? std::string_view(f.chain_key) : f.node->key(f.i);
  }
  std::string_view value() const {
    const Frame& f = stack_.back();
    return f.chain ? f.node->key(f.i) : f.node->value(f.i);
  }
  ValueType vtype() const {
    const Frame& f = stack_.back();
    return f.chain ? ValueType::kInline : f.node->vtype(f.i);
  }

  // Past the current element.
  void Skip() {
    if (pending_) {
      pending_.reset();
      if (!stack_.empty()) stack_.back().i++;  // past the child (or the chain entry)
    } else {
      stack_.back().i++;
    }
    Settle();
  }

  // Where the current element is: the index taken in each node from the
  // root down (a child, or a leaf's entry: an overflow chain's or, at the
  // top, the current one's).
  std::vector<uint32_t> Path() const {
    std::vector<uint32_t> out;
    out.reserve(stack_.size());
    for (const Frame& f : stack_) out.push_back(static_cast<uint32_t>(f.i));
    return out;
  }

  // Whether the current element is an entry of a tree's leaf (not of an
  // overflow chain); then leaf() is that leaf's pointer, and Path() without
  // its last step the leaf's path.
  bool at_leaf_entry() const {
    return !pending_ && !stack_.empty() && !stack_.back().chain && stack_.back().node->leaf();
  }
  const BlockPtr& leaf() const { return stack_.back().ptr; }

  // Reads the pending subtree and makes its first element current.
  Status Descend() {
    Pending p = std::move(*pending_);
    pending_.reset();
    BRUCE_ASSIGN_OR_RETURN(NodeRef n, src_->Load(p.ptr));
    ++*nodes_;
    stack_.push_back(Frame{std::move(n), 0, p.chain, std::move(p.chain_key), p.ptr});
    Settle();
    return Status::OK();
  }

 private:
  struct Pending {
    BlockPtr ptr;
    bool chain = false;
    std::string chain_key;
    int level = -1;
  };
  struct Frame {
    NodeRef node;
    size_t i = 0;
    bool chain = false;       // a dup leaf's overflow chain (keys are values)
    std::string chain_key;    // the key whose values it holds
    BlockPtr ptr;             // the node's pointer
  };

  // Pops finished frames; turns a child pointer or an overflow chain at the
  // top into the pending subtree (the frame's index stays on it until it is
  // skipped or its own frame is done).
  void Settle() {
    while (!stack_.empty()) {
      Frame& f = stack_.back();
      if (f.i >= f.node->size()) {
        stack_.pop_back();
        if (!stack_.empty()) stack_.back().i++;
        continue;
      }
      if (!f.node->leaf()) {
        pending_ = Pending{f.node->child(f.i), f.chain, f.chain_key, f.node->level() - 1};
      } else if (!f.chain && f.node->vtype(f.i) == ValueType::kOverflow) {
        format::PtrValue v;
        format::DecodePtrValue(f.node->value(f.i), &v);
        pending_ = Pending{v.ptr, true, std::string(f.node->key(f.i)), -1};
      }
      return;
    }
  }

  NodeSource* src_;
  uint64_t* nodes_;
  std::vector<Frame> stack_;
  std::optional<Pending> pending_;
};

// One step of walking two frontiers side by side (diff.cc, send.cc): when
// both are at subtrees with the same entries, kEqual (the caller notes
// them and skips both); else when either is at a subtree it opens one (the
// higher of two, both when level or their levels are unknown): kOpened;
// else both are at entries or ended: kEntries.
enum class Aligned { kEqual, kOpened, kEntries };
inline Result<Aligned> Align(Frontier& a, Frontier& b) {
  if (a.at_subtree() && b.at_subtree()) {
    if (a.subtree_is_chain() == b.subtree_is_chain() && a.chain_key() == b.chain_key() &&
        a.subtree().hash == b.subtree().hash && a.subtree().count == b.subtree().count) {
      return Aligned::kEqual;
    }
    const int la = a.subtree_level(), lb = b.subtree_level();
    if (la < 0 || lb < 0 || la == lb) {
      BRUCE_RETURN_IF_ERROR(a.Descend());
      BRUCE_RETURN_IF_ERROR(b.Descend());
    } else {
      BRUCE_RETURN_IF_ERROR(la > lb ? a.Descend() : b.Descend());
    }
    return Aligned::kOpened;
  }
  if (a.at_subtree()) {
    BRUCE_RETURN_IF_ERROR(a.Descend());
    return Aligned::kOpened;
  }
  if (b.at_subtree()) {
    BRUCE_RETURN_IF_ERROR(b.Descend());
    return Aligned::kOpened;
  }
  return Aligned::kEntries;
}

// Whether two entries' values are the same: inline bytes, or a pointer
// value's logical part (aux, hash, count; not where it is stored).
inline bool SameValue(ValueType ta, std::string_view va, ValueType tb, std::string_view vb) {
  if (ta != tb) return false;
  if (ta == ValueType::kInline) return va == vb;
  format::PtrValue a, b;
  if (!format::DecodePtrValue(va, &a) || !format::DecodePtrValue(vb, &b)) return va == vb;
  return a.aux == b.aux && a.ptr.hash == b.ptr.hash && a.ptr.count == b.ptr.count;
}


}  // namespace bruce::stream
