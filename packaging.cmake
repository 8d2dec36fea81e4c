# Debian packages with CPack (scripts/package.sh is the one command):
#   bruce         bruce, brucefs, the mount helper, systemd units, man pages
#   libbruce-dev  the static library, headers, CMake package, bruce.pc
# Configure with -DCMAKE_INSTALL_PREFIX=/usr: the mount helper and the
# snapshot unit name the installed binaries by their full path.
set(CPACK_PACKAGE_NAME bruce)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "bruce developers <bruce@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "embedded copy-on-write B+tree store with snapshots, and a FUSE filesystem over it")
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL bin dev)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_BIN_PACKAGE_NAME bruce)
set(CPACK_DEBIAN_BIN_PACKAGE_SECTION admin)
# The libraries the binaries link (libc6, libstdc++6, libfuse3-3, libzstd1,
# libxxhash0, ...) come from dpkg-shlibdeps; fuse3 is fusermount3 and
# /dev/fuse's setup, needed to mount.
set(CPACK_DEBIAN_BIN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_BIN_PACKAGE_DEPENDS "fuse3")
set(CPACK_DEBIAN_DEV_PACKAGE_NAME libbruce-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS "libzstd-dev, libxxhash-dev")
set(CPACK_COMPONENT_BIN_DESCRIPTION
    "bruce store CLI and the brucefs filesystem\n bruce is an embedded key-value engine on a counted, copy-on-write B+tree\n in one file: checksummed pages, cheap snapshots, readers never blocked.\n This package has the bruce CLI, the brucefs FUSE daemon with its mount(8)\n helper, systemd units for scheduled snapshots, and the man pages.")
set(CPACK_COMPONENT_DEV_DESCRIPTION
    "bruce storage engine: library and headers\n The static library, the C++20 headers, a CMake package (bruce::bruce)\n and a pkg-config file (bruce.pc).")
include(CPack)
