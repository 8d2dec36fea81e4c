#include "stream/diff.h"

#include <optional>
#include <string>
#include <vector>

namespace bruce::stream {

namespace {

using format::BlockPtr;
using format::Node;
using format::ValueType;

// One side of the walk. The current element is a subtree not yet read
// (pending_) or, when none is pending, the entry at the top frame's index.
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

  // Reads the pending subtree and makes its first element current.
  Status Descend() {
    Pending p = std::move(*pending_);
    pending_.reset();
    BRUCE_ASSIGN_OR_RETURN(NodeRef n, src_->Load(p.ptr));
    ++*nodes_;
    stack_.push_back(Frame{std::move(n), 0, p.chain, std::move(p.chain_key)});
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

// Whether two entries' values are the same: inline bytes, or a pointer
// value's logical part (aux, hash, count; not where it is stored).
bool SameValue(ValueType ta, std::string_view va, ValueType tb, std::string_view vb) {
  if (ta != tb) return false;
  if (ta == ValueType::kInline) return va == vb;
  format::PtrValue a, b;
  if (!format::DecodePtrValue(va, &a) || !format::DecodePtrValue(vb, &b)) return va == vb;
  return a.aux == b.aux && a.ptr.hash == b.ptr.hash && a.ptr.count == b.ptr.count;
}

}  // namespace

Status DiffRoots(NodeSource* src, const format::BlockPtr& a, const format::BlockPtr& b, bool dup,
                 const std::function<bool(const DiffEntry&)>& fn, DiffStats* stats) {
  DiffStats local;
  DiffStats* st = stats ? stats : &local;
  if (a.hash == b.hash && a.count == b.count && a.null() == b.null()) return Status::OK();
  Frontier fa(src, &st->nodes_read), fb(src, &st->nodes_read);
  BRUCE_RETURN_IF_ERROR(fa.Start(a));
  BRUCE_RETURN_IF_ERROR(fb.Start(b));
  auto emit = [&](DiffEntry::Kind kind, const Frontier* from, const Frontier* to) {
    DiffEntry e;
    e.kind = kind;
    const Frontier* f = to ? to : from;
    e.key = f->key();
    // Inline values as they are; a large value's bytes are not read.
    if (from && from->vtype() == ValueType::kInline) e.old_value = from->value();
    if (to && to->vtype() == ValueType::kInline) e.new_value = to->value();
    e.old_large = from && from->vtype() == ValueType::kExtents;
    e.new_large = to && to->vtype() == ValueType::kExtents;
    ++st->entries;
    return fn(e);
  };
  while (!fa.end() || !fb.end()) {
    if (fa.at_subtree() && fb.at_subtree()) {
      const bool same_kind = fa.subtree_is_chain() == fb.subtree_is_chain() &&
                             fa.chain_key() == fb.chain_key();
      if (same_kind && fa.subtree().hash == fb.subtree().hash &&
          fa.subtree().count == fb.subtree().count) {
        fa.Skip();  // the same entries on both sides
        fb.Skip();
        ++st->subtrees_skipped;
        continue;
      }
      const int la = fa.subtree_level(), lb = fb.subtree_level();
      if (la < 0 || lb < 0 || la == lb) {
        BRUCE_RETURN_IF_ERROR(fa.Descend());
        BRUCE_RETURN_IF_ERROR(fb.Descend());
      } else if (la > lb) {
        BRUCE_RETURN_IF_ERROR(fa.Descend());
      } else {
        BRUCE_RETURN_IF_ERROR(fb.Descend());
      }
      continue;
    }
    if (!fa.end() && fa.at_subtree()) {
      BRUCE_RETURN_IF_ERROR(fa.Descend());
      continue;
    }
    if (!fb.end() && fb.at_subtree()) {
      BRUCE_RETURN_IF_ERROR(fb.Descend());
      continue;
    }
    if (fa.end()) {
      if (!emit(DiffEntry::kAdded, nullptr, &fb)) return Status::OK();
      fb.Skip();
      continue;
    }
    if (fb.end()) {
      if (!emit(DiffEntry::kRemoved, &fa, nullptr)) return Status::OK();
      fa.Skip();
      continue;
    }
    int c = fa.key().compare(fb.key());
    if (c == 0 && dup) c = fa.value().compare(fb.value());
    if (c < 0) {
      if (!emit(DiffEntry::kRemoved, &fa, nullptr)) return Status::OK();
      fa.Skip();
    } else if (c > 0) {
      if (!emit(DiffEntry::kAdded, nullptr, &fb)) return Status::OK();
      fb.Skip();
    } else {
      if (!SameValue(fa.vtype(), fa.value(), fb.vtype(), fb.value())) {
        if (!emit(DiffEntry::kChanged, &fa, &fb)) return Status::OK();
      }
      fa.Skip();
      fb.Skip();
    }
  }
  return Status::OK();
}

}  // namespace bruce::stream
