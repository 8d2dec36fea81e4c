#include "inode_table.h"

#include <vector>

namespace brucefs {

InodeTable::InodeTable() {
  nodes_[kRootIno] = Node{kLiveView, "", 1, true};
  by_path_[{kLiveView, ""}] = kRootIno;
  nodes_[kSnapDirIno] = Node{kSnapDirView, "", 1, true};
  by_path_[{kSnapDirView, ""}] = kSnapDirIno;
}

uint64_t InodeTable::Get(uint32_t view, const std::string& path, uint64_t lookups) {
  std::lock_guard<std::mutex> l(mu_);
  auto [it, added] = by_path_.try_emplace({view, path}, 0);
  if (added) {
    it->second = next_++;
    nodes_[it->second] = Node{view, path, 0, true};
  }
  nodes_[it->second].nlookup += lookups;
  return it->second;
}

uint64_t InodeTable::Find(uint32_t view, const std::string& path) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = by_path_.find({view, path});
  return it == by_path_.end() ? 0 : it->second;
}

void InodeTable::Ref(uint64_t ino, uint64_t lookups) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = nodes_.find(ino);
  if (it != nodes_.end()) it->second.nlookup += lookups;
}

void InodeTable::Move(uint64_t ino, uint32_t view, const std::string& path) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = nodes_.find(ino);
  if (it == nodes_.end()) return;
  by_path_.erase({it->second.view, it->second.path});
  it->second.view = view;
  it->second.path = path;
  it->second.linked = true;
  by_path_[{view, path}] = ino;
}

bool InodeTable::Resolve(uint64_t ino, uint32_t* view, std::string* path) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = nodes_.find(ino);
  if (it == nodes_.end() || !it->second.linked) return false;
  *view = it->second.view;
  *path = it->second.path;
  return true;
}

void InodeTable::Forget(uint64_t ino, uint64_t n) {
  std::lock_guard<std::mutex> l(mu_);
  if (ino == kRootIno || ino == kSnapDirIno) return;
  auto it = nodes_.find(ino);
  if (it == nodes_.end()) return;
  it->second.nlookup = it->second.nlookup > n ? it->second.nlookup - n : 0;
  if (it->second.nlookup == 0 && !it->second.linked) nodes_.erase(it);
}

template <typename Fn>
void InodeTable::ForSubtree(uint32_t view, const std::string& path, Fn fn) {
  std::vector<std::map<Key, uint64_t>::iterator> hits;
  auto exact = by_path_.find({view, path});
  if (exact != by_path_.end()) hits.push_back(exact);
  std::string lo = path + "/", hi = path + "0";
  for (auto it = by_path_.lower_bound({view, lo}); it != by_path_.end(); ++it) {
    if (it->first.first != view || it->first.second >= hi) break;
    hits.push_back(it);
  }
  for (auto it : hits) fn(it);
}

void InodeTable::Rename(uint32_t view, const std::string& from, const std::string& to) {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<std::pair<std::string, uint64_t>> moved;
  ForSubtree(view, from, [&](auto it) {
    moved.emplace_back(to + it->first.second.substr(from.size()), it->second);
    by_path_.erase(it);
  });
  for (auto& [path, ino] : moved) {
    nodes_[ino].path = path;
    auto [it, added] = by_path_.try_emplace({view, path}, ino);
    if (!added) {
      // Displaced: whatever had that name no longer has it.
      auto n = nodes_.find(it->second);
      if (n != nodes_.end()) {
        n->second.linked = false;
        if (n->second.nlookup == 0) nodes_.erase(n);
      }
      it->second = ino;
    }
  }
}

void InodeTable::Remove(uint32_t view, const std::string& path) {
  std::lock_guard<std::mutex> l(mu_);
  ForSubtree(view, path, [&](auto it) {
    auto n = nodes_.find(it->second);
    if (n != nodes_.end()) {
      n->second.linked = false;
      if (n->second.nlookup == 0) nodes_.erase(n);
    }
    by_path_.erase(it);
  });
}

void InodeTable::DropView(uint32_t view) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = by_path_.lower_bound({view, ""});
  while (it != by_path_.end() && it->first.first == view) {
    auto n = nodes_.find(it->second);
    if (n != nodes_.end()) {
      n->second.linked = false;
      if (n->second.nlookup == 0) nodes_.erase(n);
    }
    it = by_path_.erase(it);
  }
}

size_t InodeTable::size() {
  std::lock_guard<std::mutex> l(mu_);
  return nodes_.size();
}

}  // namespace brucefs
