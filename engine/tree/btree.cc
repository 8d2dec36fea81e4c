#include "tree/btree.h"

#include <algorithm>
#include <optional>

#include "format/bloom.h"
#include "tree/btree_internal.h"

namespace bruce::btree {

using format::BlockPtr;
using format::Node;
using format::ValueType;

namespace internal {

Status Mismatch(const BlockPtr& p, const std::string& what) {
  return Status::Corruption("node " + what + " does not match its parent's pointer", p.page);
}

// Checks what the parent promises about a child beyond what Load verified
// (hash and key count): its level.
Status CheckChild(const Node& parent, const BlockPtr& p, const Node& child) {
  if (child.level() + 1 != parent.level()) return Mismatch(p, "level");
  return Status::OK();
}

Fit FitOf(WriteContext* ctx, const TreeRoot& root) {
  return Fit{ctx, ctx->node_limit(), root.zstd_level, root.bloom_bits};
}

// Room a level-1 branch of a tree with filters keeps for its children's
// filters: they are built at commit, after the splits, so every child's is
// reserved from its key count (which bounds its leaf's entries), with its
// length. Filters are random bits: compression does not shrink them.
size_t FilterReserve(const Node& n, const Fit& fit) {
  if (fit.bloom_bits == 0 || n.level() != 1) return 0;
  size_t bytes = 0;
  for (size_t i = 0; i < n.size(); i++) {
    bytes += format::FilterBytes(n.child(i).count, fit.bloom_bits) + 3;
  }
  return bytes;
}

size_t Estimated(const Node& n, const Fit& fit) {
  size_t raw = n.TightSize();
  size_t filters = FilterReserve(n, fit);
  return filters +
         (fit.level > 0 ? static_cast<size_t>(static_cast<double>(raw) * n.ratio()) : raw);
}

bool FilterRulesOut(const Node& n, size_t i, std::string_view key) {
  if (n.level() != 1) return false;
  std::string_view f = n.filter(i);
  return !f.empty() && !format::FilterMayContain(f, key);
}

bool TooBig(Node& n, const Fit& fit) {
  // A branch splits into two of at least two children each, so a tree of
  // long separators (keys up to kMaxKeySize, longer than a page) stays
  // O(log n) high: its branches grow past a page instead.
  if (n.size() < (n.leaf() ? 2u : 4u)) return false;
  size_t filters = FilterReserve(n, fit);
  if (n.EncodedSizeBound() + filters <= fit.page) return false;
  size_t raw = n.TightSize();
  if (raw + filters <= fit.page) return false;
  if (fit.level == 0 || raw > fit.page * kMaxLogicalPages) return true;
  // Measure how the node compresses when it has grown by a page since the
  // last look (a bulk load learns it here, before anything is written).
  if (n.measured() == 0 || raw > n.measured() + fit.page) fit.ctx->MeasureRatio(&n, fit.level);
  // A little slack below the page, as the estimate lags the real ratio.
  return Estimated(n, fit) > fit.page * 15 / 16;
}

bool Underfull(const Node& n, const Fit& fit) {
  return n.size() == 0 || Estimated(n, fit) < fit.page / 4;
}

// The shortest key s with a < s <= b (a < b).
std::string ShortSeparator(std::string_view a, std::string_view b) {
  size_t n = 0;
  while (n < a.size() && n < b.size() && a[n] == b[n]) n++;
  return std::string(b.substr(0, n + 1));
}

// The first index at which the entries before it reach `target` bytes of
// the node's encoding (their keys without the prefix all of them share).
size_t SplitPoint(const Node& n, size_t target) {
  size_t prefix = n.SharedPrefix(), acc = format::kNodeHeaderSize, m = 0;
  while (m + 1 < n.size() && acc < target) {
    size_t e = n.TightEntrySize(m);
    acc += n.leaf() || m > 0 ? e - std::min(e, prefix) : e;
    m++;
  }
  return std::max<size_t>(m, 1);
}

// Splits n in two by bytes; with `append` the new right node takes only the
// last entry, which keeps ascending loads from leaving half-empty nodes, or
// with a fill fraction the left keeps that much.
Split SplitNode(Node* n, bool append, double fill) {
  size_t m;
  if (append && fill > 0 && fill < 1) {
    m = SplitPoint(*n, static_cast<size_t>(static_cast<double>(n->TightSize()) * fill));
  } else if (append) {
    m = n->size() - 1;
  } else {
    m = SplitPoint(*n, n->TightSize() / 2);
  }
  bool last_alone = append && !(fill > 0 && fill < 1);
  if (!n->leaf() && !last_alone && n->size() >= 4) {
    m = std::clamp<size_t>(m, 2, n->size() - 2);  // no branch of one child
  }
  Split s;
  s.right = std::make_unique<Node>(n->level());
  s.right->set_ratio(n->ratio(), n->measured() / 2);
  s.right->ReserveLike(*n);
  if (n->leaf()) {
    s.sep = ShortSeparator(n->key(m - 1), n->key(m));
    n->MoveTail(m, s.right.get());
  } else {
    s.sep = std::string(n->key(m));
    n->MoveTail(m, s.right.get());
    s.right->SetKey(0, "");
  }
  return s;
}

// Makes child i of the dirty branch n writable, copying it on first use.
Result<Node*> MutableChild(WriteContext* ctx, Node* n, size_t i) {
  if (Node* d = n->dirty_kid(i)) return d;
  BlockPtr p = n->child(i);
  BRUCE_ASSIGN_OR_RETURN(NodeRef clean, ctx->Load(p));
  BRUCE_RETURN_IF_ERROR(CheckChild(*n, p, *clean));
  ctx->FreeRun(p);
  n->dirty_kids()[i] = clean->Clone();
  n->child(i).page = 0;  // its location and hash are known again at Flush
  return n->dirty_kids()[i].get();
}

Result<Node*> MutableRoot(WriteContext* ctx, TreeRoot* root) {
  if (root->dirty) return root->dirty.get();
  if (root->ptr.null()) {
    root->dirty = std::make_unique<Node>(0);
  } else {
    BRUCE_ASSIGN_OR_RETURN(NodeRef clean, ctx->Load(root->ptr));
    ctx->FreeRun(root->ptr);
    root->dirty = clean->Clone();
  }
  root->ptr = BlockPtr{};
  return root->dirty.get();
}

void InsertChild(Node* n, size_t i, Split* s) {
  uint64_t rc = s->right->Count();
  n->child(i - 1).count -= rc;
  BlockPtr p;
  p.count = rc;
  n->InsertBranch(i, s->sep, p);
  n->dirty_kids()[i] = std::move(s->right);
}

Status InsertRec(WriteContext* ctx, const Fit& limit, Node* n, std::string_view key,
                 std::string_view value, ValueType vt, bool* added, OldValue* old,
                 std::optional<Split>* split, double fill) {
  if (n->leaf()) {
    bool found;
    size_t i = n->LowerBound(key, &found);
    if (found) {
      if (old) {
        old->existed = true;
        old->vtype = n->vtype(i);
        old->value.assign(n->value(i));
      }
      n->SetValue(i, value, vt);
    } else {
      n->InsertLeaf(i, key, value, vt);
    }
    *added = !found;
    if (TooBig(*n, limit)) *split = SplitNode(n, !found && i + 1 == n->size(), fill);
    return Status::OK();
  }
  size_t i = n->ChildIndex(key);
  BRUCE_ASSIGN_OR_RETURN(Node * c, MutableChild(ctx, n, i));
  std::optional<Split> cs;
  BRUCE_RETURN_IF_ERROR(InsertRec(ctx, limit, c, key, value, vt, added, old, &cs, fill));
  if (*added) n->child(i).count++;
  if (cs) {
    InsertChild(n, i + 1, &*cs);
    if (TooBig(*n, limit)) *split = SplitNode(n, i + 2 == n->size(), fill);
  }
  return Status::OK();
}

// Frees a whole subtree whose root is child i of n (dirty or committed).
Status DropChild(WriteContext* ctx, Node* n, size_t i) {
  if (n->dirty_kid(i)) {
    BRUCE_RETURN_IF_ERROR(FreeDirty(ctx, std::move(n->dirty_kids()[i])));
  } else {
    BRUCE_RETURN_IF_ERROR(FreeSubtree(ctx, n->child(i)));
  }
  n->Erase(i);
  return Status::OK();
}

// Child i of n is underfull: merge it with a neighbour, and split the result
// again if it is too big (which evens the two out).
Status Rebalance(WriteContext* ctx, const Fit& fit, Node* n, size_t i) {
  if (n->size() < 2) return Status::OK();
  size_t l = i + 1 < n->size() ? i : i - 1;
  size_t r = l + 1;
  BRUCE_ASSIGN_OR_RETURN(Node * left, MutableChild(ctx, n, l));
  BRUCE_ASSIGN_OR_RETURN(Node * right, MutableChild(ctx, n, r));
  if (!left->leaf()) right->SetKey(0, n->key(r));
  left->AppendAll(right);
  n->child(l).count += n->child(r).count;
  n->Erase(r);
  if (TooBig(*left, fit)) {
    Split s = SplitNode(left, false);
    InsertChild(n, l + 1, &s);
  }
  return Status::OK();
}

Status DeleteRec(WriteContext* ctx, const Fit& fit, Node* n, std::string_view key) {
  if (n->leaf()) {
    bool found;
    size_t i = n->LowerBound(key, &found);
    if (!found) return Status::NotFound("key not found");
    n->Erase(i);
    return Status::OK();
  }
  size_t i = n->ChildIndex(key);
  BRUCE_ASSIGN_OR_RETURN(Node * c, MutableChild(ctx, n, i));
  BRUCE_RETURN_IF_ERROR(DeleteRec(ctx, fit, c, key));
  n->child(i).count--;
  if (n->child(i).count == 0 && n->size() > 1) return DropChild(ctx, n, i);
  if (Underfull(*c, fit)) return Rebalance(ctx, fit, n, i);
  return Status::OK();
}

void ShrinkRoot(TreeRoot* root) {
  while (!root->dirty->leaf() && root->dirty->size() == 1) {
    if (!root->dirty->dirty_kid(0)) {
      root->ptr = root->dirty->child(0);
      root->dirty.reset();
      return;
    }
    std::unique_ptr<Node> kid = std::move(root->dirty->dirty_kids()[0]);
    root->dirty = std::move(kid);
  }
}

TreeRoot BorrowOverflow(Node* leaf, int zstd_level) {
  TreeRoot chain;
  format::PtrValue v;
  format::DecodePtrValue(leaf->value(leaf->size() - 1), &v);
  chain.ptr = v.ptr;
  chain.dirty = std::move(leaf->overflow_dirty());
  if (chain.dirty) chain.ptr = BlockPtr{};
  chain.zstd_level = zstd_level;
  return chain;
}

void ReturnOverflow(Node* leaf, TreeRoot* chain) {
  size_t last = leaf->size() - 1;
  uint64_t count = chain->Count();
  if (count == 0) {
    leaf->Erase(last);  // an empty chain owns no pages (or only an empty dirty leaf)
    chain->dirty.reset();
    chain->ptr = BlockPtr{};
    return;
  }
  format::PtrValue v;
  v.ptr = chain->dirty ? BlockPtr{} : chain->ptr;
  v.ptr.count = count;
  leaf->SetValue(last, format::EncodePtrValue(v), ValueType::kOverflow);
  leaf->overflow_dirty() = std::move(chain->dirty);
}

TreeRoot OverflowView(const Node& leaf) {
  TreeRoot chain;
  format::PtrValue v;
  format::DecodePtrValue(leaf.value(leaf.size() - 1), &v);
  chain.ptr = v.ptr;
  chain.view = leaf.overflow_dirty();
  return chain;
}

Status SelectOverflow(NodeSource* src, const Node& leaf, uint64_t i, std::string* value) {
  TreeRoot chain = OverflowView(leaf);
  return Select(src, chain, i, value, nullptr, nullptr);
}

}  // namespace internal

using namespace internal;

Result<NodeView> Root(NodeSource* src, const TreeRoot& root) {
  if (root.dirty) return NodeView{root.dirty.get(), nullptr};
  if (root.view) return NodeView{root.view, nullptr};
  if (root.ptr.null()) return NodeView{};
  if (!root.pinned || !(root.pinned->hash() == root.ptr.hash)) {
    BRUCE_ASSIGN_OR_RETURN(root.pinned, src->Load(root.ptr));
  }
  return NodeView{root.pinned.get(), root.pinned};
}

Result<NodeView> Child(NodeSource* src, const Node& parent, size_t i) {
  if (const Node* d = parent.dirty_kid(i)) return NodeView{d, nullptr};
  const BlockPtr& p = parent.child(i);
  BRUCE_ASSIGN_OR_RETURN(NodeRef n, src->Load(p));
  BRUCE_RETURN_IF_ERROR(CheckChild(parent, p, *n));
  const Node* raw = n.get();
  return NodeView{raw, std::move(n)};
}

Status Find(NodeSource* src, const TreeRoot& root, std::string_view key, NodeView* leaf,
            size_t* index) {
  BRUCE_ASSIGN_OR_RETURN(NodeView v, Root(src, root));
  if (!v.node) return Status::NotFound("key not found");
  while (!v.node->leaf()) {
    size_t i = v.node->ChildIndex(key);
    // (A tree without filters does not look: its slots stay out of the CPU cache.)
    if (root.bloom_bits > 0 && FilterRulesOut(*v.node, i, key)) {
      return Status::NotFound("key not found");
    }
    BRUCE_ASSIGN_OR_RETURN(v, Child(src, *v.node, i));
  }
  bool found;
  *index = v.node->LowerBound(key, &found);
  if (!found) return Status::NotFound("key not found");
  *leaf = std::move(v);
  return Status::OK();
}

Result<bool> MayContain(NodeSource* src, const TreeRoot& root, std::string_view key) {
  BRUCE_ASSIGN_OR_RETURN(NodeView v, Root(src, root));
  if (!v.node) return false;
  while (!v.node->leaf()) {
    size_t i = v.node->ChildIndex(key);
    if (v.node->level() == 1 && !v.node->dirty_kid(i)) {
      return !FilterRulesOut(*v.node, i, key);  // the leaf is not read
    }
    BRUCE_ASSIGN_OR_RETURN(v, Child(src, *v.node, i));
  }
  bool found;
  v.node->LowerBound(key, &found);
  return found;
}

Status Get(NodeSource* src, const TreeRoot& root, std::string_view key, std::string* value,
           ValueType* vtype) {
  NodeView v;
  size_t i;
  BRUCE_RETURN_IF_ERROR(Find(src, root, key, &v, &i));
  if (value) value->assign(v.node->value(i));
  if (vtype) *vtype = v.node->vtype(i);
  return Status::OK();
}

Status Put(WriteContext* ctx, TreeRoot* root, std::string_view key, std::string_view value,
           ValueType vtype, bool* added, OldValue* old, double fill) {
  if (old) old->existed = false;
  BRUCE_ASSIGN_OR_RETURN(Node * r, MutableRoot(ctx, root));
  std::optional<Split> s;
  BRUCE_RETURN_IF_ERROR(
      InsertRec(ctx, FitOf(ctx, *root), r, key, value, vtype, added, old, &s, fill));
  if (s) {
    auto top = std::make_unique<Node>(r->level() + 1);
    top->set_ratio(r->ratio(), 0);
    BlockPtr p;
    p.count = root->dirty->Count() + s->right->Count();
    top->InsertBranch(0, "", p);
    top->dirty_kids()[0] = std::move(root->dirty);
    InsertChild(top.get(), 1, &*s);
    root->dirty = std::move(top);
  }
  return Status::OK();
}

Status Delete(WriteContext* ctx, TreeRoot* root, std::string_view key, OldValue* old) {
  // Look first, so deleting an absent key copies nothing.
  OldValue seen;
  if (!old) old = &seen;
  old->existed = false;
  BRUCE_RETURN_IF_ERROR(Get(ctx, *root, key, &old->value, &old->vtype));
  old->existed = true;
  BRUCE_ASSIGN_OR_RETURN(Node * r, MutableRoot(ctx, root));
  BRUCE_RETURN_IF_ERROR(DeleteRec(ctx, FitOf(ctx, *root), r, key));
  ShrinkRoot(root);
  return Status::OK();
}

Result<uint64_t> Rank(NodeSource* src, const TreeRoot& root, std::string_view key) {
  BRUCE_ASSIGN_OR_RETURN(NodeView v, Root(src, root));
  if (!v.node) return uint64_t{0};
  uint64_t rank = 0;
  while (!v.node->leaf()) {
    size_t i = v.node->ChildIndex(key);
    for (size_t j = 0; j < i; j++) rank += v.node->child(j).count;
    BRUCE_ASSIGN_OR_RETURN(v, Child(src, *v.node, i));
  }
  bool found;
  size_t i = v.node->LowerBound(key, &found);
  // Past a dup leaf's last key: its overflow chain's values come before too.
  if (i == v.node->size()) return rank + v.node->Count();
  if (v.node->vtype(i) == ValueType::kOverflow) i = v.node->size() - 1;
  return rank + i;
}

Status Select(NodeSource* src, const TreeRoot& root, uint64_t i, std::string* key,
              std::string* value, ValueType* vtype) {
  if (i >= root.Count()) return Status::NotFound("index past the end");
  BRUCE_ASSIGN_OR_RETURN(NodeView v, Root(src, root));
  while (!v.node->leaf()) {
    size_t j = 0;
    while (j + 1 < v.node->size() && i >= v.node->child(j).count) {
      i -= v.node->child(j).count;
      j++;
    }
    BRUCE_ASSIGN_OR_RETURN(v, Child(src, *v.node, j));
  }
  size_t pairs = v.node->HasOverflow() ? v.node->size() - 1 : v.node->size();
  if (i >= pairs) {
    if (i >= v.node->Count()) return Status::Corruption("subtree counts are wrong");
    // In a dup leaf's overflow chain: the last key, with the chain's value.
    std::string chain_value;
    BRUCE_RETURN_IF_ERROR(SelectOverflow(src, *v.node, i - pairs, &chain_value));
    if (key) key->assign(v.node->key(pairs));
    if (value) *value = std::move(chain_value);
    if (vtype) *vtype = ValueType::kInline;
    return Status::OK();
  }
  if (key) key->assign(v.node->key(i));
  if (value) value->assign(v.node->value(i));
  if (vtype) *vtype = v.node->vtype(i);
  return Status::OK();
}

Result<uint32_t> Depth(NodeSource* src, const TreeRoot& root) {
  BRUCE_ASSIGN_OR_RETURN(NodeView v, Root(src, root));
  if (!v.node || root.Count() == 0) return uint32_t{0};
  return static_cast<uint32_t>(v.node->level()) + 1;
}

Status FreePtrValue(WriteContext* ctx, ValueType vtype, std::string_view value) {
  if (vtype == ValueType::kInline) return Status::OK();
  format::PtrValue v;
  if (!format::DecodePtrValue(value, &v)) return Status::Corruption("malformed pointer value");
  if (v.ptr.null()) return Status::OK();
  if (vtype == ValueType::kData || (vtype == ValueType::kExtents && (v.aux & format::kDirect))) {
    return ctx->FreeData(v.ptr);
  }
  return FreeSubtree(ctx, v.ptr);
}

Status FreeSubtree(WriteContext* ctx, const BlockPtr& ptr) {
  if (ptr.null()) return Status::OK();
  BRUCE_ASSIGN_OR_RETURN(NodeRef n, ctx->Load(ptr));
  for (size_t i = 0; i < n->size(); i++) {
    if (n->leaf()) {
      BRUCE_RETURN_IF_ERROR(FreePtrValue(ctx, n->vtype(i), n->value(i)));
    } else {
      BRUCE_RETURN_IF_ERROR(FreeSubtree(ctx, n->child(i)));
    }
  }
  ctx->FreeRun(ptr);
  return Status::OK();
}

namespace internal {

// Frees a dirty subtree: its committed parts, and every value below it.
Status FreeDirty(WriteContext* ctx, std::unique_ptr<Node> d) {
  if (d->overflow_dirty()) BRUCE_RETURN_IF_ERROR(FreeDirty(ctx, std::move(d->overflow_dirty())));
  for (size_t k = 0; k < d->size(); k++) {
    if (d->leaf()) {
      BRUCE_RETURN_IF_ERROR(FreePtrValue(ctx, d->vtype(k), d->value(k)));
    } else if (d->dirty_kid(k)) {
      BRUCE_RETURN_IF_ERROR(FreeDirty(ctx, std::move(d->dirty_kids()[k])));
    } else {
      BRUCE_RETURN_IF_ERROR(FreeSubtree(ctx, d->child(k)));
    }
  }
  return Status::OK();
}

}  // namespace internal

Status FreeTree(WriteContext* ctx, TreeRoot* root) {
  if (root->dirty) {
    BRUCE_RETURN_IF_ERROR(FreeDirty(ctx, std::move(root->dirty)));
  } else {
    BRUCE_RETURN_IF_ERROR(FreeSubtree(ctx, root->ptr));
  }
  root->dirty.reset();
  root->ptr = BlockPtr{};
  root->pinned.reset();
  return Status::OK();
}

}  // namespace bruce::btree
