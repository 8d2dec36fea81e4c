#include "acl.h"

namespace brucefs {
namespace {

constexpr uint32_t kVersion = 2;
constexpr uint16_t kUserObj = 0x01, kUser = 0x02, kGroupObj = 0x04, kGroup = 0x08,
                   kMask = 0x10, kOther = 0x20;

uint32_t Load(std::string_view v, size_t at, size_t n) {
  uint32_t x = 0;
  for (size_t i = 0; i < n; ++i) x |= uint32_t{static_cast<uint8_t>(v[at + i])} << (8 * i);
  return x;
}

void Store(std::string* out, uint32_t x, size_t n) {
  for (size_t i = 0; i < n; ++i) out->push_back(static_cast<char>((x >> (8 * i)) & 0xff));
}

}  // namespace

bool ParseAcl(std::string_view v, std::vector<AclEntry>* acl) {
  acl->clear();
  if (v.size() < 4 || (v.size() - 4) % 8 != 0 || Load(v, 0, 4) != kVersion) return false;
  int user_obj = 0, group_obj = 0, mask = 0, other = 0, named = 0;
  for (size_t at = 4; at < v.size(); at += 8) {
    AclEntry e{static_cast<uint16_t>(Load(v, at, 2)), static_cast<uint16_t>(Load(v, at + 2, 2)),
               Load(v, at + 4, 4)};
    if (e.perm & ~7u) return false;
    switch (e.tag) {
      case kUserObj: user_obj++; break;
      case kGroupObj: group_obj++; break;
      case kMask: mask++; break;
      case kOther: other++; break;
      case kUser:
      case kGroup: named++; break;
      default: return false;
    }
    if (e.tag != kUser && e.tag != kGroup) e.id = 0;
    if (!acl->empty()) {
      const AclEntry& p = acl->back();
      // Sorted by tag, named entries by id, each once.
      if (e.tag < p.tag || (e.tag == p.tag && (e.tag != kUser && e.tag != kGroup))) return false;
      if (e.tag == p.tag && e.id <= p.id) return false;
    }
    acl->push_back(e);
  }
  return user_obj == 1 && group_obj == 1 && other == 1 && mask <= 1 && (named == 0 || mask == 1);
}

std::string EncodeAcl(const std::vector<AclEntry>& acl) {
  std::string out;
  Store(&out, kVersion, 4);
  for (const AclEntry& e : acl) {
    Store(&out, e.tag, 2);
    Store(&out, e.perm, 2);
    Store(&out, e.tag == kUser || e.tag == kGroup ? e.id : 0xffffffffu, 4);
  }
  return out;
}

bool AclCreate(std::vector<AclEntry>* acl, uint32_t* mode) {
  AclEntry* group_obj = nullptr;
  AclEntry* mask = nullptr;
  bool not_equiv = false;
  uint32_t m = *mode;
  for (AclEntry& e : *acl) {
    switch (e.tag) {
      case kUserObj:
        e.perm &= (m >> 6) & 7;
        m &= (uint32_t{e.perm} << 6) | ~0700u;
        break;
      case kUser:
      case kGroup: not_equiv = true; break;
      case kGroupObj: group_obj = &e; break;
      case kOther:
        e.perm &= m & 7;
        m &= e.perm | ~07u;
        break;
      case kMask:
        mask = &e;
        not_equiv = true;
        break;
    }
  }
  AclEntry* g = mask != nullptr ? mask : group_obj;
  if (g != nullptr) {
    g->perm &= (m >> 3) & 7;
    m &= (uint32_t{g->perm} << 3) | ~070u;
  }
  *mode = m;
  return not_equiv;
}

void AclChmod(std::vector<AclEntry>* acl, uint32_t mode) {
  AclEntry* group_obj = nullptr;
  AclEntry* mask = nullptr;
  for (AclEntry& e : *acl) {
    if (e.tag == kUserObj) e.perm = (mode >> 6) & 7;
    if (e.tag == kOther) e.perm = mode & 7;
    if (e.tag == kGroupObj) group_obj = &e;
    if (e.tag == kMask) mask = &e;
  }
  AclEntry* g = mask != nullptr ? mask : group_obj;
  if (g != nullptr) g->perm = (mode >> 3) & 7;
}

bool AclToMode(const std::vector<AclEntry>& acl, uint32_t* mode) {
  uint32_t m = *mode & ~0777u;
  bool not_equiv = false;
  uint32_t group = 0, mask = 0;
  bool has_mask = false;
  for (const AclEntry& e : acl) {
    switch (e.tag) {
      case kUserObj: m |= uint32_t{e.perm} << 6; break;
      case kGroupObj: group = e.perm; break;
      case kOther: m |= e.perm; break;
      case kMask:
        mask = e.perm;
        has_mask = true;
        not_equiv = true;
        break;
      default: not_equiv = true; break;
    }
  }
  m |= (has_mask ? mask : group) << 3;
  *mode = m;
  return not_equiv;
}

}  // namespace brucefs
