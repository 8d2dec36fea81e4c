// tree/relocate.cc — compaction's part of the tree: copying every node that
// sits at or above a page limit (and the path to it), so that commit
// writes it lower in the file.
#include <functional>

#include "tree/btree_internal.h"

namespace bruce::btree {

using format::BlockPtr;
using format::Node;
using format::ValueType;
using namespace internal;

namespace {

// Whether the subtree at ptr has a node (or, in a chunk tree, a data block)
// at page limit or above.
Result<bool> Needs(WriteContext* ctx, const BlockPtr& ptr, RelocateLimits lim, bool chunks) {
  if (ptr.birth <= lim.held) return false;  // a snapshot holds it, and all below
  if (ptr.page >= lim.limit) return true;
  BRUCE_ASSIGN_OR_RETURN(NodeRef n, ctx->Load(ptr));
  for (size_t i = 0; i < n->size(); i++) {
    if (!n->leaf()) {
      BRUCE_ASSIGN_OR_RETURN(bool need, Needs(ctx, n->child(i), lim, chunks));
      if (need) return true;
    } else if (n->vtype(i) == ValueType::kOverflow) {
      format::PtrValue v;
      if (!format::DecodePtrValue(n->value(i), &v)) return Status::Corruption("bad overflow entry");
      if (v.ptr.null()) continue;
      BRUCE_ASSIGN_OR_RETURN(bool need, Needs(ctx, v.ptr, lim, false));
      if (need) return true;
    } else if (chunks) {
      format::PtrValue v;
      if (format::DecodePtrValue(n->value(i), &v) && v.ptr.page >= lim.limit &&
          v.ptr.birth > lim.held) {
        return true;
      }
    }
  }
  return false;
}

Status Move(WriteContext* ctx, Node* n, RelocateLimits lim, bool chunks,
            const std::function<Status(Node*, size_t)>& move_data) {
  for (size_t i = 0; i < n->size(); i++) {
    if (n->leaf() && n->vtype(i) == ValueType::kOverflow) {
      TreeRoot chain = BorrowOverflow(n, 0);
      Status st = Relocate(ctx, &chain, lim, false, move_data);
      ReturnOverflow(n, &chain);
      BRUCE_RETURN_IF_ERROR(st);
      continue;
    }
    if (n->leaf()) {
      format::PtrValue v;
      if (chunks && format::DecodePtrValue(n->value(i), &v) && v.ptr.page >= lim.limit &&
          v.ptr.birth > lim.held) {
        BRUCE_RETURN_IF_ERROR(move_data(n, i));
      }
      continue;
    }
    if (!n->dirty_kid(i)) {
      BRUCE_ASSIGN_OR_RETURN(bool need, Needs(ctx, n->child(i), lim, chunks));
      if (!need) continue;
    }
    BRUCE_ASSIGN_OR_RETURN(Node * c, MutableChild(ctx, n, i));
    BRUCE_RETURN_IF_ERROR(Move(ctx, c, lim, chunks, move_data));
  }
  return Status::OK();
}

}  // namespace

Result<bool> NeedsRelocation(WriteContext* ctx, const BlockPtr& ptr, RelocateLimits lim,
                             bool chunks) {
  return Needs(ctx, ptr, lim, chunks);
}

Status Relocate(WriteContext* ctx, TreeRoot* root, RelocateLimits lim, bool chunks,
                const std::function<Status(Node*, size_t)>& move_data) {
  if (!root->dirty) {
    if (root->ptr.null()) return Status::OK();
    BRUCE_ASSIGN_OR_RETURN(bool need, Needs(ctx, root->ptr, lim, chunks));
    if (!need) return Status::OK();
  }
  BRUCE_ASSIGN_OR_RETURN(Node * r, MutableRoot(ctx, root));
  return Move(ctx, r, lim, chunks, move_data);
}

}  // namespace bruce::btree
