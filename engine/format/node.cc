#include "format/node.h"

#include <algorithm>
#include <bit>
#include <cassert>
#include <cstring>

#include "format/coding.h"

namespace bruce::format {

std::unique_ptr<Node> Node::Clone() const {
  auto n = std::make_unique<Node>(level_);
  n->arena_.reserve(arena_.size() + arena_.size() / 4 + 256);  // room for the changes to come
  n->arena_ = arena_;
  n->slots_ = slots_;
  n->kids_ = kids_;
  n->bytes_ = bytes_;
  n->garbage_ = garbage_;
  n->ratio_ = ratio_;
  n->measured_ = measured_;
  n->cloned_ = true;
  if (!leaf()) n->dirty_.resize(kids_.size());
  n->MaybeCompactArena();
  return n;
}

uint64_t Node::Count() const {
  if (leaf()) {
    if (!HasOverflow()) return slots_.size();
    PtrValue v;
    if (!DecodePtrValue(value(slots_.size() - 1), &v)) return slots_.size();
    return slots_.size() - 1 + v.ptr.count;
  }
  uint64_t n = 0;
  for (const BlockPtr& k : kids_) n += k.count;
  return n;
}

size_t Node::EntryBound(size_t i) const {
  const Slot& s = slots_[i];
  size_t n = VarintLength(s.klen) + s.klen;
  if (!leaf()) return n + kHashBytes + kMaxVarint64 + kMaxLocatorSize;
  n += 1;
  if (s.vtype == ValueType::kInline) return n + VarintLength(s.vlen) + s.vlen;
  return n + kMaxVarint64 + kHashBytes + kMaxVarint64 + kMaxLocatorSize;
}

size_t Node::TightEntrySize(size_t i) const {
  const Slot& s = slots_[i];
  size_t n = VarintLength(s.klen) + s.klen;
  if (!leaf()) return n + kHashBytes + VarintLength(kids_[i].count) + kMaxLocatorSize;
  if (s.vtype == ValueType::kInline) return n + 1 + VarintLength(s.vlen) + s.vlen;
  return n + 1 + kMaxVarint64 + kHashBytes + kMaxVarint64 + kMaxLocatorSize;
}

size_t Node::SharedPrefix() const {
  // Keys are sorted, so what the first and last share, all share. A
  // branch's first key is empty and is left out.
  size_t first = leaf() ? 0 : 1;
  if (slots_.size() < first + 2) return 0;
  std::string_view a = key(first), b = key(slots_.size() - 1);
  size_t n = 0;
  while (n < a.size() && n < b.size() && a[n] == b[n]) n++;
  return n;
}

size_t Node::TightSize() const {
  size_t p = SharedPrefix();
  size_t n = kNodeHeaderSize + kNodeTrailerSize + VarintLength(p) + p;
  for (size_t i = 0; i < slots_.size(); i++) {
    n += TightEntrySize(i);
    if (p > 0 && (leaf() || i > 0)) n -= p;  // the key's shared part is stored once
  }
  return n;
}

namespace {

// Three-way comparison of byte strings, as std::string_view::compare but
// inlined for the short keys of a node: 8 bytes at a time, compared as
// big-endian words (byte order), then the rest byte by byte.
inline int CompareKeys(const char* a, size_t an, const char* b, size_t bn) {
  size_t n = an < bn ? an : bn;
  size_t i = 0;
  if constexpr (std::endian::native == std::endian::little) {
    for (; i + 8 <= n; i += 8) {
      uint64_t x, y;
      std::memcpy(&x, a + i, 8);
      std::memcpy(&y, b + i, 8);
      if (x != y) return __builtin_bswap64(x) < __builtin_bswap64(y) ? -1 : 1;
    }
  }
  for (; i < n; i++) {
    auto x = static_cast<unsigned char>(a[i]), y = static_cast<unsigned char>(b[i]);
    if (x != y) return x < y ? -1 : 1;
  }
  return an < bn ? -1 : (an > bn ? 1 : 0);
}

// A key's head: the 7 bytes of k from `from` on, zero-padded, then how many
// bytes it has from `from` on, up to 8, as one big-endian number. Heads in
// order mean keys in that order (a shorter key pads with zeros, and its
// shorter length breaks the tie with a longer one it is a prefix of), and
// two equal heads whose last byte is below 8 belong to equal keys.
inline uint64_t HeadOf(std::string_view k, size_t from) {
  size_t rest = k.size() > from ? k.size() - from : 0;
  unsigned char b[8] = {};
  if (rest > 0) std::memcpy(b, k.data() + from, std::min<size_t>(7, rest));
  b[7] = static_cast<unsigned char>(std::min<size_t>(8, rest));
  uint64_t h = 0;
  for (unsigned char c : b) h = (h << 8) | c;
  return h;
}
constexpr uint64_t kHeadOfLongKey = 8;  // last byte of a head that is not the whole key

// Copies the keys, then the values (a branch's filters), that `slots` point
// to in `from` to the end of `to`, and points the slots at the copies: the
// keys end up together, which is what a search reads.
void PackEntries(std::string_view from, std::pmr::vector<Node::Slot>* slots,
                 std::pmr::string* to) {
  for (Node::Slot& sl : *slots) {
    uint32_t k = static_cast<uint32_t>(to->size());
    to->append(from.substr(sl.koff, sl.klen));
    sl.koff = k;
  }
  for (Node::Slot& sl : *slots) {
    uint32_t v = static_cast<uint32_t>(to->size());
    to->append(from.substr(sl.voff, sl.vlen));
    sl.voff = v;
  }
}

}  // namespace

// One run of memory handed out in order: a frozen node's containers (an
// adopted node's heads and prefix only) allocate from it and never free
// (the run goes with the node: it is the tail of the node's own
// allocation, see Freeze). It is sized for them exactly; anything past its
// end (not expected) comes from the heap.
struct Node::Block final : std::pmr::memory_resource {
  char* next;
  char* end;

