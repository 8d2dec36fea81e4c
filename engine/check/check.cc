// Db::Check: walks every tree of the current version and of every snapshot,
// verifying each node and data block from the store (not the cache), and
// accounts for every page of the file: in use by the live store, held only
// by snapshots (and then on exactly one dead list), in the space log, or
// free. Nodes shared between the live store and snapshots are walked once.
#include <optional>
#include <unordered_map>

#include "format/bloom.h"
#include "format/coding.h"
#include "format/hash.h"
#include "txn/db_impl.h"
#include "txn/txn_impl.h"

namespace bruce {

namespace {

enum class Use : uint8_t { kNone, kMeta, kLive, kSnap, kDead, kLog, kFree };

const char* UseName(Use u) {
  switch (u) {
    case Use::kNone: return "nothing";
    case Use::kMeta: return "a meta page";
    case Use::kLive: return "the live store";
    case Use::kSnap: return "a snapshot";
    case Use::kDead: return "a dead list";
    case Use::kLog: return "the space log";
    case Use::kFree: return "the free list";
  }
  return "?";
}

class Checker {
 public:
  // What a tree's leaves hold.
  // kDup: a dup tree's (key, value) pairs; kChain: an overflow chain's values.
  enum class Kind { kCatalog, kData, kDup, kChain, kChunks, kDead, kSnaps, kInfo, kClones };

  Checker(DbImpl* db, uint64_t total, CheckReport* rep) : db_(db), rep_(rep), use_(total) {}

  void Problem(uint64_t page, const std::string& what) {
    rep_->problems.push_back("page " + std::to_string(page) + ": " + what);
  }

  // Claims pages for a node or data block; false when that very block was
  // claimed before (shared structure: already checked).
  bool ClaimBlock(const format::BlockPtr& p, uint64_t pages) {
    auto [it, fresh] = seen_.emplace(p.page, p.hash);
    if (!fresh) {
      if (it->second == p.hash) return false;
      Problem(p.page, "used twice: by two different nodes");
      return false;
    }
    Claim(p.page, pages, live_ ? Use::kLive : Use::kSnap);
    return true;
  }

  void Claim(uint64_t start, uint64_t n, Use u) {
    for (uint64_t p = start; p < start + n; p++) {
      if (p >= use_.size()) {
        Problem(p, std::string(UseName(u)) + " reaches beyond the end of the store");
        return;
      }
      if (use_[p] != Use::kNone) {
        Problem(p, std::string("used twice: by ") + UseName(use_[p]) + " and by " + UseName(u));
        continue;
      }
      use_[p] = u;
    }
  }

  void Data(const format::BlockPtr& p, const std::string& tree) {
    if (live_) {
      // A data block the live trees reach again: a clone shares it.
      auto it = seen_.find(p.page);
      if (it != seen_.end() && it->second == p.hash) shared_[p.page]++;
    }
    uint64_t pages = format::PagesFor(p.stored_len, db_->page_size());
    if (!ClaimBlock(p, pages)) return;
    std::string buf;
    Status st = db_->ReadData(p, &buf);
    if (!st.ok()) {
      rep_->problems.push_back("tree '" + tree + "': " + st.ToString());
      return;
    }
    rep_->pages_checked += pages;
  }

  // Walks the subtree at p; keys must lie in [lo, hi) (hi absent = no bound),
  // and pass `filter` (the Bloom filter its parent keeps of a leaf, if any).
  void Walk(const format::BlockPtr& p, int level, const std::string& tree, Kind kind,
            const std::string& lo, const std::optional<std::string>& hi,
            std::string_view filter = {}) {
    uint64_t pages = format::PagesFor(p.stored_len, db_->page_size());
    if (!ClaimBlock(p, pages)) return;
    auto r = db_->ReadNode(p);
    if (!r.ok()) {
      rep_->problems.push_back("tree '" + Printable(tree) + "': " + r.status().ToString());
      return;
    }
    const format::Node& n = *r.value();
    rep_->nodes_checked++;
    rep_->pages_checked += pages;
    if (rep_->progress) rep_->progress(rep_->pages_checked, use_.size());
    std::string where = "tree '" + Printable(tree) + "' node";
    if (level >= 0 && n.level() != level) Problem(p.page, where + " has the wrong level");
    if (n.Count() != p.count) Problem(p.page, where + " key count differs from its pointer");
    if (n.size() == 0) Problem(p.page, where + " is empty");
    for (size_t i = 0; i < n.size(); i++) {
      std::string_view k = n.key(i);
      bool dup_order = kind == Kind::kDup && n.leaf() && i > 0 && n.key(i - 1) == k &&
                       n.vtype(i - 1) == format::ValueType::kInline &&
                       (n.vtype(i) == format::ValueType::kOverflow || n.value(i - 1) < n.value(i));
      if (i > 0 && !(n.key(i - 1) < k) && !dup_order) {
        Problem(p.page, where + " keys out of order at entry " + std::to_string(i));
      }
      if ((n.leaf() || i > 0) && (k < lo || (hi && k >= *hi))) {
        Problem(p.page, where + " key outside its parent's separators at entry " +
                            std::to_string(i));
      }
      if (n.leaf() && !format::FilterMayContain(filter, k)) {
        Problem(p.page, where + " key at entry " + std::to_string(i) +
                            " is missing from the Bloom filter its parent keeps");
      }
    }
    if (!n.leaf()) {
      if (n.size() > 0 && !n.key(0).empty()) Problem(p.page, where + " first separator not empty");
      for (size_t i = 0; i < n.size(); i++) {
        std::string clo = i == 0 ? lo : std::string(n.key(i));
        std::optional<std::string> chi =
            i + 1 < n.size() ? std::optional<std::string>(n.key(i + 1)) : hi;
        if (n.child(i).birth > p.birth) Problem(p.page, where + " points to a younger node");
        Walk(n.child(i), n.level() - 1, tree, kind, clo, chi, n.filter(i));
      }
      return;
    }
    for (size_t i = 0; i < n.size(); i++) Entry(p, n, i, tree, kind, where);
  }

