# Read by cpack once per generator, before it installs: tells the install rules which package
# format they fill (packaging/CMakeLists.txt picks the unit directory from it).
set(ENV{GPROF_PKG_FORMAT} "${CPACK_GENERATOR}")
