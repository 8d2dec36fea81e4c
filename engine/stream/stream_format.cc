#include "stream/stream_format.h"

#include <xxhash.h>
#include <zstd.h>

#include "txn/txn_impl.h"

namespace bruce::stream {

using format::Reader;

void PutRef(std::string* out, const Ref& r) {
  format::PutU8(out, r.kind);
  if (r.kind == Ref::kSent) format::PutVarint(out, r.id);
  if (r.kind == Ref::kBase) {
    format::PutVarint(out, r.path.size());
    for (uint32_t s : r.path) format::PutVarint(out, s);
  }
}

bool PathStep(const format::Node& n, uint32_t step, format::BlockPtr* p, bool* data) {
  *data = false;
  if (step >= n.size()) return false;
  if (!n.leaf()) {
    *p = n.child(step);
    return true;
  }
  format::PtrValue v;
  const format::ValueType vt = n.vtype(step);
  if (vt == format::ValueType::kInline || !format::DecodePtrValue(n.value(step), &v)) return false;
  *data = format::PointsToData(vt, v.aux);
  *p = v.ptr;
  return true;
}

bool GetRef(Reader* in, Ref* r) {
  uint8_t k;
  if (!in->U8(&k) || k > Ref::kBase) return false;
  r->kind = static_cast<Ref::Kind>(k);
  r->path.clear();
  if (r->kind == Ref::kSent) return in->Varint(&r->id);
  if (r->kind == Ref::kBase) {
    uint64_t n;
    if (!in->Varint(&n) || n > 64) return false;
    for (uint64_t i = 0; i < n; ++i) {
      uint32_t s;
      if (!in->Varint32(&s)) return false;
      r->path.push_back(s);
    }
  }
  return true;
}

Result<Version> DescribeVersion(ReadTxn* txn) {
  BRUCE_ASSIGN_OR_RETURN(std::vector<std::string> names, txn->ListTrees());
  Version v;
  for (const std::string& name : names) {
    BRUCE_ASSIGN_OR_RETURN(Tree * t, txn->OpenTree(name));
    auto* impl = dynamic_cast<TreeImpl*>(t);
    if (impl == nullptr) return Status::InvalidArgument("not a tree of a store");
    v[name] = TreeInfo{impl->flags(), impl->root().ptr};
  }
  return v;
}

format::Hash128 ContentHash(const Version& v) {
  std::string all;
  for (const auto& [name, t] : v) {
    format::PutBytes(&all, name);
    format::PutU64(&all, t.flags);
    char h[format::kHashBytes];
    format::StoreHash(h, t.root.hash);
    all.append(h, sizeof h);
    format::PutU64(&all, t.root.count);
  }
  return format::HashLogical(all);
}

std::string EncodeHeader(const Header& h) {
  std::string out(kStreamMagic, sizeof kStreamMagic);
  format::PutU32(&out, kStreamVersion);
  format::PutU32(&out, h.page_size);
  format::PutBytes(&out, h.snapshot);
  format::PutU64(&out, h.snapshot_txn);
  char hash[format::kHashBytes];
  format::StoreHash(hash, h.content);
  out.append(hash, sizeof hash);
  format::PutBytes(&out, h.base);
  format::StoreHash(hash, h.base_content);
  out.append(hash, sizeof hash);
  return out;
}

bool DecodeHeader(std::string_view payload, Header* h) {
  Reader in(payload);
  std::string_view magic, snap, base, hash;
  uint32_t version;
  if (!in.Bytes(sizeof kStreamMagic, &magic) ||
      magic != std::string_view(kStreamMagic, sizeof kStreamMagic) || !in.U32(&version) ||
      version < 1 || version > kStreamVersion || !in.U32(&h->page_size) || !in.LengthPrefixed(&snap) ||
      !in.U64(&h->snapshot_txn) || !in.Bytes(format::kHashBytes, &hash)) {
    return false;
  }
  h->snapshot = snap;
  h->content = format::LoadHash(hash.data());
  if (!in.LengthPrefixed(&base) || !in.Bytes(format::kHashBytes, &hash)) return false;
  h->base = base;
  h->base_content = format::LoadHash(hash.data());
  return in.remaining() == 0;
}

Status NodeLogical(RecordType type, std::string_view payload, std::string* logical,
                   size_t* refs_at) {
  Reader in(payload);
  if (type == RecordType::kStoredNode) {
    std::string_view frame;
    if (!in.LengthPrefixed(&frame)) return Status::Corruption("send stream: a malformed stored node");
    const unsigned long long raw = ZSTD_getFrameContentSize(frame.data(), frame.size());
    if (raw == ZSTD_CONTENTSIZE_ERROR || raw == ZSTD_CONTENTSIZE_UNKNOWN || raw > kMaxRecord ||
        raw < format::kNodeHeaderSize) {
      return Status::Corruption("send stream: a stored node without a valid zstd frame");
    }
    logical->resize(raw);
    const size_t n = ZSTD_decompress(logical->data(), logical->size(), frame.data(), frame.size());
    if (ZSTD_isError(n) || n != raw) {
      return Status::Corruption("send stream: a stored node that does not decompress");
    }
    const uint32_t len = format::LoadU32(logical->data() + 8);
    if (len < format::kNodeHeaderSize || len > logical->size()) {
      return Status::Corruption("send stream: a stored node with a bad length");
    }
    logical->resize(len);
  } else {
    uint64_t len;
    std::string_view bytes;
    if (type != RecordType::kNode || !in.Varint(&len) || len < format::kNodeHeaderSize ||
        !in.Bytes(len, &bytes)) {
      return Status::Corruption("send stream: a malformed NODE record");
    }
    logical->assign(bytes);
  }
  *refs_at = payload.size() - in.remaining();
  return Status::OK();
}

Status RecordWriter::Write(RecordType type, std::string_view payload) {
  buf_.clear();
  format::PutU32(&buf_, static_cast<uint32_t>(payload.size() + 1));
  format::PutU8(&buf_, static_cast<uint8_t>(type));
  buf_.append(payload);
  chain_ = XXH3_64bits_withSeed(buf_.data() + 4, buf_.size() - 4, chain_);
  format::PutU64(&buf_, chain_);
  records_++;
  bytes_ += buf_.size();
  return sink_(buf_);
}

Status RecordReader::Next(RecordType* type, std::string* payload) {
  auto read = [&](char* p, size_t n, const char* what) -> Status {
    size_t got = 0;
    BRUCE_RETURN_IF_ERROR(source_(p, n, &got));
    bytes_ += got;
    if (got != n) {
      return Status::Corruption("send stream: it ends inside " + std::string(what) +
                                " (record " + std::to_string(records_ + 1) +
                                "): truncated");
    }
    return Status::OK();
  };
  char head[4];
  {
    size_t got = 0;
    BRUCE_RETURN_IF_ERROR(source_(head, 4, &got));
    bytes_ += got;
    if (got == 0) {
      return Status::Corruption("send stream: it ends after record " +
                                std::to_string(records_) + ", before its trailer: truncated");
    }
    if (got != 4) {
      return Status::Corruption("send stream: it ends inside a record's length: truncated");
    }
  }
  const uint32_t len = format::LoadU32(head);
  if (len == 0 || len > kMaxRecord) {
    return Status::Corruption("send stream: record " + std::to_string(records_ + 1) +
                              " claims " + std::to_string(len) + " bytes");
  }
  std::string body(len, '\0');
  BRUCE_RETURN_IF_ERROR(read(body.data(), len, "a record"));
  char sum[8];
  BRUCE_RETURN_IF_ERROR(read(sum, 8, "a record's checksum"));
  const uint64_t want = XXH3_64bits_withSeed(body.data(), body.size(), chain_);
  if (format::LoadU64(sum) != want) {
    return Status::Corruption("send stream: record " + std::to_string(records_ + 1) +
                              " fails its checksum (damaged, missing or out of order)");
  }
  chain_ = want;
  records_++;
  *type = static_cast<RecordType>(static_cast<uint8_t>(body[0]));
  payload->assign(body, 1, std::string::npos);
  return Status::OK();
}

}  // namespace bruce::stream
