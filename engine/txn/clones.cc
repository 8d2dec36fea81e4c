// txn/clones.cc — data blocks shared between values: Tree::CloneRange (what
// copy_file_range and reflinks use) and the clone table.
//
// A data block belongs to one chunk-tree entry, except after a clone: then
// several entries of the live trees point to it, and the system tree
// "\0clones" counts the extra ones: (page, u64 big-endian) -> varint extra
// references. Its empty key is a marker, written with the first clone and
// kept from then on: a store without it has never shared a block.
// FreeData takes one reference off: the entry's count goes down (the entry
// goes at zero), and a block with no entry is freed as any other (at once,
// or onto the dead list while a snapshot holds it). Snapshots need nothing
// more: a snapshot holds what its trees point to, and the dead list gets a
// block when its last live reference goes.
//
// A rollback or a receive replaces the user trees wholesale: the table is
// then counted again from the trees (RebuildClones), a walk of their nodes
// (no data block is read) that only a store with the marker pays.
#include <algorithm>

#include "format/coding.h"
#include "tree/cursor.h"
#include "txn/txn_impl.h"

namespace bruce {

using format::BlockPtr;
using format::PtrValue;
using format::ValueType;

namespace {

std::string PageKey(uint64_t page) {
  std::string k(8, '\0');
  for (int i = 0; i < 8; i++) k[i] = static_cast<char>(page >> (56 - 8 * i));
  return k;
}

Status BadEntry() { return Status::Corruption("malformed clone table entry"); }

// The extra references the table gives page (0 when it has no entry).
Status ExtraRefs(WriteContext* w, const TreeRoot& t, uint64_t page, uint64_t* n) {
  std::string raw;
  ValueType vt;
  *n = 0;
  Status st = btree::Get(w, t, PageKey(page), &raw, &vt);
  if (st.IsNotFound()) return Status::OK();
  BRUCE_RETURN_IF_ERROR(st);
  format::Reader r(raw);
  if (vt != ValueType::kInline || !r.Varint(n) || r.remaining() != 0 || *n == 0) return BadEntry();
  return Status::OK();
}

// Appends the page of every data block under ptr (a user tree, a chunk
// tree or a dup chain), once per reference.
Status DataPages(WriteContext* w, const BlockPtr& ptr, std::vector<uint64_t>* out) {
  if (ptr.null()) return Status::OK();
  BRUCE_ASSIGN_OR_RETURN(NodeRef n, w->Load(ptr));
  for (size_t i = 0; i < n->size(); i++) {
    if (!n->leaf()) {
      BRUCE_RETURN_IF_ERROR(DataPages(w, n->child(i), out));
      continue;
    }
    const ValueType vt = n->vtype(i);
    if (vt == ValueType::kInline) continue;
    PtrValue v;
    if (!format::DecodePtrValue(n->value(i), &v)) return Status::Corruption("bad pointer value");
    if (v.ptr.null()) continue;
    if (format::PointsToData(vt, v.aux)) {
      out->push_back(v.ptr.page);
    } else {
      BRUCE_RETURN_IF_ERROR(DataPages(w, v.ptr, out));
    }
  }
  return Status::OK();
}

}  // namespace

Result<bool> WriteTxnImpl::MayHaveClones() {
  BRUCE_ASSIGN_OR_RETURN(TreeRoot * t, SystemTree(kClonesTree));
  return t->dirty != nullptr || !t->ptr.null();
}

Status WriteTxnImpl::ShareData(const BlockPtr& ptr) {
  BRUCE_ASSIGN_OR_RETURN(TreeRoot * t, SystemTree(kClonesTree));
  uint64_t n;
  BRUCE_RETURN_IF_ERROR(ExtraRefs(this, *t, ptr.page, &n));
  std::string v;
  format::PutVarint(&v, n + 1);
  bool added;
  BRUCE_RETURN_IF_ERROR(btree::Put(this, t, PageKey(ptr.page), v, ValueType::kInline, &added));
  if (n == 0) BRUCE_RETURN_IF_ERROR(btree::Put(this, t, "", "", ValueType::kInline, &added));
  Changed();
  return Status::OK();
}

Status WriteTxnImpl::FreeData(const BlockPtr& ptr) {
  BRUCE_ASSIGN_OR_RETURN(bool may, MayHaveClones());
  if (may) {
    BRUCE_ASSIGN_OR_RETURN(TreeRoot * t, SystemTree(kClonesTree));
    uint64_t n;
    BRUCE_RETURN_IF_ERROR(ExtraRefs(this, *t, ptr.page, &n));
    if (n > 1) {
      std::string v;
      format::PutVarint(&v, n - 1);
      bool added;
      return btree::Put(this, t, PageKey(ptr.page), v, ValueType::kInline, &added);
    }
    if (n == 1) return btree::Delete(this, t, PageKey(ptr.page));
  }
  FreeRun(ptr);
  return Status::OK();
}

Status WriteTxnImpl::MarkClones() {
  BRUCE_ASSIGN_OR_RETURN(TreeRoot * t, SystemTree(kClonesTree));
  bool added;
  BRUCE_RETURN_IF_ERROR(btree::Put(this, t, "", "", ValueType::kInline, &added));
  Changed();
  return Status::OK();
}

Status WriteTxnImpl::DataPagesUnder(const BlockPtr& root, std::vector<uint64_t>* pages) {
  return DataPages(this, root, pages);
}

Status WriteTxnImpl::UserDataPages(std::vector<uint64_t>* pages) {
  TreeCursor c(this, &catalog_, nullptr);
  for (c.First(); c.Valid(); c.Next()) {
    if (c.key().empty() || c.key()[0] == '\0') continue;
    PtrValue v;
    if (!format::DecodePtrValue(c.value(), &v)) return Status::Corruption("bad catalog entry");
    BRUCE_RETURN_IF_ERROR(DataPages(this, v.ptr, pages));
  }
  return c.status();
}

Status WriteTxnImpl::RebuildClones(std::vector<uint64_t>* given) {
  BRUCE_ASSIGN_OR_RETURN(bool may, MayHaveClones());
  if (!may) return Status::OK();
  std::vector<uint64_t> own;
  std::vector<uint64_t>& pages = given ? *given : own;
  if (!given) BRUCE_RETURN_IF_ERROR(UserDataPages(&pages));
  std::sort(pages.begin(), pages.end());
  BRUCE_ASSIGN_OR_RETURN(TreeRoot * t, SystemTree(kClonesTree));
  BRUCE_RETURN_IF_ERROR(btree::FreeTree(this, t));
  bool added;
  BRUCE_RETURN_IF_ERROR(btree::Put(this, t, "", "", ValueType::kInline, &added));
  for (size_t i = 0; i < pages.size();) {
    size_t j = i;
    while (j < pages.size() && pages[j] == pages[i]) j++;
    if (j - i > 1) {
      std::string v;
      format::PutVarint(&v, j - i - 1);
      BRUCE_RETURN_IF_ERROR(btree::Put(this, t, PageKey(pages[i]), v, ValueType::kInline, &added));
    }
    i = j;
  }
  Changed();
  return Status::OK();
}

// ---- Tree::CloneRange ----

Status TreeImpl::ChunkAt(const ValueRef& v, uint64_t c, BlockPtr* out) {
  *out = BlockPtr{};
  std::string raw;
  ValueType vt;
  Status st;
  if (v.dirty) {
    st = btree::Get(txn_->source(), v.dirty->chunks, ChunkKey(c), &raw, &vt);
  } else if (v.desc.aux & format::kDirect) {
    if (c == 0) *out = v.desc.ptr;
    return Status::OK();
  } else {
    TreeRoot chunks;
    chunks.ptr = v.desc.ptr;
    st = btree::Get(txn_->source(), chunks, ChunkKey(c), &raw, &vt);
  }
  if (st.IsNotFound()) return Status::OK();
  BRUCE_RETURN_IF_ERROR(st);
  PtrValue p;
  if (vt != ValueType::kData || !format::DecodePtrValue(raw, &p)) {
    return Status::Corruption("chunk tree entry is not a data block");
  }
  *out = p.ptr;
  return Status::OK();
}

Status TreeImpl::ShareChunk(Extent* e, uint64_t c, const BlockPtr& p) {
  WriteContext* w = txn_->writer();
  btree::OldValue old;
  if (p.null()) {
    Status st = btree::Delete(w, &e->chunks, ChunkKey(c), &old);
    if (st.IsNotFound()) return Status::OK();
    BRUCE_RETURN_IF_ERROR(st);
    return btree::FreePtrValue(w, old.vtype, old.value);
  }
  // The new reference first: the old one may be to the same block.
  BRUCE_RETURN_IF_ERROR(w->ShareData(p));
  bool added;
  BRUCE_RETURN_IF_ERROR(btree::Put(w, &e->chunks, ChunkKey(c), format::EncodePtrValue({0, p}),
                                   ValueType::kData, &added, &old));
  if (old.existed) BRUCE_RETURN_IF_ERROR(btree::FreePtrValue(w, old.vtype, old.value));
  return Status::OK();
}

Result<uint64_t> TreeImpl::CloneRange(Tree* src_tree, std::string_view src_key,
                                      uint64_t src_offset, std::string_view dst_key,
                                      uint64_t dst_offset, uint64_t length) {
  auto* src = dynamic_cast<TreeImpl*>(src_tree);
  if (src == nullptr || src->txn_ != txn_) {
    return Status::InvalidArgument("the source is not a tree of this transaction");
  }
  WriteContext* w;
  BRUCE_RETURN_IF_ERROR(Writable(&w));
  BRUCE_RETURN_IF_ERROR(NotForDups("CloneRange"));
  BRUCE_RETURN_IF_ERROR(src->NotForDups("CloneRange"));
  BRUCE_RETURN_IF_ERROR(CheckKeySize(dst_key));
  ValueRef sv;
  BRUCE_RETURN_IF_ERROR(src->Lookup(src_key, &sv));
  if (!sv.exists) return Status::NotFound("key not found");
  if (src_offset >= sv.size || length == 0) return uint64_t{0};
  const uint64_t n = std::min(length, sv.size - src_offset);
  if (dst_offset > kMaxValueBytes || n > kMaxValueBytes - dst_offset) {
    return Status::InvalidArgument("a value of " + std::to_string(dst_offset + n) +
                                   " bytes; the limit is " + std::to_string(kMaxValueBytes));
  }
  if (src == this && src_key == dst_key && src_offset < dst_offset + n &&
      dst_offset < src_offset + n) {
    return Status::InvalidArgument("the ranges overlap");
  }
  changed_ = true;
  txn_->Changed();
  // Bytes [a, b) of the range, copied a MiB at a time.
  auto copy = [&](uint64_t a, uint64_t b) -> Status {
    std::string buf;
    for (uint64_t at = a; at < b;) {
      const size_t piece = static_cast<size_t>(std::min<uint64_t>(b - at, 1 << 20));
      ValueRef cur;
      BRUCE_RETURN_IF_ERROR(src->Lookup(src_key, &cur));
      BRUCE_RETURN_IF_ERROR(src->ReadRange(cur, src_offset + at, piece, &buf));
      buf.resize(piece, '\0');
      BRUCE_RETURN_IF_ERROR(WriteAt(dst_key, dst_offset + at, buf));
      at += piece;
    }
    return Status::OK();
  };
  const uint64_t cs = chunk_size();
  // Chunks [first, last) of the destination lie wholly in the range; with
  // both offsets equal modulo the chunk size, each is one source chunk.
  const uint64_t first = (dst_offset + cs - 1) / cs, last = (dst_offset + n) / cs;
  if (sv.vtype != ValueType::kExtents || dst_offset % cs != src_offset % cs || first >= last) {
    BRUCE_RETURN_IF_ERROR(copy(0, n));
    return n;
  }
  BRUCE_RETURN_IF_ERROR(copy(0, first * cs - dst_offset));
  ValueRef dv;
  BRUCE_RETURN_IF_ERROR(Lookup(dst_key, &dv));
  BRUCE_ASSIGN_OR_RETURN(Extent * e, MutableExtent(dst_key, &dv));
  BRUCE_RETURN_IF_ERROR(src->Lookup(src_key, &sv));  // (it may be dst_key's own value)
  const uint64_t src_first = (src_offset + (first * cs - dst_offset)) / cs;
  for (uint64_t c = first; c < last; c++) {
    BlockPtr p;
    BRUCE_RETURN_IF_ERROR(src->ChunkAt(sv, src_first + (c - first), &p));
    BRUCE_RETURN_IF_ERROR(ShareChunk(e, c, p));
  }
  e->size = std::max(e->size, last * cs);
  BRUCE_RETURN_IF_ERROR(copy(last * cs - dst_offset, n));
  return n;
}

}  // namespace bruce
