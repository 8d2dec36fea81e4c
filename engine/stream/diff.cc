#include "stream/diff.h"

#include "stream/frontier.h"

#include <optional>
#include <string>
#include <vector>

namespace bruce::stream {

namespace {

using format::ValueType;

}  // namespace

Status DiffRoots(NodeSource* src, const format::BlockPtr& a, const format::BlockPtr& b, bool dup,
                 const std::function<bool(const DiffEntry&)>& fn, DiffStats* stats) {
  DiffStats local;
  DiffStats* st = stats ? stats : &local;
  if (a.hash == b.hash && a.count == b.count && a.null() == b.null()) return Status::OK();
  Frontier fa(src, &st->nodes_read), fb(src, &st->nodes_read);
  BRUCE_RETURN_IF_ERROR(fa.Start(a));
  BRUCE_RETURN_IF_ERROR(fb.Start(b));
  auto emit = [&](DiffEntry::Kind kind, const Frontier* from, const Frontier* to) {
    DiffEntry e;
    e.kind = kind;
    const Frontier* f = to ? to : from;
    e.key = f->key();
    // Inline values as they are; a large value's bytes are not read.
    if (from && from->vtype() == ValueType::kInline) e.old_value = from->value();
    if (to && to->vtype() == ValueType::kInline) e.new_value = to->value();
    e.old_large = from && from->vtype() == ValueType::kExtents;
    e.new_large = to && to->vtype() == ValueType::kExtents;
    ++st->entries;
    return fn(e);
  };
  while (!fa.end() || !fb.end()) {
    if (fa.at_subtree() && fb.at_subtree()) {
      const bool same_kind = fa.subtree_is_chain() == fb.subtree_is_chain() &&
                             fa.chain_key() == fb.chain_key();
      if (same_kind && fa.subtree().hash == fb.subtree().hash &&
          fa.subtree().count == fb.subtree().count) {
        fa.Skip();  // the same entries on both sides
        fb.Skip();
        ++st->subtrees_skipped;
        continue;
      }
      const int la = fa.subtree_level(), lb = fb.subtree_level();
      if (la < 0 || lb < 0 || la == lb) {
        BRUCE_RETURN_IF_ERROR(fa.Descend());
        BRUCE_RETURN_IF_ERROR(fb.Descend());
      } else if (la > lb) {
        BRUCE_RETURN_IF_ERROR(fa.Descend());
      } else {
        BRUCE_RETURN_IF_ERROR(fb.Descend());
      }
      continue;
    }
    if (!fa.end() && fa.at_subtree()) {
      BRUCE_RETURN_IF_ERROR(fa.Descend());
      continue;
    }
    if (!fb.end() && fb.at_subtree()) {
      BRUCE_RETURN_IF_ERROR(fb.Descend());
      continue;
    }
    if (fa.end()) {
      if (!emit(DiffEntry::kAdded, nullptr, &fb)) return Status::OK();
      fb.Skip();
      continue;
    }
    if (fb.end()) {
      if (!emit(DiffEntry::kRemoved, &fa, nullptr)) return Status::OK();
      fa.Skip();
      continue;
    }
    int c = fa.key().compare(fb.key());
    if (c == 0 && dup) c = fa.value().compare(fb.value());
    if (c < 0) {
      if (!emit(DiffEntry::kRemoved, &fa, nullptr)) return Status::OK();
      fa.Skip();
    } else if (c > 0) {
      if (!emit(DiffEntry::kAdded, nullptr, &fb)) return Status::OK();
      fb.Skip();
    } else {
      if (!SameValue(fa.vtype(), fa.value(), fb.vtype(), fb.value())) {
        if (!emit(DiffEntry::kChanged, &fa, &fb)) return Status::OK();
      }
      fa.Skip();
      fb.Skip();
    }
  }
  return Status::OK();
}

}  // namespace bruce::stream
