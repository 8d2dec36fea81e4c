#include "store/space_map.h"

#include <algorithm>
#include <cstring>

#include "format/coding.h"
#include "format/hash.h"

namespace bruce {

namespace {

// Space-log page layout (see docs/FORMAT.md):
//   0 u8 kind (3)   1 u8 flags (1 = base)   2 u16 reserved   4 u32 records
//   8 u64 txn      16 u64 prev page        24 u64 prev checksum
//  32 records: u8 op, varint a, varint b   ...   page_size-8: u64 checksum
constexpr size_t kLogHeader = 32;
constexpr uint8_t kFlagBase = 1;
enum Op : uint8_t { kAlloc = 1, kFree = 2, kEnd = 3, kBase = 4 };

size_t RecordSize(uint8_t op, uint64_t a, uint64_t b) {
  (void)op;
  return 1 + format::VarintLength(a) + format::VarintLength(b);
}

// Appends one record per maximal run of adjacent pages in `runs`.
void AppendRuns(uint8_t op, std::vector<std::pair<uint64_t, uint64_t>> runs,
                std::vector<SpaceMap::Record>* recs) {
  std::sort(runs.begin(), runs.end());
  for (size_t i = 0; i < runs.size();) {
    uint64_t start = runs[i].first, end = start + runs[i].second;
    for (i++; i < runs.size() && runs[i].first == end; i++) end += runs[i].second;
    recs->push_back({op, start, end - start});
  }
}

}  // namespace

void SpaceMap::AddExtent(Extents* set, uint64_t start, uint64_t len) {
  if (len == 0) return;
  auto next = set->lower_bound(start);
  if (next != set->begin()) {
    auto prev = std::prev(next);
    if (prev->first + prev->second == start) {
      start = prev->first;
      len += prev->second;
      set->erase(prev);
    }
  }
  if (next != set->end() && start + len == next->first) {
    len += next->second;
    set->erase(next);
  }
  (*set)[start] = len;
}

bool SpaceMap::RemoveExtent(Extents* set, uint64_t start, uint64_t len) {
  auto it = set->upper_bound(start);
  if (it == set->begin()) return false;
  --it;
  uint64_t s = it->first, l = it->second;
  if (start + len > s + l) return false;
  set->erase(it);
  if (start > s) (*set)[s] = start - s;
  if (start + len < s + l) (*set)[start + len] = s + l - (start + len);
  return true;
}

void SpaceMap::InitEmpty() {
  total_ = format::kMetaPages;
  high_water_ = total_;
  free_.clear();
  pending_.clear();
  free_count_ = 0;
  pending_count_ = 0;
  chain_.clear();
  head_checksum_ = 0;
}

Status SpaceMap::Load(const format::Meta& meta) {
  InitEmpty();
  if (meta.log_head == 0) return Status::Corruption("meta names no space log", meta.txn % 2);
  // Walk back from the head to the base, verifying each link.
  std::vector<std::pair<uint64_t, std::string>> pages;
  uint64_t p = meta.log_head, expect = meta.log_head_checksum;
  while (true) {
    if (pages.size() >= meta.log_pages) {
      return Status::Corruption("space log longer than the meta page says", p);
    }
    if (p < format::kMetaPages || p >= meta.total_pages) {
      return Status::Corruption("space log page out of range", p);
    }
    std::string buf(page_size_, '\0');
    BRUCE_RETURN_IF_ERROR(store_->Read(p * page_size_, page_size_, buf.data()));
    uint64_t sum = format::LoadU64(buf.data() + page_size_ - 8);
    if (sum != expect || format::Checksum64(std::string_view(buf.data(), page_size_ - 8)) != sum) {
      return Status::Corruption("space log checksum mismatch", p);
    }
    if (static_cast<uint8_t>(buf[0]) != static_cast<uint8_t>(format::PageKind::kSpaceLog)) {
      return Status::Corruption("not a space log page", p);
    }
    uint8_t flags = static_cast<uint8_t>(buf[1]);
    uint64_t prev = format::LoadU64(buf.data() + 16);
    uint64_t prev_sum = format::LoadU64(buf.data() + 24);
    pages.emplace_back(p, std::move(buf));
    if (flags & kFlagBase) break;
    p = prev;
    expect = prev_sum;
  }
  // Replay from the base.
  uint64_t n = format::kMetaPages;
  Extents f;
  for (auto it = pages.rbegin(); it != pages.rend(); ++it) {
    const std::string& buf = it->second;
    uint64_t page = it->first;
    uint32_t count = format::LoadU32(buf.data() + 4);
    format::Reader r(buf.data() + kLogHeader, page_size_ - kLogHeader - 8);
    for (uint32_t i = 0; i < count; i++) {
      uint8_t op;
      uint64_t a, b;
      if (!r.U8(&op) || !r.Varint(&a) || !r.Varint(&b)) {
        return Status::Corruption("space log record truncated", page);
      }
      bool ok = true;
      switch (op) {
        case kBase:
          ok = it == pages.rbegin() && i == 0 && a >= format::kMetaPages;
          n = a;
          f.clear();
          break;
        case kEnd:
          if (a >= n) {
            AddExtent(&f, n, a - n);
          } else {
            ok = a >= format::kMetaPages && RemoveExtent(&f, a, n - a);
          }
          n = a;
          break;
        case kAlloc:
          ok = b > 0 && a >= format::kMetaPages && a + b <= n && RemoveExtent(&f, a, b);
          break;
        case kFree: {
          ok = b > 0 && a >= format::kMetaPages && a + b <= n;
          auto nx = f.lower_bound(a);
          if (nx != f.end() && nx->first < a + b) ok = false;
          if (nx != f.begin() && std::prev(nx)->first + std::prev(nx)->second > a) ok = false;
          if (ok) AddExtent(&f, a, b);
          break;
        }
        default:
          ok = false;
      }
      if (!ok) {
        return Status::Corruption("space log record " + std::to_string(i) + " (op " +
                                      std::to_string(op) + ") is inconsistent",
                                  page);
      }
    }
  }
  uint64_t nfree = 0;
  for (auto& [s, l] : f) nfree += l;
  if (n != meta.total_pages || nfree != meta.free_pages) {
    return Status::Corruption("space log disagrees with the meta page (pages " +
                                  std::to_string(n) + " vs " + std::to_string(meta.total_pages) +
                                  ", free " + std::to_string(nfree) + " vs " +
                                  std::to_string(meta.free_pages) + ")",
                              meta.log_head);
  }
  total_ = n;
  high_water_ = n;
  free_ = std::move(f);
  free_count_ = nfree;
  for (auto it = pages.rbegin(); it != pages.rend(); ++it) chain_.push_back(it->first);
  head_checksum_ = meta.log_head_checksum;
  return Status::OK();
}

void SpaceMap::Begin() {
  begin_total_ = total_;
  shrink_start_ = UINT64_MAX;
  allocated_.clear();
  freed_.clear();
  begin_chain_ = chain_;
  begin_head_checksum_ = head_checksum_;
}

uint64_t SpaceMap::Allocate(uint64_t n) {
  for (auto it = free_.begin(); it != free_.end(); ++it) {
    if (it->second < n) continue;
    uint64_t start = it->first, len = it->second;
    free_.erase(it);
    if (len > n) free_[start + n] = len - n;
    free_count_ -= n;
    AddExtent(&allocated_, start, n);
    return start;
  }
  uint64_t start = total_;
  total_ += n;
  high_water_ = std::max(high_water_, total_);
  AddExtent(&allocated_, start, n);
  return start;
}

void SpaceMap::Free(uint64_t page, uint64_t n) {
  if (RemoveExtent(&allocated_, page, n)) {
    AddExtent(&free_, page, n);
    free_count_ += n;
    return;
  }
  freed_.emplace_back(page, n);
}

SpaceMap::Extents SpaceMap::FreeUnion() const {
  Extents u = free_;
  for (const auto& [txn, set] : pending_) {
    for (const auto& [s, l] : set) AddExtent(&u, s, l);
  }
  for (const auto& [s, l] : freed_) AddExtent(&u, s, l);
  return u;
}

uint64_t SpaceMap::free_pages() const {
  uint64_t n = free_count_ + pending_count_;
  for (const auto& [start, len] : freed_) n += len;
  return n;
}

void SpaceMap::ForEachFree(const std::function<void(uint64_t, uint64_t)>& fn) const {
  for (const auto& [s, l] : FreeUnion()) fn(s, l);
}

size_t SpaceMap::PagesForRecords(const std::vector<Record>& recs) const {
  size_t cap = page_size_ - kLogHeader - 8;
  size_t pages = 1, used = 0;
  for (const Record& r : recs) {
    size_t sz = RecordSize(r.op, r.a, r.b);
    if (used + sz > cap) {
      pages++;
      used = 0;
    }
    used += sz;
  }
  return pages;
}

Status SpaceMap::WritePages(uint64_t txn, bool base, const std::vector<uint64_t>& pages,
                            const std::vector<Record>& recs) {
  size_t cap = page_size_ - kLogHeader - 8;
  size_t next = 0;
  uint64_t prev = base ? 0 : (chain_.empty() ? 0 : chain_.back());
  uint64_t prev_sum = base ? 0 : head_checksum_;
  if (base) chain_.clear();
  for (size_t i = 0; i < pages.size(); i++) {
    std::string buf(page_size_, '\0');
    buf[0] = static_cast<char>(format::PageKind::kSpaceLog);
    buf[1] = static_cast<char>(base && i == 0 ? kFlagBase : 0);
    format::StoreU64(buf.data() + 8, txn);
    format::StoreU64(buf.data() + 16, prev);
    format::StoreU64(buf.data() + 24, prev_sum);
    std::string body;
    uint32_t count = 0;
    while (next < recs.size()) {
      const Record& r = recs[next];
      if (body.size() + RecordSize(r.op, r.a, r.b) > cap) break;
      format::PutU8(&body, r.op);
      format::PutVarint(&body, r.a);
      format::PutVarint(&body, r.b);
      count++;
      next++;
    }
    format::StoreU32(buf.data() + 4, count);
    std::memcpy(buf.data() + kLogHeader, body.data(), body.size());
    uint64_t sum = format::Checksum64(std::string_view(buf.data(), page_size_ - 8));
    format::StoreU64(buf.data() + page_size_ - 8, sum);
    BRUCE_RETURN_IF_ERROR(store_->Write(pages[i] * page_size_, buf));
    chain_.push_back(pages[i]);
    prev = pages[i];
    prev_sum = sum;
  }
  head_checksum_ = prev_sum;
  return next == recs.size() ? Status::OK()
                             : Status::Corruption("space log records did not fit their pages");
}

Status SpaceMap::Condense(uint64_t txn) {
  for (uint64_t p : chain_) Free(p, 1);
  std::vector<uint64_t> pages;
  while (true) {
    Extents u = FreeUnion();
    std::vector<Record> recs{{kBase, total_, 0}};
    for (const auto& [s, l] : u) recs.push_back({kFree, s, l});
    size_t need = PagesForRecords(recs);
    if (need <= pages.size()) return WritePages(txn, true, pages, recs);
    while (pages.size() < need) pages.push_back(Allocate(1));
  }
}

Status SpaceMap::WriteLog(uint64_t txn, format::Meta* meta) {
  // Give a free tail back to the file system (when this transaction did not
  // grow the store: then the tail was free before it began).
  if (total_ == begin_total_ && !free_.empty()) {
    auto last = std::prev(free_.end());
    if (last->first + last->second == total_) {
      shrink_start_ = last->first;
      total_ = last->first;
      free_count_ -= last->second;
      free_.erase(last);
    }
  }
  size_t extents = free_.size() + freed_.size();
  for (const auto& [txn, set] : pending_) extents += set.size();
  size_t base_estimate = 1 + extents * 12 / (page_size_ - kLogHeader - 8);
  // A log page that holds the end of the file keeps it from shrinking:
  // rewrite the log lower down when there is room below.
  uint64_t top = chain_.empty() ? 0 : *std::max_element(chain_.begin(), chain_.end());
  bool log_at_end = !chain_.empty() && top + 1 == total_ && total_ == begin_total_ &&
                    !free_.empty() && free_.begin()->first < top;
  if (chain_.empty() || log_at_end || force_condense_ ||
      chain_.size() >= 16 + 2 * base_estimate) {
    force_condense_ = false;
    BRUCE_RETURN_IF_ERROR(Condense(txn));
  } else {
    std::vector<uint64_t> pages;
    while (true) {
      std::vector<Record> recs;
      if (total_ > begin_total_) recs.push_back({kEnd, total_, 0});
      for (const auto& [start, len] : allocated_) recs.push_back({kAlloc, start, len});
      AppendRuns(kFree, freed_, &recs);
      if (total_ < begin_total_) recs.push_back({kEnd, total_, 0});
      size_t need = PagesForRecords(recs);
      if (need <= pages.size()) {
        BRUCE_RETURN_IF_ERROR(WritePages(txn, false, pages, recs));
        break;
      }
      while (pages.size() < need) pages.push_back(Allocate(1));
    }
  }
  meta->log_head = chain_.back();
  meta->log_head_checksum = head_checksum_;
  meta->log_pages = chain_.size();
  meta->total_pages = total_;
  meta->free_pages = free_pages();
  return Status::OK();
}

uint64_t SpaceMap::allocated_pages() const {
  uint64_t n = 0;
  for (const auto& [s, l] : allocated_) n += l;
  return n;
}

void SpaceMap::Committed(uint64_t txn) {
  Extents& set = pending_[txn];
  for (const auto& [s, l] : freed_) {
    AddExtent(&set, s, l);
    pending_count_ += l;
  }
  if (set.empty()) pending_.erase(txn);
  allocated_.clear();
  freed_.clear();
  begin_total_ = total_;
}

void SpaceMap::Rollback() {
  // Below keep_end, what the transaction allocated is free again; from there
  // to the old end (a tail it gave back), everything was free.
  uint64_t keep_end = std::min(begin_total_, shrink_start_);
  for (const auto& [s, l] : allocated_) {
    if (s >= keep_end) continue;
    const uint64_t below = std::min(s + l, keep_end) - s;
    AddExtent(&free_, s, below);
    free_count_ += below;
  }
  while (!free_.empty()) {
    auto last = std::prev(free_.end());
    if (last->first + last->second <= keep_end) break;
    uint64_t start = last->first;
    free_count_ -= last->second;
    free_.erase(last);
    if (start < keep_end) {
      free_[start] = keep_end - start;
      free_count_ += keep_end - start;
    }
  }
  if (keep_end < begin_total_) {
    AddExtent(&free_, keep_end, begin_total_ - keep_end);
    free_count_ += begin_total_ - keep_end;
  }
  total_ = begin_total_;
  shrink_start_ = UINT64_MAX;
  allocated_.clear();
  freed_.clear();
  chain_ = begin_chain_;
  head_checksum_ = begin_head_checksum_;
}

void SpaceMap::HoldFree(uint64_t txn) {
  for (const auto& [start, len] : free_) AddExtent(&pending_[txn], start, len);
  pending_count_ += free_count_;
  free_.clear();
  free_count_ = 0;
}

void SpaceMap::Release(uint64_t oldest_reader) {
  while (!pending_.empty() && pending_.begin()->first <= oldest_reader) {
    for (const auto& [s, l] : pending_.begin()->second) {
      AddExtent(&free_, s, l);
      free_count_ += l;
      pending_count_ -= l;
    }
    pending_.erase(pending_.begin());
  }
}

}  // namespace bruce
