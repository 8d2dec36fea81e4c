// txn/tree_values.cc — a tree's values as file contents.
//
// A value of up to page_size/4 bytes lives inline in its leaf. A larger one
// is a tree of page-sized chunks: the chunk tree maps a chunk's index (8
// bytes, big-endian) to a data block, so reading or writing a range touches
// O(log n) pages, writing copies only the chunks it touches, and a chunk
// never written (a hole) has no entry and reads as zeros. A large value of
// one chunk points straight at its data block (kDirect).
//
// While a transaction changes a large value, its chunk tree is kept in
// extents_ and its key holds a placeholder; FlushValues writes the chunk
// tree at commit and stores the real pointer.
//
// Data blocks move between the caller's buffer and the store in runs: a
// write puts its whole chunks in one run of pages, written straight from
// the caller's bytes (no copy, no zero-fill; only a chunk written in part
// is read, changed and padded), and a read takes each run of chunks that
// are adjacent on disk and lie wholly in the range with one store read
// straight into the output, then checks each block's hash there.
#include <algorithm>
#include <cstring>

#include "format/coding.h"
#include "format/hash.h"
#include "format/meta.h"
#include "tree/cursor.h"
#include "txn/txn_impl.h"

namespace bruce {

using format::BlockPtr;
using format::PtrValue;
using format::ValueType;

bool AllZero(std::string_view s) {
  return s.empty() || (s[0] == 0 && std::memcmp(s.data(), s.data() + 1, s.size() - 1) == 0);
}

namespace {

Status TooLarge(uint64_t size) {
  return Status::InvalidArgument("a value of " + std::to_string(size) +
                                 " bytes is over the limit of " + std::to_string(kMaxValueBytes));
}

}  // namespace

Status CheckDataPtr(const BlockPtr& p, uint32_t page_size) {
  if (p.page < format::kMetaPages) return Status::Corruption("pointer to a meta page", p.page);
  if (p.comp != format::Compression::kNone) {
    return Status::Corruption("unknown compression " + std::to_string(static_cast<int>(p.comp)),
                              p.page);
  }
  if (p.stored_len != p.count || p.count > page_size) {
    return Status::Corruption("implausible data block length " + std::to_string(p.stored_len),
                              p.page);
  }
  return Status::OK();
}

Status TreeImpl::CheckKeySize(std::string_view key) {
  if (key.size() <= kMaxKeySize) return Status::OK();
  return Status::InvalidArgument("key is " + std::to_string(key.size()) + " bytes; the limit is " +
                                 std::to_string(kMaxKeySize));
}

uint64_t TreeImpl::chunk_size() const { return txn_->page_size(); }
size_t TreeImpl::inline_max() const { return txn_->page_size() / 4; }

Status TreeImpl::Writable(WriteContext** w) {
  BRUCE_RETURN_IF_ERROR(Usable());
  *w = txn_->writer();
  if (!*w) return Status::ReadOnly("write in a read transaction");
  return Status::OK();
}

Status TreeImpl::Lookup(std::string_view key, ValueRef* v) {
  BRUCE_RETURN_IF_ERROR(Usable());
  *v = ValueRef{};
  std::string raw;
  ValueType vt;
  Status st = btree::Get(txn_->source(), root_, key, &raw, &vt);
  if (st.IsNotFound()) return Status::OK();
  BRUCE_RETURN_IF_ERROR(st);
  return Resolve(key, std::move(raw), vt, v);
}

Status TreeImpl::Resolve(std::string_view key, std::string raw, ValueType vt, ValueRef* v) {
  *v = ValueRef{};
  v->exists = true;
  v->vtype = vt;
  if (v->vtype == ValueType::kInline) {
    v->inline_bytes = std::move(raw);
    v->size = v->inline_bytes.size();
    return Status::OK();
  }
  if (v->vtype != ValueType::kExtents) return Status::Corruption("unexpected value type in a tree");
  auto it = extents_.find(key);
  if (it != extents_.end()) {
    v->dirty = &it->second;
    v->size = it->second.size;
    return Status::OK();
  }
  if (!format::DecodePtrValue(raw, &v->desc)) return Status::Corruption("malformed large value");
  v->size = v->desc.aux & ~format::kDirect;
  return Status::OK();
}

Result<TreeImpl::Extent*> TreeImpl::MutableExtent(std::string_view key, ValueRef* v) {
  if (v->dirty) return v->dirty;
  WriteContext* w = txn_->writer();
  Extent e;
  bool was_large = v->exists && v->vtype == ValueType::kExtents;
  if (was_large) {
    e.size = v->size;
    if (v->desc.aux & format::kDirect) {
      // Adopt the data block as chunk 0 of a new chunk tree.
      bool added;
      BRUCE_RETURN_IF_ERROR(btree::Put(w, &e.chunks, ChunkKey(0),
                                       format::EncodePtrValue({0, v->desc.ptr}), ValueType::kData,
                                       &added));
    } else {
      e.chunks.ptr = v->desc.ptr;  // copied on write like any tree
    }
  }
  auto [it, inserted] = extents_.emplace(std::string(key), std::move(e));
  Extent* x = &it->second;
  if (!was_large) {
    // A small value (or none) becomes a large one: write what it held.
    BRUCE_RETURN_IF_ERROR(WriteChunks(x, 0, v->inline_bytes));
    x->size = v->inline_bytes.size();
    bool added;
    BRUCE_RETURN_IF_ERROR(btree::Put(w, &root_, key, format::EncodePtrValue({}),
                                     ValueType::kExtents, &added));
  }
  changed_ = true;
  v->dirty = x;
  return x;
}

Status TreeImpl::DropValue(std::string_view key, const btree::OldValue& old) {
  WriteContext* w = txn_->writer();
  auto it = extents_.find(key);
  if (it != extents_.end()) {
    // The dirty chunk tree owns everything, the committed pages it took over
    // included; the placeholder in the leaf owns nothing.
    BRUCE_RETURN_IF_ERROR(btree::FreeTree(w, &it->second.chunks));
    extents_.erase(it);
    return Status::OK();
  }
  if (old.existed) return btree::FreePtrValue(w, old.vtype, old.value);
  return Status::OK();
}

// ---- The Tree calls ----

Status TreeImpl::Get(std::string_view key, std::string* value) {
  BRUCE_RETURN_IF_ERROR(Usable());
  // A small value is copied straight into *value (its buffer reused).
  ValueType vt;
  Status st = btree::Get(txn_->source(), root_, key, value, &vt);
  BRUCE_RETURN_IF_ERROR(st);
  if (vt == ValueType::kInline) return Status::OK();
  ValueRef v;
  Status resolved = Resolve(key, std::move(*value), vt, &v);
  value->clear();  // it held the large value's descriptor
  BRUCE_RETURN_IF_ERROR(resolved);
  if (v.size > kMaxGetBytes) {
    return Status::InvalidArgument("the value is " + std::to_string(v.size) +
                                   " bytes: read it in ranges with ReadAt");
  }
  return ReadRange(v, 0, v.size, value);
}

PinnedValue::PinnedValue(std::string bytes) {
  auto own = std::make_shared<const std::string>(std::move(bytes));
  bytes_ = *own;
  owner_ = std::move(own);
}

Status TreeImpl::ReadPinned(std::string_view key, uint64_t offset, size_t n, PinnedValue* out) {
  BRUCE_RETURN_IF_ERROR(Usable());
  NodeView leaf;
  size_t i;
  BRUCE_RETURN_IF_ERROR(btree::Find(txn_->source(), root_, key, &leaf, &i));
  if (leaf.node->vtype(i) != ValueType::kInline || dupsort()) {
    std::string buf;
    BRUCE_RETURN_IF_ERROR(n == SIZE_MAX && offset == 0 ? Get(key, &buf) : ReadAt(key, offset, n, &buf));
    *out = PinnedValue(std::move(buf));
    return Status::OK();
  }
  std::string_view v = leaf.node->value(i);
  v = v.substr(std::min<uint64_t>(offset, v.size()), n);
  // A node this write transaction changed can change again: copy it.
  *out = leaf.pin ? PinnedValue(leaf.pin, v) : PinnedValue(std::string(v));
  return Status::OK();
}

Status TreeImpl::GetPinned(std::string_view key, PinnedValue* value) {
  return ReadPinned(key, 0, SIZE_MAX, value);
}

Status TreeImpl::Put(std::string_view key, std::string_view value) {
  if (dupsort()) return DupPut(key, value, 0, nullptr);
  WriteContext* w;
  BRUCE_RETURN_IF_ERROR(Writable(&w));
  BRUCE_RETURN_IF_ERROR(CheckKeySize(key));
  if (value.size() > kMaxValueSize) {
    return Status::InvalidArgument("value is " + std::to_string(value.size()) +
                                   " bytes; the limit for one Put is " +
                                   std::to_string(kMaxValueSize) + " (use WriteAt)");
  }
  changed_ = true;
  txn_->Changed();
  btree::OldValue old;
  bool added;
  if (value.size() <= inline_max()) {
    BRUCE_RETURN_IF_ERROR(
        btree::Put(w, &root_, key, value, ValueType::kInline, &added, &old, fill_));
    return DropValue(key, old);
  }
  Extent fresh;
  BRUCE_RETURN_IF_ERROR(WriteChunks(&fresh, 0, value));
  fresh.size = value.size();
  BRUCE_RETURN_IF_ERROR(
      btree::Put(w, &root_, key, format::EncodePtrValue({}), ValueType::kExtents, &added, &old,
                 fill_));
  BRUCE_RETURN_IF_ERROR(DropValue(key, old));
  extents_.emplace(std::string(key), std::move(fresh));
  return Status::OK();
}

Status TreeImpl::Put(std::string_view key, std::string_view value, uint32_t flags,
                     std::string* existing) {
  if (dupsort()) return DupPut(key, value, flags, existing);
  BRUCE_RETURN_IF_ERROR(Usable());
  if (flags & ~uint32_t{kNoOverwrite | kAppend}) return Status::InvalidArgument("unknown put flags");
  if (flags & kNoOverwrite) {
    ValueRef v;
    BRUCE_RETURN_IF_ERROR(Lookup(key, &v));
    if (v.exists) {
      if (existing) BRUCE_RETURN_IF_ERROR(Get(key, existing));
      return Status::Exists("key exists");
    }
  }
  if (flags & kAppend) {
    TreeCursor c(txn_->source(), &root_, nullptr);
    c.Last();
    BRUCE_RETURN_IF_ERROR(c.status());
    if (c.Valid() && key <= c.key()) {
      return Status::InvalidArgument("append: key is not greater than the last key");
    }
    // Nodes this load fills keep the store's append_fill.
    fill_ = txn_->options().append_fill;
    Status st = Put(key, value);
    fill_ = 0;
    return st;
  }
  return Put(key, value);
}

Result<char*> TreeImpl::Reserve(std::string_view key, size_t size) {
  WriteContext* w;
  BRUCE_RETURN_IF_ERROR(Writable(&w));
  BRUCE_RETURN_IF_ERROR(NotForDups("Reserve"));
  if (size > kMaxValueSize) {
    return Status::InvalidArgument("reserve of " + std::to_string(size) + " bytes; the limit is " +
                                   std::to_string(kMaxValueSize));
  }
  // The key exists (zeros) at once; the bytes go in at the next call.
  BRUCE_RETURN_IF_ERROR(Put(key, std::string_view()));
  reserved_.emplace(std::string(key), std::string(size, '\0'));
  return reserved_->second.data();
}

Status TreeImpl::Delete(std::string_view key) {
  if (dupsort()) return DupDelete(key, nullptr);
  WriteContext* w;
  BRUCE_RETURN_IF_ERROR(Writable(&w));
  btree::OldValue old;
  BRUCE_RETURN_IF_ERROR(btree::Delete(w, &root_, key, &old));
  changed_ = true;
  txn_->Changed();
  return DropValue(key, old);
}

Result<Entry> TreeImpl::Select(uint64_t i) {
  BRUCE_RETURN_IF_ERROR(Usable());
  Entry e;
  ValueType vt;
  BRUCE_RETURN_IF_ERROR(btree::Select(txn_->source(), root_, i, &e.key, &e.value, &vt));
  if (vt != ValueType::kInline) BRUCE_RETURN_IF_ERROR(Get(e.key, &e.value));
  return e;
}

Result<std::string> TreeImpl::KeyAt(uint64_t i) {
  BRUCE_RETURN_IF_ERROR(Usable());
  std::string key;
  BRUCE_RETURN_IF_ERROR(btree::Select(txn_->source(), root_, i, &key, nullptr, nullptr));
  return key;
}

Result<uint64_t> TreeImpl::ValueSize(std::string_view key) {
  ValueRef v;
  BRUCE_RETURN_IF_ERROR(Lookup(key, &v));
  if (!v.exists) return Status::NotFound("key not found");
  return v.size;
}

Status TreeImpl::ReadAt(std::string_view key, uint64_t offset, size_t n, std::string* out) {
  ValueRef v;
  BRUCE_RETURN_IF_ERROR(Lookup(key, &v));
  if (!v.exists) return Status::NotFound("key not found");
  return ReadRange(v, offset, n, out);
}

Status TreeImpl::WriteAt(std::string_view key, uint64_t offset, std::string_view data) {
  WriteContext* w;
  BRUCE_RETURN_IF_ERROR(Writable(&w));
  BRUCE_RETURN_IF_ERROR(NotForDups("WriteAt"));
  BRUCE_RETURN_IF_ERROR(CheckKeySize(key));
  if (offset > kMaxValueBytes || data.size() > kMaxValueBytes - offset) {
    return TooLarge(offset + data.size());
  }
  ValueRef v;
  BRUCE_RETURN_IF_ERROR(Lookup(key, &v));
  uint64_t size = std::max<uint64_t>(v.size, offset + data.size());
  changed_ = true;
  txn_->Changed();
  if (v.vtype == ValueType::kInline && size <= inline_max()) {
    std::string bytes = std::move(v.inline_bytes);
    bytes.resize(size, '\0');
    std::memcpy(bytes.data() + offset, data.data(), data.size());
    bool added;
    return btree::Put(w, &root_, key, bytes, ValueType::kInline, &added);
  }
  BRUCE_ASSIGN_OR_RETURN(Extent * e, MutableExtent(key, &v));
  BRUCE_RETURN_IF_ERROR(WriteChunks(e, offset, data));
  e->size = size;
  return Status::OK();
}

Status TreeImpl::Truncate(std::string_view key, uint64_t size) {
  WriteContext* w;
  BRUCE_RETURN_IF_ERROR(Writable(&w));
  BRUCE_RETURN_IF_ERROR(NotForDups("Truncate"));
  if (size > kMaxValueBytes) return TooLarge(size);
  ValueRef v;
  BRUCE_RETURN_IF_ERROR(Lookup(key, &v));
  if (!v.exists) return Status::NotFound("key not found");
  if (size == v.size) return Status::OK();
  changed_ = true;
  txn_->Changed();
  if (v.vtype == ValueType::kInline && size <= inline_max()) {
    v.inline_bytes.resize(size, '\0');
    bool added;
    return btree::Put(w, &root_, key, v.inline_bytes, ValueType::kInline, &added);
  }
  BRUCE_ASSIGN_OR_RETURN(Extent * e, MutableExtent(key, &v));
  if (size < e->size) BRUCE_RETURN_IF_ERROR(CutChunks(e, size));
  e->size = size;
  return Status::OK();
}

Result<uint64_t> TreeImpl::SeekData(std::string_view key, uint64_t offset, bool hole) {
  ValueRef v;
  BRUCE_RETURN_IF_ERROR(Lookup(key, &v));
  if (!v.exists) return Status::NotFound("key not found");
  if (offset >= v.size) return Status::NotFound("offset past the end of the value");
  if (v.vtype == ValueType::kInline || (!v.dirty && (v.desc.aux & format::kDirect))) {
    return hole ? v.size : offset;
  }
  uint64_t cs = chunk_size();
  TreeRoot clean;
  const TreeRoot* chunks = v.dirty ? &v.dirty->chunks : &clean;
  if (!v.dirty) clean.ptr = v.desc.ptr;
  TreeCursor c(txn_->source(), chunks, nullptr);
  uint64_t want = offset / cs;
  c.Seek(ChunkKey(want));
  if (!hole) {
    BRUCE_RETURN_IF_ERROR(c.status());
    if (!c.Valid() || ChunkIndex(c.key()) * cs >= v.size) {
      return Status::NotFound("no data past that offset");
    }
    return std::max(offset, ChunkIndex(c.key()) * cs);
  }
  // The first chunk index >= want that has no entry.
  for (; c.Valid() && ChunkIndex(c.key()) == want; c.Next()) want++;
  BRUCE_RETURN_IF_ERROR(c.status());
  return std::min(v.size, std::max(offset, want * cs));
}

Status TreeImpl::FlushValues() {
  BRUCE_RETURN_IF_ERROR(Usable());  // a pending Reserve
  WriteContext* w = txn_->writer();
  for (auto& [key, e] : extents_) {
    btree::OldValue old;
    bool added;
    if (e.size <= inline_max()) {
      // Shrunk back to a small value: inline again.
      ValueRef v;
      v.exists = true;
      v.vtype = ValueType::kExtents;
      v.dirty = &e;
      v.size = e.size;
      std::string bytes;
      BRUCE_RETURN_IF_ERROR(ReadRange(v, 0, e.size, &bytes));
      BRUCE_RETURN_IF_ERROR(btree::FreeTree(w, &e.chunks));
      BRUCE_RETURN_IF_ERROR(btree::Put(w, &root_, key, bytes, ValueType::kInline, &added));
      continue;
    }
    PtrValue d;
    d.aux = e.size;
    std::string k0, v0;
    ValueType vt0;
    if (e.chunks.Count() == 1 &&
        btree::Select(txn_->source(), e.chunks, 0, &k0, &v0, &vt0).ok() && k0 == ChunkKey(0) &&
        btree::Depth(txn_->source(), e.chunks).value() == 1) {
      // One chunk: point at its data block and drop the one-entry leaf.
      PtrValue data;
      format::DecodePtrValue(v0, &data);
      d.aux |= format::kDirect;
      d.ptr = data.ptr;
      if (!e.chunks.dirty && !e.chunks.ptr.null()) w->FreeRun(e.chunks.ptr);
    } else {
      BRUCE_RETURN_IF_ERROR(btree::Flush(w, &e.chunks));
      d.ptr = e.chunks.ptr;
    }
    BRUCE_RETURN_IF_ERROR(btree::Put(w, &root_, key, format::EncodePtrValue(d),
                                     ValueType::kExtents, &added));
  }
  extents_.clear();
  return Status::OK();
}

Status TreeImpl::FreeAll() {
  WriteContext* w = txn_->writer();
  for (auto& [key, e] : extents_) BRUCE_RETURN_IF_ERROR(btree::FreeTree(w, &e.chunks));
  extents_.clear();
  // Placeholders own nothing; every other value is freed with the tree.
  return btree::FreeTree(w, &root_);
}

Status TreeImpl::Relocate(btree::RelocateLimits lim) {
  WriteContext* w;
  BRUCE_RETURN_IF_ERROR(Writable(&w));
  BRUCE_RETURN_IF_ERROR(btree::Relocate(w, &root_, lim, false, nullptr));
  // Large values with a block or a chunk-tree node up there.
  std::vector<std::string> keys;
  {
    TreeCursor c(txn_->source(), &root_, nullptr);
    for (c.First(); c.Valid(); c.Next()) {
      if (c.vtype() != ValueType::kExtents || extents_.count(c.key())) continue;
      PtrValue v;
      if (!format::DecodePtrValue(c.value(), &v)) return Status::Corruption("malformed large value");
      if (v.ptr.null()) continue;
      bool move = v.ptr.page >= lim.limit && v.ptr.birth > lim.held;
      if (!move && !(v.aux & format::kDirect)) {
        BRUCE_ASSIGN_OR_RETURN(move, btree::NeedsRelocation(w, v.ptr, lim, true));
      }
      if (move) keys.emplace_back(c.key());
    }
    BRUCE_RETURN_IF_ERROR(c.status());
  }
  auto move_data = [&](format::Node* leaf, size_t i) -> Status {
    PtrValue v;
    format::DecodePtrValue(leaf->value(i), &v);
    std::vector<std::string> block(1);
    BRUCE_RETURN_IF_ERROR(txn_->source()->ReadData(v.ptr, &block[0]));
    std::vector<BlockPtr> moved;
    BRUCE_RETURN_IF_ERROR(w->WriteData(block, &moved));
    BRUCE_RETURN_IF_ERROR(w->FreeData(v.ptr));
    leaf->SetValue(i, format::EncodePtrValue({v.aux, moved[0]}), ValueType::kData);
    return Status::OK();
  };
  for (const std::string& k : keys) {
    ValueRef v;
    BRUCE_RETURN_IF_ERROR(Lookup(k, &v));
    BRUCE_ASSIGN_OR_RETURN(Extent * e, MutableExtent(k, &v));
    BRUCE_RETURN_IF_ERROR(btree::Relocate(w, &e->chunks, lim, true, move_data));
  }
  changed_ = true;
  return Status::OK();
}

// A cursor over a data tree: large values are read whole when asked for.
class ValueCursor final : public Cursor {
 public:
  ValueCursor(TreeImpl* tree, std::unique_ptr<TreeCursor> inner)
      : tree_(tree), inner_(std::move(inner)) {}
  void First() override { Move([&] { inner_->First(); }); }
  void Last() override { Move([&] { inner_->Last(); }); }
  void Seek(std::string_view key) override { Move([&] { inner_->Seek(key); }); }
  void Next() override { Move([&] { inner_->Next(); }); }
  void Prev() override { Move([&] { inner_->Prev(); }); }
  bool Valid() const override { return !parked_ && status_.ok() && inner_->Valid(); }
  std::string_view key() const override { return inner_->key(); }
  std::string_view value() const override {
    if (inner_->vtype() == ValueType::kInline) return inner_->value();
    std::string k(inner_->key());
    Status st = tree_->Get(k, &buf_);
    if (!st.ok()) {
      status_ = st;
      buf_.clear();
    }
    return buf_;
  }
  Status status() const override { return status_.ok() ? inner_->status() : status_; }

