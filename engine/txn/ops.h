// txn/ops.h — one call of an optimistic transaction, as recorded: what was
// asked (the call and its arguments) and a digest of what it returned. Run
// performs a call on a set of trees and cursors; an optimistic transaction
// runs each call once on its own state and again, at a rebase, on the
// newest state, and compares the digests (optimistic.h).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "bruce/db.h"

namespace bruce {

enum class OpKind : uint8_t {
  // The transaction's trees (tree: the handle the result gets).
  kMain, kOpenTree, kCreateTree, kDropTree, kListTrees, kId, kCreateSnapshot, kDestroySnapshot,
  // A tree's calls (tree: its handle).
  kGet, kGetPinned, kReadPinned, kPut, kReserve, kDelete, kDeleteValue, kCountDups, kMayContain, kCount,
  kCountRange, kCountPrefix, kRank, kSelect, kKeyAt, kRootHash, kDepth, kValueSize, kReadAt,
  kWriteAt, kTruncate, kRename, kMoveTo, kAllocatedBytes, kZeroRange, kSeekData, kCloneRange,
  kNewCursor,
  // A cursor's calls (tree: the cursor).
  kCurFirst, kCurLast, kCurSeek, kCurNext, kCurPrev, kCurSeekExact, kCurSeekPrefix,
  kCurSeekBoth, kCurNextDup, kCurPrevDup, kCurNextNoDup, kCurPrevNoDup, kCurCountDups,
  kCurPut, kCurDelete,
  // What a cursor shows: its value, or (after changes) its key again.
  kCurValue, kCurLook,
  // The cursor is gone.
  kCurDrop,
};

// Whether a call may change the store (the rest only observe it).
bool IsChange(OpKind kind);

struct Op {
  OpKind kind = OpKind::kGet;
  uint32_t tree = 0;   // a tree handle, or a cursor for the cursor calls
  uint32_t other = 0;  // MoveTo's destination, CloneRange's source; NewCursor's cursor
  uint32_t flags = 0;  // Put's flags; CreateTree's dupsort; SeekData's hole
  uint64_t a = 0, b = 0, c = 0;  // offsets, sizes, an index; CreateTree's level + 1
                                 // and bloom bits
  // Keys, a value, data, a tree or snapshot name: the caller's bytes while
  // a call runs, the record's (OptimisticTxn's arena) once recorded.
  std::string_view k1, k2;
  uint64_t digest = 0;
};

// What a call returned.
struct OpOut {
  Status st;
  std::string str;  // a value, a key, a hash
  uint64_t u = 0;
  bool b = false;
  Entry entry;
  PinnedValue pinned;
  std::string_view view;  // a cursor's value (valid until it moves)
  Tree* tree = nullptr;
  char* buf = nullptr;    // Reserve's
  std::vector<std::string> names;
  uint64_t digest = 0;
};

// What calls run on: a transaction, its tree handles and its cursors.
struct OpTargets {
  WriteTxn* txn = nullptr;
  std::vector<Tree*> trees;
  std::vector<std::unique_ptr<Cursor>> cursors;
  Tree* tree(uint32_t id) const { return id < trees.size() ? trees[id] : nullptr; }
  void SetTree(uint32_t id, Tree* t) {
    if (trees.size() <= id) trees.resize(id + 1, nullptr);
    trees[id] = t;
  }
};

// Performs op on t and fills out, digest included.
void RunOp(const Op& op, OpTargets* t, OpOut* out);

}  // namespace bruce
