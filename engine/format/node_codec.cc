// format/node_codec.cc — a node's page encoding (format/node.h, "Page
// layout"): Encode, Decode, and a pointer value's in-memory form.
#include <cstring>

#include "format/bloom.h"
#include "format/coding.h"
#include "format/node.h"

namespace bruce::format {

std::string EncodePtrValue(const PtrValue& v) {
  std::string out(kPtrValueSize, '\0');
  char* p = out.data();
  StoreU64(p, v.aux);
  StoreU64(p + 8, v.ptr.page);
  StoreU32(p + 16, v.ptr.stored_len);
  p[20] = static_cast<char>(v.ptr.comp);
  StoreU64(p + 21, v.ptr.birth);
  StoreHash(p + 29, v.ptr.hash);
  StoreU64(p + 45, v.ptr.count);
  return out;
}

bool DecodePtrValue(std::string_view bytes, PtrValue* v) {
  if (bytes.size() != kPtrValueSize) return false;
  const char* p = bytes.data();
  v->aux = LoadU64(p);
  v->ptr.page = LoadU64(p + 8);
  v->ptr.stored_len = LoadU32(p + 16);
  v->ptr.comp = static_cast<Compression>(static_cast<uint8_t>(p[20]));
  v->ptr.birth = LoadU64(p + 21);
  v->ptr.hash = LoadHash(p + 29);
  v->ptr.count = LoadU64(p + 45);
  return true;
}

namespace {

// A locator, and a child's filter after it when there is one.
void PutLocator(Writer* w, const BlockPtr& p, std::string_view filter = {}) {
  w->Varint(p.page);
  w->Varint(p.stored_len);
  w->U8(static_cast<uint8_t>(p.comp) | (filter.empty() ? 0 : kLocatorFilter));
  w->Varint(p.birth);
  if (!filter.empty()) w->LengthPrefixed(filter);
}

// *filter (null where none may be: a leaf's pointer value) gets the
// filter that follows, or empty.
bool GetLocator(Reader* r, BlockPtr* p, std::string_view* filter = nullptr) {
  uint8_t comp;
  if (!r->Varint(&p->page) || !r->Varint32(&p->stored_len) || !r->U8(&comp) ||
      !r->Varint(&p->birth)) {
    return false;
  }
  p->comp = static_cast<Compression>(comp & ~kLocatorFilter);
  if ((comp & kLocatorFilter) == 0) {
    if (filter) *filter = {};
    return true;
  }
  return filter && r->LengthPrefixed(filter) && !filter->empty() && FilterWellFormed(*filter);
}

}  // namespace

Hash128 Node::Encode(std::string* out) {
  size_t prefix = SharedPrefix();
  // bytes_ bounds the encoding with whole keys; the shared prefix, stored
  // once, adds at most its length's varint, and filters their bytes.
  size_t filters = 0;
  if (!leaf()) {
    for (const Slot& s : slots_) filters += s.vlen > 0 ? s.vlen + kMaxVarint64 : 0;
  }
  out->resize(bytes_ + kMaxVarint64 + filters);
  Writer w(out->data());
  w.U8(static_cast<uint8_t>(leaf() ? PageKind::kLeaf : PageKind::kBranch));
  w.U8(level_);
  w.U16(0);
  w.U32(static_cast<uint32_t>(slots_.size()));
  w.U32(0);  // logical_len, patched below
  std::string_view shared = slots_.empty() ? std::string_view() : key(slots_.size() - 1).substr(0, prefix);
  w.LengthPrefixed(shared);
  char h[kHashBytes];
  for (size_t i = 0; i < slots_.size(); i++) {
    bool prefixed = leaf() || i > 0;
    w.LengthPrefixed(prefixed ? key(i).substr(prefix) : key(i));
    if (!leaf()) {
      StoreHash(h, kids_[i].hash);
      w.Raw(std::string_view(h, kHashBytes));
      w.Varint(kids_[i].count);
      continue;
    }
    w.U8(static_cast<uint8_t>(vtype(i)));
    if (vtype(i) == ValueType::kInline) {
      w.LengthPrefixed(value(i));
    } else {
      PtrValue v;
      DecodePtrValue(value(i), &v);
      w.Varint(v.aux);
      StoreHash(h, v.ptr.hash);
      w.Raw(std::string_view(h, kHashBytes));
      w.Varint(v.ptr.count);
    }
  }
  uint32_t logical_len = static_cast<uint32_t>(w.size());
  StoreU32(out->data() + 8, logical_len);
  hash_ = HashLogical(std::string_view(out->data(), logical_len));
  for (size_t i = 0; i < slots_.size(); i++) {
    if (!leaf()) {
      PutLocator(&w, kids_[i], filter(i));
    } else if (vtype(i) != ValueType::kInline) {
      PtrValue v;
      DecodePtrValue(value(i), &v);
      PutLocator(&w, v.ptr);
    }
  }
  w.U64(Checksum64(std::string_view(out->data(), w.size())));
  out->resize(w.size());
  return hash_;
}

Result<std::unique_ptr<Node>> Node::Decode(std::string buf, uint64_t page) {
  auto bad = [page](const std::string& what) {
    return Status::Corruption("node: " + what, page);
  };
  if (buf.size() < kNodeHeaderSize + kNodeTrailerSize) return bad("too short");
  size_t body = buf.size() - kNodeTrailerSize;
  if (Checksum64(std::string_view(buf.data(), body)) != LoadU64(buf.data() + body)) {
    return bad("checksum mismatch");
  }
  Reader hdr(buf.data(), kNodeHeaderSize);
  uint8_t kind, level;
  uint16_t flags;
  uint32_t n, logical_len;
  (void)(hdr.U8(&kind) && hdr.U8(&level) && hdr.U16(&flags) && hdr.U32(&n) &&
         hdr.U32(&logical_len));
  bool is_leaf = kind == static_cast<uint8_t>(PageKind::kLeaf);
  if (!is_leaf && kind != static_cast<uint8_t>(PageKind::kBranch)) return bad("not a tree node");
  if (is_leaf != (level == 0)) return bad("level does not match kind");
  if (logical_len < kNodeHeaderSize || logical_len > body) return bad("bad logical length");
  if (n > body) return bad("bad entry count");
  Hash128 hash = HashLogical(std::string_view(buf.data(), logical_len));

  auto node = std::make_unique<Node>(level);
  node->hash_ = hash;
  node->arena_.assign(buf);
  const char* base = node->arena_.data();
  Reader r(base + kNodeHeaderSize, logical_len - kNodeHeaderSize);
  Reader loc(base + logical_len, body - logical_len);
  node->slots_.reserve(n);
  if (!is_leaf) {
    node->kids_.reserve(n);
  }
  std::string_view shared;
  if (!r.LengthPrefixed(&shared)) return bad("truncated key prefix");
  uint32_t shared_off = static_cast<uint32_t>(shared.data() - base);
  std::vector<size_t> tree_values;  // slots whose value is a pointer value
  std::vector<PtrValue> descs;
  // A branch's filters, by entry, as (offset, length) in the arena: views
  // would dangle once the arena is enlarged below.
  std::vector<std::pair<uint32_t, uint32_t>> filters;
  size_t filter_bytes = 0;
  for (uint32_t i = 0; i < n; i++) {
    std::string_view k;
    if (!r.LengthPrefixed(&k)) return bad("truncated key");
    Slot s{};
    s.koff = static_cast<uint32_t>(k.data() - base);
    s.klen = static_cast<uint32_t>(k.size());
    if (!is_leaf) {
      std::string_view h;
      BlockPtr p;
      if (!r.Bytes(kHashBytes, &h) || !r.Varint(&p.count)) return bad("truncated branch entry");
      p.hash = LoadHash(h.data());
      std::string_view f;
      if (!GetLocator(&loc, &p, &f)) return bad("truncated locator or bad filter");
      if (!f.empty()) {
        filters.resize(n);
        filters[i] = {static_cast<uint32_t>(f.data() - base), static_cast<uint32_t>(f.size())};
        filter_bytes += 8 + f.size();
      }
      node->kids_.push_back(p);
      node->slots_.push_back(s);
      continue;
    }
    uint8_t vt;
    if (!r.U8(&vt)) return bad("truncated value type");
    if (vt == static_cast<uint8_t>(ValueType::kInline)) {
      std::string_view v;
      if (!r.LengthPrefixed(&v)) return bad("truncated value");
      s.vtype = ValueType::kInline;
      s.voff = static_cast<uint32_t>(v.data() - base);
      s.vlen = static_cast<uint32_t>(v.size());
    } else if (vt <= static_cast<uint8_t>(ValueType::kOverflow)) {
      PtrValue pv;
      std::string_view h;
      if (!r.Varint(&pv.aux) || !r.Bytes(kHashBytes, &h) || !r.Varint(&pv.ptr.count)) {
        return bad("truncated pointer value");
      }
      pv.ptr.hash = LoadHash(h.data());
      if (!GetLocator(&loc, &pv.ptr)) return bad("truncated locator");
      s.vtype = static_cast<ValueType>(vt);
      tree_values.push_back(node->slots_.size());
      descs.push_back(pv);
    } else {
      return bad("unknown value type " + std::to_string(vt));
    }
    node->slots_.push_back(s);
  }
  if (r.remaining() != 0) return bad("bytes after the last entry");
  if (loc.remaining() != 0) return bad("bytes after the last locator");
  // With a shared prefix, whole keys are kept at the arena's end (reserved
  // first, so nothing moves while they are copied).
  if (!shared.empty()) {
    size_t extra = 0;
    for (size_t i = 0; i < node->slots_.size(); i++) {
      if (is_leaf || i > 0) extra += shared.size() + node->slots_[i].klen;
    }
    node->arena_.reserve(node->arena_.size() + extra + tree_values.size() * kPtrValueSize +
                         filter_bytes);
    for (size_t i = 0; i < node->slots_.size(); i++) {
      if (!is_leaf && i == 0) continue;
      Slot& sl = node->slots_[i];
      uint32_t off = static_cast<uint32_t>(node->arena_.size());
      node->arena_.append(node->arena_.data() + shared_off, shared.size());
      node->arena_.append(node->arena_.data() + sl.koff, sl.klen);
      sl.koff = off;
      sl.klen += static_cast<uint32_t>(shared.size());
    }
  }
  // Pointer values are kept in their in-memory form at the arena's end.
  for (size_t j = 0; j < tree_values.size(); j++) {
    Slot& s = node->slots_[tree_values[j]];
    s.voff = node->AppendArena(EncodePtrValue(descs[j]));
    s.vlen = static_cast<uint32_t>(kPtrValueSize);
  }
  // Filters too, each after its tag. They are copied from the arena into
  // itself: with the room reserved first, no append moves it.
  if (!filters.empty()) {
    node->arena_.reserve(node->arena_.size() + filter_bytes);
    for (size_t i = 0; i < filters.size(); i++) {
      if (filters[i].second == 0) continue;
      node->SetFilter(i, std::string_view(node->arena_.data() + filters[i].first,
                                          filters[i].second));
    }
  }
  if (!is_leaf) {
    node->dirty_.clear();
    if (n == 0) return bad("branch without children");
    if (node->slots_[0].klen != 0) return bad("first separator not empty");
  }
  size_t bytes = kNodeHeaderSize + kNodeTrailerSize + 1;
  for (size_t i = 0; i < node->slots_.size(); i++) bytes += node->EntryBound(i);
  node->bytes_ = bytes;
  // Everything but keys and values in the arena counts as garbage for a
  // later copy, so a cloned node does not drag the header bytes along.
  size_t live = 0;
  for (const Slot& s : node->slots_) live += s.klen + s.vlen;
  node->garbage_ = node->arena_.size() - live;
  return node;
}

std::string Node::LogicalBytes() const {
  std::string enc;
  Clone()->Encode(&enc);
  enc.resize(LoadU32(enc.data() + 8));
  return enc;
}

}  // namespace bruce::format
