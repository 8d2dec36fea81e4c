#include "tree/dup.h"

#include <vector>

#include "tree/btree_internal.h"

namespace bruce::btree::dup {

using format::BlockPtr;
using format::Node;
using format::ValueType;
using namespace internal;

namespace {

// Entries of a leaf that are pairs (all but an overflow chain).
size_t Pairs(const Node& n) { return n.HasOverflow() ? n.size() - 1 : n.size(); }

// The first pair slot >= (key, value); *found when it is that pair.
size_t PairBound(const Node& n, std::string_view key, std::string_view value, bool* found) {
  bool f;
  size_t end = Pairs(n);
  size_t a = std::min(n.LowerBound(key, &f), end), b = end;
  while (a < b) {  // key's values, sorted, start at a
    size_t m = a + (b - a) / 2;
    if (n.key(m) == key && n.value(m) < value) {
      a = m + 1;
    } else {
      b = m;
    }
  }
  *found = a < end && n.key(a) == key && n.value(a) == value;
  return a;
}

// Whether key's values reach into the leaf's overflow chain.
bool ChainKey(const Node& n, std::string_view key) {
  return n.HasOverflow() && n.key(n.size() - 1) == key;
}

// Puts splits of child i's node in after it, with exact counts.
void InsertSplits(Node* n, size_t i, std::vector<Split>* splits) {
  for (size_t k = 0; k < splits->size(); k++) {
    Split& s = (*splits)[k];
    BlockPtr p;
    p.count = s.right->Count();
    n->InsertBranch(i + 1 + k, s.sep, p);
    n->dirty_kids()[i + 1 + k] = std::move(s.right);
  }
  splits->clear();
}

// A branch that grew past its limit splits in halves until each fits.
void ResolveBranch(const Fit& fit, Node* n, std::vector<Split>* out) {
  if (!TooBig(*n, fit)) return;
  Split s = SplitNode(n, false);
  Node* right = s.right.get();
  ResolveBranch(fit, n, out);
  out->push_back(std::move(s));
  ResolveBranch(fit, right, out);
}

// The split point between two keys nearest the middle by bytes; 0 when the
// leaf's pairs all share one key.
size_t Boundary(const Node& n) {
  size_t end = Pairs(n);
  size_t half = n.TightSize() / 2, acc = format::kNodeHeaderSize;
  size_t best = 0, best_dist = SIZE_MAX;
  for (size_t m = 1; m < end; m++) {
    acc += n.TightEntrySize(m - 1);
    if (n.key(m - 1) == n.key(m)) continue;
    size_t dist = acc > half ? acc - half : half - acc;
    if (dist < best_dist) {
      best = m;
      best_dist = dist;
    }
  }
  return best;
}

// A leaf of one key that outgrew its limit: its largest values move to the
// overflow chain (made here if there is none) until it fits.
Status Spill(WriteContext* ctx, const Fit& fit, Node* n) {
  if (!n->HasOverflow()) {
    std::string key(n->key(0));
    n->InsertLeaf(n->size(), key, format::EncodePtrValue({}), ValueType::kOverflow);
  }
  TreeRoot chain = BorrowOverflow(n, fit.level);
  Status st;
  while (TooBig(*n, fit) && Pairs(*n) > 1) {
    size_t last = Pairs(*n) - 1;
    bool added;
    st = btree::Put(ctx, &chain, n->value(last), "", ValueType::kInline, &added);
    if (!st.ok()) break;
    n->Erase(last);
  }
  ReturnOverflow(n, &chain);
  return st;
}

// Makes a leaf that outgrew its limit fit: splits it between keys (the
// overflow chain goes right with the last key), and spills a leaf of one
// key into its chain. The new right leaves go to *out in key order.
Status Resolve(WriteContext* ctx, const Fit& fit, Node* n, std::vector<Split>* out) {
  if (!TooBig(*n, fit)) return Status::OK();
  size_t m = Boundary(*n);
  if (m == 0) return Spill(ctx, fit, n);
  Split s;
  s.right = std::make_unique<Node>(0);
  s.right->set_ratio(n->ratio(), n->measured() / 2);
  s.right->ReserveLike(*n);
  s.sep = ShortSeparator(n->key(m - 1), n->key(m));
  n->MoveTail(m, s.right.get());
  Node* right = s.right.get();
  BRUCE_RETURN_IF_ERROR(Resolve(ctx, fit, n, out));
  out->push_back(std::move(s));
  return Resolve(ctx, fit, right, out);
}

// The leaf lost a pair of its last key, which has an overflow chain: the
// chain's smallest values come back while they fit (and one always, if the
// leaf kept none of that key's values).
Status PullBack(WriteContext* ctx, const Fit& fit, Node* n, std::vector<Split>* out) {
  std::string key(n->key(n->size() - 1));
  TreeRoot chain = BorrowOverflow(n, fit.level);
  Status st;
  while (chain.Count() > 0) {
    std::string v;
    st = btree::Select(ctx, chain, 0, &v, nullptr, nullptr);
    if (!st.ok()) break;
    size_t end = Pairs(*n);
    bool must = end == 0 || n->key(end - 1) != key;
    n->InsertLeaf(end, key, v, ValueType::kInline);
    if (!must && TooBig(*n, fit)) {
      n->Erase(end);
      break;
    }
    st = btree::Delete(ctx, &chain, v);
    if (!st.ok()) break;
  }
  ReturnOverflow(n, &chain);
  BRUCE_RETURN_IF_ERROR(st);
  return Resolve(ctx, fit, n, out);
}

// Child i of the dirty branch n is underfull: merge it with a neighbour and
// split the result again if it is too big. A leaf with an overflow chain
// takes nothing after its last key, so it is left as it is.
Status Rebalance(WriteContext* ctx, const Fit& fit, Node* n, size_t i) {
  if (n->size() < 2) return Status::OK();
  size_t l = i + 1 < n->size() ? i : i - 1;
  size_t r = l + 1;
  BRUCE_ASSIGN_OR_RETURN(NodeView lv, Child(ctx, *n, l));
  if (lv.node->HasOverflow()) return Status::OK();
  BRUCE_ASSIGN_OR_RETURN(Node * left, MutableChild(ctx, n, l));
  BRUCE_ASSIGN_OR_RETURN(Node * right, MutableChild(ctx, n, r));
  if (!left->leaf()) right->SetKey(0, n->key(r));
  left->AppendAll(right);
  n->Erase(r);
  std::vector<Split> splits;
  if (left->leaf()) {
    BRUCE_RETURN_IF_ERROR(Resolve(ctx, fit, left, &splits));
  } else {
    ResolveBranch(fit, left, &splits);
  }
  n->child(l).count = left->Count();
  InsertSplits(n, l, &splits);
  return Status::OK();
}

// After child i of n changed: exact counts, the child's splits, dropping
// or merging it when empty or underfull, and splitting n if it grew too big.
Status Settle(WriteContext* ctx, const Fit& fit, Node* n, size_t i, std::vector<Split>* cs,
              std::vector<Split>* out) {
  Node* c = n->dirty_kid(i);
  n->child(i).count = c->Count();
  bool split = !cs->empty();
  InsertSplits(n, i, cs);
  if (n->child(i).count == 0 && n->size() > 1) {
    BRUCE_RETURN_IF_ERROR(DropChild(ctx, n, i));
  } else if (!split && Underfull(*c, fit)) {
    BRUCE_RETURN_IF_ERROR(Rebalance(ctx, fit, n, i));
  }
  ResolveBranch(fit, n, out);
  return Status::OK();
}

Status InsertRec(WriteContext* ctx, const Fit& fit, Node* n, std::string_view key,
                 std::string_view value, bool* added, std::vector<Split>* out) {
  if (!n->leaf()) {
    size_t i = n->ChildIndex(key);
    BRUCE_ASSIGN_OR_RETURN(Node * c, MutableChild(ctx, n, i));
    std::vector<Split> cs;
    BRUCE_RETURN_IF_ERROR(InsertRec(ctx, fit, c, key, value, added, &cs));
    return Settle(ctx, fit, n, i, &cs, out);
  }
  bool found;
  size_t i = PairBound(*n, key, value, &found);
  *added = !found;
  if (found) return Status::OK();
  size_t end = Pairs(*n);
  if (n->HasOverflow() && i == end) {
    if (ChainKey(*n, key)) {  // past every value of the last key in the leaf
      TreeRoot chain = BorrowOverflow(n, fit.level);
      Status st = btree::Put(ctx, &chain, value, "", ValueType::kInline, added);
      ReturnOverflow(n, &chain);
      return st;
    }
    // A key past the last one, whose chain must stay last: a leaf of its own.
    Split s;
    s.right = std::make_unique<Node>(0);
    s.right->set_ratio(n->ratio(), 0);
    s.right->ReserveLike(*n);
    s.right->InsertLeaf(0, key, value, ValueType::kInline);
    s.sep = ShortSeparator(n->key(end), key);
    out->push_back(std::move(s));
    return Status::OK();
  }
  n->InsertLeaf(i, key, value, ValueType::kInline);
  return Resolve(ctx, fit, n, out);
}

Status DeleteInLeaf(WriteContext* ctx, const Fit& fit, Node* n, std::string_view key,
                    const std::string_view* value, uint64_t* removed, std::vector<Split>* out) {
  bool chained = ChainKey(*n, key);
  if (value) {
    bool found;
    size_t i = PairBound(*n, key, *value, &found);
    if (found) {
      n->Erase(i);
      *removed = 1;
      return chained ? PullBack(ctx, fit, n, out) : Status::OK();
    }
    if (!chained) return Status::NotFound("no such value");
    TreeRoot chain = BorrowOverflow(n, fit.level);
    Status st = btree::Delete(ctx, &chain, *value);
    ReturnOverflow(n, &chain);
    if (st.ok()) *removed = 1;
    return st;
  }
  if (chained) {  // the chain first
    TreeRoot chain = BorrowOverflow(n, fit.level);
    *removed += chain.Count();
    Status st = FreeTree(ctx, &chain);
    ReturnOverflow(n, &chain);
    BRUCE_RETURN_IF_ERROR(st);
  }
  bool f;
  size_t lo = n->LowerBound(key, &f), hi = lo;
  while (hi < Pairs(*n) && n->key(hi) == key) hi++;
  for (size_t j = hi; j > lo; j--) n->Erase(j - 1);
  *removed += hi - lo;
  return *removed > 0 ? Status::OK() : Status::NotFound("key not found");
}

Status DeleteRec(WriteContext* ctx, const Fit& fit, Node* n, std::string_view key,
                 const std::string_view* value, uint64_t* removed, std::vector<Split>* out) {
  if (n->leaf()) return DeleteInLeaf(ctx, fit, n, key, value, removed, out);
  size_t i = n->ChildIndex(key);
  BRUCE_ASSIGN_OR_RETURN(Node * c, MutableChild(ctx, n, i));
  std::vector<Split> cs;
  BRUCE_RETURN_IF_ERROR(DeleteRec(ctx, fit, c, key, value, removed, &cs));
  return Settle(ctx, fit, n, i, &cs, out);
}

// New roots above the old one while it splits.
void Grow(const Fit& fit, TreeRoot* root, std::vector<Split>* splits) {
  while (!splits->empty()) {
    auto top = std::make_unique<Node>(root->dirty->level() + 1);
    top->set_ratio(root->dirty->ratio(), 0);
    BlockPtr p;
    p.count = root->dirty->Count();
    top->InsertBranch(0, "", p);
    top->dirty_kids()[0] = std::move(root->dirty);
    InsertSplits(top.get(), 0, splits);
    ResolveBranch(fit, top.get(), splits);
    root->dirty = std::move(top);
  }
}

// The leaf that holds key's values.
Result<NodeView> LeafOf(NodeSource* src, const TreeRoot& root, std::string_view key) {
  BRUCE_ASSIGN_OR_RETURN(NodeView v, Root(src, root));
  while (v.node && !v.node->leaf()) {
    BRUCE_ASSIGN_OR_RETURN(v, Child(src, *v.node, v.node->ChildIndex(key)));
  }
  return v;
}

}  // namespace

Result<bool> Contains(NodeSource* src, const TreeRoot& root, std::string_view key,
                      std::string_view value) {
  BRUCE_ASSIGN_OR_RETURN(NodeView v, LeafOf(src, root, key));
  if (!v.node) return false;
  bool found;
  size_t i = PairBound(*v.node, key, value, &found);
  if (found) return true;
  if (i != Pairs(*v.node) || !ChainKey(*v.node, key)) return false;
  TreeRoot chain = OverflowView(*v.node);
  Status st = btree::Get(src, chain, value, nullptr, nullptr);
  if (st.IsNotFound()) return false;
  BRUCE_RETURN_IF_ERROR(st);
  return true;
}

Result<uint64_t> CountDups(NodeSource* src, const TreeRoot& root, std::string_view key) {
  std::string after(key);
  after.push_back('\0');  // the first key after key
  BRUCE_ASSIGN_OR_RETURN(uint64_t hi, Rank(src, root, after));
  BRUCE_ASSIGN_OR_RETURN(uint64_t lo, Rank(src, root, key));
  return hi - lo;
}

Status Put(WriteContext* ctx, TreeRoot* root, std::string_view key, std::string_view value,
           bool* added) {
  // Look first, so adding a pair that is there copies nothing.
  BRUCE_ASSIGN_OR_RETURN(bool there, Contains(ctx, *root, key, value));
  *added = false;
  if (there) return Status::OK();
  BRUCE_ASSIGN_OR_RETURN(Node * r, MutableRoot(ctx, root));
  Fit fit = FitOf(ctx, *root);
  std::vector<Split> splits;
  BRUCE_RETURN_IF_ERROR(InsertRec(ctx, fit, r, key, value, added, &splits));
  Grow(fit, root, &splits);
  return Status::OK();
}

Status Delete(WriteContext* ctx, TreeRoot* root, std::string_view key,
              const std::string_view* value, uint64_t* removed) {
  *removed = 0;
  if (value) {
    BRUCE_ASSIGN_OR_RETURN(bool there, Contains(ctx, *root, key, *value));
    if (!there) return Status::NotFound("no such value");
  } else {
    BRUCE_ASSIGN_OR_RETURN(uint64_t n, CountDups(ctx, *root, key));
    if (n == 0) return Status::NotFound("key not found");
  }
  BRUCE_ASSIGN_OR_RETURN(Node * r, MutableRoot(ctx, root));
  Fit fit = FitOf(ctx, *root);
  std::vector<Split> splits;
  BRUCE_RETURN_IF_ERROR(DeleteRec(ctx, fit, r, key, value, removed, &splits));
  Grow(fit, root, &splits);
  ShrinkRoot(root);
  return Status::OK();
}

// ---- Cursor ----

Cursor::Cursor(NodeSource* src, const TreeRoot* root, const uint64_t* generation)
    : src_(src), gen_(generation), main_(src, root, nullptr) {}

void Cursor::Land(bool forward) {
  chain_.reset();
  if (!main_.Valid() || main_.vtype() != ValueType::kOverflow) return Positioned();
  chain_root_ = OverflowView(main_.leaf_node());
  chain_ = std::make_unique<TreeCursor>(src_, &chain_root_, nullptr);
  if (forward) {
    chain_->First();
  } else {
    chain_->Last();
  }
  if (!chain_->Valid()) {  // an empty chain: never in a valid tree
    if (chain_->status().ok()) status_ = Status::Corruption("empty overflow chain");
    else status_ = chain_->status();
    chain_.reset();
    valid_ = false;
    return;
  }
  Positioned();
}

void Cursor::Positioned() {
  status_ = chain_ ? chain_->status() : main_.status();
  valid_ = chain_ ? chain_->Valid() : main_.Valid();
  if (gen_) {
    seen_gen_ = *gen_;
    if (valid_) {
      saved_key_.assign(key());
      saved_value_.assign(value());
    }
  }
}

void Cursor::First() {
  main_.First();
  Land(true);
}

void Cursor::Last() {
  main_.Last();
  Land(false);
}

void Cursor::Seek(std::string_view key) {
  main_.Seek(key);
  Land(true);
}

void Cursor::SeekPair(std::string_view key, std::string_view value) {
  std::string k(key), v(value);  // they may point into nodes this cursor unpins
  chain_.reset();
  main_.Seek(k);
  while (main_.Valid() && main_.key() == k && main_.vtype() == ValueType::kInline &&
         main_.value() < v) {
    main_.Next();
  }
  Land(true);
  if (!chain_) return;
  chain_->Seek(v);
  if (chain_->Valid() || !chain_->status().ok()) return Positioned();
  chain_.reset();  // past the chain's last value: the next key's first
  main_.Next();
  Land(true);
}

void Cursor::Revalidate() const {
  if (!Stale() || !valid_) return;
  auto* self = const_cast<Cursor*>(this);
  std::string k = saved_key_, v = saved_value_;
  self->SeekPair(k, v);
}

void Cursor::Next() {
  if (!valid_) return;
  if (Stale()) {
    std::string k = saved_key_, v = saved_value_;
    SeekPair(k, v);
    if (!valid_ || key() != k || value() != v) return;  // gone: already on its successor
  }
  if (chain_) {
    chain_->Next();
    if (chain_->Valid() || !chain_->status().ok()) return Positioned();
    chain_.reset();
  }
  main_.Next();
  Land(true);
}

void Cursor::Prev() {
  if (!valid_) return;
  if (Stale()) {
    std::string k = saved_key_, v = saved_value_;
    SeekPair(k, v);
    if (!valid_) {
      Last();
      if (!valid_ || key() < k || (key() == k && value() < v)) return;
    }
  }
  if (chain_) {
    chain_->Prev();
    if (chain_->Valid() || !chain_->status().ok()) return Positioned();
    chain_.reset();
  }
  main_.Prev();
  Land(false);
}

bool Cursor::Valid() const {
  Revalidate();
  return valid_;
}

std::string_view Cursor::key() const {
  Revalidate();
  return main_.key();
}

std::string_view Cursor::value() const {
  Revalidate();
  return chain_ ? chain_->key() : main_.value();
}

Status Cursor::status() const { return status_; }

}  // namespace bruce::btree::dup
