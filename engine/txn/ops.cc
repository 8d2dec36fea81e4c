// txn/ops.cc — performing a recorded call, and the digest of its result.
#include "txn/ops.h"

#include <xxhash.h>

namespace bruce {

namespace {

// A digest of what a call returned: its status code and its results.
// Strings are hashed with XXH3; the parts are mixed in order.
class Digest {
 public:
  void Add(std::string_view s) {
    U64(s.size());
    U64(XXH3_64bits(s.data(), s.size()));
  }
  void U64(uint64_t v) {
    h_ = (h_ ^ v) * 0x9e3779b97f4a7c15ull;
    h_ ^= h_ >> 29;
  }
  uint64_t Done() const { return h_; }

 private:
  uint64_t h_ = 0x243f6a8885a308d3ull;
};

Status NoTarget() { return Status::InvalidArgument("a tree or cursor of another transaction"); }

}  // namespace

bool IsChange(OpKind k) {
  switch (k) {
    case OpKind::kCreateTree:
    case OpKind::kDropTree:
    case OpKind::kCreateSnapshot:
    case OpKind::kDestroySnapshot:
    case OpKind::kPut:
    case OpKind::kReserve:
    case OpKind::kDelete:
    case OpKind::kDeleteValue:
    case OpKind::kWriteAt:
    case OpKind::kTruncate:
    case OpKind::kRename:
    case OpKind::kMoveTo:
    case OpKind::kZeroRange:
    case OpKind::kCloneRange:
    case OpKind::kCurPut:
    case OpKind::kCurDelete:
      return true;
    default:
      return false;
  }
}

namespace {

// The calls of the transaction itself.
void RunTxnOp(const Op& op, OpTargets* t, OpOut* out, Digest* d) {
  WriteTxn* w = t->txn;
  auto tree_result = [&](Result<Tree*> r) {
    out->st = r.status();
    out->tree = r.ok() ? r.value() : nullptr;
    if (out->tree != nullptr) {
      // The tree's options are part of what the call returned: writes to a
      // tree remade with others since would land in a different tree.
      const TreeOptions o = out->tree->options();
      d->U64(o.dupsort ? 1 : 0);
      d->U64(static_cast<uint64_t>(o.compression_level));
      d->U64(o.bloom_bits_per_key);
    }
  };
  switch (op.kind) {
    case OpKind::kMain:
      out->tree = w->Main();
      break;
    case OpKind::kOpenTree:
      tree_result(w->OpenTree(op.k1));
      break;
    case OpKind::kCreateTree: {
      TreeOptions o;
      o.dupsort = op.flags != 0;
      o.compression_level = static_cast<int>(op.a) - 1;
      o.bloom_bits_per_key = static_cast<uint32_t>(op.b);
      tree_result(w->CreateTree(op.k1, o));
      break;
    }
    case OpKind::kDropTree:
      out->st = w->DropTree(op.k1);
      break;
    case OpKind::kListTrees: {
      auto r = w->ListTrees();
      out->st = r.status();
      if (r.ok()) out->names = std::move(r).value();
      for (const std::string& n : out->names) d->Add(n);
      break;
    }
    case OpKind::kId:
      out->u = w->id();
      d->U64(out->u);
      break;
    case OpKind::kCreateSnapshot:
      out->st = w->CreateSnapshot(op.k1);
      break;
    case OpKind::kDestroySnapshot:
      out->st = w->DestroySnapshot(op.k1);
      break;
    default:
      out->st = Status::InvalidArgument("not a transaction call");
  }
}

void U64Result(Result<uint64_t> r, OpOut* out, Digest* d) {
  out->st = r.status();
  if (r.ok()) {
    out->u = r.value();
    d->U64(out->u);
  }
}

// A tree's calls.
void RunTreeOp(const Op& op, OpTargets* t, OpOut* out, Digest* d) {
  Tree* tr = t->tree(op.tree);
  if (tr == nullptr) {
    out->st = NoTarget();
    return;
  }
  switch (op.kind) {
    case OpKind::kGet:
      out->st = tr->Get(op.k1, &out->str);
      if (out->st.ok()) d->Add(out->str);
      break;
    case OpKind::kGetPinned:
      out->st = tr->GetPinned(op.k1, &out->pinned);
      if (out->st.ok()) d->Add(out->pinned.view());
      break;
    case OpKind::kReadPinned:
      out->st = tr->ReadPinned(op.k1, op.a, op.b, &out->pinned);
      if (out->st.ok()) d->Add(out->pinned.view());
      break;
    case OpKind::kPut:
      out->st = tr->Put(op.k1, op.k2, op.flags, &out->str);
      if (out->st.code() == Code::kExists) d->Add(out->str);
      break;
    case OpKind::kReserve: {
      auto r = tr->Reserve(op.k1, op.a);
      out->st = r.status();
      out->buf = r.ok() ? r.value() : nullptr;
      break;
    }
    case OpKind::kDelete:
      out->st = tr->Delete(op.k1);
      break;
    case OpKind::kDeleteValue:
      out->st = tr->Delete(op.k1, op.k2);
      break;
    case OpKind::kCountDups:
      U64Result(tr->CountDups(op.k1), out, d);
      break;
    case OpKind::kMayContain: {
      auto r = tr->MayContain(op.k1);
      out->st = r.status();
      if (r.ok()) {
        out->b = r.value();
        d->U64(out->b ? 1 : 0);
      }
      break;
    }
    case OpKind::kCount:
      U64Result(tr->Count(), out, d);
      break;
    case OpKind::kCountRange:
      U64Result(tr->Count(op.k1, op.k2), out, d);
      break;
    case OpKind::kCountPrefix:
      U64Result(tr->CountPrefix(op.k1), out, d);
      break;
    case OpKind::kRank:
      U64Result(tr->Rank(op.k1), out, d);
      break;
    case OpKind::kSelect: {
      auto r = tr->Select(op.a);
      out->st = r.status();
      if (r.ok()) {
        out->entry = std::move(r).value();
        d->Add(out->entry.key);
        d->Add(out->entry.value);
      }
      break;
    }
    case OpKind::kKeyAt:
    case OpKind::kRootHash: {
      auto r = op.kind == OpKind::kKeyAt ? tr->KeyAt(op.a) : tr->RootHashHex();
      out->st = r.status();
      if (r.ok()) {
        out->str = std::move(r).value();
        d->Add(out->str);
      }
      break;
    }
    case OpKind::kDepth: {
      auto r = tr->Depth();
      out->st = r.status();
      if (r.ok()) {
        out->u = r.value();
        d->U64(out->u);
      }
      break;
    }
    case OpKind::kValueSize:
      U64Result(tr->ValueSize(op.k1), out, d);
      break;
    case OpKind::kReadAt:
      out->st = tr->ReadAt(op.k1, op.a, op.b, &out->str);
      if (out->st.ok()) d->Add(out->str);
      break;
    case OpKind::kWriteAt:
      out->st = tr->WriteAt(op.k1, op.a, op.k2);
      break;
    case OpKind::kTruncate:
      out->st = tr->Truncate(op.k1, op.a);
      break;
    case OpKind::kRename:
      out->st = tr->Rename(op.k1, op.k2);
      break;
    case OpKind::kMoveTo: {
      Tree* dest = t->tree(op.other);
      out->st = dest == nullptr ? NoTarget() : tr->MoveTo(op.k1, dest, op.k2);
      break;
    }
    case OpKind::kAllocatedBytes:
      U64Result(tr->AllocatedBytes(op.k1), out, d);
      break;
    case OpKind::kZeroRange:
      out->st = tr->ZeroRange(op.k1, op.a, op.b);
      break;
    case OpKind::kSeekData:
      U64Result(tr->SeekData(op.k1, op.a, op.flags != 0), out, d);
      break;
    case OpKind::kCloneRange: {
      // tree: the destination; other: the source.
      Tree* src = t->tree(op.other);
      if (src == nullptr) {
        out->st = NoTarget();
        break;
      }
      U64Result(tr->CloneRange(src, op.k1, op.a, op.k2, op.b, op.c), out, d);
      break;
    }
    case OpKind::kNewCursor:
      if (t->cursors.size() <= op.other) t->cursors.resize(op.other + 1);
      t->cursors[op.other] = tr->NewCursor();
      break;
    default:
      out->st = Status::InvalidArgument("not a tree call");
  }
}

// A cursor's calls; the digest holds where it ended up.
void RunCursorOp(const Op& op, OpTargets* t, OpOut* out, Digest* d) {
  if (op.kind == OpKind::kCurDrop) {
    if (op.tree < t->cursors.size()) t->cursors[op.tree].reset();
    return;
  }
  Cursor* c = op.tree < t->cursors.size() ? t->cursors[op.tree].get() : nullptr;
  if (c == nullptr) {
    out->st = NoTarget();
    return;
  }
  bool position = true;
  switch (op.kind) {
    case OpKind::kCurFirst: c->First(); break;
    case OpKind::kCurLast: c->Last(); break;
    case OpKind::kCurSeek: c->Seek(op.k1); break;
    case OpKind::kCurNext: c->Next(); break;
    case OpKind::kCurPrev: c->Prev(); break;
    case OpKind::kCurSeekExact: out->b = c->SeekExact(op.k1); break;
    case OpKind::kCurSeekPrefix: out->b = c->SeekPrefix(op.k1); break;
    case OpKind::kCurSeekBoth: out->b = c->SeekBoth(op.k1, op.k2); break;
    case OpKind::kCurNextDup: out->b = c->NextDup(); break;
    case OpKind::kCurPrevDup: out->b = c->PrevDup(); break;
    case OpKind::kCurNextNoDup: c->NextNoDup(); break;
    case OpKind::kCurPrevNoDup: c->PrevNoDup(); break;
    case OpKind::kCurLook: break;
    case OpKind::kCurCountDups:
      U64Result(c->CountDups(), out, d);
      break;
    case OpKind::kCurPut:
      out->st = c->Put(op.k1);
      break;
    case OpKind::kCurDelete:
      out->st = c->Delete();
      break;
    case OpKind::kCurValue:
      position = false;
      if (c->Valid()) {
        out->view = c->value();
        d->Add(out->view);
      }
      out->st = c->status();
      break;
    default:
      out->st = Status::InvalidArgument("not a cursor call");
      return;
  }
  if (!position) return;
  d->U64(out->b ? 1 : 0);
  const bool valid = c->Valid();
  d->U64(valid ? 1 : 0);
  if (valid) d->Add(c->key());
  d->U64(static_cast<uint64_t>(c->status().code()));
}

}  // namespace

void RunOp(const Op& op, OpTargets* t, OpOut* out) {
  Digest d;
  d.U64(static_cast<uint64_t>(op.kind));
  if (op.kind <= OpKind::kDestroySnapshot) {
    RunTxnOp(op, t, out, &d);
  } else if (op.kind <= OpKind::kNewCursor) {
    RunTreeOp(op, t, out, &d);
  } else {
    RunCursorOp(op, t, out, &d);
  }
  d.U64(static_cast<uint64_t>(out->st.code()));
  out->digest = d.Done();
}

}  // namespace bruce
