#include "txn/db_impl.h"

#include <unistd.h>

#include <zstd.h>

#include <algorithm>

#include "format/hash.h"
#include "txn/optimistic.h"
#include "txn/txn_impl.h"

namespace bruce {

using format::BlockPtr;
using format::Meta;

namespace {
// The largest node a pointer may claim: one maximal entry plus a full page.
constexpr uint64_t kMaxNodeBytes = kMaxValueSize + kMaxKeySize + 2 * format::kMaxPageSize;
// The most a branch read cold asks the store to read ahead of its children.
constexpr uint64_t kBranchReadAhead = uint64_t{4} << 20;
}  // namespace

Result<std::unique_ptr<Db>> Db::Open(const std::string& path, const Options& options) {
  if (options.read_only && options.create_if_missing) {
    return Status::InvalidArgument("cannot create a store read-only");
  }
  std::unique_ptr<PageStore> store;
  std::unique_ptr<LockFile> lock;
  if (options.read_only) {
    // A reader that can publish in the reader table needs no lock on the
    // store: the writer (if any) keeps what it reads.
    BRUCE_ASSIGN_OR_RETURN(store,
                           OpenFileStore(path, false, true, /*lock=*/false, options.direct_io));
    auto lf = LockFile::Open(path);
    if (lf.ok()) {
      lock = std::move(*lf);
      BRUCE_RETURN_IF_ERROR(lock->Claim());
    } else {
      // No reader table (no write permission beside the store): the shared
      // lock keeps writers out instead, as it always did.
      store.reset();
      BRUCE_ASSIGN_OR_RETURN(store,
                             OpenFileStore(path, false, true, /*lock=*/true, options.direct_io));
    }
  } else {
    BRUCE_ASSIGN_OR_RETURN(store, OpenFileStore(path, options.create_if_missing, false,
                                                /*lock=*/true, options.direct_io));
    auto lf = LockFile::Open(path);
    if (lf.ok()) {
      lock = std::move(*lf);
    } else if (::access((path + "-lock").c_str(), F_OK) == 0) {
      // Readers may be publishing there: writing without seeing them could
      // reuse pages they read.
      return lf.status();
    }
  }
  if (options.append_fill < 0.5 || options.append_fill > 1.0) {
    return Open(std::shared_ptr<PageStore>(std::move(store)), options);  // the error
  }
  auto db = std::make_unique<DbImpl>(std::shared_ptr<PageStore>(std::move(store)), options);
  db->AttachLockFile(std::move(lock));
  BRUCE_RETURN_IF_ERROR(db->Init());
  db->HoldForReaders();
  return std::unique_ptr<Db>(std::move(db));
}

Result<std::unique_ptr<Db>> Db::Open(std::shared_ptr<PageStore> store, const Options& options) {
  if (!(options.append_fill >= 0.5 && options.append_fill <= 1.0)) {
    return Status::InvalidArgument("append_fill must be from 0.5 to 1, not " +
                                   std::to_string(options.append_fill));
  }
  auto db = std::make_unique<DbImpl>(std::move(store), options);
  BRUCE_RETURN_IF_ERROR(db->Init());
  return std::unique_ptr<Db>(std::move(db));
}

DbImpl::DbImpl(std::shared_ptr<PageStore> store, const Options& options)
    : store_(std::move(store)),
      options_(options),
      page_size_(options.page_size),
      cache_(options.cache_bytes != 0 ? options.cache_bytes : DefaultCacheBytes()),
      space_(store_.get(), options.page_size) {
  if (!options.read_only && options.write_thread) {
    write_behind_ = std::make_unique<WriteBehind>(store_.get());
  }
}

DbImpl::~DbImpl() {
  if (options_.read_only) return;
  uint64_t last;
  {
    std::lock_guard lock(state_mu_);
    last = current_.txn;
  }
  // What was sealed reaches the disk on close; then a clean record tells
  // the next open it need not read the last commit back.
  if (WaitDurable(last).ok()) (void)MarkClosed();
}

Status DbImpl::MarkClosed() {
  std::lock_guard sync(sync_mu_);
  if (!sync_error_.ok() || !(durable_meta_.flags & format::kMetaVerify)) return Status::OK();
  // The page of the other slot: its meta (the commit before) stays byte
  // for byte as it is; only the record past it changes.
  const uint64_t at = (1 - durable_slot_) * page_size_;
  std::string page(page_size_, '\0');
  BRUCE_RETURN_IF_ERROR(store_->Read(at, page_size_, page.data()));
  format::EncodeClean(durable_meta_, page.data() + format::kCleanOffset);
  BRUCE_RETURN_IF_ERROR(store_->Write(at, page));
  if (options_.durability != Durability::kNoSync) BRUCE_RETURN_IF_ERROR(store_->Sync());
  return Status::OK();
}

bool DbImpl::ClosedCleanly(const Meta& m) {
  std::string rec(format::kCleanSize, '\0');
  for (uint64_t slot = 0; slot < format::kMetaPages; slot++) {
    format::CleanRecord c;
    if (store_->Read(slot * m.page_size + format::kCleanOffset, rec.size(), rec.data()).ok() &&
        format::DecodeClean(rec.data(), &c) && format::CleanNames(c, m)) {
      return true;
    }
  }
  return false;
}

Status DbImpl::WaitDurable(uint64_t txn) {
  if (durable_txn_.load() >= txn) return Status::OK();  // no need to queue behind a sync
  std::lock_guard sync(sync_mu_);
  if (!sync_error_.ok()) return sync_error_;
  if (durable_txn_.load() >= txn) return Status::OK();
  Meta m;
  {
    std::lock_guard lock(state_mu_);
    m = sealed_;
  }
  if (m.txn <= durable_txn_.load()) return Status::OK();
  // Every page of every commit up to m was written before it was sealed.
  // One fdatasync makes them and the meta page durable together; the meta
  // says which commit it builds on, so open can check that everything born
  // since reached the disk (decision 14). A large group, or kFullTwoSync,
  // syncs its pages first and the meta page after, as before.
  m.base = durable_txn_.load();
  m.group_pages = group_pages_.exchange(0);
  const Durability d = options_.durability;
  const bool big = m.group_pages * page_size_ > kVerifyGroupBytes;
  const bool ordered = d == Durability::kFullTwoSync || (d == Durability::kFull && big);
  m.flags = big || ordered ? 0 : format::kMetaVerify;
  uint64_t slot = 1 - durable_slot_;
  Status st;
  if (ordered) st = store_->Sync();
  if (st.ok()) st = store_->Write(slot * page_size_, format::EncodeMeta(m));
  if (st.ok() && d != Durability::kNoSync) st = store_->Sync();
  if (!st.ok()) {
    sync_error_ = Status::IOError("a commit could not be made durable (" + st.ToString() +
                                      "); reopen the store to continue",
                                  st.err());
    Poison(st);
    return sync_error_;
  }
  durable_slot_ = slot;
  durable_meta_ = m;
  durable_txn_.store(m.txn);
  std::lock_guard lock(state_mu_);
  recovery_note_.clear();  // the skipped commit's meta slot is overwritten now
  recovery_damage_ = false;
  return Status::OK();
}

Status DbImpl::Init() {
  BRUCE_ASSIGN_OR_RETURN(uint64_t size, store_->Size());
  if (size == 0) {
    if (!options_.create_if_missing || options_.read_only) {
      return Status::InvalidArgument(store_->Name() + " is empty: not a bruce store");
    }
    return Create();
  }
  if (options_.error_if_exists) return Status::Exists(store_->Name() + " already exists");
  return OpenExisting(size);
}

Status DbImpl::Create() {
  if (!format::ValidPageSize(page_size_)) {
    return Status::InvalidArgument("page size must be a power of two from 4096 to 65536, not " +
                                   std::to_string(page_size_));
  }
  space_ = SpaceMap(store_.get(), page_size_);
  space_.InitEmpty();
  BRUCE_RETURN_IF_ERROR(store_->Write(0, std::string(page_size_, '\0')));
  BRUCE_ASSIGN_OR_RETURN(std::unique_ptr<WriteTxn> w, BeginWrite(WriteMode::kExclusive));
  BRUCE_RETURN_IF_ERROR(w->CreateTree("main").status());
  return w->Commit();
}

std::vector<Result<Meta>> DbImpl::ReadMetaSlots(uint64_t size) {
  // Slot 0 tells the page size; without it, look for slot 1 at every size.
  std::vector<Result<Meta>> slots;
  std::string buf(format::kMetaSize, '\0');
  if (size >= format::kMetaSize) {
    Status st = store_->Read(0, format::kMetaSize, buf.data());
    slots.push_back(st.ok() ? format::DecodeMeta(buf, 0) : Result<Meta>(st));
  }
  for (uint32_t ps = format::kMinPageSize; ps <= format::kMaxPageSize; ps *= 2) {
    if (!slots.empty() && slots[0].ok() && slots[0]->page_size != ps) continue;
    if (size < ps + format::kMetaSize) break;
    Status st = store_->Read(ps, format::kMetaSize, buf.data());
    if (!st.ok()) {
      slots.push_back(st);
      break;
    }
    Result<Meta> m = format::DecodeMeta(buf, 1);
    if (m.ok() && m->page_size != ps) continue;
    if (m.ok() || (!slots.empty() && slots[0].ok()) || m.status().code() == Code::kNotSupported) {
      slots.push_back(std::move(m));
      break;
    }
  }
  return slots;
}

Status DbImpl::OpenExisting(uint64_t size) {
  file_bound_ = size;
  if (lock_ && options_.read_only) return OpenBesideWriter();
  std::vector<Result<Meta>> slots = ReadMetaSlots(size);
  for (auto& m : slots) {
    if (!m.ok() && m.status().code() == Code::kIOError) return m.status();
  }
  std::vector<Meta> valid;
  std::string why;
  for (auto& m : slots) {
    if (m.status().code() == Code::kNotSupported) return m.status();
    if (m.ok()) {
      valid.push_back(m.value());
    } else {
      why += " [" + m.status().ToString() + "]";
    }
  }
  SortMetas(&valid);
  for (const Meta& m : valid) {
    Status st = TryMeta(m);
    if (st.ok()) {
      if (&m != &valid.front()) {
        const Meta& skipped = valid.front();
        if ((skipped.flags & format::kMetaVerify) && !ClosedCleanly(skipped)) {
          // Synced together with its pages, not closed cleanly, and not all
          // of them are there: most likely the machine stopped before that
          // one sync returned, so the commit was never durable (decision 14).
          recovery_note_ = "the newest commit, txn " + std::to_string(skipped.txn) +
                           ", is not wholly on disk (a crash before its sync returned, so it" +
                           " was never durable, or damage to what it wrote); the store opened" +
                           " at txn " + std::to_string(m.txn) + ":" + why;
        } else {
          // Its pages were synced before its meta page: this is damage.
          recovery_note_ = "the newest commit could not be used and the store opened at txn " +
                           std::to_string(m.txn) + " instead:" + why;
          recovery_damage_ = true;
        }
      }
      return st;
    }
    why += " [txn " + std::to_string(m.txn) + ": " + st.ToString() + "]";
  }
  return Status::Corruption(store_->Name() + " has no usable meta page:" + why);
}

void DbImpl::SortMetas(std::vector<Meta>* metas) {
  std::sort(metas->begin(), metas->end(), [](const Meta& a, const Meta& b) { return a.txn > b.txn; });
}

Status DbImpl::TryMeta(const Meta& m) {
  page_size_ = m.page_size;
  space_ = SpaceMap(store_.get(), page_size_);
  if (!m.catalog.null()) BRUCE_RETURN_IF_ERROR(LoadUncached(m.catalog).status());
  BRUCE_RETURN_IF_ERROR(space_.Load(m));
  Meta opened = m;
  if (m.flags & format::kMetaVerify) {
    if (ClosedCleanly(m)) {
      opened.flags &= ~format::kMetaVerify;  // and closing again need not say so
    } else {
      BRUCE_RETURN_IF_ERROR(VerifyGroup(m));
    }
  }
  SnapMap snaps;
  BRUCE_RETURN_IF_ERROR(LoadSnapshots(m.catalog, &snaps));
  std::lock_guard lock(state_mu_);
  current_ = Version{m.txn, m.catalog, m.time_ns, m.total_pages, m.free_pages, m.dead_pages};
  snaps_ = std::move(snaps);
  sealed_ = m;
  durable_txn_.store(m.txn);
  durable_slot_ = m.slot;
  durable_meta_ = opened;
  return Status::OK();
}

Result<NodeRef> DbImpl::LoadUncached(const BlockPtr& p) {
  BRUCE_ASSIGN_OR_RETURN(std::unique_ptr<format::Node> n, ReadNode(p));
  return format::Node::Freeze(std::move(n));
}

Result<std::unique_ptr<format::Node>> DbImpl::ReadNode(const BlockPtr& p) {
  if (p.page < format::kMetaPages) return Status::Corruption("pointer to a meta page", p.page);
  if (p.comp != format::Compression::kNone && p.comp != format::Compression::kZstd) {
    return Status::Corruption("unknown compression " + std::to_string(static_cast<int>(p.comp)),
                              p.page);
  }
  if (p.stored_len == 0 || p.stored_len > kMaxNodeBytes) {
    return Status::Corruption("implausible node length " + std::to_string(p.stored_len), p.page);
  }
  std::string buf(p.stored_len, '\0');
  BRUCE_RETURN_IF_ERROR(store_->Read(p.page * page_size_, p.stored_len, buf.data()));
  float ratio = 1.0f;
  if (p.comp == format::Compression::kZstd) {
    unsigned long long raw = ZSTD_getFrameContentSize(buf.data(), buf.size());
    if (raw == ZSTD_CONTENTSIZE_ERROR || raw == ZSTD_CONTENTSIZE_UNKNOWN || raw > kMaxNodeBytes) {
      return Status::Corruption("compressed node has no valid size", p.page);
    }
    std::string out(raw, '\0');
    // One decompression context per thread, reused.
    struct DCtx {
      ZSTD_DCtx* ctx = ZSTD_createDCtx();
      ~DCtx() { ZSTD_freeDCtx(ctx); }
    };
    thread_local DCtx dctx;
    size_t n = ZSTD_decompressDCtx(dctx.ctx, out.data(), out.size(), buf.data(), buf.size());
    if (ZSTD_isError(n) || n != raw) {
      return Status::Corruption(std::string("compressed node does not decompress: ") +
                                    (ZSTD_isError(n) ? ZSTD_getErrorName(n) : "short"),
                                p.page);
    }
    ratio = static_cast<float>(buf.size()) / static_cast<float>(raw);
    buf = std::move(out);
  }
  BRUCE_ASSIGN_OR_RETURN(std::unique_ptr<format::Node> n, format::Node::Decode(std::move(buf), p.page));
  n->set_ratio(ratio, ratio < 1.0f ? n->TightSize() : 0);
  if (!(n->hash() == p.hash)) return Status::Corruption("node hash mismatch", p.page);
  if (n->Count() != p.count) {
    return Status::Corruption("node key count does not match its parent's pointer", p.page);
  }
  return n;
}

Status DbImpl::ReadData(const BlockPtr& p, std::string* out) {
  BRUCE_RETURN_IF_ERROR(CheckDataPtr(p, page_size_));
  out->resize(p.stored_len);
  BRUCE_RETURN_IF_ERROR(store_->Read(p.page * page_size_, p.stored_len, out->data()));
  if (!(format::HashLogical(*out) == p.hash)) {
    return Status::Corruption("data block hash mismatch", p.page);
  }
  return Status::OK();
}

void DbImpl::Prefetch(const BlockPtr& p) {
  if (p.null() || cache_.Contains(p.page, p.hash)) return;
  store_->WillNeed(p.page * page_size_, p.stored_len);
}

Result<NodeRef> DbImpl::Load(const BlockPtr& p) {
  if (NodeRef n = cache_.Lookup(p.page, p.hash)) return n;
  BRUCE_ASSIGN_OR_RETURN(NodeRef n, LoadUncached(p));
  cache_.Insert(p.page, p.hash, n);
  // Branch read-ahead: the children of a branch two or more levels up are
  // branches, a small part of the store that most lookups pass through.
  // Asking the store for all of them at once lets a cold store read them in
  // parallel instead of one random read per lookup. Not with direct I/O (no
  // page cache to fill), nor for a node whose children would be more than
  // kBranchReadAhead bytes (large pages).
  if (n->level() >= 2 && !options_.direct_io &&
      n->size() * uint64_t{page_size_} <= kBranchReadAhead) {
    for (size_t i = 0; i < n->size(); i++) Prefetch(n->child(i));
  }
  return n;
}

SnapMap DbImpl::snapshots() {
  std::lock_guard lock(state_mu_);
  return snaps_;
}

Version DbImpl::PinCurrent() {
  std::lock_guard lock(state_mu_);
  readers_[current_.txn]++;
  return current_;
}

void DbImpl::Unpin(uint64_t txn) {
  uint64_t keep;
  {
    std::lock_guard lock(state_mu_);
    auto it = readers_.find(txn);
    if (it != readers_.end() && --it->second == 0) readers_.erase(it);
    keep = SlotTxn();
  }
  if (lock_ && options_.read_only) {
    // Raising the slot to a commit this process already holds needs no
    // check: that commit is protected since it was adopted.
    std::lock_guard slot(slot_mu_);
    if (keep > published_ && lock_->Publish(keep).ok()) published_ = keep;
  }
}

Result<std::unique_ptr<ReadTxn>> DbImpl::BeginRead() {
  BRUCE_RETURN_IF_ERROR(Refresh());
  Version v = PinCurrent();
  return std::unique_ptr<ReadTxn>(new ReadTxnImpl(this, v));
}

Result<std::unique_ptr<WriteTxn>> DbImpl::BeginWrite(WriteMode mode) {
  if (options_.read_only) return Status::ReadOnly("store was opened read-only");
  if (mode == WriteMode::kExclusive) {
    BRUCE_ASSIGN_OR_RETURN(Version base, AcquireWriter());
    return std::unique_ptr<WriteTxn>(new WriteTxnImpl(this, base));
  }
  {
    std::lock_guard lock(writer_mu_);
    if (!poisoned_.ok()) return poisoned_;
  }
  return std::unique_ptr<WriteTxn>(new OptimisticTxn(this, PinCurrent()));
}

Result<Version> DbImpl::AcquireWriter() {
  std::unique_lock lock(writer_mu_);
  writer_cv_.wait(lock, [this] { return !writer_active_; });
  if (!poisoned_.ok()) {
    writer_cv_.notify_one();  // the next waiter learns it too
    return poisoned_;
  }
  writer_active_ = true;
  lock.unlock();
  Version base;
  {
    std::lock_guard state(state_mu_);
    base = current_;
  }
  const uint64_t durable = ReleaseFreed();
  file_bound_ = std::max(file_bound_, space_.high_water() * page_size_);
  const uint64_t end = space_.total_pages() * page_size_;
  if (durable == base.txn && file_bound_ > end) {
    // Everything is on disk: a tail given back by a commit can leave the
    // file. (Failing to is harmless: pages past the end are unused.)
    auto size = store_->Size();
    if (size.ok() && (size.value() <= end || store_->Truncate(end).ok())) {
      file_bound_ = end;
      space_.ResetHighWater();
    }
  }
  return base;
}

void DbImpl::EndWrite() {
  std::lock_guard lock(writer_mu_);
  writer_active_ = false;
  writer_cv_.notify_one();
}

void DbImpl::Poison(const Status& why) {
  std::lock_guard lock(writer_mu_);
  poisoned_ = Status::IOError("a commit failed while writing its meta page (" + why.ToString() +
                                  "); reopen the store to continue",
                              why.err());
}

Status DbImpl::poisoned() {
  std::lock_guard lock(writer_mu_);
  return poisoned_;
}

Status DbImpl::Publish(const Meta& m, SnapMap snaps) {
  {
    std::lock_guard lock(state_mu_);
    current_ = Version{m.txn, m.catalog, m.time_ns, m.total_pages, m.free_pages, m.dead_pages};
    snaps_ = std::move(snaps);
    sealed_ = m;
  }
  group_pages_ += space_.allocated_pages();
  space_.Committed(m.txn);
  (void)ReleaseFreed();
  return Status::OK();
}

uint64_t DbImpl::ReleaseFreed() {
  // Pages freed by a commit are reused once no reader (in any process) and
  // no meta page that a crash could fall back to still sees them. Durable
  // first, readers after: a reader in another process that publishes after
  // the table is read then finds a newer meta page and tries again. The
  // table is read only when some frees could go (a commit's own frees wait
  // for it to be durable).
  const uint64_t durable = durable_txn_.load();
  if (space_.oldest_pending() <= durable) space_.Release(std::min(OldestReader(), durable));
  return durable;
}

std::string DbImpl::RootHash() {
  std::lock_guard lock(state_mu_);
  return format::HashHex(current_.catalog.hash);
}

namespace {

void AddSpace(SpaceStats* to, const SpaceStats& s) {
  to->logical_bytes += s.logical_bytes;
  to->stored_bytes += s.stored_bytes;
  to->stored_pages += s.stored_pages;
  to->nodes += s.nodes;
  to->compressed_nodes += s.compressed_nodes;
  to->data_blocks += s.data_blocks;
}

}  // namespace

Result<uint64_t> DbImpl::LogicalLength(const BlockPtr& p) {
  if (p.comp != format::Compression::kZstd) return uint64_t{p.stored_len};
  // A zstd frame header is at most 18 bytes (ZSTD_FRAMEHEADERSIZE_MAX) and
  // holds the content size (always written: see WriteNode).
  char head[18];
  size_t n = std::min<size_t>(sizeof(head), p.stored_len);
  BRUCE_RETURN_IF_ERROR(store_->Read(p.page * page_size_, n, head));
  unsigned long long raw = ZSTD_getFrameContentSize(head, n);
  if (raw == ZSTD_CONTENTSIZE_ERROR || raw == ZSTD_CONTENTSIZE_UNKNOWN || raw > kMaxNodeBytes) {
    return Status::Corruption("compressed node has no valid size", p.page);
  }
  return uint64_t{raw};
}

Status DbImpl::WalkSpace(const BlockPtr& p, bool follow, bool catalog, SpaceMemoMap* next,
                         SpaceStats* out) {
  auto it = space_memo_.find(p.page);
  if (it != space_memo_.end()) {
    const BlockPtr& m = it->second.ptr;
    if (m.birth == p.birth && m.hash == p.hash && m.stored_len == p.stored_len && m.comp == p.comp) {
      AddSpace(out, it->second.figures);
      next->emplace(p.page, it->second);
      return Status::OK();
    }
  }
  BRUCE_ASSIGN_OR_RETURN(NodeRef n, Load(p));
  SpaceStats f;
  f.nodes = 1;
  f.compressed_nodes = p.comp == format::Compression::kZstd ? 1 : 0;
  f.stored_bytes = p.stored_len;
  f.stored_pages = format::PagesFor(p.stored_len, page_size_);
  BRUCE_ASSIGN_OR_RETURN(f.logical_bytes, LogicalLength(p));
  for (size_t i = 0; i < n->size(); i++) {
    if (!n->leaf()) {
      BRUCE_RETURN_IF_ERROR(WalkSpace(n->child(i), follow, catalog, next, &f));
      continue;
    }
    format::ValueType vt = n->vtype(i);
    if (vt == format::ValueType::kInline || !follow) continue;
    format::PtrValue d;
    if (!format::DecodePtrValue(n->value(i), &d)) {
      return Status::Corruption("malformed pointer value", p.page);
    }
    if (d.ptr.null()) continue;  // an empty tree
    if (vt == format::ValueType::kData ||
        (vt == format::ValueType::kExtents && (d.aux & format::kDirect))) {
      f.logical_bytes += d.ptr.count;  // a data block: raw bytes, its length
      f.stored_bytes += d.ptr.stored_len;
      f.stored_pages += format::PagesFor(d.ptr.stored_len, page_size_);
      f.data_blocks++;
      continue;
    }
    // A tree below: a named tree (in the catalog), a large value's chunks,
    // a dup tree's overflow. The snapshot records' values are the catalogs
    // of snapshots: what they hold is not the live store's.
    bool snaps = catalog && n->key(i) == kSnapsTree;
    BRUCE_RETURN_IF_ERROR(WalkSpace(d.ptr, !snaps, false, next, &f));
  }
  // Branches are remembered (about one entry per fanout's worth of nodes);
  // a leaf is read again, through the cache, when its parent changed.
  if (!n->leaf()) next->emplace(p.page, SpaceMemo{p, f});
  AddSpace(out, f);
  return Status::OK();
}

Result<DbStats> DbImpl::Stat() {
  // One pinned version for every figure.
  Version v = PinCurrent();
  std::unique_ptr<ReadTxn> r(new ReadTxnImpl(this, v));
  DbStats s;
  s.txn_id = r->id();
  s.durable_txn = durable_txn_.load();
  s.page_size = page_size_;
  s.format_version = format::kFormatVersion;
  BRUCE_ASSIGN_OR_RETURN(s.file_bytes, store_->Size());
  s.total_pages = v.total_pages;
  s.free_pages = v.free_pages;
  s.used_pages = v.total_pages - v.free_pages;
  s.root_hash = format::HashHex(v.catalog.hash);
  BRUCE_ASSIGN_OR_RETURN(std::vector<std::string> names, r->ListTrees());
  s.trees = names.size();
  BRUCE_ASSIGN_OR_RETURN(s.main_keys, r->Main()->Count());
  BRUCE_ASSIGN_OR_RETURN(s.main_depth, r->Main()->Depth());
  {
    std::lock_guard lock(state_mu_);
    s.recovery_note = recovery_note_;
  }
  s.cache_hits = cache_.hits();
  s.cache_misses = cache_.misses();
  s.cache_evictions = cache_.evictions();
  {
    std::lock_guard lock(state_mu_);
    s.snapshots = snaps_.size();
  }
  s.cache_bytes = cache_.bytes();
  s.cache_budget = cache_.budget();
  return s;
}

Result<SpaceStats> DbImpl::Space() {
  // A pinned version: the reader keeps its pages whole while the walk reads
  // them.
  Version v = PinCurrent();
  std::unique_ptr<ReadTxn> r(new ReadTxnImpl(this, v));
  std::lock_guard walk(space_walk_mu_);
  SpaceMemoMap next;
  SpaceStats s;
  if (!v.catalog.null()) BRUCE_RETURN_IF_ERROR(WalkSpace(v.catalog, true, true, &next, &s));
  space_memo_ = std::move(next);
  return s;
}

}  // namespace bruce