  // Makes one at `mem`, with `bytes` to hand out after it.
  static Block* At(char* mem, size_t bytes) {
    auto* b = new (mem) Block;
    b->next = mem + sizeof(Block);
    b->end = b->next + bytes;
    return b;
  }
  bool Owns(const void* p) const {
    auto* c = static_cast<const char*>(p);
    return c >= reinterpret_cast<const char*>(this + 1) && c < end;
  }
  size_t size() const { return static_cast<size_t>(end - reinterpret_cast<const char*>(this)); }

 private:
  void* do_allocate(size_t bytes, size_t align) override {
    auto at = reinterpret_cast<uintptr_t>(next);
    char* p = next + ((align - at % align) % align);
    if (p + bytes > end) return std::pmr::new_delete_resource()->allocate(bytes, align);
    next = p + bytes;
    return p;
  }
  void do_deallocate(void* p, size_t bytes, size_t align) override {
    if (!Owns(p)) std::pmr::new_delete_resource()->deallocate(p, bytes, align);
  }
  bool do_is_equal(const std::pmr::memory_resource& o) const noexcept override {
    return this == &o;
  }
};

namespace {

// Allocates what std::allocate_shared asks for (the count and the object)
// with `tail` more bytes after it, and says where they start.
template <typename T>
struct TailAllocator {
  using value_type = T;
  size_t tail;
  char** tail_at;
  TailAllocator(size_t t, char** at) : tail(t), tail_at(at) {}
  template <typename U>
  TailAllocator(const TailAllocator<U>& o) : tail(o.tail), tail_at(o.tail_at) {}
  T* allocate(size_t n) {
    constexpr size_t kAlign = alignof(std::max_align_t);
    size_t head = (n * sizeof(T) + kAlign - 1) / kAlign * kAlign;
    auto* p = static_cast<char*>(::operator new(head + tail));
    *tail_at = p + head;
    return reinterpret_cast<T*>(p);
  }
  void deallocate(T* p, size_t) { ::operator delete(p); }
  template <typename U>
  bool operator==(const TailAllocator<U>& o) const {
    return tail == o.tail && tail_at == o.tail_at;
  }
};

}  // namespace

Node::Node(FrozenKey, uint8_t level, char* const* tail, size_t bytes)
    : block_(Block::At(*tail, bytes)),
      level_(level),
      slots_(block_),
      heads_(block_),
      arena_(block_),
      prefix_(block_),
      kids_(block_) {}

Node::Node(FrozenKey, Node&& src, char* const* tail, size_t bytes)
    : block_(Block::At(*tail, bytes)),
      level_(src.level_),
      slots_(std::move(src.slots_)),
      heads_(block_),
      arena_(std::move(src.arena_)),
      prefix_(block_),
      kids_(std::move(src.kids_)),
      bytes_(src.bytes_),
      garbage_(src.garbage_),
      hash_(src.hash_),
      ratio_(src.ratio_),
      measured_(src.measured_),
      adopted_(true) {}

Node::~Node() = default;

bool Node::Adoptable() const {
  // A copy changed by a few entries: little garbage and little spare room
  // (Clone reserves a quarter more). Not a node grown from nothing, nor one
  // decoded from a page (its keys lie among its values and locators).
  size_t used = arena_.size();
  return cloned_ && block_ == nullptr && !overflow_dirty_ && garbage_ <= used / 8 &&
         arena_.capacity() <= used + used / 2 + 512 &&
         slots_.capacity() <= slots_.size() + slots_.size() / 2 + 8;
}

void Node::SetHeads(const Node& from, size_t n, size_t p) {
  if (n == 0) return;
  heads_.assign(n, 0);  // a branch's first head is unused: 0, below all
  for (size_t i = leaf() ? 0 : 1; i < n; i++) heads_[i] = HeadOf(from.key(i), p);
}

std::shared_ptr<const Node> Node::Freeze(std::unique_ptr<Node> src) {
  const Node& s = *src;
  size_t n = s.slots_.size();
  size_t first = s.leaf() ? 0 : 1;
  size_t p = s.SharedPrefix();
  if (src->Adoptable()) {
    // Its entries are kept where they are (nothing is copied); the node
    // moves next to its count, with its search aids after it, so that a
    // search reads one allocation before the entries.
    size_t bytes = n * sizeof(uint64_t) + (p + 1) + 2 * alignof(std::max_align_t);
    char* tail = nullptr;
    auto f = std::allocate_shared<Node>(TailAllocator<Node>(sizeof(Block) + bytes, &tail),
                                        FrozenKey(), std::move(*src), &tail, bytes);
    f->SetHeads(*f, n, p);
    if (n > first) f->prefix_.assign(f->key(first).substr(0, p));
    return f;
  }
  size_t live = 0;
  for (const Slot& sl : s.slots_) live += sl.klen + sl.vlen;
  // Each container's bytes, with room to align it and a string's NUL.
  size_t bytes = n * sizeof(uint64_t) + n * sizeof(Slot) + s.kids_.size() * sizeof(BlockPtr) +
                 (live + 1) + (p + 1) + 5 * alignof(std::max_align_t);
  // One allocation: the count, the node, then its block.
  char* tail = nullptr;
  auto f = std::allocate_shared<Node>(TailAllocator<Node>(sizeof(Block) + bytes, &tail),
                                      FrozenKey(), s.level_, &tail, bytes);
  f->SetHeads(s, n, p);  // first in the block: a search reads them first
  f->slots_.assign(s.slots_.begin(), s.slots_.end());
  f->arena_.reserve(live);
  PackEntries(s.arena_, &f->slots_, &f->arena_);
  if (n > first) f->prefix_.assign(s.key(first).substr(0, p));
  f->kids_.assign(s.kids_.begin(), s.kids_.end());
  f->bytes_ = s.bytes_;
  f->hash_ = s.hash_;
  f->ratio_ = s.ratio_;
  f->measured_ = s.measured_;
  return f;
}

bool Node::Narrow(std::string_view key, size_t first, size_t* lo, size_t* hi) const {
  size_t n = slots_.size();
  size_t p = prefix_.size();
  if (p > 0) {
    // A key that does not start with the prefix is below or above them all.
    int c = CompareKeys(key.data(), std::min(key.size(), p), prefix_.data(), p);
    if (c != 0) {
      *lo = *hi = c < 0 ? first : n;
      return false;
    }
  }
  uint64_t h = HeadOf(key, p);
  const uint64_t* heads = heads_.data();
  *lo = static_cast<size_t>(std::lower_bound(heads + first, heads + n, h) - heads);
  *hi = static_cast<size_t>(std::upper_bound(heads + *lo, heads + n, h) - heads);
  return *lo < *hi && (h & 0xff) != kHeadOfLongKey;
}

// A warm read waits on memory here: a frozen node's heads first, then the
// slots and keys of the entries whose heads equal the key's (none when the
// heads hold whole keys, as they do for short keys).
// The plain branchy halving is kept on purpose: the CPU runs ahead along the
// predicted branch and overlaps the next step's misses; a branch-free
// search (with or without prefetching both candidates) measured slower.
size_t Node::LowerBound(std::string_view key, bool* found) const {
  const char* arena = arena_.data();
  const Slot* slot = slots_.data();
  size_t lo = 0, hi = slots_.size();
  if (!heads_.empty() && Narrow(key, 0, &lo, &hi)) {
    *found = true;  // the heads hold the whole keys
    return lo;
  }
  size_t end = hi;  // keys from here on are greater than key
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (CompareKeys(arena + slot[mid].koff, slot[mid].klen, key.data(), key.size()) < 0) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  *found = lo < end &&
           CompareKeys(arena + slot[lo].koff, slot[lo].klen, key.data(), key.size()) == 0;
  return lo;
}

size_t Node::ChildIndex(std::string_view key) const {
  // The last child whose separator is <= key; separator 0 is minus infinity.
  const char* arena = arena_.data();
  const Slot* slot = slots_.data();
  size_t lo = 1, hi = slots_.size();
  if (!heads_.empty() && Narrow(key, 1, &lo, &hi)) return hi - 1;  // [lo, hi) all equal key
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (CompareKeys(arena + slot[mid].koff, slot[mid].klen, key.data(), key.size()) <= 0) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo - 1;
}

uint32_t Node::AppendArena(std::string_view bytes) {
  uint32_t off = static_cast<uint32_t>(arena_.size());
  arena_.append(bytes);
  return off;
}

void Node::MaybeCompactArena() {
  if (garbage_ < 4096 || garbage_ < arena_.size() / 2) return;
  std::pmr::string fresh(arena_.get_allocator());
  fresh.reserve(arena_.size() - garbage_);
  PackEntries(arena_, &slots_, &fresh);
  arena_.swap(fresh);
  garbage_ = 0;
}

void Node::InsertLeaf(size_t i, std::string_view key, std::string_view value, ValueType vt) {
  Slot s;
  s.koff = AppendArena(key);
  s.klen = static_cast<uint32_t>(key.size());
  s.voff = AppendArena(value);
  s.vlen = static_cast<uint32_t>(value.size());
  s.vtype = vt;
  slots_.insert(slots_.begin() + static_cast<ptrdiff_t>(i), s);
  bytes_ += EntryBound(i);
}

void Node::SetValue(size_t i, std::string_view value, ValueType vt) {
  bytes_ -= EntryBound(i);
  garbage_ += slots_[i].vlen;
  slots_[i].voff = AppendArena(value);
  slots_[i].vlen = static_cast<uint32_t>(value.size());
  slots_[i].vtype = vt;
  bytes_ += EntryBound(i);
  MaybeCompactArena();
}

void Node::InsertBranch(size_t i, std::string_view key, const BlockPtr& child) {
  Slot s{};
  s.koff = AppendArena(key);
  s.klen = static_cast<uint32_t>(key.size());
  slots_.insert(slots_.begin() + static_cast<ptrdiff_t>(i), s);
  kids_.insert(kids_.begin() + static_cast<ptrdiff_t>(i), child);
  dirty_.insert(dirty_.begin() + static_cast<ptrdiff_t>(i), nullptr);
  bytes_ += EntryBound(i);
}

std::string_view Node::filter(size_t i) const {
  const Slot& s = slots_[i];
  if (leaf() || s.vlen <= 8 || dirty_kid(i)) return {};
  const char* p = arena_.data() + s.voff;
  if (LoadU64(p) != kids_[i].hash.lo) return {};
  return std::string_view(p + 8, s.vlen - 8);
}

void Node::SetFilter(size_t i, std::string_view filter) {
  // `filter` may lie in the arena itself (Decode): only with room reserved
  // for both appends, so that neither moves it.
  Slot& s = slots_[i];
  garbage_ += s.vlen;
  s.voff = 0;
  s.vlen = 0;
  if (!filter.empty()) {
    char tag[8];
    StoreU64(tag, kids_[i].hash.lo);
    s.voff = AppendArena(std::string_view(tag, 8));
    AppendArena(filter);
    s.vlen = static_cast<uint32_t>(8 + filter.size());
  }
  MaybeCompactArena();
}

void Node::SetKey(size_t i, std::string_view key) {
  bytes_ -= EntryBound(i);
  garbage_ += slots_[i].klen;
  slots_[i].koff = AppendArena(key);
  slots_[i].klen = static_cast<uint32_t>(key.size());
  bytes_ += EntryBound(i);
  MaybeCompactArena();
}

void Node::Erase(size_t i) {
  if (leaf() && slots_[i].vtype == ValueType::kOverflow) overflow_dirty_.reset();
  bytes_ -= EntryBound(i);
  garbage_ += slots_[i].klen + slots_[i].vlen;
  slots_.erase(slots_.begin() + static_cast<ptrdiff_t>(i));
  if (!leaf()) {
    kids_.erase(kids_.begin() + static_cast<ptrdiff_t>(i));
    dirty_.erase(dirty_.begin() + static_cast<ptrdiff_t>(i));
    // A branch's first separator stands for minus infinity.
    if (i == 0 && !slots_.empty()) SetKey(0, "");
  }
  MaybeCompactArena();
}

void Node::MoveTail(size_t from, Node* dst) {
  if (from < slots_.size() && overflow_dirty_) dst->overflow_dirty_ = std::move(overflow_dirty_);
  for (size_t i = from; i < slots_.size(); i++) {
    if (leaf()) {
      dst->InsertLeaf(dst->size(), key(i), value(i), vtype(i));
    } else {
      size_t j = dst->size();
      dst->InsertBranch(j, key(i), kids_[i]);
      dst->dirty_[j] = std::move(dirty_[i]);
      if (slots_[i].vlen > 0) {  // the filter, with its tag
        dst->slots_[j].voff = dst->AppendArena(value(i));
        dst->slots_[j].vlen = slots_[i].vlen;
      }
    }
  }
  while (slots_.size() > from) Erase(slots_.size() - 1);
}


void Node::AppendAll(Node* src) { src->MoveTail(0, this); }

void Node::ReserveLike(const Node& like) {
  arena_.reserve(like.arena_.size() - like.garbage_);
  slots_.reserve(like.slots_.size());
  if (!leaf()) {
    kids_.reserve(like.kids_.size());
    dirty_.reserve(like.kids_.size());
  }
}

bool Node::HasDirtyKids() const {
  return std::any_of(dirty_.begin(), dirty_.end(), [](const auto& d) { return d != nullptr; });
}

void Node::PrefetchMemory() const {
  auto fetch = [](const void* from, size_t n) {
    auto* p = static_cast<const char*>(from);
    for (size_t i = 0; i < n; i += 64) __builtin_prefetch(p + i);
  };
  if (block_) {
    // The node, then its block, to the block's end.
    fetch(this, static_cast<size_t>(block_->end - reinterpret_cast<const char*>(this)));
    if (!adopted_) return;
  }
  fetch(slots_.data(), slots_.size() * sizeof(Slot));
  fetch(arena_.data(), arena_.size());
}

size_t Node::MemoryBytes() const {
  // The node with its block (the search aids in it), or with its heap aids.
  size_t own = sizeof(Node) + (block_ ? block_->size()
                                      : prefix_.capacity() + heads_.capacity() * sizeof(uint64_t) +
                                            dirty_.capacity() * sizeof(void*));
  if (block_ && !adopted_) return own;  // the entries are in the block too
  return own + arena_.capacity() + slots_.capacity() * sizeof(Slot) +
         kids_.capacity() * sizeof(BlockPtr);
}

}  // namespace bruce::format
