// txn/tree_extents.cc — where a value's bytes are: moving a value to
// another key or tree without copying it, the space it holds, and holes
// punched into it.
#include <algorithm>

#include "format/node.h"
#include "txn/txn_impl.h"

namespace bruce {

using format::ValueType;

Status TreeImpl::Rename(std::string_view from, std::string_view to) {
  return MoveTo(from, this, to);
}

Status TreeImpl::MoveTo(std::string_view from, Tree* dest_tree, std::string_view to) {
  auto* dest = dynamic_cast<TreeImpl*>(dest_tree);
  if (dest == nullptr || dest->txn_ != txn_) {
    return Status::InvalidArgument("the destination is not a tree of this transaction");
  }
  WriteContext* w;
  BRUCE_RETURN_IF_ERROR(Writable(&w));
  BRUCE_RETURN_IF_ERROR(NotForDups("Rename"));
  BRUCE_RETURN_IF_ERROR(dest->Usable());
  BRUCE_RETURN_IF_ERROR(dest->NotForDups("Rename"));
  BRUCE_RETURN_IF_ERROR(CheckKeySize(to));
  std::string raw;
  ValueType vt;
  BRUCE_RETURN_IF_ERROR(btree::Get(txn_->source(), root_, from, &raw, &vt));
  if (dest == this && from == to) return Status::OK();
  changed_ = true;
  dest->changed_ = true;
  txn_->Changed();
  // Take the value out from under `from` without freeing anything it owns.
  std::optional<Extent> moving;
  if (auto it = extents_.find(from); it != extents_.end()) {
    moving = std::move(it->second);
    extents_.erase(it);
  }
  BRUCE_RETURN_IF_ERROR(btree::Delete(w, &root_, from));
  btree::OldValue old;
  bool added;
  BRUCE_RETURN_IF_ERROR(btree::Put(w, &dest->root_, to, raw, vt, &added, &old));
  BRUCE_RETURN_IF_ERROR(dest->DropValue(to, old));
  if (moving) dest->extents_.emplace(std::string(to), std::move(*moving));
  return Status::OK();
}

Result<uint64_t> TreeImpl::AllocatedBytes(std::string_view key) {
  BRUCE_RETURN_IF_ERROR(NotForDups("AllocatedBytes"));
  ValueRef v;
  BRUCE_RETURN_IF_ERROR(Lookup(key, &v));
  if (!v.exists) return Status::NotFound("key not found");
  if (v.vtype == ValueType::kInline) return v.size;
  if (v.dirty) return v.dirty->chunks.Count() * chunk_size();
  if (v.desc.aux & format::kDirect) return chunk_size();
  return v.desc.ptr.count * chunk_size();
}

Status TreeImpl::ZeroRange(std::string_view key, uint64_t offset, uint64_t length) {
  WriteContext* w;
  BRUCE_RETURN_IF_ERROR(Writable(&w));
  BRUCE_RETURN_IF_ERROR(NotForDups("ZeroRange"));
  ValueRef v;
  BRUCE_RETURN_IF_ERROR(Lookup(key, &v));
  if (!v.exists) return Status::NotFound("key not found");
  const uint64_t end =
      offset >= v.size ? offset : length >= v.size - offset ? v.size : offset + length;
  if (offset >= end) return Status::OK();
  changed_ = true;
  txn_->Changed();
  if (v.vtype == ValueType::kInline) {
    std::fill(v.inline_bytes.begin() + static_cast<ptrdiff_t>(offset),
              v.inline_bytes.begin() + static_cast<ptrdiff_t>(end), '\0');
    bool added;
    return btree::Put(w, &root_, key, v.inline_bytes, ValueType::kInline, &added);
  }
  BRUCE_ASSIGN_OR_RETURN(Extent * e, MutableExtent(key, &v));
  const uint64_t cs = chunk_size();
  const uint64_t first = (offset + cs - 1) / cs;  // chunks [first, last) lie wholly inside
  const uint64_t last = end / cs;
  auto zero = [&](uint64_t lo, uint64_t hi) -> Status {
    // A chunk in part: rewritten with zeros there (a hole when it is then
    // all zeros).
    if (lo >= hi) return Status::OK();
    return WriteChunks(e, lo, std::string(hi - lo, '\0'));
  };
  if (first >= last) {
    // No whole chunk inside: at most the two chunks the range touches.
    if (first > last) return zero(offset, end);
    BRUCE_RETURN_IF_ERROR(zero(offset, first * cs));
    return zero(first * cs, end);
  }
  std::vector<std::string> gone;
  {
    TreeCursor c(txn_->source(), &e->chunks, nullptr);
    for (c.Seek(ChunkKey(first)); c.Valid() && ChunkIndex(c.key()) < last; c.Next()) {
      gone.emplace_back(c.key());
    }
    BRUCE_RETURN_IF_ERROR(c.status());
  }
  btree::OldValue old;
  for (const std::string& k : gone) {
    BRUCE_RETURN_IF_ERROR(btree::Delete(w, &e->chunks, k, &old));
    BRUCE_RETURN_IF_ERROR(btree::FreePtrValue(w, old.vtype, old.value));
  }
  BRUCE_RETURN_IF_ERROR(zero(offset, first * cs));
  return zero(last * cs, end);
}

}  // namespace bruce
