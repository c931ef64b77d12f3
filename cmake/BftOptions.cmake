# Compiler settings shared by every bftcore target: call bft_target_defaults(<target>).
if(BFT_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=address,undefined)
endif()

function(bft_target_defaults target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wshadow -Wconversion -Wno-sign-conversion
                                           -Wnon-virtual-dtor -Woverloaded-virtual)
  if(BFT_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
