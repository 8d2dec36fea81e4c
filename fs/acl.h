// fs/acl.h — POSIX ACLs as the kernel hands them over in the
// system.posix_acl_access and system.posix_acl_default xattrs.
//
// The xattr value (the kernel's posix_acl_xattr format), little-endian:
//
//   offset  size  field
//   0       4     version (2)
//   4       8*n   entries, sorted by tag then id:
//                   2 tag (1 user_obj, 2 user, 4 group_obj, 8 group,
//                          0x10 mask, 0x20 other), 2 perm (rwx bits),
//                   4 id (uid or gid; ignored for the *_obj, mask, other)
//
// brucefs stores the value as an xattr of the record and keeps the mode in
// step with it, as FUSE_CAP_POSIX_ACL asks of a filesystem: the kernel
// checks permissions against the ACLs, the filesystem updates the mode when
// an access ACL is set and the ACL when the mode changes, and makes new
// files inherit their directory's default ACL. The rules are the kernel's
// own (fs/posix_acl.c), so brucefs behaves as ext4 does.
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace brucefs {

inline constexpr char kAclAccess[] = "system.posix_acl_access";
inline constexpr char kAclDefault[] = "system.posix_acl_default";

struct AclEntry {
  uint16_t tag = 0;
  uint16_t perm = 0;
  uint32_t id = 0;
};

// False for a value that is not a valid ACL (bad size or version, missing
// or repeated base entries, named entries without a mask, bad order).
bool ParseAcl(std::string_view value, std::vector<AclEntry>* acl);
std::string EncodeAcl(const std::vector<AclEntry>& acl);

// A new file's access ACL from its directory's default ACL and the mode it
// was created with (posix_acl_create): masks the ACL by the mode and the
// mode by the ACL. Returns false when the result says no more than the mode
// (then no ACL is stored).
bool AclCreate(std::vector<AclEntry>* acl, uint32_t* mode);
// chmod: the owner, group (the mask, if any) and other entries take the new
// mode's bits (posix_acl_chmod).
void AclChmod(std::vector<AclEntry>* acl, uint32_t mode);
// Setting an access ACL: the mode's permission bits it implies, the rest of
// *mode kept. Returns false when it says no more than those bits (then the
// ACL need not be stored).
bool AclToMode(const std::vector<AclEntry>& acl, uint32_t* mode);

}  // namespace brucefs
