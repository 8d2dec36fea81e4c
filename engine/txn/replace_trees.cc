// WriteTxnImpl::ReplaceUserTrees: the last step of a receive
// (stream/receive.cc).
#include "tree/cursor.h"
#include "txn/txn_impl.h"

namespace bruce {

using format::BlockPtr;
using format::PtrValue;
using format::ValueType;

namespace {

// Frees a node (with what is under it) or data block that the new trees do
// not keep.
Status FreeUnkept(WriteTxnImpl* w, const BlockPtr& p, bool data,
                  const std::unordered_set<uint64_t>& kept, std::unordered_set<uint64_t>* freed) {
  if (p.null() || kept.count(p.page)) return Status::OK();
  // (freed starts with the data blocks the new trees reach, in a store
  // with clones: a block the old trees shared may stay under a kept node.)
  // A block clones share: every reference goes, it is freed once.
  if (data && !freed->insert(p.page).second) return Status::OK();
  if (!data) {
    BRUCE_ASSIGN_OR_RETURN(NodeRef n, w->Load(p));
    for (size_t i = 0; i < n->size(); ++i) {
      if (!n->leaf()) {
        BRUCE_RETURN_IF_ERROR(FreeUnkept(w, n->child(i), false, kept, freed));
        continue;
      }
      const ValueType vt = n->vtype(i);
      if (vt == ValueType::kInline) continue;
      PtrValue v;
      if (!format::DecodePtrValue(n->value(i), &v)) return Status::Corruption("bad pointer value");
      BRUCE_RETURN_IF_ERROR(FreeUnkept(w, v.ptr, format::PointsToData(vt, v.aux), kept, freed));
    }
  }
  w->FreeRun(p);
  return Status::OK();
}

}  // namespace

Status WriteTxnImpl::ReplaceUserTrees(const std::map<std::string, PtrValue>& trees,
                                      const std::unordered_set<uint64_t>& kept) {
  BRUCE_RETURN_IF_ERROR(finished_status());
  if (!trees_.empty()) {
    return Status::InvalidArgument("ReplaceUserTrees needs a transaction that opened no tree");
  }
  std::map<std::string, PtrValue> old;
  {
    TreeCursor c(this, &catalog_, nullptr);
    for (c.First(); c.Valid(); c.Next()) {
      if (c.key().empty() || c.key()[0] == '\0') continue;
      PtrValue v;
      if (!format::DecodePtrValue(c.value(), &v)) return Status::Corruption("bad catalog entry");
      old.emplace(std::string(c.key()), v);
    }
    BRUCE_RETURN_IF_ERROR(c.status());
  }
  // In a store with clones, a data block may be reached both from a node
  // the new trees keep and from one they drop: it is not freed. The table
  // is then counted from the new trees' references.
  std::unordered_set<uint64_t> freed;
  std::vector<uint64_t> pages;
  BRUCE_ASSIGN_OR_RETURN(bool clones, MayHaveClones());
  if (clones) {
    for (const auto& [name, v] : trees) BRUCE_RETURN_IF_ERROR(DataPagesUnder(v.ptr, &pages));
    freed.insert(pages.begin(), pages.end());
  }
  for (const auto& [name, v] : old) {
    BRUCE_RETURN_IF_ERROR(FreeUnkept(this, v.ptr, false, kept, &freed));
    if (!trees.count(name)) BRUCE_RETURN_IF_ERROR(btree::Delete(this, &catalog_, name));
  }
  bool added;
  for (const auto& [name, v] : trees) {
    BRUCE_RETURN_IF_ERROR(
        btree::Put(this, &catalog_, name, format::EncodePtrValue(v), ValueType::kTree, &added));
  }
  // Blocks the old trees shared may be kept once, or twice, or not at all.
  BRUCE_RETURN_IF_ERROR(RebuildClones(clones ? &pages : nullptr));
  Changed();
  return Status::OK();
}

}  // namespace bruce
