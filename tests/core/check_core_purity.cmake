# Fails if the core library refers to any clock, thread, file, socket or randomness API.
# Run as: cmake -DLIBRARY=<libbftcore.a> -DNM=<nm> -P check_core_purity.cmake
execute_process(COMMAND ${NM} -u -C ${LIBRARY} OUTPUT_VARIABLE undefined RESULT_VARIABLE status)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "nm failed on ${LIBRARY}")
endif()
string(REPLACE "\n" ";" symbols "${undefined}")
set(forbidden
  "clock_gettime" "gettimeofday" "^ *U time$" "steady_clock" "system_clock" "high_resolution_clock"
  "pthread_create" "std::thread" "this_thread" "sleep"
  " U open" " U fopen" " U read$" " U write$" "fstream" "filesystem"
  "socket" "connect" "getaddrinfo" "random_device" " U rand$" "getrandom")
set(violations "")
foreach(symbol IN LISTS symbols)
  foreach(pattern IN LISTS forbidden)
    if(symbol MATCHES "${pattern}")
      list(APPEND violations "${symbol}")
    endif()
  endforeach()
endforeach()
list(LENGTH symbols count)
if(count LESS 5)
  message(FATAL_ERROR "nm listed almost nothing for ${LIBRARY}: the check would prove nothing")
endif()
if(violations)
  list(JOIN violations "\n  " lines)
  message(FATAL_ERROR "the core must not use IO, threads or clocks; it refers to:\n  ${lines}")
endif()
message(STATUS "core is pure: ${count} undefined symbols, none of them IO, thread or clock")
