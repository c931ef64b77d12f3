# Compiler settings shared by every bftcore target: call bft_target_defaults(<target>).
include(GNUInstallDirs)
if(BFT_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=address,undefined)
endif()

# The programs' --version prints BFT_VERSION: link bft_version to get it.
add_library(bft_version INTERFACE)
target_compile_definitions(bft_version INTERFACE BFT_VERSION="${PROJECT_VERSION}")

function(bft_target_defaults target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wshadow -Wconversion -Wno-sign-conversion
                                           -Wnon-virtual-dtor -Woverloaded-virtual)
  if(BFT_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

# One of the installable libraries: bft_add_library(<name> <sources>...) makes target
# bft<name>, imported as bft::<name> both here and through find_package(bftcore), with
# the public headers of include/, C++20 and the project's warnings.
function(bft_add_library name)
  set(target bft${name})
  add_library(${target} ${ARGN})
  add_library(bft::${name} ALIAS ${target})
  set_target_properties(${target} PROPERTIES EXPORT_NAME ${name})
  target_include_directories(${target} PUBLIC
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  target_compile_features(${target} PUBLIC cxx_std_20)
  bft_target_defaults(${target})
endfunction()
