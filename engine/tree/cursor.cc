#include "tree/cursor.h"

#include <algorithm>

namespace bruce {

namespace {
// Leaves a range scan reads ahead of the one it is on.
constexpr int64_t kReadAhead = 8;
}  // namespace

void TreeCursor::ReadAhead(const Frame& b, bool forward) {
  if (b.node->level() != 1) return;
  int64_t idx = static_cast<int64_t>(b.idx), size = static_cast<int64_t>(b.node->size());
  if (b.node != ra_node_ || forward != ra_forward_) {
    ra_node_ = b.node;
    ra_forward_ = forward;
    ra_next_ = forward ? idx + 1 : idx - 1;
  }
  if (forward) {
    int64_t end = std::min(idx + kReadAhead, size - 1);
    for (int64_t j = std::max(ra_next_, idx + 1); j <= end; j++) {
      if (!b.node->dirty_kid(static_cast<size_t>(j))) src_->Prefetch(b.node->child(j));
    }
    ra_next_ = std::max(ra_next_, end + 1);
  } else {
    int64_t end = std::max<int64_t>(idx - kReadAhead, 0);
    for (int64_t j = std::min(ra_next_, idx - 1); j >= end; j--) {
      if (!b.node->dirty_kid(static_cast<size_t>(j))) src_->Prefetch(b.node->child(j));
    }
    ra_next_ = std::min(ra_next_, end - 1);
  }
}

bool TreeCursor::Fail(const Status& s) {
  status_ = s;
  valid_ = false;
  stack_.clear();
  return false;
}

bool TreeCursor::Descend(NodeView v, bool leftmost) {
  while (true) {
    size_t idx = leftmost || v.node->size() == 0 ? 0 : v.node->size() - 1;
    const format::Node* node = v.node;
    stack_.push_back(Frame{node, std::move(v.pin), idx});
    if (node->leaf()) return true;
    auto child = btree::Child(src_, *node, idx);
    if (!child.ok()) return Fail(child.status());
    v = std::move(child).value();
  }
}

void TreeCursor::Positioned() {
  valid_ = !stack_.empty() && stack_.back().idx < leaf().size();
  if (gen_) {
    seen_gen_ = *gen_;
    if (valid_) saved_key_.assign(leaf().key(stack_.back().idx));
  }
}

void TreeCursor::First() {
  stack_.clear();
  status_ = Status::OK();
  auto r = btree::Root(src_, *root_);
  if (!r.ok()) return (void)Fail(r.status());
  if (r->node && Descend(std::move(r).value(), true)) {
    if (leaf().size() == 0) stack_.clear();
  }
  Positioned();
}

void TreeCursor::Last() {
  stack_.clear();
  status_ = Status::OK();
  auto r = btree::Root(src_, *root_);
  if (!r.ok()) return (void)Fail(r.status());
  if (r->node && Descend(std::move(r).value(), false)) {
    if (leaf().size() == 0) stack_.clear();
  }
  Positioned();
}

void TreeCursor::Seek(std::string_view key) {
  stack_.clear();
  status_ = Status::OK();
  auto r = btree::Root(src_, *root_);
  if (!r.ok()) return (void)Fail(r.status());
  NodeView v = std::move(r).value();
  if (!v.node) return Positioned();
  std::string k(key);  // key may point into a node this cursor unpins
  while (!v.node->leaf()) {
    size_t i = v.node->ChildIndex(k);
    const format::Node* node = v.node;
    stack_.push_back(Frame{node, std::move(v.pin), i});
    auto child = btree::Child(src_, *node, i);
    if (!child.ok()) return (void)Fail(child.status());
    v = std::move(child).value();
  }
  bool found;
  size_t i = v.node->LowerBound(k, &found);
  const format::Node* node = v.node;
  stack_.push_back(Frame{node, std::move(v.pin), i});
  if (i >= node->size()) {
    Step(true);
    return;
  }
  Positioned();
}

void TreeCursor::Step(bool forward) {
  // Within the leaf.
  Frame& f = stack_.back();
  if (forward && f.idx + 1 < f.node->size()) {
    f.idx++;
    return Positioned();
  }
  if (!forward && f.idx > 0 && f.idx <= f.node->size()) {
    f.idx--;
    return Positioned();
  }
  // Up to the first ancestor with a sibling in that direction, then down.
  stack_.pop_back();
  while (!stack_.empty()) {
    Frame& b = stack_.back();
    bool more = forward ? b.idx + 1 < b.node->size() : b.idx > 0;
    if (more) {
      b.idx = forward ? b.idx + 1 : b.idx - 1;
      auto child = btree::Child(src_, *b.node, b.idx);
      if (!child.ok()) return (void)Fail(child.status());
      if (!Descend(std::move(child).value(), forward)) return;
      if (stack_.size() >= 2) ReadAhead(stack_[stack_.size() - 2], forward);
      // A scan reads the whole leaf: have the CPU fetch it all now, rather
      // than line by line as the hardware's prefetcher guesses (it follows a
      // backward walk of values poorly).
      leaf().PrefetchMemory();
      if (leaf().size() > 0) return Positioned();
      return Step(forward);  // an empty leaf (never present in a valid tree)
    }
    stack_.pop_back();
  }
  Positioned();
}

void TreeCursor::Revalidate() const {
  if (!gen_ || *gen_ == seen_gen_ || !valid_) return;
  auto* self = const_cast<TreeCursor*>(this);
  std::string k = saved_key_;
  self->Seek(k);
}

void TreeCursor::Next() {
  if (!valid_) return;
  if (gen_ && *gen_ != seen_gen_) {
    std::string k = saved_key_;
    Seek(k);
    if (!valid_ || key() != k) return;  // k is gone: already on its successor
  }
  Step(true);
}

void TreeCursor::Prev() {
  if (!valid_) return;
  if (gen_ && *gen_ != seen_gen_) {
    std::string k = saved_key_;
    Seek(k);
    if (!valid_) {
      Last();
      if (!valid_ || key() < k) return;
    }
  }
  Step(false);
}

bool TreeCursor::Valid() const {
  Revalidate();
  return valid_;
}

std::string_view TreeCursor::key() const {
  Revalidate();
  return leaf().key(stack_.back().idx);
}

std::string_view TreeCursor::value() const {
  Revalidate();
  return leaf().value(stack_.back().idx);
}

format::ValueType TreeCursor::vtype() const {
  Revalidate();
  return leaf().vtype(stack_.back().idx);
}

}  // namespace bruce
