# Install rules and the exported CMake package: find_package(bftcore) gives bft::core.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

install(TARGETS bftcore EXPORT bftcoreTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
# include/bft/abci is bft-node's ABCI client, not part of the package (src/abci/CMakeLists.txt).
install(DIRECTORY include/bft DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} PATTERN abci EXCLUDE)
install(EXPORT bftcoreTargets NAMESPACE bft:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/bftcore)

configure_package_config_file(cmake/bftcoreConfig.cmake.in
  ${PROJECT_BINARY_DIR}/bftcoreConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/bftcore)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/bftcoreConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/bftcoreConfig.cmake ${PROJECT_BINARY_DIR}/bftcoreConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/bftcore)

# bftcodec and bftcrypto join the same package as bft::codec and bft::crypto. They link
# libsodium by name (-lsodium) and the platform's threads (found by the package config).
install(TARGETS bftcodec bftcrypto EXPORT bftcoreTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

# bftruntime joins the package as bft::runtime (the seed-style threaded handle; it needs
# the platform's threads, which the package config finds).
install(TARGETS bftruntime EXPORT bftcoreTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

# bftwal joins the package as bft::wal (the write-ahead log; POSIX files, no other deps).
install(TARGETS bftwal EXPORT bftcoreTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

# bftmetrics joins the package as bft::metrics (the Prometheus registry and exposition;
# standard library only).
install(TARGETS bftmetrics EXPORT bftcoreTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

# bftnet and bftnode join the package as bft::net and bft::node: a team can run its own
# validator from the installed package (examples/consumer/validator.cpp). Standalone asio
# comes along as bft::asio (its include path and definitions: every translation unit
# must compile asio alike); libsodium is linked by name; nlohmann_json and Threads are
# found by the package config.
set_target_properties(bft_asio PROPERTIES EXPORT_NAME asio)
install(TARGETS bft_asio bftnet bftnode EXPORT bftcoreTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