  void Entry(const format::BlockPtr& p, const format::Node& n, size_t i, const std::string& tree,
             Kind kind, const std::string& where) {
    format::ValueType vt = n.vtype(i);
    bool ok;
    switch (kind) {
      case Kind::kCatalog:
      case Kind::kSnaps: ok = vt == format::ValueType::kTree; break;
      case Kind::kChunks: ok = vt == format::ValueType::kData; break;
      case Kind::kData:
        ok = vt == format::ValueType::kInline || vt == format::ValueType::kExtents;
        break;
      case Kind::kDup:
        // An overflow chain is the last entry, after a value of its key.
        ok = vt == format::ValueType::kInline ||
             (vt == format::ValueType::kOverflow && i + 1 == n.size() && i > 0 &&
              n.key(i - 1) == n.key(i));
        break;
      case Kind::kChain: ok = vt == format::ValueType::kInline && n.value(i).empty(); break;
      default: ok = vt == format::ValueType::kInline;
    }
    if (!ok) {
      Problem(p.page, where + " entry " + std::to_string(i) + " has the wrong value type");
      return;
    }
    if (kind == Kind::kData || kind == Kind::kChain ||
        (kind == Kind::kDup && vt == format::ValueType::kInline)) {
      rep_->keys_checked++;
    }
    if (kind == Kind::kDead && live_ && !in_snapshot_) dead_.emplace_back(n.key(i), n.value(i));
    if (kind == Kind::kClones && live_ && !in_snapshot_) clones_.emplace_back(n.key(i), n.value(i));
    if (vt == format::ValueType::kInline) return;
    format::PtrValue d;
    if (!format::DecodePtrValue(n.value(i), &d)) {
      Problem(p.page, where + " entry " + std::to_string(i) + " is malformed");
      return;
    }
    if (d.ptr.null()) return;
    if (d.ptr.birth > p.birth) Problem(p.page, where + " points to a younger block");
    std::string name(n.key(i));
    if (kind == Kind::kSnaps) {
      // The live store's records are the snapshots; the records a snapshot's
      // own catalog kept from its day are history, and own nothing.
      if (live_) snapshots_.push_back(d.ptr);  // walked once the live store is done
    } else if (kind == Kind::kCatalog) {
      Kind k = name == kDeadTree ? Kind::kDead
               : name == kSnapsTree ? Kind::kSnaps
               : name == kSnapInfoTree ? Kind::kInfo
               : name == kClonesTree ? Kind::kClones
               : (d.aux & kTreeDupSort) ? Kind::kDup
                                        : Kind::kData;
      if (k == Kind::kData || k == Kind::kDup) rep_->trees_checked++;
      Walk(d.ptr, -1, name, k, "", std::nullopt);
    } else if (kind == Kind::kDup) {
      // Every value in the chain is greater than the leaf's last one.
      std::string above(n.value(i - 1));
      above.push_back('\0');
      Walk(d.ptr, -1, tree, Kind::kChain, above, std::nullopt);
    } else if (format::PointsToData(vt, d.aux)) {
      Data(d.ptr, tree);
    } else {
      Walk(d.ptr, -1, tree, Kind::kChunks, "", std::nullopt);
    }
  }

  void WalkStore(const format::BlockPtr& catalog) {
    live_ = true;
    Walk(catalog, -1, "(catalog)", Kind::kCatalog, "", std::nullopt);
    live_ = false;
    in_snapshot_ = true;
    for (size_t i = 0; i < snapshots_.size(); i++) {
      Walk(snapshots_[i], -1, "(snapshot catalog)", Kind::kCatalog, "", std::nullopt);
    }
  }

