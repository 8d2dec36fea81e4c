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
    BRUCE_ASSIGN_OR_RETURN(Aligned step, Align(fa, fb));
    if (step == Aligned::kEqual) {
      fa.Skip();  // the same entries on both sides
      fb.Skip();
      ++st->subtrees_skipped;
      continue;
    }
    if (step == Aligned::kOpened) continue;
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
