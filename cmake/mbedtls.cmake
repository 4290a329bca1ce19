# mbedtls.cmake - where this build's mbedTLS comes from; sets MBEDCRYPTO_LIB (what to link) and
# MBEDTLS_INCLUDE (where mbedtls/*.h live) for CMakeLists.txt.
#
# Normally Debian's libmbedtls-dev (2.28), found on the system. With
# -DFOTA_MBEDTLS_SRC=<an unpacked Mbed TLS source tree> (its include/ and library/, e.g. the 3.6
# line that ESP-IDF v5 ships) that tree is compiled here, whole library/ into one static library
# with its default mbedtls_config.h, and everything in this build tree uses its headers and code
# instead of Debian's: tests/tools/test_mbedtls36.sh builds and runs the unit tests that way.
set(FOTA_MBEDTLS_SRC "" CACHE PATH "Unpacked Mbed TLS source tree to use instead of the system's")

if(NOT FOTA_MBEDTLS_SRC)
    find_library(MBEDCRYPTO_LIB mbedcrypto REQUIRED)
    find_path(MBEDTLS_INCLUDE mbedtls/md.h REQUIRED)
    return()
endif()

if(NOT EXISTS ${FOTA_MBEDTLS_SRC}/include/mbedtls/build_info.h)
    message(FATAL_ERROR "FOTA_MBEDTLS_SRC=${FOTA_MBEDTLS_SRC} is not an Mbed TLS 3.x source tree")
endif()
file(GLOB FOTA_MBEDTLS_LIB_SRC ${FOTA_MBEDTLS_SRC}/library/*.c)
add_library(fota_mbedtls STATIC ${FOTA_MBEDTLS_LIB_SRC})
target_include_directories(fota_mbedtls PUBLIC ${FOTA_MBEDTLS_SRC}/include
                                        PRIVATE ${FOTA_MBEDTLS_SRC}/library)
# Third-party code: built as its own project builds it (C99, optimised), without our warning
# flags or sanitizers, whatever this tree's build type.
set_target_properties(fota_mbedtls PROPERTIES C_STANDARD 99 COMPILE_OPTIONS "-O2")
set(MBEDCRYPTO_LIB fota_mbedtls)
set(MBEDTLS_INCLUDE ${FOTA_MBEDTLS_SRC}/include)
message(STATUS "mbedTLS: built from ${FOTA_MBEDTLS_SRC}")
