// Db::Check: walks every tree of the current version, verifying each node
// from the store (not the cache), and accounts for every page of the file.
#include <optional>

#include "format/hash.h"
#include "txn/db_impl.h"

namespace bruce {

namespace {

enum class Use : uint8_t { kNone, kMeta, kNode, kLog, kFree };

const char* UseName(Use u) {
  switch (u) {
    case Use::kNone: return "nothing";
    case Use::kMeta: return "a meta page";
    case Use::kNode: return "a tree node";
    case Use::kLog: return "the space log";
    case Use::kFree: return "the free list";
  }
  return "?";
}

class Checker {
 public:
  Checker(DbImpl* db, uint64_t total, CheckReport* rep) : db_(db), rep_(rep), use_(total) {}

  void Claim(uint64_t start, uint64_t n, Use u) {
    for (uint64_t p = start; p < start + n; p++) {
      if (p >= use_.size()) {
        Problem(p, std::string(UseName(u)) + " lies beyond the end of the store");
        return;
      }
      if (use_[p] != Use::kNone) {
        Problem(p, std::string("used twice: by ") + UseName(use_[p]) + " and by " + UseName(u));
        continue;
      }
      use_[p] = u;
    }
  }

  void Problem(uint64_t page, const std::string& what) {
    rep_->problems.push_back("page " + std::to_string(page) + ": " + what);
  }

  // Verifies a data block and claims its page.
  void Data(const format::BlockPtr& p, const std::string& tree) {
    std::string buf;
    Status st = db_->ReadData(p, &buf);
    if (!st.ok()) {
      rep_->problems.push_back("tree '" + tree + "': " + st.ToString());
      return;
    }
    rep_->pages_checked++;
    Claim(p.page, format::PagesFor(p.stored_len, db_->page_size()), Use::kNode);
  }

  // Walks the subtree at p; keys must lie in [lo, hi) (hi absent = no bound).
  // kind says what its leaves hold: a catalog's trees, a data tree's values,
  // or a large value's chunks.
  enum class Kind { kCatalog, kData, kChunks };
  void Walk(const format::BlockPtr& p, int level, const std::string& tree, Kind kind,
            const std::string& lo, const std::optional<std::string>& hi) {
    auto r = db_->LoadUncached(p);
    if (!r.ok()) {
      rep_->problems.push_back("tree '" + tree + "': " + r.status().ToString());
      return;
    }
    const format::Node& n = *r.value();
    uint64_t pages = format::PagesFor(p.stored_len, db_->page_size());
    rep_->nodes_checked++;
    rep_->pages_checked += pages;
    Claim(p.page, pages, Use::kNode);
    std::string where = "tree '" + tree + "' node";
    if (level >= 0 && n.level() != level) Problem(p.page, where + " has the wrong level");
    if (n.Count() != p.count) Problem(p.page, where + " key count differs from its pointer");
    if (n.size() == 0) Problem(p.page, where + " is empty");
    for (size_t i = 0; i < n.size(); i++) {
      std::string_view k = n.key(i);
      if (i > 0 && !(n.key(i - 1) < k)) {
        Problem(p.page, where + " keys out of order at entry " + std::to_string(i));
      }
      if ((n.leaf() || i > 0) && (k < lo || (hi && k >= *hi))) {
        Problem(p.page, where + " key outside its parent's separators at entry " +
                            std::to_string(i));
      }
    }
    if (!n.leaf()) {
      if (n.size() > 0 && !n.key(0).empty()) Problem(p.page, where + " first separator not empty");
      for (size_t i = 0; i < n.size(); i++) {
        std::string clo = i == 0 ? lo : std::string(n.key(i));
        std::optional<std::string> chi = i + 1 < n.size() ? std::optional<std::string>(n.key(i + 1)) : hi;
        Walk(n.child(i), n.level() - 1, tree, kind, clo, chi);
      }
      return;
    }
    for (size_t i = 0; i < n.size(); i++) {
      format::ValueType vt = n.vtype(i);
      bool ok = kind == Kind::kCatalog ? vt == format::ValueType::kTree
                : kind == Kind::kChunks ? vt == format::ValueType::kData
                                        : (vt == format::ValueType::kInline ||
                                           vt == format::ValueType::kExtents);
      if (!ok) {
        Problem(p.page, where + " entry " + std::to_string(i) + " has the wrong value type");
        continue;
      }
      if (kind == Kind::kData) rep_->keys_checked++;
      if (vt == format::ValueType::kInline) continue;
      format::PtrValue d;
      if (!format::DecodePtrValue(n.value(i), &d)) {
        Problem(p.page, where + " entry " + std::to_string(i) + " is malformed");
        continue;
      }
      if (d.ptr.null()) continue;
      if (vt == format::ValueType::kTree) {
        rep_->trees_checked++;
        Walk(d.ptr, -1, std::string(n.key(i)), Kind::kData, "", std::nullopt);
      } else if (vt == format::ValueType::kData || (d.aux & format::kDirect)) {
        Data(d.ptr, tree);
      } else {
        Walk(d.ptr, -1, tree, Kind::kChunks, "", std::nullopt);
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
  DbImpl* db_;
  CheckReport* rep_;
  std::vector<Use> use_;
};

}  // namespace

Status DbImpl::Check(CheckReport* report) {
  *report = CheckReport{};
  // Take the writer role so the free map holds still during the walk.
  std::unique_ptr<WriteTxn> hold;
  if (!options_.read_only) {
    BRUCE_ASSIGN_OR_RETURN(hold, BeginWrite());
  }
  Version v;
  {
    std::lock_guard lock(state_mu_);
    v = current_;
  }
  if (!recovery_note_.empty()) report->problems.push_back(recovery_note_);
  Checker c(this, space_.total_pages(), report);
  c.Claim(0, format::kMetaPages, Use::kMeta);
  if (v.catalog.null()) {
    report->problems.push_back("the store has no catalog");
  } else {
    c.Walk(v.catalog, -1, "(catalog)", Checker::Kind::kCatalog, "", std::nullopt);
  }
  for (uint64_t p : space_.log_chain()) c.Claim(p, 1, Use::kLog);
  space_.ForEachFree([&](uint64_t s, uint64_t n) { c.Claim(s, n, Use::kFree); });
  c.ReportUnaccounted();
  if (hold) hold->Abort();
  return Status::OK();
}

}  // namespace bruce
