// txn/readers.cc — readers in other processes: the read-only side of the
// reader table (store/lock_file.h; rules in docs/FORMAT.md "Lock file"):
// opening beside a writer, following its commits, and what the writer
// reads from the table before it reuses pages.
#include <algorithm>

#include "txn/db_impl.h"

namespace bruce {

using format::Meta;

bool DbImpl::NewestMeta(Meta* out) {
  // The page size is known once open: read the two slots where they are,
  // without asking the file its size (on Linux 6.13 and later a stat from
  // any process costs the writer's next fdatasync a write of the inode).
  std::string buf(format::kMetaSize, '\0');
  bool found = false;
  for (uint64_t slot = 0; slot < format::kMetaPages; slot++) {
    if (!store_->Read(slot * page_size_, format::kMetaSize, buf.data()).ok()) continue;
    Result<Meta> m = format::DecodeMeta(buf, slot);
    if (m.ok() && m->page_size == page_size_ && (!found || m->txn > out->txn)) {
      *out = *m;
      found = true;
    }
  }
  return found;
}

Status DbImpl::OpenBesideWriter() {
  // A writer may be committing meanwhile. Publish the oldest commit the
  // meta pages name, then read both again: the same commits in both say no
  // commit became durable in between (so none of their pages was reused before
  // the writer could see the slot); else start over.
  for (int tries = 0; tries < 1000; ++tries) {
    auto size = store_->Size();
    if (!size.ok()) return size.status();
    std::vector<Result<Meta>> slots = ReadMetaSlots(*size);
    std::vector<Meta> valid;
    for (auto& m : slots) {
      if (m.ok()) valid.push_back(*m);
      if (!m.ok() && m.status().code() == Code::kNotSupported) return m.status();
    }
    if (valid.empty()) return Status::Corruption(store_->Name() + " has no usable meta page");
    SortMetas(&valid);
    {
      std::lock_guard slot(slot_mu_);
      BRUCE_RETURN_IF_ERROR(lock_->Publish(valid.back().txn));
      published_ = valid.back().txn;
    }
    std::vector<Result<Meta>> again = ReadMetaSlots(*size);
    bool same = again.size() == slots.size();
    for (size_t i = 0; same && i < slots.size(); ++i) {
      same = again[i].ok() == slots[i].ok() &&
             (!again[i].ok() || (again[i]->txn == slots[i]->txn &&
                                 again[i]->catalog.hash == slots[i]->catalog.hash));
    }
    if (!same) continue;
    std::string why;
    for (const Meta& m : valid) {
      Status st = TryMeta(m);
      if (st.ok()) return st;
      why += " [txn " + std::to_string(m.txn) + ": " + st.ToString() + "]";
    }
    return Status::Corruption(store_->Name() + " has no usable meta page:" + why);
  }
  return Status::Busy(store_->Name() + " changes too fast to open beside its writer");
}

uint64_t DbImpl::SlotTxn() const {
  return readers_.empty() ? current_.txn : std::min(current_.txn, readers_.begin()->first);
}

uint64_t DbImpl::OldestReader() {
  uint64_t oldest = UINT64_MAX;
  if (lock_) {
    auto r = lock_->OldestReader();
    // Unreadable table: keep everything (reuse nothing) rather than guess.
    oldest = r.ok() ? *r : 0;
  }
  std::lock_guard state(state_mu_);
  return std::min(oldest, readers_.empty() ? current_.txn : readers_.begin()->first);
}

Status DbImpl::Refresh() {
  if (!lock_ || !options_.read_only) return Status::OK();
  for (int tries = 0; tries < 1000; ++tries) {
    Meta m, again;
    uint64_t have, keep;
    {
      std::lock_guard lock(state_mu_);
      have = current_.txn;
      keep = SlotTxn();
    }
    if (!NewestMeta(&m) || m.txn <= have || m.page_size != page_size_) return Status::OK();
    {
      std::lock_guard slot(slot_mu_);
      keep = std::min(keep, m.txn);
      BRUCE_RETURN_IF_ERROR(lock_->Publish(keep));
      published_ = keep;
    }
    if (!NewestMeta(&again) || again.txn != m.txn) continue;
    // m is protected now: adopt it, as open would. A commit that does not
    // load (damage) is not adopted: reads go on in the one we have.
    if (!m.catalog.null() && !LoadUncached(m.catalog).ok()) return Status::OK();
    SnapMap snaps;
    if (!LoadSnapshots(m.catalog, &snaps).ok()) return Status::OK();
    {
      std::lock_guard w(writer_mu_);
      SpaceMap space(store_.get(), page_size_);
      if (!space.Load(m).ok()) return Status::OK();
      space_ = std::move(space);
    }
    std::lock_guard lock(state_mu_);
    if (m.txn > current_.txn) {
      current_ = Version{m.txn, m.catalog, m.time_ns, m.total_pages, m.free_pages, m.dead_pages};
      snaps_ = std::move(snaps);
      sealed_ = m;
      durable_txn_.store(m.txn);
    }
    return Status::OK();
  }
  return Status::OK();  // the writer is too quick: read what we have
}

void DbImpl::HoldForReaders() {
  if (!lock_ || options_.read_only) return;
  // Readers in other processes may read commits older than the one opened:
  // what the last writer freed since, the log cannot tell apart from what
  // was free before, so nothing free now is reused until they move on.
  auto oldest = lock_->OldestReader();
  std::lock_guard w(writer_mu_);
  if (!oldest.ok() || *oldest < current_.txn) space_.HoldFree(current_.txn);
}

Result<std::vector<ReaderInfo>> DbImpl::Readers() {
  if (!lock_) return std::vector<ReaderInfo>{};
  return lock_->Readers();
}

Status DbImpl::PublishEndpoint(std::string_view name) {
  if (!lock_ || options_.read_only) {
    return Status::NotSupported("only the writer of a store in a file publishes an endpoint");
  }
  return lock_->PublishEndpoint(name);
}

Result<Endpoint> Db::FindEndpoint(const std::string& path) { return LockFile::FindEndpoint(path); }

}  // namespace bruce
