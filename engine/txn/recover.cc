// txn/recover.cc — deciding at open whether the newest commit reached the
// disk whole (decision 14: one fdatasync per commit).
//
// A commit group written with one sync has its meta page flagged
// kMetaVerify and names `base`, the durable commit it built on. Every page
// the group wrote holds a node or data block born after base, and copy on
// write means that any such block is reachable only through nodes also born
// after base: so a walk from the catalog root that descends only into
// pointers born after base reads exactly what the group wrote, and each
// block is checked against the hash its parent holds. Pages born at or
// before base were durable before the group began and are not read.
// (The space log the group wrote is checked by SpaceMap::Load: each page
// carries its checksum and the meta names the head's.) The walk covers
// what Check does: the live catalog and everything below it, and each
// snapshot's catalog but for the snapshot records it kept from its day.
#include <unordered_set>

#include "txn/db_impl.h"

namespace bruce {

using format::BlockPtr;
using format::Meta;

namespace {

// What a node belongs to, for what its values point to. A snapshot's own
// catalog keeps the snapshot records of its day: history, which owns nothing
// (those snapshots may be gone and their pages reused), so their values are
// not followed, as in Check.
enum class Part : uint8_t { kLiveCatalog, kSnapCatalog, kLiveSnaps, kOldSnaps, kOther };

}  // namespace

Status DbImpl::VerifyGroup(const Meta& m) {
  std::unordered_set<uint64_t> seen;  // page * 8 + part: snapshots share nodes
  std::vector<std::pair<BlockPtr, Part>> todo;
  if (!m.catalog.null() && m.catalog.birth > m.base) todo.emplace_back(m.catalog, Part::kLiveCatalog);
  std::string data;
  auto fail = [&m](const Status& st) {
    return Status::Corruption("commit " + std::to_string(m.txn) +
                                  " did not reach the disk whole: " + st.ToString(),
                              st.page());
  };
  while (!todo.empty()) {
    const auto [p, part] = todo.back();
    todo.pop_back();
    if (!seen.insert(p.page * 8 + static_cast<uint64_t>(part)).second) continue;
    // Through the cache: what open verifies is what the first reads want.
    Result<NodeRef> n = Load(p);
    if (!n.ok()) return fail(n.status());
    const format::Node& node = **n;
    for (size_t i = 0; i < node.size(); i++) {
      if (!node.leaf()) {
        const BlockPtr& c = node.child(i);
        if (c.birth > m.base) {
          if (c.birth > m.txn) return fail(Status::Corruption("a pointer born after its commit", p.page));
          todo.emplace_back(c, part);
        }
        continue;
      }
      const format::ValueType vt = node.vtype(i);
      if (vt == format::ValueType::kInline || part == Part::kOldSnaps) continue;
      format::PtrValue v;
      if (!format::DecodePtrValue(node.value(i), &v)) {
        return fail(Status::Corruption("malformed pointer value", p.page));
      }
      if (v.ptr.null() || v.ptr.birth <= m.base) continue;
      if (v.ptr.birth > m.txn) return fail(Status::Corruption("a pointer born after its commit", p.page));
      if (format::PointsToData(vt, v.aux)) {
        if (Status st = ReadData(v.ptr, &data); !st.ok()) return fail(st);
        continue;
      }
      Part below = Part::kOther;
      const bool catalog = part == Part::kLiveCatalog || part == Part::kSnapCatalog;
      if (catalog && node.key(i) == kSnapsTree) {
        below = part == Part::kLiveCatalog ? Part::kLiveSnaps : Part::kOldSnaps;
      } else if (part == Part::kLiveSnaps) {
        below = Part::kSnapCatalog;
      }
      todo.emplace_back(v.ptr, below);
    }
  }
  return Status::OK();
}

}  // namespace bruce
