#include "txn/txn_impl.h"

#include <chrono>

#include "format/hash.h"
#include "format/meta.h"
#include "tree/cursor.h"

namespace bruce {

using format::BlockPtr;
using format::ValueType;

namespace {

Status CheckTreeName(std::string_view name) {
  if (name.empty() || name.size() > kMaxTreeNameSize) {
    return Status::InvalidArgument("tree name must be 1 to " + std::to_string(kMaxTreeNameSize) +
                                   " bytes");
  }
  return Status::OK();
}

// The smallest key greater than every key starting with prefix; false when
// there is none (the prefix is empty or all 0xff).
bool PrefixSuccessor(std::string_view prefix, std::string* out) {
  std::string s(prefix);
  while (!s.empty() && static_cast<unsigned char>(s.back()) == 0xff) s.pop_back();
  if (s.empty()) return false;
  s.back() = static_cast<char>(static_cast<unsigned char>(s.back()) + 1);
  *out = std::move(s);
  return true;
}

}  // namespace

// ---- TreeImpl ----

Status TreeImpl::Usable() const {
  if (!broken_.ok()) return broken_;
  return txn_->finished_status();
}

Status TreeImpl::Get(std::string_view key, std::string* value) {
  BRUCE_RETURN_IF_ERROR(Usable());
  ValueType vt;
  BRUCE_RETURN_IF_ERROR(btree::Get(txn_->source(), root_, key, value, &vt));
  if (vt != ValueType::kInline) return Status::Corruption("tree value where a value was expected");
  return Status::OK();
}

Status TreeImpl::Put(std::string_view key, std::string_view value) {
  BRUCE_RETURN_IF_ERROR(Usable());
  WriteContext* w = txn_->writer();
  if (!w) return Status::ReadOnly("put in a read transaction");
  if (key.size() > kMaxKeySize) {
    return Status::InvalidArgument("key is " + std::to_string(key.size()) + " bytes; the limit is " +
                                   std::to_string(kMaxKeySize));
  }
  if (value.size() > kMaxValueSize) {
    return Status::InvalidArgument("value is " + std::to_string(value.size()) +
                                   " bytes; the limit is " + std::to_string(kMaxValueSize));
  }
  bool added;
  Status st = btree::Put(w, &root_, key, value, ValueType::kInline, &added);
  changed_ = true;
  txn_->Changed();
  return st;
}

Status TreeImpl::Delete(std::string_view key) {
  BRUCE_RETURN_IF_ERROR(Usable());
  WriteContext* w = txn_->writer();
  if (!w) return Status::ReadOnly("delete in a read transaction");
  Status st = btree::Delete(w, &root_, key);
  if (!st.IsNotFound()) {
    changed_ = true;
    txn_->Changed();
  }
  return st;
}

Result<uint64_t> TreeImpl::Count() {
  BRUCE_RETURN_IF_ERROR(Usable());
  return root_.Count();
}

Result<uint64_t> TreeImpl::Count(std::string_view lo, std::string_view hi) {
  BRUCE_RETURN_IF_ERROR(Usable());
  if (hi <= lo) return uint64_t{0};
  BRUCE_ASSIGN_OR_RETURN(uint64_t a, btree::Rank(txn_->source(), root_, lo));
  BRUCE_ASSIGN_OR_RETURN(uint64_t b, btree::Rank(txn_->source(), root_, hi));
  return b - a;
}

Result<uint64_t> TreeImpl::CountPrefix(std::string_view prefix) {
  BRUCE_RETURN_IF_ERROR(Usable());
  BRUCE_ASSIGN_OR_RETURN(uint64_t a, btree::Rank(txn_->source(), root_, prefix));
  std::string next;
  if (!PrefixSuccessor(prefix, &next)) return root_.Count() - a;
  BRUCE_ASSIGN_OR_RETURN(uint64_t b, btree::Rank(txn_->source(), root_, next));
  return b - a;
}

Result<uint64_t> TreeImpl::Rank(std::string_view key) {
  BRUCE_RETURN_IF_ERROR(Usable());
  return btree::Rank(txn_->source(), root_, key);
}

Result<Entry> TreeImpl::Select(uint64_t i) {
  BRUCE_RETURN_IF_ERROR(Usable());
  Entry e;
  BRUCE_RETURN_IF_ERROR(btree::Select(txn_->source(), root_, i, &e.key, &e.value, nullptr));
  return e;
}

std::unique_ptr<Cursor> TreeImpl::NewCursor() {
  return std::make_unique<TreeCursor>(txn_->source(), &root_, txn_->generation());
}

Result<std::string> TreeImpl::RootHashHex() {
  BRUCE_RETURN_IF_ERROR(Usable());
  if (root_.dirty) {
    return Status::InvalidArgument("the root hash of a changed tree is known once it commits");
  }
  return format::HashHex(root_.ptr.hash);
}

Result<uint32_t> TreeImpl::Depth() {
  BRUCE_RETURN_IF_ERROR(Usable());
  return btree::Depth(txn_->source(), root_);
}

// The byte-range calls, on whole values for now.

Result<uint64_t> TreeImpl::ValueSize(std::string_view key) {
  std::string v;
  BRUCE_RETURN_IF_ERROR(Get(key, &v));
  return static_cast<uint64_t>(v.size());
}

Status TreeImpl::ReadAt(std::string_view key, uint64_t offset, size_t n, std::string* out) {
  std::string v;
  BRUCE_RETURN_IF_ERROR(Get(key, &v));
  out->clear();
  if (offset < v.size()) out->assign(v, offset, std::min<uint64_t>(n, v.size() - offset));
  return Status::OK();
}

Status TreeImpl::WriteAt(std::string_view key, uint64_t offset, std::string_view data) {
  std::string v;
  Status st = Get(key, &v);
  if (!st.ok() && !st.IsNotFound()) return st;
  if (offset + data.size() > kMaxValueSize) {
    return Status::InvalidArgument("value would exceed " + std::to_string(kMaxValueSize) + " bytes");
  }
  if (v.size() < offset + data.size()) v.resize(offset + data.size(), '\0');
  v.replace(offset, data.size(), data);
  return Put(key, v);
}

Status TreeImpl::Truncate(std::string_view key, uint64_t size) {
  std::string v;
  BRUCE_RETURN_IF_ERROR(Get(key, &v));
  if (size > kMaxValueSize) {
    return Status::InvalidArgument("value would exceed " + std::to_string(kMaxValueSize) + " bytes");
  }
  v.resize(size, '\0');
  return Put(key, v);
}

Status TreeImpl::Rename(std::string_view from, std::string_view to) {
  std::string v;
  BRUCE_RETURN_IF_ERROR(Get(from, &v));
  if (from == to) return Status::OK();
  BRUCE_RETURN_IF_ERROR(Put(to, v));
  return Delete(from);
}

Result<uint64_t> TreeImpl::SeekData(std::string_view key, uint64_t offset, bool hole) {
  BRUCE_ASSIGN_OR_RETURN(uint64_t size, ValueSize(key));
  if (offset >= size) return Status::NotFound("offset past the end of the value");
  return hole ? size : offset;
}

// ---- TxnBase ----

Status TxnBase::finished_status() const {
  if (finished_) return Status::InvalidArgument("transaction already finished");
  return Status::OK();
}

Result<Tree*> TxnBase::Open(std::string_view name) {
  BRUCE_RETURN_IF_ERROR(finished_status());
  auto it = trees_.find(name);
  if (it != trees_.end()) return static_cast<Tree*>(it->second.get());
  std::string value;
  ValueType vt;
  Status st = btree::Get(source(), catalog_, name, &value, &vt);
  if (st.IsNotFound()) return Status::NotFound("no tree named '" + std::string(name) + "'");
  BRUCE_RETURN_IF_ERROR(st);
  format::PtrValue d;
  if (vt != ValueType::kTree || !format::DecodePtrValue(value, &d)) {
    return Status::Corruption("catalog entry for '" + std::string(name) + "' is not a tree");
  }
  auto t = std::make_unique<TreeImpl>(this, std::string(name), d.aux, d.ptr);
  Tree* raw = t.get();
  trees_.emplace(std::string(name), std::move(t));
  return raw;
}

Tree* TxnBase::MainTree() {
  auto t = Open("main");
  if (t.ok()) return t.value();
  auto broken = std::make_unique<TreeImpl>(this, "main", t.status());
  Tree* raw = broken.get();
  trees_["main"] = std::move(broken);
  return raw;
}

Result<std::vector<std::string>> TxnBase::Names() {
  BRUCE_RETURN_IF_ERROR(finished_status());
  std::vector<std::string> names;
  TreeCursor c(source(), &catalog_, generation());
  for (c.First(); c.Valid(); c.Next()) names.emplace_back(c.key());
  BRUCE_RETURN_IF_ERROR(c.status());
  return names;
}

// ---- WriteTxnImpl ----

WriteTxnImpl::WriteTxnImpl(DbImpl* db, const Version& base) : TxnBase(db, base.txn + 1, base.catalog) {
  writer_gen_ = &gen_;
  db_->space().Begin();
}

WriteTxnImpl::~WriteTxnImpl() { Abort(); }

Result<Tree*> WriteTxnImpl::CreateTree(std::string_view name) {
  BRUCE_RETURN_IF_ERROR(CheckTreeName(name));
  auto t = Open(name);
  if (t.ok() || !t.status().IsNotFound()) return t;
  auto fresh = std::make_unique<TreeImpl>(this, std::string(name), 0, BlockPtr{});
  fresh->root().dirty = std::make_unique<format::Node>(0);  // committed even if left empty
  Tree* raw = fresh.get();
  trees_.emplace(std::string(name), std::move(fresh));
  Changed();
  return raw;
}

Status WriteTxnImpl::DropTree(std::string_view name) {
  BRUCE_RETURN_IF_ERROR(CheckTreeName(name));
  if (name == "main") return Status::InvalidArgument("the main tree cannot be dropped");
  BRUCE_ASSIGN_OR_RETURN(Tree * t, Open(name));
  auto* impl = static_cast<TreeImpl*>(t);
  // Empty the tree through the normal paths so every page it used is freed.
  TreeRoot& r = impl->root();
  BRUCE_RETURN_IF_ERROR(btree::Flush(this, &r));
  BRUCE_RETURN_IF_ERROR(btree::FreeSubtree(this, r.ptr));
  Status st = btree::Delete(this, &catalog_, name);
  if (!st.ok() && !st.IsNotFound()) return st;  // NotFound: created in this transaction
  auto it = trees_.find(name);
  dropped_.push_back(std::move(it->second));
  trees_.erase(it);
  dropped_.back()->MarkDropped();
  Changed();
  return Status::OK();
}

Status WriteTxnImpl::CreateSnapshot(std::string_view) {
  return Status::NotSupported("snapshots are not implemented yet");
}

Status WriteTxnImpl::DestroySnapshot(std::string_view) {
  return Status::NotSupported("snapshots are not implemented yet");
}

void WriteTxnImpl::FreeRun(const BlockPtr& ptr) {
  db_->space().Free(ptr.page, format::PagesFor(ptr.stored_len, db_->page_size()));
}

Result<BlockPtr> WriteTxnImpl::WriteNode(std::unique_ptr<format::Node> node) {
  uint32_t ps = db_->page_size();
  format::Hash128 hash = node->Encode(&scratch_);
  BlockPtr p;
  p.stored_len = static_cast<uint32_t>(scratch_.size());
  uint64_t pages = format::PagesFor(scratch_.size(), ps);
  p.page = db_->space().Allocate(pages);
  p.birth = id_;
  p.hash = hash;
  p.count = node->Count();
  // Runs of adjacent pages go to the store in one write.
  if (!batch_.empty() && p.page != batch_page_ + batch_.size() / ps) {
    BRUCE_RETURN_IF_ERROR(FlushBatch());
  }
  if (batch_.empty()) batch_page_ = p.page;
  batch_.append(scratch_);
  batch_.resize(batch_.size() + pages * ps - scratch_.size(), '\0');
  if (batch_.size() >= kBatchBytes) BRUCE_RETURN_IF_ERROR(FlushBatch());
  written_.push_back(Written{p.page, hash, NodeRef(std::move(node))});
  return p;
}

Status WriteTxnImpl::FlushBatch() {
  if (batch_.empty()) return Status::OK();
  Status st = db_->store()->Write(batch_page_ * db_->page_size(), batch_);
  batch_.clear();
  return st;
}

Status WriteTxnImpl::DoCommit(bool* meta_started) {
  for (auto& [name, t] : trees_) {
    if (!t->changed() && !t->root().dirty) continue;
    BRUCE_RETURN_IF_ERROR(btree::Flush(this, &t->root()));
    bool added;
    BRUCE_RETURN_IF_ERROR(btree::Put(this, &catalog_, name,
                                     format::EncodePtrValue({t->flags(), t->root().ptr}),
                                     ValueType::kTree, &added));
  }
  BRUCE_RETURN_IF_ERROR(btree::Flush(this, &catalog_));
  BRUCE_RETURN_IF_ERROR(FlushBatch());

  format::Meta m;
  m.page_size = db_->page_size();
  m.txn = id_;
  m.time_ns = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
  m.catalog = catalog_.ptr;
  BRUCE_RETURN_IF_ERROR(db_->space().WriteLog(id_, &m));
  bool sync = db_->options().durability == Durability::kFull;
  if (sync) BRUCE_RETURN_IF_ERROR(db_->store()->Sync());
  *meta_started = true;
  BRUCE_RETURN_IF_ERROR(
      db_->store()->Write((id_ % 2) * m.page_size, format::EncodeMeta(m)));
  if (sync) BRUCE_RETURN_IF_ERROR(db_->store()->Sync());
  for (Written& w : written_) db_->cache().Insert(w.page, w.hash, std::move(w.node));
  written_.clear();
  return db_->Publish(m);
}

Status WriteTxnImpl::Commit() {
  BRUCE_RETURN_IF_ERROR(finished_status());
  bool any = catalog_.dirty != nullptr;
  for (auto& [name, t] : trees_) any = any || t->changed() || t->root().dirty;
  if (!dropped_.empty()) any = true;
  if (!any) {
    Abort();
    return Status::OK();
  }
  bool meta_started = false;
  Status st = DoCommit(&meta_started);
  if (!st.ok()) {
    written_.clear();
    batch_.clear();
    if (meta_started) {
      db_->Poison(st);
    } else {
      db_->space().Rollback();
    }
  }
  finished_ = true;
  db_->EndWrite();
  return st;
}

void WriteTxnImpl::Abort() {
  if (finished_) return;
  db_->space().Rollback();
  finished_ = true;
  db_->EndWrite();
}

}  // namespace bruce
