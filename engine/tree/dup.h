// tree/dup.h — duplicate-key trees: a key holds many values, kept sorted.
//
// A dup tree is a counted B+tree whose leaf entries are (key, value) pairs in
// (key, value) order; the same key repeats, once per value, and a pair is
// held once. The rules:
//
//   - A key's values never span two leaves, except through that leaf's
//     overflow chain: a leaf splits only between two keys, so branch
//     separators stay plain keys and a lookup by key reaches one leaf.
//   - When one key's values outgrow a leaf, the largest of them move to the
//     leaf's overflow chain, its last entry (ValueType::kOverflow): a counted
//     tree of more values of the leaf's last key, all greater than the ones
//     left in the leaf. The chain only ever holds the last key's values, and
//     the leaf keeps at least one of them.
//   - Splitting a leaf moves its overflow chain to the right half (it follows
//     the last key). A new key past the last one goes to a leaf of its own.
//   - Deleting all of a key's values drops its chain first; deleting one value
//     from the leaf pulls the chain's smallest values back into the leaf while
//     they fit, so the chain shrinks before the leaf empties.
//   - Counts are exact: a leaf counts its pairs plus its chain's values, so
//     Rank, Select and Count count every value.
//
// Reads that need no dup knowledge (Get: the first value; Rank; Select)
// are the plain btree functions. Thread safety as in btree.h.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "tree/btree.h"
#include "tree/cursor.h"

namespace bruce::btree::dup {

// Adds the pair; *added is false when it was there already (nothing changes).
Status Put(WriteContext* ctx, TreeRoot* root, std::string_view key, std::string_view value,
           bool* added);
// Removes the pair (value non-null) or every value of key (value null);
// *removed says how many. kNotFound when there was nothing to remove.
Status Delete(WriteContext* ctx, TreeRoot* root, std::string_view key,
              const std::string_view* value, uint64_t* removed);
Result<bool> Contains(NodeSource* src, const TreeRoot& root, std::string_view key,
                      std::string_view value);
// Values of key, in O(log n).
Result<uint64_t> CountDups(NodeSource* src, const TreeRoot& root, std::string_view key);

// Iterates the pairs of a dup tree in order, both ways, into overflow chains
// and out again. generation as for TreeCursor: when it moves, the cursor
// re-finds its pair (or the pair after it, if that one is gone).
class Cursor final {
 public:
  Cursor(NodeSource* src, const TreeRoot* root, const uint64_t* generation);

  void First();
  void Last();
  // The first pair whose key is >= key.
  void Seek(std::string_view key);
  // The first pair >= (key, value).
  void SeekPair(std::string_view key, std::string_view value);
  void Next();
  void Prev();
  bool Valid() const;
  std::string_view key() const;
  std::string_view value() const;
  Status status() const;

 private:
  // After main_ moved: steps into an overflow chain it landed on.
  void Land(bool forward);
  void Positioned();
  void Revalidate() const;
  bool Stale() const { return gen_ && *gen_ != seen_gen_; }

  NodeSource* src_;
  const uint64_t* gen_;
  TreeCursor main_;
  TreeRoot chain_root_;
  std::unique_ptr<TreeCursor> chain_;  // set while inside an overflow chain
  Status status_;
  mutable uint64_t seen_gen_ = 0;
  mutable std::string saved_key_, saved_value_;
  mutable bool valid_ = false;
};

}  // namespace bruce::btree::dup
