# Installs the build tree into a scratch prefix, then configures, builds and runs an
# example project against it with find_package(bftcore): EXAMPLE names its directory
# under examples/, PROGRAMS the programs to run (comma-separated).
set(prefix ${BUILD_DIR}/install-test-${EXAMPLE})
file(REMOVE_RECURSE ${prefix})

function(run)
  execute_process(COMMAND ${ARGV} RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "failed: ${ARGV}\n${out}\n${err}")
  endif()
  message(STATUS "${out}")
endfunction()

run(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix})
run(${CMAKE_COMMAND} -S ${SOURCE_DIR}/examples/${EXAMPLE} -B ${prefix}/build -G ${GENERATOR}
    -DCMAKE_CXX_COMPILER=${CXX} -DCMAKE_PREFIX_PATH=${prefix} "-DCMAKE_CXX_FLAGS=${CONSUMER_FLAGS}")
run(${CMAKE_COMMAND} --build ${prefix}/build)
string(REPLACE "," ";" programs "${PROGRAMS}")
foreach(program IN LISTS programs)
  run(${prefix}/build/${program})
endforeach()
