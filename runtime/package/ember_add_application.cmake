# ember_add_application(NAME SOURCES... [OUTPUT_DIRECTORY DIR])
#
# Builds lib<NAME>.so, an Ember application: a shared library with an
# EMBER_APPLICATION entry point that ember-submit and ember-driver load, and
# that executors fetch from the driver. It links Ember::ember, which carries
# only the public headers, so an application builds the same way inside
# Ember's tree and against an installed Ember (find_package(Ember)).
function(ember_add_application name)
  cmake_parse_arguments(APP "" "OUTPUT_DIRECTORY" "" ${ARGN})
  if(NOT APP_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "ember_add_application(${name}): no source files given")
  endif()
  add_library(${name} SHARED ${APP_UNPARSED_ARGUMENTS})
  target_link_libraries(${name} PRIVATE Ember::ember)
  if(TARGET ember AND PROJECT_NAME STREQUAL "ember")
    # Inside Ember's own tree, libember.so is built first.
    add_dependencies(${name} ember)
  endif()
  if(APP_OUTPUT_DIRECTORY)
    set_target_properties(${name} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${APP_OUTPUT_DIRECTORY})
  endif()
endfunction()
