#include "format/node_memory.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define BRUCE_SANITIZED 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define BRUCE_SANITIZED 1
#endif

#ifndef BRUCE_SANITIZED
#include <mimalloc.h>

#include <new>
#endif

namespace bruce::format {

#ifndef BRUCE_SANITIZED
namespace {

class MiMemory final : public std::pmr::memory_resource {
 public:
  MiMemory() {
    // Only a default: MIMALLOC_LARGE_OS_PAGES=0 in the environment, or a
    // program that set the option before, wins.
    mi_option_set_enabled_default(mi_option_large_os_pages, true);
  }

 private:
  void* do_allocate(size_t bytes, size_t align) override {
    void* p = align <= alignof(std::max_align_t) ? mi_malloc(bytes) : mi_malloc_aligned(bytes, align);
    if (p == nullptr) throw std::bad_alloc();
    return p;
  }
  void do_deallocate(void* p, size_t, size_t) override { mi_free(p); }
  bool do_is_equal(const std::pmr::memory_resource& o) const noexcept override {
    return this == &o;
  }
};

}  // namespace

std::pmr::memory_resource* NodeMemory() {
  static MiMemory* m = new MiMemory;  // never destroyed: nodes may outlive statics
  return m;
}
#else
std::pmr::memory_resource* NodeMemory() { return std::pmr::new_delete_resource(); }
#endif

}  // namespace bruce::format