  // Every dead-list entry must name pages only snapshots hold, and every
  // page only snapshots hold must be on the dead list.
  void CheckDeadList(uint64_t dead_pages) {
    uint64_t listed = 0;
    for (const auto& [key, value] : dead_) {
      format::Reader r(value);
      uint64_t pages, freed;
      if (key.size() != 16 || !r.Varint(&pages) || !r.Varint(&freed)) {
        rep_->problems.push_back("dead list: malformed entry");
        continue;
      }
      uint64_t page = 0;
      for (int i = 8; i < 16; i++) page = (page << 8) | static_cast<unsigned char>(key[i]);
      for (uint64_t q = page; q < page + pages; q++) {
        if (q >= use_.size() || use_[q] != Use::kSnap) {
          Problem(q, std::string("on the dead list but in use by ") +
                         (q < use_.size() ? UseName(use_[q]) : "nothing (past the end)"));
          continue;
        }
        use_[q] = Use::kDead;
        listed++;
      }
    }
    for (uint64_t q = 0; q < use_.size(); q++) {
      if (use_[q] == Use::kSnap) Problem(q, "held only by snapshots but on no dead list");
    }
    if (listed != dead_pages) {
      rep_->problems.push_back("the meta page counts " + std::to_string(dead_pages) +
                               " dead-list pages, the dead list has " + std::to_string(listed));
    }
  }

  // The clone table must count, for every data block the live trees
  // reach more than once, the references past the first, and nothing else.
  void CheckClones() {
    std::unordered_map<uint64_t, uint64_t> table;
    for (const auto& [key, value] : clones_) {
      if (key.empty()) continue;  // the marker
      format::Reader r(value);
      uint64_t n = 0;
      if (key.size() != 8 || !r.Varint(&n) || r.remaining() != 0 || n == 0) {
        rep_->problems.push_back("clone table: malformed entry");
        continue;
      }
      uint64_t page = 0;
      for (char c : key) page = (page << 8) | static_cast<unsigned char>(c);
      table[page] = n;
    }
    for (const auto& [page, n] : table) {
      auto it = shared_.find(page);
      uint64_t have = it == shared_.end() ? 0 : it->second;
      if (have != n) {
        Problem(page, "the clone table counts " + std::to_string(n) +
                          " more references to it, the trees have " + std::to_string(have));
      }
    }
    for (const auto& [page, n] : shared_) {
      if (!table.count(page)) {
        Problem(page, "reached " + std::to_string(n + 1) +
                          " times by the trees but not in the clone table");
      }
    }
  }

  void ReportUnaccounted() {
    uint64_t p = 0;
    while (p < use_.size()) {
      if (use_[p] != Use::kNone) {
        p++;
        continue;
      }
      uint64_t q = p;
      while (q < use_.size() && use_[q] == Use::kNone) q++;
      rep_->problems.push_back("pages " + std::to_string(p) + "-" + std::to_string(q - 1) +
                               " leaked: neither in use nor free");
      p = q;
    }
  }

 private:
  static std::string Printable(const std::string& name) {
    if (!name.empty() && name[0] == '\0') return "(system " + name.substr(1) + ")";
    return name;
  }

  DbImpl* db_;
  CheckReport* rep_;
  std::vector<Use> use_;
  std::unordered_map<uint64_t, format::Hash128> seen_;
  bool live_ = false;
  bool in_snapshot_ = false;
  std::vector<format::BlockPtr> snapshots_;
  std::vector<std::pair<std::string, std::string>> dead_;
  std::vector<std::pair<std::string, std::string>> clones_;
  std::unordered_map<uint64_t, uint64_t> shared_;  // live data block -> references past the first
};

}  // namespace

Status DbImpl::Check(CheckReport* report) {
  auto progress = std::move(report->progress);
  *report = CheckReport{};
  report->progress = std::move(progress);
  // Take the writer role so the free map holds still during the walk.
  std::unique_ptr<WriteTxn> hold;
  std::unique_lock<std::mutex> ro_hold(writer_mu_, std::defer_lock);
  if (!options_.read_only) {
    BRUCE_ASSIGN_OR_RETURN(hold, BeginWrite(WriteMode::kExclusive));
  } else {
    // A read-only store's free map changes only when it follows a new
    // commit (Refresh, under writer_mu_): hold that off for the walk.
    ro_hold.lock();
  }
  // Pinned, so that a writer in another process keeps what the walk reads.
  const Version v = PinCurrent();
  struct Unpinner {
    DbImpl* db;
    uint64_t txn;
    ~Unpinner() { db->Unpin(txn); }
  } unpin{this, v.txn};
  {
    std::lock_guard lock(state_mu_);
    if (recovery_damage_) report->problems.push_back(recovery_note_);
  }
  Checker c(this, space_.total_pages(), report);
  c.Claim(0, format::kMetaPages, Use::kMeta);
  if (v.catalog.null()) {
    report->problems.push_back("the store has no catalog");
  } else {
    c.WalkStore(v.catalog);
  }
  for (uint64_t p : space_.log_chain()) c.Claim(p, 1, Use::kLog);
  space_.ForEachFree([&](uint64_t s, uint64_t n) { c.Claim(s, n, Use::kFree); });
  c.CheckDeadList(v.dead_pages);
  c.CheckClones();
  c.ReportUnaccounted();
  if (hold) hold->Abort();
  return Status::OK();
}

}  // namespace bruce
