// TreeImpl for trees with duplicate keys (TreeOptions::dupsort): the calls
// that differ from a plain tree, over tree/dup.h.
#include "tree/dup.h"
#include "txn/txn_impl.h"

namespace bruce {

namespace {

// A cursor over a dup tree: every (key, value) pair in order.
class DupValueCursor final : public Cursor {
 public:
  DupValueCursor(TreeImpl* tree, NodeSource* src, const TreeRoot* root, const uint64_t* gen)
      : tree_(tree), c_(src, root, gen) {}

  void First() override { Move([&] { c_.First(); }); }
  void Last() override { Move([&] { c_.Last(); }); }
  void Seek(std::string_view key) override { Move([&] { c_.Seek(key); }); }
  void Next() override { Move([&] { c_.Next(); }); }
  void Prev() override { Move([&] { c_.Prev(); }); }
  bool Valid() const override { return !parked_ && c_.Valid(); }
  std::string_view key() const override { return c_.key(); }
  std::string_view value() const override { return c_.value(); }
  Status status() const override { return c_.status(); }

  bool SeekExact(std::string_view key) override {
    std::string k(key);
    Seek(k);
    return Park(!c_.Valid() || c_.key() != k);
  }
  bool SeekPrefix(std::string_view prefix) override {
    std::string p(prefix);
    Seek(p);
    return Park(!c_.Valid() || c_.key().substr(0, p.size()) != p);
  }
  bool SeekBoth(std::string_view key, std::string_view value) override {
    std::string k(key);
    Move([&] { c_.SeekPair(k, value); });
    return Park(!c_.Valid() || c_.key() != k);
  }
  bool NextDup() override { return StepDup(true); }
  bool PrevDup() override { return StepDup(false); }
  void NextNoDup() override {
    if (!Valid()) return;
    std::string after(c_.key());
    after.push_back('\0');  // the first key after this one
    c_.Seek(after);
  }
  void PrevNoDup() override {
    if (!Valid()) return;
    std::string k(c_.key());
    c_.Seek(k);  // its first value
    if (c_.Valid()) {
      c_.Prev();
    } else {
      c_.Last();
    }
  }
  Result<uint64_t> CountDups() override {
    if (!Valid()) return Status::InvalidArgument("the cursor is not on a key");
    return tree_->CountDups(std::string(c_.key()));
  }

  Status Put(std::string_view value) override {
    if (!Valid()) return Status::InvalidArgument("the cursor is not on a key");
    std::string k(c_.key()), v(value);
    BRUCE_RETURN_IF_ERROR(tree_->Put(k, v));
    c_.SeekPair(k, v);
    return Status::OK();
  }
  Status Delete() override {
    if (!Valid()) return Status::InvalidArgument("the cursor is not on a key");
    std::string k(c_.key()), v(c_.value());
    // The cursor sees the change and moves to the pair that followed.
    return tree_->Delete(k, v);
  }

 private:
  template <typename F>
  void Move(F f) {
    parked_ = false;
    f();
  }
  bool Park(bool park) {
    parked_ = park;
    return !parked_;
  }
  // To the next or previous value of the same key, or back where it was.
  bool StepDup(bool forward) {
    if (!Valid()) return false;
    std::string k(c_.key()), v(c_.value());
    if (forward) {
      c_.Next();
    } else {
      c_.Prev();
    }
    if (c_.Valid() && c_.key() == k) return true;
    c_.SeekPair(k, v);
    return false;
  }

  TreeImpl* tree_;
  btree::dup::Cursor c_;
  bool parked_ = false;
};

}  // namespace

Status TreeImpl::NotForDups(const char* call) const {
  if (!dupsort()) return Status::OK();
  return Status::InvalidArgument(std::string(call) + " is not for a tree with duplicate keys");
}

Status TreeImpl::DupPut(std::string_view key, std::string_view value, uint32_t flags,
                        std::string* existing) {
  WriteContext* w;
  BRUCE_RETURN_IF_ERROR(Writable(&w));
  if (flags & ~uint32_t{kNoOverwrite | kAppend | kNoDupData}) {
    return Status::InvalidArgument("unknown put flags");
  }
  BRUCE_RETURN_IF_ERROR(CheckKeySize(key));
  if (value.size() > kMaxDupValueSize) {
    return Status::InvalidArgument("value is " + std::to_string(value.size()) +
                                   " bytes; the limit in a tree with duplicate keys is " +
                                   std::to_string(kMaxDupValueSize));
  }
  NodeSource* src = txn_->source();
  if (flags & kNoOverwrite) {
    BRUCE_ASSIGN_OR_RETURN(uint64_t n, btree::dup::CountDups(src, root_, key));
    if (n > 0) {
      if (existing) BRUCE_RETURN_IF_ERROR(btree::Get(src, root_, key, existing, nullptr));
      return Status::Exists("key exists");
    }
  }
  if (flags & kNoDupData) {
    BRUCE_ASSIGN_OR_RETURN(bool there, btree::dup::Contains(src, root_, key, value));
    if (there) return Status::Exists("the key has that value already");
  }
  if (flags & kAppend) {
    btree::dup::Cursor c(src, &root_, nullptr);
    c.Last();
    BRUCE_RETURN_IF_ERROR(c.status());
    if (c.Valid() && (key < c.key() || (key == c.key() && value <= c.value()))) {
      return Status::InvalidArgument("append: the pair is not greater than the last pair");
    }
  }
  changed_ = true;
  txn_->Changed();
  bool added;
  return btree::dup::Put(w, &root_, key, value, &added);
}

Status TreeImpl::DupDelete(std::string_view key, const std::string_view* value) {
  WriteContext* w;
  BRUCE_RETURN_IF_ERROR(Writable(&w));
  changed_ = true;
  txn_->Changed();
  uint64_t removed;
  return btree::dup::Delete(w, &root_, key, value, &removed);
}

Status TreeImpl::Delete(std::string_view key, std::string_view value) {
  if (dupsort()) return DupDelete(key, &value);
  std::string v;
  Status st = Get(key, &v);
  if (st.IsNotFound() || (st.ok() && v != value)) return Status::NotFound("no such pair");
  BRUCE_RETURN_IF_ERROR(st);
  return Delete(key);
}

Result<uint64_t> TreeImpl::CountDups(std::string_view key) {
  BRUCE_RETURN_IF_ERROR(Usable());
  if (dupsort()) return btree::dup::CountDups(txn_->source(), root_, key);
  Status st = btree::Get(txn_->source(), root_, key, nullptr, nullptr);
  if (st.IsNotFound()) return uint64_t{0};
  BRUCE_RETURN_IF_ERROR(st);
  return uint64_t{1};
}

Result<bool> TreeImpl::MayContain(std::string_view key) {
  BRUCE_RETURN_IF_ERROR(Usable());
  return btree::MayContain(txn_->source(), root_, key);
}

std::unique_ptr<Cursor> TreeImpl::NewDupCursor() {
  return std::make_unique<DupValueCursor>(this, txn_->source(), &root_, txn_->generation());
}

}  // namespace bruce
