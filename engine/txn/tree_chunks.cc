// txn/tree_chunks.cc — the data blocks of large values (see tree_values.cc):
// reading a range in runs of adjacent blocks, writing whole chunks in one
// run of pages straight from the caller's bytes, and cutting a value short.
#include <algorithm>
#include <cstring>

#include "format/coding.h"
#include "format/hash.h"
#include "format/meta.h"
#include "txn/txn_impl.h"

namespace bruce {

using format::BlockPtr;
using format::PtrValue;
using format::ValueType;

Status TreeImpl::ReadChunk(Extent* e, uint64_t c, std::string* out) {
  std::string raw;
  ValueType vt;
  Status st = btree::Get(txn_->source(), e->chunks, ChunkKey(c), &raw, &vt);
  out->clear();
  if (st.IsNotFound()) return Status::OK();
  BRUCE_RETURN_IF_ERROR(st);
  PtrValue p;
  if (vt != ValueType::kData || !format::DecodePtrValue(raw, &p)) {
    return Status::Corruption("chunk tree entry is not a data block");
  }
  return txn_->source()->ReadData(p.ptr, out);
}

Status TreeImpl::ReadRange(const ValueRef& v, uint64_t offset, size_t n, std::string* out) {
  out->clear();
  if (offset >= v.size) return Status::OK();
  uint64_t end = std::min<uint64_t>(v.size, offset + n);
  if (v.vtype == ValueType::kInline) {
    out->assign(v.inline_bytes, offset, end - offset);
    return Status::OK();
  }
  out->assign(end - offset, '\0');  // holes and short blocks read as zeros
  DbImpl* db = txn_->db();
  const uint32_t ps = db->page_size();
  std::string block;
  // A block partly outside the range: read it whole, copy the part inside.
  auto copy = [&](uint64_t block_start, const BlockPtr& p) -> Status {
    BRUCE_RETURN_IF_ERROR(txn_->source()->ReadData(p, &block));
    uint64_t lo = std::max(offset, block_start);
    uint64_t hi = std::min(end, block_start + block.size());
    if (lo < hi) std::memcpy(out->data() + (lo - offset), block.data() + (lo - block_start), hi - lo);
    return Status::OK();
  };
  // A run of blocks wholly inside the range, each a full page but the last,
  // on adjacent pages: one store read into place, then each hash checked.
  std::vector<std::pair<uint64_t, BlockPtr>> run;  // (value offset, block)
  auto flush = [&]() -> Status {
    if (run.empty()) return Status::OK();
    const BlockPtr& first = run.front().second;
    const BlockPtr& last = run.back().second;
    char* dst = out->data() + (run.front().first - offset);
    size_t len = (last.page - first.page) * ps + last.stored_len;
    BRUCE_RETURN_IF_ERROR(db->store()->Read(first.page * ps, len, dst));
    for (const auto& [at, p] : run) {
      std::string_view bytes(out->data() + (at - offset), p.stored_len);
      if (!(format::HashLogical(bytes) == p.hash)) {
        return Status::Corruption("data block hash mismatch", p.page);
      }
    }
    run.clear();
    return Status::OK();
  };
  auto take = [&](uint64_t start, const BlockPtr& p) -> Status {
    BRUCE_RETURN_IF_ERROR(CheckDataPtr(p, ps));
    if (start < offset || start + p.stored_len > end || p.page >= WriteTxnImpl::kPrivatePage) {
      BRUCE_RETURN_IF_ERROR(flush());
      return copy(start, p);
    }
    if (!run.empty()) {
      const auto& [pstart, prev] = run.back();
      if (prev.stored_len != ps || p.page != prev.page + 1 || start != pstart + ps) {
        BRUCE_RETURN_IF_ERROR(flush());
      }
    }
    run.emplace_back(start, p);
    return Status::OK();
  };
  uint64_t cs = chunk_size();
  if (!v.dirty && (v.desc.aux & format::kDirect)) {
    BRUCE_RETURN_IF_ERROR(take(0, v.desc.ptr));
    return flush();
  }
  TreeRoot clean;
  const TreeRoot* chunks = v.dirty ? &v.dirty->chunks : &clean;
  if (!v.dirty) clean.ptr = v.desc.ptr;
  TreeCursor c(txn_->source(), chunks, nullptr);
  for (c.Seek(ChunkKey(offset / cs)); c.Valid(); c.Next()) {
    uint64_t start = ChunkIndex(c.key()) * cs;
    if (start >= end) break;
    PtrValue p;
    if (c.vtype() != ValueType::kData || !format::DecodePtrValue(c.value(), &p)) {
      return Status::Corruption("chunk tree entry is not a data block");
    }
    BRUCE_RETURN_IF_ERROR(take(start, p.ptr));
  }
  BRUCE_RETURN_IF_ERROR(c.status());
  return flush();
}

Status TreeImpl::WriteBlocks(const std::vector<std::string_view>& blocks,
                             std::vector<BlockPtr>* out) {
  out->clear();
  if (blocks.empty()) return Status::OK();
  DbImpl* db = txn_->db();
  const uint32_t ps = db->page_size();
  auto* w = static_cast<WriteTxnImpl*>(txn_->writer());
  if (w->detached()) {
    std::vector<std::string> copies(blocks.begin(), blocks.end());
    return w->WriteData(copies, out);
  }
  BRUCE_RETURN_IF_ERROR(w->WriteOut());
  const uint64_t first = db->space().Allocate(blocks.size());
  for (size_t i = 0; i < blocks.size(); i++) {
    BlockPtr p;
    p.page = first + i;
    p.stored_len = static_cast<uint32_t>(blocks[i].size());
    p.birth = txn_->txn_id();
    p.hash = format::HashLogical(blocks[i]);
    p.count = blocks[i].size();
    out->push_back(p);
  }
  // Full pages that lie back to back in memory (the whole chunks of one
  // write) go in one store write; a shorter block is padded with zeros.
  Status st;
  std::string pad;
  for (size_t i = 0; i < blocks.size() && st.ok();) {
    size_t j = i + 1;
    if (blocks[i].size() == ps) {
      while (j < blocks.size() && blocks[j].size() == ps &&
             blocks[j].data() == blocks[j - 1].data() + ps) {
        j++;
      }
      st = db->store()->Write((first + i) * ps, std::string_view(blocks[i].data(), (j - i) * ps));
    } else {
      pad.assign(blocks[i]);
      pad.resize(ps, '\0');
      st = db->store()->Write((first + i) * ps, pad);
    }
    i = j;
  }
  if (!st.ok()) {
    db->space().Free(first, blocks.size());  // allocated here: back at once
    out->clear();
  }
  return st;
}

Status TreeImpl::WriteChunks(Extent* e, uint64_t offset, std::string_view data) {
  if (data.empty()) return Status::OK();
  WriteContext* w = txn_->writer();
  uint64_t cs = chunk_size();
  uint64_t first = offset / cs, last = (offset + data.size() - 1) / cs;
  // A whole chunk is written straight from `data`; one written in part
  // (only the first and the last can be) is read and changed in partial.
  std::vector<std::string_view> blocks;
  std::vector<uint64_t> where, holes;
  std::string partial[2];
  size_t npartial = 0;
  for (uint64_t c = first; c <= last; c++) {
    uint64_t lo = std::max(offset, c * cs) - c * cs;
    uint64_t hi = std::min(offset + data.size(), (c + 1) * cs) - c * cs;
    std::string_view content;
    if (lo == 0 && hi == cs) {
      content = data.substr(c * cs - offset, cs);
    } else {
      std::string& p = partial[npartial++];
      BRUCE_RETURN_IF_ERROR(ReadChunk(e, c, &p));
      if (p.size() < hi) p.resize(hi, '\0');
      std::memcpy(p.data() + lo, data.data() + (c * cs + lo - offset), hi - lo);
      content = p;
    }
    if (AllZero(content)) {
      holes.push_back(c);  // zeros cost nothing
    } else {
      blocks.push_back(content);
      where.push_back(c);
    }
  }
  std::vector<BlockPtr> ptrs;
  BRUCE_RETURN_IF_ERROR(WriteBlocks(blocks, &ptrs));
  btree::OldValue old;
  bool added;
  for (size_t i = 0; i < ptrs.size(); i++) {
    BRUCE_RETURN_IF_ERROR(btree::Put(w, &e->chunks, ChunkKey(where[i]),
                                     format::EncodePtrValue({0, ptrs[i]}), ValueType::kData,
                                     &added, &old));
    if (old.existed) BRUCE_RETURN_IF_ERROR(btree::FreePtrValue(w, old.vtype, old.value));
  }
  for (uint64_t c : holes) {
    Status st = btree::Delete(w, &e->chunks, ChunkKey(c), &old);
    if (st.IsNotFound()) continue;
    BRUCE_RETURN_IF_ERROR(st);
    BRUCE_RETURN_IF_ERROR(btree::FreePtrValue(w, old.vtype, old.value));
  }
  return Status::OK();
}

Status TreeImpl::CutChunks(Extent* e, uint64_t size) {
  WriteContext* w = txn_->writer();
  uint64_t cs = chunk_size();
  uint64_t keep = (size + cs - 1) / cs;  // chunks [0, keep) stay
  std::vector<std::string> gone;
  {
    TreeCursor c(txn_->source(), &e->chunks, nullptr);
    for (c.Seek(ChunkKey(keep)); c.Valid(); c.Next()) gone.emplace_back(c.key());
    BRUCE_RETURN_IF_ERROR(c.status());
  }
  btree::OldValue old;
  for (const std::string& k : gone) {
    BRUCE_RETURN_IF_ERROR(btree::Delete(w, &e->chunks, k, &old));
    BRUCE_RETURN_IF_ERROR(btree::FreePtrValue(w, old.vtype, old.value));
  }
  if (size % cs != 0) {
    // The last chunk keeps only its first size % cs bytes, so that growing
    // the value again reads zeros there.
    std::string tail;
    BRUCE_RETURN_IF_ERROR(ReadChunk(e, size / cs, &tail));
    if (tail.size() > size % cs) {
      tail.resize(size % cs);
      Status st = btree::Delete(w, &e->chunks, ChunkKey(size / cs), &old);
      BRUCE_RETURN_IF_ERROR(st);
      BRUCE_RETURN_IF_ERROR(btree::FreePtrValue(w, old.vtype, old.value));
      if (!AllZero(tail)) BRUCE_RETURN_IF_ERROR(WriteChunks(e, (size / cs) * cs, tail));
    }
  }
  return Status::OK();
}

}  // namespace bruce
