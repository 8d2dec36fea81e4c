// tree/flush.cc — writing a tree's dirty nodes at commit, bottom-up, with
// the Bloom filters of the leaves in a tree that keeps them.
#include "format/bloom.h"
#include "tree/btree_internal.h"

namespace bruce::btree {

using format::BlockPtr;
using format::Node;
using namespace internal;

std::string LeafFilter(const Node& leaf, uint32_t bits) {
  format::FilterBuilder b(leaf.size(), bits);
  for (size_t i = 0; i < leaf.size(); i++) b.Add(leaf.key(i));
  return b.bytes();
}

namespace {

Result<BlockPtr> FlushNode(WriteContext* ctx, std::unique_ptr<Node> n, int level,
                           uint32_t bloom) {
  if (n->overflow_dirty()) {
    TreeRoot chain = BorrowOverflow(n.get(), level);
    uint64_t count = chain.Count();
    Status st = Flush(ctx, &chain);
    ReturnOverflow(n.get(), &chain);
    BRUCE_RETURN_IF_ERROR(st);
    if (chain.ptr.count != count) return Status::Corruption("overflow chain count drifted");
  }
  if (!n->leaf()) {
    for (size_t i = 0; i < n->size(); i++) {
      if (!n->dirty_kid(i)) continue;
      uint64_t count = n->child(i).count;
      std::string filter;
      if (bloom > 0 && n->level() == 1) filter = LeafFilter(*n->dirty_kid(i), bloom);
      BRUCE_ASSIGN_OR_RETURN(n->child(i),
                             FlushNode(ctx, std::move(n->dirty_kids()[i]), level, bloom));
      if (n->child(i).count != count) return Status::Corruption("dirty subtree count drifted");
      if (bloom > 0 && n->level() == 1) n->SetFilter(i, filter);
    }
    // A tree without filters keeps none (a received chunk tree may have
    // been given some): its sizes never made room for them.
    if (bloom == 0 && n->level() == 1) {
      for (size_t i = 0; i < n->size(); i++) {
        if (!n->filter(i).empty()) n->SetFilter(i, {});
      }
    }
    n->dirty_kids().clear();
  }
  return ctx->WriteNode(std::move(n), level);
}

}  // namespace

Status Flush(WriteContext* ctx, TreeRoot* root) {
  if (!root->dirty) return Status::OK();
  std::unique_ptr<Node> r = std::move(root->dirty);
  if (r->leaf() && r->size() == 0) {
    root->ptr = BlockPtr{};
    return Status::OK();
  }
  BRUCE_ASSIGN_OR_RETURN(root->ptr,
                         FlushNode(ctx, std::move(r), root->zstd_level, root->bloom_bits));
  return Status::OK();
}

}  // namespace bruce::btree
