#include "stream/leaf_delta.h"

#include "bruce/options.h"
#include "format/coding.h"

namespace bruce::stream {

using format::Node;
using format::ValueType;

namespace {

constexpr uint8_t kCopy = 0, kEntry = 1;

Status Bad(const std::string& what) {
  return Status::Corruption("send stream: a NODE_DELTA record with " + what);
}

}  // namespace

std::string EncodeLeafDelta(const Node& base, const Node& now, const std::vector<Ref>& refs) {
  std::string ops;
  uint64_t nops = 0, copied = 0;
  size_t j = 0, k = 0;
  uint64_t run_first = 0, run_n = 0;
  auto flush = [&] {
    if (run_n == 0) return;
    format::PutU8(&ops, kCopy);
    format::PutVarint(&ops, run_first);
    format::PutVarint(&ops, run_n);
    nops++;
    run_n = 0;
  };
  for (size_t i = 0; i < now.size(); i++) {
    const std::string_view key = now.key(i);
    while (j < base.size() && base.key(j) < key) j++;
    const bool same = j < base.size() && base.key(j) == key &&
                      now.vtype(i) == ValueType::kInline && base.vtype(j) == ValueType::kInline &&
                      base.value(j) == now.value(i);
    if (same) {
      if (run_n > 0 && run_first + run_n == j) {
        run_n++;
      } else {
        flush();
        run_first = j;
        run_n = 1;
      }
      copied++;
      continue;
    }
    flush();
    format::PutU8(&ops, kEntry);
    format::PutVarint(&ops, key.size());
    ops.append(key);
    format::PutU8(&ops, static_cast<uint8_t>(now.vtype(i)));
    if (now.vtype(i) == ValueType::kInline) {
      format::PutVarint(&ops, now.value(i).size());
      ops.append(now.value(i));
    } else {
      format::PtrValue v;
      format::DecodePtrValue(now.value(i), &v);
      format::PutVarint(&ops, v.aux);
      char h[format::kHashBytes];
      format::StoreHash(h, v.ptr.hash);
      ops.append(h, sizeof h);
      format::PutVarint(&ops, v.ptr.count);
      PutRef(&ops, k < refs.size() ? refs[k] : Ref{});
      k++;
    }
    nops++;
  }
  flush();
  if (copied == 0) return std::string();
  std::string out;
  format::PutVarint(&out, nops);
  out.append(ops);
  return out;
}

Status ApplyLeafDelta(const Node& base, std::string_view ops, size_t max_bytes,
                      std::string* node_payload) {
  format::Reader in(ops);
  uint64_t nops;
  if (!in.Varint(&nops)) return Bad("no op count");
  Node leaf(0);
  std::string refs;
  for (uint64_t op = 0; op < nops; op++) {
    uint8_t kind;
    if (!in.U8(&kind)) return Bad("fewer ops than it counts");
    const size_t before = leaf.size();
    if (kind == kCopy) {
      uint64_t first, n;
      if (!in.Varint(&first) || !in.Varint(&n) || n == 0 || first >= base.size() ||
          n > base.size() - first) {
        return Bad("a copy out of the base leaf's range");
      }
      for (uint64_t j = first; j < first + n; j++) {
        if (base.vtype(j) != ValueType::kInline) return Bad("a copy of a pointer entry");
        leaf.InsertLeaf(leaf.size(), base.key(j), base.value(j), ValueType::kInline);
      }
    } else if (kind == kEntry) {
      uint64_t klen;
      std::string_view key;
      uint8_t vt;
      if (!in.Varint(&klen) || klen > kMaxKeySize || !in.Bytes(klen, &key) || !in.U8(&vt) ||
          vt > static_cast<uint8_t>(ValueType::kOverflow)) {
        return Bad("a malformed entry");
      }
      if (vt == static_cast<uint8_t>(ValueType::kInline)) {
        uint64_t vlen;
        std::string_view value;
        if (!in.Varint(&vlen) || vlen > max_bytes || !in.Bytes(vlen, &value)) {
          return Bad("a malformed value");
        }
        leaf.InsertLeaf(leaf.size(), key, value, ValueType::kInline);
      } else {
        format::PtrValue v;
        std::string_view hash;
        Ref r;
        if (!in.Varint(&v.aux) || !in.Bytes(format::kHashBytes, &hash) ||
            !in.Varint(&v.ptr.count) || !GetRef(&in, &r)) {
          return Bad("a malformed pointer value");
        }
        v.ptr.hash = format::LoadHash(hash.data());
        leaf.InsertLeaf(leaf.size(), key, format::EncodePtrValue(v), static_cast<ValueType>(vt));
        PutRef(&refs, r);
      }
    } else {
      return Bad("an unknown op");
    }
    // Keys ascending (checked here: encoding assumes it).
    for (size_t i = before == 0 ? 1 : before; i < leaf.size(); i++) {
      if (!(leaf.key(i - 1) < leaf.key(i))) return Bad("keys out of order");
    }
    // (a bound that counts shared prefixes in full: NodeRecord checks the
    // exact size)
    if (leaf.EncodedSizeBound() > 2 * max_bytes) return Bad("a leaf larger than a node may be");
  }
  if (in.remaining() != 0) return Bad("bytes after its ops");
  const std::string logical = leaf.LogicalBytes();
  node_payload->clear();
  format::PutVarint(node_payload, logical.size());
  node_payload->append(logical);
  node_payload->append(refs);
  return Status::OK();
}

}  // namespace bruce::stream
