// bruce::Diff: the public entry to stream/diff.h.
#include "stream/diff.h"
#include "txn/txn_impl.h"

namespace bruce {

Status Diff(Tree* old_tree, Tree* new_tree, const std::function<bool(const DiffEntry&)>& fn,
            DiffStats* stats) {
  auto* a = dynamic_cast<TreeImpl*>(old_tree);
  auto* b = dynamic_cast<TreeImpl*>(new_tree);
  if (a == nullptr || b == nullptr) return Status::InvalidArgument("Diff: not trees of a store");
  BRUCE_RETURN_IF_ERROR(a->broken());
  BRUCE_RETURN_IF_ERROR(b->broken());
  if (a->txn()->db() != b->txn()->db()) {
    return Status::InvalidArgument("Diff: the trees are of different stores");
  }
  if (a->root().dirty || b->root().dirty || a->changed() || b->changed()) {
    return Status::InvalidArgument("Diff: a tree has changes not yet committed");
  }
  if (a->dupsort() != b->dupsort()) {
    return Status::InvalidArgument("Diff: one tree has duplicate keys and the other not");
  }
  return stream::DiffRoots(b->txn()->source(), a->root().ptr, b->root().ptr, b->dupsort(), fn,
                           stats);
}

}  // namespace bruce
