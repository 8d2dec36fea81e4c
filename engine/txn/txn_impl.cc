#include "txn/txn_impl.h"

#include <zstd.h>

#include <algorithm>
#include <chrono>
#include <cstring>

#include "format/bloom.h"
#include "format/coding.h"
#include "format/hash.h"
#include "format/meta.h"
#include "tree/cursor.h"

namespace bruce {

using format::BlockPtr;
using format::ValueType;

Status CheckTreeName(std::string_view name) {
  if (name.empty() || name.size() > kMaxTreeNameSize || name[0] == '\0') {
    return Status::InvalidArgument("tree name must be 1 to " + std::to_string(kMaxTreeNameSize) +
                                   " bytes, not starting with a NUL byte");
  }
  return Status::OK();
}

namespace {

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

Status TreeImpl::Usable() {
  if (!broken_.ok()) return broken_;
  BRUCE_RETURN_IF_ERROR(txn_->finished_status());
  if (reserved_) {
    auto r = std::move(*reserved_);
    reserved_.reset();
    BRUCE_RETURN_IF_ERROR(Put(r.first, r.second));
  }
  return Status::OK();
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
  for (c.First(); c.Valid(); c.Next()) {
    if (c.key()[0] != '\0') names.emplace_back(c.key());  // system trees stay hidden
  }
  BRUCE_RETURN_IF_ERROR(c.status());
  return names;
}

// ---- ReadTxnImpl ----

Result<NodeRef> ReadTxnImpl::Pins::Load(const BlockPtr& ptr) {
  Slot* slot = nullptr;
  if (slots_) {
    slot = &slots_[SlotOf(ptr.page)];
    if (slot->node && slot->page == ptr.page && slot->hash == ptr.hash) {
      return NodeRef(NodeRef(), slot->node.get());  // the pin owns it: no count
    }
  }
  BRUCE_ASSIGN_OR_RETURN(NodeRef n, db_->Load(ptr));
  if (!n->leaf()) {
    if (!slots_) {
      slots_ = std::make_unique<Slot[]>(kSlots);
      slot = &slots_[SlotOf(ptr.page)];
    }
    // A slot is never replaced: a node handed out uncounted stays alive.
    if (!slot->node) *slot = Slot{ptr.page, ptr.hash, n};
  }
  return n;
}

// ---- WriteTxnImpl ----

WriteTxnImpl::WriteTxnImpl(DbImpl* db, const Version& base, bool detached)
    : TxnBase(db, base.txn + 1, base.catalog),
      base_(base),
      snaps_(db->snapshots()),
      dead_pages_(base.dead_pages),
      detached_(detached) {
  writer_gen_ = &gen_;
  if (!detached_) db_->space().Begin();
}

void WriteTxnImpl::Attach() {
  detached_ = false;
  db_->space().Begin();
}

Status WriteTxnImpl::ReadPrivate(const BlockPtr& ptr, std::string* out) {
  auto it = private_.find(ptr.page);
  if (it == private_.end()) return Status::Corruption("no such private data block", ptr.page);
  *out = it->second;
  return Status::OK();
}

WriteTxnImpl::~WriteTxnImpl() {
  Abort();
  ZSTD_freeCCtx(cctx_);
}

Result<Tree*> WriteTxnImpl::CreateTree(std::string_view name) {
  return CreateTree(name, TreeOptions{});
}

Result<Tree*> WriteTxnImpl::CreateTree(std::string_view name, const TreeOptions& options) {
  BRUCE_RETURN_IF_ERROR(CheckTreeName(name));
  if (options.bloom_bits_per_key > 0 && options.dupsort) {
    return Status::InvalidArgument("Bloom filters are for trees without duplicate keys");
  }
  if (options.bloom_bits_per_key > format::kMaxBloomBitsPerKey) {
    return Status::InvalidArgument("bloom_bits_per_key " +
                                   std::to_string(options.bloom_bits_per_key) +
                                   " is over the most, " +
                                   std::to_string(format::kMaxBloomBitsPerKey));
  }
  auto t = Open(name);
  if (t.ok() && (*t)->dupsort() != options.dupsort) {
    return Status::InvalidArgument("tree '" + std::string(name) + "' exists " +
                                   ((*t)->dupsort() ? "with" : "without") + " duplicate keys");
  }
  if (t.ok() || !t.status().IsNotFound()) return t;
  // The compression level (the store's unless the options name one) and
  // dupsort are kept in the tree's flags.
  int level = options.compression_level < 0 ? db_->options().compression_level
                                            : options.compression_level;
  uint64_t flags = static_cast<uint64_t>(std::clamp(level, 0, 19));
  if (options.dupsort) flags |= kTreeDupSort;
  flags |= uint64_t{options.bloom_bits_per_key} << kTreeBloomShift;
  auto fresh = std::make_unique<TreeImpl>(this, std::string(name), flags, BlockPtr{});
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
  BRUCE_RETURN_IF_ERROR(impl->FreeAll());
  Status st = btree::Delete(this, &catalog_, name);
  if (!st.ok() && !st.IsNotFound()) return st;  // NotFound: created in this transaction
  auto it = trees_.find(name);
  dropped_.push_back(std::move(it->second));
  trees_.erase(it);
  dropped_.back()->MarkDropped();
  Changed();
  return Status::OK();
}

void WriteTxnImpl::FreeRun(const BlockPtr& ptr) {
  uint64_t pages = format::PagesFor(ptr.stored_len, db_->page_size());
  if (ptr.page >= kPrivatePage) {
    auto it = private_.find(ptr.page);
    if (it != private_.end()) {
      private_bytes_ -= it->second.size();
      private_.erase(it);
    }
    return;
  }
  if (ptr.birth == id_) {
    db_->space().Free(ptr.page, pages);  // written by this transaction: free at once
    return;
  }
  frees_.push_back(Freed{ptr.page, pages, ptr.birth});
}

Result<BlockPtr> WriteTxnImpl::WriteNode(std::unique_ptr<format::Node> node, int zstd_level) {
  if (detached_) return Status::NotSupported("a detached transaction writes no nodes");
  uint32_t ps = db_->page_size();
  format::Hash128 hash = node->Encode(&scratch_);
  BlockPtr p;
  std::string_view body = scratch_;
  if (zstd_level > 0 && scratch_.size() > ps) {
    // Stored compressed only when that takes fewer pages (so a node of one
    // page never is; how well it would compress is measured when it grows
    // past a page, in the tree's split decision).
    size_t n = Compress(scratch_, zstd_level);
    if (!ZSTD_isError(n)) {
      node->set_ratio(static_cast<float>(n) / static_cast<float>(scratch_.size()), scratch_.size());
      if (format::PagesFor(n, ps) < format::PagesFor(scratch_.size(), ps)) {
        body = std::string_view(packed_.data(), n);
        p.comp = format::Compression::kZstd;
      }
    }
  }
  p.stored_len = static_cast<uint32_t>(body.size());
  uint64_t pages = format::PagesFor(body.size(), ps);
  p.page = db_->space().Allocate(pages);
  p.birth = id_;
  p.hash = hash;
  p.count = node->Count();
  // Runs of adjacent pages go to the store in one write. A batch that grows
  // past 64 KiB has its whole room reserved at once (later batches reuse
  // the write thread's buffers); a commit of a few nodes never takes it.
  if (batch_.bytes.size() >= (64 << 10) && batch_.bytes.capacity() < kBatchBytes) {
    batch_.bytes.reserve(kBatchBytes + (64 << 10));
  }
  batch_.Add(p.page * ps, body, pages * ps);
  if (batch_.size() >= kBatchBytes) BRUCE_RETURN_IF_ERROR(FlushBatch());
  // To the cache at commit, frozen.
  written_[p.page] = Written{p.page, hash, format::Node::Freeze(std::move(node))};
  return p;
}

size_t WriteTxnImpl::Compress(const std::string& in, int level) {
  if (!cctx_) cctx_ = ZSTD_createCCtx();
  // packed_ only grows: the output is its first n bytes (no zero-filling of
  // a fresh bound's worth of bytes on every call).
  size_t bound = ZSTD_compressBound(in.size());
  if (packed_.size() < bound) packed_.resize(bound);
  return ZSTD_compressCCtx(cctx_, packed_.data(), packed_.size(), in.data(), in.size(), level);
}

namespace {

// How a node compresses is learnt from its lineage: a split hands the
// measured ratio down to the new node. A ratio at or above kNoGain cannot
// save a page (a node grows to a page raw before its estimate reaches the
// split point, 15/16 of a page), so a node whose lineage measured that is
// not measured again: only one in kReprobe of them is (chosen by a hash of
// its last key, so it is spread over the tree and the same in every run),
// which notices when a tree's data becomes compressible.
constexpr float kNoGain = 15.0f / 16.0f;
constexpr uint64_t kReprobe = 16;

// Bytes of a locator as written (a page number, a length, a compression
// byte and a birth), counted as incompressible in a measurement: the node's
// TightSize takes them at their largest.
constexpr size_t kLocatorGuess = 4 + 2 + 1 + 3;

}  // namespace

float WriteTxnImpl::MeasureRatio(format::Node* node, int level) {
  size_t raw = node->TightSize();
  if (node->measured() != 0 && node->ratio() >= kNoGain && node->size() > 0 &&
      format::Checksum64(node->key(node->size() - 1)) % kReprobe != 0) {
    node->set_ratio(node->ratio(), raw);
    return node->ratio();
  }
  // What is measured is the node's logical section as Encode lays it out,
  // built without hashing it: lengths, keys past the shared prefix, value
  // types and inline values; a branch's child counts. Children's hashes
  // (random, and not yet known for dirty children) and locators never
  // compress, so they are counted at full size instead of being measured.
  std::string& in = scratch_;
  in.clear();
  size_t prefix = node->SharedPrefix();
  size_t fixed = format::kNodeHeaderSize + format::kNodeTrailerSize;
  std::string_view last = node->size() > 0 ? node->key(node->size() - 1) : std::string_view();
  format::PutVarint(&in, prefix);
  in.append(last.substr(0, prefix));
  for (size_t i = 0; i < node->size(); i++) {
    std::string_view k = node->key(i);
    if (node->leaf() || i > 0) k.remove_prefix(std::min(prefix, k.size()));
    format::PutVarint(&in, k.size());
    in.append(k);
    if (!node->leaf()) {
      format::PutVarint(&in, node->child(i).count);
      fixed += format::kHashBytes + kLocatorGuess;
      continue;
    }
    in.push_back(static_cast<char>(node->vtype(i)));
    if (node->vtype(i) == ValueType::kInline) {
      format::PutVarint(&in, node->value(i).size());
      in.append(node->value(i));
    } else {
      fixed += 2 * format::kMaxVarint64 + format::kHashBytes + kLocatorGuess;  // aux, count, hash
    }
  }
  size_t n = Compress(in, level);
  size_t stored = (ZSTD_isError(n) ? in.size() : n) + fixed;
  float ratio = raw == 0 ? 1.0f : static_cast<float>(stored) / static_cast<float>(raw);
  node->set_ratio(ratio, raw);
  return ratio;
}

Status WriteTxnImpl::WriteData(const std::vector<std::string>& blocks, std::vector<BlockPtr>* out) {
  uint32_t ps = db_->page_size();
  out->clear();
  if (blocks.empty()) return Status::OK();
  for (const std::string& b : blocks) {
    if (b.empty() || b.size() > ps) {
      return Status::InvalidArgument("a data block of " + std::to_string(b.size()) +
                                     " bytes (1 to a page)");
    }
  }
  if (detached_) {
    for (const std::string& b : blocks) {
      BlockPtr p;
      p.page = next_private_++;
      p.stored_len = static_cast<uint32_t>(b.size());
      p.birth = id_;
      p.hash = format::HashLogical(b);
      p.count = b.size();
      private_[p.page] = b;
      private_bytes_ += b.size();
      out->push_back(p);
    }
    wrote_private_ = true;
    return Status::OK();
  }
  BRUCE_RETURN_IF_ERROR(WriteOut());
  uint64_t first = db_->space().Allocate(blocks.size());
  std::string run(blocks.size() * ps, '\0');
  for (size_t i = 0; i < blocks.size(); i++) {
    std::memcpy(run.data() + i * ps, blocks[i].data(), blocks[i].size());
    BlockPtr p;
    p.page = first + i;
    p.stored_len = static_cast<uint32_t>(blocks[i].size());
    p.birth = id_;
    p.hash = format::HashLogical(blocks[i]);
    p.count = blocks[i].size();
    out->push_back(p);
  }
  Status st = db_->store()->Write(first * ps, run);
  if (!st.ok()) {
    db_->space().Free(first, blocks.size());  // allocated here: back at once
    out->clear();
  }
  return st;
}

Status WriteTxnImpl::FlushBatch() {
  if (batch_.empty()) return Status::OK();
  // The write thread only while written_ keeps every node it holds: a node
  // dropped from written_ is read back from the store.
  WriteBehind* wb = keep_written_ ? db_->write_behind() : nullptr;
  if (wb) {
    submitted_ = true;
    Status st = wb->Submit(&batch_);
    batch_ = wb->TakeBuffer();
    return st;
  }
  return WriteOut();
}

Status WriteTxnImpl::WriteOut() {
  Status st;
  if (submitted_) {
    st = db_->write_behind()->Drain();
    submitted_ = false;
  }
  if (st.ok()) st = batch_.WriteTo(db_->store());
  batch_.clear();
  // Every node this transaction encoded is in the store now: the ones it
  // does not keep are read back from there.
  if (st.ok() && !keep_written_) written_.clear();
  return st;
}

void WriteTxnImpl::DropWrites() {
  if (submitted_) (void)db_->write_behind()->Drain();
  submitted_ = false;
  batch_.clear();
}

Status WriteTxnImpl::DoCommit() {
  for (auto& [name, t] : trees_) {
    if (!t->changed() && !t->root().dirty) continue;
    BRUCE_RETURN_IF_ERROR(t->FlushValues());
    BRUCE_RETURN_IF_ERROR(btree::Flush(this, &t->root()));
    bool added;
    BRUCE_RETURN_IF_ERROR(btree::Put(this, &catalog_, name,
                                     format::EncodePtrValue({t->flags(), t->root().ptr}),
                                     ValueType::kTree, &added));
  }
  BRUCE_RETURN_IF_ERROR(CommitSystem());
  BRUCE_RETURN_IF_ERROR(btree::Flush(this, &catalog_));
  BRUCE_RETURN_IF_ERROR(WriteOut());

  format::Meta m;
  m.page_size = db_->page_size();
  m.txn = id_;
  m.time_ns = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
  m.catalog = catalog_.ptr;
  m.dead_pages = dead_pages_;
  BRUCE_RETURN_IF_ERROR(db_->space().WriteLog(id_, &m));
  // Sealed: every page is written. The meta page comes with WaitDurable.
  for (auto& [page, w] : written_) db_->cache().Insert(page, w.hash, std::move(w.node));
  written_.clear();
  return db_->Publish(m, std::move(snaps_));
}

Status WriteTxnImpl::Commit() {
  BRUCE_ASSIGN_OR_RETURN(uint64_t txn, CommitNoWait());
  return db_->WaitDurable(txn);
}

bool WriteTxnImpl::HasChanges() const {
  if (catalog_.dirty != nullptr || !dropped_.empty() || !created_.empty() || !destroyed_.empty() ||
      !frees_.empty() || force_) {
    return true;
  }
  for (const auto& [name, t] : trees_) {
    if (t->changed() || t->root().dirty) return true;
  }
  return false;
}

Result<uint64_t> WriteTxnImpl::CommitNoWait() {
  BRUCE_RETURN_IF_ERROR(finished_status());
  if (detached_) return Status::NotSupported("a detached transaction cannot commit itself");
  if (Status poisoned = db_->poisoned(); !poisoned.ok()) {
    // An earlier commit could not be made durable after this one began.
    Abort();
    return poisoned;
  }
  if (!HasChanges()) {
    Abort();
    return id_ - 1;
  }
  Status st = DoCommit();
  if (!st.ok()) {
    DropWrites();  // nothing of this transaction may land after the rollback
    written_.clear();
    db_->space().Rollback();
  }
  finished_ = true;
  db_->EndWrite();
  if (!st.ok()) return st;
  return id_;
}

void WriteTxnImpl::Abort() {
  if (finished_) return;
  if (detached_) {
    finished_ = true;
    private_.clear();
    return;
  }
  DropWrites();
  db_->space().Rollback();
  finished_ = true;
  db_->EndWrite();
}

}  // namespace bruce
