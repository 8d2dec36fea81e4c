// fs/inode_table.h — FUSE inode numbers for (view, path) pairs.
//
// A view is the live tree (kLiveView), the `.snapshots` directory
// (kSnapDirView) or one snapshot (a number handed out per snapshot while
// mounted). Numbers are never reused while mounted, and an entry is kept
// after the kernel forgets it, so a path keeps its st_ino for the whole
// mount and no two live or snapshot paths ever share one. Renames move the
// number with the entry (and every path under a renamed directory); an
// entry that is unlinked keeps its number only while the kernel holds it.
//
// Thread safety: internally locked; any thread may call any method.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>

namespace brucefs {

class InodeTable {
 public:
  static constexpr uint64_t kRootIno = 1;
  static constexpr uint64_t kSnapDirIno = 2;
  static constexpr uint32_t kLiveView = 0;
  static constexpr uint32_t kSnapDirView = 0xffffffff;
  // Files unlinked while open, keyed by their orphan key (FsTree over the
  // orphan trees).
  static constexpr uint32_t kOrphanView = 0xfffffffe;

  InodeTable();

  // The inode of (view, path), made on first use; adds `lookups` to the
  // kernel's lookup count of it.
  uint64_t Get(uint32_t view, const std::string& path, uint64_t lookups);
  // The inode of (view, path), or 0 when it has none.
  uint64_t Find(uint32_t view, const std::string& path);
  // Adds `lookups` to the kernel's lookup count of a known inode.
  void Ref(uint64_t ino, uint64_t lookups);
  // Gives inode `ino` the name (view, path), which nothing may hold.
  void Move(uint64_t ino, uint32_t view, const std::string& path);
  // False when the inode is unknown or its entry was unlinked.
  bool Resolve(uint64_t ino, uint32_t* view, std::string* path);
  void Forget(uint64_t ino, uint64_t n);
  // Moves `from` and every path under `from/` to `to`; an inode that was
  // at one of the new paths is unlinked.
  void Rename(uint32_t view, const std::string& from, const std::string& to);
  // Unlinks `path` and every path under `path/`.
  void Remove(uint32_t view, const std::string& path);
  // Unlinks every path of a view (a destroyed snapshot).
  void DropView(uint32_t view);
  size_t size();

 private:
  struct Node {
    uint32_t view;
    std::string path;
    uint64_t nlookup;
    bool linked;
  };
  using Key = std::pair<uint32_t, std::string>;
  // Calls fn(iterator) for `path` and every entry under `path/`.
  template <typename Fn>
  void ForSubtree(uint32_t view, const std::string& path, Fn fn);

  std::mutex mu_;
  std::unordered_map<uint64_t, Node> nodes_;  // guarded by mu_
  std::map<Key, uint64_t> by_path_;           // guarded by mu_
  uint64_t next_ = 3;                          // guarded by mu_
};

}  // namespace brucefs