  bool SeekExact(std::string_view key) override {
    std::string k(key);
    Seek(k);
    parked_ = !inner_->Valid() || inner_->key() != k;
    return !parked_;
  }
  bool SeekPrefix(std::string_view prefix) override {
    std::string p(prefix);
    Seek(p);
    parked_ = !inner_->Valid() || inner_->key().substr(0, p.size()) != p;
    return !parked_;
  }
  Status Put(std::string_view value) override {
    if (!Valid()) return Status::InvalidArgument("the cursor is not on a key");
    std::string k(inner_->key());
    return tree_->Put(k, value);
  }
  Status Delete() override {
    if (!Valid()) return Status::InvalidArgument("the cursor is not on a key");
    std::string k(inner_->key());
    // The cursor sees the change and moves to the key that followed.
    return tree_->Delete(k);
  }

  // Without duplicates every key has one value.
  bool SeekBoth(std::string_view key, std::string_view value) override {
    std::string v(value);
    if (!SeekExact(key)) return false;
    parked_ = this->value() < v;
    return !parked_;
  }
  bool NextDup() override { return false; }
  bool PrevDup() override { return false; }
  void NextNoDup() override { Next(); }
  void PrevNoDup() override { Prev(); }
  Result<uint64_t> CountDups() override {
    if (!Valid()) return Status::InvalidArgument("the cursor is not on a key");
    return uint64_t{1};
  }

 private:
  template <typename F>
  void Move(F f) {
    parked_ = false;
    f();
  }

  TreeImpl* tree_;
  std::unique_ptr<TreeCursor> inner_;
  bool parked_ = false;
  mutable std::string buf_;
  mutable Status status_;
};

std::unique_ptr<Cursor> TreeImpl::NewCursor() {
  if (dupsort()) return NewDupCursor();
  return std::make_unique<ValueCursor>(
      this, std::make_unique<TreeCursor>(txn_->source(), &root_, txn_->generation()));
}

}  // namespace bruce
