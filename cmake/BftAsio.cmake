# Standalone asio (header-only, Debian libasio-dev) for the transport, the node and its
# tools: link `bft_asio`. One set of definitions for every translation unit, because asio
# picks aligned_alloc or operator new depending on whether a libstdc++ header came before
# its own; two units that disagree free with the wrong function (ASan:
# alloc-dealloc-mismatch). ASIO_DISABLE_STD_ALIGNED_ALLOC makes the choice once.
find_package(Threads REQUIRED)
find_path(ASIO_INCLUDE_DIR asio.hpp)
if(NOT ASIO_INCLUDE_DIR)
  message(FATAL_ERROR "standalone asio not found: run scripts/deps.sh (Debian package libasio-dev)")
endif()
add_library(bft_asio INTERFACE)
target_include_directories(bft_asio SYSTEM INTERFACE ${ASIO_INCLUDE_DIR})
target_compile_definitions(bft_asio INTERFACE ASIO_STANDALONE ASIO_DISABLE_STD_ALIGNED_ALLOC)
target_link_libraries(bft_asio INTERFACE Threads::Threads)
