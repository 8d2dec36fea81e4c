#include "format/meta.h"

#include <cstring>

#include "format/coding.h"

namespace bruce::format {

bool ValidPageSize(uint32_t ps) {
  return ps >= kMinPageSize && ps <= kMaxPageSize && (ps & (ps - 1)) == 0;
}

std::string EncodeMeta(const Meta& m) {
  std::string out(m.page_size, '\0');
  char* p = out.data();
  std::memcpy(p, kMagic, 8);
  StoreU32(p + 8, kFormatVersion);  // a rewrite of an older slot is the current format
  StoreU32(p + 12, m.page_size);
  StoreU64(p + 16, m.txn);
  StoreU64(p + 24, m.total_pages);
  StoreU64(p + 32, m.time_ns);
  StoreU64(p + 40, m.catalog.page);
  StoreU32(p + 48, m.catalog.stored_len);
  p[52] = static_cast<char>(m.catalog.comp);
  StoreU64(p + 56, m.catalog.birth);
  StoreHash(p + 64, m.catalog.hash);
  StoreU64(p + 80, m.catalog.count);
  StoreU64(p + 88, m.log_head);
  StoreU64(p + 96, m.log_head_checksum);
  StoreU64(p + 104, m.log_pages);
  StoreU64(p + 112, m.free_pages);
  StoreU64(p + 120, m.dead_pages);
  StoreU64(p + 128, m.base);
  StoreU64(p + 136, m.group_pages);
  StoreU32(p + 144, m.flags);
  StoreU64(p + 152, Checksum64(std::string_view(p, 152)));
  return out;
}

Result<Meta> DecodeMeta(std::string_view bytes, uint64_t slot) {
  if (bytes.size() < kMetaSize) return Status::Corruption("meta slot too short", slot);
  const char* p = bytes.data();
  if (std::memcmp(p, kMagic, 8) != 0) return Status::Corruption("not a bruce meta page", slot);
  Meta m;
  m.version = LoadU32(p + 8);
  // The checksum's place depends on the version (version 1: 128, since:
  // 152); a damaged version field fails it.
  auto sum_ok = [p](size_t at) { return Checksum64(std::string_view(p, at)) == LoadU64(p + at); };
  if (m.version > kFormatVersion && (sum_ok(128) || sum_ok(152))) {
    return Status::NotSupported("store format version " + std::to_string(m.version) +
                                " is newer than this bruce supports (" +
                                std::to_string(kFormatVersion) + ")");
  }
  if (!sum_ok(m.version == 1 ? 128 : 152) || m.version == 0 || m.version > kFormatVersion) {
    return Status::Corruption("meta checksum mismatch", slot);
  }
  m.page_size = LoadU32(p + 12);
  if (!ValidPageSize(m.page_size)) return Status::Corruption("meta page size invalid", slot);
  m.txn = LoadU64(p + 16);
  m.total_pages = LoadU64(p + 24);
  m.time_ns = LoadU64(p + 32);
  m.catalog.page = LoadU64(p + 40);
  m.catalog.stored_len = LoadU32(p + 48);
  m.catalog.comp = static_cast<Compression>(static_cast<uint8_t>(p[52]));
  m.catalog.birth = LoadU64(p + 56);
  m.catalog.hash = LoadHash(p + 64);
  m.catalog.count = LoadU64(p + 80);
  m.log_head = LoadU64(p + 88);
  m.log_head_checksum = LoadU64(p + 96);
  m.log_pages = LoadU64(p + 104);
  m.free_pages = LoadU64(p + 112);
  m.dead_pages = LoadU64(p + 120);
  if (m.version >= 2) {
    m.base = LoadU64(p + 128);
    m.group_pages = LoadU64(p + 136);
    m.flags = LoadU32(p + 144);
    if (m.base >= m.txn) return Status::Corruption("meta base is not before its commit", slot);
  }
  m.slot = slot;
  if (m.total_pages < kMetaPages) return Status::Corruption("meta total pages too small", slot);
  return m;
}

namespace {
constexpr char kCleanMagic[8] = {'b', 'r', 'u', 'c', 'e', 'C', 'L', '\n'};
}  // namespace

void EncodeClean(const Meta& newest, char* out) {
  std::memcpy(out, kCleanMagic, 8);
  StoreU64(out + 8, newest.txn);
  StoreU64(out + 16, newest.time_ns);
  StoreHash(out + 24, newest.catalog.hash);
  StoreU64(out + 40, Checksum64(std::string_view(out, 40)));
}

bool DecodeClean(const char* p, CleanRecord* out) {
  if (std::memcmp(p, kCleanMagic, 8) != 0) return false;
  if (Checksum64(std::string_view(p, 40)) != LoadU64(p + 40)) return false;
  out->txn = LoadU64(p + 8);
  out->time_ns = LoadU64(p + 16);
  out->hash = LoadHash(p + 24);
  return true;
}

bool CleanNames(const CleanRecord& c, const Meta& m) {
  return c.txn == m.txn && c.time_ns == m.time_ns && c.hash == m.catalog.hash;
}

}  // namespace bruce::format
